"""The working database: its preparation, transactions and the helpers every stage writes tables with."""

import hashlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

import dagster as dg
import duckdb

from assets.core import markdown

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
PREPARE_SQL = ("ops_tables.sql", "parse_macros.sql", "metric_macros.sql", "build_state.sql")
PREVIEW_ROWS = 5


def prepare_working_database(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas, ops tables and macros the steps use, unless this database was prepared
    with the same SQL and DuckDB version already (staging.prepared_sql): running the files again in
    every step cost about 0.2 s each."""
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


def named_queries(path: Path) -> dict[str, str]:
    """The queries of a .sql file, each opening with a `-- query: <name>` line (for modules that run a few
    fixed, parameterised queries rather than build tables)."""
    queries: dict[str, str] = {}
    name = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- query:"):
            name = line.removeprefix("-- query:").strip()
            queries[name] = ""
        elif name is not None:
            queries[name] += line + "\n"
    return {name: sql.strip() for name, sql in queries.items()}


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


def rows_select(columns: Sequence[tuple[str, str]], rows: Sequence[Sequence]) -> tuple[str, dict]:
    """A SELECT of `rows` (in column order) as typed (name, type) columns, and its parameters: one list per
    column, unnested side by side (DuckDB zips them, in order). No rows give the typed columns and no row.
    (An Arrow table built from Python values would import pandas: half a second of a run without new files.)"""
    select = ", ".join(f"CAST(unnest($c{i}) AS {type_}) AS {name}" for i, (name, type_) in enumerate(columns))
    return f"SELECT {select}", {f"c{i}": [r[i] for r in rows] for i in range(len(columns))}


def write_table(con: duckdb.DuckDBPyConnection, qualified: str, comment: str,
                columns: Sequence[tuple[str, str, str]], rows: Sequence[Sequence]) -> None:
    """(Re)create table `qualified` from (name, type, comment) columns, with its COMMENTs, and insert
    `rows` (in column order). The caller holds the transaction."""
    con.execute(f"CREATE OR REPLACE TABLE {qualified} ("
                + ", ".join(f"{name} {type_}" for name, type_, _ in columns) + ")")
    con.execute(f"COMMENT ON TABLE {qualified} IS {sql_string(comment)}")
    for name, _, text in columns:
        con.execute(f"COMMENT ON COLUMN {qualified}.{name} IS {sql_string(text)}")
    if rows:
        select, params = rows_select([(name, type_) for name, type_, _ in columns], rows)
        con.execute(f"INSERT INTO {qualified} {select}", params)


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
    return {
        "dagster/row_count": rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, type_, description=comment or None) for name, type_, comment in columns]
        ),
        "preview": dg.MetadataValue.md(markdown.query_table(con, f"SELECT * FROM {schema}.{table} LIMIT {PREVIEW_ROWS}",
                                                          empty="(empty)")),
    }
