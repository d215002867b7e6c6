"""Tables of the transform step (staging models and marts): their assets, SQL and checks."""

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

import dagster as dg
import duckdb
import pyarrow as pa

from assets.core import settings
from assets.core.resource import FunnelResource

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
PREVIEW_ROWS = 5


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """The block in one transaction: committed at its end, rolled back (and the error raised) if it fails.
    When DuckDB has ended the transaction itself (a full disk), the error is what happened, not that the
    rollback found no transaction."""
    con.begin()
    try:
        yield con
        con.commit()
    except BaseException:
        try:
            con.rollback()
        except duckdb.Error:
            pass
        raise


def sql_string(text: str) -> str:
    """A string literal for the places DuckDB takes no parameter (COMMENT ON, ATTACH): our own
    constant text and paths, never data; quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


# Python values of a column of write_table as Arrow takes them (HUGEINTs come as text).
ARROW_TYPES = {"VARCHAR": pa.string(), "DATE": pa.date32(), "DOUBLE": pa.float64(), "INTEGER": pa.int64(),
               "BIGINT": pa.int64(), "HUGEINT": pa.string()}


def _arrow_type(sql_type: str) -> pa.DataType:
    decimal = re.fullmatch(r"DECIMAL\((\d+), ?(\d+)\)", sql_type)
    return pa.decimal128(int(decimal[1]), int(decimal[2])) if decimal else ARROW_TYPES[sql_type]


def write_table(con: duckdb.DuckDBPyConnection, qualified: str, comment: str,
                columns: Sequence[tuple[str, str, str]], rows: Sequence[Sequence]) -> None:
    """(Re)create table `qualified` from (name, type, comment) columns, with its COMMENTs, and insert
    `rows` (in column order), handed to DuckDB as an Arrow table (a parameterised INSERT per row
    cost marts.target_plan 0.4 s). The caller holds the transaction."""
    con.execute(f"CREATE OR REPLACE TABLE {qualified} ("
                + ", ".join(f"{name} {type_}" for name, type_, _ in columns) + ")")
    con.execute(f"COMMENT ON TABLE {qualified} IS {sql_string(comment)}")
    for name, _, text in columns:
        con.execute(f"COMMENT ON COLUMN {qualified}.{name} IS {sql_string(text)}")
    if rows:
        values = pa.table([pa.array([r[i] for r in rows], _arrow_type(type_))
                           for i, (_, type_, _) in enumerate(columns)], names=[name for name, _, _ in columns])
        con.register("write_table_rows", values)
        try:
            con.execute(f"INSERT INTO {qualified} SELECT "
                        + ", ".join(f"CAST({name} AS {type_})" for name, type_, _ in columns) + " FROM write_table_rows")
        finally:
            con.unregister("write_table_rows")


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, fingerprint: str | None = None) -> None:
    """The file's statements in one transaction: its table appears with its COMMENTs or not at all,
    and one commit instead of one per statement (18 marts: 1.22 -> 1.06 s). With `fingerprint`
    (input_fingerprint), the tables it creates are recorded as built from it in the same transaction."""
    sql = path.read_text(encoding="utf-8")
    with transaction(con):
        con.execute(sql)
        for table in tables_of(con, sql)[0] if fingerprint else ():
            save_build_state(con, table, fingerprint, None, fingerprint)


def save_build_state(con: duckdb.DuckDBPyConnection, table: str, fingerprint: str, load_id: int | None,
                     version: str | None) -> None:
    """The staging.build_state row of `table` (or of the value mappings: table `mappings`)."""
    con.execute("INSERT OR REPLACE INTO staging.build_state (model, fingerprint, load_id, version) "
                "VALUES ($m, $f, $l, $v)", {"m": table, "f": fingerprint, "l": load_id, "v": version})


def forget_build(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop `table`'s build state, so that the next run builds it again in full (its checks failed)."""
    try:
        con.execute("DELETE FROM staging.build_state WHERE model = $m", {"m": table})
    except duckdb.CatalogException:  # no build state at all: nothing to forget
        pass


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, table = qualified.split(".")
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
                       "AND schema_name = $s AND table_name = $t", {"s": schema, "t": table}).fetchone()[0] > 0


