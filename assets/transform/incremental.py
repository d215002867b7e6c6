"""Staging tables brought up to date from the loads that arrived since their last build (issue 7).

Raw only grows, one load (ops.load_log.load_id, increasing) per file. Each model below is a
function, per key, of the raw versions of that key: a lead's row of staging.leads depends only on
the raw rows of that lead (and on the value mappings), a GA4 row's verdict only on the rows that
overlap its month. So when new loads arrive, only the keys they touched can change. An incremental
build deletes the rows of those keys and inserts them again, computed by the same SQL as a full
build over all the versions of just those keys: the model's SQL file reads `scope_*` views, which
are the whole input relation in a full build and the touched keys' part of it otherwise.

A model is built in full instead when it has no build state yet, or when its fingerprint changed:
its SQL or this module's definition of it, the macros, the value mappings (the channel_lookup asset
records a new mapping generation when a value that was already mapped maps differently: channels.yaml,
stages.yaml, the GA4 source categories or the time zone changed), or the fingerprint of a model it
reads. The state is staging.build_state: per model its fingerprint and the newest load it holds.
Nothing is done when the files loaded into the raw tables the model reads, and the versions of the
models it reads, are those of its last build (build_state.version, which the tables reading the
model compare in turn: sql_assets.input_fingerprint).

Each build, full or incremental, is one transaction with its state row: a run killed mid-build
leaves the table and its state as they were, and the next run does the same build again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import dagster as dg
import duckdb

from assets.ingest.load import prepare_working_database
from assets.core.tables import (SQL_DIR, TABLE_NAME, StepCheck, TableAsset, save_build_state, table_exists,
                               table_metadata, table_spec, transaction, versions_digest)
from assets.core.resource import FunnelResource

# Bump when the way tables are maintained here changes: every model is then built in full once.
VERSION = "1"
MAPPINGS = "mappings"
MAPPING_TABLES = ("channel_lookup", "deal_stage_map", "lifecycle_map", "run_settings")  # in schema staging
MACROS = SQL_DIR / "metric_macros.sql"


@dataclass(frozen=True)
class Scope:
    view: str  # the temp view the model's SQL reads
    relation: str  # what the view is in a full build
    touched: str  # predicate over the relation's rows: the part an incremental build reads
    # An incremental build copies the touched part into a temp table under the view, for SQL that reads
    # its scope several times: the predicate is then evaluated over the whole relation once.
    copy_touched: bool = False


@dataclass(frozen=True)
class Output:
    table: str  # schema.table
    rows: str  # temp view of the model's SQL holding the table's rows
    stale: str  # predicate over the table's rows: those an incremental build replaces


@dataclass(frozen=True)
class Model:
    name: str  # the asset's table, schema.table
    sql_file: str  # under assets/sql/: temp views of the rows, then COMMENTs on the tables
    keys: tuple[tuple[str, str], ...]  # (temp table, SELECT of the keys touched by the loads after $since)
    scopes: tuple[Scope, ...]
    outputs: tuple[Output, ...]
    upstream: tuple[str, ...] = ()  # models whose tables it reads

    @property
    def sql(self) -> str:
        return (SQL_DIR / self.sql_file).read_text(encoding="utf-8")


NEW_LEADS = "SELECT DISTINCT lead_id FROM raw.leads WHERE _load_id > $since"
NEW_DEALS = "SELECT DISTINCT deal_id FROM raw.deals WHERE _load_id > $since"
IN_LEADS = "lead_id IN (SELECT lead_id FROM touched_leads)"
IN_DEALS = "deal_id IN (SELECT deal_id FROM touched_deals)"
# A month range [lo, hi] holding every day or range of the new GA4 rows; a row overlapping it is in scope.
IN_MONTHS = ("month_start(date) <= (SELECT hi FROM touched_months) "
             "AND month_start(coalesce(date_end, date)) >= (SELECT lo FROM touched_months)")

LEADS = Model(
    "staging.leads", "staging/leads.sql",
    keys=(("touched_leads", NEW_LEADS),),
    scopes=(Scope("scope_raw_leads", "raw.leads", IN_LEADS),),
    outputs=(Output("staging.leads", "leads_rows", IN_LEADS),),
)
STAGE_HISTORY = Model(
    "marts.stage_history", "marts/stage_history.sql",
    keys=(("touched_leads", NEW_LEADS), ("touched_deals", NEW_DEALS)),
    scopes=(Scope("scope_raw_leads", "raw.leads", IN_LEADS), Scope("scope_raw_deals", "raw.deals", IN_DEALS)),
    outputs=(Output("marts.stage_history", "stage_history_rows",
                    "(record_type = 'lead' AND record_id IN (SELECT lead_id FROM touched_leads)) "
                    "OR (record_type = 'deal' AND record_id IN (SELECT deal_id FROM touched_deals))"),),
)
# A deal changes with its own raw rows, and with its lead (channel, whether it is linked): the deals
# whose current lead new loads touched are computed again too.
DEALS = Model(
    "staging.deals", "staging/deals.sql",
    keys=(("touched_deals", NEW_DEALS + " UNION SELECT deal_id FROM staging.deals "
           "WHERE lead_id IN (SELECT lead_id FROM raw.leads WHERE _load_id > $since)"),),
    scopes=(Scope("scope_raw_deals", "raw.deals", IN_DEALS),),
    outputs=(Output("staging.deals", "deals_rows", IN_DEALS),),
    upstream=("staging.leads", "marts.stage_history"),
)
# A lead's funnel changes with the lead, and with any of its deals: the leads of every version of
# a deal that new loads touched (its lead before and after a change of lead_id) are computed again.
LEAD_FUNNEL = Model(
    "staging.lead_funnel", "staging/lead_funnel.sql",
    keys=(("touched_leads", NEW_LEADS + " UNION SELECT lead_id FROM raw.deals WHERE lead_id IS NOT NULL "
           "AND deal_id IN (SELECT deal_id FROM raw.deals WHERE _load_id > $since)"),),
    scopes=(Scope("scope_leads", "staging.leads", IN_LEADS), Scope("scope_deals", "staging.deals", IN_LEADS)),
    outputs=(Output("staging.lead_funnel", "lead_funnel_rows", IN_LEADS),),
    upstream=("staging.leads", "staging.deals"),
)
# A GA4 row's version and its range verdict depend only on rows that overlap its month (a counted
# range lies within one month; a range over several months is never counted), so the rows
# overlapping the months of the new rows are a closed part to compute again.
SESSIONS = Model(
    "staging.sessions", "staging/sessions.sql",
    keys=(("touched_months", "SELECT min(month_start(date)) AS lo, max(month_start(coalesce(date_end, date))) AS hi "
           "FROM raw.ga4_sessions WHERE _load_id > $since"),),
    scopes=(Scope("scope_raw_ga4_sessions", "raw.ga4_sessions", IN_MONTHS, copy_touched=True),),
    outputs=(Output("staging.sessions", "sessions_rows", IN_MONTHS),
             Output("staging.sessions_not_counted", "sessions_not_counted_rows", IN_MONTHS)),
)

MODELS = {m.name: m for m in (LEADS, STAGE_HISTORY, DEALS, LEAD_FUNNEL, SESSIONS)}


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


def _state(con: duckdb.DuckDBPyConnection, model: str) -> tuple[str, int | None, str | None] | None:
    return con.execute("SELECT fingerprint, load_id, version FROM staging.build_state WHERE model = $m",
                       {"m": model}).fetchone()


def fingerprint(con: duckdb.DuckDBPyConnection, model: Model) -> str:
    """What the model's tables are a function of, besides raw: a different value means a full build."""
    h = hashlib.sha256()
    for part in (VERSION, repr(model), model.sql, MACROS.read_text(encoding="utf-8")):
        h.update(part.encode())
        h.update(b"\0")
    for name in (MAPPINGS, *model.upstream):
        state = _state(con, name)
        h.update(f"{name}={state[0] if state else 'none'}\0".encode())
    return h.hexdigest()


