"""The value mappings (staging.channel_lookup, deal_stage_map, lifecycle_map, run_settings) as the tables
built from them see them: a new generation when a value already mapped maps differently, which makes
every incremental model rebuild in full."""

import hashlib
from typing import Sequence

import duckdb

from assets.core.build_state import save_build_state, state_of
from assets.core.database import prepare_working_database, table_exists

MAPPINGS = "mappings"
MAPPING_TABLES = ("channel_lookup", "deal_stage_map", "lifecycle_map", "run_settings")  # in schema staging


def record_mappings(con: duckdb.DuckDBPyConnection, before: Sequence[str]) -> bool:
    """After the mapping tables were written: a new mapping generation when a row of the tables as
    they were (copied to the temp tables `before`, None where a table did not exist) is not in them
    any more, i.e. a value already mapped maps differently now. New values alone add rows and keep
    the generation: no raw row loaded earlier carries them. Returns whether the generation changed."""
    prepare_working_database(con)  # staging.build_state among what it creates
    changed = state_of(con, MAPPINGS) is None
    for table, old in zip(MAPPING_TABLES, before):
        if changed:
            break
        if old is None:
            changed = True
            continue
        try:
            changed = con.execute(f"SELECT count(*) FROM (SELECT * FROM {old} EXCEPT SELECT * FROM staging.{table})"
                                  ).fetchone()[0] > 0
        except duckdb.BinderException:  # other columns: the code that writes the table changed
            changed = True
    if changed:
        h = hashlib.sha256()
        for table in MAPPING_TABLES:
            for row in con.execute(f"SELECT * FROM staging.{table} ORDER BY ALL").fetchall():
                h.update(repr(row).encode())
            h.update(b"\0")
        save_build_state(con, MAPPINGS, h.hexdigest(), None, None)
    return changed


def keep_mappings(con: duckdb.DuckDBPyConnection) -> list[str | None]:
    """Copies of the mapping tables as they are, for record_mappings (temp tables of this connection)."""
    kept = []
    for table in MAPPING_TABLES:
        if table_exists(con, f"staging.{table}"):
            con.execute(f"CREATE OR REPLACE TEMP TABLE previous_{table} AS FROM staging.{table}")
            kept.append(f"previous_{table}")
        else:
            kept.append(None)
    return kept
