"""SQL checks that money and counts of a mart add up exactly (DECIMAL) to the staged inputs, run right after
the mart is written in the transform step. Keys, rates, counts and stage order are in the marts'
expectation suites (assets/checks/suites.py)."""

import dagster as dg
import duckdb

from assets.checks.keys import ATTRIBUTION_MODELS
from assets.core.step import StepCheck


def channel_funnel_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    mart = con.execute(
        "SELECT sum(sessions), sum(leads), sum(opportunities), sum(wins), sum(revenue) FROM marts.channel_funnel"
    ).fetchone()
    inputs = con.execute(
        "SELECT (SELECT coalesce(sum(sessions), 0) FROM staging.sessions), (SELECT count(*) FROM staging.leads), "
        "(SELECT count(*) FROM staging.deals), (SELECT count(*) FROM staging.deals WHERE outcome = 'won'), "
        "(SELECT coalesce(sum(amount), 0) FROM staging.deals WHERE outcome = 'won')"
    ).fetchone()
    names = ["sessions", "leads", "opportunities", "wins", "revenue"]
    diffs = {n: {"mart": str(m or 0), "inputs": str(i)} for n, m, i in zip(names, mart, inputs) if (m or 0) != i}
    return dg.AssetCheckResult(passed=not diffs, metadata={"differences": dg.MetadataValue.json(diffs)})


def channel_roi_spend_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    mart, inputs = con.execute(
        "SELECT (SELECT coalesce(sum(spend), 0) FROM marts.channel_roi), "
        "(SELECT coalesce(sum(cost), 0) FROM staging.spend)"
    ).fetchone()
    return dg.AssetCheckResult(passed=mart == inputs, metadata={"mart_spend": str(mart), "input_spend": str(inputs)})