def input_version(con: duckdb.DuckDBPyConnection, model: Model, fp: str) -> str:
    """The model's tables as a function of its fingerprint, the files loaded into the raw tables its
    keys and scopes read and the versions of the models it reads (build_state.version)."""
    text = " ".join([*(select for _, select in model.keys), *(s.relation for s in model.scopes)])
    reads = {t.lower() for t in TABLE_NAME.findall(text) if t.lower().startswith("raw.")} | set(model.upstream)
    return versions_digest(con, fp, reads)


def _statements(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[str]]:
    """The model file's statements, split by DuckDB's parser: those defining the rows, and the COMMENTs."""
    defining, comments = [], []
    for statement in con.extract_statements(sql):
        (comments if statement.query.lstrip().upper().startswith("COMMENT") else defining).append(statement.query)
    return defining, comments


def touched_keys(con: duckdb.DuckDBPyConnection, model: Model, since: int) -> None:
    """The keys of the model's records that the loads after `since` touched, as the temp tables its
    Output.stale predicates read."""
    for table, select in model.keys:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}", {"since": since})


def refresh(con: duckdb.DuckDBPyConnection, model: Model, full: bool = False) -> Build:
    """Bring the model's tables up to date with raw: incrementally when only new loads arrived
    since its last build, else (or with `full`) rebuilt from everything."""
    prepare_working_database(con)  # staging.build_state among what it creates
    newest = con.execute("SELECT coalesce(max(load_id), 0) FROM ops.load_log").fetchone()[0]
    fp = fingerprint(con, model)
    state = _state(con, model.name)
    reason = ("asked for" if full else "no earlier build" if state is None
              else "its SQL, the value mappings or a table it reads changed" if state[0] != fp
              else "a table is missing" if not all(table_exists(con, o.table) for o in model.outputs)
              else "")
    version = input_version(con, model, fp)
    if not reason and state[2] == version:
        return Build(model.name, "unchanged", "no file loaded since the last build into the raw tables it reads",
                     state[1], {}, {})
    defining, comments = _statements(con, model.sql)
    replaced, inserted = {}, {}
    with transaction(con):
        if reason:
            for s in model.scopes:
                con.execute(f"CREATE OR REPLACE TEMP VIEW {s.view} AS SELECT * FROM {s.relation}")
            for stmt in defining:
                con.execute(stmt)
            for o in model.outputs:
                con.execute(f"CREATE OR REPLACE TABLE {o.table} AS FROM {o.rows}")
                inserted[o.table] = con.execute(f"SELECT count(*) FROM {o.table}").fetchone()[0]
            for stmt in comments:
                con.execute(stmt)
        else:
            touched_keys(con, model, state[1])
            for s in model.scopes:
                if s.copy_touched:
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {s.view}_touched AS "
                                f"SELECT * FROM {s.relation} WHERE {s.touched}")
                    con.execute(f"CREATE OR REPLACE TEMP VIEW {s.view} AS SELECT * FROM {s.view}_touched")
                else:
                    con.execute(f"CREATE OR REPLACE TEMP VIEW {s.view} AS SELECT * FROM {s.relation} WHERE {s.touched}")
            for stmt in defining:
                con.execute(stmt)
            for o in model.outputs:
                replaced[o.table] = con.execute(f"DELETE FROM {o.table} WHERE {o.stale}").fetchone()[0]
                inserted[o.table] = con.execute(f"INSERT INTO {o.table} BY NAME FROM {o.rows}").fetchone()[0]
        for table in {model.name, *(o.table for o in model.outputs)}:  # the version of each table it writes
            save_build_state(con, table, fp, newest, version)
    return Build(model.name, "full" if reason else "incremental", reason or "only new loads since the last build",
                 newest, replaced, inserted)


