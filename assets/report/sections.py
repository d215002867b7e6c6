"""What the report reads besides the funnel, ROI, plan and bottlenecks: the load log (how fresh the
data is), and the analyses of their own section: attribution, cohort ROI / LTV:CAC and pipeline
velocity. A table that is not there (a warehouse built before it, a test's tiny marts) reads as
empty: its section is left out, never an error."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import duckdb

from assets.report.labels import MODELS


def has_table(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> bool:
    return con.execute("SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
                       "AND table_schema = $schema AND table_name = $name",
                       {"schema": schema, "name": name}).fetchone()[0] > 0


# --------------------------------------------------------------------------- freshness


@dataclass(frozen=True)
class SourceFreshness:
    source: str
    exported_at: datetime | None  # the newest loaded file's export moment (local time of the pipeline zone)
    file_name: str  # that file, relative to the inbox
    basis: str | None  # what exported_at was read from: file name, preamble, rows, file time
    files: int  # files loaded from the source

    @property
    def day(self) -> date | None:
        return None if self.exported_at is None else self.exported_at.date()


def read_freshness(con: duckdb.DuckDBPyConnection) -> list[SourceFreshness]:
    """Per source, the loaded file exported last (ops.load_log.exported_at; rejected files do not count)."""
    if not has_table(con, "ops", "load_log"):
        return []
    rows = con.execute(
        "SELECT source, max(exported_at), coalesce(arg_max(file_name, exported_at), arg_max(file_name, load_id)), "
        "arg_max(exported_at_basis, exported_at), count(*) "
        "FROM ops.load_log WHERE status = 'loaded' GROUP BY source ORDER BY source").fetchall()
    return [SourceFreshness(*r) for r in rows]


# --------------------------------------------------------------------------- attribution


@dataclass(frozen=True)
class AttributionRow:
    channel: str | None  # None: every channel
    revenue: dict[str, Decimal]  # model -> attributed revenue


def read_attribution(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[AttributionRow]:
    """Revenue credited to each channel under each model, over the report's months (close months)."""
    if not has_table(con, "marts", "attributed_revenue"):
        return []
    rows = con.execute(
        "SELECT CASE WHEN grouping(channel) = 1 THEN NULL ELSE channel END AS ch, model, sum(attributed_revenue) "
        "FROM marts.attributed_revenue WHERE period_start BETWEEN $first AND $last "
        "GROUP BY GROUPING SETS ((channel, model), (model))", {"first": first, "last": last}).fetchall()
    by_channel: dict[str | None, dict[str, Decimal]] = {}
    for channel, model, revenue in rows:
        by_channel.setdefault(channel, dict.fromkeys(MODELS, Decimal(0)))[model] = revenue or Decimal(0)
    return [AttributionRow(c, revenue) for c, revenue in by_channel.items()]


# --------------------------------------------------------------------------- cohort ROI


@dataclass(frozen=True)
class CohortRow:
    channel: str | None
    spend: Decimal
    leads: int
    won: int
    revenue: Decimal  # so far, of the leads created in the months
    roas: float | None  # None without spend
    cac: Decimal | None  # None without spend or without a won customer
    ltv: Decimal | None  # per won customer; None when not configured or nobody won
    ltv_to_cac: float | None
    paid_back: int  # cohort months with spend whose revenue has paid it back
    months_with_spend: int


def read_cohort_roi(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[CohortRow]:
    """The lead cohorts of the report's months per channel (and all channels): spend against the revenue
    so far, CAC, LTV and LTV:CAC recomputed from the sums. ltv x reached_win is the cohort's lifetime gross
    profit (revenue x gross margin x lifetime factor), so sum(ltv x reached_win) / sum(reached_win) is the LTV
    of the sums and sum(ltv x reached_win) / sum(spend) their LTV:CAC. No spend: no ROAS, CAC or LTV:CAC."""
    if not has_table(con, "marts", "cohort_roi"):
        return []
    rows = con.execute(
        "SELECT CASE WHEN grouping(channel) = 1 THEN NULL ELSE channel END, sum(spend), "
        "CAST(sum(leads) AS BIGINT), CAST(sum(reached_win) AS BIGINT), sum(revenue), "
        "CASE WHEN sum(spend) > 0 THEN roas(sum(revenue), sum(spend)) END, "
        "CASE WHEN sum(spend) > 0 THEN money_per(sum(spend), sum(reached_win)) END, "
        "CASE WHEN count(ltv) > 0 THEN money_per(sum(ltv * reached_win), sum(reached_win)) END, "
        "CASE WHEN count(ltv) > 0 AND sum(spend) > 0 THEN safe_rate(sum(ltv * reached_win), sum(spend)) END, "
        "count(*) FILTER (WHERE spend > 0 AND payback_month IS NOT NULL), count(*) FILTER (WHERE spend > 0) "
        "FROM marts.cohort_roi WHERE cohort_start BETWEEN $first AND $last "
        "GROUP BY GROUPING SETS ((channel), ())", {"first": first, "last": last}).fetchall()
    return [CohortRow(c, spend or Decimal(0), int(leads or 0), int(won or 0), revenue or Decimal(0), roas, cac, ltv,
                      ratio, int(paid), int(months))
            for c, spend, leads, won, revenue, roas, cac, ltv, ratio, paid, months in rows
            if spend or leads or won or c is None]


# --------------------------------------------------------------------------- pipeline velocity


@dataclass(frozen=True)
class VelocityRow:
    period_start: date
    channel: str
    open_opportunities: int
    win_rate: float | None
    avg_deal_size: Decimal | None
    avg_sales_cycle_days: float | None
    pipeline_velocity: Decimal | None  # revenue per day


def read_velocity(con: duckdb.DuckDBPyConnection, last: date) -> list[VelocityRow]:
    """Each channel's latest month of marts.pipeline_velocity up to the report's last month."""
    if not has_table(con, "marts", "pipeline_velocity"):
        return []
    rows = con.execute(
        "SELECT period_start, channel, open_opportunities, win_rate, avg_deal_size, avg_sales_cycle_days, "
        "pipeline_velocity FROM marts.pipeline_velocity WHERE period_start <= $last "
        "QUALIFY row_number() OVER (PARTITION BY channel ORDER BY period_start DESC) = 1", {"last": last}).fetchall()
    return [VelocityRow(p, c, int(n or 0), rate, size, days, velocity) for p, c, n, rate, size, days, velocity in rows]


def has_columns(con: duckdb.DuckDBPyConnection, schema: str, name: str, columns: tuple[str, ...]) -> bool:
    found = {c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_catalog = current_database() "
        "AND table_schema = $schema AND table_name = $name", {"schema": schema, "name": name}).fetchall()}
    return set(columns) <= found


