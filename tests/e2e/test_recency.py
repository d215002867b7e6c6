"""Which snapshot is newest comes from the data (CONTRACT section 7, Recency): a record's own
updated_at, else its file's export moment (a date in the name, a preamble's range, the latest
timestamp in the rows), the file time only as the last resort, with a warning. Shuffled file
times, a different order of arrival and full or incremental builds give the same marts."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
from pathlib import Path

import dagster as dg
import pytest

from assets.ingest.export_moment import name_moment
from pipelines.dev.generate import generate_sample_exports
from tests.conftest import query, run_funnel_job, write_export

TZ = "Asia/Tokyo"
NOW = dt.datetime(2026, 12, 7, 12, 0)


@pytest.mark.parametrize("name, expected", [
    ("leads_2026-06-30.csv", dt.datetime(2026, 6, 30)),
    ("leads/leads_20260630.csv", dt.datetime(2026, 6, 30)),
    ("hubspot-crm-exports-all-contacts-2026-05-22.csv", dt.datetime(2026, 5, 22)),
    ("export_2026_06_30_1015.csv", dt.datetime(2026, 6, 30, 10, 15)),
    ("deals 2026-06-30T10-15-30.csv", dt.datetime(2026, 6, 30, 10, 15, 30)),
    ("ga4_2026-01-01_2026-01-31.csv", dt.datetime(2026, 1, 31)),  # a range: its last day
    # Salesforce: report<epoch milliseconds>; 1782000000000 ms is 2026-06-21 00:00 UTC, 09:00 in Tokyo
    ("report1782000000000.csv", dt.datetime(2026, 6, 21, 9, 0)),
    ("leads.csv", None),
    ("leads_2026-02-30.csv", None),  # no such day
    ("plan_2031-01-01.csv", None),  # after tomorrow: not an export moment
    ("ga4_sessions_2026-06.csv", None),  # a month names what the file covers, not when it was exported
    ("id_120260630999.csv", None),  # digits of a longer number
])
def test_the_export_moment_is_read_from_the_file_name(name, expected):
    assert name_moment(name, TZ, now=NOW.replace(tzinfo=dt.timezone(dt.timedelta(hours=9)))) == expected


LEADS = "lead_id,created_at,lead_source,lifecycle_stage,mql_at,sql_at\n"


def two_snapshots(inbox: Path, march_mtime: float, june_mtime: float) -> None:
    """A March and a June snapshot of the same leads, without updated_at: L1 goes from MQL to SQL,
    L2 from lead to MQL, L3 is new in June."""
    write_export(inbox, "leads", "leads_2026-03-31.csv", LEADS + """
        L1,2026-03-02 10:00,Webinar,marketingqualifiedlead,2026-03-05,
        L2,2026-03-10 10:00,展示会,lead,,
        """, mtime=march_mtime)
    write_export(inbox, "leads", "leads_2026-06-30.csv", LEADS + """
        L1,2026-03-02 10:00,Webinar,salesqualifiedlead,2026-03-05,2026-06-10
        L2,2026-03-10 10:00,展示会,marketingqualifiedlead,,
        L3,2026-06-01 10:00,Webinar,lead,,
        """, mtime=june_mtime)


def marts_of(warehouse: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, sorted (target_plan depends on today only, the same in one test)."""
    tables = [t for (t,) in query(warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
                                             "ORDER BY 1")]
    return {t: sorted(query(warehouse, f"SELECT * FROM marts.{t}"), key=repr) for t in tables}


