"""Reading the table inside an export file, as its export profile describes it (table_layout.py finds it).

An export is usually one header line and data rows, read straight from the file
by pyarrow's multi-threaded CSV reader. A GA4 UI download instead starts with
`#` preamble lines (report name, property, date range) and may hold several
tables; an ad platform's download opens with a few preamble lines; a Salesforce
report ends with a Grand Totals line and a copyright footer; GA4, Meta Ads,
Google Ads and Microsoft Advertising add total rows. This module turns any of
those into one text table of canonical columns plus `_source_row`, and says
which rows it left out as totals, rows carrying nothing, or footer. A row it
cannot place (a line with the wrong number of fields that is no known total or
footer) refuses the whole file.
"""

import codecs
import csv
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from assets.ingest.table_layout import FileRejected, Table, find_tables  # noqa: F401 (the readers' names)
from schemas import SOURCES
from schemas.config import normalize_value
from schemas.profiles import TRUE_VALUES, Match

# pyarrow's default pool (mimalloc) asks the kernel for transparent huge pages; where THP is
# in madvise mode (the usual Linux default), faulting them in cost 3 to 5 CPU seconds of
# system time per large export. jemalloc read the 970,000-row lead list in a third of the
# CPU and a lower peak (docs/BENCHMARKS.md). ARROW_DEFAULT_MEMORY_POOL still decides when set.
# jemalloc keeps its default decay: returning freed memory at once (decay 0) cost 4 to 5 CPU s of
# system time in a full run of the large workload, for about 180 MiB less peak.
if "ARROW_DEFAULT_MEMORY_POOL" not in os.environ:
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except NotImplementedError:  # a pyarrow built without jemalloc keeps its default
        pass

SNIFF_BYTES = 1 << 16
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")
# A cell starting with one of these is run as a formula by Excel and LibreOffice
# (CSV injection); a leading apostrophe makes it plain text.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class ReadResult:
    table: pa.Table  # canonical text columns and _source_row
    total_rows: int = 0  # rows left out as totals (and idle rows: no date, nothing but zeros)
    footer_lines: list[str] = field(default_factory=list)  # lines left out as the footer
    rows_read: int = 0  # data rows read, totals included (the next piece numbers its rows from here)
    source_bytes: int = 0  # bytes of the file this piece was read from


def detect_encoding(path: Path) -> str:
    """UTF-8 (with or without BOM), UTF-16 with BOM, or CP932 (Shift_JIS as Excel
    writes it), decided for the whole file; anything else is refused."""
    with path.open("rb") as f:
        head = f.read(4)
    if head.startswith(b"PK\x03\x04"):
        raise FileRejected("is a ZIP archive, probably an Excel workbook (.xlsx) renamed: open it in Excel and "
                           "save it as \"CSV UTF-8\"")
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileRejected("is an old Excel workbook (.xls), not CSV: open it in Excel and save it as \"CSV UTF-8\"")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise FileRejected("is binary or in an unknown encoding (NUL bytes without a UTF-16 byte order mark)")
    if _is_utf8(path):
        return "utf-8"
    decoder = codecs.getincrementaldecoder("cp932")()
    try:
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                if b"\x00" in block:
                    raise FileRejected("is binary (contains NUL bytes), not a CSV export")
                if PRIVATE_USE.search(decoder.decode(block)):
                    # Python's cp932 maps the bytes A0, FD-FF and user-defined codes to
                    # private-use characters: such a file is Latin-1 or the like, not Japanese.
                    raise UnicodeDecodeError("cp932", b"", 0, 1, "private-use character")
            decoder.decode(b"", final=True)
        return "cp932"
    except UnicodeDecodeError:
        pass
    raise FileRejected("is in an unknown encoding: neither UTF-8, UTF-16 with BOM nor CP932/Shift_JIS")


def _is_utf8(path: Path) -> bool:
    """Whether the whole file is valid UTF-8, read 4 MiB at a time and checked by Arrow's UTF-8
    validation (faster than decoding it in Python). Each block is checked up to its last line
    break, which never splits a character; the rest goes with the next block."""
    rest = b""
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            if b"\x00" in block:
                raise FileRejected("is binary (contains NUL bytes), not a CSV export")
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if not _valid_utf8(block[:cut]):
                return False
    return _valid_utf8(rest)


