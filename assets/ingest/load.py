"""Inbox -> raw: one asset per source (all loaded side by side in one step, `raw`) reads
every new export file of its folder, validates it with the source's pandera schema and
appends its valid rows to `raw.<source>`; rows failing a check go to `quarantine.<source>`.

Each file is loaded in one DuckDB transaction together with its `ops.load_log`
row, so a file is either in raw (and quarantine) or not at all: a run killed
mid-file leaves nothing of it. A file that cannot be read, or whose failing rows
exceed the source's max_rejected_share, is refused whole. Raw keeps every
version of every record (one per snapshot file); staging picks the newest.
"""


import csv
import hashlib
import os
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pandas as pd
import pandera.polars as pa
import polars as pl
import pyarrow as pa_arrow
import pyarrow.compute as pc
from assets.core import settings
from assets.core.resource import FunnelResource
from schemas import SOURCES
from assets.core import pii
from assets.ingest.export_moment import backfill_export_moments, export_moment, ordered_by_file_time
from assets.core.tables import table_metadata, transaction
from assets.ingest.csv_tables import (READ_PIECE_BYTES, FileRejected, detect_encoding, find_tables, read_pieces,
                               write_safe_csv)
from schemas.profiles import EXCEL_SERIAL, NumberFormat, Profile, best_match, closest_miss
from schemas.spec import KIND_PROBLEM, KIND_TYPES, MAX_TEXT_LENGTH, NUMBER_MARKS_PROBLEM, PARSED_KINDS, SourceSpec

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
EXTENSIONS = {".csv", ".tsv", ".txt"}
MAX_LISTED_PROBLEMS = 20
# Rows parsed and validated at a time (as one polars frame): memory holds one chunk, not a file.
VALIDATE_CHUNK_ROWS = 200_000
PROBLEM_COLUMNS = ["row_number", "record_key", "column_name", "check_name", "raw_value", "problem"]
PROBLEM_SCHEMA = {"row_number": pl.Int64, **{c: pl.String for c in PROBLEM_COLUMNS[1:]}}


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded, rejected
    rows: int = 0
    profile: str | None = None
    message: str = ""
    quarantined: int = 0
    seconds: dict[str, float] = field(default_factory=dict)  # read, parse, validate, load (what was reached)


@dataclass
class SourceLoad:
    loaded: list[FileOutcome] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)
    skipped: int = 0  # files loaded before (the same bytes)
    not_read: list["Skipped"] = field(default_factory=list)  # entries of the folder that are no export file
    hash_seconds: float = 0.0

    def seconds(self) -> dict[str, float]:
        """Time spent per ingest stage over the files of this load (for `funnel bench`)."""
        total = {"hash": self.hash_seconds, "read": 0.0, "parse": 0.0, "validate": 0.0, "load": 0.0}
        for outcome in self.loaded + self.rejected:
            for stage, sec in outcome.seconds.items():
                total[stage] += sec
        return {stage: round(sec, 3) for stage, sec in total.items()}


PREPARE_SQL = ("ops_tables.sql", "parse_macros.sql", "metric_macros.sql", "staging/build_state.sql")


def prepare_working_database(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas, ops tables and macros the steps use, unless this database was prepared
    with the same SQL and DuckDB version already (staging.prepared_sql): running the files again in
    every step cost about 0.2 s each, a second or more a run."""
    sql = "\n".join((SQL_DIR / name).read_text(encoding="utf-8") for name in PREPARE_SQL)
    fingerprint = hashlib.sha256(f"{duckdb.__version__}\n{sql}".encode()).hexdigest()
    try:
        if con.execute("SELECT fingerprint FROM staging.prepared_sql").fetchall() == [(fingerprint,)]:
            return
    except duckdb.CatalogException:
        pass
    con.execute(sql)
    con.execute("CREATE OR REPLACE TABLE staging.prepared_sql AS SELECT CAST($f AS VARCHAR) AS fingerprint",
                {"f": fingerprint})
    con.execute("COMMENT ON TABLE staging.prepared_sql IS 'SHA-256 of the DuckDB version and the SQL files "
                "(ops tables, macros) this working database was last prepared with; the same again is not re-run.'")


def modified_at(stat: os.stat_result) -> datetime:
    """A file's modification time as ops.load_log.file_modified_at stores it (UTC, naive)."""
    return datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc).replace(tzinfo=None)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# What DuckDB's trim() removes from both ends of a value: Unicode space separators (category Zs,
# as utf8proc classifies them), the ideographic space U+3000 among them; tabs and line breaks stay.
SPACE_SEPARATORS = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
IDEOGRAPHIC_SPACE = "\u3000"


def clean_text_columns(table: pa_arrow.Table) -> pa_arrow.Table:
    """Every text column as the macro clean_text(x) of parse_macros.sql makes it, computed by
    Arrow's string kernels (about a third of what the same in DuckDB costs), a column per
    thread: an ideographic space anywhere becomes an ASCII space, space separators are trimmed
    from both ends, and a value left empty is NULL. tests/test_parse_macros.py holds the two equal."""
    names = [n for n in table.column_names if n != "_source_row"]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:  # Arrow's kernels release the GIL
        cleaned = dict(zip(names, pool.map(lambda n: _clean_text_column(table.column(n)), names)))
    return pa_arrow.table([cleaned.get(n, table.column(n)) for n in table.column_names], names=table.column_names)


def _clean_text_column(column: pa_arrow.ChunkedArray) -> pa_arrow.ChunkedArray:
    chunks = []
    for chunk in column.chunks:
        data = chunk.buffers()[2]  # the UTF-8 bytes: replace only where a chunk holds U+3000
        if data is not None and data.to_pybytes().find(IDEOGRAPHIC_SPACE.encode()) >= 0:
            chunk = pc.replace_substring(chunk, IDEOGRAPHIC_SPACE, " ")
        chunk = pc.utf8_trim(chunk, SPACE_SEPARATORS)
        chunks.append(pc.if_else(pc.equal(chunk, ""), pa_arrow.scalar(None, pa_arrow.string()), chunk))
    return pa_arrow.chunked_array(chunks, pa_arrow.string())


