"""Do a baseline's marts equal the published ones? Counts and money exactly, rates and
day medians to 1e-12 relative (they are the same divisions of the same integers).

Each mismatch is one line naming the table, the row (its key) and the column.
"""

import math
import pickle
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb

# The marts both baselines compute, with the columns that identify a row.
MART_KEYS = {
    "channel_funnel": ("period_start", "channel"),
    "channel_roi": ("period_start", "channel"),
    "lead_cohort_funnel": ("cohort_start", "channel"),
    "mql_to_sql": ("period_start", "channel"),
    "deal_to_win": ("period_start", "channel"),
}
REL_TOL = 1e-12
_MISSING = object()


def _table_rows(con: duckdb.DuckDBPyConnection, table: str) -> list[dict]:
    cur = con.execute(f"SELECT * FROM {table}")  # table names come from MART_KEYS, never data
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def floor_marts(path: Path) -> dict[str, list[dict]]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: _table_rows(con, table) for table in MART_KEYS}


def pandas_marts(path: Path) -> dict[str, list[dict]]:
    with path.open("rb") as f:
        frames = pickle.load(f)
    return {table: frames[table].to_dict("records") for table in MART_KEYS}


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _as(kind: str, v):
    """A value as the published column's kind; raises ValueError when it cannot be one exactly."""
    if _blank(v):
        return None
    if kind == "DATE":
        return v.date() if isinstance(v, datetime) else v if isinstance(v, date) else date.fromisoformat(str(v))
    if kind.startswith("DECIMAL"):
        if isinstance(v, float):
            raise ValueError(f"{v!r} is a float, money must be exact")
        return Decimal(int(v)) if not isinstance(v, Decimal) else v
    if kind in ("BIGINT", "INTEGER", "HUGEINT", "UBIGINT", "SMALLINT"):
        if isinstance(v, float) and v != int(v):
            raise ValueError(f"{v!r} is not a whole number")
        return int(v)
    if kind == "DOUBLE":
        return float(v)
    return str(v)


def _equal(kind: str, a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if kind == "DOUBLE":
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=REL_TOL)
    return a == b


def compare_marts(warehouse: Path, marts: dict[str, list[dict]], label: str) -> list[str]:
    """Mismatches between `marts` (a baseline's) and the published warehouse, one line each."""
    problems = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        for table, key in MART_KEYS.items():
            kinds = dict(con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = $t",
                {"t": table}).fetchall())
            published = {tuple(_as(kinds[k], r[k]) for k in key): r for r in _table_rows(con, f"marts.{table}")}
            theirs = {}
            for row in marts.get(table, []):
                theirs[tuple(_as(kinds[k], row[k]) for k in key)] = row
            columns = sorted({c for row in marts.get(table, []) for c in row} - set(key))
            if not marts.get(table):
                problems.append(f"{label} {table}: no rows (the published table has {len(published)})")
                continue
            unknown = [c for c in columns if c not in kinds]
            problems += [f"{label} {table}: column {c} is not a column of marts.{table}" for c in unknown]
            columns = [c for c in columns if c in kinds]
            for k in sorted(published.keys() - theirs.keys(), key=str):
                problems.append(f"{label} {table}: row {_where(key, k)} is published but missing from the {label}")
            for k in sorted(theirs.keys() - published.keys(), key=str):
                problems.append(f"{label} {table}: row {_where(key, k)} is in the {label} but not published")
            for k in sorted(published.keys() & theirs.keys(), key=str):
                for col in columns:
                    ours, other = published[k].get(col), theirs[k].get(col, _MISSING)
                    if other is _MISSING:
                        continue
                    try:
                        a, b = _as(kinds[col], ours), _as(kinds[col], other)
                    except ValueError as exc:
                        problems.append(f"{label} {table}: row {_where(key, k)}, column {col}: {exc}")
                        continue
                    if not _equal(kinds[col], a, b):
                        problems.append(f"{label} {table}: row {_where(key, k)}, column {col}: "
                                        f"published {a!r}, {label} {b!r}")
    return problems


def _where(key: tuple[str, ...], values: tuple) -> str:
    return ", ".join(f"{k}={v}" for k, v in zip(key, values))
