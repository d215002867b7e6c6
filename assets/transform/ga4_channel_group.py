"""GA4's default channel grouping, as data plus one readable rule list.

Used when a GA4 export (or a lead's utm_source / utm_medium) has a source and a
medium but no default channel group. The rules follow Google's documented
"Default channel group" definitions, evaluated top to bottom; the source
categories (search, social, video, shopping sites) are Google's published list
(`seeds/ga4_source_categories.csv`, about 820 sites) and a few sites it lacks,
which a user extends or overrides with `config/ga4_source_categories.csv`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from schemas.config import load_source_categories

_PAID_MEDIUM = re.compile(r"^(.*cp.*|ppc|retargeting|paid.*)$")
_SHOP_CAMPAIGN = re.compile(r"^(.*(([^a-df-z]|^)shop|shopping).*)$")
_DISPLAY_MEDIA = {"display", "banner", "expandable", "interstitial", "cpm"}
_SOCIAL_MEDIA = {"social", "social-network", "social-media", "sm", "social network", "social media"}
_EMAIL = {"email", "e-mail", "e_mail", "e mail"}


@lru_cache(maxsize=1)
def seed_categories() -> dict[str, str]:
    return load_source_categories(None)


def _category(source: str, cats: dict[str, str]) -> str | None:
    if source in cats:
        return cats[source]
    # "google.co.jp" style hosts and "m." / "www." prefixes resolve to their site.
    host = source.removeprefix("www.").removeprefix("m.")
    if host in cats:
        return cats[host]
    return cats.get(host.split(".")[0]) if "." in host else None


def default_channel_group(source: str | None, medium: str | None, campaign: str | None = None,
                          categories: dict[str, str] | None = None) -> str:
    """GA4's default channel group for one source / medium / campaign (categories: the
    configured source categories, else the shipped seed)."""
    s = (source or "").strip().lower()
    m = (medium or "").strip().lower()
    c = (campaign or "").strip().lower()
    cat = _category(s, categories if categories is not None else seed_categories())
    paid = bool(_PAID_MEDIUM.match(m))
    shop_campaign = bool(_SHOP_CAMPAIGN.match(c))

    if s == "(direct)" and m in {"(not set)", "(none)", ""}:
        return "Direct"
    if "cross-network" in c:
        return "Cross-network"
    if (cat == "SOURCE_CATEGORY_SHOPPING" or shop_campaign) and paid:
        return "Paid Shopping"
    if cat == "SOURCE_CATEGORY_SEARCH" and paid:
        return "Paid Search"
    if cat == "SOURCE_CATEGORY_SOCIAL" and paid:
        return "Paid Social"
    if cat == "SOURCE_CATEGORY_VIDEO" and paid:
        return "Paid Video"
    if m in _DISPLAY_MEDIA:
        return "Display"
    if paid:
        return "Paid Other"
    if cat == "SOURCE_CATEGORY_SHOPPING" or shop_campaign:
        return "Organic Shopping"
    # GA4 has marked AI assistants' sessions with medium ai-assistant since 2026 (reported; Google's
    # rule text is not published yet); a referral from a listed assistant counts too.
    if cat == "SOURCE_CATEGORY_AI_ASSISTANT" or m == "ai-assistant":
        return "AI Assistant"
    if cat == "SOURCE_CATEGORY_SOCIAL" or m in _SOCIAL_MEDIA:
        return "Organic Social"
    if cat == "SOURCE_CATEGORY_VIDEO" or "video" in m:
        return "Organic Video"
    if cat == "SOURCE_CATEGORY_SEARCH" or m == "organic":
        return "Organic Search"
    if m in {"referral", "app", "link"}:
        return "Referral"
    if s in _EMAIL or m in _EMAIL:
        return "Email"
    if m == "affiliate":
        return "Affiliates"
    if m == "audio":
        return "Audio"
    if s == "sms" or m == "sms":
        return "SMS"
    if m.endswith("push") or "mobile" in m or "notification" in m or s == "firebase":
        return "Mobile Push Notifications"
    return "Unassigned"
