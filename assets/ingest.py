"""Inbox -> raw: one asset per source reads every new export file of its folder,
validates it with the source's pandera schema and appends it to `raw.<source>`.

Each file is loaded in one DuckDB transaction together with its `ops.load_log`
row, so a file is either wholly in raw or not at all. Raw keeps every version of
every record (one per snapshot file); staging picks the newest.
"""


import codecs
import csv
import hashlib
import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.csv as pacsv

from pipelines.resources import FunnelResource
from schemas import SOURCES
from schemas.profiles import Profile, choose_profile
from schemas.spec import KIND_PROBLEM, KIND_TYPES, PARSED_KINDS, SourceSpec

SQL_DIR = Path(__file__).parent / "sql"
EXTENSIONS = {".csv", ".tsv", ".txt"}
MAX_LISTED_PROBLEMS = 20


class FileRejected(Exception):
    """A whole file cannot be loaded; nothing of it is written."""

    def __init__(self, message: str, problems: list[dict] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class FileOutcome:
    file_name: str
    status: str  # loaded, rejected
    rows: int = 0
    profile: str | None = None
    message: str = ""


@dataclass
class SourceLoad:
    loaded: list[FileOutcome] = field(default_factory=list)
    rejected: list[FileOutcome] = field(default_factory=list)
    skipped: int = 0


def prepare_working_database(con: duckdb.DuckDBPyConnection) -> None:
    con.execute((SQL_DIR / "ops_tables.sql").read_text(encoding="utf-8"))
    con.execute((SQL_DIR / "parse_macros.sql").read_text(encoding="utf-8"))
    con.execute((SQL_DIR / "metric_macros.sql").read_text(encoding="utf-8"))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or CP932 (Shift_JIS as Excel
    writes it), decided for the whole file; anything else is refused."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileRejected("is binary or in an unknown encoding (NUL bytes without a UTF-16 byte order mark)")
    for encoding in ("utf-8", "cp932"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    if b"\x00" in block:
                        raise FileRejected("is binary (contains NUL bytes), not a CSV export")
                    decoder.decode(block)
                decoder.decode(b"", final=True)
            return encoding
        except UnicodeDecodeError:
            continue
    raise FileRejected("is in an unknown encoding: neither UTF-8, UTF-16 with BOM nor CP932/Shift_JIS")


def read_header(path: Path, encoding: str) -> tuple[str, list[str]]:
    """(delimiter, header names) of the first line."""
    with path.open(encoding=encoding, newline="") as f:
        first = f.readline()
    if not first.strip():
        raise FileRejected("is empty (no header line)")
    delimiter = "\t" if path.suffix.lower() == ".tsv" or first.count("\t") > first.count(",") else ","
    headers = next(csv.reader(io.StringIO(first), delimiter=delimiter))
    return delimiter, [h.strip() for h in headers]


def read_rows(path: Path, encoding: str, delimiter: str, n_headers: int, mapping: dict[int, str]) -> pa_arrow.Table:
    """Every data row as text, mapped columns only, plus its 1-based `_source_row`."""
    names = [mapping.get(i, f"_unused_{i}") for i in range(n_headers)]
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=encoding, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa_arrow.string() for n in names},
                include_columns=list(mapping.values()),
                strings_can_be_null=True,
                null_values=[""],
                quoted_strings_can_be_null=True,
            ),
        )
    except pa_arrow.ArrowInvalid as exc:
        raise FileRejected(f"is not well-formed CSV: {exc}") from exc
    return table.append_column("_source_row", pa_arrow.array(range(1, table.num_rows + 1), pa_arrow.int64()))


def parse_sql(spec: SourceSpec, present: list[str]) -> str:
    """SELECT over the text frame `incoming` giving typed columns and their raw text.
    Column names come from the source spec, never from the file; $tz is bound."""
    parsers = {
        "text": "clean_text({c})",
        "timestamp": "parse_timestamp({c}, $tz)",
        "date": "parse_date({c}, $tz)",
        "period": "parse_period({c}, $tz)",
        "money": "parse_money({c})",
        "count": "parse_count({c})",
        "number": "parse_number({c})",
    }
    exprs = ["_source_row"]
    for col in spec.columns:
        if col.name not in present:
            continue
        exprs.append(f"CAST({parsers[col.kind].format(c=col.name)} AS {KIND_TYPES[col.kind]}) AS {col.name}")
        if col.kind in PARSED_KINDS:
            exprs.append(f"clean_text({col.name}) AS {col.name}__raw")
        if col.kind == "period":
            exprs.append(f"parse_period_grain({col.name}, $tz) AS {col.name}_grain")
    return "SELECT " + ", ".join(exprs) + " FROM incoming"


