"""When a file was exported, read from the file itself: which snapshot of a record is newest.

Copies, downloads, unzips and synced folders change file times, so the order of snapshots
comes from the data: a date or time in the file name, a preamble's date range, the latest
timestamp in its rows. Each is a moment the export cannot precede, so the latest of them is
taken. The file time is the last resort (ops.load_log.exported_at_basis says `file time`).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

from schemas.spec import SourceSpec

# 2026-06-30, 20260630, 2026_06_30, optionally followed by a time 10-15, 1015, 10:15:00.
_NAME_DATE = re.compile(
    r"(?<!\d)(20\d\d)([-_.]?)(0[1-9]|1[0-2])\2(0[1-9]|[12]\d|3[01])"
    r"(?:[T_ -]?([01]\d|2[0-3])([-_.:h]?)([0-5]\d)(?:\6([0-5]\d))?(?![-_.:]?\d))?(?!\d)")
# Salesforce names report exports report<epoch milliseconds>.csv.
_EPOCH_MS = re.compile(r"(?<!\d)(1\d{12})(?!\d)")
EARLIEST = datetime(2000, 1, 1)


def name_moment(file_name: str, tz: str, now: datetime | None = None) -> datetime | None:
    """The latest plausible date or time written in a file's name (local time of `tz`), else None.
    Dates before 2000 or after tomorrow are no export moment (a plan, a product code)."""
    stem = file_name.rsplit("/", 1)[-1]
    latest = (now or datetime.now(ZoneInfo(tz))).replace(tzinfo=None) + timedelta(days=1)
    found: list[datetime] = []
    for m in _NAME_DATE.finditer(stem):
        try:
            found.append(datetime(int(m[1]), int(m[3]), int(m[4]), int(m[5] or 0), int(m[7] or 0), int(m[8] or 0)))
        except ValueError:  # 2026-02-30
            continue
    for m in _EPOCH_MS.finditer(stem):
        utc = datetime.fromtimestamp(int(m[1]) / 1000, tz=timezone.utc)
        found.append(utc.astimezone(ZoneInfo(tz)).replace(tzinfo=None))
    found = [f for f in found if EARLIEST <= f <= latest]
    return max(found) if found else None


def latest_row_moment(spec: SourceSpec, present: set[str]) -> str | None:
    """SQL aggregate of a row set's latest past timestamp (a date counts as its midnight); None when
    the file has no such column. Dates that may lie ahead (an expected close date) are left out.
    Column names come from the source spec, never from the file."""
    columns = [f"CAST({c.name} AS TIMESTAMP)" for c in spec.columns
               if c.name in present and c.kind in {"timestamp", "date", "period"} and not c.future_ok]
    return f"max(greatest({', '.join(columns)}))" if columns else None


def export_moment(con: duckdb.DuckDBPyConnection, spec: SourceSpec, present: set[str], file_name: str,
                  date_range: tuple[date, date] | None, modified_local: datetime, tz: str,
                  range_basis: str = "preamble") -> tuple[datetime, str]:
    """(export moment, basis) of a file whose rows are in temp table `parsed`: the latest of the name's
    moment, the date range's last day (from a preamble, or `range_basis` the file name) and the rows' latest
    timestamp, named by the one that gave it (on a tie the first of those); else the file time, basis
    `file time`."""
    candidates = []
    if (named := name_moment(file_name, tz)) is not None:
        candidates.append((named, "file name"))
    if date_range is not None:
        candidates.append((datetime.combine(date_range[1], datetime.min.time()), range_basis))
    latest = latest_row_moment(spec, present)
    if latest and (rows := con.execute(f"SELECT {latest} FROM parsed").fetchone()[0]) is not None:
        candidates.append((rows, "rows"))
    return _latest(candidates) if candidates else (modified_local, "file time")


def _latest(candidates: list[tuple[datetime, str]]) -> tuple[datetime, str]:
    """The latest (moment, basis); on a tie the first of them."""
    best = max(moment for moment, _ in candidates)
    return best, next(basis for moment, basis in candidates if moment == best)


def backfill_export_moments(con: duckdb.DuckDBPyConnection, spec: SourceSpec, tz: str) -> int:
    """Give the loads a working database logged before exported_at existed their export moment, from
    their file name and their rows in raw (the same rule as a new load; a range's last day is a row's
    date_end). Returns how many loads were dated."""
    pending = con.execute("SELECT load_id, file_name, file_modified_at FROM ops.load_log "
                          "WHERE source = $s AND status = 'loaded' AND exported_at IS NULL", {"s": spec.name}).fetchall()
    if not pending:
        return 0
    aggregate = latest_row_moment(spec, {c.name for c in spec.stored_columns})
    latest = dict(con.execute(f"SELECT _load_id, {aggregate} FROM raw.{spec.name} "
                              "WHERE _load_id IN (SELECT unnest($ids)) GROUP BY _load_id",
                              {"ids": [p[0] for p in pending]}).fetchall()) if aggregate else {}
    for load_id, file_name, modified in pending:
        candidates = [(m, b) for m, b in ((name_moment(file_name, tz), "file name"), (latest.get(load_id), "rows"))
                      if m is not None]
        local = modified.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).replace(tzinfo=None)
        moment, basis = _latest(candidates) if candidates else (local, "file time")
        con.execute("UPDATE ops.load_log SET exported_at = $m, exported_at_basis = $b WHERE load_id = $id",
                    {"m": moment, "b": basis, "id": load_id})
    return len(pending)


def ordered_by_file_time(con: duckdb.DuckDBPyConnection, spec: SourceSpec, limit: int = 20) -> list[tuple]:
    """(file, other file, why) of loaded files whose order was decided by their file times: their export
    moments tie, or one has none, and they hold versions of the same records (the same key and, where
    the export has it, the same updated_at). Empty for a source whose rows replace nothing."""
    key = spec.snapshot_key
    if not key:
        return []
    same = " AND ".join(f"x.{k} IS NOT DISTINCT FROM y.{k}" for k in key)
    if any(c.name == "updated_at" for c in spec.stored_columns):
        same += " AND x.updated_at IS NOT DISTINCT FROM y.updated_at"
    # The pairs come from the load log alone; only when there are any are the raw rows joined (a join
    # over the whole history on every run, also one without new files).
    pairs = con.execute("""
        WITH l AS (SELECT load_id, file_name, exported_at, exported_at_basis FROM ops.load_log
                   WHERE source = $source AND status = 'loaded')
        SELECT a.load_id, b.load_id, a.file_name, b.file_name,
               CASE WHEN a.exported_at = b.exported_at THEN 'the same export moment, ' || strftime(a.exported_at, '%Y-%m-%d %H:%M:%S')
                    ELSE 'no date in the file, its name or a preamble' END
        FROM l a JOIN l b ON a.load_id < b.load_id
        WHERE a.exported_at = b.exported_at OR 'file time' IN (a.exported_at_basis, b.exported_at_basis)""",
                        {"source": spec.name}).fetchall()
    if not pairs:
        return []
    a_ids, b_ids, a_files, b_files, whys = (list(column) for column in zip(*pairs))
    return con.execute(f"""
        SELECT a_file, b_file, why FROM (SELECT unnest($a) AS a_id, unnest($b) AS b_id, unnest($a_file) AS a_file,
                                                unnest($b_file) AS b_file, unnest($why) AS why) p
        WHERE EXISTS (SELECT 1 FROM raw.{spec.name} x JOIN raw.{spec.name} y ON {same}
                      WHERE x._load_id = p.a_id AND y._load_id = p.b_id)
        ORDER BY a_file, b_file LIMIT $limit""",
        {"a": a_ids, "b": b_ids, "a_file": a_files, "b_file": b_files, "why": whys, "limit": limit}).fetchall()
