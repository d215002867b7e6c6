"""staging -> marts: the six funnel tables of CONTRACT section 5, one SQL file each,
and the checks that must pass before the warehouse is published."""

import dagster as dg
import duckdb

from assets.checks.expectations import suite_check
from assets.checks.keys import ATTRIBUTION_MODELS, BOUNDED_RATES, KEYS  # noqa: F401 (also imported from here)
from assets.core.tables import StepCheck, sql_table
from assets.core.resource import FunnelResource

MARTS = {
    "channel_funnel": ("Funnel counts per month and channel, and the period rates between stages.",
                       ["sessions", "lead_funnel", "deals", "spend"]),
    "lead_cohort_funnel": ("Leads by creation month and channel, and how far each cohort has got.", ["lead_funnel"]),
    "mql_to_sql": ("MQLs by MQL month and channel, how many became SQL and how fast.", ["lead_funnel"]),
    "deal_to_win": ("Deals by close month and channel: won, lost, win rate, deal size, days to close.", ["deals"]),
    "channel_roi": ("Spend against leads, MQLs, opportunities, wins and revenue per month and channel: "
                    "CPA, cost per MQL/opportunity, CAC, ROAS, ROI.", ["spend"]),
    "stage_velocity": ("Days per funnel transition and channel: n, median and 75th percentile.",
                       ["transition_days"]),
}

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


# Keys, rates, counts and stage order of every mart are checked by its expectation suite
# (assets/expectations.py); these SQL checks reconcile money exactly in DECIMAL. Both kinds are
# blocking and run right after the mart is written, in the transform step (assets/transform.py).
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
SQL_CHECKS = {"channel_funnel": [CHANNEL_FUNNEL_RECONCILES], "channel_roi": [CHANNEL_ROI_SPEND_RECONCILES],
              "attributed_revenue": [ATTRIBUTED_REVENUE_SUMS_TO_WON_REVENUE]}


def mart_checks(name: str) -> list[StepCheck]:
    """The checks evaluated right after marts.<name> is written: its SQL checks, then its expectation suite."""
    return [*SQL_CHECKS.get(name, []), suite_check(name)]


MART_TABLES = [
    sql_table(
        "marts", name, f"marts/{name}.sql",
        [["staging", d] for d in deps] + ([["marts", "channel_funnel"]] if name == "channel_roi" else []),
        "marts", description, checks=mart_checks(name),
    )
    for name, (description, deps) in MARTS.items()
]


@dg.asset_check(asset=dg.AssetKey(["ops", "unmapped_values"]), name="every_raw_value_mapped",
                description="Warns when a lead/deal source, spend channel, GA4 channel group or stage value "
                "matches no rule of channels.yaml / stages.yaml (its records are kept in the fallback).")
def every_raw_value_mapped(funnel: FunnelResource) -> dg.AssetCheckResult:
    with funnel.connect() as con:
        rows = con.execute(
            "SELECT kind, raw_value, mapped_to, records FROM ops.unmapped_values ORDER BY records DESC LIMIT 20"
        ).df()
        total = con.execute("SELECT coalesce(sum(records), 0) FROM ops.unmapped_values").fetchone()[0]
    return dg.AssetCheckResult(
        passed=rows.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unmapped_values": len(rows), "records": int(total),
                  "top": dg.MetadataValue.md(rows.to_markdown(index=False) if not rows.empty else "none")},
    )


def _counted_once_check(table: str, measure: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["staging", table]), name=f"{table}_counted_once",
                    description=f"Warns when rows of {table} were loaded but are not counted in the monthly marts so "
                    "that nothing counts twice: a range total (an export without a date column, dated by its date "
                    "range) over several months or covered by finer rows or a newer range"
                    + (", or a month row whose month has day rows of the same channel and campaign" if table == "spend"
                       else "") + f". The rows and the reason are in staging.{table}_not_counted.")
    def _check(funnel: FunnelResource) -> dg.AssetCheckResult:
        with funnel.connect() as con:
            rows = con.execute(
                f"SELECT _source_file AS file, date AS starts, date_end AS ends, count(*) AS rows, "
                f"sum({measure}) AS {measure}, any_value(not_counted_because) AS reason "
                f"FROM staging.{table}_not_counted GROUP BY ALL ORDER BY file, starts LIMIT 20"
            ).df()
        return dg.AssetCheckResult(
            passed=rows.empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"files": rows["file"].nunique() if not rows.empty else 0,
                      "rows": int(rows["rows"].sum()) if not rows.empty else 0,
                      "not_counted": dg.MetadataValue.md(rows.to_markdown(index=False) if not rows.empty else "none")},
        )

    return _check


# Checks of assets built in assets/staging.py, each a step of its own: they warn about values and
# ranges left out.
MART_CHECKS = [
    every_raw_value_mapped,
    _counted_once_check("sessions", "sessions"), _counted_once_check("spend", "cost")]
