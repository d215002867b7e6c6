"""What the expectation suites (assets/checks/suites.py) need to know about the marts' shape: key
columns, bounded rates, attribution models, fiscal roll-ups and target-plan stages.

A leaf module (it imports no asset module): the mart modules attach their suites to their own
assets (the checks run right after the mart is written), so expectations.py cannot import them back."""

# Mart -> its key columns (the expectation suites of assets/checks/expectations.py are built from these).
KEYS = {
    "channel_funnel": ["period_start", "channel"],
    "lead_cohort_funnel": ["cohort_start", "channel"],
    "mql_to_sql": ["period_start", "channel"],
    "deal_to_win": ["period_start", "channel"],
    "channel_roi": ["period_start", "channel"],
    "stage_velocity": ["channel", "transition"],
    "bottlenecks": ["cohort_start", "channel", "transition"],
    "cohort_roi": ["cohort_start", "channel"],
    "pipeline_velocity": ["period_start", "channel"],
    "target_plan": ["period", "channel", "stage"],
    "stage_history": ["record_type", "record_id", "stage"],
    "attributed_revenue": ["period_start", "channel", "model"],
    "content_influence": ["touch_type", "content_id"],
    "video_performance": ["video_id", "period"],
    "video_funnel": ["period_start", "video_id"],
}
ATTRIBUTION_MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped")
# Rates that, by definition, lie in [0, 1].
BOUNDED_RATES = {
    "lead_cohort_funnel": ["lead_to_mql_rate", "mql_to_sql_rate", "sql_to_opportunity_rate",
                           "opportunity_to_win_rate", "lead_to_win_rate"],
    "mql_to_sql": ["mql_to_sql_rate"],
    "deal_to_win": ["win_rate"],
}

# Fiscal roll-ups (assets/sql/marts/*_fiscal.sql): the monthly marts rolled up and the grains.
GRAINS = ("fiscal_quarter", "fiscal_year")
FISCAL_MARTS = ("channel_funnel", "lead_cohort_funnel", "mql_to_sql", "deal_to_win", "channel_roi", "cohort_roi",
                "attributed_revenue")
# The cohort marts' roll-ups name their period cohort_period (cohort_start, cohort_end): the period their leads
# were created in, not the one their events happened in.
COHORT_FISCAL_MARTS = ("lead_cohort_funnel", "cohort_roi")
FISCAL_KEYS = {f"{m}_fiscal": ["grain", "cohort_period" if m in COHORT_FISCAL_MARTS else "period", "channel"]
               + (["model"] if m == "attributed_revenue" else [])
               for m in FISCAL_MARTS}

# marts.target_plan's funnel stages, in order (assets/plan/target_plan.py).
STAGES = ("impressions", "sessions", "leads", "mqls", "sqls", "opportunities", "wins", "revenue")
