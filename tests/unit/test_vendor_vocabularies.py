"""Every standard value of the tools whose exports load as they are maps to a channel with the shipped
config/channels.yaml (CONTRACT section 4; the choices are explained at the top of the file). Only a
value the vendor itself calls "other" lands in Other. One list per tool, every value in it."""

from __future__ import annotations

import pytest

from assets.transform.lookups import lead_channel, value_channel
from schemas.config import load_config
from tests.conftest import CONFIG_DIR

# Salesforce Lead Source picklist (Lead, Contact, Opportunity): a new org's defaults, an older org's
# defaults, and the Japanese labels (those of a Japanese org's translation, and the usual variants).
SALESFORCE = {
    "Web": "Direct", "Phone Inquiry": "Direct", "Partner Referral": "Partner", "Purchased List": "Outbound",
    "Other": "Other",
    "Advertisement": "Display", "Employee Referral": "Partner", "External Referral": "Partner",
    "Partner": "Partner", "Public Relations": "Referral", "Seminar - Internal": "Webinar",
    "Seminar - Partner": "Webinar", "Trade Show": "Event", "Word of mouth": "Partner",
    "ウェブ": "Direct", "電話問い合わせ": "Direct", "パートナー紹介": "Partner", "購入リスト": "Outbound",
    "その他": "Other", "広告": "Display", "従業員紹介": "Partner", "社員紹介": "Partner", "外部紹介": "Partner",
    "パートナー": "Partner", "広報": "Referral", "内部セミナー": "Webinar", "セミナー - 社内": "Webinar",
    "パートナーセミナー": "Webinar", "セミナー - パートナー": "Webinar", "展示会": "Event", "口コミ": "Partner",
    "Website": "Direct", "Cold Call": "Outbound", "Inbound Call": "Direct", "Marketing Event": "Event",
}
# Account Engagement (Pardot) writes its source into the Salesforce field: vendor and type.
ACCOUNT_ENGAGEMENT = {
    "Google Paid Search": "Paid Search", "Google Natural Search": "Organic Search",
    "Yahoo Natural Search": "Organic Search", "Bing Natural Search": "Organic Search", "Google Ad": "Display",
}
# HubSpot original traffic source: today's labels, the older ones, the internal names and the Japanese UI's.
HUBSPOT = {
    "Organic search": "Organic Search", "Paid search": "Paid Search", "Email marketing": "Email",
    "Organic social": "Organic Social", "Social Media": "Organic Social", "Referrals": "Referral",
    "Other campaigns": "Other", "Direct traffic": "Direct", "Offline sources": "Outbound",
    "Paid social": "Paid Social", "AI referrals": "Referral",
    "ORGANIC_SEARCH": "Organic Search", "PAID_SEARCH": "Paid Search", "EMAIL_MARKETING": "Email",
    "SOCIAL_MEDIA": "Organic Social", "REFERRALS": "Referral", "OTHER_CAMPAIGNS": "Other",
    "DIRECT_TRAFFIC": "Direct", "OFFLINE": "Outbound", "PAID_SOCIAL": "Paid Social", "AI_REFERRALS": "Referral",
    "オーガニック検索": "Organic Search", "検索連動型広告": "Paid Search", "検索連動広告": "Paid Search",
    "ペイドサーチ": "Paid Search", "Eメールマーケティング": "Email", "E メールマーケティング": "Email",
    "オーガニックソーシャル": "Organic Social", "ソーシャルメディア": "Organic Social", "リファーラル": "Referral",
    "参照元": "Referral", "他のキャンペーン": "Other", "その他のキャンペーン": "Other",
    "直接トラフィック": "Direct", "ダイレクトトラフィック": "Direct", "オフラインソース": "Outbound",
    "ソーシャル広告": "Paid Social",
}
# GA4 default channel groups written as a lead source, in English and as Google's Japanese help names them.
GA4_GROUPS = {
    "Direct": "Direct", "Organic Search": "Organic Search", "Paid Search": "Paid Search", "Display": "Display",
    "Paid Social": "Paid Social", "Organic Social": "Organic Social", "Email": "Email", "Referral": "Referral",
    "Affiliates": "Referral", "Paid Video": "Display", "Organic Video": "Organic Social",
    "Paid Shopping": "Display", "Organic Shopping": "Referral", "Audio": "Display", "SMS": "Email",
    "Mobile Push Notifications": "Email", "Cross-network": "Display", "Paid Other": "Display",
    "AI Assistant": "Referral", "Unassigned": "Unassigned",
    "ノーリファラー": "Direct", "オーガニック検索": "Organic Search", "有料検索": "Paid Search",
    "ディスプレイ": "Display", "有料ソーシャル": "Paid Social", "オーガニック ソーシャル": "Organic Social",
    "メール": "Email", "参照": "Referral", "アフィリエイト": "Referral", "有料動画": "Display",
    "オーガニック動画": "Organic Social", "有料ショッピング": "Display", "オーガニック ショッピング": "Referral",
    "オーディオ": "Display", "モバイルのプッシュ通知": "Email", "クロスネットワーク": "Display",
    "その他の有料": "Display", "未割り当て": "Unassigned",
}
# A spend row's channel: the ad platform, or one of its campaign types or placements.
AD_PLATFORMS = {
    "Google Ads": "Paid Search", "Google 広告": "Paid Search", "Search": "Paid Search", "検索": "Paid Search",
    "Display": "Display", "ディスプレイ": "Display", "Video": "Display", "動画": "Display", "Shopping": "Display",
    "ショッピング": "Display", "Performance Max": "Display", "P-MAX": "Display", "Demand Gen": "Display",
    "デマンド ジェネレーション": "Display", "Discovery": "Display", "ファインド": "Display", "App": "Display",
    "アプリ": "Display", "Smart": "Paid Search", "Cross-network": "Display",
    "Yahoo!広告": "Paid Search", "Yahoo!広告 検索広告": "Paid Search", "検索広告": "Paid Search",
    "スポンサードサーチ": "Paid Search", "YDA": "Display", "YDN": "Display", "ディスプレイ広告（運用型）": "Display",
    "ディスプレイ広告（予約型）": "Display",
    "Microsoft Advertising": "Paid Search", "Microsoft Ads": "Paid Search", "Bing Ads": "Paid Search",
    "Audience": "Display", "DynamicSearchAds": "Paid Search", "PerformanceMax": "Display",
    "Meta Ads": "Paid Social", "Meta": "Paid Social", "Facebook": "Paid Social", "Instagram": "Paid Social",
    "Messenger": "Paid Social", "Audience Network": "Paid Social", "Threads": "Paid Social",
    "WhatsApp": "Paid Social", "LinkedIn Ads": "Paid Social", "LinkedIn広告": "Paid Social",
    "LinkedIn": "Paid Social", "X Ads": "Paid Social", "X広告": "Paid Social", "Twitter広告": "Paid Social",
    "TikTok Ads": "Paid Social", "TikTok広告": "Paid Social", "LINE広告": "Paid Social", "LINE Ads": "Paid Social",
    "YouTube広告": "Display",
}


