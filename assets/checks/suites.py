"""The expectation suites of the marts, as data: one `MartSuite` per mart of `KEYS` and per fiscal roll-up
of `FISCAL_KEYS` (derived from its monthly mart's), saying what the COMMENTs of assets/sql/marts/*.sql and
assets/plan/target_plan.py promise about each column:

- keys: never NULL, never repeated;
- counts: never NULL, never negative (some at least 1);
- rates that by definition lie in [0, 1] (channel_funnel's period rates do not:
  a later stage of a month can come from earlier months, so they are only >= 0);
- money, durations and ratios that cannot be negative;
- cohort tables: a later funnel stage never exceeds an earlier one, row by row;
- reconciliation: the sum of a count (or of money, as exact integer cents) equals
  the staged total, computed in SQL from staging.* and passed to the suite as
  suite parameters at run time.

Money: a DECIMAL column's sum is checked as exact integer cents (`<column>_cents`, a BIGINT of the
query GX validates); the staged totals are exact Python ints. GX coerces the suite parameter to a float,
which is exact below 2**53 cents (9e13 in currency units), far above any total here. The exact DECIMAL
reconciliation in SQL (assets/checks/reconcile.py) stays. assets/checks/expectations.py runs them."""

from dataclasses import dataclass, field

import duckdb

from assets.checks.keys import ATTRIBUTION_MODELS, BOUNDED_RATES, FISCAL_KEYS, GRAINS, KEYS, STAGES
from schemas.config import LIFECYCLE_ORDER


# Staged totals, as scalar SQL over the staging schema (exact ints).
_LEADS = "SELECT count(*) FROM staging.lead_funnel"
_MQLS = "SELECT count(*) FROM staging.lead_funnel WHERE reached_mql"
_SQLS = "SELECT count(*) FROM staging.lead_funnel WHERE reached_sql"
_COHORT_OPPORTUNITIES = "SELECT count(*) FROM staging.lead_funnel WHERE reached_opportunity"
_COHORT_WON = "SELECT count(*) FROM staging.lead_funnel WHERE won"
_COHORT_REVENUE_CENTS = "SELECT coalesce(sum(CAST(won_revenue * 100 AS BIGINT)), 0) FROM staging.lead_funnel"
_SESSIONS = "SELECT coalesce(sum(sessions), 0) FROM staging.sessions"
_DEALS = "SELECT count(*) FROM staging.deals"
_WON = "SELECT count(*) FROM staging.deals WHERE outcome = 'won'"
_LOST = "SELECT count(*) FROM staging.deals WHERE outcome = 'lost'"
_WON_REVENUE_CENTS = "SELECT coalesce(sum(CAST(amount * 100 AS BIGINT)), 0) FROM staging.deals WHERE outcome = 'won'"
_SPEND_CENTS = "SELECT coalesce(sum(CAST(cost * 100 AS BIGINT)), 0) FROM staging.spend"
_IMPRESSIONS = "SELECT coalesce(sum(impressions), 0) FROM staging.spend"
_CLICKS = "SELECT coalesce(sum(clicks), 0) FROM staging.spend"


@dataclass(frozen=True)
class MartSuite:
    """What one mart promises, as data; `expectations()` turns it into GX expectations."""

    mart: str
    keys: tuple[str, ...]
    counts: tuple[str, ...] = ()  # integers: not NULL, >= 0
    non_negative: tuple[str, ...] = ()  # >= 0 where not NULL
    rates: tuple[str, ...] = ()  # in [0, 1] where not NULL
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # extra bounds
    ordered: tuple[tuple[str, str], ...] = ()  # (a, b): a >= b on every row where both are set
    in_set: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unique_where_true: dict[str, tuple[str, ...]] = field(default_factory=dict)  # flag -> columns unique among its rows
    reconcile: dict[str, str] = field(default_factory=dict)  # column -> SQL of the staged total its sum must equal
    money_cents: tuple[str, ...] = ()  # DECIMAL columns also read as exact integer cents, `<column>_cents`

    def parameter(self, column: str) -> str:
        return f"{self.mart}__{column}__staged_total"

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """Column -> (least, greatest) its values may be: counts and non-negative columns at least 0,
        rates in [0, 1], then the explicit ranges (which win)."""
        bounds: dict[str, tuple[float | None, float | None]] = {c: (0, None) for c in (*self.counts, *self.non_negative)}
        bounds.update({c: (0, 1) for c in self.rates})
        bounds.update(self.ranges)
        return bounds


