"""MA lead list: successive full snapshots (leads_YYYY-MM-DD.csv) of every lead created so far.

Web leads are drawn from the GA4 sessions (binomial per GA4 row, 1-3% per channel); offline
channels (Webinar, Event, Partner, Outbound) have leads but no sessions. Each lead has one
full life line (MQL, SQL, disqualification, deals, win); a snapshot shows only what had
happened by its date."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd

from pipelines.dev.generate.formatting import company_names, ids, pick, raw_spellings, ts_iso, ts_slash_short
from pipelines.dev.generate.ga4 import Traffic
from pipelines.dev.generate.profiles import CH, CHANNELS, EVENT_MONTHS, OWNERS
from pipelines.dev.generate.timeline import DAY, NEVER, WORK_P, Calendar
from pipelines.dev.generate.writing import CHUNK_ROWS, write_csv

LEAD_COLUMNS = [
    "lead_id", "created_at", "lead_source", "lead_source_detail", "campaign",
    "utm_source", "utm_medium", "utm_campaign", "email", "company", "job_title",
    "lifecycle_stage", "lead_score", "mql_at", "sql_at", "disqualified_at",
    "owner", "updated_at",
]
LIFECYCLE = np.array(["lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity", "customer"])
WEB_HOURS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 7, 9, 9, 7, 8, 9, 9, 8, 7, 5, 4, 3, 3, 2, 1.5])
# Media whose sessions carry utm parameters into the lead record.
UTM_MEDIA = {"cpc", "display", "paid_social", "email", "social"}
LANDING_DETAIL = {
    "/": "お問い合わせフォーム", "/product": "資料請求", "/pricing": "料金お問い合わせ",
    "/webinar": "ウェビナー申込", "/whitepaper/dx": "ホワイトペーパー: DX推進ガイド",
    "/blog": "ブログCTA", "/case-studies": "導入事例ダウンロード", "/contact": "お問い合わせフォーム",
}
# Per-source spelling overrides (the platform shows through in the spelling).
SOURCE_SPELLINGS = {
    ("Paid Search", "yahoo"): (("Paid Search", 0.5), ("リスティング広告", 0.5)),
    ("Paid Social", "facebook"): (("Paid Social", 0.45), ("Facebook Ads", 0.55)),
    ("Paid Social", "linkedin"): (("Paid Social", 0.45), ("LinkedIn広告", 0.55)),
}
UNMAPPED_SOURCES = ("社長の知り合い", "DM (postal)", "Misc")
DEPARTMENTS = ("マーケティング部", "情報システム部", "営業部", "経営企画室", "総務部", "製造部", "DX推進室")
TITLES = ("部長", "課長", "主任", "担当", "マネージャー", "係長")
# The columns that describe where a lead came from, in the order of _Origins.
ORIGIN_FIELDS = ("created", "ch", "utm_src", "utm_med", "utm_camp", "campaign", "detail")


@dataclass
class LeadPool:
    """Every lead of the sample in creation order, with its whole life line (epoch seconds,
    NEVER: not reached); `ch` indexes CHANNELS."""
    created: np.ndarray
    ch: np.ndarray
    utm_src: np.ndarray
    utm_med: np.ndarray
    utm_camp: np.ndarray
    campaign: np.ndarray
    detail: np.ndarray
    lead_source: np.ndarray
    lead_ids: np.ndarray
    email: np.ndarray
    company: np.ndarray
    n_comp: int  # companies numbered 1..n_comp (deals entered directly draw from them too)
    job: np.ndarray
    owner: np.ndarray
    owner_from_start: np.ndarray
    created_txt: np.ndarray
    is_mql: np.ndarray
    mql_t: np.ndarray
    is_sql: np.ndarray
    sql_t: np.ndarray
    is_disq: np.ndarray
    disq_t: np.ndarray
    has_deal: np.ndarray
    deal_t: np.ndarray  # the first deal
    second: np.ndarray  # a second deal, months later
    deal2_t: np.ndarray
    hide_mql: np.ndarray  # SQLs whose export leaves mql_at blank
    score_lo: np.ndarray
    score_hi: np.ndarray
    touches: np.ndarray  # leads x 3 later activity times (they move updated_at)


class _Origins:
    """Leads per segment (web, then each offline batch) before they are put in time order."""

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {f: [] for f in ORIGIN_FIELDS}

    def add(self, **arrays: np.ndarray) -> None:
        for f in ORIGIN_FIELDS:
            self.parts[f].append(arrays[f])

    def add_offline(self, channel: str, created: np.ndarray, detail: np.ndarray, campaign: np.ndarray) -> None:
        n = len(created)
        blank = np.full(n, "", dtype=object)
        self.add(created=created.astype(np.int64), ch=np.full(n, CH[channel]), utm_src=blank,
                 utm_med=blank.copy(), utm_camp=blank.copy(), campaign=campaign.astype(object),
                 detail=detail.astype(object))


def _web_leads(cal: Calendar, traffic: Traffic, origins: _Origins) -> None:
    """One lead per converted session, at a time of day web visitors keep."""
    rng, t = cal.rng, traffic
    ld, lc = np.nonzero(t.leads_cell)
    rep = t.leads_cell[ld, lc]
    ld, lc = np.repeat(ld, rep), np.repeat(lc, rep)
    n_web = len(ld)
    web_created = (cal.day_sec[ld] + rng.choice(24, size=n_web, p=WEB_HOURS / WEB_HOURS.sum()) * 3600
                   + rng.integers(0, 60, n_web) * 60)
    web_combo = t.cell_combo[lc]
    web_has_utm = np.isin(t.combo_med[web_combo], np.array(sorted(UTM_MEDIA), dtype=object))
    web_camp = t.camp_table[lc, cal.mo_idx[ld]]
    page_detail = np.array([LANDING_DETAIL[p] for p in t.cell_page[lc]], dtype=object)
    organic = t.combo_med[web_combo] == "organic"
    origins.add(
        created=web_created, ch=t.cell_channel[lc],
        utm_src=np.where(web_has_utm, t.combo_src[web_combo], "").astype(object),
        utm_med=np.where(web_has_utm, t.combo_med[web_combo], "").astype(object),
        utm_camp=np.where(web_has_utm, web_camp, "").astype(object),
        campaign=np.where(web_has_utm, web_camp, "").astype(object),
        detail=np.where(organic, t.combo_src[web_combo], page_detail).astype(object))


PARTNER_NAMES = np.array([f"パートナー{c}社" for c in "ABCDE"], dtype=object)
OUTBOUND_DETAILS = np.array(["リスト架電", "フォーム営業", "手紙DM後架電"], dtype=object)


def _offline_month(cal: Calendar, origins: _Origins, m: int) -> None:
    """Month m's webinar, trade-show, conference, partner and outbound leads."""
    rng, dow, dom, day_sec = cal.rng, cal.dow, cal.dom, cal.day_sec
    mdays = cal.month_days(m)
    weekdays = mdays[dow[mdays] < 5]
    if len(weekdays) == 0:
        weekdays = mdays
    g = cal.growth_m[m] * cal.scale
    ym = cal.month_labels[m]
    cm = int(cal.cal_month[mdays[0]])
    # Webinars: Wednesday of week 2 and Thursday of week 4; attendees imported that evening.
    for want_dow, lo in ((2, 8), (3, 22)):
        cand = mdays[(dow[mdays] == want_dow) & (dom[mdays] >= lo) & (dom[mdays] < lo + 7)]
        if len(cand) == 0:
            continue
        wd = cand[0]
        n = rng.poisson(24 * g)
        created = day_sec[wd] + rng.integers(15, 20, n) * 3600 + rng.integers(0, 60, n) * 60
        tag = f"{ym}{int(dom[wd]):02d}"
        origins.add_offline("Webinar", created,
                            np.full(n, f"DX推進ウェビナー {tag[:4]}-{tag[4:6]}-{tag[6:]}", dtype=object),
                            np.full(n, f"webinar_{tag}", dtype=object))
    # Trade shows: three days from the first Wednesday on/after the 10th; small ones otherwise.
    show = mdays[(dow[mdays] == 2) & (dom[mdays] >= 10)]
    if cm in EVENT_MONTHS and len(show):  # a month cut short by end_date may end before its show
        n = rng.poisson(115 * g)
        created = ((cal.day_num[show[0]] + rng.integers(0, 3, n)) * DAY + rng.integers(17, 22, n) * 3600
                   + rng.integers(0, 60, n) * 60)
        created = created[created <= cal.range_end]  # or during it
        season = {2: "春", 6: "夏", 10: "秋"}[cm]
        origins.add_offline("Event", created,
                            np.full(len(created), f"ITソリューション展 {ym[:4]} {season}", dtype=object),
                            np.full(len(created), f"expo_{ym}", dtype=object))
    n = rng.poisson(4 * g)
    dd = rng.choice(weekdays, n)
    origins.add_offline("Event", day_sec[dd] + rng.choice(24, n, p=WORK_P) * 3600 + rng.integers(0, 60, n) * 60,
                        np.full(n, "業界カンファレンス 名刺交換", dtype=object),
                        np.full(n, f"conference_{ym}", dtype=object))
    n = rng.poisson(12 * g)
    dd = rng.choice(weekdays, n)
    origins.add_offline("Partner", day_sec[dd] + rng.choice(24, n, p=WORK_P) * 3600 + rng.integers(0, 60, n) * 60,
                        PARTNER_NAMES[rng.integers(0, len(PARTNER_NAMES), n)],
                        np.full(n, "partner_program", dtype=object))
    n = rng.poisson(28 * g)
    dd = rng.choice(weekdays, n)
    origins.add_offline("Outbound", day_sec[dd] + rng.choice(24, n, p=WORK_P) * 3600 + rng.integers(0, 60, n) * 60,
                        OUTBOUND_DETAILS[rng.integers(0, len(OUTBOUND_DETAILS), n)],
                        np.full(n, f"outbound_list_{ym}", dtype=object))


