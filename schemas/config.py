"""The user-editable configuration (`config/*.yaml`), validated with a message
naming the file and the key that is wrong (docs/analyses.md)."""

from __future__ import annotations

import re
import unicodedata
import csv
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator,
                      model_validator)

from schemas.currency import FxRates, load_fx_rates
from schemas.errors import ConfigError
from schemas.video_costs import load_video_costs

RESERVED_CHANNELS = {"Unattributed", "All"}
LIFECYCLE_ORDER = ["lead", "mql", "sql", "opportunity", "customer"]


def normalize_value(value: str) -> str:
    """The form raw values are compared in: NFKC (full width -> half width),
    case folded, runs of white space collapsed, trimmed."""
    return " ".join(unicodedata.normalize("NFKC", value).casefold().split())


def compiled_patterns(patterns: list[str]) -> list[str]:
    """A pydantic validator body: every pattern is a valid regular expression."""
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ValueError(f"pattern {p!r} is not a valid regular expression: {exc}") from exc
    return patterns


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Channel(_Strict):
    name: str = Field(min_length=1)
    label_ja: str = Field(min_length=1)
    label_en: str | None = None
    ga4_channel_groups: list[str] = []
    values: list[str] = []
    # Values read this way on spend rows only, before `values`: an ad platform's "Search" campaign or
    # "Facebook" placement is paid, where a lead source "search" or "facebook" is not.
    spend_values: list[str] = []
    patterns: list[str] = []

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, name: str) -> str:
        if name in RESERVED_CHANNELS:
            raise ValueError(f"channel name {name!r} is reserved")
        return name

    @field_validator("values", "spend_values", "ga4_channel_groups", mode="before")
    @classmethod
    def _as_strings(cls, items: Any) -> Any:
        # YAML reads `x`, `no` or numbers as non-strings; every value here is text.
        return [str(i) for i in items] if isinstance(items, list) else items

    _compiles = field_validator("patterns")(lambda cls, v: compiled_patterns(v))


class ChannelsConfig(_Strict):
    fallback_channel: str = "Other"
    channels: list[Channel] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> "ChannelsConfig":
        names = [c.name for c in self.channels]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"channel names must be unique, repeated: {dupes}")
        if self.fallback_channel not in names:
            raise ValueError(f"fallback_channel {self.fallback_channel!r} is not one of the channels")
        return self

    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels]

    def match_value(self, raw: str, spend: bool = False) -> tuple[str, str] | None:
        """(channel, rule) for a lead/deal source or (`spend`) spend channel value, or None: a spend value,
        then a value, then a pattern, then a GA4 default channel group's name (a lead source written
        as GA4 names its groups)."""
        norm = normalize_value(raw)
        if not norm:
            return None
        for ch in self.channels if spend else ():
            if norm in {normalize_value(v) for v in ch.spend_values}:
                return ch.name, f"spend value {norm!r}"
        for ch in self.channels:
            if norm in {normalize_value(v) for v in ch.values}:
                return ch.name, f"value {norm!r}"
        for ch in self.channels:
            for p in ch.patterns:
                if re.search(p, norm):
                    return ch.name, f"pattern {p!r}"
        if (name := self.match_ga4_group(raw)) is not None:
            return name, f"GA4 channel group {norm!r}"
        return None

    def match_ga4_group(self, group: str) -> str | None:
        norm = normalize_value(group)
        for ch in self.channels:
            if norm in {normalize_value(g) for g in ch.ga4_channel_groups}:
                return ch.name
        return None


class DealStages(_Strict):
    won: list[str] = Field(min_length=1)
    lost: list[str] = Field(min_length=1)
    open: list[str] = []

    @model_validator(mode="after")
    def _disjoint(self) -> "DealStages":
        seen: dict[str, str] = {}
        for kind in ("won", "lost", "open"):
            for v in getattr(self, kind):
                n = normalize_value(str(v))
                if n in seen and seen[n] != kind:
                    raise ValueError(f"stage {v!r} is listed under both {seen[n]} and {kind}")
                seen[n] = kind
        return self


class Lifecycle(_Strict):
    order: list[str] = LIFECYCLE_ORDER
    values: dict[str, list[str]]

    @model_validator(mode="after")
    def _known(self) -> "Lifecycle":
        if self.order != LIFECYCLE_ORDER:
            raise ValueError(f"order must be {LIFECYCLE_ORDER} (the contract's funnel)")
        unknown = set(self.values) - set(LIFECYCLE_ORDER)
        if unknown:
            raise ValueError(f"values has unknown stages {sorted(unknown)}; allowed: {LIFECYCLE_ORDER}")
        return self


