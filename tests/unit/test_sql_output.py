"""`funnel sql` and the summary of `funnel run` print to the terminal as it is when they print: a module
imported earlier (by `funnel run`, under another captured stream) must not keep the old stream."""

import io
import sys

import duckdb

from pipelines import sql


def test_funnel_sql_prints_to_the_stdout_of_the_moment(tmp_path, monkeypatch):
    db = tmp_path / "published.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE t AS SELECT 'Webinar' AS channel, 12 AS leads, NULL AS roas")
    now = io.StringIO()
    monkeypatch.setattr(sys, "stdout", now)  # after pipelines.sql was imported
    assert sql.run(db, "SELECT * FROM t") == 0
    assert now.getvalue().splitlines() == [
        "channel  leads  roas",
        "-------  -----  ----",
        "Webinar     12  NULL",
        "(1 rows shown)",
    ]


def test_print_table_marks_missing_values_as_asked(monkeypatch):
    now = io.StringIO()
    monkeypatch.setattr(sys, "stdout", now)
    sql.print_table(["channel", "roas"], [("Email", 4.35), ("Direct", None)], null="-")
    assert now.getvalue().splitlines() == ["channel  roas", "-------  ----", "Email    4.35", "Direct   -   "]