def pandera_problems(spec: SourceSpec, frame: pd.DataFrame, err: pa.errors.SchemaErrors) -> list[dict]:
    """One dict per (row, column, check) from pandera's failure cases."""
    fc = err.failure_cases
    problems: dict[tuple, dict] = {}
    for case in fc.itertuples(index=False):
        check = str(case.check)
        column = case.column
        idx = case.index
        if check == "unique_key":
            column = ",".join(spec.key)
        elif ":" in check:  # a frame-level check named "<rule>:<column>" is about that column
            column = check.split(":", 1)[1]
        row = None if idx is None or pd.isna(idx) else int(frame.at[idx, "_source_row"])
        if check == "not_nullable" and row is not None and f"{column}__raw" in frame.columns \
                and pd.notna(frame.at[idx, f"{column}__raw"]):
            continue  # there was a value; the parseable check reports it
        if row is not None and f"{column}__raw" in frame.columns:
            value = frame.at[idx, f"{column}__raw"]
        elif row is not None and column in frame.columns:
            value = frame.at[idx, column]
        else:
            value = case.failure_case
        problems.setdefault((row, column, check), {
            "row_number": row,
            "column_name": column,
            "check_name": check,
            "raw_value": None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)[:200],
            "problem": _problem_text(spec, column, check),
        })
    return sorted(problems.values(), key=lambda p: (p["row_number"] or 0, p["column_name"] or ""))


def _problem_text(spec: SourceSpec, column: str | None, check: str) -> str:
    if check.startswith("parseable:"):
        return KIND_PROBLEM[spec.column(column).kind]
    if check == "field_uniqueness" or check == "unique_key":
        return f"duplicate key {column}: the same record appears twice in one file"
    if check == "not_nullable":
        return "is empty but required"
    if check == "non_negative":
        return "is negative"
    if check == "not_before_2000":
        return "is before 2000-01-01"
    if check == "not_above_sessions:engaged_sessions":
        return "engaged_sessions is greater than sessions"
    if check.startswith("dtype"):
        return f"has the wrong type ({check})"
    if check == "column_in_dataframe":
        return "required column is missing"
    return check.replace("_", " ")


def describe(file_name: str, problems: list[dict]) -> str:
    lines = []
    for p in problems[:MAX_LISTED_PROBLEMS]:
        where = f"row {p['row_number']}" if p["row_number"] is not None else "all rows"
        value = f" (value {p['raw_value']!r})" if p["raw_value"] is not None else ""
        lines.append(f"{file_name}: {where}, column {p['column_name']}: {p['problem']}{value}")
    if len(problems) > MAX_LISTED_PROBLEMS:
        lines.append(f"{file_name}: ... and {len(problems) - MAX_LISTED_PROBLEMS} more problems (see ops.load_errors)")
    return "\n".join(lines)


def ensure_raw_table(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> None:
    con.execute(
        f"CREATE TABLE IF NOT EXISTS raw.{spec.name} (_load_id BIGINT NOT NULL, _source_file VARCHAR NOT NULL, "
        "_source_row BIGINT NOT NULL, _loaded_at TIMESTAMP NOT NULL)"
    )
    con.execute(f"COMMENT ON TABLE raw.{spec.name} IS '{spec.title}: every row of every loaded file, one version per snapshot.'")
    for col in spec.stored_columns:
        con.execute(f"ALTER TABLE raw.{spec.name} ADD COLUMN IF NOT EXISTS {col.name} {KIND_TYPES[col.kind]}")
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
) -> FileOutcome:
    stat = path.stat()
    modified = datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc).replace(tzinfo=None)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    encoding = profile_name = None
    rows_read = 0
    problems: list[dict] = []
    try:
        if stat.st_size == 0:
            raise FileRejected("is empty (0 bytes)")
        encoding = detect_encoding(path)
        delimiter, headers = read_header(path, encoding)
        profile, why = choose_profile(profiles, spec.name, headers)
        if profile is None:
            raise FileRejected(why)
        profile_name = profile.name
        mapping = profile.header_map(spec.name, headers)
        incoming = read_rows(path, encoding, delimiter, len(headers), mapping)
        rows_read = incoming.num_rows
        if rows_read == 0:
            raise FileRejected("has a header but no data rows")
        con.register("incoming", incoming)
        try:
            select = parse_sql(spec, list(mapping.values()))
            con.execute("CREATE OR REPLACE TEMP TABLE parsed AS " + select, {"tz": tz} if "$tz" in select else None)
        finally:
            con.unregister("incoming")
        frame = con.sql("SELECT * FROM parsed").df()
        try:
            spec.pandera_schema(set(mapping.values())).validate(frame, lazy=True)
        except pa.errors.SchemaErrors as err:
            problems = pandera_problems(spec, frame, err)
            raise FileRejected(f"has {len(problems)} invalid value(s)", problems) from None
        stored = [c.name for c in spec.stored_columns if c.name in mapping.values()]
        stored += [f"{c.name}_grain" for c in spec.stored_columns if c.kind == "period" and c.name in mapping.values()]
        con.begin()
        try:
            load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
            con.execute(
                f"INSERT INTO raw.{spec.name} BY NAME SELECT $load_id AS _load_id, $file AS _source_file, "
                f"_source_row, $now AS _loaded_at, {', '.join(stored)} FROM parsed",
                {"load_id": load_id, "file": file_name, "now": now},
            )
            _log(con, load_id, spec, file_name, digest, stat.st_size, modified, profile_name, encoding,
                 rows_read, rows_read, "loaded", None, run_id, now)
            con.commit()
        except BaseException:
            con.rollback()
            raise
        return FileOutcome(file_name, "loaded", rows_read, profile_name)
    except FileRejected as rej:
        message = describe(file_name, rej.problems) if rej.problems else f"{file_name}: {rej}"
        con.begin()
        load_id = con.execute("SELECT nextval('ops.load_id_seq')").fetchone()[0]
        _log(con, load_id, spec, file_name, digest, stat.st_size, modified, profile_name, encoding,
             rows_read, 0, "rejected", message, run_id, now)
        for p in rej.problems or [{"row_number": None, "column_name": None, "check_name": "file",
                                   "raw_value": None, "problem": str(rej)}]:
            con.execute(
                "INSERT INTO ops.load_errors VALUES ($load_id, $source, $file, $row_number, $column_name, "
                "$check_name, $raw_value, $problem)",
                {"load_id": load_id, "source": spec.name, "file": file_name, **p},
            )
        con.commit()
        return FileOutcome(file_name, "rejected", rows_read, profile_name, message)