def _in_time_order(cal: Calendar, origins: _Origins, leads: int | None) -> dict[str, np.ndarray]:
    """All segments in creation order; exactly `leads` of them, picked at random, when given."""
    created = np.concatenate(origins.parts["created"])
    order = np.argsort(created, kind="stable")
    out = {f: created[order] if f == "created" else np.concatenate(origins.parts[f])[order] for f in ORIGIN_FIELDS}
    n_leads = len(created)
    if leads is not None:
        if n_leads < leads:
            raise ValueError(f"scale {cal.scale:g} gives {n_leads:,} leads, fewer than the {leads:,} asked for: "
                             f"raise scale to about {cal.scale * leads / n_leads * 1.02:.0f}")
        keep = np.sort(cal.rng.choice(n_leads, size=leads, replace=False))
        out = {f: a[keep] for f, a in out.items()}
    return out


def _lead_sources(rng: np.random.Generator, o: dict[str, np.ndarray]) -> np.ndarray:
    """Raw lead_source spellings per channel; ~1% with a value no rule maps (only among leads
    without utm, their detail blanked too), ~2% with utm only."""
    ch, utm_src, utm_med = o["ch"], o["utm_src"], o["utm_med"]
    n_leads = len(ch)
    lead_source = np.empty(n_leads, dtype=object)
    for ci, prof in enumerate(CHANNELS):
        idx = np.nonzero(ch == ci)[0]
        lead_source[idx] = pick(rng, prof.lead_sources, len(idx))
        for (cname, src), options in SOURCE_SPELLINGS.items():
            if cname == prof.name:
                sub = idx[utm_src[idx] == src]
                lead_source[sub] = pick(rng, options, len(sub))
    lead_source = raw_spellings(rng, lead_source)
    no_utm = np.nonzero(utm_src == "")[0]
    k = min(len(no_utm), int(round(0.01 * n_leads)))
    unmapped = rng.choice(no_utm, size=k, replace=False)
    lead_source[unmapped] = np.array(UNMAPPED_SOURCES, dtype=object)[rng.integers(0, len(UNMAPPED_SOURCES), k)]
    o["detail"][unmapped] = ""
    with_utm = np.nonzero(np.isin(utm_med, np.array(["cpc", "email", "paid_social", "display"], dtype=object)))[0]
    k = min(len(with_utm), int(round(0.02 * n_leads)))
    lead_source[rng.choice(with_utm, size=k, replace=False)] = ""
    return lead_source


