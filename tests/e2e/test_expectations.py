"""Great Expectations suites on the marts (assets/checks/expectations.py): every suite passes
on a real run and writes Data Docs beside the warehouse; hand-made bad rows fail
exactly the expectations they break; a failed suite stops the publish."""

import hashlib
import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

import assets.transform.sql_tables
from assets.checks.expectations import GxRunner, _prune_old_runs, docs_dir_for, url_to_path
from assets.checks.suites import CHECKED_MARTS, SUITES, expectations
from assets.core import settings
from tests.conftest import CONFIG_DIR, query, run_funnel_job, write_export

GX_CHECK_NAMES = {f"{m}_expectation_suite" for m in CHECKED_MARTS}  # monthly marts and fiscal roll-ups
PUBLISHED = dg.AssetKey(["published", "funnel_duckdb"])


def run_job(inbox: Path, warehouse: Path) -> dg.ExecuteInProcessResult:
    return run_funnel_job(inbox, warehouse, CONFIG_DIR)


def test_every_mart_has_its_suite_in_the_definitions():
    from pipelines.definitions import defs

    present = {k.name for k in defs().resolve_asset_graph().asset_check_keys}
    assert GX_CHECK_NAMES <= present


def gx_evaluations(result: dg.ExecuteInProcessResult) -> dict:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if e.check_name in GX_CHECK_NAMES}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A small inbox run once through the real job, Great Expectations validating every suite in DuckDB
    and writing its Data Docs."""
    root = tmp_path_factory.mktemp("gx docs")  # a space: the Data Docs links must still be valid file URLs
    inbox = root / "inbox"
    write_export(inbox, "leads", "leads.csv", """
        lead_id,created_at,lead_source,lifecycle_stage,mql_at,sql_at
        L1,2026-07-03 10:00,Webinar,marketingqualifiedlead,2026-07-05,
        L2,2026-07-04 10:00,展示会,salesqualifiedlead,,2026-07-20
        L3,2026-08-01 10:00,Webinar,salesqualifiedlead,2026-08-02,2026-08-03
        L4,2026-08-10 10:00,Webinar,lead,,
        L5,2026-09-01 10:00,展示会,lead,,
        """)
    write_export(inbox, "deals", "deals.csv", """
        deal_id,created_at,stage,lead_id,deal_source,amount,close_date
        D1,2026-07-25,Closed Won,L2,,"1,500,000.50",2026-08-30
        D2,2026-08-05,Closed Lost,L3,,2000000,2026-09-10
        D3,2026-08-06,Closed Won,,Partner,1000000,2026-09-15
        D4,2026-08-07,Negotiation,,,500000,
        """)
    write_export(inbox, "ga4_sessions", "ga4.csv", """
        date,session_source,session_medium,sessions
        2026-07-01,google,organic,200
        2026-08-01,(direct),(none),50
        """)
    write_export(inbox, "spend", "spend.csv", """
        date,channel,cost
        2026-07,Webinar,"300,000.25"
        2026-08,Webinar,200000
        2026-09,展示会,500000
        """)
    wh = root / "warehouse" / "funnel.duckdb"
    return inbox, wh, run_job(inbox, wh)


def test_every_suite_passes_on_a_real_run_and_links_its_data_docs(published):
    _, wh, result = published
    assert result.success
    evaluations = gx_evaluations(result)
    assert set(evaluations) == GX_CHECK_NAMES
    docs = docs_dir_for(wh)
    assert docs == wh.parent.resolve() / "gx" / "funnel"
    assert (docs / "index.html").is_file()
    for name, ev in evaluations.items():
        md = ev.metadata
        assert ev.passed, (name, md["failed_expectations"].value)
        assert ev.blocking
        assert md["unsuccessful_expectations"].value == 0
        assert md["evaluated_expectations"].value == md["successful_expectations"].value > 0
        assert md["failed_expectations"].value == "none"
        page = url_to_path(md["data_docs"].value)
        assert page.is_file() and docs in page.parents, page
        assert page.name == f"marts-{name.removesuffix('_expectation_suite')}.html"
        assert Path(md["data_docs_path"].value) == page
        assert url_to_path(md["data_docs_index"].value) == docs / "index.html"
    # The index of the run lists every suite's validation.
    index = (docs / "index.html").read_text(encoding="utf-8")
    # content_influence is empty without touchpoints, the video marts without video exports: their suites
    # are the variants without the reconciled sums
    empty = {"content_influence", "video_performance", "video_funnel"}
    assert sorted(m for m in CHECKED_MARTS if f"validations/{m}/" not in index) == sorted(empty)
    assert all(f"validations/{m}%20%28empty%29/" in index for m in empty)
    # Reconciliation parameters are the staged totals, and the mart sums match them exactly.
    totals = evaluations["channel_funnel_expectation_suite"].metadata["staged_totals"].value
    assert totals["channel_funnel__leads__staged_total"] == 5
    assert totals["channel_funnel__wins__staged_total"] == 2
    assert totals["channel_funnel__revenue_cents__staged_total"] == 250_000_050
    assert query(wh, "SELECT sum(leads), sum(wins), sum(revenue) FROM marts.channel_funnel")[0][:2] == (5, 2)
    spend = evaluations["channel_roi_expectation_suite"].metadata["staged_totals"].value
    assert spend["channel_roi__spend_cents__staged_total"] == 100_000_025


def test_gx_checks_are_blocking_and_one_per_mart():
    from pipelines.definitions import defs

    specs = [spec for d in defs().resolve_asset_graph().assets_defs for spec in d.check_specs
             if spec.name in GX_CHECK_NAMES]
    assert sorted(s.name for s in specs) == sorted(GX_CHECK_NAMES)
    assert all(s.blocking for s in specs)
    assert {s.asset_key for s in specs} == {dg.AssetKey(["marts", m]) for m in CHECKED_MARTS}
    assert set(SUITES) == set(CHECKED_MARTS)


# --------------------------------------------------------------------------- hand-made frames


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("CREATE SCHEMA marts")
    yield c
    c.close()


@pytest.fixture(scope="module")
def runner(tmp_path_factory, con):
    return GxRunner(tmp_path_factory.mktemp("gx_unit") / "docs", "unit-test", con)


def frame(rows: list[dict], dates: tuple[str, ...]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    for d in dates:
        df[d] = pd.to_datetime(df[d])
    return df


def sums(suite, df: pd.DataFrame, **override) -> dict[str, int]:
    params = {suite.parameter(c): int(df[c].sum()) for c in suite.reconcile}
    params.update({suite.parameter(c): v for c, v in override.items()})
    return params


def failed(outcome) -> set[tuple[str, str]]:
    return {(f["expectation"], f["column"]) for f in outcome.failed}


def validate(runner, con, suite, df: pd.DataFrame, parameters: dict[str, int]):
    """GX's outcome on the rows of `df` written as marts.<mart> (the suite adds the cents of money columns)."""
    con.register("frame", df.drop(columns=[f"{c}_cents" for c in suite.money_cents if f"{c}_cents" in df]))
    con.execute(f"CREATE OR REPLACE TABLE marts.{suite.mart} AS SELECT * FROM frame")
    con.unregister("frame")
    return runner.validate(con, suite, parameters, len(df))