class MqlRule(_Strict):
    lifecycle_at_least: str = "mql"
    lead_score_threshold: float | None = None

    @field_validator("lifecycle_at_least")
    @classmethod
    def _stage(cls, v: str) -> str:
        if v not in LIFECYCLE_ORDER:
            raise ValueError(f"must be one of {LIFECYCLE_ORDER}")
        return v


class StagesConfig(_Strict):
    deal_stages: DealStages
    lifecycle: Lifecycle
    mql_rule: MqlRule = MqlRule()

    def deal_outcome(self, raw: str) -> str | None:
        """'won', 'lost', 'open' or None (unmapped) for a raw deal stage."""
        norm = normalize_value(raw)
        for kind in ("won", "lost", "open"):
            if norm in {normalize_value(str(v)) for v in getattr(self.deal_stages, kind)}:
                return kind
        return None

    def lifecycle_stage(self, raw: str) -> str | None:
        norm = normalize_value(raw)
        for stage in LIFECYCLE_ORDER:
            if norm in {normalize_value(str(v)) for v in self.lifecycle.values.get(stage, [])}:
                return stage
        return None


class Target(_Strict):
    period: str
    revenue: float = Field(gt=0)
    avg_deal_size: float | None = Field(default=None, gt=0)
    rates: dict[str, float] = {}
    channel_shares: dict[str, float] = {}

    @field_validator("period")
    @classmethod
    def _period(cls, v: str) -> str:
        if not re.fullmatch(r"FY\d{4}|\d{4}-Q[1-4]|\d{4}-(0[1-9]|1[0-2])", v):
            raise ValueError("period must look like FY2026, 2026-Q3 or 2026-07")
        return v

    @field_validator("rates")
    @classmethod
    def _rates(cls, rates: dict[str, float]) -> dict[str, float]:
        allowed = {"win_rate", "sql_to_opportunity_rate", "mql_to_sql_rate", "lead_to_mql_rate",
                   "session_to_lead_rate", "ctr"}
        for k, v in rates.items():
            if k not in allowed:
                raise ValueError(f"unknown rate {k!r}; allowed: {sorted(allowed)}")
            if not 0 < v <= 1:
                raise ValueError(f"rate {k} must be in (0, 1], got {v}")
        return rates


class TargetsConfig(_Strict):
    fiscal_year_start_month: int = Field(default=4, ge=1, le=12)
    lookback_months: int = Field(default=6, ge=1, le=60)
    # Unit economics of marts.cohort_roi (all optional): gross profit and ROMI need gross_margin;
    # LTV and LTV/CAC also need customer_lifetime_months (and purchases_per_year for one-off amounts).
    gross_margin: float | None = Field(default=None, gt=0, le=1)
    customer_lifetime_months: float | None = Field(default=None, gt=0, le=1200)
    deal_amount_basis: Literal["one_off", "monthly", "annual"] = "one_off"
    purchases_per_year: float | None = Field(default=None, gt=0, le=366, validate_default=True)
    targets: list[Target] = []

    @field_validator("customer_lifetime_months")
    @classmethod
    def _lifetime_needs_margin(cls, v: float | None, info: ValidationInfo) -> float | None:
        if v is not None and info.data.get("gross_margin") is None:
            raise ValueError("needs gross_margin too (LTV = revenue per customer x gross_margin x lifetime factor)")
        return v

    @field_validator("purchases_per_year")
    @classmethod
    def _purchases_for_one_off(cls, v: float | None, info: ValidationInfo) -> float | None:
        basis, lifetime = info.data.get("deal_amount_basis"), info.data.get("customer_lifetime_months")
        if v is not None and basis in ("monthly", "annual"):
            raise ValueError(f"applies only to deal_amount_basis one_off (a {basis} amount recurs by itself); "
                             "remove it")
        if v is not None and lifetime is None:
            raise ValueError("needs customer_lifetime_months (it only serves the LTV)")
        if v is None and lifetime is not None and basis == "one_off":
            raise ValueError("needed for the LTV when deal_amount_basis is one_off (a deal amount is paid once): "
                             "how many such purchases a customer makes a year, e.g. 1; or set deal_amount_basis "
                             "to monthly or annual when the amount recurs")
        return v


class SourceSettings(_Strict):
    """How strict the load of one inbox source is, and how old its newest file may get."""

    max_rejected_share: float | None = Field(default=None, ge=0, le=1)
    max_age_hours: float | None = Field(default=None, gt=0)


DEFAULT_SOURCE_SETTINGS = SourceSettings(max_rejected_share=0.05, max_age_hours=36)


