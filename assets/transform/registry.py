"""The tables of the transform step: every SQL model of the SQL folder (assets/core/models.py), plus the
two tables written from Python (the value mappings and the target plan). A model's dependencies are the
producers of the tables its SQL reads; its checks are its mart's expectation suite and SQL checks."""

import dagster as dg

from assets.checks.expectations import suite_check
from assets.checks.suites import CHECKED_MARTS
from assets.checks.reconcile import SQL_CHECKS
from assets.core.models import SqlModel, discover
from assets.core.step import StepCheck, TableAsset
from assets.plan.target_plan import TARGET_PLAN_TABLE
from assets.plan.target_settings import WRITES as TARGET_SETTINGS_WRITES
from assets.transform.incremental import incremental_table
from assets.transform.lookups import WRITES as LOOKUP_WRITES
from assets.transform.lookups import channel_lookup
from assets.transform.sql_tables import sql_table
from schemas import SOURCES

# Tables written outside the SQL folder, by the asset that writes them.
WRITTEN_BY = {
    **{f"raw.{source}": dg.AssetKey(["raw", source]) for source in SOURCES},
    "ops.load_log": None,  # the load step's own log: the raw tables read beside it carry the dependency
    **{table: channel_lookup.key for table in LOOKUP_WRITES},
    **{table: dg.AssetKey(["staging", "target_settings"]) for table in TARGET_SETTINGS_WRITES},
    "marts.target_plan": TARGET_PLAN_TABLE.key,
}


def producers(models: tuple[SqlModel, ...]) -> dict[str, dg.AssetKey | None]:
    """Table -> the asset that writes it."""
    found = dict(WRITTEN_BY)
    for model in models:
        found.update({table: model.key for table in model.creates})
    return found


def deps_of(model: SqlModel, produced: dict[str, dg.AssetKey | None]) -> list[dg.AssetKey]:
    unknown = [t for t in model.reads if t not in produced]
    if unknown:
        raise ValueError(f"assets/sql/{model.file} reads {unknown}, which no model or asset writes")
    return sorted({produced[t] for t in model.reads if produced[t] is not None and produced[t] != model.key},
                  key=lambda k: k.to_user_string())


def checks_of(model: SqlModel) -> list[StepCheck]:
    """The mart's SQL checks, then its expectation suite."""
    schema, name = model.table.split(".")
    checks = list(SQL_CHECKS.get(name, [])) if schema == "marts" else []
    return checks + ([suite_check(name)] if schema == "marts" and name in CHECKED_MARTS else [])


def table_of(model: SqlModel, produced: dict) -> TableAsset:
    group = "marts" if model.table.startswith("marts.") else "staging"
    make = incremental_table if model.incremental else sql_table
    return make(model, deps_of(model, produced), group, checks_of(model))


def _by_readers(tables: list[TableAsset]) -> list[TableAsset]:
    """The tables in the order the step starts them when several are ready: the longest chains of tables
    reading them first, so that none waits at the end."""
    readers: dict[dg.AssetKey, set[dg.AssetKey]] = {t.key: set() for t in tables}
    for t in tables:
        for d in t.spec.deps:
            if d.asset_key in readers:
                readers[d.asset_key].add(t.key)

    def below(key: dg.AssetKey, seen: set) -> set:
        for r in readers[key] - seen:
            seen.add(r)
            below(r, seen)
        return seen

    return sorted(tables, key=lambda t: (-len(below(t.key, set())), t.key.to_user_string()))


def tables() -> list[TableAsset]:
    models = discover()
    produced = producers(models)
    return _by_readers([channel_lookup, *(table_of(m, produced) for m in models), TARGET_PLAN_TABLE])


TABLES = tables()
TABLE_KEYS = [t.key for t in TABLES]