def parse_sql(spec: SourceSpec, present: set[str], tz: str,
              formats: dict[str, list[str]] | None = None, number_format: NumberFormat | None = None) -> tuple[str, dict]:
    """SELECT over `incoming`, the text columns as clean_text_columns leaves them, giving typed
    columns and their text, and its parameters. An inner SELECT computes each parsed column's
    ASCII text once (`<column>__a`, ascii_of_clean), and the outer one parses that with the
    parsers of parse_macros.sql, keeping the cleaned text as `<column>__raw`. Column names come
    from the source spec, never from the file; the time zone and a profile's date formats are
    bound as parameters, as are the marks a profile's number_format declares."""
    parsers = {
        "timestamp": "timestamp_of({a}, $tz)",
        "date": "date_of({a}, $tz)",
        "period": "period_of({a}, $tz)",
        "money": "money_of({a})",
        "count": "count_of({a})",
        "number": "number_of({a})",
    }
    params: dict = {}
    marks = number_format.translation() if number_format else None
    if marks:  # the declared marks turned into canonical ones; no guessing about 1.234 then
        params["marks_from"], params["marks_to"] = marks
        parsers |= {
            "money": "money_of_number(canonical_number(translate(without_currency({a}), $marks_from, $marks_to)))",
            "count": "count_of_number(canonical_number(translate({a}, $marks_from, $marks_to)))",
            "number": "number_of_number(canonical_number(translate({a}, $marks_from, $marks_to)))",
        }
    ascii_, outer = ["*"], ["_source_row"]
    for col in spec.columns:
        if col.name not in present:
            continue
        if col.kind not in PARSED_KINDS:
            outer.append(col.name)
            continue
        a = f"{col.name}__a"
        ascii_.append(f"ascii_of_clean({col.name}) AS {a}")
        parsed = parsers[col.kind].format(a=a)
        custom = (formats or {}).get(col.name, [])
        if custom and col.kind in {"timestamp", "date", "period"}:
            first = []
            strptime = [f for f in custom if f != EXCEL_SERIAL]
            if strptime:
                params[f"fmt_{col.name}"] = strptime
                first.append(f"try_strptime({a}, $fmt_{col.name})")
            if EXCEL_SERIAL in custom:
                first.append(f"excel_serial_of({a})")
            parsed = f"coalesce({', '.join(first)}, {parsed})"
        outer += [f"CAST({parsed} AS {KIND_TYPES[col.kind]}) AS {col.name}", f"{col.name} AS {col.name}__raw"]
        if col.kind == "period":
            outer.append(f"CASE WHEN {a} IS NULL THEN NULL WHEN period_grain_of({a}, $tz) = 'month' "
                         f"THEN 'month' ELSE 'day' END AS {col.name}_grain")
    select = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(ascii_)} FROM incoming)"
    if "$tz" in select:  # DuckDB refuses a parameter the statement does not use
        params["tz"] = tz
    if "$marks_from" not in select:
        params = {k: v for k, v in params.items() if not k.startswith("marks_")}
    return select, params


# Per source: the text columns stored (personal data in them is masked on the way in), and those holding
# record ids, where an e-mail address becomes its keyed hash instead.
TEXT_COLUMNS = {name: [c.name for c in spec.stored_columns if c.kind == "text"] for name, spec in SOURCES.items()}
ID_COLUMNS = {name: set(spec.key) | {c.name for c in spec.columns if c.key_from} for name, spec in SOURCES.items()}


def _secret_for_ids() -> bytes:
    try:
        return pii.salt()
    except pii.MissingSalt as exc:
        raise FileRejected(f"has e-mail addresses as record ids: {exc}") from None


def derive_keys(spec: SourceSpec, table: pa_arrow.Table) -> pa_arrow.Table:
    """Fill a key column the file lacks (or leaves empty) from the keyed hash of the
    personal-data column named by its `key_from`; refuse the file without the secret."""
    for col in spec.columns:
        if not col.key_from or col.key_from not in table.column_names:
            continue
        source = table.column(col.key_from)
        current = table.column(col.name) if col.name in table.column_names else pa_arrow.chunked_array(
            [pa_arrow.nulls(table.num_rows, pa_arrow.string())])
        missing = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(current), ""), True)
        has_source = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(source), ""), False)
        if not pc.any(pc.and_(missing, has_source)).as_py():
            if col.name not in table.column_names:  # every piece of a file gets the same columns
                table = table.append_column(col.name, current)
            continue
        try:
            secret = pii.salt()
        except pii.MissingSalt as exc:
            raise FileRejected(f"has rows without {col.name}: {exc}") from None
        filled = pc.if_else(missing, pii.email_key(source, secret), current)
        if col.name in table.column_names:
            table = table.set_column(table.column_names.index(col.name), col.name, filled)
        else:
            table = table.append_column(col.name, filled)
    return table


def pandera_problems(spec: SourceSpec, frame: pl.DataFrame, err: pa.errors.SchemaErrors) -> pl.DataFrame:
    """One row (PROBLEM_COLUMNS) per failure case of pandera, in pandera's order; a case's `index`
    is the failing row's position in `frame`. Built with polars a (column, check) at a time: a
    Python dict per case took most of the CPU and memory of a chunk whose every row fails.
    Duplicates and the order by row are FileProblems' work."""
    cases = err.failure_cases.with_row_index("_case")
    parts = []
    for (name, check_name), group in cases.group_by(["column", "check"], maintain_order=True):
        check = str(check_name)
        if check == "unique_key":
            column = ",".join(spec.key)
        elif ":" in check:  # a check across columns named "<rule>:<column>" is about that column
            column = check.split(":", 1)[1]
        else:
            column = name
        raw_column = f"{column}__raw" if f"{column}__raw" in frame.columns else column
        labels = {"column_name": pl.lit(column, pl.String), "check_name": pl.lit(check, pl.String),
                  "problem": pl.lit(_problem_text(spec, column, check), pl.String)}
        whole = group.filter(pl.col("index").is_null())  # a problem of the column, not of a row
        if whole.height:
            parts.append(pl.DataFrame({
                "_case": whole["_case"], "row_number": pl.Series([None] * whole.height, dtype=pl.Int64),
                "record_key": pl.Series([None] * whole.height, dtype=pl.String),
                "raw_value": _as_text(whole["failure_case"])}).with_columns(**labels))
        rows = group.filter(pl.col("index").is_not_null())
        if not rows.height:
            continue
        at = rows["index"]
        raw = (frame[raw_column].gather(at) if raw_column in frame.columns
               else pl.Series([None] * rows.height, dtype=pl.String))
        keys = [_as_text(frame[k].gather(at)).fill_null("None") for k in spec.key]  # as str() wrote them
        part = pl.DataFrame({
            "_case": rows["_case"],
            "row_number": frame["_source_row"].gather(at).cast(pl.Int64),
            "record_key": (pl.DataFrame(keys).select(pl.concat_str(pl.all(), separator=",")).to_series()
                           if keys else pl.Series([None] * rows.height, dtype=pl.String)),
            "raw_value": _as_text(raw),
        }).with_columns(**labels)
        if check == "not_nullable" and raw_column != column:
            part = part.filter(raw.is_null())  # there was a value; the parseable check reports it
        parts.append(part)
    if not parts:
        return pl.DataFrame(schema=PROBLEM_SCHEMA)
    problems = pl.concat(parts).sort("_case")
    return problems.with_columns(raw_value=_masked(problems["raw_value"].str.slice(0, 200))).select(PROBLEM_COLUMNS)


def _as_text(values: pl.Series) -> pl.Series:
    """Values as Python's str() writes them (text stays as it is), nulls kept."""
    if values.dtype == pl.String:
        return values
    return values.map_elements(str, return_dtype=pl.String, skip_nulls=True)


def _masked(values: pl.Series) -> pl.Series:
    """pii.mask of each value, computed once per distinct value."""
    masked = {v: pii.mask(v) for v in values.unique().to_list() if v is not None}
    return values.replace_strict(masked, default=None, return_dtype=pl.String) if masked else values


