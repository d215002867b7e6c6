"""The reverse calculation (逆算) of a revenue target, as pure functions on plain values: target periods,
the lookback, observed rates and deal size, the assumptions a plan uses, the split between channels and
the pace. From a revenue target down the funnel: wins = ceil(revenue / avg_deal_size), opportunities =
ceil(wins / win_rate), ... up to sessions (and impressions when a click-through rate is given).

Arithmetic is exact: configured values become `Decimal` from their string form,
observed rates are exact ratios of counts (`Fraction`), and every ceiling is taken
on an exact value, so 20 wins at a 25% win rate is 80 opportunities, never 81, and
30 wins at 0.3 is 100. Floats appear only in the DOUBLE display columns."""

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import duckdb

from assets.checks.keys import STAGES
from schemas.config import Target, TargetsConfig

# Funnel stages from the top (impressions) down to revenue.
COUNT_STAGES = ("impressions", "sessions", "leads", "mqls", "sqls", "opportunities", "wins")  # in channel_funnel

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

# Observed rate -> (later stage, earlier stage) of marts.channel_funnel. ctr (sessions / impressions) is
# an override only: impressions are ad impressions, sessions come from every source.
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
    """Required volume of every stage for `revenue` (docs/analyses.md).

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
    impressions: int = 0  # last: rows are built by position

    def value(self, stage: str) -> int | Decimal:
        return getattr(self, stage)


def read_channel_funnel(con: duckdb.DuckDBPyConnection) -> list[FunnelMonth]:
    rows = con.execute(
        "SELECT period_start, channel, sessions, leads, mqls, sqls, opportunities, wins, revenue, impressions "
        "FROM marts.channel_funnel"
    ).fetchall()
    return [
        FunnelMonth(p, c, *(int(v or 0) for v in counts), Decimal(revenue or 0), int(impressions or 0))
        for p, c, *counts, revenue, impressions in rows
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
    'Unallocated'. Otherwise (docs/analyses.md, "the lookback's mix of wins"): each
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
