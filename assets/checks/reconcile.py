"""SQL checks that money and counts of a mart add up exactly (DECIMAL) to the staged inputs, run right after
the mart is written in the transform step. Keys, rates, counts and stage order are in the marts'
expectation suites (assets/checks/suites.py)."""

from pathlib import Path

import dagster as dg
import duckdb

from assets.checks.keys import ATTRIBUTION_MODELS
from assets.core.database import named_queries
from assets.core.step import StepCheck

QUERIES = named_queries(Path(__file__).with_name("reconcile.sql"))


def channel_funnel_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    mart = con.execute(QUERIES["channel_funnel_totals"]).fetchone()
    inputs = con.execute(QUERIES["channel_funnel_inputs"]).fetchone()
    names = ["sessions", "leads", "opportunities", "wins", "revenue"]
    diffs = {n: {"mart": str(m or 0), "inputs": str(i)} for n, m, i in zip(names, mart, inputs) if (m or 0) != i}
    return dg.AssetCheckResult(passed=not diffs, metadata={"differences": dg.MetadataValue.json(diffs)})


def channel_roi_spend_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    mart, inputs = con.execute(QUERIES["channel_roi_spend"]).fetchone()
    return dg.AssetCheckResult(passed=mart == inputs, metadata={"mart_spend": str(mart), "input_spend": str(inputs)})


def attributed_revenue_sums_to_won_revenue(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    diffs = con.execute(QUERIES["attributed_revenue_differences"], {"models": list(ATTRIBUTION_MODELS)}).fetchall()
    return dg.AssetCheckResult(passed=not diffs, metadata={
        "differences": dg.MetadataValue.json([
            {"period_start": p, "model": m, "won_revenue": r, "attributed": a} for p, m, r, a in diffs[:20]])})


def video_performance_reconciles(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """Views, impressions and watch time of the mart equal the counted staging rows', per period grain."""
    diffs = con.execute(QUERIES["video_performance_differences"]).fetchall()
    return dg.AssetCheckResult(passed=not diffs, metadata={"differences": dg.MetadataValue.json([
        {"period_grain": g, "views": [str(a), str(b)], "impressions": [str(c), str(d)], "hours": [str(e), str(f)]}
        for g, a, b, c, d, e, f in diffs])})


def video_funnel_within_inputs(con: duckdb.DuckDBPyConnection) -> dg.AssetCheckResult:
    """Impressions and views equal video_performance's months; no video's month has more wins or revenue than
    the month's won deals."""
    totals = con.execute(QUERIES["video_funnel_totals"]).fetchone()
    over = con.execute(QUERIES["video_funnel_months_over_won"]).fetchall()
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
