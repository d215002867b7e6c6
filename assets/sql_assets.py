"""Tables of the transform step (staging models and marts): their assets, SQL and checks."""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import dagster as dg
import duckdb

from pipelines import settings
from pipelines.resources import FunnelResource

SQL_DIR = Path(__file__).parent / "sql"
PREVIEW_ROWS = 5


def sql_string(text: str) -> str:
    """A string literal for the places DuckDB takes no parameter (COMMENT ON, ATTACH): our own
    constant text and paths, never data; quotes doubled."""
    return "'" + text.replace("'", "''") + "'"


def write_table(con: duckdb.DuckDBPyConnection, qualified: str, comment: str,
                columns: Sequence[tuple[str, str, str]], rows: Sequence[Sequence]) -> None:
    """(Re)create table `qualified` from (name, type, comment) columns, with its COMMENTs, and insert
    `rows` (in column order) as parameters. The caller holds the transaction."""
    con.execute(f"CREATE OR REPLACE TABLE {qualified} ("
                + ", ".join(f"{name} {type_}" for name, type_, _ in columns) + ")")
    con.execute(f"COMMENT ON TABLE {qualified} IS {sql_string(comment)}")
    for name, _, text in columns:
        con.execute(f"COMMENT ON COLUMN {qualified}.{name} IS {sql_string(text)}")
    if rows:
        values = ", ".join(f"CAST(? AS {type_})" for _, type_, _ in columns)
        con.executemany(f"INSERT INTO {qualified} VALUES ({values})", [list(r) for r in rows])


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    con.execute(path.read_text(encoding="utf-8"))


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


def sql_table(
    schema: str,
    table: str,
    sql_file: str,
    deps: Sequence[dg.AssetKey | Sequence[str]],
    group: str,
    description: str,
    checks: Sequence[StepCheck] = (),
) -> TableAsset:
    """A table whose whole body is one SQL file."""
    path = SQL_DIR / sql_file

    def build(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
        run_sql_file(con, path)
        return table_metadata(con, schema, table)

    key = dg.AssetKey([schema, table])
    return TableAsset(table_spec(key, deps, group, description + f"\n\nSQL: `assets/sql/{sql_file}`",
                                 {"duckdb", "sql"}), build, tuple(checks))
