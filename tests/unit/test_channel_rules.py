"""Which channel a record belongs to (CONTRACT sections 4-5): GA4's default channel
grouping for source / medium / campaign, channels.yaml matching of raw lead-source
values (case- and width-insensitive, Japanese synonyms), and the lead / session /
value rules of staging."""

from __future__ import annotations

from pathlib import Path

import pytest

from assets.transform.ga4_channel_group import default_channel_group
from assets.transform.lookups import lead_channel, session_channel, value_channel
from schemas.config import load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def cfg():
    return load_config(REPO / "config")


# ---------------------------------------------------------------- GA4 default channel group
# Google's documented rules, evaluated top to bottom; the first that matches wins.

GA4_CASES = [
    # source, medium, campaign, expected group
    ("(direct)", "(none)", None, "Direct"),
    ("(direct)", "(not set)", None, "Direct"),
    ("google", "cpc", "JP_cross-network_pmax", "Cross-network"),  # campaign contains "cross-network"
    ("amazon", "cpc", None, "Paid Shopping"),
    ("example.com", "cpc", "summer-shop", "Paid Shopping"),  # campaign matches the shop regex, paid medium
    ("google", "cpc", None, "Paid Search"),
    ("Google", "CPC", None, "Paid Search"),  # case does not matter
    ("yahoo.co.jp", "cpc", None, "Paid Search"),
    ("bing", "paid_search", None, "Paid Search"),  # medium paid.*
    ("facebook", "cpc", None, "Paid Social"),
    ("linkedin", "ppc", None, "Paid Social"),
    ("youtube", "cpc", None, "Paid Video"),
    ("criteo", "display", None, "Display"),
    ("facebook", "display", None, "Display"),  # display medium beats social source without paid medium
    ("anything", "cpm", None, "Display"),
    ("anything", "banner", None, "Display"),
    ("anything", "cpc", None, "Paid Other"),
    ("anything", "retargeting", None, "Paid Other"),
    ("workshop-site", "cpc", "workshop", "Paid Other"),  # "workshop" is not "shop" ([^a-df-z] before shop)
    ("amazon", "referral", None, "Organic Shopping"),
    ("facebook", "referral", None, "Organic Social"),
    ("l.facebook.com", "referral", None, "Organic Social"),
    ("t.co", "referral", None, "Organic Social"),
    ("anything", "social", None, "Organic Social"),
    ("youtube.com", "referral", None, "Organic Video"),
    ("anything", "video", None, "Organic Video"),
    ("google", "organic", None, "Organic Search"),
    ("google.co.jp", "referral", None, "Organic Search"),
    ("www.google.co.jp", "referral", None, "Organic Search"),
    ("anything", "organic", None, "Organic Search"),
    ("example.com", "referral", None, "Referral"),
    ("example.com", "link", None, "Referral"),
    ("newsletter", "email", None, "Email"),
    ("email", "(none)", None, "Email"),
    ("anything", "e-mail", None, "Email"),
    ("x", "affiliate", None, "Affiliates"),
    ("x", "audio", None, "Audio"),
    ("sms", "x", None, "SMS"),
    ("x", "sms", None, "SMS"),
    ("x", "web-push", None, "Mobile Push Notifications"),
    ("firebase", "x", None, "Mobile Push Notifications"),
    ("", "", None, "Unassigned"),
    (None, None, None, "Unassigned"),
    ("example.com", "qr", None, "Unassigned"),
    ("chatgpt.com", "referral", None, "AI Assistant"),
    ("perplexity.ai", "referral", None, "AI Assistant"),
]


@pytest.mark.parametrize("source, medium, campaign, expected", GA4_CASES,
                         ids=[f"{s}/{m}/{c}->{e}" for s, m, c, e in GA4_CASES])
def test_default_channel_group_follows_google_rules(source, medium, campaign, expected):
    assert default_channel_group(source, medium, campaign) == expected


# ---------------------------------------------------------------- channels.yaml value matching

