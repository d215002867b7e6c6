"""Export profiles: how one tool's CSV download maps onto a source's canonical columns.

Built-in profiles are YAML files in `schemas/profiles/`; users add their own in
`<config>/profiles/*.yaml` (same shape, documented in `schemas/profiles/README.md`).
A profile is data, not code: header aliases, value conventions (value maps,
boolean flags that set a value, constants), date formats, and the layout of the
file around its table (a `#` preamble holding the date range, several tables in
one file, total rows, footer lines).

A file (or, for a file with a `#` preamble, each table in it) is matched to the
profiles whose aliases cover the source's required columns. User profiles win
over built-in ones; among equals, the profile that recognises most headers wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas import SOURCES
from schemas.config import ConfigError, load_yaml_model, normalize_value

BUILTIN_DIR = Path(__file__).parent / "profiles"
EXCEL_SERIAL = "excel_serial"  # a `formats` entry: day numbers counted from 1899-12-30, as Excel stores dates
TRUE_VALUES = {"true", "yes", "y", "1", "はい", "○", "✓"}


def _regexes(patterns: list[str]) -> list[str]:
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"pattern {p!r} is not a valid regular expression: {exc}") from exc
    return patterns


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Split(_Strict):
    columns: list[str] = Field(min_length=2)
    separator: str = Field(min_length=1)


class _Layout(_Strict):
    # Lines before the table that start with this prefix are a preamble (GA4 UI downloads).
    comment_prefix: str | None = None
    # Regular expressions over preamble lines; group 1 is a YYYYMMDD day. A `range`
    # pattern has two groups (start, end). The range dates rows of a table without a date column.
    range_start: list[str] = []
    range_end: list[str] = []
    range: list[str] = []
    # Rows whose first cell is one of these (or whose only extra trailing cell is) are totals, not data.
    total_row_labels: list[str] = []
    # Lines after the table matching one of these are a footer (Salesforce: Grand Totals, copyright).
    footer_patterns: list[str] = []

    _check = field_validator("range_start", "range_end", "range", "footer_patterns")(lambda cls, v: _regexes(v))


class _SourceProfile(_Strict):
    aliases: dict[str, list[str]] = {}
    # One header holding two canonical columns, e.g. GA4's "Session source / medium".
    split: dict[str, _Split] = {}
    # A canonical column the file does not carry, with the value every row gets.
    constants: dict[str, str] = {}
    # Per canonical column: raw value (compared normalised) -> value stored.
    values: dict[str, dict[str, str]] = {}
    # A header whose value is true/yes/1 sets canonical columns, e.g. HubSpot's "Is Closed Won".
    when_true: dict[str, dict[str, str]] = {}
    # Per canonical column: strptime formats tried before the built-in ones; `excel_serial` for day numbers.
    formats: dict[str, list[str]] = {}
    # Rows where any of these canonical columns is empty are totals (Meta Ads' summary row).
    total_rows_where_empty: list[str] = []

    @field_validator("values", "constants", "when_true", mode="before")
    @classmethod
    def _as_strings(cls, v):
        # YAML reads yes/no/numbers as non-strings; every value here is text.
        if not isinstance(v, dict):
            return v
        return {k: ({str(a): str(b) for a, b in x.items()} if isinstance(x, dict) else str(x)) for k, x in v.items()}


class _Profile(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    layout: _Layout = _Layout()
    sources: dict[str, _SourceProfile] = Field(min_length=1)


@dataclass(frozen=True)
class Match:
    """How one table's headers feed one source through one profile."""

    profile: "Profile"
    mapping: dict[int, str]  # header position -> canonical column
    splits: dict[int, tuple[list[str], str]]  # header position -> (canonical columns, separator)
    flags: dict[int, dict[str, str]]  # header position -> canonical columns it sets when true
    missing: list[str]  # required columns neither in the file nor provided otherwise

    @property
    def columns(self) -> set[str]:
        cols = set(self.mapping.values()) | {c for cols, _ in self.splits.values() for c in cols}
        return cols | {c for sets in self.flags.values() for c in sets} | set(self.source.constants)

    @property
    def source(self) -> _SourceProfile:
        return self.profile.spec.sources[self.source_name]

    source_name: str = ""


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    spec: _Profile
    user: bool

    @property
    def layout(self) -> _Layout:
        return self.spec.layout

    def match(self, source: str, headers: list[str], has_range: bool = False) -> Match:
        sp = self.spec.sources[source]
        lookup: dict[str, str] = {}
        for col in SOURCES[source].columns:
            for alias in [col.name, *sp.aliases.get(col.name, [])]:
                lookup.setdefault(normalize_value(alias), col.name)
        splits_by_header = {normalize_value(h): s for h, s in sp.split.items()}
        flags_by_header = {normalize_value(h): sets for h, sets in sp.when_true.items()}
        mapping: dict[int, str] = {}
        splits: dict[int, tuple[list[str], str]] = {}
        flags: dict[int, dict[str, str]] = {}
        for i, h in enumerate(headers):
            key = normalize_value(h)
            canonical = lookup.get(key)
            if canonical and canonical not in mapping.values():
                mapping[i] = canonical
            elif key in splits_by_header:
                splits[i] = (splits_by_header[key].columns, splits_by_header[key].separator)
            elif key in flags_by_header:
                flags[i] = flags_by_header[key]
        present = set(mapping.values()) | {c for cols, _ in splits.values() for c in cols} | set(sp.constants)
        if has_range:
            present |= {"date", "date_end"} & {c.name for c in SOURCES[source].columns}
        spec = SOURCES[source]
        missing = [
            c for c in spec.required_columns
            if c not in present and not (c in spec.substitutes and set(spec.substitutes[c]) <= present)
        ]
        return Match(self, mapping, splits, flags, missing, source)


