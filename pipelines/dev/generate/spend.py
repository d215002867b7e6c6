"""Marketing spend: daily ad platform rows that follow the paid GA4 sessions (clicks,
impressions, CPC per platform; one file per year, spend_ads_YYYY.csv) and monthly offline
spend (spend_offline.csv)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from pipelines.dev.generate.formatting import date_iso, yen_text
from pipelines.dev.generate.ga4 import GA4_COMBOS, Traffic
from pipelines.dev.generate.profiles import EVENT_MONTHS
from pipelines.dev.generate.timeline import Calendar
from pipelines.dev.generate.writing import write_csv

SPEND_COLUMNS = ["date", "channel", "campaign", "cost", "impressions", "clicks", "currency"]

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


def _offline_items(cal: Calendar) -> Iterator[tuple[int, str, str, int, int]]:
    """(month index, channel, campaign, low, high) of every offline spend row, in file order."""
    for m in range(cal.months):
        o = cal.start_ord + m
        for chan, camp, lo, hi in OFFLINE_SPEND:
            if chan == "展示会" and (o % 12 + 1) not in EVENT_MONTHS:
                continue
            yield m, chan, camp, lo, hi


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


def _ad_rows(cal: Calendar, traffic: Traffic, spend_rows: int | None) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per day and campaign with clicks (its paid sessions plus about 15% that never
    became a GA4 session); also the day index of each row."""
    rng = cal.rng
    keys: list[tuple[str, str, float, float]] = []  # (channel, campaign, ctr, cpc)
    key_of_combo = np.full(len(GA4_COMBOS), -1)
    for ci, (src, med, camp, _g, _p, _s) in enumerate(GA4_COMBOS):
        if (src, med) in AD_PLATFORMS:
            chan, ctr, cpc = AD_PLATFORMS[(src, med)]
            key_of_combo[ci] = len(keys)
            keys.append((chan, camp, ctr, cpc))
    cell_key = key_of_combo[traffic.cell_combo]
    paid = cell_key >= 0
    indicator = np.zeros((len(traffic.cell_combo), len(keys)), dtype=np.int64)
    indicator[np.nonzero(paid)[0], cell_key[paid]] = 1
    key_sessions = traffic.sessions @ indicator  # days x keys
    clicks = key_sessions + rng.binomial(key_sessions, 0.15)
    ctr = np.array([k[2] for k in keys])
    cpc = np.array([k[3] for k in keys])
    impressions = np.round(clicks / ctr[None, :] * np.exp(rng.normal(0, 0.15, clicks.shape))).astype(np.int64)
    cost = np.round(clicks * cpc[None, :] * np.exp(rng.normal(0, 0.12, clicks.shape))).astype(np.int64)
    sd, sk = np.nonzero(clicks)
    ads = pd.DataFrame({
        "date": date_iso(cal.day_num, "D")[sd],
        "channel": np.array([k[0] for k in keys], dtype=object)[sk],
        "campaign": np.array([k[1] for k in keys], dtype=object)[sk],
        "cost": cost[sd, sk],
        "impressions": impressions[sd, sk],
        "clicks": clicks[sd, sk],
        "currency": "JPY",
    }, columns=SPEND_COLUMNS)
    if spend_rows is not None:  # the ad rows make up what the offline rows leave
        n_offline = sum(1 for _ in _offline_items(cal))
        ads, sd = _ad_group_rows(rng, ads, sd, spend_rows - n_offline)
    return ads, sd


def _offline_rows(cal: Calendar) -> pd.DataFrame:
    """Monthly offline costs, growing with the sample, in one of three money spellings."""
    rng = cal.rng
    rows: list[tuple[str, str, str, int]] = []
    for m, chan, camp, lo, hi in _offline_items(cal):
        value = int(round(rng.uniform(lo, hi) * cal.scale * cal.growth_m[m] / 10_000)) * 10_000
        rows.append((cal.year_month(m), chan, camp, value))
    styles = rng.choice(3, len(rows), p=[0.5, 0.35, 0.15])  # plain, ¥1,200,000, 1,200,000円
    cost_txt = yen_text(np.array([r[3] for r in rows], dtype=np.int64), np.array([0, 2, 3])[styles])
    return pd.DataFrame({
        "date": [r[0] for r in rows],
        "channel": [r[1] for r in rows],
        "campaign": [r[2] for r in rows],
        "cost": cost_txt,
        "impressions": "",
        "clicks": "",
        "currency": "JPY",
    }, columns=SPEND_COLUMNS)


def generate_spend(cal: Calendar, traffic: Traffic, spend_rows: int | None, out_dir: Path) -> list[Path]:
    """The ad files per year, then the offline file (exactly `spend_rows` rows in all when
    given); draws after the deals."""
    ads, sd = _ad_rows(cal, traffic, spend_rows)
    row_year = (cal.d64[sd].astype("datetime64[Y]").astype(np.int64) + 1970)
    written = []
    for year in range(cal.start_ord // 12, cal.end_ord // 12 + 1):
        part = ads[row_year == year]
        snap = min(date(year, 12, 31), cal.end)
        written.append(write_csv(part, out_dir / "spend" / f"spend_ads_{year}.csv", snap))
    written.append(write_csv(_offline_rows(cal), out_dir / "spend" / "spend_offline.csv", cal.end))
    return written
