"""marts -> the published DuckDB file analysts read, replaced in one step.

The new file is written beside the published one under a temporary name and
then renamed over it (an atomic rename on POSIX): a reader with the old file
open keeps reading the old data, a new connection sees the new data, and a run
that fails before this step leaves the published file as it was.

The new file starts as a copy of the published one when that is the file this
working database published last (staging.publish_state: same size and
modification time, written under the same rules: schemas published, personal-data
patterns). Then only what changed is written (issue 7: the nightly run copied and
scanned 1.2 million rows of stage_history that a day of exports barely touches):
- a table kept up to date by assets/transform/incremental.py (marts.stage_history) gets the
  rows of the records that the loads since that publish touched, deleted and
  inserted again, when its fingerprint is the one it was published with;
- any other table with the same columns, types and comments gets all its rows
  replaced (its COMMENTs stay);
- a new table, or one whose columns or comments changed, is written from nothing.
Without such a file, every table is written from nothing. Either way the new file
holds the same tables, rows and comments, and every row written is scanned for
personal data (rows copied unchanged were scanned when they were published).

Every publish also writes the schema compat anew: one view per mart renamed in
issue 23, its columns under their old names (assets/core/names.py), until the
release that drops them.
"""

import hashlib
import os
import re
import shutil
from pathlib import Path
from typing import NamedTuple

import dagster as dg
import duckdb

from assets.core.database import prepare_working_database, sql_string, transaction
from assets.core.models import SqlModel, incremental_models, touched_keys
from assets.core.names import COMPAT, COMPAT_SCHEMA, compat_view_sql
from assets.transform.registry import TABLE_KEYS
from assets.core import pii
from assets.core import settings
from assets.core.resource import FunnelResource

PUBLISHED_SCHEMAS = ("marts", "ops", "quarantine")
# Incremental models whose tables are published: their rows are replaced per touched record.
PUBLISHED_MODELS = [m for m in incremental_models()
                    if all(o.table.split(".")[0] in PUBLISHED_SCHEMAS for o in m.incremental.outputs)]
# The rules a published file was written under: the schemas published and what the personal-data scan
# looks for. A file written under other rules is not a start (it could hold a schema no longer
# published, or rows not scanned for what is looked for now).
RULES = hashlib.sha256("\0".join((*PUBLISHED_SCHEMAS, pii.EMAIL_PATTERN, pii.PHONE_PATTERN,
                                  *pii.PHONE_SEPARATORS)).encode()).hexdigest()


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


class PublishedFileHeld(Exception):
    """Another process has the published file open read-write: replacing it under that session can leave
    a write-ahead log that belongs to no file, and a published file no one can open."""


def read_write_holder(published: Path) -> str | None:
    """The process holding `published` open read-write, in words (DuckDB's lock error names it); None when
    none does. A reader (read-only) does not count: it keeps reading the old file."""
    if not published.exists():
        return None
    try:
        duckdb.connect(str(published), read_only=True).close()
    except duckdb.IOException as exc:
        held = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(exc))
        if held:
            return f"process {held[2]} ({held[1]})"
        return "another process" if "lock" in str(exc).lower() else None
    except duckdb.Error:  # damaged: it is replaced anyway
        return None
    return None


def refuse_if_held(published: Path) -> None:
    holder = read_write_holder(published)
    if holder:
        raise PublishedFileHeld(
            f"The published file {published} is open read-write by {holder}. Replacing it under a session that "
            "writes to it could leave a file no one can open, so it was left as it is. Close that session, or "
            f"reconnect read-only (duckdb -readonly {published}, or duckdb.connect(path, read_only=True) in Python); "
            "the next run publishes. This run's tables are kept in the working database.")


