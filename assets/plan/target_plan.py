"""marts.target_plan (逆算表): the funnel each target period of config/targets.yaml needs.

From a revenue target down the funnel (docs/analyses.md, the reverse plan):
wins = ceil(revenue / avg_deal_size), opportunities = ceil(wins / win_rate), ... up
to sessions (and impressions when a click-through rate is given), for the whole
target (channel `All`) and for each channel's part of it, with the actual to date,
the gap and the pace.

Arithmetic is exact: configured values become `Decimal` from their string form,
observed rates are exact ratios of counts (`Fraction`), and every ceiling is taken
on an exact value, so 20 wins at a 25% win rate is 80 opportunities, never 81, and
30 wins at 0.3 is 100. Floats appear only in the DOUBLE display columns.

The pure functions (period parsing, lookback, rates, reverse calculation, channel
split, pace) are in assets/plan/reverse.py; the asset reads marts.channel_funnel,
computes, and writes the table with explicit DDL, a COMMENT on the table and every
column, and parameterised inserts.
"""

import hashlib
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from assets.checks.expectations import suite_check
from assets.checks.keys import STAGES
from assets.core.build_state import save_build_state, up_to_date, versions_digest
from assets.core.database import table_metadata, transaction, write_table
from assets.core.resource import FunnelResource
from assets.core.step import TableAsset, table_spec
from schemas.config import TargetsConfig
from assets.plan import reverse
from assets.plan.reverse import (ALL, CENT, RATE_NAMES, RATE_OF_STAGE, REQUIRED_LIMIT, UNALLOCATED, Assumption,
                                 ChannelPart, FunnelMonth, Period, TargetPlanError, channel_split, choose_assumptions,
                                 lookback_window, pace, read_channel_funnel, reverse_plan, stage_totals,
                                 target_periods, to_decimal)

# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class PlanRow:
    period: str
    period_start: date
    period_end: date
    channel: str
    channel_share: float
    share_source: str
    stage: str
    stage_order: int
    rate_name: str | None
    rate_used: float | None
    rate_source: str | None
    avg_deal_size: Decimal | None
    required: Decimal | None
    actual: Decimal | None
    gap: Decimal | None
    pace: float | None
    as_of: date
    lookback_start: date | None
    lookback_end: date | None


def _money(x: Fraction | None) -> Decimal | None:
    if x is None:
        return None
    return (Decimal(x.numerator) / Decimal(x.denominator)).quantize(CENT, ROUND_HALF_UP)


def _plan_rows(period: Period, part: ChannelPart, assumptions: Mapping[str, Assumption],
               actuals: Mapping[str, int | Decimal] | None, today: date, window: Sequence[date],
               where: str) -> list[PlanRow]:
    rates = {name: assumptions[name].value for name in RATE_NAMES}
    required = reverse_plan(part.revenue, assumptions["avg_deal_size"].value, rates)
    deal = assumptions["avg_deal_size"]
    rows = []
    for order, stage in enumerate(STAGES, start=1):
        need = required[stage]
        need = None if need is None else Decimal(need).quantize(CENT)
        if need is not None and abs(need) >= REQUIRED_LIMIT:
            raise TargetPlanError(f"{where}: required {stage} for channel {part.channel} is {need}, more than "
                                  "DECIMAL(20, 2) holds; check the rates and avg_deal_size")
        have = None if actuals is None else Decimal(actuals[stage]).quantize(CENT)
        if stage in RATE_OF_STAGE:
            rate_name, a = RATE_OF_STAGE[stage], assumptions[RATE_OF_STAGE[stage]]
            rate_used, rate_source = (float(a.value) if a.value is not None else None), a.source
        elif stage == "wins":
            rate_name, rate_used, rate_source = "avg_deal_size", None, deal.source
        else:
            rate_name, rate_used, rate_source = None, None, None
        rows.append(PlanRow(
            period=period.label, period_start=period.start, period_end=period.end,
            channel=part.channel, channel_share=float(part.share), share_source=part.source,
            stage=stage, stage_order=order, rate_name=rate_name, rate_used=rate_used, rate_source=rate_source,
            avg_deal_size=_money(deal.value), required=need, actual=have,
            gap=None if need is None or have is None else need - have,
            pace=pace(have, need, period, today), as_of=today,
            lookback_start=window[0] if window else None, lookback_end=window[-1] if window else None,
        ))
    return rows


