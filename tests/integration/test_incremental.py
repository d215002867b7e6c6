"""Incremental staging (assets/transform/incremental.py): after each new batch of loads, the tables built
incrementally hold exactly what a full build over the same raw rows holds: newer snapshots
replacing records, records missing from a newer snapshot kept, a deal moving to another lead,
a deal whose lead arrives later, a late file (older than files already loaded), GA4 range
totals whose verdict changes because of rows loaded later. A change of the value mappings, of a
model's SQL, or a missing table means a full build; no file loaded into the raw tables a model
reads means nothing is done."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

import assets.transform.incremental as incremental
from assets.core.database import SQL_DIR, prepare_working_database
from assets.core.models import incremental_models
from assets.ingest.load import ingest_source
from assets.transform.incremental import refresh
from assets.transform.lookups import build_lookups
from assets.transform.mappings import keep_mappings, record_mappings
from schemas import SOURCES
from schemas.config import load_config
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR, write_export

TZ = "Asia/Tokyo"
MODELS = {m.table: m for m in incremental_models()}
LEADS = "lead_id,created_at,lead_source,utm_source,utm_medium,lifecycle_stage,mql_at,updated_at\n"
DEALS = "deal_id,created_at,stage,lead_id,deal_source,amount,close_date,updated_at\n"


def ts(day: str) -> float:
    return dt.datetime.fromisoformat(day + "T06:00:00+09:00").timestamp()


def ga4_range(inbox: Path, name: str, start: str, end: str, rows: str, day: str) -> None:
    """A GA4 web UI download without a Date column: a total over the preamble's date range."""
    write_export(inbox, "ga4_sessions", name, f"""
        # ----------------------------------------
        # funnel test
        # Traffic acquisition: Session primary channel group (Default Channel Group)
        # {start}-{end}
        # ----------------------------------------

        Session primary channel group (Default Channel Group),Sessions
        {rows}
        """, mtime=ts(day))


BATCHES = [
    lambda inbox: [
        write_export(inbox, "leads", "leads_a.csv", LEADS + """
            L1,2026-07-01 10:00,Webinar,,,lead,,2026-07-01 10:00
            L2,2026-07-02 10:00,展示会,,,marketingqualifiedlead,2026-07-03,2026-07-03 09:00
            L3,2026-07-02 11:00,,google,cpc,lead,,
            L4,2026-07-03 10:00,Webinar,,,lead,,2026-07-03 10:00
            L5,2026-07-04 10:00,,,,lead,,
            """, mtime=ts("2026-07-05")),
        write_export(inbox, "deals", "deals_a.csv", DEALS + """
            D1,2026-07-04,Proposal,L1,,500000,,2026-07-04 12:00
            D2,2026-07-04,Closed Won,L2,,800000,2026-07-05,2026-07-05 09:00
            D3,2026-07-04,Negotiation,,Partner,300000,,
            D4,2026-07-04,Proposal,L9,,200000,,
            """, mtime=ts("2026-07-05")),
        write_export(inbox, "ga4_sessions", "ga4_a.csv", """
            date,session_source,session_medium,sessions
            2026-07-01,google,organic,100
            2026-07-02,google,organic,120
            2026-07-02,(direct),(none),30
            2026-07-03,google,organic,90
            """, mtime=ts("2026-07-05")),
        write_export(inbox, "spend", "spend_a.csv", "date,channel,cost\n2026-07,Webinar,100000\n",
                     mtime=ts("2026-07-05")),
    ],
    lambda inbox: [
        # L1 up to SQL, L2 to another channel, L6 new, L9 arrives for D4; L3, L4, L5 missing (kept)
        write_export(inbox, "leads", "leads_b.csv", LEADS + """
            L1,2026-07-01 10:00,Webinar,,,salesqualifiedlead,,2026-08-01 10:00
            L2,2026-07-02 10:00,Webinar,,,marketingqualifiedlead,2026-07-03,2026-08-02 09:00
            L6,2026-08-01 10:00,Webinar,,,lead,,2026-08-01 10:00
            L9,2026-07-20 10:00,展示会,,,salesqualifiedlead,,2026-08-03 10:00
            """, mtime=ts("2026-08-05")),
        # D1 moves from L1 to L6 and is won without a close date; D4 lost; D5 new
        write_export(inbox, "deals", "deals_b.csv", DEALS + """
            D1,2026-07-04,Closed Won,L6,,500000,,2026-08-03 12:00
            D4,2026-07-04,Closed Lost,L9,,200000,,
            D5,2026-08-02,Prospecting,L4,,100000,,
            """, mtime=ts("2026-08-05")),
        # a newer snapshot of 07-02, a new day in August
        write_export(inbox, "ga4_sessions", "ga4_b.csv", """
            date,session_source,session_medium,sessions
            2026-07-02,google,organic,130
            2026-08-01,google,organic,80
            """, mtime=ts("2026-08-05")),
        ga4_range(inbox, "ga4_july.csv", "20260701", "20260731", "Organic Search,500", "2026-08-05"),
        ga4_range(inbox, "ga4_september.csv", "20260901", "20260930", "Organic Search,300", "2026-08-06"),
        write_export(inbox, "spend", "spend_b.csv", "date,channel,cost\n2026-08,Webinar,50000\n",
                     mtime=ts("2026-08-05")),
    ],
    lambda inbox: [
        # late files: older than files already loaded; they add history, not newer versions
        write_export(inbox, "leads", "leads_late.csv", LEADS + """
            L1,2026-07-01 10:00,Webinar,,,marketingqualifiedlead,2026-07-15,2026-07-15 10:00
            L7,2026-07-10 10:00,Webinar,,,lead,,
            """, mtime=ts("2026-07-20")),
        write_export(inbox, "deals", "deals_early.csv", DEALS + """
            D2,2026-07-04,Proposal,L2,,800000,,2026-07-04 09:00
            """, mtime=ts("2026-07-01")),
        # a day of September: the September range total is no longer counted
        write_export(inbox, "ga4_sessions", "ga4_c.csv", """
            date,session_source,session_medium,sessions
            2026-09-15,google,organic,40
            """, mtime=ts("2026-10-02")),
    ],
]