VALUE_CASES = [
    ("ＷＥＢＩＮＡＲ ", "Webinar"),  # full width, upper case, trailing blank
    ("Webinar", "Webinar"),
    ("ウェビナー", "Webinar"),
    ("セミナー", "Webinar"),
    ("展示会", "Event"),
    ("紹介", "Partner"),
    ("リスティング広告", "Paid Search"),
    ("自然検索", "Organic Search"),
    ("テレアポ", "Outbound"),
    ("google / cpc", "Paid Search"),
    ("Google Ads", "Paid Search"),
    ("Facebook / cpc", "Paid Social"),
    ("newsletter / email", "Email"),
    ("メルマガ", "Email"),
    ("2026年6月 オンライン展示会", "Event"),  # pattern 展示会
]


@pytest.mark.parametrize("raw, expected", VALUE_CASES, ids=[v for v, _ in VALUE_CASES])
def test_match_value_maps_raw_lead_sources_to_channels(cfg, raw, expected):
    match = cfg.channels.match_value(raw)
    assert match is not None
    assert match[0] == expected


@pytest.mark.parametrize("raw", ["社長の知り合い", "", "   "])
def test_match_value_returns_none_for_values_no_rule_maps(cfg, raw):
    assert cfg.channels.match_value(raw) is None


def test_match_ga4_group_maps_each_ga4_group_to_a_channel(cfg):
    m = cfg.channels.match_ga4_group
    assert m("Paid Search") == "Paid Search"
    assert m("paid search") == "Paid Search"
    assert m("Organic Video") == "Organic Social"
    assert m("Cross-network") == "Display"
    assert m("AI Assistant") == "Referral"
    assert m("SMS") == "Email"
    assert m("Unassigned") == "Unassigned"
    assert m("Something new") is None


# ---------------------------------------------------------------- staging: lead, session, value


def test_lead_source_wins_over_utm(cfg):
    channel, rule, mapped = lead_channel(cfg, "展示会", "google", "cpc", None)
    assert (channel, mapped) == ("Event", True)
    assert rule.startswith("lead_source")


@pytest.mark.parametrize("empty", ["", None, "  ", "　"])
def test_empty_lead_source_falls_back_to_utm_read_as_ga4(cfg, empty):
    channel, rule, mapped = lead_channel(cfg, empty, "google", "cpc", None)
    assert (channel, mapped) == ("Paid Search", True)
    assert rule == "utm GA4 group Paid Search"


def test_utm_from_an_ai_assistant_lands_in_referral(cfg):
    assert lead_channel(cfg, None, "chatgpt.com", "referral", None) == (
        "Referral", "utm GA4 group AI Assistant", True)


def test_lead_with_no_source_at_all_is_unassigned(cfg):
    assert lead_channel(cfg, None, None, None, None) == ("Unassigned", "no source", True)
    assert lead_channel(cfg, "", "", "", "") == ("Unassigned", "no source", True)


def test_unmapped_lead_source_lands_in_other_and_is_flagged_unmapped(cfg):
    channel, rule, mapped = lead_channel(cfg, "社長の知り合い", "google", "cpc", None)
    assert (channel, mapped) == ("Other", False)
    assert rule == "lead_source unmapped"


def test_session_channel_uses_the_exported_group_when_given(cfg):
    assert session_channel(cfg, "google", "cpc", None, "Organic Video") == ("Organic Video", "Organic Social", True)


def test_session_channel_derives_the_group_when_not_given(cfg):
    assert session_channel(cfg, "google", "cpc", None, None) == ("Paid Search", "Paid Search", True)
    assert session_channel(cfg, "(direct)", "(none)", None, "") == ("Direct", "Direct", True)


def test_session_channel_with_an_unknown_group_falls_back_to_other(cfg):
    assert session_channel(cfg, "x", "y", None, "Brand New Group") == ("Brand New Group", "Other", False)


def test_value_channel_maps_spend_and_deal_source_values(cfg):
    assert value_channel(cfg, "展示会")[::2] == ("Event", True)
    assert value_channel(cfg, "Google Ads")[::2] == ("Paid Search", True)
    assert value_channel(cfg, "社長の知り合い") == ("Other", "unmapped", False)
    assert value_channel(cfg, None) == ("Other", "unmapped", False)