def build_target_plan(targets: TargetsConfig, funnel: Sequence[FunnelMonth], today: date,
                      known_channels: Collection[str] | None = None) -> list[PlanRow]:
    """Every row of marts.target_plan for `targets` on the channel_funnel rows `funnel`.
    `known_channels` (when given) are the channel names channel_shares may use."""
    rows: list[PlanRow] = []
    months = {r.period_start for r in funnel}
    for where, target, period in target_periods(targets):
        revenue = to_decimal(target.revenue).quantize(CENT, ROUND_HALF_UP)
        overrides = {k: to_decimal(v) for k, v in target.rates.items()}
        deal_override = None if target.avg_deal_size is None else to_decimal(target.avg_deal_size)
        shares = {c: to_decimal(s) for c, s in target.channel_shares.items()}
        for c, s in shares.items():
            if c in (ALL, UNALLOCATED):
                raise TargetPlanError(f"{where}: key channel_shares.{c}: {c!r} is reserved")
            if known_channels is not None and c not in known_channels:
                raise TargetPlanError(f"{where}: key channel_shares.{c}: not a channel of channels.yaml "
                                      f"(known: {', '.join(sorted(known_channels))})")
            if not 0 <= s <= 1:
                raise TargetPlanError(f"{where}: key channel_shares.{c}: share must be in [0, 1], got {s}")
        if sum(shares.values(), Decimal(0)) > 1:
            raise TargetPlanError(f"{where}: key channel_shares: shares sum to {sum(shares.values())}, more than 1")

        window = lookback_window(months, period.start, targets.lookback_months)
        in_period = [m for m in months if period.start <= m <= period.end]
        all_lookback = stage_totals(funnel, window)
        channels = sorted({r.channel for r in funnel})
        lookback_wins = {c: int(stage_totals(funnel, window, {c})["wins"]) for c in channels}

        whole = ChannelPart(ALL, Fraction(1), "target", revenue)
        rows += _plan_rows(period, whole, choose_assumptions(overrides, deal_override, None, all_lookback),
                           stage_totals(funnel, in_period), today, window, where)
        for part in channel_split(revenue, shares, lookback_wins):
            if part.channel == UNALLOCATED:
                actual = stage_totals(funnel, in_period, set(channels) - set(shares))
                assumptions = choose_assumptions(overrides, deal_override, None, all_lookback)
                # Unallocated plans with the all-channel rates: say so.
                assumptions = {k: Assumption(a.value, "observed_all_channels" if a.source == "observed" else a.source)
                               for k, a in assumptions.items()}
            else:
                actual = stage_totals(funnel, in_period, {part.channel})
                own = stage_totals(funnel, window, {part.channel})
                assumptions = choose_assumptions(overrides, deal_override, own, all_lookback)
            rows += _plan_rows(period, part, assumptions, actual, today, window, where)
    return rows


# --------------------------------------------------------------------------- the table

TABLE_COMMENT = (
    "Reverse plan (逆算表) from the revenue targets of config/targets.yaml: per target period x channel x funnel "
    "stage, the volume each stage must reach for the target, with the actual to date, gap and pace. Channel All is "
    "the whole target with all-channel rates. The other channels split the target: by channel_shares of "
    "targets.yaml when given (used as given, not normalised; shares must be in [0, 1] and sum to <= 1; the rest "
    "is channel Unallocated), else by the lookback's mix of wins: each channel's share of the wins (won deals, "
    "counted) in the lookback (channels without a win in the lookback get no rows; without any win only All). Every (period, channel) has all 8 "
    "stages. Each channel is rounded up on its own, so channel counts can add up to more than All. Arithmetic is "
    "exact (targets.yaml numbers as decimals from their written form, observed rates as exact ratios of counts): "
    "20 wins at a 25% win rate is 80 opportunities, never 81. Empty when targets.yaml has no targets."
)

LOOKBACK_RULE = (
    "the lookback_months latest months of marts.channel_funnel before period_start (the full months right before "
    "the period when the data reaches back that far; fewer when the data starts later; ending at the last month "
    "with data when the data stops earlier); if no month of data lies before the period, the lookback_months "
    "latest months available"
)

