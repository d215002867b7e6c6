"""marts.target_plan (逆算表): the funnel each target period of config/targets.yaml needs.

From a revenue target down the funnel (CONTRACT section 6, "Reverse calculation"):
wins = ceil(revenue / avg_deal_size), opportunities = ceil(wins / win_rate), ... up
to sessions (and impressions when a click-through rate is given), for the whole
target (channel `All`) and for each channel's part of it, with the actual to date,
the gap and the pace.

Arithmetic is exact: configured values become `Decimal` from their string form,
observed rates are exact ratios of counts (`Fraction`), and every ceiling is taken
on an exact value, so 20 wins at a 25% win rate is 80 opportunities, never 81, and
30 wins at 0.3 is 100. Floats appear only in the DOUBLE display columns.

The pure functions (period parsing, lookback, rates, reverse calculation, channel
split, pace) take plain values and are tested without Dagster; the asset reads
marts.channel_funnel, computes, and writes the table with explicit DDL, a COMMENT
on the table and every column, and parameterised inserts.
"""

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from assets.checks.expectations import suite_check
from assets.checks.keys import STAGES
from assets.core.tables import TableAsset, table_metadata, table_spec, transaction, write_table
from assets.core.resource import FunnelResource
from schemas.config import Target, TargetsConfig

# Funnel stages from the top (impressions) down to revenue.
COUNT_STAGES = ("sessions", "leads", "mqls", "sqls", "opportunities", "wins")  # counted in channel_funnel

# Stage -> the rate (targets.yaml key) converting it into the next stage down.
RATE_OF_STAGE = {
    "impressions": "ctr",
    "sessions": "session_to_lead_rate",
    "leads": "lead_to_mql_rate",
    "mqls": "mql_to_sql_rate",
    "sqls": "sql_to_opportunity_rate",
    "opportunities": "win_rate",
}
NEXT_STAGE = {STAGES[i]: STAGES[i + 1] for i in range(len(STAGES) - 1)}

# Observed rate -> (later stage, earlier stage) of marts.channel_funnel. ctr has no data yet.
OBSERVED_RATES = {
    "win_rate": ("wins", "opportunities"),
    "sql_to_opportunity_rate": ("opportunities", "sqls"),
    "mql_to_sql_rate": ("sqls", "mqls"),
    "lead_to_mql_rate": ("mqls", "leads"),
    "session_to_lead_rate": ("leads", "sessions"),
}
RATE_NAMES = tuple(OBSERVED_RATES) + ("ctr",)

ALL = "All"
UNALLOCATED = "Unallocated"
CENT = Decimal("0.01")
REQUIRED_LIMIT = Decimal(10) ** 18  # DECIMAL(20, 2) holds up to 10^18 - 0.01

Exact = Decimal | Fraction | int


class TargetPlanError(ValueError):
    """targets.yaml asks for a plan that cannot be made; the message names the target and key."""


# --------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def grain(self) -> str:
        """fiscal_year (FY2026), fiscal_quarter (2026-Q3) or month (2026-07)."""
        if self.label.startswith("FY"):
            return "fiscal_year"
        return "fiscal_quarter" if "-Q" in self.label else "month"


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + (d.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def parse_period(label: str, fiscal_year_start_month: int = 4) -> Period:
    """FY2026: the fiscal year starting on the 1st of `fiscal_year_start_month` of 2026;
    2026-Q3: the third fiscal quarter of FY2026 (Q1 starts in the start month);
    2026-07: that calendar month. The end is inclusive."""
    if not 1 <= fiscal_year_start_month <= 12:
        raise TargetPlanError(f"fiscal_year_start_month must be 1..12, got {fiscal_year_start_month}")
    text = label.strip()
    if len(text) == 6 and text.startswith("FY") and text[2:].isdigit():
        start = date(int(text[2:]), fiscal_year_start_month, 1)
        months = 12
    elif len(text) == 7 and text[4:6] == "-Q" and text[:4].isdigit() and text[6] in "1234":
        fy_start = date(int(text[:4]), fiscal_year_start_month, 1)
        start = _add_months(fy_start, 3 * (int(text[6]) - 1))
        months = 3
    elif len(text) == 7 and text[4] == "-" and text[:4].isdigit() and text[5:].isdigit() and 1 <= int(text[5:]) <= 12:
        start = date(int(text[:4]), int(text[5:]), 1)
        months = 1
    else:
        raise TargetPlanError(f"period {label!r} must look like FY2026, 2026-Q3 or 2026-07")
    return Period(text, start, _add_months(start, months) - timedelta(days=1))


# --------------------------------------------------------------------------- exact numbers


def to_decimal(value: object) -> Decimal:
    """A configured number as an exact Decimal, from its string form (never through
    binary floating point arithmetic): YAML 0.3 arrives as the float 0.3 whose shortest
    repr is '0.3', which is what the user wrote (any value of <= 15 significant digits)."""
    if isinstance(value, bool) or value is None:
        raise TypeError(f"not a number: {value!r}")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, (int, float, str)):
        result = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
    else:
        raise TypeError(f"not a number: {value!r}")
    if not result.is_finite():
        raise ValueError(f"not a finite number: {value!r}")
    return result


