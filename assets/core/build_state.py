"""staging.build_state: what each table of the transform step was built from, so that a table whose inputs
did not change is not built again."""

import hashlib
from typing import Iterable, Sequence

import duckdb

from assets.core.database import table_exists

# The loaded files (name, SHA-256, file time; loads logged as loaded) of one source, or of every
# source for ops.load_log: raw holds exactly their rows, so they say what it holds without naming
# the load ids (the same files loaded by other runs give the same version).
LOADED_FILES = ("SELECT sha256(coalesce(string_agg(concat_ws(':', source, file_name, sha256, file_modified_at), "
                "'|' ORDER BY source, file_name, sha256), '')) FROM ops.load_log "
                "WHERE status = 'loaded' AND (source = $s OR $s IS NULL)")


def save_build_state(con: duckdb.DuckDBPyConnection, table: str, fingerprint: str, load_id: int | None,
                     version: str | None) -> None:
    """The staging.build_state row of `table` (or of the value mappings: table `mappings`)."""
    con.execute("INSERT OR REPLACE INTO staging.build_state (model, fingerprint, load_id, version) "
                "VALUES ($m, $f, $l, $v)", {"m": table, "f": fingerprint, "l": load_id, "v": version})


def state_of(con: duckdb.DuckDBPyConnection, table: str) -> tuple[str, int | None, str | None] | None:
    """(fingerprint, load_id, version) of `table`'s last build, or None."""
    return con.execute("SELECT fingerprint, load_id, version FROM staging.build_state WHERE model = $m",
                       {"m": table}).fetchone()


def forget_build(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Drop `table`'s build state, so that the next run builds it again in full (its checks failed)."""
    try:
        con.execute("DELETE FROM staging.build_state WHERE model = $m", {"m": table})
    except duckdb.CatalogException:  # no build state at all: nothing to forget
        pass


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
    return versions_digest(con, f"{sql}\0{macros}", reads)


def up_to_date(con: duckdb.DuckDBPyConnection, tables: Sequence[str], fingerprint: str) -> bool:
    """Whether every table exists and was last built from this fingerprint."""
    return all(table_exists(con, table) and con.execute(
        "SELECT fingerprint FROM staging.build_state WHERE model = $m", {"m": table}).fetchone() == (fingerprint,)
               for table in tables)