def _people(rng: np.random.Generator, created: np.ndarray, ch: np.ndarray) -> dict:
    """Ids, e-mail, company, job title, owner, and created_at in one of three spellings."""
    n_leads = len(created)
    num = np.arange(1, n_leads + 1).astype(str)
    tld = np.where(rng.random(n_leads) < 0.7, "@example.com", "@example.jp")
    n_comp = max(50, int(n_leads * 0.6))
    comp_no = rng.integers(1, n_comp + 1, n_leads)
    job = np.strings.add(np.strings.add(
        np.array(DEPARTMENTS)[rng.integers(0, len(DEPARTMENTS), n_leads)], " "),
        np.array(TITLES)[rng.integers(0, len(TITLES), n_leads)]).astype(object)
    job[rng.random(n_leads) < 0.08] = ""
    owner = np.array(OWNERS, dtype=object)[rng.integers(0, len(OWNERS), n_leads)]
    fmt = rng.choice(3, size=n_leads, p=[0.78, 0.12, 0.10])
    created_txt = ts_iso(created).astype(object)
    iso_zone = fmt == 1
    created_txt[iso_zone] = np.strings.add(
        np.strings.replace(ts_iso(created[iso_zone]), " ", "T"), "+09:00")
    slash = fmt == 2
    created_txt[slash] = ts_slash_short(created[slash])
    return dict(lead_ids=ids("L", n_leads, 6), email=np.strings.add(np.strings.add("user", num), tld).astype(object),
                company=company_names(comp_no), n_comp=n_comp, job=job, owner=owner,
                owner_from_start=np.isin(ch, [CH["Outbound"], CH["Partner"], CH["Event"]]),
                created_txt=created_txt)


