"""The publish (assets/publish/publish.py) that starts from a copy of the previous published file: after
each batch of loads the file it writes holds exactly the tables, rows and comments of a file
written from nothing out of the same working database; it starts from nothing when the published
file is not the one it left; and what it writes is scanned for personal data."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.publish.publish import PersonalDataFound, personal_data_in, publish
from tests.integration.test_incremental import BATCHES, load, stage


def published_content(path: Path) -> dict:
    """Every table of a published file: its comment, its columns with theirs, and its rows sorted."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name, comment FROM duckdb_tables() ORDER BY ALL").fetchall()
        return {f"{s}.{t}": (comment,
                             con.execute("SELECT column_name, data_type, comment FROM duckdb_columns() "
                                         "WHERE schema_name = $s AND table_name = $t ORDER BY column_index",
                                         {"s": s, "t": t}).fetchall(),
                             con.execute(f"SELECT * FROM {s}.{t} ORDER BY ALL").fetchall())
                for s, t, comment in tables}


def from_nothing(work: Path, tmp_path: Path, name: str) -> dict:
    """What a publish writes from nothing out of a copy of the working database `work`."""
    copy = tmp_path / f"{name}.work.duckdb"
    shutil.copyfile(work, copy)
    with duckdb.connect(str(copy)) as con:
        done = publish(con, tmp_path / f"{name}.duckdb", "reference")
    assert not done.from_previous
    return published_content(tmp_path / f"{name}.duckdb")


def small_mart(con: duckdb.DuckDBPyConnection, comment: str = "Leads per channel.") -> None:
    con.execute("CREATE OR REPLACE TABLE marts.leads_per_channel AS "
                "SELECT channel, count(*) AS leads FROM staging.leads GROUP BY channel")
    con.execute(f"COMMENT ON TABLE marts.leads_per_channel IS '{comment}'")
    con.execute("COMMENT ON COLUMN marts.leads_per_channel.leads IS 'Leads of the channel.'")


def test_each_publish_after_the_first_starts_from_the_last_and_equals_one_from_nothing(tmp_path):
    inbox, published, work = tmp_path / "inbox", tmp_path / "funnel.duckdb", tmp_path / "funnel.work.duckdb"
    con = duckdb.connect(str(work))
    history_rows = []
    for i, batch in enumerate(BATCHES):
        batch(inbox)
        load(con, inbox)
        stage(con)
        if i == 1:  # a changed comment: the table is written from nothing; a new table
            small_mart(con, "Leads per channel, all snapshots.")
            con.execute("CREATE TABLE ops.new_table AS SELECT 1 AS x")
        elif i == 2:  # a table gone from the working database goes from the published file
            con.execute("DROP TABLE ops.new_table")
        else:
            small_mart(con)
        done = publish(con, published, f"run{i}")
        assert done.from_previous == (i > 0)
        history_rows.append(done.counts["marts.stage_history"])
        con.execute("CHECKPOINT")
        assert published_content(published) == from_nothing(work, tmp_path, f"reference{i}"), f"batch {i}"
    assert history_rows[0] < history_rows[1] < history_rows[2]  # the deltas did something
    # no new load since: the file starts from the last one and nothing changes
    assert publish(con, published, "again").from_previous
    con.execute("CHECKPOINT")
    assert published_content(published) == from_nothing(work, tmp_path, "again")
    con.close()


@pytest.fixture
def first(tmp_path):
    """A working database with the first batch loaded and staged, published once: (con, inbox, published)."""
    inbox, published = tmp_path / "inbox", tmp_path / "funnel.duckdb"
    with duckdb.connect(str(tmp_path / "funnel.work.duckdb")) as con:
        BATCHES[0](inbox)
        load(con, inbox)
        stage(con)
        publish(con, published, "first")
        yield con, inbox, published


def test_a_published_file_changed_since_the_last_publish_is_not_the_start(first):
    con, _, published = first
    with duckdb.connect(str(published)) as analyst:  # someone writes into the published file
        analyst.execute("DELETE FROM marts.stage_history WHERE record_type = 'deal'")
    assert not publish(con, published, "second").from_previous
    with duckdb.connect(str(published), read_only=True) as reader:
        assert reader.execute("SELECT count(*) FROM marts.stage_history WHERE record_type = 'deal'").fetchone()[0] > 0
    os.utime(published, ns=(0, 0))  # or touched: another file, as far as the publish can tell
    assert not publish(con, published, "third").from_previous
    assert publish(con, published, "fourth").from_previous


