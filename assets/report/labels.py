"""The report's words and number formats: Japanese and English labels, channel labels from
config/channels.yaml, and how counts, yen, rates and months are written (– where there is no value).

The Japanese words are those of Japanese B2B marketing: 商談化率, 受注率, 逆算, 進捗, 着地見込み,
機会損失額, CPA（リード獲得単価）, CAC（顧客獲得単価）, LTV（顧客生涯価値）. Money is whole yen
everywhere (rounded half up from the exact DECIMAL): sen mean nothing to a reader of a funnel."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from schemas.config import ChannelsConfig

DASH = "–"


TEXT = {
    "ja": {
        "title": "ファネルレポート",
        "period": "対象期間",
        "months": "か月",
        "as_of": "進捗の基準日",
        "generated": "作成日時",
        "no_data": "データがありません。",
        # the headline: are we on track?
        "headline": "サマリー：目標に届くか",
        "target_period": "目標期間",
        "days": "日",
        "elapsed": "経過率",
        "revenue_vs_target": "売上の実績 / 目標",
        "target": "目標",
        "attainment": "達成率",
        "pace": "進捗ペース",
        "on_track": "計画どおりのペース以上",
        "behind_plan": "計画を下回るペース",
        "forecast": "着地見込み（現ペース）",
        "final": "着地（期間終了）",
        "of_target": "目標比",
        "forecast_note": "着地見込み = 売上実績 ÷ 期間の経過率（{elapsed} / {days} 日）：今のペースが期末まで続いた場合の売上。"
                         "進捗ペース = 売上実績 ÷（目標 × 経過率）、100% で計画どおり。",
        "no_targets_headline": "売上目標が設定されていません（config/targets.yaml）。データの鮮度とボトルネックのみ表示します。",
        "top_bottleneck": "最大のボトルネック",
        "top_bottleneck_text": "{channel}の {transition}：機会損失額 {lost}（{months} のコホート、有意かつ判定可能なもの）",
        "no_top_bottleneck": "なし（{months} のコホートに、有意かつ判定可能なボトルネックはありません）",
        "month_range": "{first}〜{last}",
        "no_bottleneck_data": "なし（ボトルネックのデータがありません）",
        "freshness": "データの鮮度",
        "newest_day": "最新データ日",
        "stale_warning": "データが {day} で止まっています（昨日 {yesterday} より前）。最新のエクスポートを受信フォルダに置き、"
                         "再実行してください。直近の数字は実際より少なく見えます。",
        "fresh_note": "最新のエクスポートは {day} 時点です。",
        "no_load_log": "取り込みの記録がありません。",
        "days_ago": "{n} 日前",
        "today": "今日",
        "yesterday": "昨日",
        "mom": "前月比",
        "mom_short": "前月比",
        "mom_note": "{month}（直近の締まった月）と {previous} の比較、全チャネル合計。",
        "no_mom": "比べられる締まった月がまだありません。",
        "trend_revenue": "売上",
        "trend_leads": "リード数",
        "trend_wins": "受注数",
        "trend_spend": "費用",
        # the funnel
        "funnel": "チャネル別ファネル",
        "funnel_note": "各ステージの件数はその月に起きた件数の合計。移行率は同じ期間の件数の比（後段 ÷ 前段、括弧内が件数）で、"
                       "月をまたぐため 100% を超えることがあります。",
        "counts": "ステージ別件数",
        "rates": "ステージ間の移行率（後段 ÷ 前段）",
        "channel": "チャネル",
        "total": "合計",
        # ROI
        "roi": "チャネル別の費用対効果（ROI・ROAS・CPA・CAC）",
        "roi_note": "ROAS = 売上 ÷ 費用、ROI（投資利益率）= (売上 − 費用) ÷ 費用、CPA（リード獲得単価）= 費用 ÷ リード数、"
                    "CAC（顧客獲得単価）= 費用 ÷ 受注数。費用のないチャネルは – です。グラフの線は ROAS 1.0（損益分岐）。",
        "spend": "費用",
        "break_even": "損益分岐 1.0",
        "no_spend": "費用のデータがありません。",
        # the reverse plan
        "plan": "目標の逆算と進捗",
        "plan_note": "marts.target_plan（config/targets.yaml の売上目標からの逆算表）。売上目標 ÷ 平均受注単価 = 必要受注数、"
                     "必要受注数 ÷ 受注率 = 必要商談数 … と上のステージへ逆算します。進捗ペース = 実績 ÷（必要数 × 期間の経過率）、"
                     "100% で計画どおり。グラフの縦線は経過率（今日までに必要な水準）。",
        "no_targets": "config/targets.yaml に目標がありません。",
        "whole_target": "全体（ステージ別）",
        "by_channel": "チャネル別の売上目標",
        "stage": "ステージ",
        "rate_used": "逆算の前提",
        "required": "必要数",
        "actual": "実績",
        "gap": "目標との差",
        # bottlenecks
        "bottlenecks": "ボトルネック",
        "bottleneck_note": "marts.bottlenecks：各ステージ間の移行率をその月を含む直近6か月の全チャネルの率と比べ、差で失われた売上"
                           "（機会損失額）を推定したもの。差が偶然では説明できず（95%の信頼区間の上限が基準率を下回る）、"
                           "移行に通常かかる日数が経った月のうち、機会損失額の最も大きいものがボトルネック（★）です。"
                           "月はリード（商談→受注は商談）の作成月です。",
        "bottleneck_months": "期間中にボトルネックになった月数（その月の機会損失額の合計）。色付きはチャネルごとに最も多いもの",
        "latest_cohort": "直近のコホート月",
        "latest_note": "実績率（件数）、全チャネルの基準率、機会損失額。★ と色付きがその月のボトルネック。「判定には早い」は"
                       "移行に通常かかる日数がまだ経っていないもの、「有意差なし」は件数が少なく差が偶然の範囲のものです。",
        "too_early": "判定には早い",
        "not_significant": "有意差なし",
        "transition": "ステージ間",
        "actual_rate": "実績率",
        "reference_rate": "基準率",
        "gap_points": "差（pt）",
        "lost_revenue": "機会損失額",
        "flag": "ボトルネック",
        "no_bottlenecks": "ボトルネックのデータがありません。",
        # the other analyses
        "attribution": "アトリビューション（モデル別の売上貢献）",
        "attribution_note": "marts.attributed_revenue：対象期間に受注した商談の売上を、商談化までのタッチポイントに5つのモデルで"
                            "配分したもの。どのモデルも合計は受注売上に一致します。",
        "cohort": "コホート別 ROI・LTV/CAC（リード獲得月ベース）",
        "cohort_note": "marts.cohort_roi：対象期間の各月に獲得したリードについて、その月の費用と、そのリードからこれまでに"
                       "生まれた売上（受注まで時間のかかる BtoB の実態に沿った見方）。CAC（顧客獲得単価）= 費用 ÷ 受注顧客数、"
                       "LTV（顧客生涯価値）は config/targets.yaml の粗利率と顧客の継続期間から。LTV/CAC は 3 以上が目安。",
        "won_customers": "受注顧客数",
        "revenue_so_far": "これまでの売上",
        "paid_back": "投資回収済みの月",
        "velocity": "パイプライン・ベロシティ（直近月）",
        "velocity_note": "marts.pipeline_velocity：進行中の商談数 × 受注率 × 平均受注単価 ÷ 受注までの平均リードタイム"
                         "（1日あたりに見込める売上）。受注率・単価・リードタイムは直近6か月の受注・失注から。",
        "month": "月",
        "open_opportunities": "進行中の商談数",
        "win_rate": "受注率",
        "avg_deal_size": "平均受注単価",
        "cycle_days": "平均リードタイム（日）",
        "velocity_per_day": "ベロシティ（売上/日）",
        # the top of the funnel and the videos
        "top_funnel": "広告の表示からセッションまで（チャネル別）",
        "top_funnel_note": "marts.channel_funnel：広告のエクスポートの表示回数（インプレッション）とクリック数、GA4 のセッション数。"
                           "CTR = クリック ÷ 表示、セッション率 = セッション ÷ クリック（括弧内が件数）。広告を経ずに来たセッションも"
                           "数えるため、セッション率は 100% を超えることがあります。合計は広告のデータがあるチャネルの合計です。",
        "clicks": "クリック",
        "video": "動画別のファネルと ROI（YouTube）",
        "video_note": "marts.video_funnel：YouTube Studio のエクスポートの表示回数・視聴回数・インプレッションのクリック率"
                      "（表示回数で加重）と、その動画を見た人の問い合わせ・商談・受注・売上。問い合わせはリードになる前か MQL に"
                      "なる前に視聴したリード、商談・受注・売上は商談化の前に視聴したリードの商談です。1件の商談はそのリードが"
                      "見たすべての動画に数えるため、動画の売上を足しても受注売上にはなりません。ROI（累計）=（これまでの売上 − "
                      "制作費）÷ 制作費、制作費は config/video_costs.csv から。",
        "video_title": "動画",
        "video_impressions": "表示回数",
        "views": "視聴回数",
        "video_ctr": "クリック率",
        "inquiries": "問い合わせ",
        "production_cost": "制作費",
        "roi_to_date": "ROI（累計）",
        "held_back": "次のファイルは取り込めませんでした。そのソースの数値は前回までに取り込んだデータのままで、"
                     "他のソースは最新です。",
    },
    "en": {
        "title": "Funnel report",
        "period": "Period",
        "months": "months",
        "as_of": "Pace as of",
        "generated": "Generated",
        "no_data": "No data.",
        "headline": "At a glance: are we on track?",
        "target_period": "Target period",
        "days": "days",
        "elapsed": "elapsed",
        "revenue_vs_target": "Revenue: actual / target",
        "target": "Target",
        "attainment": "attained",
        "pace": "Pace",
        "on_track": "on or ahead of plan",
        "behind_plan": "behind plan",
        "forecast": "Forecast at the current pace",
        "final": "Final (period over)",
        "of_target": "of target",
        "forecast_note": "Forecast = revenue to date / elapsed share of the period ({elapsed} of {days} days): the "
                         "revenue at the period's end if the current pace holds. Pace = revenue to date / (target x elapsed "
                         "share); 100% is on track.",
        "no_targets_headline": "No revenue target is set (config/targets.yaml). Data freshness and the bottleneck "
                               "only.",
        "top_bottleneck": "Biggest bottleneck",
        "top_bottleneck_text": "{channel}, {transition}: {lost} of lost revenue (cohorts of {months}; significant "
                               "and mature only)",
        "no_top_bottleneck": "none (no significant, mature bottleneck in the cohorts of {months})",
        "month_range": "{first} to {last}",
        "no_bottleneck_data": "none (no bottleneck data)",
        "freshness": "Data freshness",
        "newest_day": "Newest data day",
        "stale_warning": "The data ends on {day}, before yesterday ({yesterday}). Put the latest exports in the inbox "
                         "and run again: recent figures look lower than they are.",
        "fresh_note": "The newest export is of {day}.",
        "no_load_log": "No load record.",
        "days_ago": "{n} days ago",
        "today": "today",
        "yesterday": "yesterday",
        "mom": "Month over month",
        "mom_short": "MoM",
        "mom_note": "{month} (the latest full month) against {previous}, all channels.",
        "no_mom": "No full month to compare yet.",
        "trend_revenue": "Revenue",
        "trend_leads": "Leads",
        "trend_wins": "Wins",
        "trend_spend": "Spend",
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
        "plan_note": "marts.target_plan (the reverse plan from the revenue targets of config/targets.yaml): revenue / "
                     "average deal size = wins needed, wins / win rate = opportunities needed, and so on up the "
                     "funnel. Pace = actual / (required x elapsed share of the period); 100% is on track. The chart's "
                     "vertical line is the elapsed share (where the actual should be by now).",
        "no_targets": "No targets in config/targets.yaml.",
        "whole_target": "Whole target by stage",
        "by_channel": "Revenue target by channel",
        "stage": "Stage",
        "rate_used": "Assumption",
        "required": "Required",
        "actual": "Actual",
        "gap": "Gap",
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
        "attribution": "Attribution (revenue credit by model)",
        "attribution_note": "marts.attributed_revenue: the revenue of the deals won in the period, credited to the "
                            "touches before each opportunity under five models; every model adds up to the won "
                            "revenue.",
        "cohort": "Cohort ROI and LTV:CAC (by lead month)",
        "cohort_note": "marts.cohort_roi: for the leads created in each month of the period, that month's spend "
                       "against the revenue those leads have produced so far (the real B2B cycle). CAC = spend / won "
                       "customers; LTV from the gross margin and customer lifetime of config/targets.yaml. An LTV:CAC "
                       "of 3 or more is the usual yardstick.",
        "won_customers": "Won customers",
        "revenue_so_far": "Revenue so far",
        "paid_back": "Months paid back",
        "velocity": "Pipeline velocity (latest month)",
        "velocity_note": "marts.pipeline_velocity: open opportunities x win rate x average deal size / average sales "
                         "cycle (revenue to expect per day). Win rate, deal size and cycle from the deals closed in "
                         "the trailing 6 months.",
        "month": "Month",
        "open_opportunities": "Open opportunities",
        "win_rate": "Win rate",
        "avg_deal_size": "Avg deal size",
        "cycle_days": "Avg sales cycle (days)",
        "velocity_per_day": "Velocity (revenue/day)",
        "top_funnel": "From ad impressions to sessions (per channel)",
        "top_funnel_note": "marts.channel_funnel: the impressions and clicks of the ad platforms' exports and GA4's "
                           "sessions. CTR = clicks / impressions, session rate = sessions / clicks (counts in brackets); "
                           "the session rate can exceed 100% because sessions that came without an ad click count too. "
                           "The total is that of the channels with ad data.",
        "clicks": "Clicks",
        "video": "Funnel and ROI per video (YouTube)",
        "video_note": "marts.video_funnel: YouTube Studio's impressions, views and impressions click-through rate "
                      "(weighted by impressions), then the inquiries, opportunities, wins and revenue of the people who "
                      "watched the video: an inquiry watched it before becoming a lead or an MQL, an opportunity's lead "
                      "watched it before the deal. A deal counts for every video its lead watched, so the videos' revenue "
                      "does not add up to the won revenue. ROI to date = (revenue so far - production cost) / production "
                      "cost, the cost from config/video_costs.csv.",
        "video_title": "Video",
        "video_impressions": "Impressions",
        "views": "Views",
        "video_ctr": "CTR",
        "inquiries": "Inquiries",
        "production_cost": "Production cost",
        "roi_to_date": "ROI to date",
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
    "ja": {"All": "全体", "Unattributed": "流入元不明", "Unallocated": "未割当"},
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

# The names of the rates: the funnel's (channel_funnel), the target plan's (rate_name of target_plan)
# and the bottleneck transitions' (the rate of each).
RATE_NAMES = {
    "ja": {"ctr": "CTR", "click_to_session_rate": "セッション率", "session_to_lead_rate": "CV率", "lead_to_mql_rate": "MQL化率", "mql_to_sql_rate": "SQL化率",
           "sql_to_opportunity_rate": "商談化率", "opportunity_to_win_rate": "受注率", "win_rate": "受注率",
           "avg_deal_size": "平均受注単価"},
    "en": {"ctr": "CTR", "click_to_session_rate": "Session rate", "session_to_lead_rate": "Lead rate", "lead_to_mql_rate": "MQL rate",
           "mql_to_sql_rate": "SQL rate", "sql_to_opportunity_rate": "Opportunity rate",
           "opportunity_to_win_rate": "Win rate", "win_rate": "Win rate", "avg_deal_size": "Avg deal size"},
}
TRANSITION_RATES = {"lead_to_mql": "lead_to_mql_rate", "mql_to_sql": "mql_to_sql_rate",
                    "sql_to_opportunity": "sql_to_opportunity_rate", "opportunity_to_win": "opportunity_to_win_rate"}

# The inbox sources of ops.load_log (schemas.SOURCES), in the order the freshness list shows them.
SOURCE_LABELS = {
    "ja": {"ga4_sessions": "GA4 セッション", "leads": "リード（MA）", "deals": "商談（SFA）", "spend": "費用",
           "touchpoints": "タッチポイント", "video": "YouTube（動画）"},
    "en": {"ga4_sessions": "GA4 sessions", "leads": "Leads", "deals": "Deals", "spend": "Spend",
           "touchpoints": "Touchpoints", "video": "YouTube videos"},
}

# The attribution models of marts.attributed_revenue, in the order the report shows them.
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped")
MODEL_LABELS = {
    "ja": {"first_touch": "ファーストタッチ", "last_touch": "ラストタッチ", "linear": "線形", "u_shaped": "U字型",
           "w_shaped": "W字型"},
    "en": {"first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear", "u_shaped": "U-shaped",
           "w_shaped": "W-shaped"},
}


class Labels:
    """Every text of the report in one language."""

    def __init__(self, language: str, channels: ChannelsConfig):
        self.language = language
        self.text = TEXT[language]
        self.stages = STAGE_LABELS[language]
        self.rate_names = RATE_NAMES[language]
        self.models = MODEL_LABELS[language]
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

    def transition_rate(self, name: str) -> str:
        """The name of a transition's rate: 商談化率 for sql_to_opportunity."""
        return self.rate_names[TRANSITION_RATES[name]]

    def rate(self, later: str, earlier: str) -> str:
        return f"{self.stages[earlier]} → {self.stages[later]}"

    def source(self, name: str) -> str:
        return SOURCE_LABELS[self.language].get(name, name)

    def source_sort_key(self, name: str) -> tuple:
        order = list(SOURCE_LABELS["en"])
        return (order.index(name) if name in order else len(order), name)