def duplicate_key_problems(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> pl.DataFrame:
    """Rows of temp table `parsed` whose record key another row of the file repeats, reported as
    pandera reports them within a chunk (every copy, check field_uniqueness or unique_key)."""
    keys = ", ".join(spec.key)
    check = "field_uniqueness" if len(spec.key) == 1 else "unique_key"
    column = ",".join(spec.key)
    rows = con.execute(
        f"SELECT _source_row, concat_ws(',', {keys}) FROM parsed "
        f"WHERE {' AND '.join(f'{k} IS NOT NULL' for k in spec.key)} "
        f"QUALIFY count(*) OVER (PARTITION BY {keys}) > 1 ORDER BY _source_row"
    ).fetchall()
    return pl.DataFrame([{"row_number": row, "record_key": key, "column_name": column, "check_name": check,
                          "raw_value": pii.mask(key[:200]) if len(spec.key) == 1 else None,
                          "problem": _problem_text(spec, column, check)} for row, key in rows], schema=PROBLEM_SCHEMA)


class FileProblems:
    """The problems of one file being loaded, kept in DuckDB temp table `file_problems` (a chunk's
    problems are added once it is validated) instead of a Python list: a list of dicts took about
    650 bytes a problem, so a file failing a check on every row grew with the file (the 212 MB lead
    file with a bad lead_score on each row peaked at 2,580 MiB); the temp table is held within
    DuckDB's memory_limit and spills beyond it. merge() leaves one problem per (row, column,
    check), the first added, in row order (ties in the order added)."""

    TABLE = "file_problems"
    ORDER = "coalesce(row_number, 0), coalesce(column_name, ''), seq"  # by row, then column, then as added

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.added = 0
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.TABLE} (seq BIGINT, row_number BIGINT, record_key VARCHAR, "
                    "column_name VARCHAR, check_name VARCHAR, raw_value VARCHAR, problem VARCHAR)")

    def add(self, problems: pl.DataFrame) -> None:
        """Append problems (PROBLEM_COLUMNS), numbered in the order given."""
        if not problems.height:
            return
        batch = problems.select(PROBLEM_COLUMNS).with_row_index("seq", offset=self.added).cast({"seq": pl.Int64})
        self.added += problems.height
        self.con.register("problems_batch", batch)
        try:
            self.con.execute(f"INSERT INTO {self.TABLE} BY NAME SELECT * FROM problems_batch")
        finally:
            self.con.unregister("problems_batch")

    def merge(self) -> None:
        if self.added:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {self.TABLE} AS SELECT * FROM {self.TABLE} "
                "QUALIFY row_number() OVER (PARTITION BY row_number, column_name, check_name ORDER BY seq) = 1 "
                f"ORDER BY {self.ORDER}")

    def counts(self) -> tuple[int, int, int]:
        """(problems, problems with whole columns, distinct rows with a problem)"""
        if not self.added:
            return 0, 0, 0
        return self.con.execute(f"SELECT count(*), count(*) FILTER (row_number IS NULL), count(DISTINCT row_number) "
                                f"FROM {self.TABLE}").fetchone()

    def first(self, n: int) -> list[dict]:
        rows = self.con.execute(f"SELECT {', '.join(PROBLEM_COLUMNS)} FROM {self.TABLE} ORDER BY {self.ORDER} LIMIT $n",
                                {"n": n}).fetchall() if self.added else []
        return [dict(zip(PROBLEM_COLUMNS, row)) for row in rows]

    def rows(self, batch: int = 100_000):
        """Every problem as a list of PROBLEM_COLUMNS values, in order, fetched a batch at a time."""
        result = self.con.execute(f"SELECT {', '.join(PROBLEM_COLUMNS)} FROM {self.TABLE} ORDER BY {self.ORDER}")
        while chunk := result.fetchmany(batch):
            yield from (list(row) for row in chunk)

    def insert_into(self, table: str, load_id: int, source: str, file_name: str, now: datetime,
                    values: bool = True) -> None:
        """The problems into `table`; without `values`, raw_value left empty (a refused file's cells)."""
        columns = [c if values or c != "raw_value" else "NULL AS raw_value" for c in PROBLEM_COLUMNS]
        self.con.execute(
            f"INSERT INTO {table} BY NAME SELECT $load_id AS load_id, $source AS source, $file AS file_name, "
            f"$now AS recorded_at, {', '.join(columns)} FROM {self.TABLE} ORDER BY {self.ORDER}",
            {"load_id": load_id, "source": source, "file": file_name, "now": now})


class RowsRejected(FileRejected):
    """A file refused for the problems of its rows, held in a FileProblems table (`total` of them)."""

    def __init__(self, message: str, stored: FileProblems, total: int):
        super().__init__(message)
        self.stored, self.total = stored, total


def _problem_text(spec: SourceSpec, column: str | None, check: str) -> str:
    if check.startswith("parseable:"):
        return KIND_PROBLEM[spec.column(column).kind]
    if check.startswith("number_marks:"):
        return NUMBER_MARKS_PROBLEM
    if check == "field_uniqueness" or check == "unique_key":
        return f"duplicate key {column}: the same record appears twice in one file"
    if check == "not_nullable":
        return "is empty but required"
    if check == "non_negative":
        return "is negative"
    if check == "not_before_2000":
        return "is before 2000-01-01"
    if check == "not_in_future":
        return "lies in the future (more than a day after the run)"
    if check == "max_length":
        return (f"is longer than {MAX_TEXT_LENGTH:,} characters, the most a spreadsheet cell holds "
                "(an unbalanced quote in the export?)")
    if check == "not_above_sessions:engaged_sessions":
        return "engaged_sessions is greater than sessions"
    if check == "not_before_start:date_end":
        return "the range ends before it starts (date_end < date)"
    if check.startswith("dtype"):
        return f"has the wrong type ({check})"
    if check == "column_in_dataframe":
        return "required column is missing"
    return check.replace("_", " ")


