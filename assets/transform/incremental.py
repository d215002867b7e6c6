"""Tables brought up to date from the loads that arrived since their last build: the SQL models whose
file opens with an `/* incremental: */` header (assets/core/models.py).

Raw only grows, one load (ops.load_log.load_id, increasing) per file. Each such model is a
function, per key, of the raw versions of that key: a lead's row of staging.leads depends only on
the raw rows of that lead (and on the value mappings), a GA4 row's verdict only on the rows that
overlap its month. So when new loads arrive, only the keys they touched can change. An incremental
build deletes the rows of those keys and inserts them again, computed by the same SQL as a full
build over all the versions of just those keys: the model's SQL file reads `scope_*` views, which
are the whole input relation in a full build and the touched keys' part of it otherwise.

A model is built in full instead when it has no build state yet, or when its fingerprint changed:
its SQL (its header included), the macros, the value mappings (the channel_lookup asset
records a new mapping generation when a value that was already mapped maps differently: channels.yaml,
stages.yaml, the GA4 source categories or the time zone changed), or the fingerprint of a model it
reads. The state is staging.build_state: per model its fingerprint and the newest load it holds.
Nothing is done when the files loaded into the raw tables the model reads, and the versions of the
models it reads, are those of its last build (build_state.version, which the tables reading the
model compare in turn: build_state.input_fingerprint).

Each build, full or incremental, is one transaction with its state row: a run killed mid-build
leaves the table and its state as they were, and the next run does the same build again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import dagster as dg
import duckdb

from assets.core.build_state import save_build_state, state_of, versions_digest
from assets.core.database import SQL_DIR, prepare_working_database, table_exists, table_metadata, transaction
from assets.core.models import SqlModel, incremental_models, touched_keys
from assets.core.resource import FunnelResource
from assets.core.step import StepCheck, TableAsset, table_spec
from assets.transform.mappings import MAPPINGS

# Bump when the way tables are maintained here changes: every model is then built in full once.
VERSION = "2"
MACROS = SQL_DIR / "metric_macros.sql"


@dataclass
class Build:
    model: str
    mode: str  # full, incremental or unchanged (no file reached the raw tables it reads since: nothing done)
    reason: str
    load_id: int  # the newest load the tables now hold
    replaced: dict[str, int]  # rows deleted per table (incremental)
    inserted: dict[str, int]

    def metadata(self) -> dict:
        return {"build": self.mode, "build_reason": self.reason, "through_load_id": self.load_id,
                "rows_replaced": dg.MetadataValue.json(self.replaced),
                "rows_inserted": dg.MetadataValue.json(self.inserted)}


def upstream(model: SqlModel) -> tuple[str, ...]:
    """The incremental models whose tables this one reads."""
    others = {m.table for m in incremental_models() if m.table != model.table}
    return tuple(sorted(others & set(model.reads)))


def fingerprint(con: duckdb.DuckDBPyConnection, model: SqlModel) -> str:
    """What the model's tables are a function of, besides raw: a different value means a full build."""
    h = hashlib.sha256()
    for part in (VERSION, model.sql, MACROS.read_text(encoding="utf-8")):
        h.update(part.encode())
        h.update(b"\0")
    for name in (MAPPINGS, *upstream(model)):
        state = state_of(con, name)
        h.update(f"{name}={state[0] if state else 'none'}\0".encode())
    return h.hexdigest()


def input_version(con: duckdb.DuckDBPyConnection, model: SqlModel, fp: str) -> str:
    """The model's tables as a function of its fingerprint, the files loaded into the raw tables it reads
    and the versions of the models it reads (build_state.version)."""
    return versions_digest(con, fp, {t for t in model.reads if t.startswith("raw.")} | set(upstream(model)))


def _statements(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[str]]:
    """The model file's statements, split by DuckDB's parser: those defining the rows, and the COMMENTs."""
    defining, comments = [], []
    for statement in con.extract_statements(sql):
        (comments if statement.query.lstrip().upper().startswith("COMMENT") else defining).append(statement.query)
    return defining, comments