def _valid_utf8(data: bytes) -> bool:
    try:
        pa.array([data], pa.binary()).cast(pa.string())
    except pa.ArrowInvalid:
        return False
    return True


# A file is read this many bytes at a time, cut at a line end, so that memory holds a piece of it
# (its text as Arrow is about 1.25 times its size), not the whole file.
READ_PIECE_BYTES = 64 << 20
# A file up to this size is read whole, by pyarrow from the path (the last `make bench` of the large
# workload, whose largest file is 212 MB, was about 20% slower read in pieces).
READ_WHOLE_BYTES = 256 << 20


def read_table(path: Path, encoding: str, table: Table, match: Match) -> ReadResult:
    """The whole table at once (read_pieces put together)."""
    pieces = list(read_pieces(path, encoding, table, match))
    return ReadResult(pa.concat_tables([p.table for p in pieces]), sum(p.total_rows for p in pieces),
                      [line for p in pieces for line in p.footer_lines], sum(p.rows_read for p in pieces))


def read_pieces(path: Path, encoding: str, table: Table, match: Match) -> Iterator[ReadResult]:
    """The table's rows as text in canonical columns, totals and footer left out, a piece of
    the file at a time (`_source_row` numbers the rows of the whole file). Read whole: a
    table cut out of a file (`body`), a UTF-16 file, and a file with a line break inside a
    quoted value (a piece could not be cut at a line end safely)."""
    footer: list[str] = []
    if match.profile.layout.footer_after_blank_line and table.body is None:
        table, footer = _cut_at_blank_line(path, encoding, table)
    quoted_newlines = _refuse_unclosed_quote(path, encoding, table)
    size = path.stat().st_size
    if table.body is not None:
        pieces = iter([(io.BytesIO(table.body), 0, "utf-8", size)])
    elif quoted_newlines or encoding == "utf-16" or size <= READ_WHOLE_BYTES:
        pieces = iter([(path, table.header_line, encoding, size)])
    else:
        pieces = _line_pieces(path, table.header_line, encoding, READ_PIECE_BYTES)
    first_row = 1
    for source, skip_rows, source_encoding, size in pieces:
        result = _read_piece(source, skip_rows, source_encoding, table, match, quoted_newlines, first_row)
        result.source_bytes = size
        if footer:
            result.footer_lines[:0], footer = footer, []
        first_row += result.rows_read
        yield result


def _line_pieces(path: Path, header_line: int, encoding: str, piece_bytes: int) -> Iterator[tuple]:
    """(source, rows to skip, encoding, bytes) of each piece of about piece_bytes, cut after a line break
    (a CP932 or UTF-8 character never holds the byte of one)."""
    with path.open("rb") as f:
        skip = header_line
        while True:
            data = f.read(piece_bytes)
            if not data:
                return
            while not data.endswith(b"\n"):
                more = f.readline()
                if not more:
                    break
                data += more
            yield io.BytesIO(data), skip, encoding, len(data)
            skip = 0


