"""`funnel status`: last runs, inbox freshness, load state and failing checks, read
back from the Dagster instance and the working database after real runs."""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import dagster as dg

from pipelines.cli import main
from assets.core import settings
from tests.conftest import query, run_funnel_job, write_export


def section(out: str, title: str) -> list[str]:
    """The lines of a section of the status report, its header row first."""
    return out.split(title + "\n")[1].split("\n\n")[0].splitlines()


def test_status_after_a_good_run_and_one_that_held_a_source_back(tmp_inbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    wh = tmp_path / "w.duckdb"
    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,Webinar\n"
                 + "".join(f"L{i},2026-07-03,Webinar\n" for i in range(2, 38))
                 + "L38,2026-07-03,Mystery Fair\nL39,2026-07-03,Mystery Fair\nL99,2031-01-01,Webinar\n")
    write_export(tmp_inbox, "spend", "spend.csv", "date,channel,cost\n2026-07,Billboard,100\n")
    old = time.time() - 50 * 3600
    deals = write_export(tmp_inbox, "deals", "deals.csv", "deal_id,created_at,stage\nD1,2026-07-10,受注\n", mtime=old)
    write_export(tmp_inbox, "ga4_sessions", "ga4.csv", "date,session_source,session_medium,sessions\n"
                 "2026-07-01,google,organic,5\n", mtime=old)
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 0
    write_export(tmp_inbox, "deals", "deals_bad.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,受注,-5\n",
                 mtime=old + 60)
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 1
    os.utime(wh, (1782864000, 1782864000))  # 2026-07-01 00:00 UTC
    capsys.readouterr()
    monkeypatch.setenv("FUNNEL_SCHEDULE_TIMEZONE", "Asia/Kolkata")  # UTC+05:30 all year

    assert main(["status", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 0

    out = capsys.readouterr().out
    runs = section(out, "Last runs:")
    assert runs[0].split() == ["run", "job", "status", "started", "(Asia/Kolkata)", "took"]
    assert [line.split()[2] for line in runs[1:]] == ["SUCCESS", "SUCCESS"]  # newest first; deals held back
    with dg.DagsterInstance.get() as instance:
        started = [r.start_time for r in instance.get_run_records()]
    kolkata = timedelta(hours=5, minutes=30)
    assert [" ".join(line.split()[3:5]) for line in runs[1:]] == [
        f"{datetime.fromtimestamp(t, timezone.utc).replace(tzinfo=None) + kolkata:%Y-%m-%d %H:%M}" for t in started]
    inbox = section(out, f"Inbox {tmp_inbox}:")
    lines = {line.split()[0]: line.split() for line in inbox}
    assert lines["leads"][1:3] == ["1", "leads/leads.csv"] and lines["leads"][-1] == "fresh"
    # the newest deals file was refused: not fresh, whatever its age, and why is said below
    assert lines["deals"][1:3] == ["2", "deals/deals_bad.csv"] and lines["deals"][-1] == "REFUSED"
    assert lines["ga4_sessions"][1:3] == ["1", "ga4_sessions/ga4.csv"] and lines["ga4_sessions"][-1] == "STALE"
    assert 50 <= float(lines["ga4_sessions"][3]) < 51  # hours, and the runs took minutes
    assert lines["touchpoints"][1:3] == ["0", "-"] and lines["touchpoints"][-2:] == ["optional,", "none"]
    held = section(out, "Newest file refused, so the source is held back at its last loaded file:")
    assert held[0].split()[:4] == ["source", "when", "(Asia/Kolkata)", "file"]
    assert held[1].split()[0] == "deals" and held[1].split()[3] == "deals/deals_bad.csv"
    assert "1 of its 1 rows (100.0%) fail a check" in held[1]
    assert held[1].endswith(str(wh.with_name("w.problems") / "deals" / "deals__deals_bad.csv.problems.csv"))
    assert "Last refused file per source:" not in out  # the same file: said once
    work = settings.working_database_path(wh)
    [(refused_at,)] = query(work, "SELECT max(loaded_at) FROM ops.load_log WHERE status = 'rejected'")
    assert " ".join(held[1].split()[1:3]) == f"{refused_at + kolkata:%Y-%m-%d %H:%M}"
    loaded = {line.split()[0]: line.split()[1:] for line in section(out, f"Loaded into {wh.with_name('w.work.duckdb')}:")[1:]}
    assert {source: row[:4] for source, row in loaded.items()} == {
        "deals": ["1", "1", "1", "0"], "ga4_sessions": ["1", "0", "1", "0"], "leads": ["1", "0", "39", "1"],
        "spend": ["1", "0", "1", "0"]}
    [(leads_at,)] = query(work, "SELECT loaded_at FROM ops.load_log WHERE file_name = 'leads/leads.csv'")
    assert " ".join(loaded["leads"][4:6]) == f"{leads_at + kolkata:%Y-%m-%d %H:%M}"
    # every unmapped value by name, with its column, its count and where it was counted instead
    unmapped = [line.split("  ") for line in section(out, "Raw values no rule maps (config/channels.yaml, "
                                                          "config/stages.yaml):")]
    assert [[c.strip() for c in line if c.strip()] for line in unmapped] == [
        ["column", "value", "records", "counted as"],
        ["lead_source", "Mystery Fair", "2", "Other"],
        ["spend_channel", "Billboard", "1", "Other"]]
    failing = section(out, "Checks failing in their latest evaluation:")
    assert any("deals_newest_export_is_fresh" in line and "deals/deals_bad.csv was refused, so the source is held "
               "back" in line for line in failing)
    assert any("deals_no_file_refused" in line and "ERROR" in line for line in failing)
    assert any("ga4_sessions_newest_export_is_fresh" in line and "50 hours old (at most 36 allowed" in line
               for line in failing)
    assert any("every_raw_value_mapped" in line for line in failing)
    # the first run quarantined a leads row; the second loaded nothing new, so its WARN is over
    assert not any("leads_no_rows_quarantined" in line for line in failing)
    assert f"Published file: {wh.resolve()} (" in out and "replaced 2026-07-01 05:30 Asia/Kolkata)" in out
    alerts = section(out, "Alerts of the last run that raised any:")
    assert alerts[0].split() == ["when", "(Asia/Kolkata)", "run", "where", "what", "alert"]
    assert "raw/deals" in alerts[1] and "deals/deals_bad.csv: 1 of its 1 rows" in alerts[1]
    assert os.path.getmtime(deals) == old  # status reads, never touches


def test_a_newest_file_replaced_since_its_refusal_is_not_called_refused(tmp_inbox, tmp_path):
    """The refusal belongs to the file as it was read: once it is replaced (fixed, exported again), it waits
    for the next run, and only its age counts."""
    import duckdb

    from pipelines.status import newest_refused

    wh = tmp_path / "w.duckdb"
    bad = write_export(tmp_inbox, "deals", "deals.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,受注,-5\n")
    run_funnel_job(tmp_inbox, wh)
    with duckdb.connect(str(settings.working_database_path(wh)), read_only=True) as con:
        assert newest_refused(con, tmp_inbox, "deals", bad)[1:] == (
            "deals/deals.csv", "1 of its 1 rows (100.0%) fail a check, more than the 5% allowed for deals "
            "(max_rejected_share in config/sources.yaml); the whole file was refused and nothing of it was loaded")
        write_export(tmp_inbox, "deals", "deals.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,受注,5\n")
        assert newest_refused(con, tmp_inbox, "deals", bad) is None
