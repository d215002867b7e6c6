"""`funnel status`: last runs, inbox freshness, load state and failing checks, read
back from the Dagster instance and the working database after real runs."""

from __future__ import annotations

import os
import time

from pipelines.cli import main
from tests.conftest import write_export


def test_status_after_a_good_and_a_failed_run(tmp_inbox, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    wh = tmp_path / "w.duckdb"
    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,Webinar\n"
                 + "".join(f"L{i},2026-07-03,Webinar\n" for i in range(2, 40)) + "L99,2031-01-01,Webinar\n")
    old = time.time() - 50 * 3600
    deals = write_export(tmp_inbox, "deals", "deals.csv", "deal_id,created_at,stage\nD1,2026-07-10,受注\n", mtime=old)
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 0
    write_export(tmp_inbox, "deals", "deals_bad.csv", "deal_id,created_at,stage,amount\nD9,2026-07-10,受注,-5\n",
                 mtime=old + 60)
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 1
    capsys.readouterr()

    assert main(["status", "--inbox", str(tmp_inbox), "--warehouse", str(wh)]) == 0

    out = capsys.readouterr().out
    runs = out.split("Last runs:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[2] for line in runs[1:]] == ["FAILURE", "SUCCESS"]  # newest first
    inbox = out.split(f"Inbox {tmp_inbox}:\n")[1].split("\n\n")[0]
    lines = {line.split()[0]: line.split() for line in inbox.splitlines()}
    assert lines["leads"][1:3] == ["1", "leads/leads.csv"] and lines["leads"][-1] == "fresh"
    assert lines["deals"][1:3] == ["2", "deals/deals_bad.csv"] and lines["deals"][-1] == "STALE"
    assert lines["touchpoints"][1:3] == ["0", "-"] and lines["touchpoints"][-2:] == ["optional,", "none"]
    loaded = {line.split()[0]: line.split()[1:5]
              for line in out.split("Loaded into")[1].split("\n\n")[0].splitlines()[2:]}
    assert loaded == {"deals": ["1", "1", "1", "0"], "leads": ["1", "0", "39", "1"]}
    failing = out.split("Checks failing in their latest evaluation:\n")[1].split("\n\n")[0]
    assert "deals_newest_export_is_fresh" in failing and "50 hours old (at most 36 allowed" in failing
    # the first run quarantined a leads row; the second loaded nothing new, so its WARN is over
    assert "leads_no_rows_quarantined" not in failing
    assert f"Published file: {wh.resolve()} (" in out
    refused = out.split("Last refused file per source:\n")[1].split("\n\n")[0]
    assert "deals/deals_bad.csv" in refused and "1 of its 1 rows (100.0%) fail a check" in refused
    assert str(wh.with_name("w.problems") / "deals" / "deals__deals_bad.csv.problems.csv") in refused
    failed_run = out.split("Last failed run:\n")[1].split("\n\n")[0]
    assert "raw/deals" in failed_run and "deals/deals_bad.csv: 1 of its 1 rows" in failed_run
    assert os.path.getmtime(deals) == old  # status reads, never touches