COLUMNS: list[tuple[str, str, str]] = [
    ("period", "VARCHAR",
     "Target period as written in targets.yaml: FY2026 = the fiscal year starting on the 1st of "
     "fiscal_year_start_month (default 4, April) of 2026; 2026-Q3 = third fiscal quarter of FY2026 (Q1 = the "
     "first three months of the fiscal year, so with April start 2026-Q3 is 2026-10-01 .. 2026-12-31); "
     "2026-07 = that calendar month."),
    ("period_start", "DATE", "First day of the period."),
    ("period_end", "DATE", "Last day of the period, inclusive (FY2026 with April start: 2027-03-31)."),
    ("channel", "VARCHAR",
     "All = the whole target; a channel name (channels.yaml, or Unattributed) = its part of the target; "
     "Unallocated = the part of the target that channel_shares leaves unassigned (its actuals are those of the "
     "channels not listed in channel_shares)."),
    ("channel_share", "DOUBLE",
     "Fraction of the target revenue planned in this channel: 1 for All; the channel_shares value; 1 - sum of "
     "channel_shares for Unallocated; else the channel's wins in the lookback / wins of all channels in the "
     "lookback (the mix of wins, counted as won deals: deal size plays no part)."),
    ("share_source", "VARCHAR",
     "Where channel_share comes from: target (All), channel_shares (targets.yaml), remainder (Unallocated), "
     "lookback_wins (mix of wins, i.e. won deals counted, in the lookback months)."),
    ("stage", "VARCHAR",
     "Funnel stage: impressions, sessions, leads, mqls, sqls, opportunities, wins, revenue (as in "
     "marts.channel_funnel)."),
    ("stage_order", "INTEGER", "Position of the stage from the top of the funnel: 1 impressions .. 8 revenue."),
    ("rate_name", "VARCHAR",
     "The rate (targets.yaml key) converting this stage into the next stage toward revenue: impressions ctr, "
     "sessions session_to_lead_rate, leads lead_to_mql_rate, mqls mql_to_sql_rate, sqls sql_to_opportunity_rate, "
     "opportunities win_rate, wins avg_deal_size (value in column avg_deal_size); NULL for revenue."),
    ("rate_used", "DOUBLE",
     "Value of rate_name used: required of this stage = ceil(required of the next stage down / rate_used). "
     "A targets.yaml override, else observed = sum(later stage) / sum(earlier stage) over the lookback months of "
     "marts.channel_funnel (recomputed from counts, never an average of monthly rates), capped at 1. win_rate is "
     "wins / opportunities of channel_funnel (its opportunity_to_win_rate), not won / (won + lost). ctr only from "
     "an override: impressions count ad impressions, sessions every source, so their ratio is no rate. NULL when unknown (no override and a denominator of 0) and for wins and "
     "revenue. Shown as DOUBLE; the calculation used the exact value. A rate that is 0 or unknown makes required "
     "of this stage and of every stage above it NULL."),
    ("rate_source", "VARCHAR",
     "override (targets.yaml rates, or avg_deal_size on the wins row); observed (this channel's own lookback "
     "counts, used when the denominator is >= 1; for All: all channels); observed_all_channels (the all-channel "
     "lookback value, for a channel without enough data of its own and for Unallocated); NULL when unknown and "
     "for revenue."),
    ("avg_deal_size", "DECIMAL(18,2)",
     "Average deal size the plan uses to turn revenue into wins (same on every row of a period x channel): "
     "targets.yaml avg_deal_size, else won revenue / wins over the lookback months (the channel's own when it has "
     ">= 1 win there, else all channels), shown rounded half up to 0.01 (the calculation used the exact ratio). "
     "NULL when unknown; then wins and every stage above are NULL."),
    ("required", "DECIMAL(20,2)",
     "What the stage must reach in the period. revenue: target x channel_share in JPY (cents assigned by largest "
     "remainder so that the channels add up exactly to the target). Counts (whole numbers): wins = ceil(revenue / "
     "avg_deal_size); opportunities = ceil(wins / win_rate); sqls = ceil(opportunities / sql_to_opportunity_rate); "
     "mqls = ceil(sqls / mql_to_sql_rate); leads = ceil(mqls / lead_to_mql_rate); sessions = ceil(leads / "
     "session_to_lead_rate); impressions = ceil(sessions / ctr) only with a ctr override. Exact decimal "
     "arithmetic. NULL above a rate or avg_deal_size that is 0 or unknown, and for impressions without ctr."),
    ("actual", "DECIMAL(20,2)",
     "The stage's count (revenue: won revenue) to date within the period: marts.channel_funnel summed over the "
     "months of the period that have data (All: every channel; Unallocated: channels not in channel_shares). 0 "
     "when the period has no data yet. impressions: the ad impressions of the spend rows (ad platform exports)."),
    ("gap", "DECIMAL(20,2)", "required - actual: still needed in the period (negative = ahead of the target). "
     "NULL when required or actual is NULL."),
    ("pace", "DOUBLE",
     "actual / (required x elapsed share of the period), elapsed share = days from period_start through "
     "min(as_of, period_end), inclusive, / days in the period. 1 = on track, below 1 = behind. NULL before the "
     "period starts and when required is NULL or 0 or actual is NULL."),
    ("as_of", "DATE", "The day pace is measured on: the run date in the pipeline time zone (FUNNEL_TIMEZONE, "
     "default Asia/Tokyo)."),
    ("lookback_start", "DATE",
     "First month (period_start of marts.channel_funnel) of the lookback the observed rates, avg_deal_size and "
     f"mix of wins come from: {LOOKBACK_RULE}. NULL when channel_funnel is empty."),
    ("lookback_end", "DATE", "Last month of the lookback (see lookback_start). NULL when channel_funnel is empty."),
]