_CHANNEL_FUNNEL_TOTALS = {"impressions": _IMPRESSIONS, "clicks": _CLICKS, "leads": _LEADS, "mqls": _MQLS,
                          "opportunities": _DEALS, "wins": _WON, "revenue_cents": _WON_REVENUE_CENTS}

SUITES: dict[str, MartSuite] = {s.mart: s for s in [
    MartSuite(
        "channel_funnel", keys=tuple(KEYS["channel_funnel"]),
        counts=("impressions", "clicks", "sessions", "leads", "mqls", "sqls", "opportunities", "wins"),
        # Period rates compare stages of one month and can exceed 1 (COMMENT): only >= 0.
        non_negative=("revenue", "impression_to_click_rate", "click_to_session_rate", "session_to_lead_rate", "lead_to_mql_rate", "mql_to_sql_rate",
                      "sql_to_opportunity_rate", "opportunity_to_win_rate"),
        reconcile={"sessions": _SESSIONS, "sqls": _SQLS, **_CHANNEL_FUNNEL_TOTALS},
        money_cents=("revenue",),
    ),
    MartSuite(
        "lead_cohort_funnel", keys=tuple(KEYS["lead_cohort_funnel"]),
        counts=("leads", "reached_mql", "reached_sql", "reached_opportunity", "reached_win"),
        ranges={"leads": (1, None)},
        non_negative=("revenue",),
        rates=tuple(BOUNDED_RATES["lead_cohort_funnel"]),
        ordered=(("leads", "reached_mql"), ("reached_mql", "reached_sql"),
                 ("reached_sql", "reached_opportunity"), ("reached_opportunity", "reached_win")),
        reconcile={"leads": _LEADS, "reached_mql": _MQLS, "reached_sql": _SQLS,
                   "reached_opportunity": _COHORT_OPPORTUNITIES, "reached_win": _COHORT_WON,
                   "revenue_cents": _COHORT_REVENUE_CENTS},
        money_cents=("revenue",),
    ),
    MartSuite(
        "mql_to_sql", keys=tuple(KEYS["mql_to_sql"]),
        counts=("mqls", "reached_sql"), ranges={"mqls": (1, None)},
        non_negative=("median_days_mql_to_sql",),  # the MQL date is never after the SQL date
        rates=tuple(BOUNDED_RATES["mql_to_sql"]),
        ordered=(("mqls", "reached_sql"),),
        reconcile={"mqls": _MQLS, "reached_sql": _SQLS},  # every SQL is an MQL
    ),
    MartSuite(
        "deal_to_win", keys=tuple(KEYS["deal_to_win"]),
        counts=("wins", "losses"), non_negative=("revenue", "avg_deal_size"),
        rates=tuple(BOUNDED_RATES["deal_to_win"]),
        reconcile={"wins": _WON, "losses": _LOST, "revenue_cents": _WON_REVENUE_CENTS},
        money_cents=("revenue",),
    ),
    MartSuite(
        "channel_roi", keys=tuple(KEYS["channel_roi"]),
        counts=("impressions", "clicks", "leads", "mqls", "opportunities", "wins"),
        non_negative=("spend", "revenue", "impression_to_click_rate", "cpc", "cpm", "cpa", "cost_per_mql",
                      "cost_per_opportunity", "cac", "roas"),
        ranges={"roi": (-1, None)},  # revenue >= 0: (revenue - spend) / spend >= -1
        reconcile={"spend_cents": _SPEND_CENTS, **_CHANNEL_FUNNEL_TOTALS},
        money_cents=("spend", "revenue"),
    ),
    MartSuite(
        "stage_velocity", keys=tuple(KEYS["stage_velocity"]),
        counts=("n",), ranges={"n": (1, None)},
        ordered=(("p75_days", "median_days"),),
        in_set={"transition": ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_win",
                               "lead_to_win")},
    ),
    MartSuite(
        "bottlenecks", keys=tuple(KEYS["bottlenecks"]),
        counts=("from_count", "to_count"), ranges={"from_count": (1, None)},
        non_negative=("lost_volume", "lost_revenue"),
        rates=("actual_rate", "reference_rate"),  # cohort rates: to_count is a subset of from_count
        ordered=(("from_count", "to_count"),),
        in_set={"transition": ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_win")},
        unique_where_true={"is_bottleneck": ("cohort_start", "channel")},
    ),
    MartSuite(
        "cohort_roi", keys=tuple(KEYS["cohort_roi"]),
        counts=("leads", "reached_win"),
        non_negative=("spend", "revenue", "roas", "cac", "months_to_payback", "gross_profit", "ltv",
                      "ltv_to_cac"),
        ranges={"roi": (-1, None), "romi": (-1, None)},  # revenue and gross profit are >= 0
        ordered=(("leads", "reached_win"), ("payback_month", "cohort_start")),
        reconcile={"leads": _LEADS, "reached_win": _COHORT_WON, "revenue_cents": _COHORT_REVENUE_CENTS,
                   "spend_cents": _SPEND_CENTS},
        money_cents=("spend", "revenue"),
    ),
    MartSuite(
        "pipeline_velocity", keys=tuple(KEYS["pipeline_velocity"]),
        counts=("open_opportunities", "won_in_window", "lost_in_window"),
        non_negative=("avg_deal_size", "pipeline_velocity"),
        rates=("win_rate",),
    ),
    MartSuite(
        "target_plan", keys=tuple(KEYS["target_plan"]),
        non_negative=("avg_deal_size", "required", "actual", "pace"),
        rates=("channel_share", "rate_used"),  # overrides are in (0, 1]; observed rates are capped at 1
        ranges={"stage_order": (1, len(STAGES))},
        ordered=(("period_end", "period_start"), ("lookback_end", "lookback_start")),
        in_set={"stage": STAGES},
    ),
    MartSuite(
        "attributed_revenue", keys=tuple(KEYS["attributed_revenue"]),
        counts=("deals_credited",),
        non_negative=("attributed_revenue", "revenue_from_touches", "revenue_without_touches"),
        ordered=(("attributed_revenue", "revenue_from_touches"), ("attributed_revenue", "revenue_without_touches")),
        in_set={"model": ATTRIBUTION_MODELS},
    ),
    MartSuite(
        "content_influence", keys=tuple(KEYS["content_influence"]),
        counts=("opportunities", "opportunities_with_touch", "closed_with_touch", "won_with_touch",
                "closed_without_touch", "won_without_touch", "leads_with_touch", "leads_with_touch_to_opportunity",
                "leads_without_touch", "leads_without_touch_to_opportunity", "smallest_base"),
        rates=("pre_opportunity_touch_rate", "win_rate_with_touch", "win_rate_without_touch",
               "opportunity_rate_with_touch", "opportunity_rate_without_touch"),
        ordered=(("opportunities", "opportunities_with_touch"), ("opportunities_with_touch", "closed_with_touch"),
                 ("closed_with_touch", "won_with_touch"), ("closed_without_touch", "won_without_touch"),
                 ("leads_with_touch", "leads_with_touch_to_opportunity"),
                 ("leads_without_touch", "leads_without_touch_to_opportunity")),
    ),
    MartSuite(
        "video_performance", keys=tuple(KEYS["video_performance"]),
        non_negative=("impressions", "views", "watch_time_hours", "average_view_duration_seconds",
                      "average_percentage_viewed", "engaged_views"),  # NULL where no export had the metric
        rates=("impression_ctr",),  # views from impressions are some of the impressions
        ordered=(("period_end", "period_start"),),
        in_set={"period_grain": ("month", "range", "export")},
    ),
    MartSuite(
        "video_funnel", keys=tuple(KEYS["video_funnel"]),
        counts=("inquiries", "opportunities", "wins", "opportunities_in_month"),
        # period rates compare stages of one month and can exceed 1 (COMMENT): only >= 0
        non_negative=("impressions", "views", "revenue", "production_cost", "revenue_to_date", "view_to_inquiry_rate",
                      "inquiry_to_opportunity_rate", "opportunity_to_win_rate"),
        rates=("impression_ctr", "pre_meeting_view_rate"),
        ranges={"roi_to_date": (-1, None)},  # revenue >= 0: (revenue - cost) / cost >= -1
        ordered=(("opportunities_in_month", "opportunities"), ("revenue_to_date", "revenue")),
    ),
    MartSuite(
        "stage_history", keys=tuple(KEYS["stage_history"]),
        counts=("snapshots",), ranges={"snapshots": (1, None)},
        ordered=(("last_seen_at", "first_seen_at"),),
        in_set={"record_type": ("lead", "deal"),
                "mapped_stage": (*LIFECYCLE_ORDER, "open", "won", "lost", "unknown")},
    ),
]}


