"""generate_sample_exports: the sources in the order they draw from the shared calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pipelines.dev.generate.deals import simulate_deals, write_deal_snapshots
from pipelines.dev.generate.ga4 import simulate_traffic, write_ga4
from pipelines.dev.generate.leads import simulate_leads, write_lead_snapshots
from pipelines.dev.generate.spend import generate_spend
from pipelines.dev.generate.timeline import Calendar, end_of_data
from pipelines.dev.generate.touchpoints import write_touchpoints
from pipelines.dev.generate.video import write_video

SOURCES = ("ga4_sessions", "leads", "deals", "spend", "touchpoints", "video")


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
    video: bool = True,
    end_date: date | None = None,
) -> dict[str, list[Path]]:
    """Writes out_dir/{ga4_sessions,leads,deals,spend,touchpoints,video}/*.csv; returns the paths written per source.

    Volumes follow `scale`, unless given as exact counts: `ga4_rows` GA4 rows
    (landing-page variants are added, then rows left out at random), `leads`
    distinct leads over all snapshots (left out at random; scale must give at
    least as many), `deals` distinct deals (beyond those of leads, deals entered
    in the CRM directly), `spend_rows` spend rows (ad rows split into ad groups).
    `touchpoints=False` leaves the optional touchpoints folder out, `video=False` the YouTube Studio exports
    (video/) and the touches of the leads who watched the videos (touchpoints/youtube_views_*.csv).

    `end_month` ("YYYY-MM") is the last month of data, inclusive (default: the
    month before this one). `end_date` instead is the last day of data: the last
    of the `months` months then ends on that day (its snapshots and files are
    dated `end_date`); give one or the other. The content is a pure function of
    (months, seed, end_month or end_date, scale and the counts). Each file's mtime is its
    snapshot date at 06:00 Asia/Tokyo: a lead/deal snapshot's date, else the
    last day of the period the file covers; file names sort in the same order.
    """
    if months < 1:
        raise ValueError("months must be >= 1")
    if scale <= 0:
        raise ValueError("scale must be > 0")
    cal = Calendar(months, seed, end_of_data(end_month, end_date), scale)
    out_dir = Path(out_dir)
    written: dict[str, list[Path]] = {s: [] for s in SOURCES if (touchpoints or s != "touchpoints")
                                      and (video or s != "video")}
    # The order of these calls is the order of draws from cal.rng: changing it changes every file.
    traffic = simulate_traffic(cal, ga4_rows)
    pool = simulate_leads(cal, traffic, leads)
    book = simulate_deals(cal, pool, deals)
    written["leads"] = write_lead_snapshots(cal, pool, book.lead_won_t, out_dir)
    written["deals"] = write_deal_snapshots(cal, book, out_dir)
    if touchpoints:
        written["touchpoints"] = write_touchpoints(cal, pool, book, out_dir)
    written["ga4_sessions"] = write_ga4(cal, traffic, out_dir)
    written["spend"] = generate_spend(cal, traffic, spend_rows, out_dir)
    if video:  # from a generator of its own: the files above are the same with or without it
        written["video"], watched = write_video(cal, pool, book, out_dir, touches=touchpoints)
        written.get("touchpoints", []).extend(watched)
    return written