def personal_data_in(con: duckdb.DuckDBPyConnection, database: str,
                     rows: dict[str, str | None] | None = None) -> list[tuple[str, int]]:
    """(schema.table.column, values) of every text column of `database` holding something
    that looks like an e-mail address or a phone number (the last guard before publishing).
    `rows`: only these tables (schema.table), each with the WHERE predicate of the rows to scan
    (None: all of them); by default every table, every row."""
    columns = [(table, column) for table, column in con.execute(
        "SELECT schema_name || '.' || table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = $db AND data_type = 'VARCHAR' ORDER BY schema_name, table_name, column_index",
        {"db": database}).fetchall() if rows is None or table in rows]
    if not columns:
        return []
    # One query over every value to scan: the patterns are compiled once (a query per table cost
    # about 10 ms for each small mart). Each pattern runs only on the values holding what any match
    # of it holds (CASE evaluates a branch for its rows alone): an @, a separator of
    # pii.PHONE_SEPARATORS. Both patterns on every value was most of the publish's time.
    separator = " OR ".join(f"contains(v, $sep{i})" for i in range(len(pii.PHONE_SEPARATORS)))
    looks_personal = ("CASE WHEN contains(v, '@') THEN regexp_matches(v, $email) OR regexp_matches(v, $phone) "
                      f"WHEN {separator} THEN regexp_matches(v, $phone) ELSE false END")
    params = {"email": pii.EMAIL_PATTERN, "phone": pii.PHONE_PATTERN,
              **{f"sep{i}": sep for i, sep in enumerate(pii.PHONE_SEPARATORS)}}
    branches = []  # (k, v): the index of the column in `columns`, a value to scan
    for table in dict.fromkeys(t for t, _ in columns):
        ks = [k for k, (t, _) in enumerate(columns) if t == table]
        if rows and rows[table]:  # its WHERE evaluated once for all its columns
            names = ", ".join(f'"{columns[k][1]}"' for k in ks)
            branches.append(f"SELECT unnest({ks}) AS k, unnest([{names}]) AS v FROM {database}.{table} "
                            f"WHERE {rows[table]}")
        else:  # a branch per column: faster than unnesting the rows of a whole table
            branches += [f'SELECT {k} AS k, "{columns[k][1]}" AS v FROM {database}.{table}' for k in ks]
    values = " UNION ALL ".join(branches)
    found = con.execute(f"SELECT k, count(*) FROM ({values}) WHERE {looks_personal} GROUP BY k ORDER BY k",
                        params).fetchall()
    return [(f"{columns[k][0]}.{columns[k][1]}", n) for k, n in found]


def file_id(path: Path) -> str | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return f"{st.st_size}:{st.st_mtime_ns}"


def _layouts(con: duckdb.DuckDBPyConnection, database: str) -> dict[str, tuple]:
    """schema.table -> (table comment, [(column, type, comment), ...]) of the published schemas of `database`."""
    return {f"{s}.{t}": (comment, tuple(columns)) for s, t, comment, columns in con.execute(
        "SELECT t.schema_name, t.table_name, t.comment, list((c.column_name, c.data_type, c.comment) "
        "ORDER BY c.column_index) FROM duckdb_tables() t JOIN duckdb_columns() c USING (database_name, schema_name, "
        "table_name) WHERE t.database_name = $db AND t.schema_name IN (SELECT unnest($schemas)) GROUP BY ALL "
        "ORDER BY ALL", {"db": database, "schemas": list(PUBLISHED_SCHEMAS)}).fetchall()}


def _deltas(con: duckdb.DuckDBPyConnection, published: Path) -> dict[str, str | None] | None:
    """None when the published file cannot be the start (not this working database's last publish);
    else per table of an incremental model, the predicate of the rows to replace: the records the
    loads since that publish touched (their keys in temp tables), `false` when no load came since,
    None (every row) when the model was rebuilt differently since."""
    try:
        state = con.execute(
            "SELECT p.model, p.fingerprint, p.load_id, b.fingerprint, b.load_id FROM staging.publish_state p "
            "LEFT JOIN staging.build_state b USING (model) WHERE p.published_file = $file AND p.rules = $rules",
            {"file": file_id(published), "rules": RULES}).fetchall()
    except duckdb.CatalogException:  # a working database prepared before publish_state existed
        return None
    if not state or {row[0] for row in state} != {m.table for m in PUBLISHED_MODELS}:
        return None
    models = {m.table: m for m in PUBLISHED_MODELS}
    deltas: dict[str, str | None] = {}
    for name, published_fp, published_load, fp, load in state:
        model: SqlModel = models[name]
        same = published_fp is not None and published_fp == fp
        if same and load != published_load:
            touched_keys(con, model, published_load)
        for o in model.incremental.outputs:
            deltas[o.table] = None if not same else "false" if load == published_load else o.stale
    return deltas


