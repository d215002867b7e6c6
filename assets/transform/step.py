"""raw -> staging -> marts in one step: every table built as soon as the tables it reads are,
two or more at a time (a thread and a DuckDB cursor each, at most one thread per core).

One step per table ran them one after another: DuckDB keeps both cores busy only in the large
scans, so between them and in the small marts a core sat idle, and each step cost Dagster's own
work besides (issue 7). Every table is still an asset of its own, with its lineage, its
materialization and its checks; only the step is shared.

A table's checks are evaluated right after it is written, in its thread. When a blocking check
fails, the table stays recorded with its failed check, no table that reads it (directly or not) is
built, the others go on, and the step fails at its end naming the table, its failed checks and
what was not built, so the publish does not run. When building a table raises, no new table
starts, the ones under way finish and are recorded, and the step fails naming the table. The
failure's metadata `failed_assets` names the tables at fault (ops.alerts.asset_key). Each table is written in its own
transactions (DuckDB: concurrent writers of different tables do not conflict).
"""

import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import dagster as dg

from assets.core.build_state import forget_build
from assets.core.database import prepare_working_database
from assets.core.step import TableAsset, check_results
from assets.transform.registry import TABLES
from assets.core.resource import FunnelResource



def _blocking_failure(result: dg.AssetCheckResult, check) -> bool:
    return check.blocking and not result.passed and result.severity == dg.AssetCheckSeverity.ERROR


def build_tables(context: dg.AssetExecutionContext, funnel: FunnelResource, tables: list[TableAsset]):
    """Build `tables` side by side in dependency order; yield each one's materialization and check
    results (from the step's own thread) as it finishes. A dependency outside `tables` counts as built."""
    keys = {t.key for t in tables}
    reads = {t.key: {d.asset_key for d in t.spec.deps} & keys for t in tables}

    def build(table: TableAsset):
        with funnel.connect() as con:
            started = time.perf_counter()
            metadata = table.build(con, funnel)
            checks_from = time.perf_counter()
            if metadata.get("build") == "unchanged":
                results = [unchanged(table.key, check) for check in table.checks]
            else:
                results = list(check_results(con, context, funnel, table.key, table.checks))
                if any(_blocking_failure(r, c) for c, r in zip(table.checks, results)):
                    forget_build(con, ".".join(table.key.path))  # built again, and checked, next run
            metadata["seconds"] = round(time.perf_counter() - started, 3)  # the table and its checks
            metadata["check_seconds"] = round(time.perf_counter() - checks_from, 3)  # of those, its checks
        return metadata, results

    waiting, running, built, failed = list(tables), {}, set(), None
    check_failures: dict[dg.AssetKey, list[str]] = {}  # table -> its failed blocking checks
    blocked: list[dg.AssetKey] = []  # tables not built because a table they read failed one
    workers = max(1, min(len(tables), os.cpu_count() or 1))
    for prepare in dict.fromkeys(c.prepare for t in tables for c in t.checks if c.prepare):
        prepare()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        while waiting or running:
            if failed is None:  # started only when a thread is free: the first ready table in TABLES order goes
                for table in [t for t in waiting if reads[t.key] <= built][:workers - len(running)]:
                    waiting.remove(table)
                    running[pool.submit(build, table)] = table
            if not running:
                break
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                table = running.pop(future)
                try:
                    metadata, results = future.result()
                except Exception as exc:  # noqa: BLE001 (raised below, once the others are recorded)
                    failed = failed or (table, exc)
                    continue
                yield dg.MaterializeResult(asset_key=table.key, metadata=metadata)
                yield from results
                failures = [c.name for c, r in zip(table.checks, results) if _blocking_failure(r, c)]
                if failures:
                    check_failures[table.key] = failures
                    blocked += _take_readers(table.key, waiting, reads)
                else:
                    built.add(table.key)
    for finish in dict.fromkeys(c.finish for t in tables for c in t.checks if c.finish):
        finish()
    if failed or check_failures:
        lines = [f"Building {failed[0].key.to_user_string()} failed: {type(failed[1]).__name__}: {failed[1]}"
                 ] if failed else []
        lines += [f"{key.to_user_string()} failed its blocking check(s) {', '.join(names)}: see the check results."
                  for key, names in check_failures.items()]
        not_built = [k.to_user_string() for k in blocked] + ([t.key.to_user_string() for t in waiting] if failed else [])
        if not_built:
            lines.append("Not built, so not published: " + ", ".join(not_built))
        raise dg.Failure(
            description="\n".join(lines),
            metadata={"failed_assets": ", ".join(k.to_user_string() for k in
                                                 ([failed[0].key] if failed else []) + list(check_failures))},
        ) from (failed[1] if failed else None)


def unchanged(key: dg.AssetKey, check) -> dg.AssetCheckResult:
    """The verdict of a check on a table not built again: that of its last build, which passed (a build
    whose blocking check failed is forgotten, so that the next run builds and checks it again)."""
    return dg.AssetCheckResult(asset_key=key, check_name=check.name, passed=True, metadata={
        "evaluated": "no: the table is as its last build left it (nothing it reads changed), and that build "
                     "passed this check"})


def _take_readers(key: dg.AssetKey, waiting: list[TableAsset],
                  reads: dict[dg.AssetKey, set[dg.AssetKey]]) -> list[dg.AssetKey]:
    """Take every waiting table that reads `key`, directly or not, off the list; return their keys."""
    stopped, taken = {key}, []
    while readers := [t for t in waiting if reads[t.key] & stopped]:
        for t in readers:
            waiting.remove(t)
            stopped.add(t.key)
            taken.append(t.key)
    return taken


@dg.multi_asset(
    name="transform",
    specs=[t.spec for t in TABLES],
    check_specs=[c.spec(t.key) for t in TABLES for c in t.checks],
    can_subset=True,
    description="Builds the staging tables and the marts, each as soon as the tables it reads are built, "
    "several at a time (assets/transform/step.py).",
)
def transform(context: dg.AssetExecutionContext, funnel: FunnelResource):
    with funnel.connect() as con:  # schemas, macros and staging.build_state first, in one thread (DDL side by side conflicts)
        prepare_working_database(con)
    yield from build_tables(context, funnel, [t for t in TABLES if t.key in context.selected_asset_keys])


TRANSFORM_ASSETS = [transform]
