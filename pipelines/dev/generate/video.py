"""The sample company's YouTube channel (optional source video/): one Studio export per month, as Studio's
"Export current view" of the Content tab unpacks in the Japanese UI (表データ.csv, グラフデータ.csv, 合計.csv in a
folder named after the range), and the leads who watched its videos (touchpoints/youtube_views_YYYY-MM.csv).
Drawn from a generator of its own (seed + SEED_OFFSET): with or without them, every other file is the same.

The folder's name is Studio's zip name with the range as Studio writes it in English ("Content 2026-07-01_
2026-07-31 <channel>"); the Japanese UI's zip name was not seen, only the range in it is read. The Total row
(合計) is the channel's: the listed videos and the views of videos no longer listed, so not their sum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipelines.dev.generate.deals import DealBook
from pipelines.dev.generate.formatting import date_iso, ts_iso
from pipelines.dev.generate.leads import LeadPool
from pipelines.dev.generate.timeline import DAY, NEVER, Calendar
from pipelines.dev.generate.touchpoints import TOUCH_COLUMNS
from pipelines.dev.generate.writing import write_csv

SEED_OFFSET = 202
CHANNEL = "funnel sync 公式"
# (id, title, length in seconds, days after the first day of data it is published, views a day at launch,
#  views a day a year on, impressions CTR, share of a video watched); ids as the shipped config/video_costs.csv
VIDEOS = (
    ("Kq3vD9xTp2A", "【3分でわかる】funnel sync 製品デモ", 185, -120, 60.0, 12.0, 0.062, 0.71),
    ("mB7wR4nYc8E", "導入事例：製造業A社がリード管理を自動化するまで", 642, 45, 45.0, 6.0, 0.048, 0.52),
    ("-fT2hL6sQ1Z", "ウェビナー録画：BtoBファネルの逆算設計", 2710, 100, 30.0, 4.0, 0.031, 0.28),
    ("Xz8pN3uJk5W", "初期設定ガイド：CSVを取り込むまで", 420, 160, 20.0, 8.0, 0.055, 0.61),
    ("aV1cE7gHr0Q", "MQLの定義を決める：営業とマーケの合意のつくり方", 905, 250, 35.0, 5.0, 0.041, 0.44),
    ("Tn5yB2mWd4K", "料金プランの選び方", 240, 340, 25.0, 7.0, 0.058, 0.66),
)
FROM_IMPRESSIONS = 0.7  # share of views that come from a thumbnail impression (the rest: links, embeds)
UNLISTED_SHARE = 0.04  # views of videos no longer listed: in the Total row and Totals, in no video row
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
TABLE_COLUMNS = ["コンテンツ", "動画のタイトル", "動画公開時刻", "長さ", "エンゲージ ビュー", "平均視聴時間", "平均視聴率 (%)",
                 "視聴回数", "総再生時間（単位: 時間）", "チャンネル登録者", "インプレッション数",
                 "インプレッションのクリック率 (%)"]
CHART_COLUMNS = ["日付", "コンテンツ", "動画のタイトル", "動画公開時刻", "長さ", "視聴回数"]


def _studio_date(day: int) -> str:
    """A day number as Studio writes a publish time, in English whatever the UI: 'Feb 22, 2024'."""
    d = pd.Timestamp(day, unit="D")
    return f"{MONTHS[d.month - 1]} {d.day}, {d.year}"


def _as_written(video_id: str) -> str:
    """An id as Studio writes it: with a space before an id starting with '-', which a spreadsheet would take
    for a formula (write_csv would put an apostrophe before it instead); the loader trims the space."""
    return f" {video_id}" if video_id.startswith("-") else video_id


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def _daily(rng: np.random.Generator, cal: Calendar) -> dict[str, np.ndarray]:
    """Per video and day of the calendar (arrays of shape videos x days): views, views that came from an
    impression, impressions, watch seconds and subscribers, zero before the video is published."""
    n, days = len(VIDEOS), cal.n_days
    published = np.array([cal.day_num[0] + v[3] for v in VIDEOS])[:, None]
    age = cal.day_num[None, :] - published
    launch, later = np.array([v[4] for v in VIDEOS])[:, None], np.array([v[5] for v in VIDEOS])[:, None]
    # a launch peak decaying over the first weeks to a long tail, following the weekday and season of the site
    rate = (later + (launch - later) * np.exp(-np.maximum(age, 0) / 30.0)) * cal.day_factor[None, :]
    views = np.where(age >= 0, rng.poisson(rate * np.exp(rng.normal(0, 0.15, (n, days)))), 0)
    from_impressions = rng.binomial(views, FROM_IMPRESSIONS)
    ctr = np.array([v[6] for v in VIDEOS])[:, None]
    impressions = from_impressions + rng.poisson(from_impressions * (1 - ctr) / ctr)
    watched = np.clip(np.array([v[7] for v in VIDEOS])[:, None] + rng.normal(0, 0.05, (n, days)), 0.05, 1.2)
    watch_seconds = views * np.array([v[2] for v in VIDEOS])[:, None] * watched
    subscribers = rng.binomial(views, 0.004) - rng.binomial(views, 0.001)
    return {"views": views, "from_impressions": from_impressions, "impressions": impressions,
            "watch_seconds": watch_seconds, "subscribers": subscribers, "published": published[:, 0]}


def _table_row(values: dict[str, float], length: int | None) -> list:
    """The metrics of a Table data row from sums over its days, rounded as Studio writes them."""
    views, watch = values["views"], values["watch_seconds"]
    return [values["views"], _hms(watch / views) if views else "0:00:00",
            f"{100 * watch / (views * length):.2f}" if views and length else "",
            values["views"], f"{watch / 3600:.4f}", values["subscribers"], values["impressions"],
            f"{100 * values['from_impressions'] / values['impressions']:.2f}" if values["impressions"] else "0.00"]


def _month_export(cal: Calendar, daily: dict[str, np.ndarray], m: int, extra: np.ndarray, out_dir: Path
                  ) -> list[Path]:
    """Month m's three files, in a folder named after its range as Studio names the export."""
    days = cal.month_days(m)
    first, last = cal.day_num[days[0]], cal.day_num[days[-1]]
    folder = out_dir / "video" / f"Content {date_iso([first], 'D')[0]}_{date_iso([last], 'D')[0]} {CHANNEL}"
    snapshot = cal.snapshot_date(m)
    listed = [i for i, v in enumerate(VIDEOS) if daily["published"][i] <= last]
    sums = {k: daily[k][:, days].sum(axis=1) for k in ("views", "from_impressions", "impressions", "subscribers")}
    sums["watch_seconds"] = daily["watch_seconds"][:, days].sum(axis=1)
    rows = [[VIDEOS[i][0], VIDEOS[i][1], _studio_date(daily["published"][i]), VIDEOS[i][2],
             *_table_row({k: v[i] for k, v in sums.items()}, VIDEOS[i][2])] for i in listed]
    total = {k: v[listed].sum() for k, v in sums.items()}
    unlisted = int(extra[days].sum())
    total["views"] += unlisted
    total["watch_seconds"] += unlisted * 60.0
    total_row = ["合計", "", "", "", *_table_row(total, None)]  # no length: no percentage viewed
    table = pd.DataFrame([total_row] + rows, columns=TABLE_COLUMNS)
    table["コンテンツ"] = table["コンテンツ"].map(_as_written)
    written = [write_csv(table, folder / "表データ.csv", snapshot)]
    chart = [[day, _as_written(VIDEOS[i][0]), VIDEOS[i][1],
              _studio_date(daily["published"][i]), VIDEOS[i][2], int(daily["views"][i, d])]
             for d, day in zip(days, date_iso(cal.day_num[days], "D")) for i in listed
             if cal.day_num[d] >= daily["published"][i]]
    written.append(write_csv(pd.DataFrame(chart, columns=CHART_COLUMNS), folder / "グラフデータ.csv", snapshot))
    channel = daily["views"][:, days].sum(axis=0) + extra[days]
    written.append(write_csv(pd.DataFrame({"日付": date_iso(cal.day_num[days], "D"), "視聴回数": channel}),
                             folder / "合計.csv", snapshot))
    return written