def cohort_row(month, channel, leads, mql, sql, opp, won, rates=(0.5, 0.5, 0.5, 0.5, 0.1)):
    names = ["lead_to_mql_rate", "mql_to_sql_rate", "sql_to_opportunity_rate", "opportunity_to_win_rate",
             "lead_to_win_rate"]
    return {"cohort_start": month, "channel": channel, "leads": leads, "reached_mql": mql, "reached_sql": sql,
            "reached_opportunity": opp, "reached_win": won, "revenue": 1000.0 * max(won, 0),
            **dict(zip(names, rates)), "revenue_cents": 100_000 * max(won, 0)}


def test_lead_cohort_funnel_suite_fails_exactly_the_broken_expectations(runner, con):
    suite = SUITES["lead_cohort_funnel"]
    # Rates are set by hand (the suite bounds them; it does not recompute them from the counts).
    df = frame([
        cohort_row("2026-07-01", "Webinar", 10, 6, 4, 2, 1),
        cohort_row("2026-07-01", "Webinar", 5, 2, 1, 1, 0),                 # duplicate key
        cohort_row("2026-08-01", "Webinar", 4, 3, 1, 1, 0, rates=(1.5, 0.3, 1.0, 0.0, 0.0)),  # rate 1.5
        cohort_row("2026-08-01", "Partner", 3, 1, 1, 0, -1, rates=(0.3, 1.0, 0.0, None, None)),  # negative count
        cohort_row("2026-09-01", "Partner", 1, 1, 1, 1, 3, rates=(1.0, 1.0, 1.0, None, None)),   # reached_win > leads
    ], ("cohort_start",))
    # leads do not reconcile: the staged total is one more than the mart's sum.
    outcome = validate(runner, con, suite, df, sums(suite, df, leads=int(df["leads"].sum()) + 1))
    assert not outcome.success
    assert failed(outcome) == {
        ("expect_compound_columns_to_be_unique", "cohort_start, channel"),
        ("expect_column_values_to_be_between", "lead_to_mql_rate"),
        ("expect_column_values_to_be_between", "reached_win"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "reached_opportunity >= reached_win"),
        ("expect_column_sum_to_be_between", "leads"),
    }
    assert outcome.unsuccessful == 5
    assert outcome.evaluated == len(expectations(suite)) == outcome.successful + 5
    counts = {f["column"]: f["unexpected_count"] for f in outcome.failed}
    assert counts["cohort_start, channel"] == 2
    assert counts["lead_to_mql_rate"] == counts["reached_win"] == counts["reached_opportunity >= reached_win"] == 1
    by_column = {f["column"]: f for f in outcome.failed}
    assert by_column["leads"]["observed"] == 23 and by_column["leads"]["expected"] == "= 24"
    assert by_column["lead_to_mql_rate"]["observed"] == [1.5]
    assert not url_to_path(outcome.docs_url).exists()  # rendered once for the step, at its end
    runner.build_docs()
    page = url_to_path(outcome.docs_url)
    assert page.is_file()
    # the verdicts-only pass that found the failure is not kept: one result, with its details, on the page
    kept = [k for k in runner.context.validation_results_store.list_keys()
            if k.expectation_suite_identifier.name == suite.mart]
    assert len(kept) == 1 and kept[0].to_tuple()[-1] in str(page)
    assert "1.5" in page.read_text(encoding="utf-8")


