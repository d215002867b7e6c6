"""marts -> the published DuckDB file analysts read, replaced in one step.

The new file is written beside the published one under a temporary name and
then renamed over it (an atomic rename on POSIX): a reader with the old file
open keeps reading the old data, a new connection sees the new data, and a run
that fails before this step leaves the published file as it was.
"""

import os
import re
from pathlib import Path

import dagster as dg
import duckdb

from assets.sql_assets import sql_string
from assets.transform import TABLE_KEYS
from assets import pii
from pipelines import settings
from pipelines.resources import FunnelResource

PUBLISHED_SCHEMAS = ("marts", "ops", "quarantine")


def remove_stale_temp_files(published: Path) -> None:
    """Remove the temp files (`.<name>.<run_id>.tmp` and its `.wal`) that publishes of earlier
    runs left when they were killed or failed before their rename. Safe: the caller holds the
    working database open, so no other process can be publishing this warehouse now."""
    pattern = re.compile(rf"\.{re.escape(published.name)}\.[^.]+\.tmp(\.wal)?")
    for path in published.parent.iterdir():
        if pattern.fullmatch(path.name):
            path.unlink(missing_ok=True)


class PersonalDataFound(Exception):
    pass


def personal_data_in(con: duckdb.DuckDBPyConnection, database: str) -> list[tuple[str, int]]:
    """(schema.table.column, values) of every text column of `database` holding something
    that looks like an e-mail address or a phone number (the last guard before publishing)."""
    found = []
    columns = con.execute(
        "SELECT schema_name, table_name, list(column_name ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = $db AND data_type = 'VARCHAR' GROUP BY ALL ORDER BY ALL", {"db": database}).fetchall()
    # One scan of each table counts every text column. Each pattern runs only on the values holding
    # what any match of it holds (CASE evaluates a branch for its rows alone): an @, a separator of
    # pii.PHONE_SEPARATORS. Both patterns on every value was most of the publish's time.
    separator = " OR ".join(f'contains("{{c}}", $sep{i})' for i in range(len(pii.PHONE_SEPARATORS)))
    looks_personal = ('CASE WHEN contains("{c}", \'@\') THEN regexp_matches("{c}", $email) OR '
                      f'regexp_matches("{{c}}", $phone) WHEN {separator} THEN regexp_matches("{{c}}", $phone) '
                      'ELSE false END')
    params = {"email": pii.EMAIL_PATTERN, "phone": pii.PHONE_PATTERN,
              **{f"sep{i}": sep for i, sep in enumerate(pii.PHONE_SEPARATORS)}}
    for schema, table, names in columns:
        counts = con.execute(
            "SELECT " + ", ".join(f"count(*) FILTER (WHERE {looks_personal.format(c=c)})" for c in names)
            + f" FROM {database}.{schema}.{table}", params).fetchone()
        found += [(f"{schema}.{table}.{c}", n) for c, n in zip(names, counts) if n]
    return found


def publish(con: duckdb.DuckDBPyConnection, published: Path, run_id: str) -> dict[str, int]:
    """Copy the published schemas of the working database into a new file, then
    rename it over `published`. Returns row counts per copied table."""
    published.parent.mkdir(parents=True, exist_ok=True)
    tmp = published.with_name(f".{published.name}.{run_id}.tmp")
    remove_stale_temp_files(published)
    tmp.unlink(missing_ok=True)
    tables = con.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables() "
        "WHERE database_name = current_database() AND schema_name IN (SELECT unnest($schemas)) "
        "ORDER BY schema_name, table_name",
        {"schemas": list(PUBLISHED_SCHEMAS)},
    ).fetchall()
    counts = {}
    con.execute(f"ATTACH {sql_string(str(tmp))} AS publish_target")
    try:  # on any failure the temp file goes and the published file stays
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"CREATE SCHEMA publish_target.{schema}")
        for schema, table, comment in tables:
            con.execute(f"CREATE TABLE publish_target.{schema}.{table} AS SELECT * FROM {schema}.{table}")
            if comment:
                con.execute(f"COMMENT ON TABLE publish_target.{schema}.{table} IS {sql_string(comment)}")
            for column, col_comment in con.execute(
                "SELECT column_name, comment FROM duckdb_columns() WHERE database_name = current_database() "
                "AND schema_name = $s AND table_name = $t AND comment IS NOT NULL",
                {"s": schema, "t": table},
            ).fetchall():
                con.execute(
                    f'COMMENT ON COLUMN publish_target.{schema}.{table}."{column}" IS {sql_string(col_comment)}'
                )
            counts[f"{schema}.{table}"] = con.execute(f"SELECT count(*) FROM {schema}.{table}").fetchone()[0]
        found = personal_data_in(con, "publish_target")
        if found:
            raise PersonalDataFound(
                "The warehouse was not published: text columns about to be published hold what looks like personal "
                "data:\n" + "\n".join(f"{where}: {n} value(s) look like an e-mail address or a phone number"
                                       for where, n in found)
                + "\nFind the export column that carries it and leave it out (or mark it pii in schemas/).")
        con.execute("CHECKPOINT publish_target")
    except BaseException:
        con.execute("DETACH publish_target")
        tmp.unlink(missing_ok=True)
        raise
    con.execute("DETACH publish_target")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, published)
    return counts


@dg.asset(
    key=["published", "funnel_duckdb"],
    deps=[key for key in TABLE_KEYS if key.path[0] in PUBLISHED_SCHEMAS],
    group_name="publish",
    kinds={"duckdb"},
    owners=settings.owners(),
    description="The DuckDB file analysts query (FUNNEL_WAREHOUSE_PATH): schemas marts and ops, with every "
    "COMMENT, replaced atomically after all blocking checks of the marts passed.",
)
def published_warehouse(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    published = Path(funnel.warehouse_path)
    with funnel.connect() as con:
        try:
            counts = publish(con, published, context.run.run_id)
        except PersonalDataFound as exc:
            raise dg.Failure(description=str(exc)) from None
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published.resolve())),
            "tables": dg.MetadataValue.json(counts),
            "size_bytes": published.stat().st_size,
        }
    )
