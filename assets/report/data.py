"""What the report reads from the published marts: the funnel and ROI per channel over the report's
months (sums taken in SQL, rates from the metric macros), the current target plans, the bottlenecks,
the monthly totals the month-over-month trend compares, and (assets/report/sections.py) the load log
and the other analyses."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from assets.core.database import named_queries
from assets.plan.reverse import Period, elapsed_share
from assets.report.labels import DASH, FUNNEL_RATES, FUNNEL_STAGES, TRANSITIONS, fmt_month
from assets.report.sections import (AttributionRow, CohortRow, SourceFreshness, TopFunnelRow, VelocityRow, VideoRow,
                                    read_attribution, read_cohort_roi, read_freshness, read_top_funnel, read_velocity,
                                    read_videos)

# The biggest bottleneck of the headline: its lost revenue summed over this many cohort months, the
# latest month with a bottleneck and the ones before it (young cohorts are too early to judge, so the
# latest months of data often have none).
TOP_BOTTLENECK_MONTHS = 3


@dataclass(frozen=True)
class FunnelRow:
    channel: str | None  # None: the total of every channel
    counts: dict[str, int]
    revenue: Decimal
    rates: dict[str, float | None]

    def is_empty(self) -> bool:
        return not any(self.counts.values()) and not self.revenue


@dataclass(frozen=True)
class RoiRow:
    channel: str | None
    spend: Decimal
    leads: int
    wins: int
    revenue: Decimal
    cpa: Decimal | None  # None without spend (never ¥0) or without leads
    cac: Decimal | None  # None without spend or without wins
    roas: float | None
    roi: float | None


@dataclass(frozen=True)
class PlanRow:
    channel: str
    stage: str
    rate_name: str | None
    rate_used: float | None
    required: Decimal | None
    actual: Decimal | None
    gap: Decimal | None
    pace: float | None
    avg_deal_size: Decimal | None


@dataclass(frozen=True)
class PlanPeriod:
    period: Period
    as_of: date
    stages: list[PlanRow]  # channel All, top down
    channels: list[PlanRow]  # every other channel's revenue row

    @property
    def elapsed(self) -> float | None:
        share = elapsed_share(self.period, self.as_of)
        return None if share is None else float(share)


@dataclass(frozen=True)
class BottleneckRow:
    cohort_start: date
    channel: str
    transition: str
    from_count: int
    to_count: int
    actual_rate: float | None
    reference_rate: float | None
    gap_points: float | None
    lost_revenue: Decimal | None
    is_bottleneck: bool
    significant: bool
    maturity: str  # mature, too_early


@dataclass(frozen=True)
class BottleneckSummary:
    channel: str
    transition: str
    months_flagged: int
    lost_revenue: Decimal  # of the flagged months


@dataclass(frozen=True)
class TopBottleneck:
    """The channel and transition that lost the most revenue as a significant, mature bottleneck in the
    months first .. last (None when no month had one)."""
    first: date
    last: date
    channel: str | None = None
    transition: str | None = None
    lost_revenue: Decimal | None = None


@dataclass(frozen=True)
class MonthTotal:
    """All channels of one month of marts.channel_roi."""
    month: date
    revenue: Decimal
    leads: int
    wins: int
    spend: Decimal


@dataclass(frozen=True)
class HeldBack:
    """A file the run refused: its source's figures are as of the data loaded before."""
    source: str
    file_name: str
    reason: str


@dataclass(frozen=True)
class ReportData:
    first_month: date | None  # None: channel_funnel is empty
    last_month: date | None
    funnel: list[FunnelRow]
    roi: list[RoiRow]
    plans: list[PlanPeriod]
    bottleneck_month: date | None
    bottlenecks: list[BottleneckRow]
    bottleneck_summary: list[BottleneckSummary]
    top_bottleneck: TopBottleneck | None = None  # None: no bottleneck data in the months
    month_totals: list[MonthTotal] = field(default_factory=list)  # every month of channel_roi up to last_month
    freshness: list[SourceFreshness] = field(default_factory=list)
    attribution: list[AttributionRow] = field(default_factory=list)
    cohorts: list[CohortRow] = field(default_factory=list)
    velocity: list[VelocityRow] = field(default_factory=list)
    top_funnel: list[TopFunnelRow] = field(default_factory=list)
    videos: list[VideoRow] = field(default_factory=list)
    held_back: list[HeldBack] = field(default_factory=list)

    @property
    def months(self) -> int:
        if self.first_month is None:
            return 0
        return (self.last_month.year - self.first_month.year) * 12 + self.last_month.month - self.first_month.month + 1

    @property
    def period_label(self) -> str:
        if self.first_month is None:
            return DASH
        return f"{fmt_month(self.first_month)} – {fmt_month(self.last_month)}"