def load(con: duckdb.DuckDBPyConnection, inbox: Path) -> None:
    for spec in SOURCES.values():
        result = ingest_source(con, spec, inbox, load_profiles(CONFIG_DIR), TZ, "test")
        assert not result.rejected, [o.message for o in result.rejected]


def stage(con: duckdb.DuckDBPyConnection, config_dir: Path = CONFIG_DIR, full: bool = False) -> dict[str, str]:
    """What the channel_lookup asset and the incremental assets do, in dependency order: the mode of each."""
    prepare_working_database(con)
    before = keep_mappings(con)
    build_lookups(con, load_config(config_dir), TZ)
    record_mappings(con, before)
    return {name: refresh(con, model, full).mode for name, model in MODELS.items()}


def contents(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {o.table: con.execute(f"SELECT * FROM {o.table} ORDER BY ALL").fetchall()
            for model in MODELS.values() for o in model.incremental.outputs}


@pytest.fixture
def con(tmp_path):
    with duckdb.connect(str(tmp_path / "work.duckdb")) as c:
        yield c


def test_incremental_builds_equal_full_builds_batch_after_batch(con, tmp_path):
    inbox = tmp_path / "inbox"
    for i, batch in enumerate(BATCHES):
        batch(inbox)
        load(con, inbox)
        modes = stage(con)
        assert set(modes.values()) == {"full" if i == 0 else "incremental"}, modes
        built = contents(con)
        assert set(stage(con, full=True).values()) == {"full"}
        assert built == contents(con), f"batch {i + 1}: incremental and full builds differ"

    # what the batches were meant to exercise did happen
    assert con.execute("SELECT lead_id, channel, lifecycle_stage, snapshots_seen, first_seen_mql_at FROM staging.leads "
                       "WHERE lead_id IN ('L1', 'L2', 'L3') ORDER BY 1").fetchall() == [
        ("L1", "Webinar", "salesqualifiedlead", 3, dt.datetime(2026, 7, 15, 10)),
        ("L2", "Webinar", "marketingqualifiedlead", 2, dt.datetime(2026, 7, 3, 9)),
        ("L3", "Paid Search", "lead", 1, None)]
    assert con.execute("SELECT deal_id, lead_id, lead_linked, outcome, closed_on FROM staging.deals ORDER BY 1"
                       ).fetchall() == [
        ("D1", "L6", True, "won", dt.date(2026, 8, 3)), ("D2", "L2", True, "won", dt.date(2026, 7, 5)),
        ("D3", None, False, "open", None),
            # D4 has no updated_at: first seen lost in deals_b.csv, exported at its rows' latest time (08-03 12:00)
            ("D4", "L9", True, "lost", dt.date(2026, 8, 3)),
        ("D5", "L4", True, "open", None)]
    assert con.execute("SELECT lead_id, won, opportunities FROM staging.lead_funnel WHERE lead_id IN ('L1', 'L6') "
                       "ORDER BY 1").fetchall() == [("L1", False, 0), ("L6", True, 1)]
    assert con.execute("SELECT date, sessions FROM staging.sessions WHERE session_source = 'google' ORDER BY 1"
                       ).fetchall() == [(dt.date(2026, 7, d), n) for d, n in ((1, 100), (2, 130), (3, 90))] + [
        (dt.date(2026, 8, 1), 80), (dt.date(2026, 9, 15), 40)]
    assert [r[0] for r in con.execute("SELECT not_counted_because FROM staging.sessions_not_counted ORDER BY date"
                                      ).fetchall()] == [
        "daily rows cover days of the range; they are counted instead"] * 2


def test_without_new_loads_nothing_is_recomputed(con, tmp_path):
    inbox = tmp_path / "inbox"
    BATCHES[0](inbox)
    load(con, inbox)
    stage(con)
    before = contents(con)

    prepare_working_database(con)
    builds = [refresh(con, model) for model in MODELS.values()]

    assert {b.mode for b in builds} == {"unchanged"}
    assert all(not b.replaced and not b.inserted for b in builds)
    assert contents(con) == before


def test_a_load_of_one_source_leaves_the_models_that_do_not_read_it_unchanged(con, tmp_path):
    inbox = tmp_path / "inbox"
    BATCHES[0](inbox)
    load(con, inbox)
    stage(con)
    versions = dict(con.execute("SELECT model, version FROM staging.build_state WHERE version IS NOT NULL").fetchall())

    write_export(inbox, "ga4_sessions", "ga4_more.csv", "date,session_source,session_medium,sessions\n"
                 "2026-07-02,google,organic,5\n", mtime=ts("2026-07-04"))
    load(con, inbox)
    # only staging.sessions reads raw.ga4_sessions; a rejected file changes nothing
    write_export(inbox, "leads", "leads_bad.csv", "no,such,columns\n1,2,3\n", mtime=ts("2026-07-04"))
    ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), TZ, "test")
    assert stage(con) == {"staging.leads": "unchanged", "marts.stage_history": "unchanged",
                          "staging.deals": "unchanged", "staging.lead_funnel": "unchanged",
                          "staging.sessions": "incremental"}
    after = dict(con.execute("SELECT model, version FROM staging.build_state WHERE version IS NOT NULL").fetchall())
    assert {m for m in after if after[m] != versions.get(m)} == {"staging.sessions", "staging.sessions_not_counted"}
    built = contents(con)
    assert set(stage(con, full=True).values()) == {"full"}
    assert built == contents(con)


