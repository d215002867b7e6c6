"""Failed runs, and sources held back by a refused file, become alerts: a row in `ops.alerts` of
the warehouse the run wrote to, and, when FUNNEL_ALERT_WEBHOOK is set, a Slack-compatible JSON
message.

A refused file does not fail its run (the other sources are published; assets/ingest/asset.py):
its source's `<source>_no_file_refused` check fails, and that is an alert of its own, keyed by the
check's name. The run-status sensors call this for the runs of the code location while a Dagster
daemon runs (the nightly schedule, launches from the UI, `funnel run`'s): one for failed runs, one
for succeeded runs that held a source back. `funnel run` calls it for its own run too, since no
daemon may be running. An alert is keyed by (run, step or check), so one seen by both is recorded
and posted once.
"""

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from assets.core import markdown, settings
from assets.core.database import prepare_working_database
from assets.core.resource import FunnelResource, WarehouseUnavailable
from assets.ingest.asset import refused_check_name
from pipelines.jobs import step_assets
from schemas import SOURCES

WEBHOOK_ENV = "FUNNEL_ALERT_WEBHOOK"
MAX_ERROR_CHARS = 2900  # a Slack section holds 3000 characters
ALERT_LOCK_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Failure:
    step_key: str  # "" for a failure of the run itself; the check's name for a source held back
    asset_key: str | None
    error: str
    held_back: bool = False  # a refused file held its source back; the run itself may have succeeded


def held_back_of(events) -> list[Failure]:
    """One Failure per source whose files were refused in a run (its failed no_file_refused check): what
    was held back, why and what to do."""
    names = {refused_check_name(source) for source in SOURCES}
    out = []
    for event in events:
        if event.event_type != dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            continue
        evaluation = event.event_specific_data
        if evaluation.check_name in names and not evaluation.passed:
            problem = evaluation.metadata.get("problem")
            out.append(Failure(evaluation.check_name, evaluation.asset_key.to_user_string(),
                               markdown.plain(problem.value) if problem else "files refused", held_back=True))
    return out


def failures_of(events) -> list[Failure]:
    """One Failure per failed step of a run's events (its dg.Failure description when it
    raised one, which names the file and what to do; else the error message); for a run that
    failed before any step (its resources could not start: a read-only or full disk, a locked
    database), one Failure of the run with that cause."""
    out = []
    for event in events:
        if event.event_type != dg.DagsterEventType.STEP_FAILURE:
            continue
        user = getattr(event.event_specific_data, "user_failure_data", None)
        # The transform step names the tables it failed on.
        named = user and user.metadata.get("failed_assets")
        out.append(Failure(event.step_key, named.value if named else step_assets().get(event.step_key),
                           failure_message(event).strip()))
    if out:
        return out
    causes = [innermost(e.event_specific_data.error) for e in events
              if e.event_type in (dg.DagsterEventType.RESOURCE_INIT_FAILURE, dg.DagsterEventType.RUN_FAILURE)
              and getattr(e.event_specific_data, "error", None)]
    return [Failure("", None, causes[0])] if causes else []


def innermost(error) -> str:
    """The message of the innermost cause of a serialised error (the OS or DuckDB error, not Dagster's
    wrapper around it), without its exception class when that is Dagster's own."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def failure_message(event) -> str:
    """What a failed step says: its dg.Failure description (the file, the problem and what to
    do) when it raised one, else the error's message."""
    data = event.event_specific_data
    user = getattr(data, "user_failure_data", None)
    if user is not None and user.description:
        return user.description
    err = data.error
    return (err.cause.message if err.cause else err.message) if err else "step failed"


