"""The production cost of each video (optional config/video_costs.csv: video_id,cost, the cost in the
reporting currency), against which marts.video_funnel measures each video's ROI (動画別ROI)."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from schemas.config_csv import config_csv_rows
from schemas.errors import ConfigError

VIDEO_COSTS_FILE = "video_costs.csv"
VIDEO_COSTS_COLUMNS = ("video_id", "cost")
# YouTube's video ids: 11 letters, digits, '-' or '_' (Studio's Content column)
VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
MAX_COST_DIGITS = 16  # DECIMAL(18,2): 16 digits before the point


def _cost(text: str) -> Decimal:
    plain = (text or "").strip()
    if not re.fullmatch(r"\d+(\.\d{1,2})?", plain):
        raise ValueError(f"{text!r} is not an amount written as digits with at most two decimals, no thousands "
                         "marks or currency sign (1500000 or 1500000.50)")
    cost = Decimal(plain)
    if cost <= 0:
        raise ValueError(f"{text!r} must be above zero (leave a video without production cost out)")
    if cost.adjusted() >= MAX_COST_DIGITS:
        raise ValueError(f"{text!r} has more than {MAX_COST_DIGITS} digits before the point")
    return cost


def load_video_costs(config_dir: str | Path | None) -> dict[str, Decimal]:
    """`<config>/video_costs.csv` (optional: video_id,cost, one row per video) as video id -> cost; a wrong
    value raises ConfigError naming the file, the line and the column."""
    path = Path(config_dir) / VIDEO_COSTS_FILE if config_dir else None
    if path is None or not path.is_file():
        return {}
    costs: dict[str, Decimal] = {}
    for where, row in config_csv_rows(path, VIDEO_COSTS_COLUMNS):
        video_id = (row["video_id"] or "").strip()  # Studio puts a space before ids starting with '-'
        if not VIDEO_ID.match(video_id):
            raise ConfigError(f"{where}, column video_id: {row['video_id']!r} is not a YouTube video id "
                              "(11 letters, digits, - or _, as in Studio's Content column)")
        try:
            cost = _cost(row["cost"])
        except ValueError as exc:
            raise ConfigError(f"{where}, column cost: {exc}") from None
        if video_id in costs:
            raise ConfigError(f"{where}: video {video_id} is given twice")
        costs[video_id] = cost
    return costs
