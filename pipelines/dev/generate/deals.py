"""CRM deals: successive full snapshots (deals_YYYY-MM-DD.csv) of every deal created so far.

Most deals come from the leads' life lines (first and second deal); the rest were entered in
the CRM directly, some with a deal source and some with none. A snapshot shows each deal's
stage as of its date: open stages at 25/50/75% of the way to the close, then won or lost."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.dev.generate.formatting import company_names, date_iso, date_slash, ids, pick, raw_spellings, \
    ts_iso, yen_text
from pipelines.dev.generate.leads import LeadPool
from pipelines.dev.generate.profiles import CH, CHANNELS, GENERIC, OWNERS, UNATTRIBUTED
from pipelines.dev.generate.timeline import DAY, DOW_FACTOR, NEVER, WORK_P, Calendar
from pipelines.dev.generate.writing import write_csv

DEAL_COLUMNS = [
    "deal_id", "created_at", "stage", "lead_id", "deal_source", "amount",
    "currency", "close_date", "company", "owner", "pipeline", "updated_at",
]
STAGES_EN = np.array(["Prospecting", "Qualification", "Proposal", "Negotiation"])
STAGES_JP = np.array(["商談中", "商談中", "提案", "提案"])


@dataclass
class DealBook:
    """Every deal known by the end of data, in creation order, with its outcome. `ch` indexes
    CHANNELS (UNATTRIBUTED: no source); `lead` indexes the LeadPool (-1: entered directly)."""
    created: np.ndarray
    lead: np.ndarray
    ch: np.ndarray
    deal_ids: np.ndarray
    won: np.ndarray
    close_t: np.ndarray
    amount_txt: np.ndarray
    close_txt: np.ndarray
    jp: np.ndarray  # entered with Japanese stage and pipeline names
    won_txt: np.ndarray
    lost_txt: np.ndarray
    pipeline: np.ndarray
    company: np.ndarray
    owner: np.ndarray
    source: np.ndarray
    lead_id: np.ndarray
    created_txt: np.ndarray
    lead_won_t: np.ndarray  # per lead: its earliest won deal's close, NEVER if none


def _deal_starts(cal: Calendar, pool: LeadPool, deals: int | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Creation time, lead index and channel of every deal created by the end of data (exactly
    `deals` when given), in time order."""
    rng = cal.rng
    l1 = np.nonzero(pool.has_deal)[0]
    l2 = np.nonzero(pool.second)[0]
    range_end = cal.range_end
    n_lead_deals = int((pool.deal_t[l1] <= range_end).sum() + (pool.deal2_t[l2] <= range_end).sum())
    if deals is None:
        n_src = rng.poisson(n_lead_deals * 0.08 / 0.90)
        n_none = rng.poisson(n_lead_deals * 0.02 / 0.90)
    else:  # deals beyond those of leads were entered in the CRM directly (80% with a deal source)
        n_src = int(round(max(0, deals - n_lead_deals) * 0.8))
        n_none = max(0, deals - n_lead_deals) - n_src
    src_channels = np.array([CH["Partner"], CH["Event"], CH["Outbound"], CH["Direct"], CH["Referral"]])
    src_ch = src_channels[rng.choice(len(src_channels), n_src, p=[0.35, 0.2, 0.25, 0.1, 0.1])]
    day_w = cal.trend * DOW_FACTOR[cal.dow] * cal.holiday
    other_day = rng.choice(cal.n_days, n_src + n_none, p=day_w / day_w.sum())
    other_created = cal.day_sec[other_day] + rng.choice(24, n_src + n_none, p=WORK_P) * 3600 \
        + rng.integers(0, 3600, n_src + n_none)
    d_created = np.concatenate([pool.deal_t[l1], pool.deal2_t[l2], other_created])
    d_lead = np.concatenate([l1, l2, np.full(n_src + n_none, -1)])
    d_ch = np.concatenate([pool.ch[l1], pool.ch[l2], src_ch, np.full(n_none, UNATTRIBUTED)])
    keep = d_created <= range_end  # deals after the last month are not known yet
    if deals is not None and keep.sum() > deals:  # more deals from leads than asked for: drop some
        keep[rng.choice(np.nonzero(keep)[0], int(keep.sum()) - deals, replace=False)] = False
    d_order = np.argsort(d_created[keep], kind="stable")
    return d_created[keep][d_order], d_lead[keep][d_order], d_ch[keep][d_order]