def column_letter(position: int) -> str:
    """A 0-based column position as a spreadsheet names it (0 -> A, 26 -> AA)."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def duplicate_headers_text(match, header_line: int) -> str:
    places = "; ".join(f"{header!r} in columns " + " and ".join(f"{at + 1} ({column_letter(at)})" for at in positions)
                       for header, positions in match.duplicated.items())
    return (f"has the same header twice on line {header_line}: {places}. Which one holds the data cannot be "
            f"told: rename or remove one of them, or say which to read in a profile (duplicate_headers: "
            f"{{'{next(iter(match.duplicated))}': first}} under sources.{match.source_name} of "
            f"config/profiles/<tool>.yaml; the file matched profile {match.profile.name!r})")


def describe(file_name: str, first: list[dict], total: int, values: bool = True) -> str:
    """The `first` problems (FileProblems.first) in words, and how many more of the `total` there are;
    without `values`, not what the cells held (a refused file's content is never published)."""
    lines = []
    for p in first[:MAX_LISTED_PROBLEMS]:
        where = f"row {p['row_number']}" if p["row_number"] is not None else "all rows"
        raw = p["raw_value"] if values else None
        value = "" if raw is None else f" (value {raw if len(raw) <= 80 else raw[:80] + '...'!r})"
        lines.append(f"{file_name}: {where}, column {p['column_name']}: {p['problem']}{value}")
    if total > MAX_LISTED_PROBLEMS:
        lines.append(f"{file_name}: ... and {total - MAX_LISTED_PROBLEMS} more problems (see ops.load_errors)")
    return "\n".join(lines)


# quarantine.<source>: the rows of loaded files that failed a check (the table name is a
# source name of schemas/, never data).
QUARANTINE_TABLE = """
CREATE TABLE IF NOT EXISTS quarantine.{source} (
    load_id BIGINT NOT NULL, source VARCHAR NOT NULL, file_name VARCHAR NOT NULL, row_number BIGINT,
    record_key VARCHAR, column_name VARCHAR, check_name VARCHAR, raw_value VARCHAR, problem VARCHAR NOT NULL,
    recorded_at TIMESTAMP NOT NULL);
COMMENT ON TABLE quarantine.{source} IS 'Rows of loaded {source} files that failed a check and were left out of raw: one row per row, column and failed check. The rest of each file loaded; a file with more than max_rejected_share (config/sources.yaml) of such rows is refused whole instead (ops.load_errors).';
COMMENT ON COLUMN quarantine.{source}.load_id IS 'The ops.load_log row of the load.';
COMMENT ON COLUMN quarantine.{source}.source IS 'Inbox source folder.';
COMMENT ON COLUMN quarantine.{source}.file_name IS 'Path of the file relative to the inbox.';
COMMENT ON COLUMN quarantine.{source}.row_number IS 'Data row number in the file, 1 = first row under the header.';
COMMENT ON COLUMN quarantine.{source}.record_key IS 'Key of the record the row holds (lead_id, deal_id), when the source has one.';
COMMENT ON COLUMN quarantine.{source}.column_name IS 'Canonical column that failed.';
COMMENT ON COLUMN quarantine.{source}.check_name IS 'Name of the pandera check that failed.';
COMMENT ON COLUMN quarantine.{source}.raw_value IS 'The value as exported (first 200 characters); personal-data columns are never kept.';
COMMENT ON COLUMN quarantine.{source}.problem IS 'What is wrong, in words.';
COMMENT ON COLUMN quarantine.{source}.recorded_at IS 'When the row was quarantined (UTC).';
"""


def ensure_raw_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{spec.name} (_load_id BIGINT NOT NULL, _source_file VARCHAR NOT NULL, "
        "_source_row BIGINT NOT NULL, _loaded_at TIMESTAMP NOT NULL)"
    )
    con.execute(f"COMMENT ON TABLE raw.{spec.name} IS '{spec.title}: every row of every loaded file, one version per snapshot.'")
    con.execute(QUARANTINE_TABLE.format(source=spec.name))
    for col in spec.stored_columns:
        con.execute(f"ALTER TABLE raw.{spec.name} ADD COLUMN IF NOT EXISTS {col.name} {KIND_TYPES[col.kind]}")
        if col.comment:  # our own text from schemas/, never data
            con.execute(f"COMMENT ON COLUMN raw.{spec.name}.{col.name} IS '{col.comment.replace(chr(39), chr(39) * 2)}'")
        if col.kind == "period":
            con.execute(f"ALTER TABLE raw.{spec.name} ADD COLUMN IF NOT EXISTS {col.name}_grain VARCHAR")


def load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path,
    file_name: str,
    digest: str,
    profiles: list[Profile],
    tz: str,
    run_id: str,
    max_rejected_share: float = 0.05,
    problems_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    hashed: tuple[int, int] | None = None,
) -> FileOutcome:
    """Load one export file: its valid rows into raw.<source>, rows failing a check into
    quarantine.<source>, and its ops.load_log row, all in one transaction. The file is
    refused whole (nothing written but the log and ops.load_errors) when it cannot be
    read, or when more than `max_rejected_share` of its rows fail a check, or when it changed since it was
    hashed (`hashed`: its size and modification time then) or while it was read."""
    stat = path.stat()
    modified = modified_at(stat)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    latest = (datetime.now(ZoneInfo(tz)) + timedelta(days=1)).replace(tzinfo=None)
    encoding = profile_name = None
    rows_read = 0
    label = file_name
    log_row = dict(source=spec.name, file_name=file_name, sha256=digest, size_bytes=stat.st_size,
                   file_modified_at=modified, profile=None, encoding=None, rows_read=0, rows_skipped=None,
                   header_line=None, run_id=run_id, loaded_at=now, exported_at=None, exported_at_basis=None)
    seconds: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        now_ = time.perf_counter()
        seconds[stage] = seconds.get(stage, 0.0) + now_ - clock[0]  # chunks add up
        clock[0] = now_

    try:
        if stat.st_size == 0:
            raise FileRejected("is empty (0 bytes)")
        encoding = detect_encoding(path)
        tables = find_tables(path, encoding, profiles)
        matched = [(t, m) for t in tables
                   for m in [best_match(profiles, spec.name, t.headers, t.date_range is not None, t.prefix)] if m]
        if not matched:
            _, miss = min(closest_miss(profiles, spec.name, t.headers, t.date_range is not None, t.prefix)
                          for t in tables)
            raise FileRejected(miss if len(tables) == 1 else f"holds {len(tables)} tables and none {miss[:1].lower()}{miss[1:]}")
        table, match = matched[0]
        profile_name = match.profile.name
        if match.duplicated:
            raise FileRejected(duplicate_headers_text(match, table.header_line))
        if table.header_line > 1:
            label = f"{file_name} (table at line {table.header_line})"
        log_row.update(rows_skipped=0, header_line=table.header_line)
        rows_read, bytes_read, present = 0, 0, None
        found = FileProblems(con)  # the rows' problems, in DuckDB (see FileProblems)
        masked: dict[tuple[str, str], tuple[int, list[int]]] = {}  # personal data masked, per column and kind
        # The file is read a piece at a time (csv_tables.read_pieces) and each piece parsed and validated
        # a chunk at a time, so that memory holds a piece and a chunk's frame, not the file.
        for piece in read_pieces(path, encoding, table, match):
            log_row["rows_skipped"] += piece.total_rows + len(piece.footer_lines)
            bytes_read += piece.source_bytes
            incoming = derive_keys(spec, piece.table)
            incoming, found_here = pii.mask_columns(incoming, TEXT_COLUMNS[spec.name], ID_COLUMNS[spec.name],
                                                    _secret_for_ids)
            for key, (n, first_rows) in found_here.items():
                count, rows_so_far = masked.get(key, (0, []))
                masked[key] = (count + n, (rows_so_far + first_rows)[:pii.MAX_ROWS_NAMED])
            columns = set(incoming.column_names) - {"_source_row"}
            if present is None:
                present = columns
                select, params = parse_sql(spec, present, tz, match.source.formats, match.source.number_format)
                schema = spec.pandera_schema(present, latest, match.source.number_format is not None)
            elif columns != present:  # derive_keys gives every piece the same columns
                raise RuntimeError(f"{file_name}: a piece of the file has columns {sorted(columns)}, "
                                   f"the first {sorted(present)}")
            lap("read")
            several_chunks = rows_read or incoming.num_rows > VALIDATE_CHUNK_ROWS or bytes_read < stat.st_size
            for start in range(0, incoming.num_rows, VALIDATE_CHUNK_ROWS):
                con.register("incoming", clean_text_columns(incoming.slice(start, VALIDATE_CHUNK_ROWS)))
                try:
                    con.execute(("CREATE OR REPLACE TEMP TABLE parsed AS " if rows_read + start == 0
                                 else "INSERT INTO parsed ") + select, params or None)
                finally:
                    con.unregister("incoming")
                lap("parse")
                rows = incoming.column("_source_row").slice(start, VALIDATE_CHUNK_ROWS)  # increasing
                frame = con.sql("SELECT * FROM parsed WHERE _source_row BETWEEN $first AND $last",
                                params={"first": rows[0].as_py(), "last": rows[-1].as_py()}).pl()
                try:
                    schema.validate(frame, lazy=True)
                except pa.errors.SchemaErrors as err:
                    found.add(pandera_problems(spec, frame, err))
                del frame
                lap("validate")
                if progress and several_chunks:  # of the file's rows, estimated from the bytes read so far
                    done = rows_read + min(start + VALIDATE_CHUNK_ROWS, incoming.num_rows)
                    seen = rows_read + incoming.num_rows
                    progress(done, max(seen, round(seen * stat.st_size / max(bytes_read, 1))))
            rows_read += incoming.num_rows
        if rows_read == 0:
            raise FileRejected("has a header but no data rows")
        if rows_read > VALIDATE_CHUNK_ROWS and spec.key:  # a key repeated across chunks
            found.add(duplicate_key_problems(con, spec))
        found.merge()  # one per (row, column, check): a column problem may be seen per chunk
        if rows_read > VALIDATE_CHUNK_ROWS:
            lap("validate")
        n_problems, whole, n_bad_rows = found.counts()
        if whole:
            raise RowsRejected(f"has {whole} problem(s) with whole columns; nothing of it was loaded", found,
                               n_problems)
        if n_bad_rows > max_rejected_share * rows_read:
            raise RowsRejected(
                f"{n_bad_rows:,} of its {rows_read:,} rows ({n_bad_rows / rows_read:.1%}) fail a check, more "
                f"than the {max_rejected_share:.0%} allowed for {spec.name} (max_rejected_share in "
                "config/sources.yaml); the whole file was refused and nothing of it was loaded", found, n_problems)
        log_row.update(profile=profile_name, encoding=encoding, rows_read=rows_read)
        stored = [c.name for c in spec.stored_columns if c.name in present]
        stored += [f"{c.name}_grain" for c in spec.stored_columns if c.kind == "period" and c.name in present]
        if n_bad_rows:  # out of the temp table first: a filtered INSERT would no longer run in parallel
            con.execute(f"DELETE FROM parsed WHERE _source_row IN "
                        f"(SELECT row_number FROM {FileProblems.TABLE} WHERE row_number IS NOT NULL)")
        modified_local = datetime.fromtimestamp(stat.st_mtime, ZoneInfo(tz)).replace(tzinfo=None)
        exported, basis = export_moment(con, spec, present, file_name, table.date_range, modified_local, tz)
        log_row.update(exported_at=exported, exported_at_basis=basis)
        _refuse_if_changed(path, stat, hashed)  # last, right before the rows are kept
        with transaction(con):
            load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
            con.execute(
                f"INSERT INTO raw.{spec.name} BY NAME SELECT $load_id AS _load_id, $file AS _source_file, "
                f"_source_row, $now AS _loaded_at, {', '.join(stored)} FROM parsed",
                {"load_id": load_id, "file": file_name, "now": now},
            )
            found.insert_into(f"quarantine.{spec.name}", load_id, spec.name, file_name, now)
            for (column, kind), (n, first_rows) in sorted(masked.items()):
                con.execute("INSERT INTO ops.masked_values VALUES ($id, $source, $file, $column, $kind, $n, $rows)",
                            {"id": load_id, "source": spec.name, "file": file_name, "column": column, "kind": kind,
                             "n": n, "rows": first_rows})
            _log(con, **log_row, load_id=load_id, rows_loaded=rows_read - n_bad_rows,
                 rows_quarantined=n_bad_rows, status="loaded", message=None)
        message = ""
        if n_problems:
            message = (f"{label}: {n_bad_rows:,} of {rows_read:,} rows quarantined (quarantine.{spec.name}), "
                       "the rest loaded\n" + describe(label, found.first(MAX_LISTED_PROBLEMS), n_problems))
            _write_problems_csv(problems_dir, spec.name, file_name, found)
        lap("load")
        return FileOutcome(file_name, "loaded", rows_read - n_bad_rows, profile_name, message, n_bad_rows,
                           seconds)
    except csv.Error as exc:  # Python's reader of headers and odd lines: a field over its 128 KiB limit
        reason = ("has a field longer than 128 KiB where a header or a row should be: not an export, or a quote "
                  "never closes" if "field limit" in str(exc) else f"is not well-formed CSV: {exc}")
        return _refuse(con, spec, FileRejected(reason), label, log_row, profile_name, encoding, rows_read, now,
                       problems_dir)
    except UnicodeError as exc:
        return _refuse(con, spec, FileRejected(f"is not in the encoding it starts in ({exc.reason})"), label,
                       log_row, profile_name, encoding, rows_read, now, problems_dir)
    except OSError as exc:  # vanished, unreadable, a disk error: refused like a bad file, nothing written
        return _refuse(con, spec, FileRejected(f"cannot be read: {exc.strerror or exc}"), label, log_row,
                       profile_name, encoding, rows_read, now, problems_dir)
    except FileRejected as rej:
        return _refuse(con, spec, rej, label, log_row, profile_name, encoding, rows_read, now, problems_dir)
    finally:
        try:
            con.execute(f"DROP TABLE IF EXISTS {FileProblems.TABLE}")
        except duckdb.Error:  # never hide what went wrong in the load itself
            pass


