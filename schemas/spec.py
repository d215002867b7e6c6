"""What a source's canonical columns are, and the pandera schema built from them.

A source module (`schemas/leads.py`, ...) lists its columns with a kind; the
reader parses each kind in DuckDB (`assets/sql/parse_macros.sql`) and keeps the
raw text of parsed columns beside them as `<column>__raw`, so that the pandera
schema can say which raw value did not parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import pandera.pandas as pa

# kind -> DuckDB type of the parsed column
KIND_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",  # local time in the configured time zone
    "date": "DATE",
    "period": "DATE",  # a day, or a month written 2026-07 (then its first day)
    "money": "DECIMAL(18,2)",
    "count": "BIGINT",
    "number": "DOUBLE",
}
PARSED_KINDS = {"timestamp", "date", "period", "money", "count", "number"}
KIND_PROBLEM = {
    "timestamp": "is not a date/time (accepted: 2026-07-03, 2026-07-03T10:00:00+09:00, 2026/07/03, 20260703, 2026/7/3 10:00)",
    "date": "is not a date (accepted: 2026-07-03, 2026/07/03, 20260703, 2026/7/3)",
    "period": "is not a day or a month (accepted: 2026-07-03, 2026/7/3, 20260703, 2026-07)",
    "money": "is not an amount of money (accepted: 1500000, 1,500,000, ¥1,500,000, 1,500,000円, JPY 1,500,000)",
    "count": "is not a whole number",
    "number": "is not a number",
}
_PANDAS_DTYPES = {
    "text": object,
    "timestamp": "datetime64[us]",
    "date": "datetime64[us]",
    "period": "datetime64[us]",
    "money": "float64",  # checked as float; loaded from DuckDB's exact DECIMAL
    "count": "Int64",
    "number": "float64",
}
EARLIEST_DATE = "2000-01-01"
# A longer text value is no field of a real export: an unbalanced quote swallowed
# the lines after it, or the file is broken. 32,767 is the most an Excel cell holds.
MAX_TEXT_LENGTH = 32_767


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    kind: str = "text"
    required: bool = False  # the header must be present
    nullable: bool = True  # empty values allowed
    non_negative: bool = False
    pii: bool = False  # personal data: read for validation only, never stored
    future_ok: bool = False  # a date that may lie ahead (an open deal's expected close date)
    # When empty or absent, the key is HMAC-SHA256(FUNNEL_PII_SALT, this personal-data column).
    key_from: str | None = None
    comment: str = ""


@dataclass(frozen=True)
class SourceSpec:
    name: str  # inbox folder and raw table name
    title: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()  # record key (snapshots replace by key); () = aggregate rows
    extra_checks: tuple[pa.Check, ...] = field(default=())
    # A required column may be absent when all of its substitutes are present
    # (GA4 channel-group reports have no source/medium).
    substitutes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    optional: bool = False  # an inbox without this folder is complete (touchpoints)

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def stored_columns(self) -> list[ColumnSpec]:
        return [c for c in self.columns if not c.pii]

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    def pandera_schema(self, present: set[str], latest: datetime) -> pa.DataFrameSchema:
        """The schema of one file's parsed frame (only the columns the file has).

        `latest` is the last moment a past date may have (local time, now plus a
        day of slack for time zones); a later date in a column that records
        something that happened is refused."""
        cols: dict[str, pa.Column] = {}
        frame_checks: list[pa.Check] = list(self.extra_checks)
        for c in self.columns:
            if c.name not in present:
                continue
            checks = []
            if c.non_negative:
                checks.append(pa.Check(lambda s: s.isna() | (s >= 0), name="non_negative"))
            if c.kind in {"timestamp", "date", "period"}:
                checks.append(
                    pa.Check(lambda s: s.isna() | (s >= EARLIEST_DATE), name="not_before_2000")
                )
                if not c.future_ok:
                    checks.append(pa.Check(lambda s, t=latest: s.isna() | (s <= t), name="not_in_future"))
            if c.kind == "text" and not c.pii:
                checks.append(pa.Check(lambda s: s.isna() | (s.str.len() <= MAX_TEXT_LENGTH), name="max_length"))
            cols[c.name] = pa.Column(
                _PANDAS_DTYPES[c.kind],
                nullable=c.nullable,
                unique=(self.key == (c.name,)),
                checks=checks,
                coerce=c.kind == "count",
            )
            if c.kind in PARSED_KINDS:
                cols[f"{c.name}__raw"] = pa.Column(object, nullable=True)
                frame_checks.append(_parsed_check(c))
        if len(self.key) > 1:
            frame_checks.append(pa.Check(lambda df, k=list(self.key): ~df.duplicated(k, keep=False), name="unique_key"))
        return pa.DataFrameSchema(cols, checks=frame_checks, strict=False, name=self.name)


def _parsed_check(c: ColumnSpec) -> pa.Check:
    # A value that was there but did not parse is NULL in c.name and not NULL in c.name__raw.
    return pa.Check(
        lambda df, n=c.name: df[n].notna() | df[f"{n}__raw"].isna(),
        name=f"parseable:{c.name}",
    )