def test_the_march_snapshot_never_overrides_june_whatever_the_file_times(tmp_path):
    jan, dec = dt.datetime(2026, 1, 1).timestamp(), dt.datetime(2026, 12, 1).timestamp()
    results = {}
    for label, march, june in (("as named", jan, dec), ("reversed", dec, jan), ("equal", jan, jan)):
        inbox = tmp_path / label / "inbox"
        two_snapshots(inbox, march, june)
        warehouse = tmp_path / label / "wh" / "funnel.duckdb"
        assert run_funnel_job(inbox, warehouse).success
        results[label] = marts_of(warehouse)
        assert query(warehouse, "SELECT file_name, exported_at, exported_at_basis FROM ops.load_log ORDER BY 1") == [
            ("leads/leads_2026-03-31.csv", dt.datetime(2026, 3, 31), "file name"),
            ("leads/leads_2026-06-30.csv", dt.datetime(2026, 6, 30), "file name")]
        # hand-worked: June is the newest snapshot; L1 became SQL on 06-10 (March: MQL on 03-05)
        assert query(warehouse, "SELECT period_start, channel, mqls, sqls FROM marts.channel_funnel "
                                "WHERE mqls + sqls > 0 ORDER BY 1, 2") == [
            (dt.date(2026, 3, 1), "Webinar", 1, 0),
            # L2 has no MQL date: first seen as MQL in the June snapshot, exported 06-30
            (dt.date(2026, 6, 1), "Event", 1, 0),
            (dt.date(2026, 6, 1), "Webinar", 0, 1)]
    assert results["reversed"] == results["as named"]
    assert results["equal"] == results["as named"]


def test_a_record_s_own_updated_at_beats_the_file_s_export_moment(tmp_inbox, tmp_path):
    """Two exports of the same day: the one named later holds an older version of D1 (its own
    updated_at says so); the record's time decides, not the file's."""
    deals = "deal_id,created_at,stage,amount,updated_at\n"
    write_export(tmp_inbox, "deals", "deals_2026-07-01.csv", deals + "D1,2026-06-01,Closed Won,500000,2026-06-30 18:00\n")
    write_export(tmp_inbox, "deals", "deals_2026-07-02.csv", deals + "D1,2026-06-01,Proposal,500000,2026-06-20 09:00\n"
                 "D2,2026-06-05,Proposal,100000,2026-07-01 09:00\n")
    write_export(tmp_inbox, "leads", "leads.csv", LEADS + "L1,2026-06-01 10:00,Webinar,lead,,\n")
    warehouse = tmp_path / "wh" / "funnel.duckdb"
    assert run_funnel_job(tmp_inbox, warehouse).success
    assert query(warehouse, "SELECT sum(wins) FROM marts.deal_to_win") == [(1,)]


