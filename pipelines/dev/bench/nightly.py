"""The exports of one more day, dropped into the inbox for the nightly run."""

import os
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

JST = 9  # hours: file times of the generated exports are 06:00 Asia/Tokyo


def add_next_day(inbox: Path) -> dict[str, int]:
    """The exports of one more day, as the nightly run finds them in the inbox: the GA4 rows
    of the day after the newest GA4 day, a lead list of that day's new leads and of leads
    changed that day (leads still at lifecycle `lead` become MQLs), a deal list of the
    day's new and changed deals, and the day's ad spend. Built from the newest day of the
    existing files, shifted by one day. Returns rows written per source."""
    from pipelines.dev.baselines.pandas_baseline import timestamps

    def newest(source: str) -> pd.DataFrame:
        path = max((inbox / source).glob("*.csv"), key=lambda p: (p.stat().st_mtime_ns, p.as_posix()))
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    def ts_text(s: pd.Series) -> pd.Series:
        return s.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")

    ga4 = newest("ga4_sessions")
    last = max(date.fromisoformat(d) for d in ga4["date"])
    day = last + timedelta(days=1)
    one_day = pd.Timedelta(days=1)
    written = {}

    written["ga4_sessions"] = _write_day(ga4[ga4["date"] == last.isoformat()].assign(date=day.isoformat()),
                                         inbox / "ga4_sessions" / f"ga4_sessions_{day}.csv", day)

    leads = newest("leads")
    created, updated = timestamps(leads["created_at"], "Asia/Tokyo"), timestamps(leads["updated_at"], "Asia/Tokyo")
    new = leads[created.dt.date == last].copy()
    width = len(leads["lead_id"].iloc[0]) - 1
    first = max(int(i[1:]) for i in leads["lead_id"]) + 1
    new["lead_id"] = [f"L{n:0{width}d}" for n in range(first, first + len(new))]
    new["email"] = [f"user{i}@example.com" for i in new["lead_id"]]
    for col in ("created_at", "mql_at", "sql_at", "disqualified_at", "updated_at"):
        new[col] = ts_text(timestamps(new[col], "Asia/Tokyo") + one_day)
    changed = leads[(updated.dt.date == last) & (created.dt.date != last)].copy()
    changed["updated_at"] = ts_text(updated[changed.index] + one_day)
    promote = changed["lifecycle_stage"] == "lead"
    changed.loc[promote, "lifecycle_stage"] = "marketingqualifiedlead"
    changed.loc[promote, "mql_at"] = changed.loc[promote, "updated_at"]
    written["leads"] = _write_day(pd.concat([changed, new]), inbox / "leads" / f"leads_{day}.csv", day)

    deals = newest("deals")
    created, updated = timestamps(deals["created_at"], "Asia/Tokyo"), timestamps(deals["updated_at"], "Asia/Tokyo")
    new = deals[created.dt.date == last].copy()
    first = max(int(i[1:]) for i in deals["deal_id"]) + 1
    width = len(deals["deal_id"].iloc[0]) - 1
    new["deal_id"] = [f"D{n:0{width}d}" for n in range(first, first + len(new))]
    new["created_at"] = ts_text(created[new.index] + one_day)
    new["updated_at"] = new["created_at"]
    new["stage"], new["close_date"] = "Prospecting", ""
    changed = deals[(updated.dt.date == last) & (created.dt.date != last)].copy()
    changed["updated_at"] = ts_text(updated[changed.index] + one_day)
    written["deals"] = _write_day(pd.concat([changed, new]), inbox / "deals" / f"deals_{day}.csv", day)

    spend = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in (inbox / "spend").glob("spend_ads_*.csv"))
    written["spend"] = _write_day(spend[spend["date"] == last.isoformat()].assign(date=day.isoformat()),
                                  inbox / "spend" / f"spend_ads_{day}.csv", day)
    return written


def _write_day(df: pd.DataFrame, path: Path, day: date) -> int:
    """The day's rows of one source as its export, with the file time the export job would give it;
    no file on a day without rows (a small workload can have no deal that day)."""
    if df.empty:
        return 0
    df.to_csv(path, index=False, lineterminator="\n")
    stamp = (datetime(day.year, day.month, day.day, 6) - timedelta(hours=JST) - datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (stamp, stamp))
    return len(df)
