"""The report's words and number formats: Japanese and English labels, channel labels from
config/channels.yaml, and how counts, yen, rates and months are written (– where there is no value)."""

from datetime import date
from decimal import Decimal

from schemas.config import ChannelsConfig

DASH = "–"


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
        "held_back": "次のファイルは取り込めませんでした。そのソースの数値は前回までに取り込んだデータのままで、"
                     "他のソースは最新です。",
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
        "held_back": "These files were refused: their sources' figures are as of the data loaded before, "
                     "the other sources are up to date.",
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
