"""The headline at the top of the report, what the marketing manager reads first: are we on track?

- The target period: of the current target periods (marts.target_plan, see data.current_periods)
  the shortest that contains its as_of day (a month before a quarter before a fiscal year), else
  the first one shown.
- Revenue of channel All against its target, with the pace of the mart.
- The forecast at the current pace: revenue to date / elapsed share of the period (days from its
  start through as_of, inclusive, over its days), in whole yen rounded half up. Its ratio to the
  target is the pace.
- The biggest bottleneck (data.read_top_bottleneck), or none.
- How fresh the data is: per source the export moment of its newest loaded file, and a warning when
  the newest of them is older than yesterday (today: the day the report is made, in the pipeline
  time zone).
- Month over month: revenue, leads, wins and spend of all channels in the latest full month against
  the month before. A month is full when it has ended before today and before the day after the
  newest export (a month the exports stop inside is not full).
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from math import floor

from assets.plan.reverse import elapsed_share
from assets.report.data import MonthTotal, PlanPeriod, PlanRow, ReportData, TopBottleneck
from assets.report.sections import SourceFreshness

TRENDS = (("revenue", True), ("leads", False), ("wins", False), ("spend", True))  # (figure, is money)


@dataclass(frozen=True)
class Trend:
    figure: str  # revenue, leads, wins, spend
    money: bool
    current: Decimal | int
    previous: Decimal | int | None  # None: the month before lies before the data

    @property
    def change(self) -> Decimal | int | None:
        return None if self.previous is None else self.current - self.previous

    @property
    def ratio(self) -> float | None:
        """The change relative to the month before; None when that month had none."""
        return None if not self.previous else float(Fraction(self.change) / Fraction(self.previous))


@dataclass(frozen=True)
class Headline:
    today: date
    plan: PlanPeriod | None
    revenue: PlanRow | None  # channel All, stage revenue, of the plan
    elapsed: Fraction | None  # elapsed share of the plan's period on its as_of day
    forecast: Decimal | None  # whole yen
    bottleneck: TopBottleneck | None
    freshness: list[SourceFreshness]
    month: date | None  # the latest full month
    previous_month: date | None
    trends: list[Trend]

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    @property
    def newest_day(self) -> date | None:
        days = [f.day for f in self.freshness if f.day is not None]
        return max(days) if days else None

    @property
    def stale(self) -> bool:
        """The data ends before yesterday."""
        return self.newest_day is not None and self.newest_day < self.yesterday

    @property
    def attainment(self) -> float | None:
        r = self.revenue
        return None if r is None or r.actual is None or not r.required else float(r.actual / r.required)

    @property
    def forecast_ratio(self) -> float | None:
        r = self.revenue
        return None if r is None or self.forecast is None or not r.required else float(self.forecast / r.required)

    @property
    def elapsed_days(self) -> int | None:
        return None if self.elapsed is None else round(self.elapsed * self.plan.period.days)

    @property
    def on_track(self) -> bool | None:
        return None if self.revenue is None or self.revenue.pace is None else self.revenue.pace >= 1


def headline_plan(plans: list[PlanPeriod]) -> PlanPeriod | None:
    containing = [p for p in plans if p.period.start <= p.as_of <= p.period.end]
    if containing:
        return min(containing, key=lambda p: (p.period.days, p.period.start))
    return plans[0] if plans else None


def forecast(actual: Decimal | None, elapsed: Fraction | None) -> Decimal | None:
    """actual / elapsed in whole yen, exactly, half up: 10,000,000 after 184 of 365 days -> 19,836,957."""
    if actual is None or not elapsed:
        return None
    value = Fraction(actual) / elapsed
    whole = floor(abs(value) + Fraction(1, 2))
    return Decimal(whole if value >= 0 else -whole)


def add_months(d: date, n: int) -> date:
    months = d.year * 12 + d.month - 1 + n
    return date(months // 12, months % 12 + 1, 1)


def month_over_month(totals: list[MonthTotal], today: date, newest_day: date | None
                     ) -> tuple[date | None, date | None, list[Trend]]:
    """(latest full month, the month before, the trends). No full month: (None, None, [])."""
    cutoff = today.replace(day=1)
    if newest_day is not None:
        cutoff = min(cutoff, newest_day + timedelta(days=1))
    by_month = {t.month: t for t in totals}
    full = [m for m in by_month if add_months(m, 1) <= cutoff]
    if not full:
        return None, None, []
    month = max(full)
    previous = add_months(month, -1)
    before = by_month.get(previous)
    if before is None and previous >= min(by_month):  # a month without any row: nothing happened
        before = MonthTotal(previous, Decimal(0), 0, 0, Decimal(0))
    trends = [Trend(figure, money, getattr(by_month[month], figure),
                    None if before is None else getattr(before, figure)) for figure, money in TRENDS]
    return month, previous, trends


def build_headline(data: ReportData, today: date) -> Headline:
    plan = headline_plan(data.plans)
    revenue = None if plan is None else next((r for r in plan.stages if r.stage == "revenue"), None)
    elapsed = None if plan is None else elapsed_share(plan.period, plan.as_of)
    days = [f.day for f in data.freshness if f.day is not None]
    month, previous, trends = month_over_month(data.month_totals, today, max(days) if days else None)
    return Headline(today, plan, revenue, elapsed, forecast(None if revenue is None else revenue.actual, elapsed),
                    data.top_bottleneck, data.freshness, month, previous, trends)