def _outcomes(rng: np.random.Generator, d_created: np.ndarray, d_ch: np.ndarray) -> dict:
    """Win or loss, close time, amount, and the text spellings the CRM shows them in."""
    n_deals = len(d_created)

    def dp(attr: str) -> np.ndarray:
        return np.array([getattr(c, attr) for c in CHANNELS] + [GENERIC[attr]])[d_ch]

    won = rng.random(n_deals) < dp("win_rate")
    cycle = np.clip(np.exp(rng.normal(np.log(dp("cycle_median_days")), 0.45)), 20, 150).astype(np.int64)
    close_day = d_created // DAY + cycle
    close_t = close_day * DAY + rng.integers(10, 19, n_deals) * 3600 + rng.integers(0, 3600, n_deals)
    amount = np.clip(np.exp(rng.normal(np.log(dp("deal_median_jpy")), 0.55)), 300_000, 5_000_000)
    amount = (np.round(amount / 10_000) * 10_000).astype(np.int64)
    amount_txt = yen_text(amount, rng.choice(4, n_deals, p=[0.6, 0.2, 0.1, 0.1]))
    close_txt = np.where(rng.random(n_deals) < 0.8, date_iso(close_day, "D"), date_slash(close_day)).astype(object)
    jp = rng.random(n_deals) < 0.3
    return dict(won=won, close_t=close_t, amount_txt=amount_txt, close_txt=close_txt, jp=jp,
                won_txt=np.where(jp, "受注", "Closed Won"), lost_txt=np.where(jp, "失注", "Closed Lost"),
                pipeline=np.where(jp, "新規開拓", "Sales Pipeline").astype(object))


def _attribution(rng: np.random.Generator, pool: LeadPool, d_lead: np.ndarray, d_ch: np.ndarray) -> dict:
    """Company, owner, lead id and deal source: a lead's deal takes its company and owner and
    sometimes copies its lead_source; a direct deal gets its own."""
    n_deals = len(d_lead)
    linked = d_lead >= 0
    lead_of = np.where(linked, d_lead, 0)
    company = np.where(linked, pool.company[lead_of], company_names(rng.integers(1, pool.n_comp + 1, n_deals)))
    owner = np.where(linked, pool.owner[lead_of],
                     np.array(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), n_deals)])
    source = np.full(n_deals, "", dtype=object)
    copy_src = linked & (rng.random(n_deals) < 0.25)
    source[copy_src] = pool.lead_source[lead_of[copy_src]]
    src_only = ~linked & (d_ch != UNATTRIBUTED)
    for ci, prof in enumerate(CHANNELS):
        idx = np.nonzero(src_only & (d_ch == ci))[0]
        source[idx] = pick(rng, prof.lead_sources, len(idx))
    source[src_only] = raw_spellings(rng, source[src_only])
    return dict(company=company, owner=owner, source=source,
                lead_id=np.where(linked, pool.lead_ids[lead_of], "").astype(object))


def simulate_deals(cal: Calendar, pool: LeadPool, deals: int | None) -> DealBook:
    """Every deal and its outcome; draws after the leads."""
    d_created, d_lead, d_ch = _deal_starts(cal, pool, deals)
    outcomes = _outcomes(cal.rng, d_created, d_ch)
    attribution = _attribution(cal.rng, pool, d_lead, d_ch)
    # the lead's win: its earliest won deal
    lead_won_t = np.full(len(pool.created), NEVER)
    wl = (d_lead >= 0) & outcomes["won"]
    np.minimum.at(lead_won_t, d_lead[wl], outcomes["close_t"][wl])
    return DealBook(created=d_created, lead=d_lead, ch=d_ch, deal_ids=ids("D", len(d_created), 5), **outcomes,
                    **attribution, created_txt=ts_iso(d_created).astype(object), lead_won_t=lead_won_t)


def write_deal_snapshots(cal: Calendar, book: DealBook, out_dir: Path) -> list[Path]:
    """Three snapshots spread over the range, the last at the end of data."""
    b = book
    # open-stage boundaries at 25/50/75% of the way to the close
    span = b.close_t - b.created
    bounds = b.created[:, None] + (span[:, None] * np.array([0, 1, 2, 3])[None, :]) // 4
    written = []
    for m in cal.snapshot_months(3, None):
        snap = cal.snapshot_date(m)
        cut = cal.cut(snap)
        idx = np.nonzero(b.created <= cut)[0]
        closed = b.close_t[idx] <= cut
        step = (bounds[idx] <= cut).sum(axis=1) - 1
        open_txt = np.where(b.jp[idx], STAGES_JP[step], STAGES_EN[step])
        stage_txt = np.where(closed, np.where(b.won[idx], b.won_txt[idx], b.lost_txt[idx]), open_txt)
        updated = np.where(closed, b.close_t[idx], bounds[idx, step])
        df = pd.DataFrame({
            "deal_id": b.deal_ids[idx],
            "created_at": b.created_txt[idx],
            "stage": stage_txt,
            "lead_id": b.lead_id[idx],
            "deal_source": b.source[idx],
            "amount": b.amount_txt[idx],
            "currency": "JPY",
            "close_date": np.where(closed, b.close_txt[idx], ""),
            "company": b.company[idx],
            "owner": b.owner[idx],
            "pipeline": b.pipeline[idx],
            "updated_at": ts_iso(updated),
        }, columns=DEAL_COLUMNS)
        written.append(write_csv(df, out_dir / "deals" / f"deals_{snap.isoformat()}.csv", snap))
    return written