def _read_piece(source, skip_rows: int, encoding: str, table: Table, match: Match, quoted_newlines: bool,
                first_row: int) -> ReadResult:
    n = len(table.headers)
    totals = _Totals(match.profile.layout, n)
    names = [f"c{i}" for i in range(n)]
    wanted = sorted({*match.columns.values(), *match.splits, *match.flags} | set(totals.cells))
    invalid: list[str] = []

    def on_invalid(row) -> str:
        invalid.append((row.text or "").rstrip("\r\n"))
        return "skip"

    # pyarrow reads UTF-8 natively but any other name through Python's codec (1.5x the CPU): a BOM lies
    # in the header line, which is skipped, so a file with one is read as plain UTF-8
    native = "utf-8" if encoding == "utf-8-sig" else encoding
    try:
        data = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=skip_rows, encoding=native,
                                           block_size=8 << 20),
            # a line break inside a quoted value makes pyarrow read without splitting the file at
            # line ends, at 2 to 4 times the CPU: only when the file has one
            parse_options=pacsv.ParseOptions(delimiter=table.delimiter, newlines_in_values=quoted_newlines,
                                             invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names},
                include_columns=[names[i] for i in wanted],
                strings_can_be_null=True, null_values=[""], quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        # Arrow's message quotes the row after "got N columns:"; a refused file's rows are never repeated
        reason = re.sub(r"(got \d+ columns?)\b.*", r"\1", str(exc).splitlines()[0])
        raise FileRejected(f"is not well-formed CSV: {reason}") from exc
    data = data.append_column("_source_row", pa.array(np.arange(first_row, first_row + data.num_rows, dtype=np.int64)))

    result = ReadResult(data, footer_lines=[], rows_read=data.num_rows)
    _place_invalid_rows(invalid, source, encoding, table, match, totals, result)
    out = _canonical_columns(data, names, table, match)
    drops = [totals.mask(data, names)] if totals.cells and data.num_rows else []
    for col in match.source.total_rows_where_empty:
        if col in out:
            drops.append(_empty(out[col]))
    if match.source.idle_rows_where_empty and data.num_rows:
        drops += _idle_rows(out, match)
    out["_source_row"] = data.column("_source_row")
    result.table = pa.table(out)
    if drops and data.num_rows:
        drop = drops[0]
        for d in drops[1:]:
            drop = pc.or_(drop, d)
        result.total_rows += pc.sum(drop).as_py() or 0
        result.table = result.table.filter(pc.invert(drop))
    return result


def _canonical_columns(data: pa.Table, names: list[str], table: Table, match: Match) -> dict[str, pa.ChunkedArray]:
    """The piece's canonical columns as text: read, split, set by flags, "no value" markers made empty,
    constants and the preamble's range filled in, values mapped."""
    layout, sp = match.profile.layout, match.source
    out: dict[str, pa.ChunkedArray] = {}
    for col, i in match.columns.items():
        out[col] = data.column(names[i])
    for i, (cols, sep) in match.splits.items():
        parts = pc.split_pattern(data.column(names[i]), sep, max_splits=len(cols) - 1)
        for k, col in enumerate(cols):
            out.setdefault(col, pc.list_element(pc.if_else(pc.greater(pc.list_value_length(parts), k), parts,
                                                            pa.scalar([None] * len(cols), parts.type)), k))
    if layout.no_value:
        markers = pa.array(sorted({m.strip() for m in layout.no_value}), pa.string())
        for col, values in out.items():
            out[col] = pc.if_else(pc.is_in(pc.utf8_trim_whitespace(values), markers),
                                  pa.scalar(None, pa.string()), values)
    for i, sets in match.flags.items():
        flag = pc.fill_null(pc.is_in(pc.utf8_lower(pc.utf8_trim_whitespace(data.column(names[i]))),
                                     pa.array(sorted(TRUE_VALUES))), False)
        for col, value in sets.items():
            current = out.get(col, pa.nulls(data.num_rows, pa.string()))
            out[col] = pc.if_else(flag, pa.scalar(value, pa.string()), current)
    for col, value in sp.constants.items():
        out.setdefault(col, pa.array([value] * data.num_rows, pa.string()))
    if table.date_range and "date" not in out:
        out["date"] = pa.array([table.date_range[0].isoformat()] * data.num_rows, pa.string())
        out["date_end"] = pa.array([table.date_range[1].isoformat()] * data.num_rows, pa.string())
    for col, mapping in sp.values.items():
        if col in out:
            out[col] = _map_values(out[col], {normalize_value(k): v for k, v in mapping.items()})
    return out


def _empty(values) -> pa.ChunkedArray:
    return pc.fill_null(pc.equal(pc.utf8_trim_whitespace(values), ""), True)


# A money or count cell that says zero: 0, 0.00, -0, .0 (after "no value" markers are made empty)
ZERO = r"^[+-]?(0+(\.0*)?|\.0+)$"