def _watch_touches(rng: np.random.Generator, cal: Calendar, pool: LeadPool, lead_won_t: np.ndarray,
                   daily: dict[str, np.ndarray]) -> pd.DataFrame:
    """Leads who watched a video: 6% of leads a few days before they were created (the video brought them,
    from YouTube), 10% of MQLs between creation and MQL, and before the first meeting 40% of the leads who
    will win and 18% of the others. Each names the video by its id, its youtu.be URL or its title."""
    created, n = pool.created, len(pool.created)
    published = daily["published"] * DAY
    popularity = np.array([v[4] + v[5] for v in VIDEOS], dtype=float)
    parts = []
    for who, start, end, source in (
            (rng.random(n) < 0.06, created - 14 * DAY, created - DAY, "youtube"),
            (pool.is_mql & (rng.random(n) < 0.10), created + 60, pool.mql_t, ""),
            ((pool.deal_t < NEVER) & (rng.random(n) < np.where(lead_won_t < NEVER, 0.40, 0.18)),
             pool.deal_t - 7 * DAY, pool.deal_t - DAY, "")):
        idx = np.nonzero(who & (end > start))[0]
        t = start[idx] + (rng.random(len(idx)) * (end[idx] - start[idx])).astype(np.int64)
        video = rng.choice(len(VIDEOS), len(idx), p=popularity / popularity.sum())
        seen = (t >= published[video]) & (t <= cal.range_end)
        idx, t, video = idx[seen], t[seen], video[seen]
        way = rng.choice(3, len(idx), p=[0.5, 0.3, 0.2])
        ids = np.array([v[0] for v in VIDEOS], dtype=object)[video]
        written_ids = np.array([_as_written(i) for i in ids], dtype=object)
        content = np.where(way == 0, written_ids, np.where(way == 1, "https://youtu.be/" + ids,
                                                   np.array([v[1] for v in VIDEOS], dtype=object)[video]))
        parts.append(pd.DataFrame({
            "lead_id": pool.lead_ids[idx], "t": t, "touch_type": "video_view", "source": source, "medium": "",
            "campaign": "", "content_id": content,
            "duration_seconds": (np.array([v[2] for v in VIDEOS])[video] * rng.uniform(0.2, 1.0, len(idx))
                                 ).astype(np.int64).astype(str)}))
    out = pd.concat(parts, ignore_index=True).sort_values(["t", "lead_id"], kind="stable")
    return out.reset_index(drop=True)


def write_video(cal: Calendar, pool: LeadPool, book: DealBook, out_dir: Path, touches: bool = True
                ) -> tuple[list[Path], list[Path]]:
    """(the Studio exports, one folder per month; the touch files, one per month: none without `touches`)."""
    rng = np.random.default_rng(cal.seed + SEED_OFFSET)
    daily = _daily(rng, cal)
    extra = rng.poisson(UNLISTED_SHARE * daily["views"].sum(axis=0))
    exports = [p for m in range(cal.months) for p in _month_export(cal, daily, m, extra, out_dir)]
    if not touches:
        return exports, []
    touch = _watch_touches(rng, cal, pool, book.lead_won_t, daily)
    month = touch["t"].to_numpy().astype("datetime64[s]").astype("datetime64[M]").astype(np.int64) + 1970 * 12
    touch["touched_at"] = ts_iso(touch.pop("t").to_numpy())
    written = []
    for m in range(cal.months):
        snap = cal.snapshot_date(m)
        path = out_dir / "touchpoints" / f"youtube_views_{snap:%Y-%m}.csv"
        written.append(write_csv(touch.loc[month == cal.start_ord + m, TOUCH_COLUMNS], path, snap))
    return exports, written