def attributed_revenue_sums_to_won_revenue(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    diffs = con.execute(
        "WITH won AS (SELECT month_start(closed_on) AS period_start, sum(coalesce(amount, 0)) AS revenue "
        "FROM staging.deals WHERE outcome = 'won' GROUP BY ALL), "
        "models AS (SELECT unnest($models) AS model), "
        "attributed AS (SELECT period_start, model, sum(attributed_revenue) AS attributed "
        "FROM marts.attributed_revenue GROUP BY ALL) "
        "SELECT CAST(w.period_start AS VARCHAR), m.model, CAST(w.revenue AS VARCHAR), "
        "CAST(coalesce(a.attributed, 0) AS VARCHAR) FROM won w CROSS JOIN models m "
        "LEFT JOIN attributed a ON a.period_start = w.period_start AND a.model = m.model "
        "WHERE coalesce(a.attributed, 0) <> w.revenue "
        "UNION ALL SELECT CAST(a.period_start AS VARCHAR), a.model, '0', CAST(a.attributed AS VARCHAR) "
        "FROM attributed a WHERE a.attributed <> 0 AND NOT EXISTS "
        "(SELECT 1 FROM won w WHERE w.period_start = a.period_start) ORDER BY 1, 2",
        {"models": list(ATTRIBUTION_MODELS)},
    ).fetchall()
    return dg.AssetCheckResult(passed=not diffs, metadata={
        "differences": dg.MetadataValue.json([
            {"period_start": p, "model": m, "won_revenue": r, "attributed": a} for p, m, r, a in diffs[:20]])})


def video_performance_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """Views, impressions and watch time of the mart equal the counted staging rows', per period grain."""
    diffs = con.execute(
        "WITH m AS (SELECT period_grain, sum(views) AS views, sum(impressions) AS impressions, "
        "round(sum(watch_time_hours), 6) AS hours FROM marts.video_performance GROUP BY ALL), "
        "s AS (SELECT period_grain, sum(views) AS views, sum(impressions) AS impressions, "
        "round(sum(watch_time_hours), 6) AS hours FROM staging.video GROUP BY ALL) "
        "SELECT period_grain, m.views, s.views, m.impressions, s.impressions, m.hours, s.hours "
        "FROM m FULL JOIN s USING (period_grain) WHERE (m.views, m.impressions, m.hours) "
        "IS DISTINCT FROM (s.views, s.impressions, s.hours) ORDER BY 1").fetchall()
    return dg.AssetCheckResult(passed=not diffs, metadata={"differences": dg.MetadataValue.json([
        {"period_grain": g, "views": [str(a), str(b)], "impressions": [str(c), str(d)], "hours": [str(e), str(f)]}
        for g, a, b, c, d, e, f in diffs])})


def video_funnel_within_inputs(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """Impressions and views equal video_performance's months; no video's month has more wins or revenue than
    the month's won deals."""
    totals = con.execute(
        "SELECT (SELECT sum(impressions) FROM marts.video_funnel), (SELECT sum(views) FROM marts.video_funnel), "
        "(SELECT sum(impressions) FROM marts.video_performance WHERE period_grain = 'month'), "
        "(SELECT sum(views) FROM marts.video_performance WHERE period_grain = 'month')").fetchone()
    over = con.execute(
        "WITH won AS (SELECT month_start(closed_on) AS period_start, count(*) AS wins, sum(coalesce(amount, 0)) "
        "AS revenue FROM staging.deals WHERE outcome = 'won' GROUP BY ALL) "
        "SELECT CAST(f.period_start AS VARCHAR), f.video_id, f.wins, CAST(f.revenue AS VARCHAR) "
        "FROM marts.video_funnel f LEFT JOIN won w USING (period_start) "
        "WHERE f.wins > coalesce(w.wins, 0) OR f.revenue > coalesce(w.revenue, 0) ORDER BY 1, 2 LIMIT 20").fetchall()
    same = totals[0] == totals[2] and totals[1] == totals[3]
    return dg.AssetCheckResult(passed=same and not over, metadata={
        "impressions": [str(totals[0]), str(totals[2])], "views": [str(totals[1]), str(totals[3])],
        "months_over_the_won_deals": dg.MetadataValue.json(
            [{"period_start": p, "video_id": v, "wins": w, "revenue": r} for p, v, w, r in over])})


CHANNEL_FUNNEL_RECONCILES = StepCheck(
    "channel_funnel_reconciles_with_inputs",
    "Sessions, leads, opportunities, wins and revenue of channel_funnel add up exactly to the staged inputs: every "
    "lead in one channel, every won deal's amount counted once.",
    lambda con, context, funnel: channel_funnel_reconciles(con))
CHANNEL_ROI_SPEND_RECONCILES = StepCheck(
    "channel_roi_spend_reconciles", "Total spend in channel_roi equals the staged spend rows.",
    lambda con, context, funnel: channel_roi_spend_reconciles(con))
ATTRIBUTED_REVENUE_SUMS_TO_WON_REVENUE = StepCheck(
    "attributed_revenue_sums_to_won_revenue",
    "Under every attribution model, the revenue of each close month adds up exactly (DECIMAL) to the won revenue "
    "of that month in staging.deals: no cent lost or made up by the split.",
    lambda con, context, funnel: attributed_revenue_sums_to_won_revenue(con))
VIDEO_PERFORMANCE_RECONCILES = StepCheck(
    "video_performance_reconciles_with_staging",
    "Views, impressions and watch time of video_performance add up, per period grain, to the YouTube rows "
    "counted in staging.video: every counted row in one period, none twice.",
    lambda con, context, funnel: video_performance_reconciles(con))
VIDEO_FUNNEL_WITHIN_INPUTS = StepCheck(
    "video_funnel_within_inputs",
    "Impressions and views of video_funnel equal video_performance's months, and no video's month has more wins "
    "or revenue than the deals won that month (staging.deals).",
    lambda con, context, funnel: video_funnel_within_inputs(con))
SQL_CHECKS = {"channel_funnel": [CHANNEL_FUNNEL_RECONCILES], "channel_roi": [CHANNEL_ROI_SPEND_RECONCILES],
              "attributed_revenue": [ATTRIBUTED_REVENUE_SUMS_TO_WON_REVENUE],
              "video_performance": [VIDEO_PERFORMANCE_RECONCILES], "video_funnel": [VIDEO_FUNNEL_WITHIN_INPUTS]}