def _read_profile(path: Path, user: bool) -> Profile:
    p = load_yaml_model(path, _Profile)
    for source, sp in p.sources.items():
        if source not in SOURCES:
            raise ConfigError(f"{path}: key sources.{source}: unknown source; known: {sorted(SOURCES)}")
        known = {c.name for c in SOURCES[source].columns}
        named = [(f"aliases.{c}", c) for c in sp.aliases] + [(f"constants.{c}", c) for c in sp.constants]
        named += [(f"values.{c}", c) for c in sp.values] + [(f"formats.{c}", c) for c in sp.formats]
        named += [("total_rows_where_empty", c) for c in sp.total_rows_where_empty]
        named += [(f"split.{h}.columns", c) for h, sp_ in sp.split.items() for c in sp_.columns]
        named += [(f"when_true.{h}.{c}", c) for h, sets in sp.when_true.items() for c in sets]
        for key, col in named:
            if col not in known:
                raise ConfigError(f"{path}: key sources.{source}.{key}: {col!r} is not a column of {source}; "
                                  f"columns: {', '.join(sorted(known))}")
    return Profile(p.name, path, p, user)


def load_profiles(config_dir: str | Path | None) -> list[Profile]:
    user_dir = Path(config_dir) / "profiles" if config_dir else None
    user_paths = sorted(user_dir.glob("*.yaml")) if user_dir and user_dir.is_dir() else []
    profiles = [_read_profile(p, True) for p in user_paths]
    profiles += [_read_profile(p, False) for p in sorted(BUILTIN_DIR.glob("*.yaml"))]
    names = [p.name for p in profiles]
    for p in profiles:
        if names.count(p.name) > 1:
            raise ConfigError(f"{p.path}: key name: profile name {p.name!r} is used by more than one file")
    return profiles


def best_match(profiles: list[Profile], source: str, headers: list[str], has_range: bool = False) -> Match | None:
    """The complete match to read a table with: user profiles first, then the one recognising most headers."""
    complete = [m for p in profiles if source in p.spec.sources
                for m in [p.match(source, headers, has_range)] if not m.missing]
    if not complete:
        return None
    return max(complete, key=lambda m: (m.profile.user, len(m.mapping) + len(m.splits) + len(m.flags)))


def closest_miss(profiles: list[Profile], source: str, headers: list[str], has_range: bool = False) -> tuple[int, str]:
    """(columns lacking, refusal message) of a table no profile reads: the closest profile and what it lacks."""
    candidates = [p.match(source, headers, has_range) for p in profiles if source in p.spec.sources]
    if not candidates:
        return 0, f"no export profile covers source {source}"
    closest = min(candidates, key=lambda m: (len(m.missing), -len(m.mapping)))
    shown = ", ".join(headers[:15]) + (f", ... ({len(headers)} headers)" if len(headers) > 15 else "")
    return len(closest.missing), (
        f"matches no export profile for {source}; the closest, {closest.profile.name!r}, lacks the required "
        f"column(s) {', '.join(closest.missing)} (headers found: {shown or 'none'})"
    )


def is_true(value: str | None) -> bool:
    return value is not None and normalize_value(value) in TRUE_VALUES