def _life_lines(cal: Calendar, created: np.ndarray, ch: np.ndarray) -> dict:
    """MQL, SQL, disqualification, first and second deal, lead scores and later activity."""
    rng, later = cal.rng, cal.later_work_time
    n_leads = len(created)

    def p(attr: str) -> np.ndarray:
        return np.array([getattr(c, attr) for c in CHANNELS])[ch]

    is_mql = rng.random(n_leads) < p("lead_to_mql")
    mql_delay = np.where(rng.random(n_leads) < 0.35, rng.integers(300, 7200, n_leads),
                         np.minimum(rng.exponential(12 * DAY, n_leads), 180 * DAY).astype(np.int64) + 3600)
    mql_t = np.where(is_mql, created + mql_delay, NEVER)
    is_sql = is_mql & (rng.random(n_leads) < p("mql_to_sql"))
    # sales-side events happen on later days, during working hours
    sql_days = 1 + np.minimum(rng.gamma(2.0, 9.0, n_leads), 120).astype(np.int64)
    sql_t = np.where(is_sql, later(np.where(is_mql, mql_t, 0), sql_days), NEVER)
    is_disq = is_mql & ~is_sql & (rng.random(n_leads) < 0.45)
    disq_t = np.where(is_disq, later(np.where(is_mql, mql_t, 0), rng.integers(7, 75, n_leads)), NEVER)
    has_deal = is_sql & (rng.random(n_leads) < p("sql_to_deal"))
    deal_t = np.where(has_deal, later(np.where(is_sql, sql_t, 0), rng.integers(1, 21, n_leads)), NEVER)
    second = has_deal & (rng.random(n_leads) < 0.03)
    deal2_t = np.where(second, later(np.where(has_deal, deal_t, 0), rng.integers(90, 300, n_leads)), NEVER)
    hide_mql = is_sql & (rng.random(n_leads) < 0.10)
    score_lo = rng.integers(0, 96, n_leads)
    score_hi = rng.integers(70, 151, n_leads)
    # later activity (score changes, form fills, notes) during working hours
    touch_day = created[:, None] // DAY + np.cumsum(np.ceil(rng.exponential(45, (n_leads, 3))), axis=1).astype(np.int64)
    touches = (touch_day * DAY + rng.choice(24, (n_leads, 3), p=WORK_P) * 3600
               + rng.integers(0, 3600, (n_leads, 3)))
    return dict(is_mql=is_mql, mql_t=mql_t, is_sql=is_sql, sql_t=sql_t, is_disq=is_disq, disq_t=disq_t,
                has_deal=has_deal, deal_t=deal_t, second=second, deal2_t=deal2_t, hide_mql=hide_mql,
                score_lo=score_lo, score_hi=score_hi, touches=touches)


