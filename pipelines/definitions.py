"""The Dagster entry point: every asset and check, the job, the nightly schedule, the inbox and alert sensors."""

import os

import dagster as dg

from assets.core import settings
from assets.core.resource import default_funnel_resource
from pipelines.alerts import record_held_back_sources, record_run_failures
from pipelines.jobs import ASSET_CHECKS, ASSETS, funnel_job
from pipelines.sensors import inbox_sensor

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_funnel",
    job=funnel_job,
    cron_schedule=os.environ.get("FUNNEL_SCHEDULE_CRON", "0 2 * * *"),
    execution_timezone=settings.schedule_timezone(),
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Runs the whole pipeline every night on whatever the inbox holds.",
)


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(
        assets=ASSETS,
        asset_checks=ASSET_CHECKS,
        jobs=[funnel_job],
        schedules=[nightly_schedule],
        sensors=[record_run_failures, record_held_back_sources, inbox_sensor],
        resources={"funnel": default_funnel_resource()},
    )
