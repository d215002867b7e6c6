"""Every asset and check of funnel sync, and the job that runs them all."""

import dagster as dg

from assets.ingest.asset import INGEST_ASSETS
from assets.plan.target_settings import TARGET_SETTINGS_ASSETS
from assets.publish.publish import published_warehouse
from assets.report.report import funnel_report
from assets.checks.staging import STAGING_CHECKS
from assets.transform.step import TRANSFORM_ASSETS

ASSETS = [*INGEST_ASSETS, *TARGET_SETTINGS_ASSETS, *TRANSFORM_ASSETS, published_warehouse, funnel_report]
ASSET_CHECKS = STAGING_CHECKS

funnel_job = dg.define_asset_job(
    "funnel_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,  # DuckDB allows one writer: steps share one process
    description="Inbox -> raw -> staging -> marts -> checks -> published DuckDB file -> funnel report.",
)


def step_assets() -> dict[str, str]:
    """Step key -> the asset it materialises (or, for a check, the asset it checks)."""
    out = {a.node_def.name: ", ".join(k.to_user_string() for k in a.keys) for a in ASSETS}
    for c in ASSET_CHECKS:
        out[c.node_def.name] = ", ".join(sorted({k.asset_key.to_user_string() for k in c.check_keys}))
    return out