def record_mappings(con: duckdb.DuckDBPyConnection, before: Sequence[str]) -> bool:
    """After the mapping tables were written: a new mapping generation when a row of the tables as
    they were (copied to the temp tables `before`, None where a table did not exist) is not in them
    any more, i.e. a value already mapped maps differently now. New values alone add rows and keep
    the generation: no raw row loaded earlier carries them. Returns whether the generation changed."""
    prepare_working_database(con)  # staging.build_state among what it creates
    changed = _state(con, MAPPINGS) is None
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


def incremental_table(model: Model, deps: Sequence[Sequence[str]], group: str, description: str,
                      checks: Sequence[StepCheck] = ()) -> TableAsset:
    """The model's first table as a table of the transform step, kept up to date by refresh()."""
    schema, table = model.name.split(".")

    def build(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
        done = refresh(con, model)
        return {**table_metadata(con, schema, table), **done.metadata()}

    spec = table_spec(
        dg.AssetKey([schema, table]), deps, group,
        description + f"\n\nSQL: `assets/sql/{model.sql_file}`, kept up to date by `assets/incremental.py`: only "
        "the keys that new loads touched are computed again, unless the SQL or the value mappings changed.",
        {"duckdb", "sql"})
    return TableAsset(spec, build, tuple(checks))
