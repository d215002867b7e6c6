"""The small CSV files of config/ (fx_rates.csv, video_costs.csv): their rows, each with where it is, so
that every error names the file, the line and the column."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from schemas.errors import ConfigError


def config_csv_rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[str, dict[str, str]]]:
    """(`<path>: line N`, row) of a UTF-8 file (a BOM allowed) whose header is exactly `columns`; a wrong
    header, or a row with more or fewer cells than the header, raises ConfigError."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(c.strip() for c in reader.fieldnames or ()) != columns:
            raise ConfigError(f"{path}: needs the header {','.join(columns)} (found {reader.fieldnames})")
        for row in reader:
            where = f"{path}: line {reader.line_num}"
            cells = len(row) - 1 + len(row[None]) if None in row else sum(v is not None for v in row.values())
            if cells != len(columns):
                raise ConfigError(f"{where}: has {cells} {'cell' if cells == 1 else 'cells'}, the header {len(columns)}")
            yield where, row
