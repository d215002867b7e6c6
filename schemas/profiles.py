"""Export profiles: how one tool's CSV download maps onto a source's canonical columns.

Built-in profiles are YAML files in `schemas/profiles/`; users add their own in
`<config>/profiles/*.yaml` (same shape, documented in `schemas/profiles/README.md`).
A profile is data, not code: header aliases, value conventions (value maps,
boolean flags that set a value, constants, "no value" markers, month headers),
date formats, and the layout of the file around its table (a `#` preamble or a
few plain lines before the header holding the date range, several tables in one
file, total rows by label or pattern, rows carrying nothing, footer lines).

A file (or, for a file with a `#` preamble, each table in it) is matched to the
profiles whose aliases cover the source's required columns. User profiles win
over built-in ones; among equals, the profile that recognises most headers wins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from typing import Literal

from pydantic import Field, field_validator, model_validator

from schemas import SOURCES
from schemas.config import ConfigError, _Strict, compiled_patterns, load_yaml_model, normalize_value

BUILTIN_DIR = Path(__file__).parent / "profiles"
EXCEL_SERIAL = "excel_serial"  # a `formats` entry: day numbers counted from 1899-12-30, as Excel stores dates
TRUE_VALUES = {"true", "yes", "y", "1", "はい", "○", "✓"}
NO_PROFILE = 1_000_000  # closest_miss's count when no profile applies: any real miss is closer


class _Split(_Strict):
    # The first len(columns) parts, in order; one column takes the first part only
    # (HubSpot's "Associated Contact IDs" 123;456 -> the first contact).
    columns: list[str] = Field(min_length=1)
    separator: str = Field(min_length=1)


class NumberFormat(_Strict):
    """The marks an export writes numbers with, when not 1,234,567.89 (a European tool: 1.234.567,89)."""
    decimal_mark: Literal[".", ","] = "."
    # "" for none; a space, an apostrophe (1'234'567.89) or a no-break space also group thousands
    grouping_mark: Literal[",", ".", " ", "'", "\u00a0", "\u202f", ""] = ","

    @model_validator(mode="after")
    def _distinct(self):
        if self.decimal_mark == self.grouping_mark:
            raise ValueError("decimal_mark and grouping_mark must differ")
        return self

    def translation(self) -> tuple[str, str] | None:
        """(from, to) of SQL translate() turning these marks into canonical ones (a comma groups, a point
        marks decimals), any other of the two marks into an 'x' that no number holds; None for the canonical
        marks."""
        if (self.decimal_mark, self.grouping_mark) == (".", ","):
            return None
        foreign = "".join(m for m in ".," if m not in (self.decimal_mark, self.grouping_mark))
        return (self.grouping_mark + self.decimal_mark + foreign,
                "," * len(self.grouping_mark) + "." + "x" * len(foreign))


class _Layout(_Strict):
    # Lines before the table that start with this prefix are a preamble (GA4 UI downloads).
    comment_prefix: str | None = None
    # The header is one of the file's first N lines (no comment prefix): the first line a profile reads; the
    # lines before it are the preamble (an ad platform's report name, date range, request id).
    header_within: int | None = Field(None, ge=1, le=20)
    # Regular expressions over preamble lines giving the date range; their groups are parsed with
    # `range_formats`. A `range` pattern has two groups (start, end). The range dates rows of a table without
    # a date column.
    range_start: list[str] = []
    range_end: list[str] = []
    range: list[str] = []
    range_formats: list[str] = Field(["%Y%m%d"], min_length=1)
    # Regexes over the file's path in the inbox (its folders and name), two groups (start, end) read with
    # `range_formats`: YouTube Studio names an export "Content 2024-01-01_2024-01-31 <channel>". They date the
    # rows of a table that has neither a date column nor a range in a preamble.
    range_in_path: list[str] = []
    # Preamble lines saying the report covers no bounded range ("All time"): a table without a date column
    # is then refused, with `range_unbounded_advice` as what to download instead.
    range_unbounded: list[str] = []
    range_unbounded_advice: str = ""
    # Cell texts (compared trimmed) that mean "no value" (Google Ads' " --"): read as empty.
    no_value: list[str] = []
    # Rows whose first cell is one of these (or whose only extra trailing cell is) are totals, not data;
    # rows with a cell among the first `total_label_columns` matching a `total_row_patterns` regex too.
    total_row_labels: list[str] = []
    total_row_patterns: list[str] = []
    total_label_columns: int = Field(1, ge=1, le=5)
    # Lines after the table matching one of these are a footer (Salesforce: Grand Totals, copyright).
    footer_patterns: list[str] = []
    # The table ends at its first blank line; everything after it is a footer (Salesforce report
    # exports end with a blank line, then the report name, copyright, "Generated By" and org lines).
    footer_after_blank_line: bool = False

    _check = field_validator("range_start", "range_end", "range", "range_in_path", "range_unbounded",
                             "total_row_patterns", "footer_patterns")(lambda cls, v: compiled_patterns(v))

    @field_validator("range_formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        for f in v:
            if "%" not in f:
                raise ValueError(f"range format {f!r} is not a strptime format (e.g. '%B %d, %Y')")
        return v

    @model_validator(mode="after")
    def _range_groups(self):
        for p in self.range + self.range_in_path:
            if re.compile(p).groups < 2:
                raise ValueError(f"range pattern {p!r} needs two groups (start, end)")
        for p in self.range_start + self.range_end:
            if re.compile(p).groups < 1:
                raise ValueError(f"range pattern {p!r} needs a group (the date)")
        return self


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
    # A header the export writes twice (Google Ads' "Currency code"): which of its columns to read. Any
    # other header that feeds a column and appears twice refuses the file.
    duplicate_headers: dict[str, Literal["first", "last"]] = {}
    # How money, count and number columns write their decimal and thousands marks; without it, only
    # 1,234,567.89 is read and a value such as 1.234 or 12,34 is quarantined rather than guessed.
    number_format: NumberFormat | None = None
    # Headers whose values are months (Microsoft Advertising's "Month" of 2025-01-01 rows): a day-or-month
    # column read from one is stored as that month (grain month, its first day), whatever the value's shape.
    month_headers: list[str] = []
    # Rows where one of these columns is empty and every money and count column is empty or zero carry
    # nothing (Microsoft Advertising's campaigns without activity): left out and counted as skipped. A row
    # with a cost, a click or an impression is always read (and quarantined when it lacks its date).
    idle_rows_where_empty: list[str] = []
    # The profile reads a table only when it has one of these headers, columns only this tool writes
    # ("Impr.", "広告アカウントID"): a sheet that merely shares common names (Day, Campaign, Cost) and has no
    # channel column is not taken for this tool's export and given its constant channel.
    identified_by: list[str] = []

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
    # Whether funnel sync's own column names (lead_id, created_at ...) are accepted besides the
    # aliases. The built-in tool profiles say false, so that a native file is never read as theirs.
    canonical_names: bool = True
    layout: _Layout = _Layout()
    sources: dict[str, _SourceProfile] = Field(min_length=1)


@dataclass(frozen=True)
class Match:
    """How one table's headers feed one source through one profile."""

    profile: "Profile"
    source_name: str
    columns: dict[str, int]  # canonical column -> position of the header feeding it (one header may feed several)
    splits: dict[int, tuple[list[str], str]]  # header position -> (canonical columns, separator)
    flags: dict[int, dict[str, str]]  # header position -> canonical columns it sets when true
    missing: list[str]  # required columns neither in the file nor provided otherwise
    # headers it reads that the file holds more than once, with every 0-based position, when the profile
    # does not say which to use
    duplicated: dict[str, list[int]]
    # canonical columns read from one of the profile's month_headers: stored as months
    months: frozenset[str] = frozenset()

    @property
    def source(self) -> _SourceProfile:
        return self.profile.spec.sources[self.source_name]

    @property
    def recognised(self) -> int:
        return len(set(self.columns.values())) + len(self.splits) + len(self.flags)


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
        """Each canonical column takes the header of its first alias (in the profile's order) that the
        file has; the canonical name itself comes last, when the profile accepts canonical names."""
        spec, sp = SOURCES[source], self.spec.sources[source]
        positions: dict[str, list[int]] = {}
        for i, h in enumerate(headers):
            positions.setdefault(normalize_value(h), []).append(i)
        chosen = {normalize_value(h): which for h, which in sp.duplicate_headers.items()}
        position = {h: (at[-1] if chosen.get(h) == "last" else at[0]) for h, at in positions.items()}
        columns: dict[str, int] = {}
        for col in spec.columns:
            for alias in [*sp.aliases.get(col.name, []), *([col.name] if self.spec.canonical_names else [])]:
                if normalize_value(alias) in position:
                    columns[col.name] = position[normalize_value(alias)]
                    break
        splits = {position[normalize_value(h)]: (s.columns, s.separator)
                  for h, s in sp.split.items() if normalize_value(h) in position}
        flags = {position[normalize_value(h)]: sets
                 for h, sets in sp.when_true.items() if normalize_value(h) in position}
        present = set(columns) | {c for cols, _ in splits.values() for c in cols} | set(sp.constants)
        if has_range:
            present |= {"date", "date_end"} & {c.name for c in spec.columns}
        missing = [
            c for c in spec.required_columns
            if c not in present and not (c in spec.substitutes and set(spec.substitutes[c]) <= present)
        ]
        if sp.identified_by and not any(normalize_value(h) in position for h in sp.identified_by):
            missing.append(f"one of the headers {', '.join(repr(h) for h in sp.identified_by)}")
        used = set(columns.values()) | set(splits) | set(flags)
        duplicated = {headers[at[0]]: at for h, at in positions.items()
                      if len(at) > 1 and h not in chosen and position[h] in used}
        month_headers = {normalize_value(h) for h in sp.month_headers}
        months = frozenset(c for c, at in columns.items()
                           if normalize_value(headers[at]) in month_headers and spec.column(c).kind == "period")
        return Match(self, source, columns, splits, flags, missing, duplicated, months)


