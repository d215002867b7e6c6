"""Failed runs and sources held back become alerts: ops.alerts rows and a Slack-compatible webhook
message, posted to a local HTTP server on 127.0.0.1; recorded once however often they are seen."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb

from assets.core import settings
from pipelines.alerts import record_held_back_sources, record_run_failures
from pipelines.cli import main
from tests.conftest import write_export


def held_back_inbox(inbox: Path) -> Path:
    """A good leads file and a deals file the run refuses: deals is held back, the run publishes."""
    write_export(inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,Webinar\n")
    write_export(inbox, "deals", "deals_bad.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,Closed Won,-5\n")
    return inbox


def alerts(warehouse: Path) -> list[tuple]:
    with duckdb.connect(str(settings.working_database_path(warehouse)), read_only=True) as con:
        return con.execute("SELECT run_id, step_key, job_name, asset_key, error, webhook FROM ops.alerts").fetchall()


def run_job(inbox: Path, wh: Path, config_dir: Path = settings.PROJECT_ROOT / "config"
            ) -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
    from pipelines.definitions import defs

    instance = dg.DagsterInstance.ephemeral()
    result = defs().resolve_job_def("funnel_job").execute_in_process(
        instance=instance, raise_on_error=False,
        run_config={"resources": {"funnel": {"config": {
            "inbox_dir": str(inbox), "config_dir": str(config_dir), "warehouse_path": str(wh),
            "timezone": "Asia/Tokyo"}}}})
    return result, instance


def success_context(result: dg.ExecuteInProcessResult, instance: dg.DagsterInstance):
    success = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
    return dg.build_run_status_sensor_context(
        sensor_name="record_held_back_sources", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=success)


def test_a_source_held_back_is_recorded_by_its_sensor_and_posted_once(tmp_inbox, tmp_path, webhook):
    wh = tmp_path / "wh" / "funnel.duckdb"
    result, instance = run_job(held_back_inbox(tmp_inbox), wh)
    assert result.success

    record_held_back_sources(success_context(result, instance))
    record_held_back_sources(success_context(result, instance))  # the daemon may see a run twice

    assert len(webhook.received) == 1
    message = webhook.received[0]
    assert message["content_type"] == "application/json"
    text = message["json"]["text"]
    assert text.startswith(f"funnel sync: run {result.run_id} of funnel_job held back asset `raw/deals`: "
                           "its new files were refused")
    assert "deals/deals_bad.csv: row 1, column amount: is negative (value '-5')" in text
    assert [b["type"] for b in message["json"]["blocks"]] == ["section", "section"]
    [(run_id, step, job, asset, error, status)] = alerts(wh)
    assert (run_id, step, job, asset, status) == (result.run_id, "deals_no_file_refused", "funnel_job", "raw/deals",
                                                  "sent (HTTP 200)")
    assert "Fix the file" in error and "deals/deals_bad.csv" in error


def test_the_run_failure_sensor_records_the_failed_step_and_posts_it_once(tmp_inbox, tmp_path, webhook):
    """A run that fails at a step (here the report, its configuration wrong) and held a source back: both
    are alerts, each recorded and posted once."""
    import shutil

    config = shutil.copytree(settings.PROJECT_ROOT / "config", tmp_path / "config")
    (config / "report.yaml").write_text("months: 0\n", encoding="utf-8")
    wh = tmp_path / "wh" / "funnel.duckdb"
    result, instance = run_job(held_back_inbox(tmp_inbox), wh, config)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="record_run_failures", dagster_instance=instance, dagster_run=result.dagster_run,
        dagster_event=failure).for_run_failure()

    record_run_failures(context)
    record_run_failures(context)

    texts = sorted(m["json"]["text"] for m in webhook.received)
    assert len(texts) == 2
    assert texts[0].startswith(f"funnel sync: run {result.run_id} of funnel_job failed at asset `report/funnel_report`")
    assert "months" in texts[0]
    assert texts[1].startswith(f"funnel sync: run {result.run_id} of funnel_job held back asset `raw/deals`")
    assert sorted((a[1], a[3]) for a in alerts(wh)) == [("deals_no_file_refused", "raw/deals"),
                                                        ("report__funnel_report", "report/funnel_report")]


def test_a_webhook_that_is_down_or_refuses_is_recorded_not_raised(tmp_inbox, tmp_path, webhook, monkeypatch):
    wh = tmp_path / "wh" / "funnel.duckdb"
    result, instance = run_job(held_back_inbox(tmp_inbox), wh)
    webhook.status = 500

    record_held_back_sources(success_context(result, instance))

    assert [a[5] for a in alerts(wh)] == ["refused (HTTP 500)"]
    assert len(webhook.received) == 1


def test_funnel_run_records_its_own_alert_and_posts_it(tmp_inbox, tmp_path, webhook, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    wh = tmp_path / "w.duckdb"

    assert main(["run", "--inbox", str(held_back_inbox(tmp_inbox)), "--warehouse", str(wh)]) == 1

    assert "alert   raw/deals: sent (HTTP 200)" in capsys.readouterr().err
    assert [(a[1], a[3], a[5]) for a in alerts(wh)] == [("deals_no_file_refused", "raw/deals", "sent (HTTP 200)")]
    assert "deals/deals_bad.csv: row 1, column amount: is negative" in webhook.received[0]["json"]["text"]


def test_without_a_webhook_the_alert_is_only_recorded(tmp_inbox, tmp_path, monkeypatch):
    monkeypatch.delenv("FUNNEL_ALERT_WEBHOOK", raising=False)
    wh = tmp_path / "wh" / "funnel.duckdb"
    result, instance = run_job(held_back_inbox(tmp_inbox), wh)

    record_held_back_sources(success_context(result, instance))

    assert [a[5] for a in alerts(wh)] == ["no webhook configured"]


def test_the_sensors_are_part_of_the_definitions_and_running_by_default():
    from pipelines.definitions import defs

    for name in ("record_run_failures", "record_held_back_sources"):
        assert defs().resolve_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING
