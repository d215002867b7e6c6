"""Where the table of an export file is: its header line, the preamble before it and the date range that
preamble gives, as the export profiles' layouts describe them.

An export is usually one header line and data rows. A GA4 UI download instead opens with `#` preamble
lines and may hold several tables; an ad platform's download opens with a few plain lines (Google Ads:
the report name, then "September 1, 2026 - September 30, 2026" or "All time"; Microsoft Advertising:
"Campaign report (January 01, 2025 - November 18, 2025)", a request id and a blank line) before its
header. When no profile reads a file's first line as its header, each following line a profile's
`header_within` reaches is a candidate header (header_candidates); the loader reads the first one a profile
matches. A file whose first line is a header reads as before, without a look at its other lines.
"""

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from schemas import SOURCES
from schemas.profiles import Match, Profile, _Layout

# A line longer than this is no header (csv's field limit is 128 KiB): never a candidate
MAX_HEADER_CHARS = 1 << 16


class FileRejected(Exception):
    """A whole file cannot be loaded; nothing of it is written."""


@dataclass
class Table:
    headers: list[str]
    header_line: int  # 1-based line of the header row in the file
    delimiter: str
    body: bytes | None = None  # the data lines as UTF-8 (tables cut out of a file); None: read the file itself
    date_range: tuple[date, date] | None = None  # from the preamble, for tables without a date column
    prefix: str | None = None  # the preamble's comment prefix, when the file has one
    # the preamble line saying the report covers no bounded range ("All time"), when it has one
    unbounded: str | None = None
    # one of several lines that may be the header (header_within); not a table of its own
    candidate: bool = False
    # what date_range was read from: the preamble, or (range_from_path) the file name
    range_basis: str = "preamble"

    @property
    def has_range(self) -> bool:
        """Whether the preamble says what period the rows cover (a range, or that it is unbounded)."""
        return self.date_range is not None or self.unbounded is not None


def split_header(line: str, suffix: str) -> tuple[str, list[str]]:
    delimiter = "\t" if suffix == ".tsv" or line.count("\t") > line.count(",") else ","
    headers = next(csv.reader(io.StringIO(line), delimiter=delimiter), [])
    return delimiter, [h.strip() for h in headers]


class _Preamble:
    """The date range of preamble lines, by the range patterns of some layouts: the latest line matching
    wins; each group is read with the formats of the layout whose pattern matched."""

    def __init__(self, layouts: list[_Layout]):
        self.rules = [(re.compile(p), kind, lay.range_formats) for lay in layouts
                      for kind, patterns in (("start", lay.range_start), ("end", lay.range_end),
                                             ("range", lay.range), ("unbounded", lay.range_unbounded))
                      for p in patterns]
        self.start: date | None = None
        self.end: date | None = None
        self.unbounded: str | None = None

    def see(self, text: str) -> None:
        for rx, kind, formats in self.rules:
            m = rx.search(text)
            if not m:
                continue
            if kind == "unbounded":
                self.start = self.end = None
                self.unbounded = text
                continue
            self.unbounded = None
            if kind in ("start", "range"):
                self.start = _parse_day(m.group(1), formats)
            if kind == "end":
                self.end = _parse_day(m.group(1), formats)
            if kind == "range":
                self.end = _parse_day(m.group(2), formats)

    @property
    def range(self) -> tuple[date, date] | None:
        return (self.start, self.end) if self.start and self.end else None


def _parse_day(text: str, formats: list[str]) -> date | None:
    for fmt in formats:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def find_tables(path: Path, encoding: str, profiles: list[Profile]) -> list[Table]:
    """The tables of a file: one, or for a file that opens with a profile's comment prefix, every table
    between its preamble lines (each dated by the latest range seen)."""
    with path.open(encoding=encoding, newline="") as f:
        first = f.readline()
    if not first.strip():
        raise FileRejected("is empty (no header line)")
    layouts = [p.layout for p in profiles if p.layout.comment_prefix and first.startswith(p.layout.comment_prefix)]
    if layouts:
        return _prefixed_tables(path, encoding, layouts)
    delimiter, headers = split_header(first, path.suffix.lower())
    return [Table(headers, 1, delimiter)]