def _refuse_if_changed(path: Path, stat: os.stat_result, hashed: tuple[int, int] | None) -> None:
    """A file still being written (a copy, a sync, a download) is read again by the next run, whole."""
    now = path.stat()
    if (now.st_size, now.st_mtime_ns) != (stat.st_size, stat.st_mtime_ns) or (
            hashed is not None and hashed != (stat.st_size, stat.st_mtime_ns)):
        raise FileRejected("changed while it was read (still being copied or written?): the next run loads it "
                           "once it stays unchanged")


def refuse_unreadable(con: duckdb.DuckDBPyConnection, spec: SourceSpec, file_name: str, exc: OSError,
                      run_id: str) -> FileOutcome:
    """A file that cannot even be opened or hashed (no permission, vanished): logged as refused by name."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    log_row = dict(source=spec.name, file_name=file_name, sha256="", size_bytes=None, file_modified_at=None,
                   profile=None, encoding=None, rows_read=0, rows_skipped=None, header_line=None, run_id=run_id,
                   loaded_at=now, exported_at=None, exported_at_basis=None)
    return _refuse(con, spec, FileRejected(f"cannot be read: {exc.strerror or exc}"), file_name, log_row, None, None,
                   0, now, None)


def _refuse(con: duckdb.DuckDBPyConnection, spec: SourceSpec, rej: FileRejected, label: str, log_row: dict,
            profile_name: str | None, encoding: str | None, rows_read: int, now: datetime,
            problems_dir: Path | None) -> FileOutcome:
    """Log a refused file and its problems; nothing of it reaches raw."""
    file_name = log_row["file_name"]
    stored = rej.stored if isinstance(rej, RowsRejected) else None  # its rows' problems; else a problem of the file
    first = stored.first(MAX_LISTED_PROBLEMS) if stored is not None else []
    # The run's log and the problems sheet show the values; the working database (which is published)
    # keeps a refused file's problems without them.
    message = f"{label}: {pii.mask(str(rej))}" + ("\n" + describe(label, first, rej.total) if first else "")
    kept = f"{label}: {pii.mask(str(rej))}" + ("\n" + describe(label, first, rej.total, values=False) if first else "")
    log_row.update(profile=profile_name, encoding=encoding, rows_read=rows_read)
    con.begin()
    load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
    _log(con, **log_row, load_id=load_id, rows_loaded=0, rows_quarantined=0, status="rejected", message=kept)
    if stored is not None:
        stored.insert_into("ops.load_errors", load_id, spec.name, file_name, now, values=False)
    else:
        _insert_problems(con, "ops.load_errors", load_id, spec.name, file_name, [
            {"row_number": None, "record_key": None, "column_name": None, "check_name": "file", "raw_value": None,
             "problem": pii.mask(str(rej))}], now)
    con.commit()
    if stored is not None:
        _write_problems_csv(problems_dir, spec.name, file_name, stored)
    return FileOutcome(file_name, "rejected", 0, profile_name, message)


def _insert_problems(con: duckdb.DuckDBPyConnection, table: str, load_id: int, source: str, file_name: str,
                     problems: list[dict], now: datetime) -> None:
    if not problems:
        return
    frame = pd.DataFrame(problems, columns=PROBLEM_COLUMNS).astype(
        {"row_number": "Int64", **{c: "string" for c in PROBLEM_COLUMNS if c != "row_number"}})
    con.register("problems_frame", frame)
    try:
        con.execute(
            f"INSERT INTO {table} BY NAME SELECT $load_id AS load_id, $source AS source, $file AS file_name, "
            "$now AS recorded_at, * FROM problems_frame",
            {"load_id": load_id, "source": source, "file": file_name, "now": now},
        )
    finally:
        con.unregister("problems_frame")


def _write_problems_csv(problems_dir: Path | None, source: str, file_name: str, problems: FileProblems) -> None:
    """The file's problems as a CSV ops can open in a spreadsheet, beside the warehouse.
    Values come from the export, so formulas in them are neutralised."""
    if problems_dir is None:
        return
    target = problems_dir / source / (file_name.replace("/", "__") + ".problems.csv")
    write_safe_csv(target, PROBLEM_COLUMNS, problems.rows())


def _log(con: duckdb.DuckDBPyConnection, **row) -> None:
    con.execute(
        f"INSERT INTO ops.load_log BY NAME SELECT {', '.join(f'${k} AS {k}' for k in row)}", row)


# A browser's or sync client's file still being written; loaded once it has its own name.
PARTIAL_DOWNLOADS = (".crdownload", ".part", ".partial", ".download", ".opdownload", ".tmp")
COMPRESSED = (".gz", ".zip", ".bz2", ".xz", ".7z", ".tgz")


@dataclass(frozen=True, order=True)
class Skipped:
    """An inbox entry that is not read, and why."""
    path: str  # relative to the inbox
    reason: str


def _skip_reason(path: Path, root: Path) -> str | None:
    """Why an entry of a source folder is not read, or None for an export file to read."""
    name = path.name.lower()
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return "a link whose target does not exist"
        if not target.is_relative_to(root):
            return "a link to a file outside the inbox: only files inside the inbox are read"
    if name.endswith(PARTIAL_DOWNLOADS):
        return "a download still being written: it is loaded once it has its final name"
    if name.endswith(COMPRESSED):
        return "a compressed file: unpack it into this folder"
    if name.endswith((".xlsx", ".xls", ".xlsm")):
        return "an Excel workbook: save it as CSV UTF-8 into this folder"
    if name.startswith((".", "~$")):
        return "a hidden or temporary file"
    if path.suffix.lower() not in EXTENSIONS:
        return "not a .csv, .tsv or .txt file"
    if not path.is_file():
        return "not a regular file"
    return None


def scan_inbox(inbox_dir: Path, source: str) -> tuple[list[Path], list[Skipped]]:
    """The source's export files (by modification time, then name) and every other entry of its folder with
    the reason it is not read. Nothing outside the inbox is read: links leaving it and linked folders are
    not followed."""
    folder = inbox_dir / source
    if not folder.is_dir():
        return [], []
    root = inbox_dir.resolve()

    def relative(p: Path) -> str:
        return p.relative_to(inbox_dir).as_posix()

    if not folder.resolve().is_relative_to(root):
        return [], [Skipped(source, "a link to a folder outside the inbox: only files inside the inbox are read")]
    files: list[Path] = []
    skipped: list[Skipped] = []
    unlisted: list[OSError] = []
    for here, dirs, names in os.walk(folder, onerror=unlisted.append):
        here = Path(here)
        for d in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(d)
            skipped.append(Skipped(relative(here / d), "a link to a folder: links to folders are not followed"))
        for name in names:
            reason = _skip_reason(here / name, root)
            if reason:
                skipped.append(Skipped(relative(here / name), reason))
            else:
                files.append(here / name)
    skipped += [Skipped(relative(Path(e.filename)), f"cannot be listed: {e.strerror}") for e in unlisted]

    def order(p: Path) -> tuple:
        try:
            return p.stat().st_mtime_ns, p.as_posix()
        except OSError:  # vanished or unreadable: its load says so
            return 0, p.as_posix()

    return sorted(files, key=order), sorted(skipped)


def inbox_files(inbox_dir: Path, source: str) -> list[Path]:
    """The source's export files, by modification time, then name (scan_inbox)."""
    return scan_inbox(inbox_dir, source)[0]