def _record(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """What this publish left, for the next one (after the rename: a run killed before it finds no match)."""
    prepare_working_database(con)  # staging.publish_state among what it creates
    with transaction(con):
        con.execute("DELETE FROM staging.publish_state")
        con.execute(
            "INSERT INTO staging.publish_state SELECT $file, $rules, m.model, b.fingerprint, b.load_id "
            "FROM (SELECT unnest($models) AS model) m LEFT JOIN staging.build_state b USING (model)",
            {"file": file_id(published), "rules": RULES, "models": [m.table for m in PUBLISHED_MODELS]})


def _write_compat_views(con: duckdb.DuckDBPyConnection, tables: set[str]) -> None:
    """compat.<mart> in the new file for each renamed mart among `tables` (schema.table): the mart under the
    column names it had before (assets/core/names.py). Written anew every time; a view holds no rows."""
    con.execute(f"DROP SCHEMA IF EXISTS publish_target.{COMPAT_SCHEMA} CASCADE")
    con.execute(f"CREATE SCHEMA publish_target.{COMPAT_SCHEMA}")
    for mart in COMPAT:
        if f"marts.{mart}" in tables:
            for statement in compat_view_sql(mart, "publish_target"):
                con.execute(statement)


class Published(NamedTuple):
    counts: dict[str, int]  # rows per published table
    from_previous: bool  # whether the new file started as a copy of the previous one


def publish(con: duckdb.DuckDBPyConnection, published: Path, run_id: str) -> Published:
    """Write the published schemas of the working database into a new file, then rename it over
    `published`."""
    published.parent.mkdir(parents=True, exist_ok=True)
    refuse_if_held(published)
    tmp = published.with_name(f".{published.name}.{run_id}.tmp")
    remove_stale_temp_files(published)
    tmp.unlink(missing_ok=True)
    deltas = _deltas(con, published) if published.exists() else None
    if deltas is not None:
        shutil.copyfile(published, tmp)
    layouts = _layouts(con, con.execute("SELECT current_database()").fetchone()[0])
    counts = {}
    con.execute(f"ATTACH {sql_string(str(tmp))} AS publish_target")
    try:  # on any failure the temp file goes and the published file stays
        before = _layouts(con, "publish_target")
        scan: dict[str, str | None] = {}  # table -> the rows written (None: all)
        con.begin()  # one transaction for the new file's writes: a COMMENT alone commits otherwise
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS publish_target.{schema}")
        for table in before.keys() - layouts.keys():
            con.execute(f"DROP TABLE publish_target.{table}")
        for table, (comment, columns) in layouts.items():
            target = f"publish_target.{table}"
            if before.get(table) == (comment, columns):
                where = (deltas or {}).get(table)  # None: every row
                condition = f" WHERE {where}" if where else ""
                con.execute(f"DELETE FROM {target}{condition}")
                con.execute(f"INSERT INTO {target} SELECT * FROM {table}{condition}")
                scan[table] = where
            else:
                con.execute(f"DROP TABLE IF EXISTS {target}")
                con.execute(f"CREATE TABLE {target} AS SELECT * FROM {table}")
                if comment:
                    con.execute(f"COMMENT ON TABLE {target} IS {sql_string(comment)}")
                for column, _, col_comment in columns:
                    if col_comment:
                        con.execute(f'COMMENT ON COLUMN {target}."{column}" IS {sql_string(col_comment)}')
                scan[table] = None
            counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        _write_compat_views(con, set(layouts))
        con.commit()
        found = personal_data_in(con, "publish_target", scan)
        if found:
            raise PersonalDataFound(
                "The warehouse was not published: text columns about to be published hold what looks like personal "
                "data:\n" + "\n".join(f"{where}: {n} value(s) look like an e-mail address or a phone number"
                                       for where, n in found)
                + "\nFind the export column that carries it and leave it out (or mark it pii in schemas/).")
        con.execute("CHECKPOINT publish_target")
    except BaseException:
        try:
            con.rollback()
        except duckdb.TransactionException:
            pass
        con.execute("DETACH publish_target")
        tmp.unlink(missing_ok=True)
        raise
    con.execute("DETACH publish_target")
    with tmp.open("rb") as f:
        os.fsync(f.fileno())
    try:
        refuse_if_held(published)  # again: a session may have opened it while the new file was written
    except PublishedFileHeld:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, published)
    # A write-ahead log beside the old file (a writer that died) would be replayed into the new one.
    Path(f"{published}.wal").unlink(missing_ok=True)
    _record(con, published)
    return Published(counts, deltas is not None)


@dg.asset(
    key=["published", "funnel_duckdb"],
    deps=[key for key in TABLE_KEYS if key.path[0] in PUBLISHED_SCHEMAS],
    group_name="publish",
    kinds={"duckdb"},
    owners=settings.owners(),
    description="The DuckDB file analysts query (FUNNEL_WAREHOUSE_PATH): schemas marts and ops, with every "
    "COMMENT, replaced atomically after all blocking checks of the marts passed; schema compat holds the renamed "
    "marts under their old column names for one release.",
)
def published_warehouse(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    published = Path(funnel.warehouse_path)
    with funnel.connect() as con:
        try:
            done = publish(con, published, context.run.run_id)
        except (PersonalDataFound, PublishedFileHeld) as exc:
            raise dg.Failure(description=str(exc)) from None
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published.resolve())),
            "tables": dg.MetadataValue.json(done.counts),
            "started_from": "a copy of the previous publish, only what changed written" if done.from_previous
            else "an empty file",
            "size_bytes": published.stat().st_size,
        }
    )
