"""Export profiles: how one tool's CSV headers map onto a source's canonical columns.

Built-in profiles are YAML files in `schemas/profiles/`; users add their own in
`<config>/profiles/*.yaml` (same shape). A file is read with the first profile,
in order (user profiles first, then built-in, each sorted by file name), whose
header aliases cover all the source's required columns.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from schemas import SOURCES
from schemas.config import ConfigError, load_yaml_model, normalize_value

BUILTIN_DIR = Path(__file__).parent / "profiles"


class _SourceProfile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    aliases: dict[str, list[str]] = {}


class _Profile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    sources: dict[str, _SourceProfile]


@dataclass(frozen=True)
class Profile:
    name: str
    path: Path
    sources: dict[str, dict[str, list[str]]]  # source -> canonical column -> aliases

    def header_map(self, source: str, headers: list[str]) -> dict[int, str]:
        """Position of each header in the file -> canonical column it feeds."""
        aliases = self.sources[source]
        lookup: dict[str, str] = {}
        for col in SOURCES[source].columns:
            for alias in [col.name, *aliases.get(col.name, [])]:
                lookup.setdefault(normalize_value(alias), col.name)
        mapping: dict[int, str] = {}
        for i, h in enumerate(headers):
            canonical = lookup.get(normalize_value(h))
            if canonical and canonical not in mapping.values():
                mapping[i] = canonical
        return mapping

    def missing(self, source: str, headers: list[str]) -> list[str]:
        found = set(self.header_map(source, headers).values())
        return [c for c in SOURCES[source].required_columns if c not in found]


def _read_profile(path: Path) -> Profile:
    p = load_yaml_model(path, _Profile)
    for source, sp in p.sources.items():
        if source not in SOURCES:
            raise ConfigError(f"{path}: key sources.{source}: unknown source; known: {sorted(SOURCES)}")
        known = {c.name for c in SOURCES[source].columns}
        for col in sp.aliases:
            if col not in known:
                raise ConfigError(f"{path}: key sources.{source}.aliases.{col}: not a column of {source}")
    return Profile(p.name, path, {s: dict(sp.aliases) for s, sp in p.sources.items()})


def load_profiles(config_dir: str | Path | None) -> list[Profile]:
    user_dir = Path(config_dir) / "profiles" if config_dir else None
    paths = sorted(user_dir.glob("*.yaml")) if user_dir and user_dir.is_dir() else []
    paths += sorted(BUILTIN_DIR.glob("*.yaml"))
    profiles = [_read_profile(p) for p in paths]
    names = [p.name for p in profiles]
    for p in profiles:
        if names.count(p.name) > 1:
            raise ConfigError(f"{p.path}: key name: profile name {p.name!r} is used by more than one file")
    return profiles


def choose_profile(profiles: list[Profile], source: str, headers: list[str]) -> tuple[Profile | None, str]:
    """The first matching profile, or None and a message naming the closest one."""
    candidates = [p for p in profiles if source in p.sources]
    for p in candidates:
        if not p.missing(source, headers):
            return p, ""
    if not candidates:
        return None, f"no export profile covers source {source}"
    closest = min(candidates, key=lambda p: len(p.missing(source, headers)))
    return None, (
        f"matches no export profile; the closest, {closest.name!r}, lacks the required "
        f"column(s) {', '.join(closest.missing(source, headers))} (headers found: {', '.join(headers) or 'none'})"
    )