def fmt_count(value: int | Decimal | None) -> str:
    """12345 -> '12,345'; a whole DECIMAL prints without decimals; None -> '–'."""
    if value is None:
        return DASH
    if isinstance(value, Decimal) and value != value.to_integral_value():
        return f"{value:,}"
    return f"{int(value):,}"


def round_yen(value: Decimal | int) -> Decimal:
    """Whole yen from the exact value, half up (away from zero, as money_per in SQL): 1,234.50 -> 1,235."""
    return Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP)


def fmt_yen(value: Decimal | int | None) -> str:
    """Whole yen with thousands separators: ¥1,500,000; ¥1,234.50 -> ¥1,235 (half up, never sen);
    -¥20,000 below zero; None -> '–'."""
    if value is None:
        return DASH
    value = round_yen(value)
    sign = "-" if value < 0 else ""
    return f"{sign}¥{abs(value):,.0f}"


def fmt_signed_yen(value: Decimal | int | None) -> str:
    """A change in yen: +¥500,000, -¥1,012,346, ±¥0; None -> '–'."""
    if value is None:
        return DASH
    value = round_yen(value)
    return ("±" if value == 0 else "+" if value > 0 else "") + fmt_yen(value)


def fmt_signed_count(value: int | None) -> str:
    """A change in a count: +5, -24, ±0; None -> '–'."""
    if value is None:
        return DASH
    return "±0" if value == 0 else f"{value:+,}"


def fmt_signed_percent(value: float | None, decimals: int = 1) -> str:
    """A relative change: +33.3%, -66.7%, ±0.0%; None (nothing to compare with) -> '–'."""
    if value is None:
        return DASH
    text = f"{abs(value) * 100:,.{decimals}f}%"
    if text.strip("0.,%") == "":  # rounds to zero
        return f"±{text}"
    return ("+" if value > 0 else "-") + text


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


def fmt_days(value: float | None) -> str:
    """Days with one decimal: 45.3; None -> '–'."""
    return DASH if value is None else f"{value:,.1f}"