def write_target_plan(con: duckdb.DuckDBPyConnection, rows: Sequence[PlanRow], fingerprint: str | None = None) -> None:
    """(Re)create marts.target_plan with its comments and insert `rows`, in one transaction (which records
    the table as built from `fingerprint`, when given)."""
    with transaction(con):
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        write_table(con, "marts.target_plan", TABLE_COMMENT, COLUMNS,
                    [[getattr(r, name) for name, _, _ in COLUMNS] for r in rows])
        if fingerprint:
            save_build_state(con, "marts.target_plan", fingerprint, None, fingerprint)


TARGET_PLAN_KEY = dg.AssetKey(["marts", "target_plan"])
TARGET_PLAN_SUITE = suite_check("target_plan")  # evaluated right after the table is written


def _build_target_plan_table(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
    config = funnel.load_config()
    today = datetime.now(ZoneInfo(funnel.timezone)).date()
    known = set(config.channels.channel_names()) | {"Unattributed"}
    # pace moves with the day: the plan is as its last build left it only on the same day, from the same
    # targets, channels, code and marts.channel_funnel
    code = b"".join(Path(m.__file__).read_bytes() for m in (sys.modules[__name__], reverse))
    fingerprint = versions_digest(con, "\0".join(
        [today.isoformat(), repr(config.targets), repr(sorted(known)), hashlib.sha256(code).hexdigest()]),
        ["marts.channel_funnel"])
    metadata = {"targets": len(config.targets.targets), "as_of": today.isoformat()}
    if up_to_date(con, ["marts.target_plan"], fingerprint):
        return {**table_metadata(con, "marts", "target_plan"), **metadata, "build": "unchanged",
                "build_reason": "built today from the same targets, channels and marts.channel_funnel"}
    rows = build_target_plan(config.targets, read_channel_funnel(con), today, known)
    write_target_plan(con, rows, fingerprint)
    return {**table_metadata(con, "marts", "target_plan"), **metadata, "build": "full",
            "build_reason": "a new day, or the targets, channels or marts.channel_funnel changed"}


TARGET_PLAN_TABLE = TableAsset(
    table_spec(
        TARGET_PLAN_KEY, [dg.AssetKey(["marts", "channel_funnel"])], "marts",
        "Reverse plan (逆算表) from the revenue targets of config/targets.yaml: per target period, channel "
        "and funnel stage, the wins, opportunities, SQLs, MQLs, leads, sessions (and impressions with a CTR) the "
        "target needs, from rate overrides or the rates observed in marts.channel_funnel over the lookback; with "
        "actual to date, gap and pace.\n\nPython: `assets/plan/target_plan.py`", {"duckdb", "python"}),
    _build_target_plan_table, (TARGET_PLAN_SUITE,))