def ingest_source(con: duckdb.DuckDBPyConnection, spec: SourceSpec, inbox_dir: Path, profiles: list[Profile],
                  tz: str, run_id: str, log=None, max_rejected_share: float = 0.05,
                  problems_dir: Path | None = None) -> SourceLoad:
    """Prepare the working database for the source and load its new files (load_new_files)."""
    prepare_working_database(con)
    ensure_raw_table(con, spec)
    return load_new_files(con, spec, inbox_dir, profiles, tz, run_id, log, max_rejected_share, problems_dir)


def load_new_files(con: duckdb.DuckDBPyConnection, spec: SourceSpec, inbox_dir: Path, profiles: list[Profile],
                   tz: str, run_id: str, log=None, max_rejected_share: float = 0.05,
                   problems_dir: Path | None = None, large_file: AbstractContextManager | None = None) -> SourceLoad:
    """Load the source's files not loaded yet, oldest first, each in its own transaction
    (load_file). With `large_file`, a file over READ_PIECE_BYTES is loaded holding that lock,
    so that sources loaded side by side hold one large file in memory at a time."""
    rows = con.execute(
        "SELECT sha256, file_name, size_bytes, file_modified_at FROM ops.load_log "
        "WHERE source = $source AND status = 'loaded'", {"source": spec.name}).fetchall()
    loaded = {digest for digest, *_ in rows}
    backfill_export_moments(con, spec, tz)
    # A file still under the name, size and modification time it was loaded with is not read again
    # to hash it (the quick check rsync makes): a nightly run reads only new files.
    seen = {(name, size, modified): digest for digest, name, size, modified in rows}
    files, not_read = scan_inbox(inbox_dir, spec.name)
    result = SourceLoad(not_read=not_read)
    pending = []
    start = time.perf_counter()
    for path in files:
        file_name = path.relative_to(inbox_dir).as_posix()
        try:
            stat = path.stat()
            digest = seen.get((file_name, stat.st_size, modified_at(stat))) or sha256_of(path)
        except OSError as exc:  # unreadable (permissions), or gone: refused by name, the other files load
            result.rejected.append(refuse_unreadable(con, spec, file_name, exc, run_id))
            continue
        if digest in loaded:
            result.skipped += 1
        else:
            pending.append((path, digest, (stat.st_size, stat.st_mtime_ns)))
    result.hash_seconds = time.perf_counter() - start
    for i, (path, digest, hashed) in enumerate(pending, 1):
        file_name = path.relative_to(inbox_dir).as_posix()
        if digest in loaded:  # a copy of a file loaded earlier in this run
            result.skipped += 1
            continue
        prefix = f"[{i}/{len(pending)}] {file_name}"
        # a large file also reports how far its checks have got
        progress = (lambda done, total: log.info(f"{prefix}: {done:,} of {total:,} rows checked")) if log else None
        with (large_file if large_file is not None and hashed[0] > READ_PIECE_BYTES else nullcontext()):
            outcome = load_file(con, spec, path, file_name, digest, profiles, tz, run_id, max_rejected_share,
                                problems_dir, progress, hashed)
        if log:  # "[i/n] <source>/file: ..." is what `funnel run` shows as progress
            log.info(f"{prefix}: {outcome.status}, {outcome.rows:,} rows"
                     + (f", {outcome.quarantined:,} quarantined" if outcome.quarantined else "")
                     + (f"\n{outcome.message}" if outcome.message else ""))
        (result.loaded if outcome.status == "loaded" else result.rejected).append(outcome)
        if outcome.status == "loaded":
            loaded.add(digest)
    return result