@pytest.fixture(scope="module")
def cfg():
    return load_config(CONFIG_DIR)


@pytest.mark.parametrize("tool, values", [("Salesforce", SALESFORCE), ("Account Engagement", ACCOUNT_ENGAGEMENT),
                                          ("HubSpot", HUBSPOT), ("GA4 channel groups", GA4_GROUPS)])
def test_every_standard_lead_source_value_of_a_tool_maps_to_its_channel(cfg, tool, values):
    got = {value: lead_channel(cfg, value, None, None, None) for value in values}
    assert {v: g[0] for v, g in got.items()} == values
    assert all(mapped for _, _, mapped in got.values()), [v for v, g in got.items() if not g[2]]
    # a deal's own source reads the same way
    assert {v: value_channel(cfg, v)[0] for v in values} == values


def test_every_ad_platform_value_on_a_spend_row_maps_to_its_channel(cfg):
    got = {value: value_channel(cfg, value, spend=True) for value in AD_PLATFORMS}
    assert {v: g[0] for v, g in got.items()} == AD_PLATFORMS
    assert all(mapped for _, _, mapped in got.values())


def test_a_platform_name_is_paid_on_a_spend_row_but_not_as_a_lead_source(cfg):
    assert value_channel(cfg, "Facebook", spend=True)[0] == "Paid Social"
    assert lead_channel(cfg, "Facebook", None, None, None)[0] == "Organic Social"
    assert value_channel(cfg, "Search", spend=True)[0] == "Paid Search"
    assert lead_channel(cfg, "Search", None, None, None)[0] == "Organic Search"


def test_only_values_the_vendors_call_other_land_in_other(cfg):
    every = {**SALESFORCE, **ACCOUNT_ENGAGEMENT, **HUBSPOT, **GA4_GROUPS}
    assert sorted(v for v, channel in every.items() if channel == "Other") == [
        "OTHER_CAMPAIGNS", "Other", "Other campaigns", "その他", "その他のキャンペーン", "他のキャンペーン"]
