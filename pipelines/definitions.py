"""The Dagster entry point: every asset, check, the job, the nightly schedule."""

import os

import dagster as dg

from assets.ingest.load import INGEST_ASSETS
from assets.transform.marts import MART_CHECKS
from assets.publish.publish import published_warehouse
from assets.report.report import funnel_report
from assets.plan.target_settings import TARGET_SETTINGS_ASSETS
from assets.transform.step import TRANSFORM_ASSETS
from pipelines.alerts import record_run_failures
from assets.core.resource import default_funnel_resource

funnel_job = dg.define_asset_job(
    "funnel_job",
    selection=dg.AssetSelection.all(),
    executor_def=dg.in_process_executor,  # DuckDB allows one writer: steps share one process
    description="Inbox -> raw -> staging -> marts -> checks -> published DuckDB file -> funnel report.",
)

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_funnel",
    job=funnel_job,
    cron_schedule=os.environ.get("FUNNEL_SCHEDULE_CRON", "0 2 * * *"),
    execution_timezone=os.environ.get("FUNNEL_SCHEDULE_TIMEZONE", "Asia/Tokyo"),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Runs the whole pipeline every night on whatever the inbox holds.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=[*INGEST_ASSETS, *TARGET_SETTINGS_ASSETS, *TRANSFORM_ASSETS, published_warehouse, funnel_report],
        asset_checks=MART_CHECKS,
        jobs=[funnel_job],
        schedules=[nightly_schedule],
        sensors=[record_run_failures],
        resources={"funnel": default_funnel_resource()},
    )