def simulate_leads(cal: Calendar, traffic: Traffic, leads: int | None) -> LeadPool:
    """Every lead (exactly `leads` when given) and its life line; draws after the GA4 traffic."""
    origins = _Origins()
    _web_leads(cal, traffic, origins)
    for m in range(cal.months):
        _offline_month(cal, origins, m)
    o = _in_time_order(cal, origins, leads)
    lead_source = _lead_sources(cal.rng, o)
    people = _people(cal.rng, o["created"], o["ch"])
    return LeadPool(**o, lead_source=lead_source, **people, **_life_lines(cal, o["created"], o["ch"]))


@dataclass
class _SnapshotInputs:
    """What every snapshot of the lead list reads, computed once."""
    lead_won_t: np.ndarray  # the lead's first won deal
    mql_txt: np.ndarray
    sql_txt: np.ndarray
    disq_txt: np.ndarray
    events: np.ndarray  # leads x every time that moves updated_at


def _lead_chunks(q: LeadPool, s: _SnapshotInputs, rows: np.ndarray, cut: int) -> Iterator[pd.DataFrame]:
    """The snapshot at `cut` of the leads `rows`, CHUNK_ROWS at a time."""
    lead_won_t, mql_txt, sql_txt, disq_txt, events = s.lead_won_t, s.mql_txt, s.sql_txt, s.disq_txt, s.events
    for start in range(0, max(len(rows), 1), CHUNK_ROWS):
        idx = rows[start:start + CHUNK_ROWS]
        stage = ((q.mql_t[idx] <= cut).astype(int) + (q.sql_t[idx] <= cut) + (q.deal_t[idx] <= cut)
                 + (lead_won_t[idx] <= cut))
        ev = events[idx]
        updated = np.where(ev <= cut, ev, -1).max(axis=1)
        yield pd.DataFrame({
            "lead_id": q.lead_ids[idx],
            "created_at": q.created_txt[idx],
            "lead_source": q.lead_source[idx],
            "lead_source_detail": q.detail[idx],
            "campaign": q.campaign[idx],
            "utm_source": q.utm_src[idx],
            "utm_medium": q.utm_med[idx],
            "utm_campaign": q.utm_camp[idx],
            "email": q.email[idx],
            "company": q.company[idx],
            "job_title": q.job[idx],
            "lifecycle_stage": LIFECYCLE[stage],
            "lead_score": np.where(stage >= 1, q.score_hi[idx], q.score_lo[idx]),
            "mql_at": np.where((q.mql_t[idx] <= cut) & ~q.hide_mql[idx], mql_txt[idx], ""),
            "sql_at": np.where(q.sql_t[idx] <= cut, sql_txt[idx], ""),
            "disqualified_at": np.where(q.disq_t[idx] <= cut, disq_txt[idx], ""),
            "owner": np.where((stage >= 1) | q.owner_from_start[idx], q.owner[idx], ""),
            "updated_at": ts_iso(updated),
        }, columns=LEAD_COLUMNS)


def write_lead_snapshots(cal: Calendar, pool: LeadPool, lead_won_t: np.ndarray, out_dir: Path) -> list[Path]:
    """Four snapshots (18, 12, 6 and 0 months back when the range allows); a lead counts as a
    customer from its first won deal (`lead_won_t`, from the deals)."""
    q = pool
    inputs = _SnapshotInputs(
        lead_won_t=lead_won_t,
        mql_txt=ts_iso(np.where(q.is_mql, q.mql_t, 0)).astype(object),
        sql_txt=ts_iso(np.where(q.is_sql, q.sql_t, 0)).astype(object),
        disq_txt=ts_iso(np.where(q.is_disq, q.disq_t, 0)).astype(object),
        events=np.column_stack([q.created, q.mql_t, q.sql_t, q.disq_t, q.deal_t, lead_won_t, q.touches]))
    written = []
    snaps = cal.snapshot_months(4, (18, 12, 6, 0))
    for si, m in enumerate(snaps):
        snap = cal.snapshot_date(m)
        cut = cal.cut(snap)
        idx = np.nonzero(pool.created <= cut)[0]
        if si == len(snaps) - 1 and len(snaps) > 1:
            idx = idx[int(round(0.03 * len(idx))):]  # exported "with a filter"
        path = out_dir / "leads" / f"leads_{snap.isoformat()}.csv"
        written.append(write_csv(_lead_chunks(pool, inputs, idx, cut), path, snap))
    return written