def inbox_bytes(inbox_dir: Path, source: str) -> int:
    """Size of the source's inbox files: the largest source is started first."""
    total = 0
    for path in inbox_files(inbox_dir, source):
        try:
            total += path.stat().st_size
        except OSError:  # its load refuses it by name
            pass
    return total


def load_sources(con: duckdb.DuckDBPyConnection, specs: list[SourceSpec], inbox_dir: Path,
                 profiles: list[Profile], tz: str, run_id: str, limits: dict[str, float], log=None,
                 problems_dir: Path | None = None) -> dict[str, SourceLoad]:
    """Load the new files of several sources side by side: a thread and a cursor (its own
    transactions and temp tables) per source, at most one thread per core, the largest source
    first. Each file is still one transaction, and a source's files load in their order; only
    one file larger than READ_PIECE_BYTES is in memory at a time. Log lines from the threads are
    passed to `log` from the calling thread (Dagster's step log)."""
    prepare_working_database(con)
    for spec in specs:  # DDL first, in one thread
        ensure_raw_table(con, spec)
    messages: queue.Queue[str] = queue.Queue()
    relay = SimpleNamespace(info=messages.put)
    large_file = threading.Lock()

    def one(spec: SourceSpec) -> SourceLoad:
        cursor = con.cursor()
        try:
            return load_new_files(cursor, spec, inbox_dir, profiles, tz, run_id, relay if log else None,
                                  limits[spec.name], problems_dir, large_file)
        finally:
            cursor.close()

    ordered = sorted(specs, key=lambda spec: -inbox_bytes(inbox_dir, spec.name))
    with ThreadPoolExecutor(max_workers=max(1, min(len(ordered), os.cpu_count() or 1))) as pool:
        futures = {spec.name: pool.submit(one, spec) for spec in ordered}
        running = set(futures.values())
        while running:  # (waiting on finished futures too would return at once: a busy loop holding the GIL)
            _, running = wait(running, timeout=0.2, return_when=FIRST_COMPLETED)
            while not messages.empty():
                log.info(messages.get())
    return {name: future.result() for name, future in futures.items()}  # a thread's exception is raised here


def freshness(inbox_dir: Path, source: str, max_age_hours: float, check_name: str,
              now: datetime | None = None, optional: bool = False,
              asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    """Fails when the newest export file of the source is older than its maximum age.

    An optional source (touchpoints) with no file at all passes: the marts that need it
    say so themselves."""
    now = now or datetime.now(timezone.utc)
    files = inbox_files(inbox_dir, source)
    if not files and optional:
        return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=True, metadata={
            "max_age_hours": max_age_hours,
            "note": f"Optional source: no export in `{source}/` of the inbox, nothing to check."})
    if not files:
        return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=False, metadata={"max_age_hours": max_age_hours, "problem": dg.MetadataValue.md(
            f"No export file in `{source}/` of the inbox: drop the newest export there.")})
    newest = files[-1]
    modified = datetime.fromtimestamp(newest.stat().st_mtime, tz=timezone.utc)
    age = (now - modified).total_seconds() / 3600
    metadata = {"newest_file": newest.relative_to(inbox_dir).as_posix(), "modified_at": modified.isoformat(),
                "age_hours": round(age, 1), "max_age_hours": max_age_hours}
    if age > max_age_hours:
        metadata["problem"] = dg.MetadataValue.md(
            f"The newest `{source}` export is {age:.0f} hours old (at most {max_age_hours:g} allowed, "
            "config/sources.yaml): check the export job of the tool that feeds it.")
    return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=age <= max_age_hours, metadata=metadata)


def raw_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["raw", spec.name])


def _raw_asset_spec(spec: SourceSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_key(spec),
        group_name="ingest",
        kinds={"duckdb", "pandera", "csv"},
        owners=settings.owners(),
        description=(
            f"{spec.title}: new files of inbox folder `{spec.name}/`, validated with the pandera schema "
            f"`schemas/{spec.name}.py` and appended to raw.{spec.name} with lineage columns. "
            "A file already loaded (same SHA-256) is skipped. Rows failing a check go to "
            f"quarantine.{spec.name} and the rest of the file loads; a file that cannot be read, or whose "
            "failing rows exceed max_rejected_share (config/sources.yaml), is refused whole and fails the load "
            "step with the file, row, column and problem. The sources load side by side in one step (`raw`)."
        ),
    )


def _raw_check_specs(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(f"{spec.name}_no_rows_quarantined", asset=raw_key(spec), description=(
            f"Warns when rows of the {spec.name} files loaded in this run failed a check and went to "
            f"quarantine.{spec.name} instead of raw (counts per file, check and column).")),
        dg.AssetCheckSpec(f"{spec.name}_newest_export_is_fresh", asset=raw_key(spec), description=(
            f"Fails when the newest file of inbox folder `{spec.name}/` is older than max_age_hours "
            "(config/sources.yaml, default 36 hours): the tool's export job stopped."
            + (" The source is optional: an inbox without any of its files passes." if spec.optional else ""))),
        dg.AssetCheckSpec(f"{spec.name}_no_personal_data_in_text", asset=raw_key(spec), description=(
            f"Warns when a {spec.name} file loaded in this run held an e-mail address or a phone number in a column "
            "that must not (a source, a company, a campaign, a stage): it was masked as the file was read and never "
            "stored; the check names the file, column and rows (ops.masked_values).")),
        dg.AssetCheckSpec(f"{spec.name}_snapshot_order_from_data", asset=raw_key(spec), description=(
            f"Warns when file modification times decided which of two {spec.name} files holds the newer version "
            "of the same records: their export moments (a date in the name, a preamble's range, the latest "
            "timestamp in the rows) tie, or one file has none. File times change with copies and downloads: "
            "name the files by export date, or export the records' last-modified time.")),
    ]