def test_channel_funnel_period_rates_may_exceed_one_but_counts_must_reconcile(runner, con):
    suite = SUITES["channel_funnel"]
    row = {"period_start": "2026-07-01", "channel": "Webinar", "impressions": 400, "clicks": 20, "sessions": 10,
           "leads": 2, "mqls": 3, "sqls": 1, "opportunities": 1, "wins": 1, "revenue": 1000.5,
           "impression_to_click_rate": 0.05, "click_to_session_rate": 0.5, "session_to_lead_rate": 0.2,
           "lead_to_mql_rate": 1.5, "mql_to_sql_rate": 1 / 3, "sql_to_opportunity_rate": 1.0,
           "opportunity_to_win_rate": 1.0, "revenue_cents": 100_050}
    df = frame([row, {**row, "channel": "Partner"}], ("period_start",))
    assert validate(runner, con, suite, df, sums(suite, df)).success  # mqls > leads in a month is allowed
    outcome = validate(runner, con, suite, df, sums(suite, df, revenue_cents=200_099))  # one cent off
    assert failed(outcome) == {("expect_column_sum_to_be_between", "revenue_cents")}


def test_bottlenecks_suite_allows_one_bottleneck_per_month_and_channel(runner, con):
    suite = SUITES["bottlenecks"]

    def row(channel, transition, is_bottleneck):
        return {"cohort_start": "2026-07-01", "channel": channel, "transition": transition, "from_count": 4,
                "to_count": 2, "actual_rate": 0.5, "reference_rate": 0.6, "gap_points": -10.0,
                "lost_volume": 0.4, "lost_revenue": 1000.0, "is_bottleneck": is_bottleneck}

    good = frame([row("Webinar", "lead_to_mql", True), row("Webinar", "mql_to_sql", False),
                  row("Partner", "lead_to_mql", True)], ("cohort_start",))
    assert validate(runner, con, suite, good, {}).success
    bad = frame([row("Webinar", "lead_to_mql", True), row("Webinar", "mql_to_sql", True),
                 {**row("Partner", "lead_to_mql", False), "to_count": 5}], ("cohort_start",))
    assert {(e, c.split(" (where")[0]) for e, c in failed(validate(runner, con, suite, bad, {}))} == {
        ("expect_compound_columns_to_be_unique", "cohort_start, channel"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "from_count >= to_count"),
    }