def _prefixed_tables(path: Path, encoding: str, layouts: list[_Layout]) -> list[Table]:
    prefix = layouts[0].comment_prefix
    preamble = _Preamble(layouts)
    lines = path.read_text(encoding=encoding).splitlines(keepends=True)
    tables: list[Table] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        if line.startswith(prefix):
            preamble.see(line.strip())
            i += 1
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() and not lines[j].startswith(prefix):
            j += 1
        delimiter, headers = split_header(line, path.suffix.lower())
        tables.append(Table(headers, i + 1, delimiter, "".join(lines[i + 1:j]).encode("utf-8"), preamble.range,
                            prefix))
        i = j
    if not tables:
        raise FileRejected("holds only preamble lines, no table")
    return tables


def header_candidates(path: Path, encoding: str, profiles: list[Profile]) -> list[Table]:
    """For a file whose first line no profile reads as its header (and without a comment prefix): a candidate
    table per non-blank line 2..N (N the largest header_within), each with the range the lines above it give
    by the patterns of the profiles whose header_within reaches it. Only those N lines are read; a line too
    long or malformed to be a header is no candidate."""
    within = max((p.layout.header_within or 1 for p in profiles if p.layout.comment_prefix is None), default=1)
    lines: list[str] = []
    with path.open(encoding=encoding, newline="") as f:
        for _ in range(within):
            line = f.readline()
            if not line:
                break
            lines.append(line)
    candidates = []
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip() or len(line) > MAX_HEADER_CHARS:
            continue
        layouts = [p.layout for p in profiles
                   if p.layout.comment_prefix is None and (p.layout.header_within or 1) >= number]
        delimiter, headers = split_header(line, path.suffix.lower())
        preamble = _Preamble(layouts)
        for above in lines[:number - 1]:
            preamble.see(_cell_text(above, delimiter))
        candidates.append(Table(headers, number, delimiter, None, preamble.range, None, preamble.unbounded, True))
    return candidates


def _cell_text(line: str, delimiter: str) -> str:
    """A preamble line as the text of its cells, split by the header's delimiter: a quoted single cell
    unquoted ("October 13, 2025 - November 11, 2025"), the empty cells a spreadsheet adds ("Campaign
    report,,,,") left out."""
    cells = next(csv.reader(io.StringIO(line.strip("\r\n")), delimiter=delimiter), [])
    return " ".join(c.strip() for c in cells if c.strip())


def range_from_path(table: Table, match: Match, file_name: str) -> None:
    """Date a table that has no date column and no range in a preamble by the range its path in the inbox
    gives (the profile's range_in_path; the match nearest the file name wins): YouTube Studio's
    "Content 2024-01-01_2024-01-31 <channel>/Table data.csv" holds totals over that range."""
    layout = match.profile.layout
    if table.date_range or table.unbounded or "date" in match.columns or not layout.range_in_path:
        return
    found = None
    for pattern in layout.range_in_path:
        for m in re.finditer(pattern, file_name):
            start, end = _parse_day(m[1], layout.range_formats), _parse_day(m[2], layout.range_formats)
            if start and end and start <= end and (found is None or m.end() > found[0]):
                found = (m.end(), (start, end))
    if found:
        table.date_range, table.range_basis = found[1], "file name"


def refuse_unbounded(table: Table, match: Match) -> None:
    """A table without a date column under a preamble saying "All time" holds totals over no known dates:
    refused, saying what it is and what to download instead."""
    dated = {c.name for c in SOURCES[match.source_name].columns if c.name == "date"}
    if not table.unbounded or not dated or "date" in match.columns:
        return
    profile = match.profile
    aliases = match.source.aliases.get("date", [])
    named = f" ({', '.join(aliases[:4])})" if aliases else ""
    advice = profile.layout.range_unbounded_advice or (
        "Download it again with a date column, or for a date range within one month")
    raise FileRejected(
        f"is a {profile.spec.description or profile.name} over \"{table.unbounded}\" without a date "
        f"column{named}: its rows are totals over no known dates and cannot be counted in any month. "
        f"{advice}")
