"""marts -> fiscal quarter and fiscal year views of the monthly marts (issue 5, item 7), one SQL file each.

marts.<mart>_fiscal holds, per grain (fiscal_quarter, fiscal_year), fiscal period and channel,
the monthly mart's counts and money summed over the months of the period and every rate,
cost per unit and return recomputed from those sums (never an average of monthly rates);
medians and payback months are recomputed from the staging rows. The fiscal year starts in
targets.yaml's fiscal_year_start_month (default April) and periods are labelled as targets
are (FY2026, 2026-Q3): the table macro fiscal_periods in assets/sql/metric_macros.sql is the
one definition of the calendar.

Not rolled up, on purpose:
- bottlenecks: its reference rate belongs to each month (the month's target override or the
  trailing 6 months ending in it), so a quarter has no reference of its own other than an
  average of monthly references; its lost_revenue is additive and can be summed as it is.
- pipeline_velocity: open opportunities are a stock at a month's end and the other parts are
  trailing 6-month windows; "per quarter" is the row of the quarter's last month, nothing to sum.
- stage_velocity (all history), target_plan (already per target period), stage_history.
"""

from assets.checks.keys import FISCAL_KEYS, FISCAL_MARTS, GRAINS  # noqa: F401 (also imported from here)
from assets.transform.marts import mart_checks
from assets.core.tables import sql_table

# Monthly mart -> (description, what it reads besides the mart and staging.target_settings).
FISCAL = {
    "channel_funnel": ("Funnel counts per fiscal quarter / fiscal year and channel, rates recomputed from the sums.",
                       []),
    "lead_cohort_funnel": ("Leads by fiscal quarter / fiscal year of creation and channel, how far they got, rates "
                           "recomputed from the sums.", []),
    "mql_to_sql": ("MQLs by fiscal quarter / fiscal year and channel, how many became SQL, median days recomputed "
                   "from the leads.", [["staging", "lead_funnel"]]),
    "deal_to_win": ("Deals closed per fiscal quarter / fiscal year and channel: win rate and deal size recomputed "
                    "from the sums, median days to close from the deals.", [["staging", "deals"]]),
    "channel_roi": ("Spend against funnel and revenue per fiscal quarter / fiscal year and channel: CPA, CAC, ROAS, "
                    "ROI recomputed from the sums.", []),
    "cohort_roi": ("Lead cohorts of a fiscal quarter / fiscal year and channel against the period's spend: ROAS, ROI, "
                   "CAC, payback, gross profit, ROMI, LTV, LTV/CAC recomputed from the sums.",
                   [["staging", "deals"], ["staging", "lead_funnel"]]),
    "attributed_revenue": ("Won revenue per fiscal quarter / fiscal year of close, channel and attribution model "
                           "(sums of the monthly rows: each deal closes in one month).", []),
}

if tuple(FISCAL) != FISCAL_MARTS:
    raise RuntimeError("assets/mart_keys.py FISCAL_MARTS must list the roll-ups of FISCAL (their suites need them)")

FISCAL_TABLES = [
    sql_table("marts", f"{m}_fiscal", f"marts/{m}_fiscal.sql",
                    [["marts", m], ["staging", "target_settings"], *extra], "marts", description,
                    checks=mart_checks(f"{m}_fiscal"))
    for m, (description, extra) in FISCAL.items()
]
