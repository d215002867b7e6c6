"""A table of the transform step as Dagster sees it: its asset, how it is written, the checks run right
after it is written."""

from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import dagster as dg
import duckdb

from assets.core import settings
from assets.core.resource import FunnelResource


@dataclass(frozen=True)
class StepCheck:
    """An asset check evaluated right after its table is written, in the transform step (a check step of
    its own cost Dagster's overhead per check). A failed blocking check is recorded with the table's
    materialization; nothing that reads the table is built, and the step fails."""

    name: str
    description: str
    evaluate: Callable[[duckdb.DuckDBPyConnection, dg.AssetExecutionContext, FunnelResource], dg.AssetCheckResult]
    blocking: bool = True
    # Run once in the step's own thread before any table is built: imports that two threads must not
    # start at the same time (a module seen half-imported by the other thread fails).
    prepare: Callable[[], None] | None = None
    # Run once in the step's own thread after the last table, whether or not one failed: work the checks
    # of a run share (the Data Docs are rendered once, not once per table).
    finish: Callable[[], None] | None = None

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
    """One table of the transform step: its asset, the function that writes the table and returns the
    materialization's metadata, and the checks evaluated right after."""

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