def report_window(con: duckdb.DuckDBPyConnection, months: int) -> tuple[date | None, date | None]:
    """(first, last) month of the report: the latest `months` months of marts.channel_funnel
    (fewer when the data is shorter); (None, None) without data."""
    first, last = con.execute(
        "SELECT greatest(min(period_start), CAST(max(period_start) - to_months(CAST($months AS INTEGER) - 1) AS DATE)),"
        " max(period_start) FROM marts.channel_funnel", {"months": months}).fetchone()
    return first, last


def read_funnel(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[FunnelRow]:
    """Stage counts per channel summed over the months, with the total (channel None)."""
    rate_sql = ", ".join(f"safe_rate(sum({later}), sum({earlier})) AS {rate}" for rate, later, earlier in FUNNEL_RATES)
    rows = con.execute(
        "SELECT CASE WHEN grouping(channel) = 1 THEN NULL ELSE channel END, "
        + ", ".join(f"CAST(sum({s}) AS BIGINT)" for s in FUNNEL_STAGES) + ", sum(revenue), " + rate_sql
        + " FROM marts.channel_funnel WHERE period_start BETWEEN $first AND $last"
        " GROUP BY GROUPING SETS ((channel), ())", {"first": first, "last": last}).fetchall()
    result = []
    for channel, *values in rows:
        counts = dict(zip(FUNNEL_STAGES, (int(v or 0) for v in values[:len(FUNNEL_STAGES)])))
        revenue = values[len(FUNNEL_STAGES)] or Decimal(0)
        rates = dict(zip((r for r, _, _ in FUNNEL_RATES), values[len(FUNNEL_STAGES) + 1:]))
        result.append(FunnelRow(channel, counts, revenue, rates))
    return result


def read_roi(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[RoiRow]:
    """Spend, leads, wins and revenue per channel summed over the months, and the ratios of the sums.
    channel_roi.spend is 0 where a channel had no spend, and money_per(0, leads) is 0: CPA and CAC are
    NULL (shown –) unless the sum of spend is above 0, as ROAS and ROI are."""
    rows = con.execute(
        "SELECT CASE WHEN grouping(channel) = 1 THEN NULL ELSE channel END, sum(spend), "
        "CAST(sum(leads) AS BIGINT), CAST(sum(wins) AS BIGINT), sum(revenue), "
        "CASE WHEN sum(spend) > 0 THEN money_per(sum(spend), sum(leads)) END, "
        "CASE WHEN sum(spend) > 0 THEN money_per(sum(spend), sum(wins)) END, "
        "roas(sum(revenue), sum(spend)), roi(sum(revenue), sum(spend)) "
        "FROM marts.channel_roi WHERE period_start BETWEEN $first AND $last "
        "GROUP BY GROUPING SETS ((channel), ())", {"first": first, "last": last}).fetchall()
    return [RoiRow(c, spend or Decimal(0), int(leads or 0), int(wins or 0), revenue or Decimal(0), cpa, cac, roas, roi)
            for c, spend, leads, wins, revenue, cpa, cac, roas, roi in rows]


def current_periods(periods: Sequence[tuple[Period, date]]) -> list[tuple[Period, date]]:
    """The target periods the report shows, of (period, as_of): those containing their as_of
    day (a fiscal year and its current quarter can both do); when none does, the one that
    ended last; when none has started, the one that starts first."""
    containing = [(p, d) for p, d in periods if p.start <= d <= p.end]
    if containing:
        return sorted(containing, key=lambda x: (x[0].start, x[0].end))
    ended = [(p, d) for p, d in periods if p.end < d]
    if ended:
        return [max(ended, key=lambda x: (x[0].end, x[0].start))]
    return [min(periods, key=lambda x: (x[0].start, x[0].end))] if periods else []


def read_plans(con: duckdb.DuckDBPyConnection) -> list[PlanPeriod]:
    periods = [(Period(label, start, end), as_of) for label, start, end, as_of in con.execute(
        "SELECT DISTINCT period, period_start, period_end, as_of FROM marts.target_plan ORDER BY ALL").fetchall()]
    result = []
    for period, as_of in current_periods(periods):
        rows = [PlanRow(*r) for r in con.execute(
            "SELECT channel, stage, rate_name, rate_used, required, actual, gap, pace, avg_deal_size "
            "FROM marts.target_plan "
            "WHERE period = $period AND (channel = 'All' OR stage = 'revenue') ORDER BY stage_order, channel",
            {"period": period.label}).fetchall()]
        result.append(PlanPeriod(period, as_of, [r for r in rows if r.channel == "All"],
                                 [r for r in rows if r.channel != "All"]))
    return result


def read_bottlenecks(con: duckdb.DuckDBPyConnection, first: date, last: date
                     ) -> tuple[date | None, list[BottleneckRow], list[BottleneckSummary]]:
    """(latest cohort month in the window, its rows, per channel x transition the months flagged)."""
    params = {"first": first, "last": last}
    month = con.execute("SELECT max(cohort_start) FROM marts.bottlenecks WHERE cohort_start BETWEEN $first AND $last",
                        params).fetchone()[0]
    if month is None:
        return None, [], []
    rows = [BottleneckRow(*r) for r in con.execute(
        "SELECT cohort_start, channel, transition, from_count, to_count, actual_rate, reference_rate, gap_points, "
        "lost_revenue, is_bottleneck, significant, maturity FROM marts.bottlenecks WHERE cohort_start = $month",
        {"month": month}).fetchall()]
    summary = [BottleneckSummary(c, t, int(n), lost or Decimal(0)) for c, t, n, lost in con.execute(
        "SELECT channel, transition, count(*) FILTER (WHERE is_bottleneck), "
        "sum(lost_revenue) FILTER (WHERE is_bottleneck) "
        "FROM marts.bottlenecks WHERE cohort_start BETWEEN $first AND $last GROUP BY ALL", params).fetchall()]
    return month, rows, summary


def read_top_bottleneck(con: duckdb.DuckDBPyConnection, first: date, last: date) -> TopBottleneck | None:
    """Among the bottlenecks (is_bottleneck; significant and mature, as the mart makes them, checked again)
    of the latest TOP_BOTTLENECK_MONTHS cohort months that have one, within first .. last, the channel and
    transition with the largest lost revenue summed over those months (ties: the earlier transition, then
    the channel name). None without bottleneck data in first .. last."""
    params = {"first": first, "last": last}
    if con.execute("SELECT count(*) FROM marts.bottlenecks WHERE cohort_start BETWEEN $first AND $last",
                   params).fetchone()[0] == 0:
        return None
    flagged = ("FROM marts.bottlenecks WHERE cohort_start BETWEEN $first AND $last AND is_bottleneck AND significant "
               "AND maturity = 'mature' AND lost_revenue > 0")
    latest = con.execute(f"SELECT max(cohort_start) {flagged}", params).fetchone()[0]
    if latest is None:
        return TopBottleneck(first, last)
    since = max(first, con.execute("SELECT CAST($latest - to_months($n - 1) AS DATE)",
                                   {"latest": latest, "n": TOP_BOTTLENECK_MONTHS}).fetchone()[0])
    channel, transition, lost = con.execute(
        f"SELECT channel, transition, sum(lost_revenue) AS lost {flagged} AND cohort_start >= $since "
        "GROUP BY channel, transition ORDER BY lost DESC, list_position($order, transition), channel LIMIT 1",
        {**params, "since": since, "order": list(TRANSITIONS)}).fetchone()
    return TopBottleneck(since, latest, channel, transition, lost)


def read_month_totals(con: duckdb.DuckDBPyConnection, last: date) -> list[MonthTotal]:
    """Revenue, leads, wins and spend of all channels per month of marts.channel_roi, up to `last`."""
    return [MonthTotal(m, revenue or Decimal(0), int(leads or 0), int(wins or 0), spend or Decimal(0))
            for m, revenue, leads, wins, spend in con.execute(
                "SELECT period_start, sum(revenue), CAST(sum(leads) AS BIGINT), CAST(sum(wins) AS BIGINT), sum(spend) "
                "FROM marts.channel_roi WHERE period_start <= $last GROUP BY ALL ORDER BY ALL",
                {"last": last}).fetchall()]


QUERIES = named_queries(Path(__file__).with_name("queries.sql"))


def read_held_back(con: duckdb.DuckDBPyConnection, run_id: str) -> list[HeldBack]:
    held = []
    for source, file_name, message in con.execute(QUERIES["held_back"], {"run": run_id}).fetchall():
        first = (message or "").splitlines()[0] if message else ""
        held.append(HeldBack(source, file_name, first.split(": ", 1)[1] if ": " in first else first))
    return held


def read_report_data(con: duckdb.DuckDBPyConnection, months: int, run_id: str | None = None) -> ReportData:
    """Everything the report shows, from the marts of `con` (which has the metric macros); with `run_id`,
    the files that run refused too."""
    first, last = report_window(con, months)
    plans = read_plans(con)
    freshness = read_freshness(con)
    held_back = read_held_back(con, run_id) if run_id else []
    if first is None:
        return ReportData(None, None, [], [], plans, None, [], [], freshness=freshness, held_back=held_back)
    month, rows, summary = read_bottlenecks(con, first, last)
    return ReportData(first, last, read_funnel(con, first, last), read_roi(con, first, last), plans,
                      month, rows, summary, top_bottleneck=read_top_bottleneck(con, first, last),
                      month_totals=read_month_totals(con, last), freshness=freshness,
                      attribution=read_attribution(con, first, last), cohorts=read_cohort_roi(con, first, last),
                      velocity=read_velocity(con, last), top_funnel=read_top_funnel(con, first, last),
                      videos=read_videos(con, first, last), held_back=held_back)
