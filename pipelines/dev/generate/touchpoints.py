"""Lead touchpoints (optional source): one file per month (touchpoints_YYYY-MM.csv) of each
lead's creation touch, its later touches, and the product demo video before a first meeting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.dev.generate.deals import DealBook
from pipelines.dev.generate.formatting import ts_iso
from pipelines.dev.generate.leads import LeadPool
from pipelines.dev.generate.profiles import CHANNELS
from pipelines.dev.generate.timeline import DAY, NEVER, Calendar
from pipelines.dev.generate.writing import write_csv

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
# Seed offset of the touchpoints' own generator: with or without them, the other files are the same.
SEED_OFFSET = 101


def _touchpoints(rng: np.random.Generator, pool: LeadPool, lead_won_t: np.ndarray, range_end: int) -> pd.DataFrame:
    """Each lead's creation touch, a few later touches, and the product demo video that leads who
    will win watch more often before their first meeting (what content_influence should find)."""
    created, lead_ids, deal_t = pool.created, pool.lead_ids, pool.deal_t
    n = len(created)
    names = np.array([c.name for c in CHANNELS], dtype=object)[pool.ch]
    first = pd.DataFrame({
        "lead_id": lead_ids, "t": created,
        "touch_type": np.array([CREATION_TOUCH.get(x, "form_submission") for x in names], dtype=object),
        "source": np.where(pool.utm_src != "", pool.utm_src, pool.lead_source), "medium": pool.utm_med,
        "campaign": pool.utm_camp, "content_id": "", "duration_seconds": ""})
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


def write_touchpoints(cal: Calendar, pool: LeadPool, book: DealBook, out_dir: Path) -> list[Path]:
    """One file per month; drawn from a generator of their own (seed + SEED_OFFSET)."""
    touch = _touchpoints(np.random.default_rng(cal.seed + SEED_OFFSET), pool, book.lead_won_t, cal.range_end)
    touch_month = touch["touched_at"].to_numpy().astype("datetime64[M]").astype(np.int64) + 1970 * 12
    touch["touched_at"] = ts_iso(touch["touched_at"].to_numpy().astype("datetime64[s]").astype(np.int64))
    written = []
    for m in range(cal.months):
        snap = cal.snapshot_date(m)
        part = touch[touch_month == cal.start_ord + m]
        path = out_dir / "touchpoints" / f"touchpoints_{snap:%Y-%m}.csv"
        written.append(write_csv(part, path, snap))
    return written
