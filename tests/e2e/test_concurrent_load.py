"""The sources load side by side (assets/ingest/load.py, load_sources: a thread and a cursor per source).

Loading them so must give exactly what loading them one after another gives; only one file
larger than READ_PIECE_BYTES may be in memory at a time; and a refused file of one source
must not keep another source's files out of raw, while the step still fails naming every
refused file and its source's asset.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import duckdb
import pytest

import assets.ingest.load as ingest
from assets.ingest.inbox import inbox_files
from pipelines.dev.generate import generate_sample_exports
from schemas import SOURCES
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR, refused_text, run_funnel_job, write_export

TZ = "Asia/Tokyo"
LIMITS = {name: 0.05 for name in SOURCES}
# What must not depend on how the sources were loaded (load ids and times do).
COMPARED = {
    "ops.load_log": "source, file_name, sha256, size_bytes, profile, encoding, rows_read, rows_skipped, "
                    "header_line, rows_loaded, rows_quarantined, status, message",
    "ops.load_errors": "source, file_name, row_number, record_key, column_name, check_name, raw_value, problem",
}


@pytest.fixture(scope="module")
def sample_inbox(tmp_path_factory) -> Path:
    """Three months of the sample exports at 0.3 of the default volume, every source, plus a
    leads file with a quarantined row and a refused deals file."""
    inbox = tmp_path_factory.mktemp("sample") / "inbox"
    generate_sample_exports(inbox, months=3, seed=11, end_month="2026-09", scale=0.3)
    write_export(inbox, "leads", "zz_one_bad_row.csv", "lead_id,created_at,lead_source\n"
                 + "".join(f"Z{i},2026-09-03,Webinar\n" for i in range(40)) + "Z40,someday,Webinar\n")
    write_export(inbox, "deals", "zz_refused.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,Closed Won,-5\n")
    return inbox


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Table -> the columns compared: raw and quarantine without load ids and load times."""
    out = dict(COMPARED)
    for name in SOURCES:
        for schema, skip in (("raw", {"_load_id", "_loaded_at"}), ("quarantine", {"load_id", "recorded_at"})):
            cols = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t "
                "ORDER BY column_index", {"s": schema, "t": name}).fetchall() if c not in skip]
            out[f"{schema}.{name}"] = ", ".join(cols)
    return out


def test_sources_loaded_side_by_side_give_what_one_after_another_gives(sample_inbox):
    profiles = load_profiles(CONFIG_DIR)
    one_by_one, side_by_side = duckdb.connect(), duckdb.connect()
    for spec in SOURCES.values():
        ingest.ingest_source(one_by_one, spec, sample_inbox, profiles, TZ, "run")
    loads = ingest.load_sources(side_by_side, list(SOURCES.values()), sample_inbox, profiles, TZ, "run", LIMITS)

    files = {name: len(inbox_files(sample_inbox, name)) for name in SOURCES}
    # touchpoints: a file of touches and one of video views per month; video: a Studio export of 3 files a month
    assert files == {"leads": 4, "deals": 4, "ga4_sessions": 3, "spend": 2, "touchpoints": 6, "video": 9}
    assert {name: (len(load.loaded), len(load.rejected)) for name, load in loads.items()} == {
        "leads": (4, 0), "deals": (3, 1), "ga4_sessions": (3, 0), "spend": (2, 0), "touchpoints": (6, 0),
        "video": (9, 0)}
    assert loads["leads"].loaded[-1].quarantined == 1
    for table, columns in _tables(one_by_one).items():
        a = one_by_one.execute(f"SELECT {columns} FROM {table}").fetchall()
        b = side_by_side.execute(f"SELECT {columns} FROM {table}").fetchall()
        assert sorted(a, key=repr) == sorted(b, key=repr), table
    assert all(side_by_side.execute(f"SELECT count(*) FROM raw.{name}").fetchone()[0] > 0 for name in SOURCES)
    # a source's files still get their load ids in file order
    for source in ("leads", "ga4_sessions"):
        names = [n for (n,) in side_by_side.execute(
            "SELECT file_name FROM ops.load_log WHERE source = $s ORDER BY load_id", {"s": source}).fetchall()]
        assert names == [p.relative_to(sample_inbox).as_posix() for p in inbox_files(sample_inbox, source)]