def _exact(value: Exact | None) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, float):
        raise TypeError("floats are not exact; pass Decimal, Fraction or int")
    return Fraction(value)


def _ceil(x: Fraction) -> int:
    return math.ceil(x)


def reverse_plan(revenue: Exact, avg_deal_size: Exact | None, rates: Mapping[str, Exact | None]) -> dict:
    """Required volume of every stage for `revenue` (CONTRACT section 6).

    wins = ceil(revenue / avg_deal_size); opportunities = ceil(wins / win_rate);
    sqls = ceil(opportunities / sql_to_opportunity_rate); mqls, leads, sessions alike;
    impressions = ceil(sessions / ctr). A missing, zero or negative rate (or deal size)
    makes its stage and every stage above it None. Returns {stage: int | None} plus
    'revenue': the revenue as given. Exact arithmetic on Decimal/Fraction/int only."""
    required: dict[str, object] = {"revenue": revenue}
    size = _exact(avg_deal_size)
    wins = _ceil(_exact(revenue) / size) if size is not None and size > 0 else None
    required["wins"] = wins
    below = wins
    for stage in ("opportunities", "sqls", "mqls", "leads", "sessions", "impressions"):
        rate = _exact(rates.get(RATE_OF_STAGE[stage]))
        below = _ceil(below / rate) if below is not None and rate is not None and rate > 0 else None
        required[stage] = below
    return required


# --------------------------------------------------------------------------- observed data


@dataclass(frozen=True)
class FunnelMonth:
    """One row of marts.channel_funnel."""

    period_start: date
    channel: str
    sessions: int = 0
    leads: int = 0
    mqls: int = 0
    sqls: int = 0
    opportunities: int = 0
    wins: int = 0
    revenue: Decimal = Decimal(0)

    def value(self, stage: str) -> int | Decimal:
        return getattr(self, stage)


def read_channel_funnel(con: duckdb.DuckDBPyConnection) -> list[FunnelMonth]:
    rows = con.execute(
        "SELECT period_start, channel, sessions, leads, mqls, sqls, opportunities, wins, revenue "
        "FROM marts.channel_funnel"
    ).fetchall()
    return [
        FunnelMonth(p, c, *(int(v or 0) for v in counts), Decimal(revenue or 0))
        for p, c, *counts, revenue in rows
    ]


def lookback_window(months: Iterable[date], period_start: date, lookback_months: int) -> list[date]:
    """The months whose data the observed rates and the channel mix come from: the
    `lookback_months` latest months present in channel_funnel before `period_start`
    (the full months right before the period when the data reaches back that far;
    fewer when the data starts later; ending at the last month with data when the
    data stops earlier). With no month before the period: the `lookback_months`
    latest months available. Oldest first; empty without data."""
    available = sorted(set(months))
    before = [m for m in available if m < period_start]
    pool = before or available
    return pool[-lookback_months:] if lookback_months > 0 else []


def stage_totals(rows: Iterable[FunnelMonth], months: Collection[date],
                 channels: Collection[str] | None = None) -> dict[str, int | Decimal]:
    """Sum of each stage (and revenue) over `months` and `channels` (None: every channel)."""
    totals: dict[str, int | Decimal] = {s: 0 for s in COUNT_STAGES} | {"revenue": Decimal(0)}
    month_set = set(months)
    for r in rows:
        if r.period_start in month_set and (channels is None or r.channel in channels):
            for s in totals:
                totals[s] += r.value(s)
    return totals


