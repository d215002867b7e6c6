"""marts -> analytics of issue 5: bottlenecks, cohort ROI and pipeline velocity, one SQL file each."""

from assets.sql_assets import build_sql_asset

ANALYTICS = {
    "bottlenecks": (
        "Per month, channel and funnel transition: the actual rate against a reference rate (the rate override of "
        "the most specific target period of targets.yaml covering the month, else the all-channel rate of the "
        "trailing 6 months), the volume and revenue lost downstream because of the gap, and the transition that "
        "loses the most revenue (is_bottleneck).",
        [["staging", "lead_funnel"], ["staging", "deals"], ["staging", "target_settings"]],
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
}

ANALYTICS_ASSETS = [
    build_sql_asset("marts", name, f"marts/{name}.sql", deps, "marts", description)
    for name, (description, deps) in ANALYTICS.items()
]