# --------------------------------------------------------------------------- top of the funnel


@dataclass(frozen=True)
class TopFunnelRow:
    channel: str | None  # None: the channels with ad data together
    impressions: int
    clicks: int
    sessions: int
    ctr: float | None  # clicks / impressions
    click_to_session_rate: float | None  # sessions / clicks


def read_top_funnel(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[TopFunnelRow]:
    """Ad impressions -> clicks -> sessions of marts.channel_funnel over the report's months, per channel that
    had impressions or clicks, and those channels together (the other channels' sessions came without an ad)."""
    if not has_columns(con, "marts", "channel_funnel", ("impressions", "clicks")):
        return []
    rows = con.execute(
        "WITH months AS (SELECT * FROM marts.channel_funnel WHERE period_start BETWEEN $first AND $last), "
        "ads AS (SELECT channel FROM months GROUP BY channel HAVING sum(impressions) > 0 OR sum(clicks) > 0) "
        "SELECT CASE WHEN grouping(channel) = 1 THEN NULL ELSE channel END, CAST(sum(impressions) AS BIGINT), "
        "CAST(sum(clicks) AS BIGINT), CAST(sum(sessions) AS BIGINT), safe_rate(sum(clicks), sum(impressions)), "
        "safe_rate(sum(sessions), sum(clicks)) FROM months WHERE channel IN (SELECT channel FROM ads) "
        "GROUP BY GROUPING SETS ((channel), ())", {"first": first, "last": last}).fetchall()
    return [TopFunnelRow(c, int(i or 0), int(k or 0), int(s or 0), ctr, rate) for c, i, k, s, ctr, rate in rows
            if i or k]


# --------------------------------------------------------------------------- videos


@dataclass(frozen=True)
class VideoRow:
    video_id: str
    title: str | None
    impressions: int | None  # None: no export gave them for the months
    views: int | None
    ctr: float | None  # views from impressions / impressions, weighted by impressions
    inquiries: int
    opportunities: int
    wins: int
    revenue: Decimal  # of the deals whose lead watched the video first: every video its lead watched counts it
    production_cost: Decimal | None
    roi: float | None  # (revenue to date - production cost) / production cost, at the report's last month


def read_videos(con: duckdb.DuckDBPyConnection, first: date, last: date) -> list[VideoRow]:
    """marts.video_funnel per video over the report's months: the funnel summed, CTR weighted by impressions,
    ROI to date as of the video's last month in the window; most revenue first."""
    if not has_table(con, "marts", "video_funnel"):
        return []
    rows = con.execute(
        "SELECT video_id, max(video_title), CAST(sum(impressions) AS BIGINT), CAST(sum(views) AS BIGINT), "
        "weighted_mean(impression_ctr, impressions), CAST(sum(inquiries) AS BIGINT), "
        "CAST(sum(opportunities) AS BIGINT), CAST(sum(wins) AS BIGINT), sum(revenue), max(production_cost), "
        "arg_max(roi_to_date, period_start) FROM marts.video_funnel WHERE period_start BETWEEN $first AND $last "
        "GROUP BY video_id ORDER BY sum(revenue) DESC, sum(views) DESC NULLS LAST, video_id",
        {"first": first, "last": last}).fetchall()
    return [VideoRow(v, title, impressions, views, ctr, int(i), int(o), int(w), revenue or Decimal(0), cost, roi)
            for v, title, impressions, views, ctr, i, o, w, revenue, cost, roi in rows]
