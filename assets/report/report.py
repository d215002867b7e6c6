"""published warehouse -> the funnel report: one self-contained HTML file per run (issue 6).

What it shows, over the latest `months` months of data (config/report.yaml, default 12):
the funnel per channel with every conversion rate next to the counts behind it, spend,
CPA, CAC, ROAS and ROI per channel, the target plan of the current target period
(marts.target_plan, channel All stage by stage and every channel's revenue) against the
actual with its pace, and the bottlenecks of marts.bottlenecks with the flagged
transitions highlighted.

Every number comes from the marts. Sums over the months are taken in SQL and every
rate, ROAS, ROI, CPA and CAC of a sum is computed with the metric macros of
assets/sql/metric_macros.sql (the one definition of each); money stays DECIMAL and is
printed from the exact value. The charts are inline SVG drawn here; the page loads
nothing (its Content-Security-Policy forbids any fetch), so it opens offline and can be
mailed as one file. Every value from the data or the configuration is HTML-escaped:
the template autoescapes and the SVG is built with markupsafe, which escapes every
argument it formats in.

Labels are Japanese by default, English with `language: en` in config/report.yaml;
channel labels come from config/channels.yaml (`label_ja`; in English `label_en`, else
the channel name).
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import jinja2
from markupsafe import Markup
from pydantic import Field

from assets.plan.target_plan import Period, elapsed_share
from assets.core import settings
from assets.core.resource import FunnelResource
from schemas.config import ChannelsConfig, ConfigError, _Strict, load_yaml_model

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE = "funnel_report.html.j2"
DASH = "–"


# --------------------------------------------------------------------------- configuration


class ReportConfig(_Strict):
    language: Literal["ja", "en"] = "ja"
    months: int = Field(default=12, ge=1, le=120)


def load_report_config(config_dir: str | Path) -> ReportConfig:
    """`<config>/report.yaml` when present (it is optional), else the defaults. A wrong
    value raises ConfigError naming the file and the key."""
    path = Path(config_dir) / "report.yaml"
    return load_yaml_model(path, ReportConfig) if path.is_file() else ReportConfig()


# --------------------------------------------------------------------------- labels

TEXT = {
    "ja": {
        "title": "ファネルレポート",
        "period": "対象期間",
        "months": "か月",
        "as_of": "目標の基準日",
        "generated": "作成日時",
        "no_data": "データがありません。",
        "funnel": "チャネル別ファネル",
        "funnel_note": "各段階の件数はその月に起きた件数の合計。率は同じ期間の件数の比（後段 ÷ 前段、括弧内が件数）で、"
                       "月をまたぐため 100% を超えることがあります。",
        "counts": "件数",
        "rates": "転換率（後段 / 前段）",
        "channel": "チャネル",
        "total": "合計",
        "roi": "チャネル別 ROI / ROAS",
        "roi_note": "ROAS = 売上 ÷ 費用、ROI = (売上 − 費用) ÷ 費用、CPA = 費用 ÷ リード、CAC = 費用 ÷ 受注。"
                    "費用のないチャネルは – です。グラフの線は ROAS 1.0（損益分岐）。",
        "spend": "費用",
        "break_even": "損益分岐 1.0",
        "no_spend": "費用のデータがありません。",
        "plan": "目標計画と実績",
        "plan_note": "marts.target_plan（config/targets.yaml からの逆算）。ペース = 実績 ÷ (必要数 × 期間の経過割合)、"
                     "100% で計画どおり。グラフの縦線は経過割合（今日までに必要な水準）。",
        "no_targets": "config/targets.yaml に目標がありません。",
        "whole_target": "全体の段階別",
        "by_channel": "チャネル別の売上",
        "stage": "段階",
        "rate_used": "使用した率",
        "required": "必要数",
        "actual": "実績",
        "gap": "残り",
        "pace": "ペース",
        "elapsed": "経過",
        "target_period": "目標期間",
        "bottlenecks": "ボトルネック",
        "bottleneck_note": "marts.bottlenecks：各遷移の率をその月を含む直近6か月の全チャネルの率と比べ、差で失われた売上を"
                           "推定したもの。差が偶然では説明できず（95%の信頼区間の上限が基準率を下回る）、転換に通常かかる"
                           "日数が経った月のうち、逸失売上の最も大きい遷移がボトルネック（★）です。月はリード"
                           "（商談→受注は商談）の作成月です。",
        "bottleneck_months": "期間中にボトルネックになった月数（その月の逸失売上の合計）。色付きはチャネルごとに最も多い遷移",
        "latest_cohort": "最新の月",
        "latest_note": "実績率（件数）、全チャネルの基準率、逸失売上。★ と色付きがその月のボトルネック。「判断には早い」は"
                       "転換に通常かかる日数がまだ経っていない遷移、「差は誤差の範囲」は件数が少なく差が有意でない遷移です。",
        "too_early": "判断には早い",
        "not_significant": "差は誤差の範囲",
        "transition": "遷移",
        "actual_rate": "実績率",
        "reference_rate": "基準率",
        "gap_points": "差（ポイント）",
        "lost_revenue": "逸失売上",
        "flag": "ボトルネック",
        "no_bottlenecks": "ボトルネックのデータがありません。",
    },
    "en": {
        "title": "Funnel report",
        "period": "Period",
        "months": "months",
        "as_of": "Targets as of",
        "generated": "Generated",
        "no_data": "No data.",
        "funnel": "Funnel per channel",
        "funnel_note": "Each stage counts what happened in the months of the period. A rate compares stages of the "
                       "same period (later / earlier, counts in brackets); it can exceed 100% because a later stage "
                       "can come from earlier months.",
        "counts": "Counts",
        "rates": "Conversion rates (later / earlier)",
        "channel": "Channel",
        "total": "Total",
        "roi": "ROI and ROAS per channel",
        "roi_note": "ROAS = revenue / spend, ROI = (revenue - spend) / spend, CPA = spend / leads, CAC = spend / "
                    "wins. A channel without spend shows –. The chart's line is ROAS 1.0 (break-even).",
        "spend": "Spend",
        "break_even": "break-even 1.0",
        "no_spend": "No spend data.",
        "plan": "Target plan versus actual",
        "plan_note": "marts.target_plan (the reverse plan from config/targets.yaml). Pace = actual / (required x "
                     "elapsed share of the period); 100% is on track. The chart's vertical line is the elapsed "
                     "share (where the actual should be by now).",
        "no_targets": "No targets in config/targets.yaml.",
        "whole_target": "Whole target by stage",
        "by_channel": "Revenue by channel",
        "stage": "Stage",
        "rate_used": "Rate used",
        "required": "Required",
        "actual": "Actual",
        "gap": "Gap",
        "pace": "Pace",
        "elapsed": "elapsed",
        "target_period": "Target period",
        "bottlenecks": "Bottlenecks",
        "bottleneck_note": "marts.bottlenecks: each transition's rate against the all-channel rate of the trailing 6 "
                           "months, and the revenue the gap loses. In each month and channel, among the transitions "
                           "whose shortfall is more than chance (the 95% upper bound of the rate lies below the "
                           "reference) and whose cohort has had the transition's typical time, the one that loses the "
                           "most revenue is the bottleneck (★). Months are the months the leads (for opportunity to "
                           "win: the deals) were created.",
        "bottleneck_months": "Months each transition was the bottleneck in the period (lost revenue of those months); "
                             "shaded: each channel's most frequent one",
        "latest_cohort": "Latest month",
        "latest_note": "Actual rate (counts), the all-channel reference rate, lost revenue. ★ and shading mark the "
                       "month's bottleneck. \"Too early\": the cohort has not had the transition's typical time yet; "
                       "\"within chance\": too few records for the gap to mean anything.",
        "too_early": "too early",
        "not_significant": "within chance",
        "transition": "Transition",
        "actual_rate": "Actual rate",
        "reference_rate": "Reference rate",
        "gap_points": "Gap (points)",
        "lost_revenue": "Lost revenue",
        "flag": "Bottleneck",
        "no_bottlenecks": "No bottleneck data.",
    },
}

STAGE_LABELS = {
    "ja": {"impressions": "インプレッション", "sessions": "セッション", "leads": "リード", "mqls": "MQL", "sqls": "SQL",
           "opportunities": "商談", "wins": "受注", "revenue": "売上"},
    "en": {"impressions": "Impressions", "sessions": "Sessions", "leads": "Leads", "mqls": "MQLs", "sqls": "SQLs",
           "opportunities": "Opportunities", "wins": "Wins", "revenue": "Revenue"},
}

# Channels that are not in channels.yaml: the total of a target plan, deals without a source,
# and the part of a target that channel_shares leaves unassigned.
RESERVED_LABELS = {
    "ja": {"All": "全体", "Unattributed": "流入元なし", "Unallocated": "未割当"},
    "en": {"All": "All", "Unattributed": "Unattributed", "Unallocated": "Unallocated"},
}

# (rate, later stage, earlier stage) of the funnel table, top down.
FUNNEL_STAGES = ("sessions", "leads", "mqls", "sqls", "opportunities", "wins")
FUNNEL_RATES = (
    ("session_to_lead_rate", "leads", "sessions"),
    ("lead_to_mql_rate", "mqls", "leads"),
    ("mql_to_sql_rate", "sqls", "mqls"),
    ("sql_to_opportunity_rate", "opportunities", "sqls"),
    ("opportunity_to_win_rate", "wins", "opportunities"),
)
TRANSITIONS = ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_win")
TRANSITION_STAGES = {"lead_to_mql": ("leads", "mqls"), "mql_to_sql": ("mqls", "sqls"),
                     "sql_to_opportunity": ("sqls", "opportunities"), "opportunity_to_win": ("opportunities", "wins")}


class Labels:
    """Every text of the report in one language."""

    def __init__(self, language: str, channels: ChannelsConfig):
        self.language = language
        self.text = TEXT[language]
        self.stages = STAGE_LABELS[language]
        self._channels = {c.name: c for c in channels.channels}
        self._order = {c.name: i for i, c in enumerate(channels.channels)}

    def channel(self, name: str | None) -> str:
        if name is None:
            return self.text["total"]
        ch = self._channels.get(name)
        if ch is None:
            return RESERVED_LABELS[self.language].get(name, name)
        return ch.label_ja if self.language == "ja" else (ch.label_en or ch.name)

    def channel_sort_key(self, name: str | None) -> tuple:
        """channels.yaml order, then the channels it does not list, the total last."""
        return (name is None, self._order.get(name, len(self._order)), name or "")

    def transition(self, name: str) -> str:
        a, b = TRANSITION_STAGES[name]
        return f"{self.stages[a]} → {self.stages[b]}"

    def rate(self, later: str, earlier: str) -> str:
        return f"{self.stages[earlier]} → {self.stages[later]}"


# --------------------------------------------------------------------------- formatting


def fmt_count(value: int | Decimal | None) -> str:
    """12345 -> '12,345'; a whole DECIMAL prints without decimals; None -> '–'."""
    if value is None:
        return DASH
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return f"{value:,}"
    return f"{int(value):,}"


def fmt_yen(value: Decimal | int | None) -> str:
    """Yen with thousands separators from the exact value: ¥1,500,000; ¥1,234.50 when it has sen;
    -¥20,000 below zero; None -> '–'."""
    if value is None:
        return DASH
    value = Decimal(value)
    sign = "-" if value < 0 else ""
    value = abs(value)
    digits = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return f"{sign}¥{digits}"


def fmt_percent(value: float | None, decimals: int = 1) -> str:
    return DASH if value is None else f"{value * 100:,.{decimals}f}%"


def fmt_rate(rate: float | None, later: int, earlier: int) -> str:
    """'12.5% (5/40)': the rate and the counts it comes from; a NULL rate (no earlier stage) is '–'."""
    if rate is None:
        return DASH
    return f"{fmt_percent(rate)} ({later:,}/{earlier:,})"


def fmt_ratio(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def fmt_month(d: date) -> str:
    return f"{d:%Y-%m}"


# --------------------------------------------------------------------------- reading the marts


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
    cpa: Decimal | None
    cac: Decimal | None
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
    period_start: date
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
class ReportData:
    first_month: date | None  # None: channel_funnel is empty
    last_month: date | None
    funnel: list[FunnelRow]
    roi: list[RoiRow]
    plans: list[PlanPeriod]
    bottleneck_month: date | None
    bottlenecks: list[BottleneckRow]
    bottleneck_summary: list[BottleneckSummary]

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
    """Spend, leads, wins and revenue per channel summed over the months, and the ratios of the sums."""
    rows = con.execute(
        "SELECT CASE WHEN grouping(channel) = 1 THEN NULL ELSE channel END, sum(spend), "
        "CAST(sum(leads) AS BIGINT), CAST(sum(wins) AS BIGINT), sum(revenue), "
        "money_per(sum(spend), sum(leads)), money_per(sum(spend), sum(wins)), "
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
            "SELECT channel, stage, rate_name, rate_used, required, actual, gap, pace FROM marts.target_plan "
            "WHERE period = $period AND (channel = 'All' OR stage = 'revenue') ORDER BY stage_order, channel",
            {"period": period.label}).fetchall()]
        result.append(PlanPeriod(period, as_of, [r for r in rows if r.channel == "All"],
                                 [r for r in rows if r.channel != "All"]))
    return result


def read_bottlenecks(con: duckdb.DuckDBPyConnection, first: date, last: date
                     ) -> tuple[date | None, list[BottleneckRow], list[BottleneckSummary]]:
    """(latest cohort month in the window, its rows, per channel x transition the months flagged)."""
    params = {"first": first, "last": last}
    month = con.execute("SELECT max(period_start) FROM marts.bottlenecks WHERE period_start BETWEEN $first AND $last",
                        params).fetchone()[0]
    if month is None:
        return None, [], []
    rows = [BottleneckRow(*r) for r in con.execute(
        "SELECT period_start, channel, transition, from_count, to_count, actual_rate, reference_rate, gap_points, "
        "lost_revenue, is_bottleneck, significant, maturity FROM marts.bottlenecks WHERE period_start = $month",
        {"month": month}).fetchall()]
    summary = [BottleneckSummary(c, t, int(n), lost or Decimal(0)) for c, t, n, lost in con.execute(
        "SELECT channel, transition, count(*) FILTER (WHERE is_bottleneck), "
        "sum(lost_revenue) FILTER (WHERE is_bottleneck) "
        "FROM marts.bottlenecks WHERE period_start BETWEEN $first AND $last GROUP BY ALL", params).fetchall()]
    return month, rows, summary


def read_report_data(con: duckdb.DuckDBPyConnection, months: int) -> ReportData:
    """Everything the report shows, from the marts of `con` (which has the metric macros)."""
    first, last = report_window(con, months)
    plans = read_plans(con)
    if first is None:
        return ReportData(None, None, [], [], plans, None, [], [])
    month, rows, summary = read_bottlenecks(con, first, last)
    return ReportData(first, last, read_funnel(con, first, last), read_roi(con, first, last), plans,
                      month, rows, summary)


# --------------------------------------------------------------------------- charts (inline SVG)

FONT = 12
ROW = 22


def _svg(width: int, height: int, label: str, body: Sequence[Markup]) -> Markup:
    return Markup('<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{w}" height="{h}" '
                  'viewBox="0 0 {w} {h}" role="img" aria-label="{label}"><title>{label}</title>{body}</svg>').format(
        w=width, h=height, label=label, body=Markup("").join(body))


def _text(x: float, y: float, text: str, anchor: str = "start", cls: str = "") -> Markup:
    return Markup('<text x="{:.1f}" y="{:.1f}" text-anchor="{}" class="{}">{}</text>').format(x, y, anchor, cls, text)


def _rect(x: float, y: float, w: float, h: float, cls: str) -> Markup:
    return Markup('<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" class="{}"/>').format(
        x, y, max(w, 0.0), h, cls)


def _line(x1: float, y1: float, x2: float, y2: float, cls: str) -> Markup:
    return Markup('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" class="{}"/>').format(x1, y1, x2, y2, cls)


def funnel_chart(row: FunnelRow, labels: Labels) -> Markup:
    """One channel's funnel from leads to wins: centred bars scaled to its largest stage,
    each with its count and the rate from the stage above."""
    stages = FUNNEL_STAGES[1:]
    rate_into = {later: rate for rate, later, _ in FUNNEL_RATES}
    label_w, bar_w, value_w = 90, 180, 110
    top = max(row.counts[s] for s in stages) or 1
    body = []
    for i, stage in enumerate(stages):
        y = i * ROW + 4
        n = row.counts[stage]
        w = bar_w * n / top
        body.append(_text(label_w - 6, y + 14, labels.stages[stage], "end"))
        body.append(_rect(label_w + (bar_w - w) / 2, y, w, ROW - 6, "bar"))
        rate = row.rates[rate_into[stage]] if stage != "leads" else None
        value = fmt_count(n) + ("" if rate is None else f" ({fmt_percent(rate)})")
        body.append(_text(label_w + bar_w + 6, y + 14, value))
    return _svg(label_w + bar_w + value_w, len(stages) * ROW + 6, labels.channel(row.channel), body)


def roas_chart(rows: Sequence[RoiRow], labels: Labels) -> Markup | None:
    """ROAS per channel with spend, a bar each, and a line at 1.0 (break-even)."""
    rows = [r for r in rows if r.channel is not None and r.spend > 0]
    if not rows:
        return None
    label_w, bar_w, value_w = 200, 320, 70
    scale = max([1.0] + [r.roas for r in rows if r.roas is not None]) * 1.05
    height = len(rows) * ROW + 24
    body = []
    for i, r in enumerate(rows):
        y = i * ROW + 4
        body.append(_text(label_w - 6, y + 14, labels.channel(r.channel), "end"))
        body.append(_rect(label_w, y, bar_w * (r.roas or 0) / scale, ROW - 6,
                          "bar" if (r.roas or 0) >= 1 else "bar below"))
        body.append(_text(label_w + bar_w + 6, y + 14, fmt_ratio(r.roas)))
    x = label_w + bar_w / scale
    body.append(_line(x, 0, x, height - 18, "reference"))
    body.append(_text(x, height - 4, labels.text["break_even"], "middle", "note"))
    return _svg(label_w + bar_w + value_w, height, "ROAS", body)


def plan_chart(plan: PlanPeriod, labels: Labels) -> Markup:
    """Channel All of one target period: per stage the actual as a share of the required
    (the track is 100%), and a line at the elapsed share of the period."""
    rows = [r for r in plan.stages if r.required]
    label_w, track_w, value_w = 110, 300, 230
    height = len(rows) * ROW + 24
    body = []
    for i, r in enumerate(rows):
        y = i * ROW + 4
        share = min(float((r.actual or 0) / r.required), 1.5)
        money = r.stage == "revenue"
        body.append(_text(label_w - 6, y + 14, labels.stages[r.stage], "end"))
        body.append(_rect(label_w, y, track_w, ROW - 6, "track"))
        body.append(_rect(label_w, y, track_w * share / 1.5, ROW - 6,
                          "bar" if r.pace is None or r.pace >= 1 else "bar below"))
        fmt = fmt_yen if money else fmt_count
        body.append(_text(label_w + track_w + 6, y + 14,
                          f"{fmt(r.actual)} / {fmt(r.required)} ({labels.text['pace']} {fmt_percent(r.pace, 0)})"))
    # the track is 150% of the required: 100% sits at two thirds
    full = label_w + track_w / 1.5
    body.append(_line(full, 0, full, height - 18, "reference"))
    if plan.elapsed is None or abs(plan.elapsed - 1) > 0.15:  # else the elapsed label says it
        body.append(_text(full, height - 4, "100%", "middle", "note"))
    if plan.elapsed is not None:
        x = label_w + track_w * plan.elapsed / 1.5
        body.append(_line(x, 0, x, height - 18, "elapsed"))
        body.append(_text(x, height - 4, f"{labels.text['elapsed']} {fmt_percent(plan.elapsed, 0)}",
                          "end" if plan.elapsed > 0.5 else "start", "note"))
    return _svg(label_w + track_w + value_w, height, plan.period.label, body)


# --------------------------------------------------------------------------- the page


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(count=fmt_count, yen=fmt_yen, percent=fmt_percent, ratio=fmt_ratio, month=fmt_month)
    return env


def render_report(data: ReportData, channels: ChannelsConfig, language: str, generated_at: datetime) -> str:
    labels = Labels(language, channels)
    funnel = sorted((r for r in data.funnel if not r.is_empty() or r.channel is None),
                    key=lambda r: labels.channel_sort_key(r.channel))
    roi = sorted((r for r in data.roi if r.spend or r.revenue or r.leads or r.channel is None),
                 key=lambda r: labels.channel_sort_key(r.channel))
    summary: dict[str, dict[str, BottleneckSummary]] = {}
    for s in data.bottleneck_summary:
        summary.setdefault(s.channel, {})[s.transition] = s
    # each channel's transition flagged in the most months (then: losing the most revenue in them)
    top = {c: max(cells.values(), key=lambda s: (s.months_flagged, s.lost_revenue, -TRANSITIONS.index(s.transition)))
           for c, cells in summary.items()}
    top = {c: s for c, s in top.items() if s.months_flagged}
    detail: dict[str, dict[str, BottleneckRow]] = {}
    for r in data.bottlenecks:
        detail.setdefault(r.channel, {})[r.transition] = r
    return _environment().get_template(TEMPLATE).render(
        lang=language, t=labels.text, labels=labels, data=data,
        generated_at=f"{generated_at:%Y-%m-%d %H:%M %Z}",
        funnel=funnel,
        funnel_charts=[(r, funnel_chart(r, labels)) for r in funnel if r.channel is not None],
        funnel_stages=FUNNEL_STAGES, funnel_rates=FUNNEL_RATES,
        roi=roi, roas_chart=roas_chart(roi, labels),
        plans=[(p, sorted(p.channels, key=lambda r: labels.channel_sort_key(r.channel)), plan_chart(p, labels))
               for p in data.plans],
        transitions=TRANSITIONS,
        bottleneck_channels=sorted(summary, key=labels.channel_sort_key),
        bottleneck_summary=summary, bottleneck_top=top,
        bottleneck_detail=[(c, detail[c]) for c in sorted(detail, key=labels.channel_sort_key)],
        fmt_rate=fmt_rate,
    )


def write_report(path: Path, html: str, run_id: str) -> None:
    """Write `html` to `path` through a temporary file renamed over it: a reader never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{run_id}.tmp")
    try:
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@dg.asset(
    key=["report", "funnel_report"],
    deps=[dg.AssetKey(["published", "funnel_duckdb"])],
    group_name="report",
    kinds={"html"},
    owners=settings.owners(),
    description="The funnel report: one self-contained HTML file (charts embedded, opens offline) beside the "
    "warehouse, `<warehouse folder>/report/<name>_report.html`, rewritten after each publish. Over the latest "
    "months of data (config/report.yaml): the funnel per channel with conversion rates and the counts behind them, "
    "ROI and ROAS per channel, the target plan of the current target period against the actual with pace, and "
    "the bottlenecks highlighted. Japanese by default, English with `language: en`.\n\nPython: `assets/report.py`",
)
def funnel_report(context: dg.AssetExecutionContext, funnel: FunnelResource) -> dg.MaterializeResult:
    try:
        report_config = load_report_config(funnel.config_dir)
    except ConfigError as exc:
        raise dg.Failure(description=str(exc)) from None
    channels = funnel.load_config().channels
    with funnel.connect() as con:
        data = read_report_data(con, report_config.months)
    generated_at = datetime.now(ZoneInfo(funnel.timezone))
    path = settings.report_path(funnel.warehouse_path).resolve()
    write_report(path, render_report(data, channels, report_config.language, generated_at), context.run.run_id)
    context.log.info(f"funnel report {path} ({data.period_label})")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "url": dg.MetadataValue.url(path.as_uri()),
        "size_bytes": path.stat().st_size,
        "period": data.period_label,
        "language": report_config.language,
        "target_periods": ", ".join(p.period.label for p in data.plans) or DASH,
    })
