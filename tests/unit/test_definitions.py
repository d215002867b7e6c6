"""The Dagster definitions load and say what the contract promises."""

import dagster as dg

from pipelines.definitions import defs


def test_definitions_load_with_one_job_over_every_asset():
    d = defs()
    job = d.resolve_job_def("funnel_job")
    keys = {k.to_user_string() for k in d.resolve_all_asset_keys()}
    assert {"raw/ga4_sessions", "raw/leads", "raw/deals", "raw/spend", "raw/touchpoints"} <= keys
    assert {f"marts/{m}" for m in ["channel_funnel", "lead_cohort_funnel", "mql_to_sql", "deal_to_win",
                                   "channel_roi", "stage_velocity"]} <= keys
    assert {"published/funnel_duckdb", "report/funnel_report"} <= keys
    assert set(job.asset_layer.executable_asset_keys) >= {dg.AssetKey(["published", "funnel_duckdb"]),
                                                           dg.AssetKey(["report", "funnel_report"])}


def test_nightly_schedule_runs_at_two_tokyo_time_and_is_on_by_default():
    schedule = defs().resolve_schedule_def("nightly_funnel")
    assert schedule.cron_schedule == "0 2 * * *"
    assert schedule.execution_timezone == "Asia/Tokyo"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    assert schedule.job_name == "funnel_job"


def test_every_asset_has_an_owner_a_group_and_a_description():
    d = defs()
    for spec in d.resolve_all_asset_specs():
        assert spec.owners, spec.key
        assert spec.group_name in {"ingest", "staging", "marts", "publish", "report"}, spec.key
        assert spec.description, spec.key


def test_funnel_run_files_its_runs_under_the_code_location_make_ui_serves():
    """`make ui` serves `dagster dev -m <module>` with no location name, so Dagster names the location after
    the module; `funnel run` creates its runs under that name (pipelines/launch.py)."""
    import re

    from pipelines.launch import DEFINITIONS_MODULE, code_location_origin
    from tests.conftest import REPO

    [ui] = [line for line in (REPO / "Makefile").read_text().splitlines() if "dagster dev" in line]
    assert re.search(rf"dagster dev -m {re.escape(DEFINITIONS_MODULE)}(\s|$)", ui), ui
    assert not re.search(r"\s(-l|--location-name|-a|--attribute)\s", ui), ui
    assert code_location_origin().location_name == DEFINITIONS_MODULE