def observed_rate(totals: Mapping[str, int | Decimal], rate: str) -> Fraction | None:
    """sum(later stage) / sum(earlier stage), exact; None when the earlier stage is 0.
    Capped at 1 (a period rate can exceed 1 when the later stage's events of the window
    come from earlier months), so a stage never needs fewer than the stage below it."""
    later, earlier = OBSERVED_RATES[rate]
    if not totals[earlier]:
        return None
    return min(Fraction(totals[later]) / Fraction(totals[earlier]), Fraction(1))


def observed_deal_size(totals: Mapping[str, int | Decimal]) -> Fraction | None:
    """revenue / wins, exact; None without wins."""
    return Fraction(totals["revenue"]) / totals["wins"] if totals["wins"] else None


@dataclass(frozen=True)
class Assumption:
    value: Fraction | None
    source: str | None  # 'override' | 'observed' | 'observed_all_channels' | None (unknown)


def choose_assumptions(
    overrides: Mapping[str, Exact],
    avg_deal_size_override: Exact | None,
    own: Mapping[str, int | Decimal] | None,
    all_channels: Mapping[str, int | Decimal],
) -> dict[str, Assumption]:
    """Each rate and avg_deal_size: the targets.yaml override; else the value observed
    on this channel's own lookback counts when its denominator is >= 1 (`own`; None
    for channel All, which uses `all_channels` as its own); else the all-channel value;
    else unknown. ctr only from the override."""
    result: dict[str, Assumption] = {}
    fallback_source = "observed" if own is None else "observed_all_channels"
    mine = all_channels if own is None else own

    def pick(override: Exact | None, observe) -> Assumption:
        if override is not None:
            return Assumption(_exact(override), "override")
        value = observe(mine)
        if value is not None:
            return Assumption(value, "observed")
        value = observe(all_channels)
        return Assumption(value, fallback_source) if value is not None else Assumption(None, None)

    for rate in OBSERVED_RATES:
        result[rate] = pick(overrides.get(rate), lambda t, r=rate: observed_rate(t, r))
    ctr = overrides.get("ctr")
    result["ctr"] = Assumption(_exact(ctr), "override") if ctr is not None else Assumption(None, None)
    result["avg_deal_size"] = pick(avg_deal_size_override, observed_deal_size)
    return result


# --------------------------------------------------------------------------- channel split


@dataclass(frozen=True)
class ChannelPart:
    channel: str
    share: Fraction
    source: str  # 'target' (All) | 'channel_shares' | 'remainder' (Unallocated) | 'lookback_wins'
    revenue: Decimal  # the part of the target, to the cent


def allocate_cents(total: Decimal, shares: Sequence[tuple[str, Fraction]]) -> dict[str, Decimal]:
    """Split `total` (to the cent) by `shares` (summing to exactly 1) with the largest
    remainder method: every part is a whole number of cents and the parts add up to
    `total` exactly. Ties go to the name that sorts first."""
    cents = int((total / CENT).to_integral_value(ROUND_HALF_UP))
    exact = {name: share * cents for name, share in shares}
    floors = {name: math.floor(v) for name, v in exact.items()}
    left = cents - sum(floors.values())
    for name in sorted(exact, key=lambda n: (-(exact[n] - floors[n]), n))[:max(left, 0)]:
        floors[name] += 1
    return {name: Decimal(c) * CENT for name, c in floors.items()}