def test_a_changed_mapping_rebuilds_everything_and_a_new_value_does_not(con, tmp_path):
    inbox = tmp_path / "inbox"
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    BATCHES[0](inbox)
    load(con, inbox)
    stage(con, config)

    # a value seen for the first time: new lookup rows, same generation
    write_export(inbox, "leads", "leads_new_value.csv", LEADS + "L8,2026-07-06 10:00,Newsletter X,,,lead,,\n",
                 mtime=ts("2026-07-07"))
    load(con, inbox)
    assert stage(con, config) == {"staging.leads": "incremental", "marts.stage_history": "incremental",
                                  "staging.deals": "incremental", "staging.lead_funnel": "incremental",
                                  "staging.sessions": "unchanged"}

    # 展示会 no longer maps to Event: every model is built in full, with the new channel
    channels = config / "channels.yaml"
    text = channels.read_text(encoding="utf-8")
    channels.write_text(text.replace("marketing event, 展示会, ", "marketing event, ").replace("patterns: ['展示会', ", "patterns: ["),
                        encoding="utf-8")
    assert set(stage(con, config).values()) == {"full"}
    assert con.execute("SELECT channel FROM staging.leads WHERE lead_id = 'L2'").fetchone() == ("Other",)
    assert set(stage(con, config).values()) == {"unchanged"}


def test_a_changed_model_a_missing_table_or_a_changed_upstream_means_a_full_build(con, tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    BATCHES[0](inbox)
    load(con, inbox)
    stage(con)

    con.execute("DROP TABLE staging.lead_funnel")
    assert refresh(con, MODELS["staging.lead_funnel"]).mode == "full"

    # staging.leads defined differently (its SQL file): built in full, and so are the models reading it
    monkeypatch.setattr(type(MODELS["staging.leads"]), "sql", property(
        lambda m: (SQL_DIR / m.file).read_text(encoding="utf-8") + ("\n-- changed" if m.table == "staging.leads" else "")))
    assert refresh(con, MODELS["staging.leads"]).mode == "full"
    assert {name: refresh(con, model).mode for name, model in MODELS.items() if name != "staging.leads"} == {
        "marts.stage_history": "unchanged", "staging.deals": "full", "staging.lead_funnel": "full",
        "staging.sessions": "unchanged"}

    monkeypatch.setattr(incremental, "VERSION", incremental.VERSION + "-changed")
    assert {refresh(con, model).mode for model in MODELS.values()} == {"full"}
    assert {refresh(con, model).mode for model in MODELS.values()} == {"unchanged"}