def _read_profile(path: Path, user: bool) -> Profile:
    p = load_yaml_model(path, _Profile)
    for source, sp in p.sources.items():
        if source not in SOURCES:
            raise ConfigError(f"{path}: key sources.{source}: unknown source; known: {sorted(SOURCES)}")
        known = {c.name for c in SOURCES[source].columns}
        named = [(f"aliases.{c}", c) for c in sp.aliases] + [(f"constants.{c}", c) for c in sp.constants]
        named += [(f"values.{c}", c) for c in sp.values] + [(f"formats.{c}", c) for c in sp.formats]
        named += [("total_rows_where_empty", c) for c in sp.total_rows_where_empty]
        named += [("idle_rows_where_empty", c) for c in sp.idle_rows_where_empty]
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


def _applicable(profiles: list[Profile], source: str, prefix: str | None, header_line: int = 1) -> list[Profile]:
    """Profiles of the source; one with a preamble layout only for a file that opens with its prefix; a
    header below the first line (without a prefix) only for a profile whose header_within reaches it."""
    return [p for p in profiles if source in p.spec.sources
            and (p.layout.comment_prefix is None or p.layout.comment_prefix == prefix)
            and (prefix is not None or header_line <= (p.layout.header_within or 1))]


def best_match(profiles: list[Profile], source: str, headers: list[str], has_range: bool = False,
               prefix: str | None = None, header_line: int = 1) -> Match | None:
    """The complete match to read a table with: user profiles first, then the one recognising most
    headers, then the first in order."""
    complete = [m for p in _applicable(profiles, source, prefix, header_line)
                for m in [p.match(source, headers, has_range)] if not m.missing]
    if not complete:
        return None
    return max(complete, key=lambda m: (m.profile.user, m.recognised))


