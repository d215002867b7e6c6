"""Deterministic sample exports in the `native` profile (CONTRACT section 2).

`generate_sample_exports` writes a realistic, self-consistent set of B2B
marketing and sales exports: daily GA4 traffic, successive full snapshots of
the MA lead list and of the CRM deals, and ad / offline spend. Everything is
drawn from one `numpy.random.default_rng(seed)` in a fixed order and written
with fixed formatting, so the files are a pure function of the arguments
(byte-identical on every call). Volumes scale linearly with `scale` and all
per-record work is vectorised, so large benchmark inputs stay quick.

How the data hangs together:
  - GA4 rows: day x (source, medium, campaign, landing page), Poisson counts with
    weekday/holiday seasonality and a mild growth trend.
  - Web leads are drawn from those sessions (binomial per GA4 row, 1-3% per
    channel); offline channels (Webinar, Event, Partner, Outbound) have leads
    but no sessions.
  - Each lead has one full life line (MQL, SQL, disqualification, deals, win);
    a snapshot shows only what had happened by its date.
  - Ad spend follows the paid sessions (clicks, impressions, CPC per platform);
    offline spend is monthly.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from assets.ingest.csv_tables import FORMULA_PREFIXES

__all__ = ["generate_sample_exports"]

JST = timezone(timedelta(hours=9))
DAY = 86_400
CHUNK_ROWS = 200_000  # rows per to_csv call for the big snapshot files
NEVER = np.iinfo(np.int64).max  # "event not reached" in epoch seconds

SOURCES = ("ga4_sessions", "leads", "deals", "spend", "touchpoints")

GA4_COLUMNS = [
    "date", "session_source", "session_medium", "session_campaign",
    "session_default_channel_group", "landing_page", "sessions",
    "engaged_sessions", "key_events", "total_users", "new_users",
]
LEAD_COLUMNS = [
    "lead_id", "created_at", "lead_source", "lead_source_detail", "campaign",
    "utm_source", "utm_medium", "utm_campaign", "email", "company", "job_title",
    "lifecycle_stage", "lead_score", "mql_at", "sql_at", "disqualified_at",
    "owner", "updated_at",
]
DEAL_COLUMNS = [
    "deal_id", "created_at", "stage", "lead_id", "deal_source", "amount",
    "currency", "close_date", "company", "owner", "pipeline", "updated_at",
]
SPEND_COLUMNS = ["date", "channel", "campaign", "cost", "impressions", "clicks", "currency"]
TOUCH_COLUMNS = ["lead_id", "touched_at", "touch_type", "source", "medium", "campaign", "content_id",
                 "duration_seconds"]
# The touch a lead is created by, per channel (else a form submission).
CREATION_TOUCH = {"Webinar": "webinar_registration", "Event": "event_visit", "Partner": "referral",
                  "Outbound": "sales_call"}
# Later touches: (type, source, medium, content ids); empty source and medium = the lead's own channel.
LATER_TOUCHES = (
    ("email_click", "newsletter", "email", ("nl_product_update", "nl_case_study", "nl_event_invite")),
    ("webinar_attendance", "webinar", "", ("webinar_dx_basics", "webinar_cost_cut", "webinar_case_study")),
    ("video_view", "", "", ("video_product_demo", "video_customer_story", "video_onboarding")),
    ("whitepaper_download", "google", "organic", ("wp_dx_guide", "wp_roi_checklist")),
)


# --------------------------------------------------------------------------
# Channel profiles
# --------------------------------------------------------------------------

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
_GENERIC = dict(win_rate=0.22, deal_median_jpy=1_500_000, cycle_median_days=70)

# Per-source spelling overrides (the platform shows through in the spelling).
SOURCE_SPELLINGS = {
    ("Paid Search", "yahoo"): (("Paid Search", 0.5), ("リスティング広告", 0.5)),
    ("Paid Social", "facebook"): (("Paid Social", 0.45), ("Facebook Ads", 0.55)),
    ("Paid Social", "linkedin"): (("Paid Social", 0.45), ("LinkedIn広告", 0.55)),
}
UNMAPPED_SOURCES = ("社長の知り合い", "DM (postal)", "Misc")
# Values that the channel patterns catch even with stray spaces around them.
PAD_SAFE = {"Webinar", "ウェビナー", "セミナー", "展示会", "Trade Show", "紹介", "Partner",
            "パートナー", "テレアポ", "Outbound", "インサイドセールス", "リスティング広告",
            "ディスプレイ広告"}

# --------------------------------------------------------------------------
# GA4 traffic
# --------------------------------------------------------------------------

# Per default channel group: engagement rate, share of new users.
GA4_GROUP_RATES = {
    "Organic Search": (0.62, 0.75), "Paid Search": (0.55, 0.85), "Display": (0.30, 0.72),
    "Paid Social": (0.35, 0.85), "Organic Social": (0.50, 0.70), "Email": (0.66, 0.15),
    "Referral": (0.60, 0.70), "Direct": (0.60, 0.40), "Unassigned": (0.40, 0.60),
}

# (source, medium, campaign, default channel group, landing pages with weekday
#  sessions per day at the start, active from this fraction of the range)
GA4_COMBOS: tuple[tuple[str, str, str, str, tuple[tuple[str, float], ...], float], ...] = (
    ("google", "organic", "(organic)", "Organic Search",
     (("/", 48), ("/product", 22), ("/pricing", 9), ("/blog", 70), ("/whitepaper/dx", 11),
      ("/case-studies", 9), ("/webinar", 5), ("/contact", 4)), 0.0),
    ("yahoo", "organic", "(organic)", "Organic Search",
     (("/", 13), ("/product", 6), ("/pricing", 3), ("/blog", 16)), 0.0),
    ("bing", "organic", "(organic)", "Organic Search", (("/", 4), ("/blog", 6)), 0.0),
    ("google", "cpc", "gs_brand", "Paid Search", (("/", 14), ("/pricing", 5)), 0.0),
    ("google", "cpc", "gs_generic_dx", "Paid Search",
     (("/product", 22), ("/whitepaper/dx", 14)), 0.0),
    ("google", "cpc", "gs_competitor", "Paid Search", (("/product", 9),), 0.5),
    ("yahoo", "cpc", "ys_generic_dx", "Paid Search", (("/product", 12), ("/whitepaper/dx", 6)), 0.0),
    ("google", "display", "gdn_retargeting", "Display", (("/whitepaper/dx", 20), ("/", 9)), 0.0),
    ("yahoo", "display", "ydn_retargeting", "Display", (("/whitepaper/dx", 11),), 0.0),
    ("facebook", "paid_social", "fb_leadad_whitepaper", "Paid Social", (("/whitepaper/dx", 22),), 0.0),
    ("facebook", "cpc", "fb_webinar_promo", "Paid Social", (("/webinar", 11),), 0.25),
    ("linkedin", "cpc", "li_abm_manufacturing", "Paid Social",
     (("/product", 7), ("/whitepaper/dx", 7)), 0.4),
    ("t.co", "referral", "(referral)", "Organic Social", (("/blog", 8), ("/", 3)), 0.0),
    ("twitter", "social", "company_post", "Organic Social", (("/blog", 4), ("/webinar", 2)), 0.0),
    ("linkedin", "social", "company_page", "Organic Social", (("/blog", 6), ("/", 3)), 0.0),
    ("facebook.com", "referral", "(referral)", "Organic Social", (("/blog", 3),), 0.0),
    ("newsletter", "email", "newsletter_{ym}", "Email",
     (("/", 8), ("/webinar", 13), ("/whitepaper/dx", 8), ("/blog", 10)), 0.0),
    ("some-site.example", "referral", "(referral)", "Referral", (("/product", 5), ("/pricing", 3)), 0.0),
    ("compare-site.example", "referral", "(referral)", "Referral",
     (("/product", 6), ("/case-studies", 3)), 0.0),
    ("webinar-platform.example", "referral", "(referral)", "Referral", (("/webinar", 5),), 0.0),
    ("(direct)", "(none)", "(direct)", "Direct",
     (("/", 32), ("/product", 11), ("/pricing", 9), ("/webinar", 5), ("/contact", 5),
      ("/case-studies", 3), ("/blog", 7)), 0.0),
    ("(not set)", "(not set)", "(not set)", "Unassigned", (("/", 2),), 0.0),
)
# Media whose sessions carry utm parameters into the lead record.
UTM_MEDIA = {"cpc", "display", "paid_social", "email", "social"}

LANDING_DETAIL = {
    "/": "お問い合わせフォーム", "/product": "資料請求", "/pricing": "料金お問い合わせ",
    "/webinar": "ウェビナー申込", "/whitepaper/dx": "ホワイトペーパー: DX推進ガイド",
    "/blog": "ブログCTA", "/case-studies": "導入事例ダウンロード", "/contact": "お問い合わせフォーム",
}

# Ad platforms: (source, medium) -> spend channel raw value, CTR, CPC (JPY)
AD_PLATFORMS = {
    ("google", "cpc"): ("Google Ads", 0.055, 380.0),
    ("yahoo", "cpc"): ("Yahoo!広告", 0.045, 260.0),
    ("google", "display"): ("Display", 0.0025, 95.0),
    ("yahoo", "display"): ("Display", 0.0022, 80.0),
    ("facebook", "paid_social"): ("Facebook Ads", 0.009, 170.0),
    ("facebook", "cpc"): ("Facebook Ads", 0.008, 190.0),
    ("linkedin", "cpc"): ("LinkedIn Ads", 0.005, 880.0),
}

# Offline monthly spend: channel raw value, campaign text, JPY range per month.
OFFLINE_SPEND = (
    ("Webinar", "月次ウェビナー運営費", 450_000, 750_000),
    ("展示会", "ITソリューション展 出展費", 1_800_000, 3_200_000),  # event months only
    ("Partner", "パートナー紹介料", 250_000, 550_000),
    ("Outbound", "インサイドセールス外注費", 500_000, 800_000),
    ("Email", "メルマガ配信ツール", 80_000, 120_000),
    ("SEO", "SEOコンテンツ制作", 350_000, 700_000),
)
EVENT_MONTHS = (2, 6, 10)  # calendar months with a large trade show

MONTH_SEASON = np.array([0.95, 1.05, 1.10, 0.95, 0.95, 1.05, 1.00, 0.86, 1.05, 1.10, 1.05, 0.90])
DOW_FACTOR = np.array([1.00, 1.05, 1.05, 1.00, 0.92, 0.38, 0.33])  # Monday first
WEB_HOURS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 7, 9, 9, 7, 8, 9, 9, 8, 7, 5, 4, 3, 3, 2, 1.5])
WORK_HOURS = np.array([0] * 9 + [6, 9, 9, 5, 8, 9, 9, 8, 6, 3] + [0] * 5, dtype=float)

OWNERS = ("営業 太郎", "営業 花子", "山田 一郎", "佐藤 次郎", "鈴木 美咲", "高橋 健太", "田中 さくら", "伊藤 翔")
DEPARTMENTS = ("マーケティング部", "情報システム部", "営業部", "経営企画室", "総務部", "製造部", "DX推進室")
TITLES = ("部長", "課長", "主任", "担当", "マネージャー", "係長")
LIFECYCLE = np.array(["lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"])
STAGES_EN = np.array(["Prospecting", "Qualification", "Proposal", "Negotiation"])
STAGES_JP = np.array(["商談中", "商談中", "提案", "提案"])


# --------------------------------------------------------------------------
# Small vectorised helpers
# --------------------------------------------------------------------------

def _ts_iso(sec: np.ndarray) -> np.ndarray:
    """Epoch seconds (naive local) -> 'YYYY-MM-DD HH:MM:SS'."""
    s = np.datetime_as_string(np.asarray(sec, dtype=np.int64).astype("datetime64[s]"), unit="s")
    s = np.ascontiguousarray(s.astype("<U19"))
    s.view(np.uint32).reshape(-1, 19)[:, 10] = ord(" ")
    return s


def _date_iso(sec_or_day: np.ndarray, unit: str = "s") -> np.ndarray:
    return np.datetime_as_string(np.asarray(sec_or_day, dtype=np.int64).astype(f"datetime64[{unit}]"), unit="D")


def _date_slash(day: np.ndarray) -> np.ndarray:
    s = np.ascontiguousarray(_date_iso(day, "D").astype("<U10"))
    v = s.view(np.uint32).reshape(-1, 10)
    v[:, 4] = ord("/")
    v[:, 7] = ord("/")
    return s


def _ts_slash_short(sec: np.ndarray) -> np.ndarray:
    """Epoch seconds -> '2026/7/3 10:15' (no zero padding of month, day, hour)."""
    t = np.asarray(sec, dtype=np.int64).astype("datetime64[s]")
    y = t.astype("datetime64[Y]").astype(np.int64) + 1970
    m = t.astype("datetime64[M]").astype(np.int64) % 12 + 1
    d = (t.astype("datetime64[D]") - t.astype("datetime64[M]")).astype(np.int64) + 1
    sod = (t - t.astype("datetime64[D]")).astype(np.int64)
    hh, mm = sod // 3600, (sod % 3600) // 60
    out = np.strings.add(y.astype(str), "/")
    out = np.strings.add(np.strings.add(out, m.astype(str)), "/")
    out = np.strings.add(np.strings.add(out, d.astype(str)), " ")
    out = np.strings.add(np.strings.add(out, hh.astype(str)), ":")
    return np.strings.add(out, np.strings.zfill(mm.astype(str), 2))


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    width = max(width, len(str(n)))
    return np.strings.add(prefix, np.strings.zfill(np.arange(1, n + 1).astype(str), width))


def _yen_text(values: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Integers -> text in one of four money styles (0 plain, 1 '1,500,000', 2 '¥..', 3 '..円')."""
    code = np.asarray(values, dtype=np.int64) * 4 + np.asarray(style, dtype=np.int64)
    uniq, inv = np.unique(code, return_inverse=True)
    fmt = ("{:d}", "{:,d}", "¥{:,d}", "{:,d}円")
    table = np.array([fmt[int(c) % 4].format(int(c) // 4) for c in uniq], dtype=object)
    return table[inv]


def _fullwidth(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


def _spelling_variant(value: str, code: int) -> str:
    if code == 1:
        return value.upper()
    if code == 2:
        return value.lower()
    if code == 3:
        return _fullwidth(value.upper())
    if code == 4:
        return f" {value} "
    if code == 5:
        return _fullwidth(value)
    return value


def _pick(rng: np.random.Generator, options: tuple[tuple[str, float], ...], n: int) -> np.ndarray:
    values = np.array([v for v, _ in options], dtype=object)
    w = np.array([p for _, p in options], dtype=float)
    return values[rng.choice(len(values), size=n, p=w / w.sum())]


def _raw_spellings(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Vary case / width / spacing on a few percent of the values."""
    n = len(values)
    code = rng.choice(6, size=n, p=[0.94, 0.015, 0.012, 0.008, 0.015, 0.01])
    pad_ok = np.isin(values, np.array(sorted(PAD_SAFE), dtype=object))
    code = np.where((code == 4) & ~pad_ok, 0, code)
    if n == 0:
        return values
    vocab, inv = np.unique(values.astype(str), return_inverse=True)
    key = inv * 6 + code
    uniq, kinv = np.unique(key, return_inverse=True)
    table = np.array([_spelling_variant(str(vocab[k // 6]), int(k % 6)) for k in uniq], dtype=object)
    return table[kinv]


def _later_work_time(rng: np.random.Generator, after: np.ndarray, days: np.ndarray) -> np.ndarray:
    """A time `days` (>= 1) calendar days after `after`, during working hours."""
    n = len(after)
    hour = rng.choice(24, size=n, p=WORK_HOURS / WORK_HOURS.sum())
    return (after // DAY + days) * DAY + hour * 3600 + rng.integers(0, 3600, n)


def _month_start(ordinal: int) -> date:
    return date(ordinal // 12, ordinal % 12 + 1, 1)


def _month_end(ordinal: int) -> date:
    return _month_start(ordinal + 1) - timedelta(days=1)


def _day_number(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells a spreadsheet would run as formulas get a leading apostrophe (as every
    CSV this project writes, see assets.ingest.csv_tables.write_safe_csv)."""
    out = df
    for col in df.columns:
        if df[col].dtype == object:
            text = df[col].astype("string")
            risky = text.str.startswith(FORMULA_PREFIXES).fillna(False)
            if risky.any():
                out = out.copy() if out is df else out
                out[col] = df[col].where(~risky, "'" + text)
    return out


def _write_csv(frames: pd.DataFrame | Iterable[pd.DataFrame], path: Path, snapshot: date) -> Path:
    """Write one frame, or consecutive chunks of one table (keeps big scales lean)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for i, df in enumerate(frames):
            neutralise_formulas(df).to_csv(fh, index=False, header=(i == 0), lineterminator="\n")
    ts = datetime(snapshot.year, snapshot.month, snapshot.day, 6, 0, tzinfo=JST).timestamp()
    os.utime(path, (ts, ts))
    return path


def _snapshot_months(months: int, count: int, literal: tuple[int, ...] | None) -> list[int]:
    """Month indexes (0 = first month) of the snapshots, last = months - 1."""
    if literal is not None and months > literal[0]:
        picks = [months - 1 - back for back in literal]
    else:
        picks = [max(0, (months * (k + 1)) // count - 1) for k in range(count)]
    picks[-1] = months - 1
    return sorted(set(picks))


def _ga4_replicas(rows: float, day_factor: np.ndarray, email_factor: np.ndarray, scale: float,
                  n_days: int) -> int:
    """Landing-page variants per page that give about `rows` GA4 rows: a page's traffic
    split over r variants fills r * sum(1 - exp(-lambda / r)) day cells on average
    (lambda as in the generator below, without its noise)."""
    base = np.array([b for *_, pages, _s in GA4_COMBOS for _p, b in pages])
    email = np.array([c[3] == "Email" for c in GA4_COMBOS for _ in c[4]])
    start = np.array([c[5] for c in GA4_COMBOS for _ in c[4]])
    lam = day_factor[:, None] * base[None, :] * scale
    lam[:, email] *= email_factor[:, None]
    lam *= np.arange(n_days)[:, None] >= (start * n_days)[None, :]
    if rows >= lam.sum():
        raise ValueError(f"{rows:,.0f} GA4 rows is more than the sessions of scale {scale:g}: raise scale")
    lo, hi = 1, 2
    while hi * (1 - np.exp(-lam / hi)).sum() < rows:
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        lo, hi = (mid + 1, hi) if mid * (1 - np.exp(-lam / mid)).sum() < rows else (lo, mid)
    return lo


def _ad_group_rows(rng: np.random.Generator, ads: pd.DataFrame, days: np.ndarray,
                   rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Exactly `rows` ad spend rows: each campaign's day split evenly over k ad groups
    (campaign "<name>/ag01".., cost and counts divided in whole units), then rows
    left out at random. Also returns the day index of each row."""
    k = max(1, -(-rows // max(len(ads), 1)))
    if rows < 0 or len(ads) * k < rows:
        raise ValueError(f"cannot make {rows:,} ad spend rows from {len(ads):,}")
    rep = np.repeat(np.arange(len(ads)), k)
    group = np.tile(np.arange(k), len(ads))
    out = ads.iloc[rep].reset_index(drop=True)
    if k > 1:
        out["campaign"] = out["campaign"] + np.array([f"/ag{g + 1:02d}" for g in range(k)], dtype=object)[group]
        for col in ("cost", "impressions", "clicks"):
            v = out[col].to_numpy(np.int64)
            out[col] = v // k + (group < v % k)
    keep = np.sort(rng.choice(len(out), size=rows, replace=False))
    return out.iloc[keep].reset_index(drop=True), days[rep][keep]


# --------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------

def generate_sample_exports(
    out_dir: Path,
    months: int = 24,
    seed: int = 7,
    end_month: str | None = None,
    scale: float = 1.0,
    *,
    ga4_rows: int | None = None,
    leads: int | None = None,
    deals: int | None = None,
    spend_rows: int | None = None,
    touchpoints: bool = True,
) -> dict[str, list[Path]]:
    """Writes out_dir/{ga4_sessions,leads,deals,spend,touchpoints}/*.csv; returns the paths written per source.

    Volumes follow `scale`, unless given as exact counts: `ga4_rows` GA4 rows
    (landing-page variants are added, then rows left out at random), `leads`
    distinct leads over all snapshots (left out at random; scale must give at
    least as many), `deals` distinct deals (beyond those of leads, deals entered
    in the CRM directly), `spend_rows` spend rows (ad rows split into ad groups).
    `touchpoints=False` leaves the optional touchpoints folder out.

    `end_month` ("YYYY-MM") is the last month of data, inclusive (default: the
    month before this one). The content is a pure function of (months, seed,
    end_month, scale and the counts). Each file's mtime is its snapshot date at 06:00
    Asia/Tokyo: a lead/deal snapshot's date, else the last day of the period
    the file covers; file names sort in the same order.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    if scale <= 0:
        raise ValueError("scale must be > 0")
    if end_month is None:
        today = date.today()
        end_ord = today.year * 12 + today.month - 1 - 1
    else:
        y, m = (int(x) for x in end_month.split("-"))
        if not 1 <= m <= 12:
            raise ValueError(f"end_month must be YYYY-MM, got {end_month!r}")
        end_ord = y * 12 + m - 1
    start_ord = end_ord - months + 1
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)

    # ---- calendar ---------------------------------------------------------
    first_day = _day_number(_month_start(start_ord))
    last_day = _day_number(_month_end(end_ord))
    day_num = np.arange(first_day, last_day + 1, dtype=np.int64)
    n_days = len(day_num)
    day_sec = day_num * DAY
    d64 = day_num.astype("datetime64[D]")
    dow = (day_num + 3) % 7  # Monday = 0
    mo_abs = d64.astype("datetime64[M]").astype(np.int64) + 1970 * 12  # year*12 + month-1
    mo_idx = mo_abs - start_ord
    cal_month = mo_abs % 12 + 1
    dom = (d64 - d64.astype("datetime64[M]")).astype(np.int64) + 1
    holiday = np.ones(n_days)
    holiday[((cal_month == 12) & (dom >= 29)) | ((cal_month == 1) & (dom <= 3))] = 0.35
    holiday[(cal_month == 8) & (dom >= 13) & (dom <= 16)] = 0.6
    holiday[(cal_month == 5) & (dom >= 3) & (dom <= 5)] = 0.45
    trend = 1.015 ** (np.arange(n_days) / 30.44)
    day_factor = trend * MONTH_SEASON[cal_month - 1] * DOW_FACTOR[dow] * holiday
    day_factor *= np.exp(rng.normal(0.0, 0.08, n_days))
    # newsletter sends: Tuesdays of the 2nd and 4th week
    send = (dow == 1) & (((dom >= 8) & (dom <= 14)) | ((dom >= 22) & (dom <= 28)))
    after1 = np.roll(send, 1)
    after1[0] = False
    after2 = np.roll(send, 2)
    after2[:2] = False
    email_factor = 0.25 + 5.0 * send + 2.0 * after1 + 0.8 * after2

    # ---- GA4 cells: combo x landing page x replica --------------------------
    replicas = max(1, int(round(scale))) if ga4_rows is None else \
        _ga4_replicas(ga4_rows * 1.03, day_factor, email_factor, scale, n_days)
    cells: list[tuple[int, str, float, str]] = []  # (combo index, landing page, base, base page)
    for ci, (_src, _med, _camp, _grp, pages, _start) in enumerate(GA4_COMBOS):
        for page, base in pages:
            for j in range(replicas):
                lp = page if j == 0 else f"{page.rstrip('/')}/v{j:02d}"
                cells.append((ci, lp, base * scale / replicas, page))
    n_cells = len(cells)
    cell_combo = np.array([c[0] for c in cells])
    cell_lp = np.array([c[1] for c in cells], dtype=object)
    cell_page = np.array([c[3] for c in cells], dtype=object)
    cell_base = np.array([c[2] for c in cells])
    combo_src = np.array([c[0] for c in GA4_COMBOS], dtype=object)
    combo_med = np.array([c[1] for c in GA4_COMBOS], dtype=object)
    combo_grp = np.array([c[3] for c in GA4_COMBOS], dtype=object)
    combo_start = np.array([c[5] for c in GA4_COMBOS])
    combo_channel = np.array([CH.get(g, -1) for g in combo_grp])  # -1: Unassigned
    cell_channel = combo_channel[cell_combo]
    cell_grp = combo_grp[cell_combo]

    lam = day_factor[:, None] * cell_base[None, :]
    is_email = cell_grp == "Email"
    lam[:, is_email] *= email_factor[:, None]
    active = np.arange(n_days)[:, None] >= (combo_start[cell_combo] * n_days)[None, :]
    lam *= active
    lam *= np.exp(rng.normal(0.0, 0.18, lam.shape))
    sessions = rng.poisson(lam)

    conv = np.array([CHANNELS[c].session_to_lead if c >= 0 else 0.0 for c in cell_channel])
    er = np.array([GA4_GROUP_RATES[g][0] for g in cell_grp])
    nu = np.array([GA4_GROUP_RATES[g][1] for g in cell_grp])
    leads_cell = rng.binomial(sessions, conv[None, :])
    key_events = leads_cell + rng.binomial(sessions - leads_cell, 0.004)
    engaged = key_events + rng.binomial(sessions - key_events, er[None, :])
    total_users = np.maximum(np.minimum(sessions, 1), sessions - rng.binomial(sessions, 0.15))
    new_users = rng.binomial(total_users, nu[None, :])

    # campaign text per (cell, month): newsletters are named after their month
    month_labels = [f"{o // 12:04d}{o % 12 + 1:02d}" for o in range(start_ord, end_ord + 1)]
    camp_table = np.empty((n_cells, months), dtype=object)
    for k in range(n_cells):
        tmpl = GA4_COMBOS[cell_combo[k]][2]
        camp_table[k, :] = [tmpl.format(ym=lab) for lab in month_labels] if "{ym}" in tmpl else tmpl
    # about a third of the months come without the default channel group
    n_blank = int(round(months / 3))
    blank_month = np.zeros(months, dtype=bool)
    blank_month[rng.choice(months, size=n_blank, replace=False)] = True

    rd, rc = np.nonzero(sessions)  # GA4 rows, in date then cell order
    if ga4_rows is not None:  # exactly `ga4_rows` of them, picked at random
        if len(rd) < ga4_rows:
            raise ValueError(f"the GA4 traffic of scale {scale:g} fills only {len(rd):,} rows, "
                             f"fewer than the {ga4_rows:,} asked for: raise scale")
        pick = np.sort(rng.choice(len(rd), size=ga4_rows, replace=False))
        rd, rc = rd[pick], rc[pick]

    # ---- leads: web ---------------------------------------------------------
    ld, lc = np.nonzero(leads_cell)
    rep = leads_cell[ld, lc]
    ld, lc = np.repeat(ld, rep), np.repeat(lc, rep)
    n_web = len(ld)
    web_created = (day_sec[ld] + rng.choice(24, size=n_web, p=WEB_HOURS / WEB_HOURS.sum()) * 3600
                   + rng.integers(0, 60, n_web) * 60)
    web_combo = cell_combo[lc]
    web_has_utm = np.isin(combo_med[web_combo], np.array(sorted(UTM_MEDIA), dtype=object))
    web_camp = camp_table[lc, mo_idx[ld]]
    seg_created = [web_created]
    seg_channel = [cell_channel[lc]]
    seg_utm_src = [np.where(web_has_utm, combo_src[web_combo], "").astype(object)]
    seg_utm_med = [np.where(web_has_utm, combo_med[web_combo], "").astype(object)]
    seg_utm_camp = [np.where(web_has_utm, web_camp, "").astype(object)]
    seg_campaign = [np.where(web_has_utm, web_camp, "").astype(object)]
    page_detail = np.array([LANDING_DETAIL[p] for p in cell_page[lc]], dtype=object)
    organic = combo_med[web_combo] == "organic"
    seg_detail = [np.where(organic, combo_src[web_combo], page_detail).astype(object)]

    # ---- leads: offline (per month) ----------------------------------------
    growth_m = 1.015 ** np.arange(months) * MONTH_SEASON[(np.arange(start_ord, end_ord + 1) % 12)]
    work_p = WORK_HOURS / WORK_HOURS.sum()

    def add_offline(channel: str, created: np.ndarray, detail: np.ndarray, campaign: np.ndarray) -> None:
        n = len(created)
        seg_created.append(created.astype(np.int64))
        seg_channel.append(np.full(n, CH[channel]))
        blank = np.full(n, "", dtype=object)
        seg_utm_src.append(blank)
        seg_utm_med.append(blank.copy())
        seg_utm_camp.append(blank.copy())
        seg_campaign.append(campaign.astype(object))
        seg_detail.append(detail.astype(object))

    partner_names = np.array([f"パートナー{c}社" for c in "ABCDE"], dtype=object)
    outbound_details = np.array(["リスト架電", "フォーム営業", "手紙DM後架電"], dtype=object)
    for m in range(months):
        mdays = np.nonzero(mo_idx == m)[0]
        weekdays = mdays[dow[mdays] < 5]
        if len(weekdays) == 0:
            weekdays = mdays
        g = growth_m[m] * scale
        ym = month_labels[m]
        cm = int(cal_month[mdays[0]])
        # Webinars: Wednesday of week 2 and Thursday of week 4; attendees imported that evening.
        for want_dow, lo in ((2, 8), (3, 22)):
            cand = mdays[(dow[mdays] == want_dow) & (dom[mdays] >= lo) & (dom[mdays] < lo + 7)]
            if len(cand) == 0:
                continue
            wd = cand[0]
            n = rng.poisson(24 * g)
            created = day_sec[wd] + rng.integers(15, 20, n) * 3600 + rng.integers(0, 60, n) * 60
            tag = f"{ym}{int(dom[wd]):02d}"
            add_offline("Webinar", created,
                        np.full(n, f"DX推進ウェビナー {tag[:4]}-{tag[4:6]}-{tag[6:]}", dtype=object),
                        np.full(n, f"webinar_{tag}", dtype=object))
        # Trade shows: three days from the first Wednesday on/after the 10th; small ones otherwise.
        if cm in EVENT_MONTHS:
            start = mdays[(dow[mdays] == 2) & (dom[mdays] >= 10)][0]
            n = rng.poisson(115 * g)
            dd = start + rng.integers(0, 3, n)
            created = day_sec[dd] + rng.integers(17, 22, n) * 3600 + rng.integers(0, 60, n) * 60
            season = {2: "春", 6: "夏", 10: "秋"}[cm]
            add_offline("Event", created,
                        np.full(n, f"ITソリューション展 {ym[:4]} {season}", dtype=object),
                        np.full(n, f"expo_{ym}", dtype=object))
        n = rng.poisson(4 * g)
        dd = rng.choice(weekdays, n)
        add_offline("Event", day_sec[dd] + rng.choice(24, n, p=work_p) * 3600 + rng.integers(0, 60, n) * 60,
                    np.full(n, "業界カンファレンス 名刺交換", dtype=object),
                    np.full(n, f"conference_{ym}", dtype=object))
        n = rng.poisson(12 * g)
        dd = rng.choice(weekdays, n)
        add_offline("Partner", day_sec[dd] + rng.choice(24, n, p=work_p) * 3600 + rng.integers(0, 60, n) * 60,
                    partner_names[rng.integers(0, len(partner_names), n)],
                    np.full(n, "partner_program", dtype=object))
        n = rng.poisson(28 * g)
        dd = rng.choice(weekdays, n)
        add_offline("Outbound", day_sec[dd] + rng.choice(24, n, p=work_p) * 3600 + rng.integers(0, 60, n) * 60,
                    outbound_details[rng.integers(0, len(outbound_details), n)],
                    np.full(n, f"outbound_list_{ym}", dtype=object))

    created = np.concatenate(seg_created)
    order = np.argsort(created, kind="stable")
    created = created[order]
    ch = np.concatenate(seg_channel)[order]
    utm_src = np.concatenate(seg_utm_src)[order]
    utm_med = np.concatenate(seg_utm_med)[order]
    utm_camp = np.concatenate(seg_utm_camp)[order]
    campaign = np.concatenate(seg_campaign)[order]
    detail = np.concatenate(seg_detail)[order]
    n_leads = len(created)
    if leads is not None:  # exactly `leads` of them, picked at random
        if n_leads < leads:
            raise ValueError(f"scale {scale:g} gives {n_leads:,} leads, fewer than the {leads:,} asked for: "
                             f"raise scale to about {scale * leads / n_leads * 1.02:.0f}")
        pick = np.sort(rng.choice(n_leads, size=leads, replace=False))
        created, ch, utm_src, utm_med, utm_camp, campaign, detail = (
            a[pick] for a in (created, ch, utm_src, utm_med, utm_camp, campaign, detail))
        n_leads = leads

    # ---- leads: raw source spellings ---------------------------------------
    lead_source = np.empty(n_leads, dtype=object)
    for ci, prof in enumerate(CHANNELS):
        idx = np.nonzero(ch == ci)[0]
        lead_source[idx] = _pick(rng, prof.lead_sources, len(idx))
        for (cname, src), options in SOURCE_SPELLINGS.items():
            if cname == prof.name:
                sub = idx[utm_src[idx] == src]
                lead_source[sub] = _pick(rng, options, len(sub))
    lead_source = _raw_spellings(rng, lead_source)
    # ~1% with a value no rule maps (only among leads without utm), ~2% with utm only
    no_utm = np.nonzero(utm_src == "")[0]
    k = min(len(no_utm), int(round(0.01 * n_leads)))
    pick = rng.choice(no_utm, size=k, replace=False)
    lead_source[pick] = np.array(UNMAPPED_SOURCES, dtype=object)[rng.integers(0, len(UNMAPPED_SOURCES), k)]
    detail[pick] = ""
    with_utm = np.nonzero(np.isin(utm_med, np.array(["cpc", "email", "paid_social", "display"], dtype=object)))[0]
    k = min(len(with_utm), int(round(0.02 * n_leads)))
    lead_source[rng.choice(with_utm, size=k, replace=False)] = ""

    # ---- leads: people and companies ----------------------------------------
    lead_ids = _ids("L", n_leads, 6)
    num = np.arange(1, n_leads + 1).astype(str)
    tld = np.where(rng.random(n_leads) < 0.7, "@example.com", "@example.jp")
    email = np.strings.add(np.strings.add("user", num), tld).astype(object)
    n_comp = max(50, int(n_leads * 0.6))
    comp_no = rng.integers(1, n_comp + 1, n_leads)
    company = _company_names(comp_no)
    job = np.strings.add(np.strings.add(
        np.array(DEPARTMENTS)[rng.integers(0, len(DEPARTMENTS), n_leads)], " "),
        np.array(TITLES)[rng.integers(0, len(TITLES), n_leads)]).astype(object)
    job[rng.random(n_leads) < 0.08] = ""
    owner = np.array(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), n_leads)]
    owner_from_start = np.isin(ch, [CH["Outbound"], CH["Partner"], CH["Event"]])
    fmt = rng.choice(3, size=n_leads, p=[0.78, 0.12, 0.10])
    created_txt = _ts_iso(created).astype(object)
    iso_zone = fmt == 1
    created_txt[iso_zone] = np.strings.add(
        np.strings.replace(_ts_iso(created[iso_zone]), " ", "T"), "+09:00")
    slash = fmt == 2
    created_txt[slash] = _ts_slash_short(created[slash])

    # ---- leads: life lines ---------------------------------------------------
    p = lambda attr: np.array([getattr(c, attr) for c in CHANNELS])[ch]  # noqa: E731
    is_mql = rng.random(n_leads) < p("lead_to_mql")
    mql_delay = np.where(rng.random(n_leads) < 0.35, rng.integers(300, 7200, n_leads),
                         np.minimum(rng.exponential(12 * DAY, n_leads), 180 * DAY).astype(np.int64) + 3600)
    mql_t = np.where(is_mql, created + mql_delay, NEVER)
    is_sql = is_mql & (rng.random(n_leads) < p("mql_to_sql"))
    # sales-side events happen on later days, during working hours
    sql_days = 1 + np.minimum(rng.gamma(2.0, 9.0, n_leads), 120).astype(np.int64)
    sql_t = np.where(is_sql, _later_work_time(rng, np.where(is_mql, mql_t, 0), sql_days), NEVER)
    is_disq = is_mql & ~is_sql & (rng.random(n_leads) < 0.45)
    disq_t = np.where(is_disq, _later_work_time(rng, np.where(is_mql, mql_t, 0), rng.integers(7, 75, n_leads)),
                      NEVER)
    has_deal = is_sql & (rng.random(n_leads) < p("sql_to_deal"))
    deal_t = np.where(has_deal, _later_work_time(rng, np.where(is_sql, sql_t, 0), rng.integers(1, 21, n_leads)),
                      NEVER)
    second = has_deal & (rng.random(n_leads) < 0.03)
    deal2_t = np.where(second, _later_work_time(rng, np.where(has_deal, deal_t, 0), rng.integers(90, 300, n_leads)),
                       NEVER)
    hide_mql = is_sql & (rng.random(n_leads) < 0.10)
    score_lo = rng.integers(0, 96, n_leads)
    score_hi = rng.integers(70, 151, n_leads)
    # later activity (score changes, form fills, notes) during working hours
    touch_day = created[:, None] // DAY + np.cumsum(np.ceil(rng.exponential(45, (n_leads, 3))), axis=1).astype(np.int64)
    touches = (touch_day * DAY + rng.choice(24, (n_leads, 3), p=WORK_HOURS / WORK_HOURS.sum()) * 3600
               + rng.integers(0, 3600, (n_leads, 3)))

    # ---- deals ---------------------------------------------------------------
    l1 = np.nonzero(has_deal)[0]
    l2 = np.nonzero(second)[0]
    range_end = (last_day + 1) * DAY - 1
    n_lead_deals = int((deal_t[l1] <= range_end).sum() + (deal2_t[l2] <= range_end).sum())
    if deals is None:
        n_src = rng.poisson(n_lead_deals * 0.08 / 0.90)
        n_none = rng.poisson(n_lead_deals * 0.02 / 0.90)
    else:  # deals beyond those of leads were entered in the CRM directly (80% with a deal source)
        n_src = int(round(max(0, deals - n_lead_deals) * 0.8))
        n_none = max(0, deals - n_lead_deals) - n_src
    src_channels = np.array([CH["Partner"], CH["Event"], CH["Outbound"], CH["Direct"], CH["Referral"]])
    src_ch = src_channels[rng.choice(len(src_channels), n_src, p=[0.35, 0.2, 0.25, 0.1, 0.1])]
    day_w = trend * DOW_FACTOR[dow] * holiday
    other_day = rng.choice(n_days, n_src + n_none, p=day_w / day_w.sum())
    other_created = day_sec[other_day] + rng.choice(24, n_src + n_none, p=work_p) * 3600 \
        + rng.integers(0, 3600, n_src + n_none)
    d_created = np.concatenate([deal_t[l1], deal2_t[l2], other_created])
    d_lead = np.concatenate([l1, l2, np.full(n_src + n_none, -1)])
    d_ch = np.concatenate([ch[l1], ch[l2], src_ch, np.full(n_none, UNATTRIBUTED)])
    keep = d_created <= range_end  # deals after the last month are not known yet
    if deals is not None and keep.sum() > deals:  # more deals from leads than asked for: drop some
        keep[rng.choice(np.nonzero(keep)[0], int(keep.sum()) - deals, replace=False)] = False
    d_order = np.argsort(d_created[keep], kind="stable")
    d_created, d_lead, d_ch = d_created[keep][d_order], d_lead[keep][d_order], d_ch[keep][d_order]
    n_deals = len(d_created)
    deal_ids = _ids("D", n_deals, 5)

    def dp(attr: str) -> np.ndarray:
        return np.array([getattr(c, attr) for c in CHANNELS] + [_GENERIC[attr]])[d_ch]

    won = rng.random(n_deals) < dp("win_rate")
    cycle = np.clip(np.exp(rng.normal(np.log(dp("cycle_median_days")), 0.45)), 20, 150).astype(np.int64)
    close_day = d_created // DAY + cycle
    close_t = close_day * DAY + rng.integers(10, 19, n_deals) * 3600 + rng.integers(0, 3600, n_deals)
    amount = np.clip(np.exp(rng.normal(np.log(dp("deal_median_jpy")), 0.55)), 300_000, 5_000_000)
    amount = (np.round(amount / 10_000) * 10_000).astype(np.int64)
    amount_txt = _yen_text(amount, rng.choice(4, n_deals, p=[0.6, 0.2, 0.1, 0.1]))
    close_txt = np.where(rng.random(n_deals) < 0.8, _date_iso(close_day, "D"), _date_slash(close_day)).astype(object)
    jp = rng.random(n_deals) < 0.3
    won_txt = np.where(jp, "受注", "Closed Won")
    lost_txt = np.where(jp, "失注", "Closed Lost")
    pipeline = np.where(jp, "新規開拓", "Sales Pipeline").astype(object)
    linked = d_lead >= 0
    lead_of = np.where(linked, d_lead, 0)
    d_company = np.where(linked, company[lead_of], _company_names(rng.integers(1, n_comp + 1, n_deals)))
    d_owner = np.where(linked, owner[lead_of], np.array(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), n_deals)])
    d_source = np.full(n_deals, "", dtype=object)
    copy_src = linked & (rng.random(n_deals) < 0.25)
    d_source[copy_src] = lead_source[lead_of[copy_src]]
    src_only = ~linked & (d_ch != UNATTRIBUTED)
    for ci, prof in enumerate(CHANNELS):
        idx = np.nonzero(src_only & (d_ch == ci))[0]
        d_source[idx] = _pick(rng, prof.lead_sources, len(idx))
    d_source[src_only] = _raw_spellings(rng, d_source[src_only])
    d_lead_id = np.where(linked, lead_ids[lead_of], "").astype(object)
    d_created_txt = _ts_iso(d_created).astype(object)

    # the lead's win: its earliest won deal
    lead_won_t = np.full(n_leads, NEVER)
    wl = linked & won
    np.minimum.at(lead_won_t, d_lead[wl], close_t[wl])

    # ---- snapshots -------------------------------------------------------------
    mql_txt = _ts_iso(np.where(is_mql, mql_t, 0)).astype(object)
    sql_txt = _ts_iso(np.where(is_sql, sql_t, 0)).astype(object)
    disq_txt = _ts_iso(np.where(is_disq, disq_t, 0)).astype(object)
    events = np.column_stack([created, mql_t, sql_t, disq_t, deal_t, lead_won_t, touches])

    written: dict[str, list[Path]] = {s: [] for s in SOURCES if touchpoints or s != "touchpoints"}

    def lead_chunks(rows: np.ndarray, cut: int) -> Iterator[pd.DataFrame]:
        for start in range(0, max(len(rows), 1), CHUNK_ROWS):
            idx = rows[start:start + CHUNK_ROWS]
            stage = ((mql_t[idx] <= cut).astype(int) + (sql_t[idx] <= cut) + (deal_t[idx] <= cut)
                     + (lead_won_t[idx] <= cut))
            ev = events[idx]
            updated = np.where(ev <= cut, ev, -1).max(axis=1)
            yield pd.DataFrame({
                "lead_id": lead_ids[idx],
                "created_at": created_txt[idx],
                "lead_source": lead_source[idx],
                "lead_source_detail": detail[idx],
                "campaign": campaign[idx],
                "utm_source": utm_src[idx],
                "utm_medium": utm_med[idx],
                "utm_campaign": utm_camp[idx],
                "email": email[idx],
                "company": company[idx],
                "job_title": job[idx],
                "lifecycle_stage": LIFECYCLE[stage],
                "lead_score": np.where(stage >= 1, score_hi[idx], score_lo[idx]),
                "mql_at": np.where((mql_t[idx] <= cut) & ~hide_mql[idx], mql_txt[idx], ""),
                "sql_at": np.where(sql_t[idx] <= cut, sql_txt[idx], ""),
                "disqualified_at": np.where(disq_t[idx] <= cut, disq_txt[idx], ""),
                "owner": np.where((stage >= 1) | owner_from_start[idx], owner[idx], ""),
                "updated_at": _ts_iso(updated),
            }, columns=LEAD_COLUMNS)

    lead_snaps = _snapshot_months(months, 4, (18, 12, 6, 0))
    for si, m in enumerate(lead_snaps):
        snap = _month_end(start_ord + m)
        cut = (_day_number(snap) + 1) * DAY - 1
        idx = np.nonzero(created <= cut)[0]
        if si == len(lead_snaps) - 1 and len(lead_snaps) > 1:
            idx = idx[int(round(0.03 * len(idx))):]  # exported "with a filter"
        path = out_dir / "leads" / f"leads_{snap.isoformat()}.csv"
        written["leads"].append(_write_csv(lead_chunks(idx, cut), path, snap))

    # open-stage boundaries at 25/50/75% of the way to the close
    span = close_t - d_created
    bounds = d_created[:, None] + (span[:, None] * np.array([0, 1, 2, 3])[None, :]) // 4
    deal_snaps = _snapshot_months(months, 3, None)
    for m in deal_snaps:
        snap = _month_end(start_ord + m)
        cut = (_day_number(snap) + 1) * DAY - 1
        idx = np.nonzero(d_created <= cut)[0]
        closed = close_t[idx] <= cut
        step = (bounds[idx] <= cut).sum(axis=1) - 1
        open_txt = np.where(jp[idx], STAGES_JP[step], STAGES_EN[step])
        stage_txt = np.where(closed, np.where(won[idx], won_txt[idx], lost_txt[idx]), open_txt)
        updated = np.where(closed, close_t[idx], bounds[idx, step])
        df = pd.DataFrame({
            "deal_id": deal_ids[idx],
            "created_at": d_created_txt[idx],
            "stage": stage_txt,
            "lead_id": d_lead_id[idx],
            "deal_source": d_source[idx],
            "amount": amount_txt[idx],
            "currency": "JPY",
            "close_date": np.where(closed, close_txt[idx], ""),
            "company": d_company[idx],
            "owner": d_owner[idx],
            "pipeline": pipeline[idx],
            "updated_at": _ts_iso(updated),
        }, columns=DEAL_COLUMNS)
        written["deals"].append(_write_csv(df, out_dir / "deals" / f"deals_{snap.isoformat()}.csv", snap))

    # ---- touchpoints (one file per month) ----------------------------------------
    if touchpoints:
        touch = _touchpoints(np.random.default_rng(seed + 101), created, ch, lead_ids, lead_source, utm_src,
                             utm_med, utm_camp, deal_t, lead_won_t, range_end)
        touch_month = touch["touched_at"].to_numpy().astype("datetime64[M]").astype(np.int64) + 1970 * 12
        touch["touched_at"] = _ts_iso(touch["touched_at"].to_numpy().astype("datetime64[s]").astype(np.int64))
    for m in range(months if touchpoints else 0):
        snap = _month_end(start_ord + m)
        part = touch[touch_month == start_ord + m]
        path = out_dir / "touchpoints" / f"touchpoints_{snap:%Y-%m}.csv"
        written["touchpoints"].append(_write_csv(part, path, snap))

    # ---- GA4 files (one per month) ---------------------------------------------
    row_month = mo_idx[rd]
    day_iso = _date_iso(day_num, "D")
    bounds_m = np.searchsorted(row_month, np.arange(months + 1))
    for m in range(months):
        snap = _month_end(start_ord + m)
        d, c = rd[bounds_m[m]:bounds_m[m + 1]], rc[bounds_m[m]:bounds_m[m + 1]]
        part = pd.DataFrame({
            "date": day_iso[d],
            "session_source": combo_src[cell_combo[c]],
            "session_medium": combo_med[cell_combo[c]],
            "session_campaign": camp_table[c, m],
            "session_default_channel_group": np.full(len(d), "", dtype=object) if blank_month[m] else cell_grp[c],
            "landing_page": cell_lp[c],
            "sessions": sessions[d, c],
            "engaged_sessions": engaged[d, c],
            "key_events": key_events[d, c],
            "total_users": total_users[d, c],
            "new_users": new_users[d, c],
        }, columns=GA4_COLUMNS)
        path = out_dir / "ga4_sessions" / f"ga4_sessions_{snap:%Y-%m}.csv"
        written["ga4_sessions"].append(_write_csv(part, path, snap))

    # ---- spend: ad platforms (daily) -------------------------------------------
    keys: list[tuple[str, str, float, float]] = []  # (channel, campaign, ctr, cpc)
    key_of_combo = np.full(len(GA4_COMBOS), -1)
    for ci, (src, med, camp, _g, _p, _s) in enumerate(GA4_COMBOS):
        if (src, med) in AD_PLATFORMS:
            chan, ctr, cpc = AD_PLATFORMS[(src, med)]
            key_of_combo[ci] = len(keys)
            keys.append((chan, camp, ctr, cpc))
    cell_key = key_of_combo[cell_combo]
    paid = cell_key >= 0
    indicator = np.zeros((n_cells, len(keys)), dtype=np.int64)
    indicator[np.nonzero(paid)[0], cell_key[paid]] = 1
    key_sessions = sessions @ indicator  # days x keys
    clicks = key_sessions + rng.binomial(key_sessions, 0.15)
    ctr = np.array([k[2] for k in keys])
    cpc = np.array([k[3] for k in keys])
    impressions = np.round(clicks / ctr[None, :] * np.exp(rng.normal(0, 0.15, clicks.shape))).astype(np.int64)
    cost = np.round(clicks * cpc[None, :] * np.exp(rng.normal(0, 0.12, clicks.shape))).astype(np.int64)
    sd, sk = np.nonzero(clicks)
    ads = pd.DataFrame({
        "date": _date_iso(day_num, "D")[sd],
        "channel": np.array([k[0] for k in keys], dtype=object)[sk],
        "campaign": np.array([k[1] for k in keys], dtype=object)[sk],
        "cost": cost[sd, sk],
        "impressions": impressions[sd, sk],
        "clicks": clicks[sd, sk],
        "currency": "JPY",
    }, columns=SPEND_COLUMNS)
    if spend_rows is not None:
        n_offline = sum(1 for m in range(months) for chan, *_ in OFFLINE_SPEND
                        if chan != "展示会" or ((start_ord + m) % 12 + 1) in EVENT_MONTHS)
        ads, sd = _ad_group_rows(rng, ads, sd, spend_rows - n_offline)
    row_year = (d64[sd].astype("datetime64[Y]").astype(np.int64) + 1970)
    end_date = _month_end(end_ord)
    for year in range(start_ord // 12, end_ord // 12 + 1):
        part = ads[row_year == year]
        snap = min(date(year, 12, 31), end_date)
        written["spend"].append(_write_csv(part, out_dir / "spend" / f"spend_ads_{year}.csv", snap))

    # ---- spend: offline (monthly) ----------------------------------------------
    rows: list[tuple[str, str, str, int]] = []
    for m in range(months):
        o = start_ord + m
        for chan, camp, lo, hi in OFFLINE_SPEND:
            if chan == "展示会" and (o % 12 + 1) not in EVENT_MONTHS:
                continue
            value = int(round(rng.uniform(lo, hi) * scale * growth_m[m] / 10_000)) * 10_000
            rows.append((f"{o // 12:04d}-{o % 12 + 1:02d}", chan, camp, value))
    styles = rng.choice(3, len(rows), p=[0.5, 0.35, 0.15])  # plain, ¥1,200,000, 1,200,000円
    cost_txt = _yen_text(np.array([r[3] for r in rows], dtype=np.int64), np.array([0, 2, 3])[styles])
    offline = pd.DataFrame({
        "date": [r[0] for r in rows],
        "channel": [r[1] for r in rows],
        "campaign": [r[2] for r in rows],
        "cost": cost_txt,
        "impressions": "",
        "clicks": "",
        "currency": "JPY",
    }, columns=SPEND_COLUMNS)
    written["spend"].append(_write_csv(offline, out_dir / "spend" / "spend_offline.csv", end_date))
    return written


def _touchpoints(rng: np.random.Generator, created: np.ndarray, ch: np.ndarray, lead_ids: np.ndarray,
                 lead_source: np.ndarray, utm_src: np.ndarray, utm_med: np.ndarray, utm_camp: np.ndarray,
                 deal_t: np.ndarray, lead_won_t: np.ndarray, range_end: int) -> pd.DataFrame:
    """Each lead's creation touch, a few later touches, and the product demo video that leads who
    will win watch more often before their first meeting (what content_influence should find)."""
    n = len(created)
    names = np.array([c.name for c in CHANNELS], dtype=object)[ch]
    first = pd.DataFrame({
        "lead_id": lead_ids, "t": created,
        "touch_type": np.array([CREATION_TOUCH.get(x, "form_submission") for x in names], dtype=object),
        "source": np.where(utm_src != "", utm_src, lead_source), "medium": utm_med, "campaign": utm_camp,
        "content_id": "", "duration_seconds": ""})
    k = rng.poisson(1.6, n)
    who = np.repeat(np.arange(n), k)
    # later touches over the weeks after creation, stopping at the first meeting when there is one
    t = created[who] + np.ceil(rng.exponential(12, len(who)) * DAY).astype(np.int64) * rng.integers(1, 4, len(who))
    kind = rng.choice(len(LATER_TOUCHES), len(who), p=[0.45, 0.2, 0.2, 0.15])
    content = np.array([LATER_TOUCHES[i][3][j % len(LATER_TOUCHES[i][3])] for i, j in
                        zip(kind, rng.integers(0, 6, len(who)))], dtype=object)
    later = pd.DataFrame({
        "lead_id": lead_ids[who], "t": t,
        "touch_type": np.array([LATER_TOUCHES[i][0] for i in kind], dtype=object),
        "source": np.array([LATER_TOUCHES[i][1] for i in kind], dtype=object),
        "medium": np.array([LATER_TOUCHES[i][2] for i in kind], dtype=object),
        "campaign": "", "content_id": content,
        "duration_seconds": np.where(np.isin(kind, [1, 2]), rng.integers(60, 3600, len(who)).astype(str), "")})
    # the demo video, a few days before the first meeting: 45% of leads who go on to win, 20% of the others
    has_deal = deal_t < NEVER
    watch = has_deal & (rng.random(n) < np.where(lead_won_t < NEVER, 0.45, 0.2))
    idx = np.nonzero(watch)[0]
    demo = pd.DataFrame({
        "lead_id": lead_ids[idx], "t": np.maximum(created[idx] + 60, deal_t[idx] - rng.integers(1, 10, len(idx)) * DAY),
        "touch_type": "video_view", "source": "", "medium": "", "campaign": "", "content_id": "video_product_demo",
        "duration_seconds": rng.integers(120, 1800, len(idx)).astype(str)})
    out = pd.concat([first, later, demo], ignore_index=True)
    out = out[out["t"] <= range_end].sort_values(["t", "lead_id"], kind="stable")
    out["touched_at"] = out.pop("t").to_numpy().astype("datetime64[s]")
    return out[TOUCH_COLUMNS].reset_index(drop=True)


def _company_names(numbers: np.ndarray) -> np.ndarray:
    """Fake company names; the same number always gives the same name."""
    s = np.asarray(numbers).astype(str)
    style = np.asarray(numbers) % 10
    a = np.strings.add("株式会社サンプル", s)
    b = np.strings.add(np.strings.add("サンプル工業", s), "株式会社")
    c = np.strings.add("合同会社テスト", s)
    return np.where(style < 7, a, np.where(style < 9, b, c)).astype(object)


# Named workloads of `make bench` (docs/BENCHMARKS.md). Counts are exact; leads and
# deals are distinct records over all snapshot files (about 2.4 and 2 rows each).
WORKLOADS: dict[str, dict] = {
    "small": {"scale": 10.0},
    "large": {"scale": 103.0, "ga4_rows": 3_000_000, "leads": 1_000_000, "deals": 150_000, "spend_rows": 20_000},
}


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workload", choices=sorted(WORKLOADS), help="a named workload (overrides --scale)")
    parser.add_argument("--ga4-rows", type=int, help="exact number of GA4 rows")
    parser.add_argument("--leads", type=int, help="exact number of distinct leads")
    parser.add_argument("--deals", type=int, help="exact number of distinct deals")
    parser.add_argument("--spend-rows", type=int, help="exact number of spend rows")


def size_arguments(args: argparse.Namespace, scale: float) -> dict:
    """Keyword arguments of generate_sample_exports from a parser with add_size_arguments:
    the named workload, then any count given on its own."""
    sizes = {"scale": scale, **WORKLOADS.get(args.workload or "", {})}
    for name in ("ga4_rows", "leads", "deals", "spend_rows"):
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write deterministic sample exports (native profile).")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end-month", default=None, help="YYYY-MM, last month of data (inclusive)")
    parser.add_argument("--scale", type=float, default=1.0)
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    written = generate_sample_exports(args.out, args.months, args.seed, args.end_month,
                                      **size_arguments(args, args.scale))
    for source, paths in written.items():
        print(f"{source}: {len(paths)} files")
        for path in paths:
            print(f"  {path}")


if __name__ == "__main__":
    main()