def _log(con, load_id, spec, file_name, digest, size, modified, profile, encoding, rows_read, rows_loaded,
         status, message, run_id, now) -> None:
    con.execute(
        "INSERT INTO ops.load_log VALUES ($load_id, $source, $file, $sha, $size, $modified, $profile, $encoding, "
        "$rows_read, $rows_loaded, $status, $message, $run_id, $now)",
        {"load_id": load_id, "source": spec.name, "file": file_name, "sha": digest, "size": size,
         "modified": modified, "profile": profile, "encoding": encoding, "rows_read": rows_read,
         "rows_loaded": rows_loaded, "status": status, "message": message, "run_id": run_id, "now": now},
    )


def inbox_files(inbox_dir: Path, source: str) -> list[Path]:
    """The source's export files, oldest snapshot first (modification time, then name)."""
    folder = inbox_dir / source
    if not folder.is_dir():
        return []
    files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.as_posix()))


def ingest_source(con: duckdb.DuckDBPyConnection, spec: SourceSpec, inbox_dir: Path, profiles: list[Profile],
                  tz: str, run_id: str, log=None) -> SourceLoad:
    prepare_working_database(con)
    ensure_raw_table(con, spec)
    loaded = {
        row[0]
        for row in con.execute(
            "SELECT sha256 FROM ops.load_log WHERE source = $source AND status = 'loaded'", {"source": spec.name}
        ).fetchall()
    }
    result = SourceLoad()
    for path in inbox_files(inbox_dir, spec.name):
        file_name = path.relative_to(inbox_dir).as_posix()
        digest = sha256_of(path)
        if digest in loaded:
            result.skipped += 1
            continue
        outcome = load_file(con, spec, path, file_name, digest, profiles, tz, run_id)
        if log:
            log.info(f"{file_name}: {outcome.status}, {outcome.rows} rows" + (f"\n{outcome.message}" if outcome.message else ""))
        (result.loaded if outcome.status == "loaded" else result.rejected).append(outcome)
        if outcome.status == "loaded":
            loaded.add(digest)
    return result


def build_ingest_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", spec.name],
        group_name="ingest",
        kinds={"duckdb", "pandera", "csv"},
        owners=["team:funnel-ops"],
        description=(
            f"{spec.title}: new files of inbox folder `{spec.name}/`, validated with the pandera schema "
            f"`schemas/{spec.name}.py` and appended to raw.{spec.name} with lineage columns. "
            "A file already loaded (same SHA-256) is skipped; a file with any invalid value is rejected whole "
            "and fails this asset with the file, row, column and problem."
        ),
    )
    def _ingest(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
        profiles = funnel.load_profiles()
        with funnel.connect() as con:
            result = ingest_source(con, spec, Path(funnel.inbox_dir), profiles, funnel.timezone, context.run_id,
                                   context.log)
            total = con.execute(f"SELECT count(*) FROM raw.{spec.name}").fetchone()[0]
        files_md = "\n".join(
            f"| {o.file_name} | {o.status} | {o.rows} | {o.profile or ''} |" for o in result.loaded + result.rejected
        )
        metadata = {
            "files_loaded": len(result.loaded),
            "files_rejected": len(result.rejected),
            "files_already_loaded": result.skipped,
            "rows_loaded": sum(o.rows for o in result.loaded),
            "dagster/row_count": total,
            "files": dg.MetadataValue.md("| file | status | rows | profile |\n|---|---|---|---|\n" + files_md)
            if files_md else dg.MetadataValue.md("no new files"),
        }
        if result.rejected:
            raise dg.Failure(
                description=f"{len(result.rejected)} {spec.name} file(s) rejected; nothing of them was loaded. "
                "Fix or remove them in the inbox and re-run.\n" + "\n".join(o.message for o in result.rejected),
                metadata=metadata,
            )
        return dg.MaterializeResult(metadata=metadata)

    return _ingest


INGEST_ASSETS = [build_ingest_asset(spec) for spec in SOURCES.values()]