def _rebuild_reason(con: duckdb.DuckDBPyConnection, model: SqlModel, fp: str, state, full: bool) -> str:
    outputs = model.incremental.outputs
    return ("asked for" if full else "no earlier build" if state is None
            else "its SQL, the value mappings or a table it reads changed" if state[0] != fp
            else "a table is missing" if not all(table_exists(con, o.table) for o in outputs)
            else "")


def refresh(con: duckdb.DuckDBPyConnection, model: SqlModel, full: bool = False) -> Build:
    """Bring the model's tables up to date with raw: incrementally when only new loads arrived
    since its last build, else (or with `full`) rebuilt from everything."""
    prepare_working_database(con)  # staging.build_state among what it creates
    newest = con.execute("SELECT coalesce(max(load_id), 0) FROM ops.load_log").fetchone()[0]
    fp = fingerprint(con, model)
    state = state_of(con, model.table)
    reason = _rebuild_reason(con, model, fp, state, full)
    version = input_version(con, model, fp)
    if not reason and state[2] == version:
        return Build(model.table, "unchanged", "no file loaded since the last build into the raw tables it reads",
                     state[1], {}, {})
    defining, comments = _statements(con, model.sql)
    with transaction(con):
        if reason:
            replaced, inserted = {}, _build_full(con, model, defining, comments)
        else:
            replaced, inserted = _build_touched(con, model, defining, state[1])
        for table in model.creates:  # the version of each table it writes
            save_build_state(con, table, fp, newest, version)
    return Build(model.table, "full" if reason else "incremental", reason or "only new loads since the last build",
                 newest, replaced, inserted)


def _build_full(con: duckdb.DuckDBPyConnection, model: SqlModel, defining: list[str], comments: list[str]
                ) -> dict[str, int]:
    for s in model.incremental.scopes:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {s.view} AS SELECT * FROM {s.relation}")
    for stmt in defining:
        con.execute(stmt)
    inserted = {}
    for o in model.incremental.outputs:
        con.execute(f"CREATE OR REPLACE TABLE {o.table} AS FROM {o.rows}")
        inserted[o.table] = con.execute(f"SELECT count(*) FROM {o.table}").fetchone()[0]
    for stmt in comments:
        con.execute(stmt)
    return inserted


def _build_touched(con: duckdb.DuckDBPyConnection, model: SqlModel, defining: list[str], since: int
                   ) -> tuple[dict[str, int], dict[str, int]]:
    touched_keys(con, model, since)
    for s in model.incremental.scopes:
        if s.copy_touched:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {s.view}_touched AS "
                        f"SELECT * FROM {s.relation} WHERE {s.touched}")
            con.execute(f"CREATE OR REPLACE TEMP VIEW {s.view} AS SELECT * FROM {s.view}_touched")
        else:
            con.execute(f"CREATE OR REPLACE TEMP VIEW {s.view} AS SELECT * FROM {s.relation} WHERE {s.touched}")
    for stmt in defining:
        con.execute(stmt)
    replaced, inserted = {}, {}
    for o in model.incremental.outputs:
        replaced[o.table] = con.execute(f"DELETE FROM {o.table} WHERE {o.stale}").fetchone()[0]
        inserted[o.table] = con.execute(f"INSERT INTO {o.table} BY NAME FROM {o.rows}").fetchone()[0]
    return replaced, inserted


def incremental_table(model: SqlModel, deps: Sequence[dg.AssetKey], group: str,
                      checks: Sequence[StepCheck] = ()) -> TableAsset:
    """The model's first table as a table of the transform step, kept up to date by refresh()."""
    schema, table = model.table.split(".")

    def build(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
        done = refresh(con, model)
        return {**table_metadata(con, schema, table), **done.metadata()}

    spec = table_spec(
        model.key, deps, group,
        model.description + f"\n\nSQL: `assets/sql/{model.file}`, kept up to date by `assets/transform/incremental.py`: "
        "only the keys that new loads touched are computed again, unless the SQL or the value mappings changed.",
        {"duckdb", "sql"})
    return TableAsset(spec, build, tuple(checks))