def test_personal_data_in_the_rows_a_publish_replaces_refuses_it(first, tmp_path):
    """The records the loads since the last publish touched are scanned: an address in one of them
    refuses the publish, and the published file stays as it was."""
    con, inbox, published = first
    before = published.read_bytes()
    BATCHES[1](inbox)
    load(con, inbox)
    stage(con)  # L1 among the leads touched
    con.execute("UPDATE marts.stage_history SET stage = 'ask a.b@example.co.jp' "
                "WHERE record_type = 'lead' AND record_id = 'L1'")
    with pytest.raises(PersonalDataFound, match=r"marts\.stage_history\.stage: \d+ value"):
        publish(con, published, "second")
    assert published.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_the_scan_reads_only_the_rows_it_is_given():
    con = duckdb.connect()
    con.execute("CREATE SCHEMA ops; CREATE TABLE ops.t (k INTEGER, note VARCHAR, other VARCHAR)")
    con.execute("CREATE TABLE ops.u (note VARCHAR)")
    con.execute("INSERT INTO ops.t VALUES (1, 'a.b@example.co.jp', '03-1234-5678'), (2, 'x', '090-1234-5678'), "
                "(3, 'c@example.com', NULL)")
    con.execute("INSERT INTO ops.u VALUES ('d@example.com')")
    assert personal_data_in(con, "memory") == [("ops.t.note", 2), ("ops.t.other", 2), ("ops.u.note", 1)]
    assert personal_data_in(con, "memory", {"ops.t": "k >= 2"}) == [("ops.t.note", 1), ("ops.t.other", 1)]
    assert personal_data_in(con, "memory", {"ops.t": "false", "ops.u": None}) == [("ops.u.note", 1)]


def test_a_file_published_under_other_rules_is_not_the_start(first, monkeypatch):
    """Another set of published schemas or personal-data patterns (a code upgrade): written afresh."""
    import assets.publish.publish

    con, _, published = first
    monkeypatch.setattr(assets.publish.publish, "RULES", "other rules")
    assert not publish(con, published, "second").from_previous
    assert publish(con, published, "third").from_previous


def test_an_upgrade_forgets_the_last_publish(first):
    """The working database prepared again (new SQL or DuckDB version): the publish state, a cache,
    starts empty, whatever its layout was, and the next publish writes everything."""
    from assets.core.database import prepare_working_database

    con, _, published = first
    con.execute("ALTER TABLE staging.publish_state RENAME COLUMN rules TO guard")  # an older layout
    con.execute("DELETE FROM staging.prepared_sql")  # as after an upgrade
    prepare_working_database(con)
    assert not publish(con, published, "second").from_previous
    assert publish(con, published, "third").from_previous


def test_a_renamed_mart_is_published_under_its_old_names_too(first):
    """compat.<mart> (assets/core/names.py): the mart of the new file under the column names it had before,
    written by a publish from nothing and by one that starts from the last, never for a mart not published."""
    from assets.core.names import COMPAT_REMOVED_IN

    con, _, published = first
    con.execute("CREATE TABLE marts.deal_to_win AS SELECT DATE '2026-07-01' AS period_start, 'Webinar' AS channel, "
                "2 AS wins, 1 AS losses, 2 / 3 AS win_rate, 12.5 AS median_days_opportunity_to_win")
    os.utime(published, ns=(0, 0))  # not the file the last publish left: the next one starts from nothing
    for run in ("second", "third"):
        con.execute("UPDATE marts.deal_to_win SET wins = wins + 1")
        done = publish(con, published, run)
        assert done.from_previous == (run == "third") and "compat.deal_to_win" not in done.counts
        with duckdb.connect(str(published), read_only=True) as reader:
            assert reader.execute("SELECT * FROM compat.deal_to_win").fetchall() == \
                reader.execute("SELECT * FROM marts.deal_to_win").fetchall()
            assert [d[0] for d in reader.execute("SELECT * FROM compat.deal_to_win").description] == [
                "period_start", "channel", "won", "lost", "win_rate", "median_days_to_close"]
            assert reader.execute("SELECT won FROM compat.deal_to_win").fetchall() == [(4 if run == "third" else 3,)]
            views = reader.execute("SELECT schema_name, view_name, comment FROM duckdb_views() "
                                   "WHERE NOT internal").fetchall()
            assert [(s, v) for s, v, _ in views] == [("compat", "deal_to_win")]  # no mart, no view
            assert f"Removed in {COMPAT_REMOVED_IN}" in views[0][2]
            assert reader.execute("SELECT comment FROM duckdb_columns() WHERE schema_name = 'compat' "
                                  "AND column_name = 'won'").fetchone()[0].startswith("marts.deal_to_win.wins")
