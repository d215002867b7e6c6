"""GA4 traffic: day x (source, medium, campaign, landing page) rows with Poisson counts that
follow the calendar's weekday/holiday seasonality and growth trend; one file per month.

The sessions drawn here are also where web leads come from (leads.py) and what paid
spend follows (spend.py)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.dev.generate.formatting import date_iso
from pipelines.dev.generate.profiles import CH, CHANNELS
from pipelines.dev.generate.timeline import Calendar
from pipelines.dev.generate.writing import write_csv

GA4_COLUMNS = [
    "date", "session_source", "session_medium", "session_campaign",
    "session_default_channel_group", "landing_page", "sessions",
    "engaged_sessions", "key_events", "total_users", "new_users",
]

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


@dataclass
class Traffic:
    """The simulated GA4 traffic. Cells are (combo, landing page variant); the count arrays
    are days x cells; rows_day/rows_cell are the nonzero cells written out as rows."""
    cell_combo: np.ndarray
    cell_lp: np.ndarray
    cell_page: np.ndarray  # the landing page before its variant suffix
    cell_channel: np.ndarray  # index into CHANNELS, -1: Unassigned
    cell_grp: np.ndarray
    combo_src: np.ndarray
    combo_med: np.ndarray
    sessions: np.ndarray
    leads_cell: np.ndarray  # web leads per day and cell
    key_events: np.ndarray
    engaged: np.ndarray
    total_users: np.ndarray
    new_users: np.ndarray
    camp_table: np.ndarray  # campaign text per cell and month
    blank_month: np.ndarray  # months exported without the default channel group
    rows_day: np.ndarray
    rows_cell: np.ndarray


def ga4_replicas(rows: float, day_factor: np.ndarray, email_factor: np.ndarray, scale: float,
                 n_days: int) -> int:
    """Landing-page variants per page that give about `rows` GA4 rows: a page's traffic
    split over r variants fills r * sum(1 - exp(-lambda / r)) day cells on average
    (lambda as in simulate_traffic, without its noise)."""
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


def _cells(scale: float, replicas: int) -> list[tuple[int, str, float, str]]:
    """(combo index, landing page, base sessions per day, base page) of every cell: each page
    of each combo split over `replicas` landing-page variants."""
    cells = []
    for ci, (_src, _med, _camp, _grp, pages, _start) in enumerate(GA4_COMBOS):
        for page, base in pages:
            for j in range(replicas):
                lp = page if j == 0 else f"{page.rstrip('/')}/v{j:02d}"
                cells.append((ci, lp, base * scale / replicas, page))
    return cells


def simulate_traffic(cal: Calendar, ga4_rows: int | None) -> Traffic:
    """Sessions and their counts per day and cell, then the rows to write (exactly `ga4_rows`
    of them, picked at random, when given)."""
    rng, scale, n_days, months = cal.rng, cal.scale, cal.n_days, cal.months
    replicas = max(1, int(round(scale))) if ga4_rows is None else \
        ga4_replicas(ga4_rows * 1.03, cal.day_factor, cal.email_factor, scale, n_days)
    cells = _cells(scale, replicas)
    n_cells = len(cells)
    cell_combo = np.array([c[0] for c in cells])
    combo_grp = np.array([c[3] for c in GA4_COMBOS], dtype=object)
    combo_start = np.array([c[5] for c in GA4_COMBOS])
    combo_channel = np.array([CH.get(g, -1) for g in combo_grp])  # -1: Unassigned
    cell_channel = combo_channel[cell_combo]
    cell_grp = combo_grp[cell_combo]

    lam = cal.day_factor[:, None] * np.array([c[2] for c in cells])[None, :]
    is_email = cell_grp == "Email"
    lam[:, is_email] *= cal.email_factor[:, None]
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
    camp_table = np.empty((n_cells, months), dtype=object)
    for k in range(n_cells):
        tmpl = GA4_COMBOS[cell_combo[k]][2]
        camp_table[k, :] = [tmpl.format(ym=lab) for lab in cal.month_labels] if "{ym}" in tmpl else tmpl
    # about a third of the months come without the default channel group
    n_blank = int(round(months / 3))
    blank_month = np.zeros(months, dtype=bool)
    blank_month[rng.choice(months, size=n_blank, replace=False)] = True

    rd, rc = np.nonzero(sessions)  # GA4 rows, in date then cell order
    if ga4_rows is not None:  # exactly `ga4_rows` of them, picked at random
        if len(rd) < ga4_rows:
            raise ValueError(f"the GA4 traffic of scale {scale:g} fills only {len(rd):,} rows, "
                             f"fewer than the {ga4_rows:,} asked for: raise scale")
        keep = np.sort(rng.choice(len(rd), size=ga4_rows, replace=False))
        rd, rc = rd[keep], rc[keep]
    return Traffic(
        cell_combo=cell_combo, cell_lp=np.array([c[1] for c in cells], dtype=object),
        cell_page=np.array([c[3] for c in cells], dtype=object), cell_channel=cell_channel, cell_grp=cell_grp,
        combo_src=np.array([c[0] for c in GA4_COMBOS], dtype=object),
        combo_med=np.array([c[1] for c in GA4_COMBOS], dtype=object),
        sessions=sessions, leads_cell=leads_cell, key_events=key_events, engaged=engaged,
        total_users=total_users, new_users=new_users, camp_table=camp_table, blank_month=blank_month,
        rows_day=rd, rows_cell=rc)


def write_ga4(cal: Calendar, traffic: Traffic, out_dir: Path) -> list[Path]:
    """One file per month, ga4_sessions_YYYY-MM.csv."""
    t = traffic
    rd, rc = t.rows_day, t.rows_cell
    row_month = cal.mo_idx[rd]
    day_iso = date_iso(cal.day_num, "D")
    bounds_m = np.searchsorted(row_month, np.arange(cal.months + 1))
    written = []
    for m in range(cal.months):
        snap = cal.snapshot_date(m)
        d, c = rd[bounds_m[m]:bounds_m[m + 1]], rc[bounds_m[m]:bounds_m[m + 1]]
        part = pd.DataFrame({
            "date": day_iso[d],
            "session_source": t.combo_src[t.cell_combo[c]],
            "session_medium": t.combo_med[t.cell_combo[c]],
            "session_campaign": t.camp_table[c, m],
            "session_default_channel_group": np.full(len(d), "", dtype=object) if t.blank_month[m] else t.cell_grp[c],
            "landing_page": t.cell_lp[c],
            "sessions": t.sessions[d, c],
            "engaged_sessions": t.engaged[d, c],
            "key_events": t.key_events[d, c],
            "total_users": t.total_users[d, c],
            "new_users": t.new_users[d, c],
        }, columns=GA4_COLUMNS)
        path = out_dir / "ga4_sessions" / f"ga4_sessions_{snap:%Y-%m}.csv"
        written.append(write_csv(part, path, snap))
    return written