def channel_split(
    target_revenue: Decimal,
    channel_shares: Mapping[str, Decimal],
    lookback_wins: Mapping[str, int],
) -> list[ChannelPart]:
    """The parts of the target per channel (channel All excluded).

    With `channel_shares` (from targets.yaml): each listed channel gets its share as
    given (no normalisation); if they sum to less than 1 the rest is channel
    'Unallocated'. Otherwise (CONTRACT section 4, "the lookback's mix of wins"): each
    channel's share of the wins (won deals, counted) of the lookback; channels without
    a win get no part; no win at all: no parts."""
    if channel_shares:
        shares = [(c, Fraction(s)) for c, s in sorted(channel_shares.items())]
        rest = 1 - sum(s for _, s in shares)
        sources = {c: "channel_shares" for c, _ in shares}
        if rest > 0:
            shares.append((UNALLOCATED, rest))
            sources[UNALLOCATED] = "remainder"
    else:
        positive = {c: Fraction(v) for c, v in lookback_wins.items() if v > 0}
        total = sum(positive.values())
        if not total:
            return []
        shares = [(c, v / total) for c, v in sorted(positive.items())]
        sources = {c: "lookback_wins" for c, _ in shares}
    amounts = allocate_cents(target_revenue, shares)
    return [ChannelPart(c, s, sources[c], amounts[c]) for c, s in shares]


# --------------------------------------------------------------------------- pace


def elapsed_share(period: Period, today: date) -> Fraction | None:
    """Days from period start through min(today, period end), inclusive, over the days of
    the period; None before the period starts."""
    if today < period.start:
        return None
    return Fraction((min(today, period.end) - period.start).days + 1, period.days)


def pace(actual: Exact | None, required: Exact | None, period: Period, today: date) -> float | None:
    """actual / (required x elapsed share of the period): 1.0 = on track."""
    share = elapsed_share(period, today)
    if share is None or actual is None or required is None or required == 0:
        return None
    return float(_exact(actual) / (_exact(required) * share))


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
        have = None if stage == "impressions" or actuals is None else Decimal(actuals[stage]).quantize(CENT)
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


def target_periods(targets: TargetsConfig) -> list[tuple[str, Target, Period]]:
    """(where, target, period) of every target of targets.yaml, `where` naming it for messages;
    a period targeted twice is refused."""
    result = []
    seen: dict[str, int] = {}
    for i, target in enumerate(targets.targets):
        where = f"targets.yaml: targets[{i}] (period {target.period})"
        period = parse_period(target.period, targets.fiscal_year_start_month)
        if period.label in seen:
            raise TargetPlanError(f"{where}: period {period.label} is already targeted by targets[{seen[period.label]}]")
        seen[period.label] = i
        result.append((where, target, period))
    return result


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
     "marts.channel_funnel; impressions only for a plan with a ctr)."),
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
     "an override (no impressions data). NULL when unknown (no override and a denominator of 0) and for wins and "
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
     "when the period has no data yet; NULL for impressions (no impressions data)."),
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


def write_target_plan(con: duckdb.DuckDBPyConnection, rows: Sequence[PlanRow]) -> None:
    """(Re)create marts.target_plan with its comments and insert `rows`, in one transaction."""
    with transaction(con):
        con.execute("CREATE SCHEMA IF NOT EXISTS marts")
        write_table(con, "marts.target_plan", TABLE_COMMENT, COLUMNS,
                    [[getattr(r, name) for name, _, _ in COLUMNS] for r in rows])


TARGET_PLAN_KEY = dg.AssetKey(["marts", "target_plan"])
TARGET_PLAN_SUITE = suite_check("target_plan")  # evaluated right after the table is written


def _build_target_plan_table(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
    config = funnel.load_config()
    today = datetime.now(ZoneInfo(funnel.timezone)).date()
    known = set(config.channels.channel_names()) | {"Unattributed"}
    rows = build_target_plan(config.targets, read_channel_funnel(con), today, known)
    write_target_plan(con, rows)
    return {**table_metadata(con, "marts", "target_plan"), "targets": len(config.targets.targets),
            "as_of": today.isoformat()}


TARGET_PLAN_TABLE = TableAsset(
    table_spec(
        TARGET_PLAN_KEY, [dg.AssetKey(["marts", "channel_funnel"])], "marts",
        "Reverse plan (逆算表) from the revenue targets of config/targets.yaml: per target period, channel "
        "and funnel stage, the wins, opportunities, SQLs, MQLs, leads, sessions (and impressions with a CTR) the "
        "target needs, from rate overrides or the rates observed in marts.channel_funnel over the lookback; with "
        "actual to date, gap and pace.\n\nPython: `assets/target_plan.py`", {"duckdb", "python"}),
    _build_target_plan_table, (TARGET_PLAN_SUITE,))
