"""Dagster's own floor: the asset graph of `funnel_job` (every asset, check and step) with steps that do
nothing but report their assets materialized and their checks passed, run in the instance of DAGSTER_HOME.

    python -m pipelines.dev.baselines.dagster_floor

What a run of this shape costs whatever its steps do: importing Dagster and the definitions, opening the
instance, creating the run (its planned events) and writing every step's, materialization's and check's
events to the storage. `funnel bench` times it in its own process on a copy of the warehouse folder of
the run without new files, beside that run.
"""

import dagster as dg

from pipelines.jobs import ASSET_CHECKS, ASSETS


def _idle(definition: dg.AssetsDefinition | dg.AssetChecksDefinition):
    """A definition with the same node name, assets, dependencies and checks whose step does nothing."""
    specs, checks = list(definition.specs), list(definition.check_specs)
    if not specs:  # a check of its own step
        (check,) = checks

        @dg.asset_check(asset=check.asset_key, name=check.name, blocking=check.blocking,
                        additional_deps=[d.asset_key for d in check.additional_deps])
        def idle_check():
            return dg.AssetCheckResult(passed=True)

        return idle_check

    @dg.multi_asset(name=definition.node_def.name, specs=specs, check_specs=checks, can_subset=True)
    def idle_step(context: dg.AssetExecutionContext):
        for spec in specs:
            if spec.key in context.selected_asset_keys:
                yield dg.MaterializeResult(asset_key=spec.key, check_results=[
                    dg.AssetCheckResult(asset_key=c.asset_key, check_name=c.name, passed=True)
                    for c in checks if c.asset_key == spec.key and c.key in context.selected_asset_check_keys])

    return idle_step


def idle_definitions() -> list:
    return [_idle(d) for d in [*ASSETS, *ASSET_CHECKS]]


def run_dagster_floor(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = dg.materialize(idle_definitions(), instance=instance)
    if not result.success:
        raise SystemExit("the Dagster floor's run failed")
    return result


def main() -> int:
    with dg.DagsterInstance.get() as instance:
        result = run_dagster_floor(instance)
    print(f"{len(result.get_asset_materialization_events())} materializations, "
          f"{len(result.get_asset_check_evaluations())} check evaluations")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