def fiscal_suite(monthly: MartSuite) -> MartSuite:
    """The suite of marts.<mart>_fiscal (assets/sql/marts/*_fiscal.sql): its monthly mart's promises on the summed
    rows, keyed by grain and period. Sums are not reconciled here (each month is in both grains);
    tests/integration/test_fiscal_rollups.py checks them against the monthly marts."""
    start = "cohort_start" if "cohort_start" in monthly.keys else "period_start"  # a cohort mart's keeps its name
    return MartSuite(
        f"{monthly.mart}_fiscal", keys=tuple(FISCAL_KEYS[f"{monthly.mart}_fiscal"]),
        counts=monthly.counts, non_negative=monthly.non_negative, rates=monthly.rates, ranges=monthly.ranges,
        ordered=monthly.ordered + ((start.replace("_start", "_end"), start),),
        in_set={**monthly.in_set, "grain": GRAINS},
    )


SUITES.update({f"{m}_fiscal": fiscal_suite(SUITES[m]) for m in (k.removesuffix("_fiscal") for k in FISCAL_KEYS)})
# Every mart with a suite: the monthly marts and their fiscal roll-ups.
CHECKED_MARTS = {**KEYS, **FISCAL_KEYS}


def expectations(suite: MartSuite, sums: bool = True) -> list:
    """The GX expectations of one mart (imports great_expectations); without `sums`, not the reconciled
    sums (in SQL the sum of no rows is NULL, no total: an empty mart is reconciled by evaluate_suite)."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    ex = gx.expectations
    out: list = [ex.ExpectColumnValuesToNotBeNull(column=k) for k in suite.keys]
    out.append(ex.ExpectCompoundColumnsToBeUnique(column_list=list(suite.keys)))
    out += [ex.ExpectColumnValuesToNotBeNull(column=c) for c in suite.counts]
    out += [ex.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
            for c, (lo, hi) in suite.bounds().items()]
    out += [ex.ExpectColumnPairValuesAToBeGreaterThanB(column_A=a, column_B=b, or_equal=True,
                                                       ignore_row_if="either_value_is_missing")
            for a, b in suite.ordered]
    out += [ex.ExpectColumnValuesToBeInSet(column=c, value_set=list(values)) for c, values in suite.in_set.items()]
    out += [ex.ExpectCompoundColumnsToBeUnique(column_list=list(cols), row_condition=Column(flag) == True)  # noqa: E712
            for flag, cols in suite.unique_where_true.items()]
    out += [ex.ExpectColumnSumToBeBetween(column=c, min_value={"$PARAMETER": suite.parameter(c)},
                                          max_value={"$PARAMETER": suite.parameter(c)})
            for c in suite.reconcile if sums]
    return out


def validated_query(suite: MartSuite) -> str:
    """What GX validates: the mart with `<column>_cents` (exact BIGINT) for its money columns. Table and
    column names are our own (the suites above), never data."""
    cents = "".join(f", CAST({c} * 100 AS BIGINT) AS {c}_cents" for c in suite.money_cents)
    return f"SELECT *{cents} FROM marts.{suite.mart}"


def staged_totals(con: "duckdb.DuckDBPyConnection", suite: MartSuite) -> dict[str, int]:
    """Suite parameters: the staged total each reconciled column must sum to."""
    if not suite.reconcile:
        return {}
    row = con.execute("SELECT " + ", ".join(f"({sql})" for sql in suite.reconcile.values())).fetchone()
    return {suite.parameter(c): int(v) for c, v in zip(suite.reconcile, row)}


def describe_suite(s: MartSuite) -> str:
    parts = [f"({', '.join(s.keys)}) never NULL nor repeated"]
    if s.counts:
        parts.append(f"{', '.join(s.counts)} never NULL nor negative")
    if s.non_negative:
        parts.append(f"{', '.join(s.non_negative)} >= 0")
    if s.rates:
        parts.append(f"{', '.join(s.rates)} in [0, 1]")
    parts += [f"{c} in [{'' if lo is None else lo}, {'' if hi is None else hi}]" for c, (lo, hi) in s.ranges.items()]
    parts += [f"{a} >= {b}" for a, b in s.ordered]
    parts += [f"{c} in the known values" for c in s.in_set]
    parts += [f"one {flag} row per ({', '.join(cols)})" for flag, cols in s.unique_where_true.items()]
    if s.reconcile:
        parts.append(f"sums of {', '.join(s.reconcile)} equal the staged totals")
    return (f"Great Expectations suite `{s.mart}` on marts.{s.mart}: " + "; ".join(parts)
            + ". GX validates it in DuckDB on every run that builds the table and writes its Data Docs page "
            "in the `gx` folder beside the warehouse (`data/warehouse/gx/funnel/index.html` for "
            "`data/warehouse/funnel.duckdb`), linked from the check's metadata.")


def suite_of(mart: str) -> MartSuite:
    """A mart added to KEYS without a suite above still gets its keys and bounded rates checked."""
    return SUITES.get(mart) or MartSuite(mart, keys=tuple(KEYS[mart]), rates=tuple(BOUNDED_RATES.get(mart, ())))
