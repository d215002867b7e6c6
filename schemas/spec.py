"""What a source's canonical columns are, and the pandera schema built from them.

A source module (`schemas/leads.py`, ...) lists its columns with a kind; the
reader parses each kind in DuckDB (`assets/sql/parse_macros.sql`) and keeps the
raw text of parsed columns beside them as `<column>__raw`, so that the pandera
schema can say which raw value did not parse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # pandera (and pandas under it) is imported by a run that validates a file, not by every run
    import pandera.polars as pa

# kind -> DuckDB type of the parsed column
KIND_TYPES = {
    "text": "VARCHAR",
    "timestamp": "TIMESTAMP",  # local time in the configured time zone
    "date": "DATE",
    "period": "DATE",  # a day, or a month written 2026-07 (then its first day)
    "money": "DECIMAL(18,2)",
    "count": "BIGINT",
    "number": "DOUBLE",
    "duration": "BIGINT",  # seconds, from H:MM:SS (YouTube Studio's average view duration)
}
PARSED_KINDS = {"timestamp", "date", "period", "money", "count", "number", "duration"}
KIND_PROBLEM = {
    "timestamp": "is not a date/time (accepted: 2026-07-03, 2026-07-03T10:00:00+09:00, 2026/07/03, 20260703, 2026/7/3 10:00)",
    "date": "is not a date (accepted: 2026-07-03, 2026/07/03, 20260703, 2026/7/3)",
    "period": "is not a day or a month (accepted: 2026-07-03, 2026/7/3, 20260703, 2026-07)",
    "money": "is not an amount of money (accepted: 1500000, 1,500,000, ¥1,500,000, 1,500,000円, JPY 1,500,000, "
             "1500.50; at most two decimals)",
    "count": "is not a whole number",
    "number": "is not a number",
    "duration": "is not a duration (accepted: 0:01:25, 12:03:09 as H:MM:SS; 85 as seconds)",
}
# kind -> polars type of the parsed column as DuckDB hands it over (Arrow, no conversion)
_POLARS_DTYPES = {
    "text": pl.String,
    "timestamp": pl.Datetime("us"),
    "date": pl.Date,
    "period": pl.Date,
    "money": pl.Decimal(18, 2),
    "count": pl.Int64,
    "number": pl.Float64,
    "duration": pl.Int64,
}
NUMBER_MARKS_PROBLEM = (
    "has decimal or thousands marks this file's number format does not read as one number: it reads "
    "1,234,567.89 (commas between groups of three digits, a point before the decimals, at most two decimals "
    "for money); 12,34 or 1.234,56 look like a decimal comma, and 1.234 could be 1234 or 1.234. Declare the export's marks in its "
    "profile (number_format: {decimal_mark: ',', grouping_mark: '.'}) or export plain numbers")
# A money or count value with marks that did not parse: marks of another convention (a count's point
# alone is a fraction, which is no count, unless it groups thousands).
_MARKS = {"money": r"^\D*[+-]?[0-9][0-9.,' \u00a0\u202f]*[.,][0-9]+\D*$",
          "count": r"^[+-]?[0-9][0-9.' \u00a0\u202f]*,[0-9]+$|^[+-]?[1-9][0-9]{0,2}(\.[0-9]{3})+$"}
EARLIEST_DATE = datetime(2000, 1, 1)
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


@dataclass(frozen=True, eq=False)  # compared by identity: a polars expression has no truth value
class FrameRule:
    """A check across columns of a row, named "<rule>:<column it is about>"; it applies
    to a file that has all of `columns`."""
    name: str
    columns: tuple[str, ...]
    passes: pl.Expr  # true for a row that passes


@dataclass(frozen=True)
class SourceSpec:
    name: str  # inbox folder and raw table name
    title: str
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...] = ()  # record key (snapshots replace by key); () = aggregate rows
    frame_rules: tuple[FrameRule, ...] = ()
    # A required column may be absent when all of its substitutes are present
    # (GA4 channel-group reports have no source/medium).
    substitutes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    optional: bool = False  # an inbox without this folder is complete (touchpoints)
    # Aggregate rows of a newer snapshot replace older rows with the same values of these columns.
    replaces_by: tuple[str, ...] = ()
    # (money column, its currency column, the date whose month picks the exchange rate)
    currency_of: tuple[str, str, str] | None = None
    notes: str = ""  # what else docs/inputs.md says about how its rows replace each other

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def stored_columns(self) -> list[ColumnSpec]:
        return [c for c in self.columns if not c.pii]

    @property
    def snapshot_key(self) -> tuple[str, ...]:
        """What a newer snapshot replaces by: the record key, else the aggregate rows' dimensions."""
        return self.key or self.replaces_by

    def column(self, name: str) -> ColumnSpec:
        return next(c for c in self.columns if c.name == name)

    def pandera_schema(self, present: set[str], latest: datetime, declared_marks: bool = False) -> pa.DataFrameSchema:
        """The schema of one file's parsed frame (only the columns the file has), for
        pandera's polars backend: every check is a polars expression over whole columns.

        `latest` is the last moment a past date may have (local time, now plus a
        day of slack for time zones); a later date in a column that records
        something that happened is refused. Without `declared_marks` (a profile's
        number_format), a money or count value whose marks did not parse is reported
        as marks of another convention rather than as no number at all."""
        import pandera.polars as pa

        cols: dict[str, pa.Column] = {}
        frame_checks = []
        # A check across columns named "<rule>:<column>" is a check of that column: pandera then
        # reports the failing rows' value of that column, not every column of each failing row (a
        # frame-level check's failure cases became a Python dict per row: about 1 GB and 20 CPU s
        # for a 200,000-row chunk failing everywhere).
        row_checks: dict[str, list[pa.Check]] = {}
        for rule in self.frame_rules:
            if set(rule.columns) <= present:
                row_checks.setdefault(rule.name.split(":", 1)[1], []).append(_frame_check(rule.name, rule.passes))
        for c in self.columns:
            if c.name not in present:
                continue
            checks = []
            if c.non_negative:
                checks.append(_column_check("non_negative", lambda v: v >= 0))
            if c.kind in {"timestamp", "date", "period"}:
                earliest = EARLIEST_DATE if c.kind == "timestamp" else EARLIEST_DATE.date()
                checks.append(_column_check("not_before_2000", lambda v, e=earliest: v >= e))
                if not c.future_ok:
                    # a day is in the future when it starts after `latest`
                    last = latest if c.kind == "timestamp" else latest.date()
                    checks.append(_column_check("not_in_future", lambda v, t=last: v <= t))
            if c.kind == "text" and not c.pii:
                checks.append(_column_check("max_length", lambda v: v.str.len_chars() <= MAX_TEXT_LENGTH))
            if c.kind in PARSED_KINDS:
                # A value that was there but did not parse is NULL in c.name and not NULL in c.name__raw.
                unread = pl.col(c.name).is_null() & pl.col(f"{c.name}__raw").is_not_null()
                if c.kind in {"money", "count"} and not declared_marks:
                    foreign = pl.col(f"{c.name}__raw").str.contains(_MARKS[c.kind]).fill_null(False)
                    checks.append(_frame_check(f"number_marks:{c.name}", ~(unread & foreign)))
                    unread = unread & ~foreign
                checks.append(_frame_check(f"parseable:{c.name}", ~unread))
            cols[c.name] = pa.Column(
                _POLARS_DTYPES[c.kind],
                nullable=c.nullable,
                unique=(self.key == (c.name,)),
                checks=checks + row_checks.get(c.name, []),
            )
            if c.kind in PARSED_KINDS:
                cols[f"{c.name}__raw"] = pa.Column(pl.String, nullable=True)
        if len(self.key) > 1:
            frame_checks.append(_frame_check("unique_key", ~pl.struct(list(self.key)).is_duplicated()))
        return pa.DataFrameSchema(cols, checks=frame_checks, strict=False, name=self.name)


def _column_check(name: str, passes) -> pa.Check:
    """An element-wise check; an empty value passes (nullable says whether it may be empty)."""
    import pandera.polars as pa

    return pa.Check(lambda data: data.lazyframe.select(pl.col(data.key).is_null() | passes(pl.col(data.key))),
                    name=name)


def _frame_check(name: str, passes: pl.Expr) -> pa.Check:
    """A check of each row across columns (`passes` may name any of them), for the schema or for
    a column (which the failure cases then show)."""
    import pandera.polars as pa

    return pa.Check(lambda data: data.lazyframe.select(passes), name=name)