def slack_message(run_id: str, job_name: str, failure: Failure, ui_url: str | None = None) -> dict:
    where = f"asset `{failure.asset_key}`" if failure.asset_key else "the run itself"
    error = failure.error if len(failure.error) <= MAX_ERROR_CHARS else failure.error[:MAX_ERROR_CHARS] + "..."
    title = (f"funnel sync: run {run_id} of {job_name} held back {where}: its new files were refused"
             if failure.held_back else f"funnel sync: run {run_id} of {job_name} failed at {where}")
    link = f"\n<{ui_url}/runs/{run_id}|Open the run in the Dagster UI>" if ui_url else ""
    return {
        "text": f"{title}\n{error}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*{link}"}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{error}```"}},
        ],
    }


def post_webhook(url: str, payload: dict, timeout: float = 10.0) -> str:
    """POST the JSON; returns what happened, in words, for ops.alerts (never raises)."""
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return f"sent (HTTP {response.status})"
    except urllib.error.HTTPError as exc:
        return f"refused (HTTP {exc.code})"
    except (urllib.error.URLError, OSError) as exc:
        return f"not sent ({getattr(exc, 'reason', exc)})"


def record_failure(warehouse_path: str | Path, run_id: str, job_name: str, failures: list[Failure],
                   webhook_url: str | None = None, ui_url: str | None = None) -> list[dict]:
    """Insert each failure into ops.alerts once and post the new ones to the webhook. When the warehouse
    itself is the fault (a read-only or full disk, a database another process holds), every failure is
    still posted, and what it says notes that it could not be recorded."""
    webhook_url = webhook_url if webhook_url is not None else os.environ.get(WEBHOOK_ENV)

    def post(failure: Failure) -> str:
        return post_webhook(webhook_url, slack_message(run_id, job_name, failure, ui_url)) if webhook_url \
            else "no webhook configured"

    recorded: list[dict] = []
    try:
        _record_in_warehouse(warehouse_path, run_id, job_name, failures, post, recorded)
    except (WarehouseUnavailable, duckdb.Error, OSError) as exc:
        done = {r["step_key"] for r in recorded}
        for failure in failures:
            if failure.step_key not in done:
                recorded.append({"step_key": failure.step_key, "asset_key": failure.asset_key,
                                 "webhook": f"{post(failure)}; not recorded in ops.alerts: {exc}"})
    return recorded


def _record_in_warehouse(warehouse_path: str | Path, run_id: str, job_name: str, failures: list[Failure],
                         post, recorded: list[dict]) -> None:

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    # The same connection settings as the run's (DuckDB refuses a second configuration of an open file in
    # one process). While another process holds it, the alert waits a few seconds, not a run's wait.
    with FunnelResource(warehouse_path=str(warehouse_path)).connect(ALERT_LOCK_WAIT_SECONDS) as con:
        prepare_working_database(con)
        for failure in failures:
            new = con.execute(
                "INSERT INTO ops.alerts (run_id, step_key, job_name, asset_key, error, raised_at) "
                "VALUES ($run, $step, $job, $asset, $error, $now) ON CONFLICT DO NOTHING RETURNING run_id",
                {"run": run_id, "step": failure.step_key, "job": job_name, "asset": failure.asset_key,
                 "error": failure.error, "now": now},
            ).fetchall()
            if not new:
                continue  # already recorded (by the sensor or by `funnel run`)
            status = post(failure)
            recorded.append({"step_key": failure.step_key, "asset_key": failure.asset_key, "webhook": status})
            con.execute("UPDATE ops.alerts SET webhook = $status WHERE run_id = $run AND step_key = $step",
                        {"status": status, "run": run_id, "step": failure.step_key})


def warehouse_of(run: dg.DagsterRun, default: str) -> str:
    """The warehouse the run wrote to: its run config's funnel resource, else the default."""
    config = ((run.run_config or {}).get("resources", {}).get("funnel", {}) or {}).get("config", {}) or {}
    return config.get("warehouse_path") or default


@dg.run_failure_sensor(
    name="record_run_failures",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records every failed run's failed steps in ops.alerts and posts them to FUNNEL_ALERT_WEBHOOK "
    "(Slack-compatible JSON) when it is set.",
)
def record_run_failures(context: dg.RunFailureSensorContext) -> None:
    run = context.dagster_run
    failures = failures_of(context.get_step_failure_events())
    if not failures:
        error = getattr(context.failure_event.event_specific_data, "error", None)
        failures = [Failure("", None, innermost(error) if error else (context.failure_event.message or "run failed"))]
    failures += held_back_of(_check_evaluations(context.instance, run.run_id))
    _record(context, failures)


def _check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    return [r.event_log_entry.dagster_event for r in records if r.event_log_entry.dagster_event]


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="record_held_back_sources",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Records each source a succeeded run held back (a file of it refused: its no_file_refused check "
    "failed, the other sources were published) in ops.alerts, and posts it to FUNNEL_ALERT_WEBHOOK when it is set.",
)
def record_held_back_sources(context: dg.RunStatusSensorContext) -> None:
    run = context.dagster_run
    held_back = held_back_of(_check_evaluations(context.instance, run.run_id))
    if held_back:
        _record(context, held_back)


def _record(context: dg.RunStatusSensorContext, failures: list[Failure]) -> None:
    """`failures` of the sensor's run into ops.alerts of the warehouse it wrote, and to the webhook."""
    run = context.dagster_run
    recorded = record_failure(warehouse_of(run, settings.warehouse_path()), run.run_id, run.job_name, failures,
                              ui_url=os.environ.get("FUNNEL_DAGSTER_UI_URL"))
    context.log.info(f"recorded {len(recorded)} alert(s) for run {run.run_id}: {recorded}")
