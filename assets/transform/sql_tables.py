"""A table whose whole body is one SQL file, built again only when something it reads changed."""

from pathlib import Path
from typing import Sequence

import dagster as dg
import duckdb

from assets.core.build_state import input_fingerprint, save_build_state, up_to_date
from assets.core.database import SQL_DIR, table_metadata, transaction
from assets.core.models import SqlModel
from assets.core.resource import FunnelResource
from assets.core.step import StepCheck, TableAsset, table_spec


def run_sql_file(con: duckdb.DuckDBPyConnection, path: Path, tables: Sequence[str] = (),
                 fingerprint: str | None = None) -> None:
    """The file's statements in one transaction: its tables appear with their COMMENTs or not at all. With
    `fingerprint` (input_fingerprint), `tables` are recorded as built from it in the same transaction."""
    sql = path.read_text(encoding="utf-8")
    with transaction(con):
        con.execute(sql)
        for table in tables if fingerprint else ():
            save_build_state(con, table, fingerprint, None, fingerprint)


def sql_table(model: SqlModel, deps: Sequence[dg.AssetKey], group: str, checks: Sequence[StepCheck] = ()
              ) -> TableAsset:
    """The model's table. It is not built again while the SQL, the macros and the tables it reads are as
    they were at its last build (input_fingerprint, recorded in staging.build_state in the build's
    transaction): a run without new loads rebuilds nothing."""
    schema, table = model.table.split(".")

    def build(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
        fingerprint = input_fingerprint(con, model.sql, model.reads)
        if up_to_date(con, model.creates, fingerprint):
            return {**table_metadata(con, schema, table), "build": "unchanged",
                    "build_reason": "its SQL, the macros and the tables it reads are as at its last build"}
        run_sql_file(con, SQL_DIR / model.file, model.creates, fingerprint)
        return {**table_metadata(con, schema, table), "build": "full",
                "build_reason": "its SQL, the macros or a table it reads changed"}

    spec = table_spec(model.key, deps, group, model.description + f"\n\nSQL: `assets/sql/{model.file}`",
                      {"duckdb", "sql"})
    return TableAsset(spec, build, tuple(checks))