def _timed_loads(monkeypatch, inbox: Path, piece_bytes: int) -> dict[str, list[tuple[float, float]]]:
    """(start, end) of every load_file call per source, each made to take at least 0.3 s."""
    calls: dict[str, list[tuple[float, float]]] = {}
    real = ingest.load_file
    lock = threading.Lock()

    def timed(con, spec, *args, **kwargs):
        start = time.perf_counter()
        outcome = real(con, spec, *args, **kwargs)
        time.sleep(0.3)
        with lock:
            calls.setdefault(spec.name, []).append((start, time.perf_counter()))
        return outcome

    monkeypatch.setattr(ingest, "load_file", timed)
    monkeypatch.setattr(ingest, "READ_PIECE_BYTES", piece_bytes)
    ingest.load_sources(duckdb.connect(), [SOURCES["leads"], SOURCES["deals"]], inbox, load_profiles(CONFIG_DIR),
                        TZ, "run", LIMITS)
    return calls


def _overlaps(calls: dict[str, list[tuple[float, float]]]) -> int:
    spans = sorted(span for spans in calls.values() for span in spans)
    return sum(1 for (_, end), (start, _) in zip(spans, spans[1:]) if start < end)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: the sources load one after another")
def test_only_one_large_file_is_loaded_at_a_time(tmp_path, monkeypatch):
    inbox = tmp_path / "inbox"
    for i in range(2):
        write_export(inbox, "leads", f"leads_{i}.csv", f"lead_id,created_at,lead_source\nL{i},2026-07-03,Webinar\n")
        write_export(inbox, "deals", f"deals_{i}.csv", f"deal_id,created_at,stage,amount\nD{i},2026-07-10,Closed Won,5\n")

    small = _timed_loads(monkeypatch, inbox, piece_bytes=1 << 30)  # every file small: the sources overlap
    assert len(small["leads"]) == len(small["deals"]) == 2 and _overlaps(small) >= 1

    large = _timed_loads(monkeypatch, inbox, piece_bytes=0)  # every file large: one at a time
    assert len(large["leads"]) == len(large["deals"]) == 2 and _overlaps(large) == 0


def test_refused_files_fail_their_sources_checks_and_the_other_sources_still_load(tmp_path):
    inbox, wh = tmp_path / "inbox", tmp_path / "wh" / "funnel.duckdb"
    write_export(inbox, "leads", "leads_bad.csv", "lead_id,created_at,lead_source\nL1,someday,Webinar\n")
    write_export(inbox, "deals", "deals_bad.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,Closed Won,-5\n")
    write_export(inbox, "spend", "spend.csv", "date,channel,cost\n2026-07-01,Google Ads,1000\n")

    result = run_funnel_job(inbox, wh)

    assert result.success  # the two sources are held back, the run goes on
    failed = {c.check_name: c for c in result.get_asset_check_evaluations() if c.check_name.endswith("_no_file_refused")
              and not c.passed}
    assert sorted(failed) == ["deals_no_file_refused", "leads_no_file_refused"]
    assert {c.metadata["files_refused"].value for c in failed.values()} == {1}
    description = refused_text(result)
    assert "1 deals file(s) refused" in description and "deals/deals_bad.csv: row 1, column amount: is negative" in description
    assert "1 leads file(s) refused" in description and "leads/leads_bad.csv: row 1, column created_at" in description
    materialized = {e.asset_key.to_user_string(): e.materialization.metadata for e in
                    result.get_asset_materialization_events()}
    assert {"raw/spend", "raw/ga4_sessions", "raw/touchpoints", "raw/leads", "raw/deals"} <= set(materialized)
    assert (materialized["raw/leads"]["files_rejected"].value, materialized["raw/leads"]["dagster/row_count"].value) == (1, 0)
    from assets.core import settings
    with duckdb.connect(str(settings.working_database_path(wh)), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM raw.spend").fetchone() == (1,)
        assert con.execute("SELECT source, status FROM ops.load_log ORDER BY ALL").fetchall() == [
            ("deals", "rejected"), ("leads", "rejected"), ("spend", "loaded")]
