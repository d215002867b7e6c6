"""Stage history (issue 4): every record's stage as seen in each snapshot, and the
close date of a deal whose export has none: the first snapshot that shows it closed."""

from __future__ import annotations

import datetime as dt

import duckdb

from tests.conftest import query, run_funnel_job, write_export


def ts(day: str) -> float:
    return dt.datetime.fromisoformat(day + "T06:00:00+09:00").timestamp()


def test_deal_close_date_comes_from_the_first_snapshot_showing_it_won(tmp_inbox, tmp_path):
    """Snapshots are dated by the export day in their names; the file times run backwards (a copy that
    did not keep them) and change nothing."""
    write_export(tmp_inbox, "leads", "leads_2026-06-02.csv", """
        lead_id,created_at,lead_source,lifecycle_stage
        L1,2026-06-01,Webinar,lead
        """, mtime=ts("2026-09-05"))
    write_export(tmp_inbox, "leads", "leads_2026-06-20.csv", """
        lead_id,created_at,lead_source,lifecycle_stage
        L1,2026-06-01,Webinar,marketingqualifiedlead
        """, mtime=ts("2026-09-04"))
    # no close_date column; D1 open, then won (updated 07-15), still won later (updated 07-20)
    write_export(tmp_inbox, "deals", "deals_2026-07-01.csv", """
        deal_id,created_at,stage,lead_id,amount,updated_at
        D1,2026-06-25,Proposal,L1,900000,2026-06-30 09:00
        D2,2026-06-26,Proposal,L1,100000,
        """, mtime=ts("2026-09-03"))
    write_export(tmp_inbox, "deals", "deals_2026-08-01.csv", """
        deal_id,created_at,stage,lead_id,amount,updated_at
        D1,2026-06-25,Closed Won,L1,900000,2026-07-15 11:00
        D2,2026-06-26,Closed Lost,L1,100000,
        """, mtime=ts("2026-09-02"))
    write_export(tmp_inbox, "deals", "deals_2026-09-01.csv", """
        deal_id,created_at,stage,lead_id,amount,updated_at
        D1,2026-06-25,Closed Won,L1,900000,2026-07-20 18:00
        D2,2026-06-26,Closed Lost,L1,100000,
        """, mtime=ts("2026-09-01"))
    wh = tmp_path / "wh" / "funnel.duckdb"

    assert run_funnel_job(tmp_inbox, wh).success

    with duckdb.connect(str(wh), read_only=True) as con:  # published: analysts query stage dates
        history = con.execute(
            "SELECT record_type, record_id, stage, mapped_stage, first_seen_at, last_seen_at, snapshots, first_seen_in "
            "FROM marts.stage_history ORDER BY ALL").fetchall()
        basis = con.execute("SELECT DISTINCT exported_at_basis FROM ops.load_log").fetchall()
    with duckdb.connect(str(wh.with_name("funnel.work.duckdb")), read_only=True) as con:
        deals = con.execute("SELECT deal_id, closed_on, close_date_inferred FROM staging.deals ORDER BY 1").fetchall()
    def day(text: str) -> dt.datetime:  # the export day of a file name, at midnight
        return dt.datetime.fromisoformat(text)

    assert basis == [("file name",)]
    assert history == [
        ("deal", "D1", "Closed Won", "won", dt.datetime(2026, 7, 15, 11), dt.datetime(2026, 7, 20, 18), 2,
         "deals/deals_2026-08-01.csv"),
        ("deal", "D1", "Proposal", "open", dt.datetime(2026, 6, 30, 9), dt.datetime(2026, 6, 30, 9), 1,
         "deals/deals_2026-07-01.csv"),
        # D2 has no updated_at: the export days of the snapshot files stand in
        ("deal", "D2", "Closed Lost", "lost", day("2026-08-01"), day("2026-09-01"), 2, "deals/deals_2026-08-01.csv"),
        ("deal", "D2", "Proposal", "open", day("2026-07-01"), day("2026-07-01"), 1, "deals/deals_2026-07-01.csv"),
        ("lead", "L1", "lead", "lead", day("2026-06-02"), day("2026-06-02"), 1, "leads/leads_2026-06-02.csv"),
        ("lead", "L1", "marketingqualifiedlead", "mql", day("2026-06-20"), day("2026-06-20"), 1,
         "leads/leads_2026-06-20.csv"),
    ]
    # first seen won on 07-15 (not the newest snapshot's 07-20); D2 first seen lost in the 08-01 file
    assert deals == [("D1", dt.date(2026, 7, 15), True), ("D2", dt.date(2026, 8, 1), True)]
    assert query(wh, "SELECT period_start, wins, losses FROM marts.deal_to_win WHERE wins + losses > 0 ORDER BY 1") == [
        (dt.date(2026, 7, 1), 1, 0), (dt.date(2026, 8, 1), 0, 1)]


def test_first_seen_in_is_the_earliest_file_when_snapshots_tie(tmp_inbox, tmp_path):
    """A record unchanged between exports carries the same updated_at in each: the file it was
    first seen in is the earliest snapshot (file time, then load), not any of the tied ones."""
    for n, day in enumerate(("2026-06-02", "2026-06-20", "2026-07-01")):
        write_export(tmp_inbox, "leads", f"leads_{day}.csv", f"""
            lead_id,created_at,lead_source,lifecycle_stage,updated_at
            L1,2026-06-01,Webinar,lead,2026-06-01 12:00
            N{n},2026-06-01,Webinar,lead,
            """, mtime=ts(day))
    wh = tmp_path / "wh" / "funnel.duckdb"

    assert run_funnel_job(tmp_inbox, wh).success

    assert query(wh, "SELECT record_id, snapshots, first_seen_in FROM marts.stage_history WHERE record_id = 'L1'") == [
        ("L1", 3, "leads/leads_2026-06-02.csv")]
