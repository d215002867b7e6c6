"""End to end on generated sample exports: every asset materialises and the marts
reconcile with totals computed from the CSV files by an independent route (pandas)."""

import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from assets.checks.keys import ATTRIBUTION_MODELS
from tests.conftest import REPO, query

WON = {"Closed Won", "受注"}


def money(text) -> Decimal:
    if pd.isna(text) or str(text).strip() == "":
        return Decimal(0)
    return Decimal(re.sub(r"[¥,円]|JPY", "", str(text)).strip())


def read_all(folder: Path) -> list[pd.DataFrame]:
    # File names sort in snapshot order (the generator also sets the mtimes so).
    return [pd.read_csv(p, dtype=str, keep_default_na=False) for p in sorted(folder.glob("*.csv"))]


@pytest.fixture(scope="module")
def generated(sample_run):
    return sample_run


def test_every_asset_materialised_and_every_blocking_check_passed(generated):
    _, _, result = generated
    materialised = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert "published/funnel_duckdb" in materialised
    # raw, staging (+ marts.stage_history), marts, analytics, target_plan, publish, report,
    # staging.target_settings, fiscal roll-ups, and the video source with its staging table and two marts
    assert len(materialised) == 5 + 10 + 6 + 5 + 1 + 1 + 1 + 1 + 7 + 4
    assert "report/funnel_report" in materialised
    evaluations = result.get_asset_check_evaluations()
    assert all(ev.passed for ev in evaluations if ev.blocking)
    # the sample's files are dated at their snapshot days, the newest in 2026-09: long stale by now
    stale = {ev.check_name for ev in evaluations if ev.check_name.endswith("_newest_export_is_fresh")}
    assert stale == {f"{s}_newest_export_is_fresh"
                     for s in ("ga4_sessions", "leads", "deals", "spend", "touchpoints", "video")}
    assert not any(ev.passed for ev in evaluations if ev.check_name in stale)
    assert all(ev.passed for ev in evaluations if ev.check_name.endswith("_no_rows_quarantined"))


def test_every_input_lead_is_counted_once_in_exactly_one_channel(generated):
    inbox, wh, _ = generated
    lead_ids = set().union(*(set(df["lead_id"]) for df in read_all(inbox / "leads")))
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(len(lead_ids),)]
    assert query(wh, "SELECT sum(leads) FROM marts.lead_cohort_funnel") == [(len(lead_ids),)]


def test_wins_and_revenue_equal_the_won_deals_of_the_newest_snapshots(generated):
    inbox, wh, _ = generated
    deals = pd.concat(read_all(inbox / "deals")).drop_duplicates("deal_id", keep="last")
    won = deals[deals["stage"].isin(WON)]
    revenue = sum((money(a) for a in won["amount"]), Decimal(0))
    assert query(wh, "SELECT sum(wins), sum(revenue) FROM marts.channel_funnel") == [(len(won), revenue)]
    assert query(wh, "SELECT sum(wins), sum(revenue) FROM marts.deal_to_win") == [(len(won), revenue)]
    assert query(wh, "SELECT sum(opportunities) FROM marts.channel_funnel") == [(len(deals),)]
    # every attribution model hands out exactly the won revenue, no cent more or less
    assert query(wh, "SELECT model, sum(attributed_revenue) FROM marts.attributed_revenue GROUP BY model "
                     "ORDER BY model") == [(m, revenue) for m in sorted(ATTRIBUTION_MODELS)]


def test_touches_loaded_and_the_planted_demo_video_effect_found(generated):
    inbox, wh, _ = generated
    touches = pd.concat(read_all(inbox / "touchpoints"))
    assert query(wh, "SELECT count(*) FROM marts.content_influence WHERE content_id = '(all)'") == [
        (touches["touch_type"].nunique(),)]
    leads = set().union(*(set(df["lead_id"]) for df in read_all(inbox / "leads")))
    deals = pd.concat(read_all(inbox / "deals")).drop_duplicates("deal_id", keep="last")
    linked = deals[deals["lead_id"].isin(leads)]
    (opportunities, with_rate, without_rate), = query(
        wh, "SELECT opportunities, win_rate_with_touch, win_rate_without_touch FROM marts.content_influence "
            "WHERE touch_type = 'video_view' AND content_id = 'video_product_demo'")
    assert opportunities == len(linked)
    # the generator shows the demo to 45% of leads that go on to win and 20% of the others
    assert with_rate > without_rate + 0.1


def test_spend_and_sessions_equal_the_inputs(generated):
    inbox, wh, _ = generated
    spend = sum((money(c) for df in read_all(inbox / "spend") for c in df["cost"]), Decimal(0))
    assert query(wh, "SELECT sum(spend) FROM marts.channel_roi") == [(spend,)]
    sessions = sum(int(s) for df in read_all(inbox / "ga4_sessions") for s in df["sessions"])
    assert query(wh, "SELECT sum(sessions) FROM marts.channel_funnel") == [(sessions,)]


def test_generated_rates_are_plausible_b2b_rates(generated):
    _, wh, _ = generated
    (lead_to_mql, mql_to_sql, win_rate) = query(
        wh, "SELECT sum(reached_mql) / sum(leads), sum(reached_sql) / sum(reached_mql), "
            "(SELECT sum(wins) / sum(wins + losses) FROM marts.deal_to_win) FROM marts.lead_cohort_funnel")[0]
    assert 0.30 <= lead_to_mql <= 0.50
    assert 0.20 <= mql_to_sql <= 0.40
    assert 0.20 <= win_rate <= 0.30


def test_video_marts_add_up_to_the_studio_tables_and_every_video_has_its_funnel(generated):
    inbox, wh, _ = generated
    tables = pd.concat(pd.read_csv(p, dtype=str) for p in sorted((inbox / "video").glob("*/表データ.csv")))
    videos = tables[tables["コンテンツ"] != "合計"]  # the Total row is the channel's, never added
    views, impressions = videos["視聴回数"].astype(int).sum(), videos["インプレッション数"].astype(int).sum()
    # each export is one whole month: every table counts in its month, the chart days it covers do not
    assert query(wh, "SELECT period_grain, sum(views), sum(impressions), count(DISTINCT video_id) "
                     "FROM marts.video_performance GROUP BY ALL") == [("month", views, impressions, 6)]
    assert query(wh, "SELECT sum(views), sum(impressions) FROM marts.video_funnel") == [(views, impressions)]
    per_video = query(wh, "SELECT video_id, sum(inquiries), sum(opportunities), sum(wins), "
                          "arg_max(roi_to_date, period_start) FROM marts.video_funnel GROUP BY ALL")
    costs = pd.read_csv(REPO / "config" / "video_costs.csv", dtype=str)
    assert {v for v, *_ in per_video} == set(costs["video_id"])
    assert all(inquiries and opportunities and wins and roi is not None for _, inquiries, opportunities, wins, roi
               in per_video), per_video