def table_metadata(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict:
    """Row count, column schema (with comments) and a markdown preview of a table."""
    rows = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
    columns = con.execute(
        "SELECT column_name, data_type, coalesce(comment, '') FROM duckdb_columns() "
        "WHERE schema_name = $s AND table_name = $t ORDER BY column_index",
        {"s": schema, "t": table},
    ).fetchall()
    preview = con.execute(f"SELECT * FROM {schema}.{table} LIMIT {PREVIEW_ROWS}").df()
    return {
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, type_, description=comment or None) for name, type_, comment in columns]
        ),
        "preview": dg.MetadataValue.md(preview.to_markdown(index=False) if rows else "(empty)"),
    }


@dataclass(frozen=True)
class StepCheck:
    """An asset check evaluated right after its table is written, in the transform step (a check
    step of its own cost the nightly run about 75 ms of Dagster's overhead per check). A failed
    blocking check is recorded with the table's materialization; nothing that reads the table is
    built, and the step fails (assets/transform.py)."""

    name: str
    description: str
    evaluate: Callable[[duckdb.DuckDBPyConnection, dg.AssetExecutionContext, FunnelResource], dg.AssetCheckResult]
    blocking: bool = True

    def spec(self, key: dg.AssetKey) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(self.name, asset=key, description=self.description, blocking=self.blocking)


def check_results(con: duckdb.DuckDBPyConnection, context: dg.AssetExecutionContext, funnel: FunnelResource,
                  key: dg.AssetKey, checks: Sequence[StepCheck]) -> Iterator[dg.AssetCheckResult]:
    """Evaluate `checks` of asset `key` in order, each result named after its check."""
    for check in checks:
        result = check.evaluate(con, context, funnel)
        yield dg.AssetCheckResult(asset_key=key, check_name=check.name, passed=result.passed,
                                  severity=result.severity, metadata=result.metadata, description=result.description)


@dataclass(frozen=True)
class TableAsset:
    """One table of the `transform` step (assets/transform.py): its asset, the function that writes
    the table and returns the materialization's metadata, and the checks evaluated right after."""

    spec: dg.AssetSpec
    build: Callable[[duckdb.DuckDBPyConnection, FunnelResource], dict]
    checks: Sequence[StepCheck] = ()

    @property
    def key(self) -> dg.AssetKey:
        return self.spec.key


def table_spec(key: dg.AssetKey, deps: Sequence[dg.AssetKey | Sequence[str]], group: str, description: str,
               kinds: set[str]) -> dg.AssetSpec:
    """A table's asset. Skippable: a table whose upstream failed a blocking check is not built, and
    Dagster must then neither record it nor run what reads it."""
    return dg.AssetSpec(
        key=key,
        deps=[d if isinstance(d, dg.AssetKey) else dg.AssetKey(list(d)) for d in deps],
        group_name=group,
        kinds=kinds,
        owners=settings.owners(),
        description=description,
        skippable=True,
    )


# A table of the working database named in SQL, one a statement creates, one it drops: what
# tables_of() finds in our own SQL files, with comments and string literals removed first.
TABLE_NAME = re.compile(r"\b((?:raw|staging|marts|ops)\.[a-z_][a-z0-9_]*)\b", re.IGNORECASE)
CREATED = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                     r"((?:raw|staging|marts|ops)\.[a-z_][a-z0-9_]*)\b", re.IGNORECASE)
DROPPED = re.compile(r"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?((?:raw|staging|marts|ops)\.[a-z_][a-z0-9_]*)\b",
                     re.IGNORECASE)


def tables_of(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[str]]:
    """(tables the SQL leaves created, tables it reads that it does not create), each sorted;
    COMMENT statements left out."""
    statements = [s.query for s in con.extract_statements(sql) if not s.query.lstrip().upper().startswith("COMMENT")]
    text = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", "\n".join(statements)))
    created = {name.lower() for name in CREATED.findall(text)}
    dropped = {name.lower() for name in DROPPED.findall(text)}
    return sorted(created - dropped), sorted({name.lower() for name in TABLE_NAME.findall(text)} - created)