class SourcesConfig(_Strict):
    defaults: SourceSettings = DEFAULT_SOURCE_SETTINGS
    sources: dict[str, SourceSettings] = {}
    # the currency every amount is reported in; spend in another is converted (config/fx_rates.csv)
    reporting_currency: str = Field(default="JPY", pattern=r"^[A-Z]{3}$")

    def settings(self, source: str) -> SourceSettings:
        """The source's own values, else the file's defaults, else the built-in ones."""
        own = self.sources.get(source, SourceSettings())
        return SourceSettings(**{
            k: next(v for v in (getattr(own, k), getattr(self.defaults, k), getattr(DEFAULT_SOURCE_SETTINGS, k))
                    if v is not None)
            for k in SourceSettings.model_fields
        })


def load_sources_config(config_dir: str | Path, known: set[str]) -> SourcesConfig:
    """`<config>/sources.yaml` when present (it is optional), else the defaults."""
    path = Path(config_dir) / "sources.yaml"
    if not path.is_file():
        return SourcesConfig()
    cfg = load_yaml_model(path, SourcesConfig)
    for name in cfg.sources:
        if name not in known:
            raise ConfigError(f"{path}: key sources.{name}: unknown source (known: {', '.join(sorted(known))})")
    return cfg


@dataclass(frozen=True)
class FunnelConfig:
    channels: ChannelsConfig
    stages: StagesConfig
    targets: TargetsConfig
    sources: SourcesConfig = field(default_factory=SourcesConfig)
    # GA4 source -> SOURCE_CATEGORY_* (search, social, video, shopping, AI assistant sites).
    source_categories: dict[str, str] = field(default_factory=dict)
    fx: FxRates = field(default_factory=FxRates)
    # YouTube video id -> its production cost in the reporting currency (config/video_costs.csv)
    video_costs: dict[str, Decimal] = field(default_factory=dict)


# Sites Google's list lacks (Japanese search portals, AI assistants, hosts of sites it lists by name), then
# Google's published list itself, which wins where both name a site.
SEEDS = Path(__file__).resolve().parent.parent / "assets" / "seeds"
SOURCE_CATEGORY_SEEDS = (SEEDS / "ga4_source_categories_extra.csv", SEEDS / "ga4_source_categories.csv")
SOURCE_CATEGORIES = {"SOURCE_CATEGORY_SEARCH", "SOURCE_CATEGORY_SOCIAL", "SOURCE_CATEGORY_VIDEO",
                     "SOURCE_CATEGORY_SHOPPING", "SOURCE_CATEGORY_AI_ASSISTANT"}


def load_source_categories(config_dir: str | Path | None) -> dict[str, str]:
    """The shipped source categories (Google's published list and a few sites it lacks), extended and
    overridden by `<config>/ga4_source_categories.csv` when present (same columns: source,source_category)."""
    categories: dict[str, str] = {}
    paths = list(SOURCE_CATEGORY_SEEDS)
    if config_dir and (Path(config_dir) / "ga4_source_categories.csv").is_file():
        paths.append(Path(config_dir) / "ga4_source_categories.csv")
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as f:
            reader = csv.DictReader(f)
            if not {"source", "source_category"} <= set(reader.fieldnames or []):
                raise ConfigError(f"{path}: needs the columns source,source_category (found {reader.fieldnames})")
            for row in reader:
                if row["source_category"] not in SOURCE_CATEGORIES:
                    raise ConfigError(f"{path}: line {reader.line_num}, column source_category: "
                                      f"{row['source_category']!r} is not one of {sorted(SOURCE_CATEGORIES)}")
                categories[row["source"].strip().lower()] = row["source_category"]
    return categories


# libyaml's SafeLoader where PyYAML was built with it: the same documents, ten times faster (a run
# reads the configuration and export profiles about 90 times: 2 s with the pure-Python parser).
FAST_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_model(path: Path, model: type[BaseModel]) -> Any:
    """A YAML file validated by a pydantic model; errors name the file and the key."""
    if not path.is_file():
        raise ConfigError(f"{path}: configuration file not found")
    text = path.read_text(encoding="utf-8")
    try:
        data = yaml.load(text, Loader=FAST_YAML_LOADER) or {}
    except yaml.YAMLError:
        try:  # the pure-Python parser's message quotes the line and points at the column
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"key {'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"{path}: {problems}") from exc


def load_config(config_dir: str | Path) -> FunnelConfig:
    from schemas import SOURCES  # the source modules import this one

    d = Path(config_dir)
    sources = load_sources_config(d, set(SOURCES))
    return FunnelConfig(
        channels=load_yaml_model(d / "channels.yaml", ChannelsConfig),
        stages=load_yaml_model(d / "stages.yaml", StagesConfig),
        targets=load_yaml_model(d / "targets.yaml", TargetsConfig),
        sources=sources,
        source_categories=load_source_categories(d),
        fx=load_fx_rates(d, sources.reporting_currency),
        video_costs=load_video_costs(d),
    )