def closest_miss(profiles: list[Profile], source: str, headers: list[str], has_range: bool = False,
                 prefix: str | None = None, header_line: int = 1) -> tuple[int, str]:
    """(columns lacking, refusal message) of a table no profile reads: the closest profile and what it lacks
    (NO_PROFILE columns when no profile could read a header there)."""
    candidates = [p.match(source, headers, has_range) for p in _applicable(profiles, source, prefix, header_line)]
    if not candidates:
        return NO_PROFILE, f"no export profile covers source {source}"
    closest = min(candidates, key=lambda m: (len(m.missing), -m.recognised))
    shown = ", ".join(headers[:15]) + (f", ... ({len(headers)} headers)" if len(headers) > 15 else "")
    spec = SOURCES[source]
    lacking = [c + (f" (or {' and '.join(spec.substitutes[c])})" if c in spec.substitutes else "") for c in closest.missing]
    return len(closest.missing), (
        f"matches no export profile for {source}; the closest, {closest.profile.name!r}, lacks the required "
        f"column(s) {', '.join(lacking)} (headers found: {shown or 'none'}). Export those columns, or add "
        f"their header names as aliases in a profile in config/profiles/"
    )


def is_true(value: str | None) -> bool:
    return value is not None and normalize_value(value) in TRUE_VALUES
