"""marts -> analytics of issue 5: bottlenecks, cohort ROI, pipeline velocity, attribution and content
influence, one SQL file each."""

from assets.transform.marts import mart_checks
from assets.core.tables import sql_table

ANALYTICS = {
    "bottlenecks": (
        "Per month, channel and funnel transition: the actual rate against a reference rate (the rate override of "
        "the most specific target period of targets.yaml covering the month, else the all-channel rate of the "
        "trailing 6 months), the volume and revenue lost downstream because of the gap, whether the shortfall is "
        "significant (Wilson 95%) and the cohort old enough to judge (maturity), and the transition that loses the "
        "most revenue among those (is_bottleneck).",
        [["staging", "lead_funnel"], ["staging", "deals"], ["staging", "target_settings"],
         ["staging", "transition_days"]],
    ),
    "cohort_roi": (
        "Per lead-created month and channel: the month's spend against the revenue its leads have produced so far: "
        "cohort ROAS, ROI, CAC and payback month; with the unit economics of targets.yaml, gross profit, ROMI, LTV "
        "and LTV/CAC.",
        [["staging", "lead_funnel"], ["staging", "deals"], ["staging", "spend"], ["staging", "target_settings"]],
    ),
    "pipeline_velocity": (
        "Per month and channel: open opportunities x win rate x average deal size / average sales cycle days, "
        "and its parts over the trailing 6 months of closes.",
        [["staging", "deals"], ["marts", "channel_funnel"]],
    ),
    "attributed_revenue": (
        "Per close month, channel and attribution model (first touch, last touch, linear, U-shaped 40/20/40, "
        "W-shaped 30/30/30/10): won revenue split over the touches of each deal's lead before the opportunity; "
        "every model sums exactly to the won revenue; deals without touches credit their own channel.",
        [["staging", "deals"], ["staging", "leads"], ["staging", "touchpoints"]],
    ),
    "content_influence": (
        "Per touch type and content: share of opportunities whose lead had the touch before the opportunity "
        "(商談前視聴率), and win rate and opportunity rate with versus without it, with the counts behind each rate.",
        [["staging", "deals"], ["staging", "lead_funnel"], ["staging", "touchpoints"]],
    ),
}

ANALYTICS_TABLES = [
    sql_table("marts", name, f"marts/{name}.sql", deps, "marts", description, checks=mart_checks(name))
    for name, (description, deps) in ANALYTICS.items()
]