def _idle_rows(out: dict[str, pa.ChunkedArray], match: Match) -> list[pa.ChunkedArray]:
    """The mask of rows with one of idle_rows_where_empty empty and every money and count column empty or
    zero: rows carrying nothing (a campaign without activity), left out."""
    spec = SOURCES[match.source_name]
    empty = [_empty(out[c]) for c in match.source.idle_rows_where_empty if c in out]
    numbers = [c.name for c in spec.columns if c.kind in {"money", "count", "number"} and c.name in out]
    if not empty or not numbers:
        return []
    idle = empty[0]
    for e in empty[1:]:
        idle = pc.or_(idle, e)
    for col in numbers:
        zero = pc.match_substring_regex(pc.utf8_trim_whitespace(out[col]), ZERO)
        idle = pc.and_(idle, pc.fill_null(zero, True))
    return [idle]


class _Totals:
    """Which rows are totals by their label: the first cell one of total_row_labels, or one of the first
    total_label_columns cells matching a total_row_patterns regex."""

    def __init__(self, layout, n: int):
        self.labels = {normalize_value(x) for x in layout.total_row_labels}
        self.patterns = [re.compile(p) for p in layout.total_row_patterns]
        self.cells = list(range(min(n, layout.total_label_columns if self.patterns else 1))) \
            if self.labels or self.patterns else []

    def is_total(self, cells: list[str]) -> bool:
        """Whether the leading cells of a row (as text) label it a total."""
        if cells and self.labels and normalize_value(cells[0]) in self.labels:
            return True
        return any(rx.search(c.strip()) for c in cells[:len(self.cells)] for rx in self.patterns)

    def mask(self, data: pa.Table, names: list[str]) -> pa.ChunkedArray:
        """Per row of the piece, whether it is a total (computed on the distinct leading cells)."""
        drop = None
        for k in self.cells:
            encoded = pc.dictionary_encode(data.column(names[k])).combine_chunks()
            hits = [v is not None and (self.is_total([v]) if k == 0 else self._pattern(v))
                    for v in encoded.dictionary.to_pylist()]
            here = pc.fill_null(pc.take(pa.array(hits, pa.bool_()), encoded.indices), False)
            drop = here if drop is None else pc.or_(drop, here)
        return drop

    def _pattern(self, value: str) -> bool:
        return any(rx.search(value.strip()) for rx in self.patterns)


def _place_invalid_rows(invalid: list[str], source, encoding: str, table: Table, match: Match, totals: _Totals,
                        result: ReadResult) -> None:
    """Lines with another number of fields than the header: a known total row or footer line is counted
    as such in `result`; any other refuses the file, naming its line (never quoting it)."""
    n = len(table.headers)
    footers = [re.compile(p) for p in match.profile.layout.footer_patterns]
    for text in invalid:
        fields = next(csv.reader(io.StringIO(text), delimiter=table.delimiter), [])
        if len(fields) == n + 1 and normalize_value(fields[-1]) in totals.labels and not fields[0].strip():
            result.total_rows += 1  # GA4's Grand total row: empty first cell, label in an extra column
        elif totals.patterns and totals.is_total(fields):
            result.total_rows += 1
        elif any(rx.search(" ".join(f.strip() for f in fields).strip()) for rx in footers):
            result.footer_lines.append(text)
        else:
            # a path is read from its first line, a table cut out of a file from the line after its header;
            # a piece of a large file starts at a line it does not know
            line = _line_of(source, encoding, text) if isinstance(source, Path) or table.body is not None else None
            where = f"line {line + (0 if isinstance(source, Path) else table.header_line)}" if line else "a line"
            raise FileRejected(
                f"has {where} with {len(fields)} field(s) where the header at line {table.header_line} has {n} "
                "(a truncated or malformed row)")


def _line_of(source, encoding: str, text: str) -> int | None:
    """The 1-based line of `source` (a path or a buffer read from its start) that reads `text`, to name a
    malformed row without quoting it; None when not found."""
    try:
        lines = source.open("rb") if isinstance(source, Path) else io.BytesIO(source.getvalue())
        with lines:
            for number, raw in enumerate(lines, 1):
                if raw.decode(encoding, errors="replace").rstrip("\r\n").lstrip("\ufeff") == text:
                    return number
    except (OSError, LookupError):
        return None
    return None


