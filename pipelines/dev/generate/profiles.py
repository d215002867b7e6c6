"""The sample company's marketing channels and the facts more than one source shares."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelProfile:
    name: str
    session_to_lead: float  # web channels only
    lead_to_mql: float
    mql_to_sql: float
    sql_to_deal: float
    win_rate: float
    deal_median_jpy: float
    cycle_median_days: float
    # raw lead_source spellings and their weights
    lead_sources: tuple[tuple[str, float], ...]


CHANNELS: tuple[ChannelProfile, ...] = (
    ChannelProfile("Organic Search", 0.014, 0.40, 0.32, 0.50, 0.25, 1_500_000, 70,
                   (("Organic Search", 0.45), ("自然検索", 0.35), ("SEO", 0.20))),
    ChannelProfile("Paid Search", 0.024, 0.40, 0.30, 0.50, 0.22, 1_300_000, 60,
                   (("Paid Search", 0.40), ("リスティング広告", 0.35), ("Google Ads", 0.25))),
    ChannelProfile("Display", 0.011, 0.30, 0.22, 0.45, 0.18, 1_000_000, 60,
                   (("Display", 0.55), ("ディスプレイ広告", 0.45))),
    ChannelProfile("Paid Social", 0.013, 0.30, 0.22, 0.45, 0.15, 900_000, 55,
                   (("Paid Social", 0.40), ("Facebook Ads", 0.35), ("LinkedIn広告", 0.25))),
    ChannelProfile("Organic Social", 0.012, 0.32, 0.25, 0.50, 0.20, 1_000_000, 60,
                   (("Social", 0.50), ("SNS", 0.50))),
    ChannelProfile("Email", 0.026, 0.46, 0.30, 0.50, 0.25, 1_400_000, 65,
                   (("Email", 0.50), ("メルマガ", 0.50))),
    ChannelProfile("Referral", 0.022, 0.42, 0.34, 0.50, 0.27, 1_600_000, 70,
                   (("Referral", 0.55), ("比較サイト", 0.45))),
    ChannelProfile("Direct", 0.020, 0.45, 0.36, 0.50, 0.28, 1_800_000, 65,
                   (("Direct", 0.60), ("直接", 0.40))),
    ChannelProfile("Webinar", 0.0, 0.46, 0.30, 0.50, 0.24, 1_800_000, 80,
                   (("Webinar", 0.40), ("ウェビナー", 0.35), ("セミナー", 0.25))),
    ChannelProfile("Event", 0.0, 0.40, 0.34, 0.55, 0.31, 2_500_000, 95,
                   (("展示会", 0.50), ("Event", 0.25), ("Trade Show", 0.25))),
    ChannelProfile("Partner", 0.0, 0.58, 0.45, 0.60, 0.38, 3_000_000, 85,
                   (("紹介", 0.40), ("Partner", 0.30), ("パートナー", 0.30))),
    ChannelProfile("Outbound", 0.0, 0.30, 0.38, 0.50, 0.22, 2_200_000, 90,
                   (("テレアポ", 0.35), ("Outbound", 0.30), ("インサイドセールス", 0.35))),
)
CH = {p.name: i for i, p in enumerate(CHANNELS)}
# Deals with no source at all use this generic profile (index len(CHANNELS)).
UNATTRIBUTED = len(CHANNELS)
GENERIC = dict(win_rate=0.22, deal_median_jpy=1_500_000, cycle_median_days=70)

OWNERS = ("営業 太郎", "営業 花子", "山田 一郎", "佐藤 次郎", "鈴木 美咲", "高橋 健太", "田中 さくら", "伊藤 翔")
EVENT_MONTHS = (2, 6, 10)  # calendar months with a large trade show (its leads and its spend)