# The loaded files (name, SHA-256, file time; loads logged as loaded) of one source, or of every
# source for ops.load_log: raw holds exactly their rows, so they say what it holds without naming
# the load ids (the same files loaded by other runs give the same version).
LOADED_FILES = ("SELECT sha256(coalesce(string_agg(concat_ws(':', source, file_name, sha256, file_modified_at), "
                "'|' ORDER BY source, file_name, sha256), '')) FROM ops.load_log "
                "WHERE status = 'loaded' AND (source = $s OR $s IS NULL)")


def version_of(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """What `table` holds, as a text that changes when its rows may have: raw.<source> and
    ops.load_log by the files loaded (LOADED_FILES), a table of the transform step by its
    staging.build_state version, any other (the mapping and target tables, a few rows each) by a
    hash of its rows."""
    if table.startswith("raw.") or table == "ops.load_log":
        source = table.removeprefix("raw.") if table.startswith("raw.") else None
        return "files " + con.execute(LOADED_FILES, {"s": source}).fetchone()[0]
    row = con.execute("SELECT version FROM staging.build_state WHERE model = $m AND version IS NOT NULL",
                      {"m": table}).fetchone()
    if row:
        return row[0]
    try:
        return "rows {} {}".format(*con.execute(f"SELECT count(*), sum(hash(t)) FROM {table} AS t").fetchone())
    except duckdb.CatalogException:
        return "missing"


def versions_digest(con: duckdb.DuckDBPyConnection, seed: str, reads: Iterable[str]) -> str:
    """SHA-256 of `seed` and the version of each table read."""
    h = hashlib.sha256(seed.encode())
    for table in sorted(reads):
        h.update(f"\0{table}={version_of(con, table)}".encode())
    return h.hexdigest()


def input_fingerprint(con: duckdb.DuckDBPyConnection, sql: str, reads: Sequence[str]) -> str:
    """SHA-256 of the SQL, the macros (staging.prepared_sql) and the versions of the tables it reads."""
    macros = con.execute("SELECT fingerprint FROM staging.prepared_sql").fetchone()[0]
    if any(t.startswith("raw.") for t in reads):  # ops.load_log is read for the loads of those raw rows,
        reads = [t for t in reads if t != "ops.load_log"]  # which their version (the loaded files) covers
    return versions_digest(con, f"{sql}\0{macros}", reads)


def _up_to_date(con: duckdb.DuckDBPyConnection, tables: Sequence[str], fingerprint: str) -> bool:
    """Whether every table exists and was last built from this fingerprint."""
    return all(table_exists(con, table) and con.execute(
        "SELECT fingerprint FROM staging.build_state WHERE model = $m", {"m": table}).fetchone() == (fingerprint,)
               for table in tables)


def sql_table(
    schema: str,
    table: str,
    sql_file: str,
    deps: Sequence[dg.AssetKey | Sequence[str]],
    group: str,
    description: str,
    checks: Sequence[StepCheck] = (),
) -> TableAsset:
    """A table whose whole body is one SQL file. It is not built again while the SQL, the macros
    and the tables it reads are as they were at its last build (input_fingerprint, recorded in
    staging.build_state in the build's transaction): a run without new loads rebuilds nothing."""
    path = SQL_DIR / sql_file

    def build(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
        sql = path.read_text(encoding="utf-8")
        created, reads = tables_of(con, sql)
        fingerprint = input_fingerprint(con, sql, reads)
        if _up_to_date(con, created, fingerprint):
            return {**table_metadata(con, schema, table), "build": "unchanged",
                    "build_reason": "its SQL, the macros and the tables it reads are as at its last build"}
        run_sql_file(con, path, fingerprint)
        return {**table_metadata(con, schema, table), "build": "full",
                "build_reason": "its SQL, the macros or a table it reads changed"}

    key = dg.AssetKey([schema, table])
    return TableAsset(table_spec(key, deps, group, description + f"\n\nSQL: `assets/sql/{sql_file}`",
                                 {"duckdb", "sql"}), build, tuple(checks))