def test_file_times_deciding_the_order_are_named_in_a_warning(tmp_inbox, tmp_path):
    """Two re-downloads of one report with the same dates: nothing in the files tells which is newer,
    so the file times do, and the check names both files."""
    header = "date,session_source,session_medium,sessions\n"
    write_export(tmp_inbox, "ga4_sessions", "traffic.csv", header + "2026-07-01,google,organic,100\n",
                 mtime=dt.datetime(2026, 7, 2).timestamp())
    write_export(tmp_inbox, "ga4_sessions", "traffic (1).csv", header + "2026-07-01,google,organic,120\n",
                 mtime=dt.datetime(2026, 7, 3).timestamp())
    write_export(tmp_inbox, "ga4_sessions", "other_day.csv", header + "2026-07-05,google,organic,7\n",
                 mtime=dt.datetime(2026, 7, 1).timestamp())
    result = run_funnel_job(tmp_inbox, tmp_path / "wh" / "funnel.duckdb")
    assert result.success
    (check,) = [c for c in result.get_asset_check_evaluations()
                if c.check_name == "ga4_sessions_snapshot_order_from_data"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["file_pairs"].value == 1  # other_day.csv shares no row with them
    text = check.metadata["ordered_by_file_time"].value
    assert "traffic.csv" in text and "traffic (1).csv" in text and "2026-07-01 00:00:00" in text
    # the last resort: the newer file time wins
    assert query(tmp_path / "wh" / "funnel.duckdb",
                 "SELECT sum(sessions) FROM marts.channel_funnel WHERE period_start = '2026-07-01'") == [(127,)]


def _sample(root: Path) -> Path:
    inbox = root / "sample"
    generate_sample_exports(inbox, months=4, seed=11, end_month="2026-09", scale=0.3)
    return inbox


def _files(inbox: Path) -> list[Path]:
    return sorted(p for p in inbox.rglob("*.csv"))


def test_the_shipped_sample_gives_the_same_marts_under_any_file_times_and_arrival_order(tmp_path):
    """The sample generator's inbox, run whole with its own file times, then with shuffled, reversed
    and equal file times, and once arriving in three batches in reverse name order (incremental
    builds): every mart is the same, and no file time decided anything."""
    inbox = _sample(tmp_path)
    reference_wh = tmp_path / "reference" / "funnel.duckdb"
    result = run_funnel_job(inbox, reference_wh)
    assert result.success
    assert all(c.passed for c in result.get_asset_check_evaluations() if c.check_name.endswith("_order_from_data"))
    reference = marts_of(reference_wh)
    assert reference["channel_funnel"]

    files = _files(inbox)
    rng = random.Random(5)
    regimes = {
        "shuffled": rng.sample(range(len(files)), len(files)),
        "reversed": list(range(len(files)))[::-1],
        "equal": [0] * len(files),
    }
    for label, ranks in regimes.items():
        copy = tmp_path / label
        shutil.copytree(inbox, copy)
        for path, rank in zip(_files(copy), ranks):
            stamp = dt.datetime(2026, 10, 1).timestamp() + rank * 3600
            os.utime(path, (stamp, stamp))
        warehouse = tmp_path / f"{label}_wh" / "funnel.duckdb"
        assert run_funnel_job(copy, warehouse).success
        assert marts_of(warehouse) == reference, label

    # incremental: the newest files first, then the middle, then the oldest
    arriving = tmp_path / "arriving"
    warehouse = tmp_path / "arriving_wh" / "funnel.duckdb"
    later_first = sorted(files, key=lambda p: p.name, reverse=True)
    for batch in (later_first[:len(files) // 3], later_first[len(files) // 3: 2 * len(files) // 3],
                  later_first[2 * len(files) // 3:]):
        for path in batch:
            target = arriving / path.relative_to(inbox)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)  # a copy: the file time is now
        assert run_funnel_job(arriving, warehouse).success
    assert marts_of(warehouse) == reference


def test_loads_of_an_older_working_database_get_their_export_moment_from_name_and_rows(tmp_path):
    """A working database from before exported_at existed: its loads are dated by the same rule, from
    the file name and the rows in raw, on the next load."""
    import duckdb

    from assets.ingest.export_moment import backfill_export_moments
    from assets.ingest.load import ingest_source
    from schemas import SOURCES
    from schemas.profiles import load_profiles
    from tests.conftest import CONFIG_DIR

    inbox = tmp_path / "inbox"
    two_snapshots(inbox, 0, 0)
    write_export(inbox, "leads", "leads.csv", LEADS + "L9,2026-07-01 09:30,Webinar,lead,,\n")
    with duckdb.connect() as con:
        ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), TZ, "t")
        dated = con.execute("SELECT file_name, exported_at, exported_at_basis FROM ops.load_log ORDER BY 1").fetchall()
        con.execute("UPDATE ops.load_log SET exported_at = NULL, exported_at_basis = NULL")
        assert backfill_export_moments(con, SOURCES["leads"], TZ) == 3
        assert con.execute("SELECT file_name, exported_at, exported_at_basis FROM ops.load_log ORDER BY 1"
                           ).fetchall() == dated == [
            ("leads/leads.csv", dt.datetime(2026, 7, 1, 9, 30), "rows"),
            ("leads/leads_2026-03-31.csv", dt.datetime(2026, 3, 31), "file name"),
            ("leads/leads_2026-06-30.csv", dt.datetime(2026, 6, 30), "file name")]
