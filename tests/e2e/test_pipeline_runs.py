"""Whole runs: a bad file holds back its source while the others are published, a re-run
changes nothing, and `funnel run` writes where it is told."""

import os
from pathlib import Path

import pytest

from pipelines.definitions import defs
from pipelines.cli import main
from tests.conftest import copy_run, query, refused_text, run_funnel_job, write_export

LEADS = """
    lead_id,created_at,lead_source
    L1,2026-07-03 10:00,Webinar
    L2,2026-07-04 10:00,展示会
    """
DEALS = """
    deal_id,created_at,stage,lead_id,amount,close_date
    D1,2026-07-10,Closed Won,L1,1000000,2026-08-01
    """
SESSIONS = """
    date,session_source,session_medium,sessions
    2026-07-01,google,organic,10
    """
SPEND = """
    date,channel,cost
    2026-07,Webinar,50000
    """


def small_inbox(inbox: Path) -> Path:
    write_export(inbox, "leads", "leads.csv", LEADS)
    write_export(inbox, "deals", "deals.csv", DEALS)
    write_export(inbox, "ga4_sessions", "ga4.csv", SESSIONS)
    write_export(inbox, "spend", "spend.csv", SPEND)
    return inbox


@pytest.fixture(scope="module")
def first_run(tmp_path_factory) -> Path:
    """The small inbox through the real job into a fresh warehouse: a folder with its inbox and warehouse."""
    root = tmp_path_factory.mktemp("first_run")
    assert run_funnel_job(small_inbox(root / "inbox"), root / "wh" / "funnel.duckdb").success
    return root


@pytest.fixture
def after_first_run(first_run, tmp_path) -> tuple[Path, Path]:
    """This test's own copy of the first run's inbox and warehouse folder, to go on from."""
    root = copy_run(first_run, tmp_path / "first_run")
    return root / "inbox", root / "wh" / "funnel.duckdb"


def test_a_bad_file_fails_its_source_s_check_and_the_marts_keep_that_source_s_data(after_first_run):
    inbox, wh = after_first_run
    before = marts(wh)
    write_export(inbox, "leads", "leads_broken.csv", """
        lead_id,created_at,lead_source
        L3,yesterday,Webinar
        """)
    result = run_funnel_job(inbox, wh)
    assert result.success  # nothing failed to run: the source is held back
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "leads_no_file_refused"]
    assert not check.passed and check.severity.value == "ERROR"
    assert "leads/leads_broken.csv: row 1, column created_at" in refused_text(result)
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(2,)]
    after = marts(wh)
    assert {t: rows for t, rows in after.items() if t != "target_plan"} == {
        t: rows for t, rows in before.items() if t != "target_plan"}  # the plan is of today
    assert query(wh, "SELECT file_name, status FROM ops.load_log WHERE status = 'rejected'") == [
        ("leads/leads_broken.csv", "rejected")]  # published: what was refused is there to query