def _refuse_unclosed_quote(path: Path, encoding: str, table: Table) -> bool:
    """A quoted value still open at the end of the file (a truncated download, or a stray
    quote) would swallow every line after it into one field. An even number of quote
    characters rules that out cheaply; an odd one is confirmed by Python's strict reader.
    Returns whether a line break lies inside a quoted value."""
    if table.body is not None:
        quotes, inside = _quote_scan([table.body])
        if quotes % 2 == 0:
            return inside
        text = io.StringIO(table.body.decode("utf-8"), newline="")
        first_line = table.header_line + 1
    else:
        if encoding.startswith("utf-16"):
            with path.open(encoding=encoding, newline="") as f:
                quotes = sum(chunk.count('"') for chunk in iter(lambda: f.read(1 << 20), ""))
            inside = quotes > 0
        else:  # in UTF-8 and CP932 the bytes 0x22 (quote), 0x0A and 0x0D (line ends) are always those characters
            with path.open("rb") as f:
                quotes, inside = _quote_scan(iter(lambda: f.read(1 << 22), b""))
        if quotes % 2 == 0:
            return inside
        text = path.open(encoding=encoding, newline="")
        first_line = 1
    with text:
        reader = csv.reader(text, delimiter=table.delimiter, strict=True)
        start = first_line
        try:
            for _ in reader:
                start = first_line + reader.line_num
        except csv.Error:
            raise FileRejected(f"has a quoted value opened on line {start} that never closes: the file is "
                               "truncated or a quote is unbalanced; export it again") from None
    return True


def _quote_scan(blocks) -> tuple[int, bool]:
    """(quote characters, whether a line-end byte lies between an odd and the next even quote)
    over byte blocks of a file. A doubled quote inside a value ("") flips the parity twice
    and so does not end the value."""
    quotes, inside = 0, False
    for block in blocks:
        n = block.count(b'"')
        if not inside and (n or quotes % 2):
            data = np.frombuffer(block, dtype=np.uint8)
            at_quote = np.flatnonzero(data == 0x22)
            at_end = np.flatnonzero((data == 0x0A) | (data == 0x0D))
            # the quotes before each line end, with those of earlier blocks: odd = inside a value
            # (a running sum over every byte instead took a second per 23 MB of quoted deals)
            inside = bool(np.any((np.searchsorted(at_quote, at_end) + quotes) % 2 == 1))
        quotes += n
    return quotes, inside


def _cut_at_blank_line(path: Path, encoding: str, table: Table) -> tuple[Table, list[str]]:
    """The table up to its first blank line outside quoted values, and the footer lines after it."""
    text = path.read_text(encoding=encoding)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=table.delimiter)
    end = None
    for row in reader:
        if not row and reader.line_num > table.header_line:
            end = reader.line_num - 1  # lines before the blank one
            break
    if end is None:
        return Table(table.headers, table.header_line, table.delimiter,
                     text.split("\n", table.header_line)[-1].encode("utf-8")), []
    lines = io.StringIO(text, newline="").readlines()
    body = "".join(lines[table.header_line:end]).encode("utf-8")
    footer = [ln.rstrip("\r\n") for ln in lines[end:] if ln.strip()]
    return Table(table.headers, table.header_line, table.delimiter, body), footer


def _map_values(column: pa.ChunkedArray, mapping: dict[str, str]) -> pa.ChunkedArray:
    """Raw value -> mapped value, compared normalised; unmapped values stay as they are.
    Works on the distinct values only."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    dictionary = [mapping.get(normalize_value(v), v) for v in encoded.dictionary.to_pylist()]
    return pa.chunked_array([pc.take(pa.array(dictionary, pa.string()), encoded.indices)])


def neutralise_formula(value):
    """A text cell a spreadsheet would run as a formula, made plain text with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def write_safe_csv(path: Path, header: list[str], rows) -> None:
    """Every CSV this project writes goes through here: UTF-8 with BOM (Excel reads the
    Japanese right), formulas neutralised, written to a temporary name and renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([neutralise_formula(h) for h in header])
        for row in rows:
            writer.writerow([neutralise_formula(v) for v in row])
    os.replace(tmp, path)
