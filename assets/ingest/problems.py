"""The problems of a file being loaded: pandera's failure cases as rows (file row, record key, column,
check, value, problem in words), kept in a DuckDB temp table while the file is read, then written to
quarantine.<source> or ops.load_errors and to a problems sheet beside the warehouse."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from assets.core import pii
from assets.ingest.csv_tables import FileRejected, write_safe_csv
from schemas.spec import KIND_PROBLEM, MAX_TEXT_LENGTH, NUMBER_MARKS_PROBLEM, SourceSpec

if TYPE_CHECKING:  # pandera and pandas are imported by a run that reads a file, not by every run
    import pandera.polars as pa

MAX_LISTED_PROBLEMS = 20


PROBLEM_COLUMNS = ["row_number", "record_key", "column_name", "check_name", "raw_value", "problem"]
PROBLEM_SCHEMA = {"row_number": pl.Int64, **{c: pl.String for c in PROBLEM_COLUMNS[1:]}}


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


def insert_problems(con: duckdb.DuckDBPyConnection, table: str, load_id: int, source: str, file_name: str,
                     problems: list[dict], now: datetime) -> None:
    if not problems:
        return
    import pandas as pd

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


def write_problems_csv(problems_dir: Path | None, source: str, file_name: str, problems: FileProblems) -> None:
    """The file's problems as a CSV ops can open in a spreadsheet, beside the warehouse.
    Values come from the export, so formulas in them are neutralised."""
    if problems_dir is None:
        return
    target = problems_dir / source / (file_name.replace("/", "__") + ".problems.csv")
    write_safe_csv(target, PROBLEM_COLUMNS, problems.rows())
