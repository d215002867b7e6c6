"""CSV output shared by the sources: formula-safe cells, fixed formatting, and the file's
snapshot date as its modification time."""

from __future__ import annotations

import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Iterable

import pandas as pd

from assets.ingest.csv_tables import FORMULA_PREFIXES

JST = timezone(timedelta(hours=9))
CHUNK_ROWS = 200_000  # rows per to_csv call for the big snapshot files


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


def write_csv(frames: pd.DataFrame | Iterable[pd.DataFrame], path: Path, snapshot: date) -> Path:
    """Write one frame, or consecutive chunks of one table (keeps big scales lean); the file's
    mtime is 06:00 Asia/Tokyo the morning after its snapshot date, as a nightly export job would
    leave it, or now if that lies ahead."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(frames, pd.DataFrame):
        frames = [frames]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        for i, df in enumerate(frames):
            neutralise_formulas(df).to_csv(fh, index=False, header=(i == 0), lineterminator="\n")
    ts = min(time.time(), (datetime(snapshot.year, snapshot.month, snapshot.day, 6, 0, tzinfo=JST)
                           + timedelta(days=1)).timestamp())
    os.utime(path, (ts, ts))
    return path