def test_stage_history_suite_fails_exactly_the_broken_expectations(runner, con):
    suite = SUITES["stage_history"]

    def row(record_id, stage, mapped, first, last, snapshots):
        return {"record_type": "lead", "record_id": record_id, "stage": stage, "mapped_stage": mapped,
                "first_seen_at": first, "last_seen_at": last, "snapshots": snapshots, "first_seen_in": "leads.csv"}

    good = frame([row("L1", "lead", "lead", "2026-07-01", "2026-07-02", 2),
                  row("L1", "mql", "mql", "2026-07-03", "2026-07-03", 1)], ("first_seen_at", "last_seen_at"))
    assert validate(runner, con, suite, good, {}).success
    bad = frame([row("L1", "lead", "lead", "2026-07-01", "2026-07-02", 2),
                 row("L1", "lead", "lead", "2026-07-01", "2026-07-02", 1),  # repeated key
                 row("L2", "lead", "lead", "2026-07-05", "2026-07-04", 0),  # last before first, no snapshot
                 row(None, "x", "prospect", "2026-07-01", "2026-07-01", 1)],  # no id, unknown stage
                ("first_seen_at", "last_seen_at"))
    assert failed(validate(runner, con, suite, bad, {})) == {
        ("expect_column_values_to_not_be_null", "record_id"),
        ("expect_compound_columns_to_be_unique", "record_type, record_id, stage"),
        ("expect_column_values_to_be_between", "snapshots"),
        ("expect_column_pair_values_a_to_be_greater_than_b", "last_seen_at >= first_seen_at"),
        ("expect_column_values_to_be_in_set", "mapped_stage"),
    }


def test_a_missing_column_fails_its_expectations_with_the_reason(runner, con):
    suite = SUITES["deal_to_win"]
    df = frame([{"period_start": "2026-07-01", "channel": "Webinar", "wins": 1, "win_rate": 1.0,
                 "revenue": 10.0, "avg_deal_size": 10.0, "median_days_opportunity_to_win": 3.0,
                 "revenue_cents": 1000}],
               ("period_start",))  # no column losses
    outcome = validate(runner, con, suite, df, {suite.parameter("wins"): 1, suite.parameter("losses"): 0,
                                          suite.parameter("revenue_cents"): 1000})
    assert {f["column"] for f in outcome.failed} == {"losses"}
    assert all('"losses"' in f["observed"] and "does not exist" in f["observed"] for f in outcome.failed)


def test_old_validation_pages_are_pruned_to_the_newest_runs(tmp_path):
    for i in range(4):
        run = tmp_path / f"run{i}"
        run.mkdir()
        os.utime(run, (1_000_000 + i, 1_000_000 + i))
    _prune_old_runs(tmp_path, keep=2)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run2", "run3"]


# --------------------------------------------------------------------------- blocking


def run_with_a_mart_tampered(published, tmp_path, monkeypatch, sql_file: str, tamper: str):
    """A run on a copy of the published warehouse in which statement `tamper` changes a mart right
    after `sql_file` built it; also the published file's digest and mtime before the run."""
    inbox, first_wh, _ = published
    wh = tmp_path / "warehouse" / "funnel.duckdb"
    shutil.copytree(first_wh.parent, wh.parent, ignore=shutil.ignore_patterns("gx"))
    before = (digest(wh), wh.stat().st_mtime_ns)
    with duckdb.connect(str(settings.working_database_path(wh))) as con:  # else the mart is up to date: not built again
        con.execute("DELETE FROM staging.build_state WHERE model = $m", {"m": f"marts.{sql_file.removesuffix('.sql')}"})
    real = assets.transform.sql_tables.run_sql_file

    def run_then_tamper(con, path, *args):
        real(con, path, *args)
        if path.name == sql_file:
            con.execute(tamper)

    monkeypatch.setattr(assets.transform.sql_tables, "run_sql_file", run_then_tamper)
    return run_job(inbox, wh), wh, before