def test_a_refused_leads_file_holds_back_leads_and_the_new_spend_is_published(after_first_run, tmp_path,
                                                                              monkeypatch, capsys, webhook):
    """Issue 23: one refused leads file held back the new spend and GA4 data of the same night. Now the
    spend of the night is published, the leads figures stay the previous night's, and `funnel run`,
    the alert, `funnel status` and the report name the file held back."""
    inbox, wh = after_first_run
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    leads_before = query(wh, "SELECT period_start, channel, leads, mqls, sqls FROM marts.channel_funnel ORDER BY ALL")
    cohorts_before = query(wh, "SELECT * FROM marts.lead_cohort_funnel ORDER BY ALL")
    write_export(inbox, "leads", "leads_2026-08-01.csv", "lead_id,created_at,lead_source\nL3,yesterday,Webinar\n")
    write_export(inbox, "spend", "spend_2026-08.csv", "date,channel,cost\n2026-08,Webinar,70000\n")
    write_export(inbox, "ga4_sessions", "ga4_2026-08.csv",
                 "date,session_source,session_medium,sessions\n2026-08-01,google,organic,7\n")

    assert main(["run", "--inbox", str(inbox), "--warehouse", str(wh)]) == 1

    err = capsys.readouterr().err
    assert "published, but HELD BACK the new files of raw/leads" in err
    assert "leads/leads_2026-08-01.csv: row 1, column created_at: is not a date/time" in err
    # the night's spend and sessions are published: 50,000 in July before, 70,000 in August now
    assert query(wh, "SELECT strftime(period_start, '%Y-%m'), sum(spend) FROM marts.channel_roi "
                     "GROUP BY ALL HAVING sum(spend) > 0 ORDER BY 1") == [("2026-07", 50000), ("2026-08", 70000)]
    assert query(wh, "SELECT sum(sessions) FROM marts.channel_funnel WHERE period_start = '2026-08-01'") == [(7,)]
    # the leads figures are the previous night's: L1 and L2 of July
    assert query(wh, "SELECT period_start, channel, leads, mqls, sqls FROM marts.channel_funnel ORDER BY ALL"
                 ) == leads_before
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(2,)]
    assert query(wh, "SELECT * FROM marts.lead_cohort_funnel ORDER BY ALL") == cohorts_before
    # the alert names the file
    [message] = webhook.received
    assert "held back asset `raw/leads`" in message["json"]["text"]
    assert "leads/leads_2026-08-01.csv" in message["json"]["text"]
    # funnel status names it too
    assert main(["status", "--inbox", str(inbox), "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    leads_row = next(line for line in out.split(f"Inbox {inbox}:")[1].splitlines() if line.split()[:1] == ["leads"])
    assert leads_row.split()[2] == "leads/leads_2026-08-01.csv" and leads_row.split()[-1] == "REFUSED"
    held = out.split("Newest file refused, so the source is held back at its last loaded file:\n")[1].split("\n\n")[0]
    assert "leads/leads_2026-08-01.csv" in held and "1 of its 1 rows (100.0%) fail a check" in held
    alerts = out.split("Alerts of the last run that raised any:\n")[1].split("\n\n")[0]
    assert "raw/leads" in alerts and "leads/leads_2026-08-01.csv" in alerts
    # and the report opens with it
    report = (wh.parent / "report" / "funnel_report.html").read_text(encoding="utf-8")
    assert "leads: leads/leads_2026-08-01.csv (1 of its 1 rows (100.0%) fail a check" in report


def test_rerun_without_new_files_changes_nothing(after_first_run):
    inbox, wh = after_first_run
    first = query(wh, "SELECT * FROM marts.channel_funnel ORDER BY ALL")
    assert first, "the first run published no funnel rows: the comparison would prove nothing"
    assert run_funnel_job(inbox, wh).success
    assert query(wh, "SELECT * FROM marts.channel_funnel ORDER BY ALL") == first
    assert query(wh, "SELECT count(*), count(DISTINCT sha256) FROM ops.load_log") == [(4, 4)]


def test_funnel_run_writes_the_warehouse_it_is_given(tmp_inbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    wh = tmp_path / "elsewhere" / "mine.duckdb"
    write_export(small_inbox(tmp_inbox), "leads", "leads_2.csv", "lead_id,created_at,lead_source\nL3,2026-07-05,SEO\n")
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 0
    out = capsys.readouterr().out
    assert "Published DuckDB file" in out and str(wh) in out
    # progress per source file as the run goes, before the asset's line
    lines = [line.split() for line in out.splitlines()]
    progress = [line for line in lines if line[:2] == ["load", "leads"]]
    assert progress == [["load", "leads", "#####.....", "[1/2]", "leads/leads.csv:", "loaded,", "2", "rows"],
                        ["load", "leads", "##########", "[2/2]", "leads/leads_2.csv:", "loaded,", "1", "rows"]]
    assert lines.index(progress[-1]) < lines.index(["ok", "raw/leads", "3", "rows"])
    # the summary: per source files loaded, refused, already loaded, rows loaded, quarantined; then the checks
    assert ["leads", "2", "0", "0", "3", "0"] in lines
    assert ["touchpoints", "0", "0", "0", "0", "0"] in lines
    checks = next(line for line in lines if line[:1] == ["checks:"])
    every_check = len(defs().resolve_asset_graph().asset_check_keys)  # all fresh, mapped, reconciled
    assert checks == ["checks:", str(every_check), "passed,", "0", "warned,", "0", "failed"]
    assert query(wh, "SELECT sum(wins), sum(revenue) FROM marts.channel_funnel")[0][0] == 1
    assert (tmp_path / "elsewhere" / "mine.work.duckdb").exists()  # state beside the published file


def test_funnel_run_explains_each_warning_it_counts(tmp_inbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    write_export(small_inbox(tmp_inbox), "leads", "leads_2.csv",
                 "lead_id,created_at,lead_source\nL3,2026-07-05,Mystery Fair\n")  # no rule maps it
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(tmp_path / "wh" / "funnel.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "1 warned, 0 failed" in out
    warnings = out.split("Warnings (the publish went ahead):\n", 1)[1].splitlines()
    assert warnings[0].startswith("  every_raw_value_mapped: 1 record carries a value that no rule of "
                                  "config/channels.yaml or config/stages.yaml maps")


def test_funnel_run_exits_non_zero_with_the_reason(tmp_inbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    small_inbox(tmp_inbox)
    write_export(tmp_inbox, "deals", "deals_bad.csv", """
        deal_id,created_at,stage,amount
        D9,2026-07-10,Closed Won,-5
        """)
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(tmp_path / "w.duckdb")]) == 1
    err = capsys.readouterr().err
    assert "deals/deals_bad.csv: row 1, column amount: is negative" in err
    # the good deals file and the other sources are published; the refused one is not
    assert query(tmp_path / "w.duckdb", "SELECT sum(wins), sum(revenue) FROM marts.channel_funnel") == [(1, 1000000)]


def test_progress_bar_counts_rows_within_a_large_file():
    from types import SimpleNamespace

    from pipelines.cli import _progress_line

    def line(message):
        return _progress_line(SimpleNamespace(dagster_event=None, step_key="raw", user_message=message))

    assert line("[2/4] leads/big.csv: 300,000 of 1,000,000 rows checked") == (
        False, "  load    leads         ###....... [2/4] leads/big.csv: 300,000 of 1,000,000 rows checked")
    assert line("[2/4] leads/big.csv: loaded, 1,000,000 rows")[1].split()[2] == "#####....."  # files: 2 of 4
    assert line("not a progress line") is None


def test_a_run_opens_the_working_database_once_and_each_step_gets_a_cursor(tmp_path):
    import dagster as dg

    from assets.core.resource import FunnelResource

    funnel = FunnelResource(warehouse_path=str(tmp_path / "wh" / "funnel.duckdb"))
    funnel.setup_for_execution(dg.build_init_resource_context())
    try:
        with funnel.connect() as step1:
            step1.execute("CREATE TABLE kept AS SELECT 1 AS x")
            step1.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
        with funnel.connect() as step2:  # the same database: what a step wrote is there, its temp tables not
            assert step2.execute("SELECT x FROM kept").fetchall() == [(1,)]
            assert step2.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'"
                                 ).fetchone() == (0,)
    finally:
        funnel.teardown_after_execution(dg.build_init_resource_context())
    # closed at the end of the run: another process (here a plain connection) can open it
    assert query(funnel.working_path, "SELECT x FROM kept") == [(1,)]


def test_the_funnel_command_runs_the_exit_handlers_and_exits_with_mains_code():
    """console() skips the interpreter's teardown (os._exit) but not what a normal exit runs."""
    import subprocess
    import sys

    code = ("import atexit; from pipelines import cli; atexit.register(print, 'exit handler ran'); "
            "cli.main = lambda: 3; print('before', end=' '); cli.console()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert (done.returncode, done.stdout) == (3, "before exit handler ran\n")


def test_runs_a_killed_funnel_run_left_running_are_marked_failed_by_the_next(tmp_path, monkeypatch):
    """A `funnel run` killed (kill -9, a crash) leaves its Dagster run STARTED for good. The next
    marks failed the runs whose process on this host is gone, and only those: not a live process's,
    not another host's, not one without our tags (the UI's and the daemon's, which Dagster monitors).
    Each one marked is an alert in the warehouse that run wrote to (its run config, else the given one)."""
    import socket
    import subprocess
    import sys
    import uuid

    import dagster as dg

    from pipelines.cli import HOST_TAG, PID_TAG, fail_abandoned_runs
    from assets.core.resource import FunnelResource

    monkeypatch.delenv("FUNNEL_ALERT_WEBHOOK", raising=False)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    here = socket.gethostname()
    with dg.DagsterInstance.ephemeral() as instance:
        def run(tags: dict, job: str = "funnel_job", status=dg.DagsterRunStatus.STARTED, run_config=None) -> str:
            run_id = str(uuid.uuid4())
            instance.add_run(dg.DagsterRun(job_name=job, run_id=run_id, status=status, tags=tags,
                                           run_config=run_config or {}))
            return run_id

        killed = run({HOST_TAG: here, PID_TAG: str(gone.pid)})
        elsewhere_wh = tmp_path / "elsewhere" / "funnel.duckdb"
        killed_early = run({HOST_TAG: here, PID_TAG: str(gone.pid)}, status=dg.DagsterRunStatus.NOT_STARTED,
                           run_config={"resources": {"funnel": {"config": {"warehouse_path": str(elsewhere_wh)}}}})
        alive = run({HOST_TAG: here, PID_TAG: str(os.getpid())})
        elsewhere = run({HOST_TAG: here + "-other", PID_TAG: str(gone.pid)})
        launched = run({})
        other_job = run({HOST_TAG: here, PID_TAG: str(gone.pid)}, job="other_job")
        finished = run({HOST_TAG: here, PID_TAG: str(gone.pid)}, status=dg.DagsterRunStatus.SUCCESS)

        default_wh = tmp_path / "wh" / "funnel.duckdb"
        marked = fail_abandoned_runs(instance, "funnel_job", str(default_wh))
        assert sorted(marked) == sorted([killed, killed_early])
        assert [a["webhook"] for alerts in marked.values() for a in alerts] == ["no webhook configured"] * 2
        status = {r: instance.get_run_by_id(r).status for r in
                  (killed, killed_early, alive, elsewhere, launched, other_job, finished)}
        assert status == {killed: dg.DagsterRunStatus.FAILURE, killed_early: dg.DagsterRunStatus.FAILURE,
                          alive: dg.DagsterRunStatus.STARTED, elsewhere: dg.DagsterRunStatus.STARTED,
                          launched: dg.DagsterRunStatus.STARTED, other_job: dg.DagsterRunStatus.STARTED,
                          finished: dg.DagsterRunStatus.SUCCESS}
        failure = [e for e in instance.all_logs(killed) if e.dagster_event and e.dagster_event.is_run_failure]
        assert f"pid {gone.pid}" in failure[0].dagster_event.message
        assert fail_abandoned_runs(instance, "funnel_job", str(default_wh)) == {}  # once

    def alerts(wh):
        return query(FunnelResource(warehouse_path=str(wh)).working_path,
                     "SELECT run_id, step_key, job_name, asset_key, error FROM ops.alerts")
    [(run_id, step, job, asset, error)] = alerts(default_wh)
    assert (run_id, step, job, asset) == (killed, "", "funnel_job", None)
    assert error.startswith(f"The process that ran it (pid {gone.pid}) ended before the run did")
    assert [a[0] for a in alerts(elsewhere_wh)] == [killed_early]


def builds(result) -> dict[str, str]:
    """Table -> how the transform step built it (metadata `build`), for the tables that say."""
    return {e.asset_key.to_user_string(): e.materialization.metadata["build"].value
            for e in result.get_asset_materialization_events() if "build" in e.materialization.metadata}


def marts(warehouse: Path) -> dict[str, list[tuple]]:
    tables = query(warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1")
    return {t: query(warehouse, f"SELECT * FROM marts.{t} ORDER BY ALL") for (t,) in tables}


def test_rerun_without_new_files_builds_no_table_again(after_first_run):
    inbox, wh = after_first_run
    result = run_funnel_job(inbox, wh)
    assert result.success
    built = builds(result)
    # every table of the transform step but the channel lookup (written every run from Python); the target
    # plan is unchanged on the same day
    assert len(built) == 31 and set(built.values()) == {"unchanged"}, built


def test_a_new_spend_file_rebuilds_what_reads_spend_and_nothing_else(after_first_run, tmp_path):
    inbox, wh = after_first_run
    write_export(inbox, "spend", "spend_2026-08.csv", "date,channel,cost\n2026-08,Webinar,70000\n")
    result = run_funnel_job(inbox, wh)
    assert result.success
    rebuilt = {table for table, how in builds(result).items() if how != "unchanged"}
    # staging.spend, what reads it, and what reads those (assets/sql/*: the FROM clauses)
    assert rebuilt == {"staging/spend", "ops/unmapped_values", "marts/channel_funnel", "marts/channel_roi",
                       "marts/cohort_roi", "marts/pipeline_velocity", "marts/channel_funnel_fiscal",
                       "marts/channel_roi_fiscal", "marts/cohort_roi_fiscal",
                       "marts/target_plan"}  # reads channel_funnel (impressions and clicks come from spend)
    assert query(wh, "SELECT sum(spend) FROM marts.channel_roi") == [(120000,)]
    # the published marts are those of a run that builds everything from the same files
    fresh = tmp_path / "fresh" / "funnel.duckdb"
    assert run_funnel_job(inbox, fresh).success
    assert marts(wh) == marts(fresh)


def test_each_table_depends_on_the_writers_of_what_its_sql_reads(after_first_run):
    """The tables each SQL model reads, as DuckDB's parser finds them, are tables the run left in the
    working database, and its asset depends on the asset that writes each: a table read but not named
    would be left stale."""
    import duckdb

    from assets.core import settings
    from assets.core.models import discover
    from assets.transform.registry import TABLES, producers

    _, wh = after_first_run
    models = discover()
    produced = producers(models)
    assets = {t.key: t for t in TABLES}
    with duckdb.connect(str(settings.working_database_path(wh)), read_only=True) as con:
        existing = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    for model in models:
        assert set(model.reads) <= existing, (model.file, set(model.reads) - existing)
        assert set(model.creates) <= existing, (model.file, set(model.creates) - existing)
        deps = {d.asset_key for d in assets[model.key].spec.deps}
        wanted = {produced[t] for t in model.reads if produced[t] not in (None, model.key)}
        assert deps == wanted, model.file
    # 20 marts and 10 staging/ops tables from SQL files, each reading something
    assert len(models) == 30 and all(m.reads for m in models)