def _load_counts(result: SourceLoad) -> dict:
    """What a source's load did, as the run summary of `funnel run` and `funnel bench` read it."""
    return {
        "files_loaded": len(result.loaded),
        "files_rejected": len(result.rejected),
        "files_already_loaded": result.skipped,
        "rows_loaded": sum(o.rows for o in result.loaded),
        "rows_quarantined": sum(o.quarantined for o in result.loaded),
        "entries_not_read": len(result.not_read),
    }


def _not_read_md(result: SourceLoad) -> dg.MetadataValue:
    """The entries of the source's folder that are no export file, and why (`funnel run` prints them)."""
    if not result.not_read:
        return dg.MetadataValue.md("none")
    return dg.MetadataValue.md("| entry | why it was not read |\n|---|---|\n"
                               + "\n".join(f"| {e.path} | {e.reason} |" for e in result.not_read))


def _masked_check(con: duckdb.DuckDBPyConnection, spec: SourceSpec, key: dg.AssetKey, run_id: str
                  ) -> dg.AssetCheckResult:
    rows = con.execute(
        "SELECT m.file_name, m.column_name, m.kind, m.rows_masked, array_to_string(m.first_rows, ', ') "
        "FROM ops.masked_values m JOIN ops.load_log l USING (load_id) WHERE l.run_id = $run AND m.source = $source "
        "ORDER BY 1, 2, 3", {"run": run_id, "source": spec.name}).fetchall()
    table = "\n".join(f"| {f} | {c} | {k} | {n} | {first} |" for f, c, k, n, first in rows)
    return dg.AssetCheckResult(
        asset_key=key, check_name=f"{spec.name}_no_personal_data_in_text", passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_masked": sum(r[3] for r in rows), "masked": dg.MetadataValue.md(
            "| file | column | found | rows | first rows |\n|---|---|---|---|---|\n" + table if rows else "none")})


def _snapshot_order_check(con: duckdb.DuckDBPyConnection, spec: SourceSpec, key: dg.AssetKey) -> dg.AssetCheckResult:
    pairs = ordered_by_file_time(con, spec)
    table = "\n".join(f"| {a} | {b} | {why} |" for a, b, why in pairs)
    return dg.AssetCheckResult(
        asset_key=key, check_name=f"{spec.name}_snapshot_order_from_data", passed=not pairs,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"file_pairs": len(pairs), "ordered_by_file_time": dg.MetadataValue.md(
            "| file | other file | why the file times decided |\n|---|---|---|\n" + table if pairs else "none")})


def _refused_text(spec: SourceSpec, result: SourceLoad, problems_dir: Path) -> str:
    sheets = problems_dir / spec.name
    listed = f"\nEach refused file's problems, one per row, are in {sheets}/." if sheets.is_dir() else ""
    return (f"{len(result.rejected)} {spec.name} file(s) refused; nothing of them was loaded and "
            "the published warehouse keeps its last good data. Fix the file (or export it again) and put it "
            "back in the inbox, or remove it; the next run picks it up.\n"
            + "\n".join(o.message for o in result.rejected) + listed)


@dg.multi_asset(
    name="raw",
    specs=[_raw_asset_spec(spec) for spec in SOURCES.values()],
    check_specs=[check for spec in SOURCES.values() for check in _raw_check_specs(spec)],
    can_subset=True,
    description="Loads the new export files of every inbox source, the sources side by side (load_sources).",
)
def raw_exports(context: dg.AssetExecutionContext, funnel: FunnelResource):
    """One step for all sources so that they load at the same time (a thread and a cursor each): run
    one after another, pandera's checks, the byte scans and Python left a core idle about half of
    the time. The sources that loaded are materialized; then, if a file of any source was refused,
    the step fails naming each refused file (and its source's asset is not materialized)."""
    specs = [spec for spec in SOURCES.values() if raw_key(spec) in context.selected_asset_keys]
    profiles = funnel.load_profiles()
    limits = {spec.name: funnel.load_config().sources.settings(spec.name) for spec in specs}
    inbox = Path(funnel.inbox_dir)
    refused = {}
    with funnel.connect() as con:
        results = load_sources(con, specs, inbox, profiles, funnel.timezone, context.run.run_id,
                               {name: limit.max_rejected_share for name, limit in limits.items()},
                               context.log, funnel.problems_dir)
        for spec in specs:
            result = results[spec.name]
            counts = _load_counts(result)
            if result.rejected:
                refused[spec.name] = {**counts, "seconds": result.seconds(),
                                      "not_read": [[e.path, e.reason] for e in result.not_read]}
                continue
            quarantined = con.execute(
                f"SELECT q.file_name AS file, q.check_name AS \"check\", q.column_name AS \"column\", "
                f"count(*) AS problems, count(DISTINCT q.row_number) AS \"rows\" FROM quarantine.{spec.name} q "
                "JOIN ops.load_log l USING (load_id) WHERE l.run_id = $run GROUP BY ALL ORDER BY ALL",
                {"run": context.run.run_id},
            ).df()
            files_md = "\n".join(f"| {o.file_name} | {o.status} | {o.rows} | {o.quarantined} | {o.profile or ''} |"
                                 for o in result.loaded)
            key = raw_key(spec)
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    **counts,
                    "seconds": dg.MetadataValue.json(result.seconds()),
                    **table_metadata(con, "raw", spec.name),  # row count, column schema, preview
                    "files": dg.MetadataValue.md("| file | status | rows loaded | rows quarantined | profile |\n"
                                                 "|---|---|---|---|---|\n" + files_md)
                    if files_md else dg.MetadataValue.md("no new files"),
                    "not_read": _not_read_md(result),
                },
                check_results=[
                    dg.AssetCheckResult(
                        asset_key=key, check_name=f"{spec.name}_no_rows_quarantined",
                        passed=not counts["rows_quarantined"], severity=dg.AssetCheckSeverity.WARN,
                        metadata={"rows_quarantined": counts["rows_quarantined"],
                                  "files": sum(1 for o in result.loaded if o.quarantined),
                                  "problems": dg.MetadataValue.md(quarantined.to_markdown(index=False)
                                                                  if not quarantined.empty else "none"),
                                  "problem_files": dg.MetadataValue.path(str(funnel.problems_dir / spec.name))}),
                    freshness(inbox, spec.name, limits[spec.name].max_age_hours,
                              f"{spec.name}_newest_export_is_fresh", optional=spec.optional, asset_key=key),
                    _masked_check(con, spec, key, context.run.run_id),
                    _snapshot_order_check(con, spec, key),
                ],
            )
    if refused:
        raise dg.Failure(
            description="\n\n".join(_refused_text(SOURCES[name], results[name], funnel.problems_dir)
                                      for name in refused),
            metadata={"refused_assets": ", ".join(raw_key(SOURCES[name]).to_user_string() for name in refused),
                      "sources": dg.MetadataValue.json(refused)},
        )


INGEST_ASSETS = [raw_exports]