def test_a_failed_suite_blocks_the_publish(published, tmp_path, monkeypatch):
    # counting a lost deal twice passes the SQL checks (keys unique, win_rate in [0, 1])
    result, wh, (before, mtime) = run_with_a_mart_tampered(
        published, tmp_path, monkeypatch, "deal_to_win.sql",
        "UPDATE marts.deal_to_win SET losses = losses + 1, win_rate = wins / (wins + losses + 1) WHERE losses > 0")

    assert not result.success
    evaluations = gx_evaluations(result)
    bad = evaluations["deal_to_win_expectation_suite"]
    assert not bad.passed
    assert "losses" in bad.metadata["failed_expectations"].value
    assert url_to_path(bad.metadata["data_docs"].value).is_file()
    # the marts not built again (nothing they read changed) keep their last verdict, unevaluated (target_plan
    # too: it is built again on a new day, tests/integration/test_target_plan.py)
    assert all(ev.passed for name, ev in evaluations.items() if name != "deal_to_win_expectation_suite")
    for suite in ("channel_funnel_expectation_suite", "target_plan_expectation_suite"):
        assert evaluations[suite].metadata["evaluated"].value.startswith("no: the table is as its last build left it")
    assert PUBLISHED not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert digest(wh) == before and wh.stat().st_mtime_ns == mtime  # the published file was not touched

    # the failed build is forgotten: the next run (no tampering) builds deal_to_win again and validates it
    monkeypatch.undo()
    again = run_job(published[0], wh)
    assert again.success
    built = {e.asset_key: e.materialization.metadata.get("build") for e in again.get_asset_materialization_events()}
    assert built[dg.AssetKey(["marts", "deal_to_win"])].value == "full"
    assert "data_docs" in gx_evaluations(again)["deal_to_win_expectation_suite"].metadata


def test_a_failed_reconciliation_fails_the_transform_step_and_blocks_the_publish(published, tmp_path, monkeypatch):
    """The SQL checks run right after their mart is written: a mart that no longer adds up to the staged
    inputs is recorded as materialized with its check failed, and nothing downstream runs."""
    result, wh, (before, mtime) = run_with_a_mart_tampered(
        published, tmp_path, monkeypatch, "channel_funnel.sql",
        "UPDATE marts.channel_funnel SET wins = wins + 1 WHERE wins > 0 AND period_start = "
        "(SELECT min(period_start) FROM marts.channel_funnel WHERE wins > 0)")

    assert not result.success
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    reconcile = evaluations["channel_funnel_reconciles_with_inputs"]
    assert not reconcile.passed and reconcile.blocking
    assert reconcile.metadata["differences"].value == {"wins": {"mart": "3", "inputs": "2"}}
    assert not evaluations["channel_funnel_expectation_suite"].passed
    materialized = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["marts", "channel_funnel"]) in materialized  # written, and shown with its failed check
    assert {dg.AssetKey(["marts", "channel_roi"]), dg.AssetKey(["marts", "target_plan"]), PUBLISHED}.isdisjoint(
        materialized)
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "transform"
    said = failure.event_specific_data.user_failure_data
    assert said.metadata["failed_assets"].value == "marts/channel_funnel"
    assert ("marts/channel_funnel failed its blocking check(s) channel_funnel_reconciles_with_inputs, "
            "channel_funnel_expectation_suite") in said.description
    not_built = said.description.split("Not built, so not published: ")[1].split(", ")
    assert {"marts/channel_roi", "marts/pipeline_velocity", "marts/target_plan", "marts/channel_funnel_fiscal",
            "marts/channel_roi_fiscal"} == set(not_built)
    assert digest(wh) == before and wh.stat().st_mtime_ns == mtime  # the published file was not touched


def test_an_empty_mart_reconciles_only_with_staged_totals_of_zero(runner, con):
    """In SQL the sum of no rows is NULL, no total: an empty mart passes when every staged total is 0, and
    fails naming the column when staging holds something the mart lost."""
    suite = SUITES["deal_to_win"]
    con.execute("CREATE OR REPLACE TABLE marts.deal_to_win (period_start DATE, channel VARCHAR, wins BIGINT, "
                "losses BIGINT, win_rate DOUBLE, revenue DECIMAL(18, 2), avg_deal_size DECIMAL(18, 2), "
                "median_days_opportunity_to_win DOUBLE)")
    zero = {suite.parameter(c): 0 for c in suite.reconcile}
    assert runner.validate(con, suite, zero, 0).success
    outcome = runner.validate(con, suite, {**zero, suite.parameter("wins"): 2}, 0)
    assert not outcome.success
    assert [(f["column"], f["expected"], f["observed"]) for f in outcome.failed] == [("wins", "= 2", "no rows")]
