"""From an export's cells to typed columns: text cleaned as DuckDB's clean_text macro would, the SELECT
that parses each column with the macros of assets/sql/parse_macros.sql, and record keys derived from
personal data by keyed hash."""

import os
from concurrent.futures import ThreadPoolExecutor

import pyarrow as pa_arrow
import pyarrow.compute as pc

from assets.core import pii
from assets.ingest.csv_tables import FileRejected
from schemas import SOURCES
from schemas.profiles import EXCEL_SERIAL, NumberFormat
from schemas.spec import KIND_TYPES, PARSED_KINDS, SourceSpec


# What DuckDB's trim() removes from both ends of a value: Unicode space separators (category Zs,
# as utf8proc classifies them), the ideographic space U+3000 among them; tabs and line breaks stay.
SPACE_SEPARATORS = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
IDEOGRAPHIC_SPACE = "\u3000"


def clean_text_columns(table: pa_arrow.Table) -> pa_arrow.Table:
    """Every text column as the macro clean_text(x) of parse_macros.sql makes it, computed by
    Arrow's string kernels (about a third of what the same in DuckDB costs), a column per
    thread: an ideographic space anywhere becomes an ASCII space, space separators are trimmed
    from both ends, and a value left empty is NULL. tests/unit/test_parse_macros.py holds the two equal."""
    names = [n for n in table.column_names if n != "_source_row"]
    with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:  # Arrow's kernels release the GIL
        cleaned = dict(zip(names, pool.map(lambda n: _clean_text_column(table.column(n)), names)))
    return pa_arrow.table([cleaned.get(n, table.column(n)) for n in table.column_names], names=table.column_names)


def _clean_text_column(column: pa_arrow.ChunkedArray) -> pa_arrow.ChunkedArray:
    chunks = []
    for chunk in column.chunks:
        data = chunk.buffers()[2]  # the UTF-8 bytes: replace only where a chunk holds U+3000
        if data is not None and data.to_pybytes().find(IDEOGRAPHIC_SPACE.encode()) >= 0:
            chunk = pc.replace_substring(chunk, IDEOGRAPHIC_SPACE, " ")
        chunk = pc.utf8_trim(chunk, SPACE_SEPARATORS)
        chunks.append(pc.if_else(pc.equal(chunk, ""), pa_arrow.scalar(None, pa_arrow.string()), chunk))
    return pa_arrow.chunked_array(chunks, pa_arrow.string())


def parse_sql(spec: SourceSpec, present: set[str], tz: str,
              formats: dict[str, list[str]] | None = None, number_format: NumberFormat | None = None,
              months: frozenset[str] = frozenset()) -> tuple[str, dict]:
    """SELECT over `incoming`, the text columns as clean_text_columns leaves them, giving typed
    columns and their text, and its parameters. An inner SELECT computes each parsed column's
    ASCII text once (`<column>__a`, ascii_of_clean), and the outer one parses that with the
    parsers of parse_macros.sql, keeping the cleaned text as `<column>__raw`. Column names come
    from the source spec, never from the file; the time zone and a profile's date formats are
    bound as parameters, as are the marks a profile's number_format declares. A period column in
    `months` (read from a profile's month header) is stored as its month: grain month, first day."""
    parsers = {
        "timestamp": "timestamp_of({a}, $tz)",
        "date": "date_of({a}, $tz)",
        "period": "period_of({a}, $tz)",
        "money": "money_of({a})",
        "count": "count_of({a})",
        "number": "number_of({a})",
        "duration": "duration_of({a})",
    }
    params: dict = {}
    marks = number_format.translation() if number_format else None
    if marks:  # the declared marks turned into canonical ones; no guessing about 1.234 then
        params["marks_from"], params["marks_to"] = marks
        parsers |= {
            "money": "money_of_number(canonical_number(translate(without_currency({a}), $marks_from, $marks_to)))",
            "count": "count_of_number(canonical_number(translate({a}, $marks_from, $marks_to)))",
            "number": "number_of_number(canonical_number(translate({a}, $marks_from, $marks_to)))",
        }
    ascii_, outer = ["*"], ["_source_row"]
    for col in spec.columns:
        if col.name not in present:
            continue
        if col.kind not in PARSED_KINDS:
            outer.append(col.name)
            continue
        a = f"{col.name}__a"
        ascii_.append(f"ascii_of_clean({col.name}) AS {a}")
        parsed = parsers[col.kind].format(a=a)
        custom = (formats or {}).get(col.name, [])
        if custom and col.kind in {"timestamp", "date", "period"}:
            first = []
            strptime = [f for f in custom if f != EXCEL_SERIAL]
            if strptime:
                params[f"fmt_{col.name}"] = strptime
                first.append(f"try_strptime({a}, $fmt_{col.name})")
            if EXCEL_SERIAL in custom:
                first.append(f"excel_serial_of({a})")
            parsed = f"coalesce({', '.join(first)}, {parsed})"
        if col.kind == "period" and col.name in months:
            parsed = f"date_trunc('month', {parsed})"
        outer += [f"CAST({parsed} AS {KIND_TYPES[col.kind]}) AS {col.name}", f"{col.name} AS {col.name}__raw"]
        if col.kind == "period" and col.name in months:
            outer.append(f"CASE WHEN {a} IS NULL THEN NULL ELSE 'month' END AS {col.name}_grain")
        elif col.kind == "period":
            outer.append(f"CASE WHEN {a} IS NULL THEN NULL WHEN period_grain_of({a}, $tz) = 'month' "
                         f"THEN 'month' ELSE 'day' END AS {col.name}_grain")
    select = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(ascii_)} FROM incoming)"
    if "$tz" in select:  # DuckDB refuses a parameter the statement does not use
        params["tz"] = tz
    if "$marks_from" not in select:
        params = {k: v for k, v in params.items() if not k.startswith("marks_")}
    return select, params


# Per source: the text columns stored (personal data in them is masked on the way in), and those holding
# record ids, where an e-mail address becomes its keyed hash instead.
TEXT_COLUMNS = {name: [c.name for c in spec.stored_columns if c.kind == "text"] for name, spec in SOURCES.items()}
ID_COLUMNS = {name: set(spec.key) | {c.name for c in spec.columns if c.key_from} for name, spec in SOURCES.items()}


def secret_for_ids() -> bytes:
    try:
        return pii.salt()
    except pii.MissingSalt as exc:
        raise FileRejected(f"has e-mail addresses as record ids: {exc}") from None


def derive_keys(spec: SourceSpec, table: pa_arrow.Table) -> pa_arrow.Table:
    """Fill a key column the file lacks (or leaves empty) from the keyed hash of the
    personal-data column named by its `key_from`; refuse the file without the secret."""
    for col in spec.columns:
        if not col.key_from or col.key_from not in table.column_names:
            continue
        source = table.column(col.key_from)
        current = table.column(col.name) if col.name in table.column_names else pa_arrow.chunked_array(
            [pa_arrow.nulls(table.num_rows, pa_arrow.string())])
        missing = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(current), ""), True)
        has_source = pc.fill_null(pc.not_equal(pc.utf8_trim_whitespace(source), ""), False)
        if not pc.any(pc.and_(missing, has_source)).as_py():
            if col.name not in table.column_names:  # every piece of a file gets the same columns
                table = table.append_column(col.name, current)
            continue
        try:
            secret = pii.salt()
        except pii.MissingSalt as exc:
            raise FileRejected(f"has rows without {col.name}: {exc}") from None
        filled = pc.if_else(missing, pii.email_key(source, secret), current)
        if col.name in table.column_names:
            table = table.set_column(table.column_names.index(col.name), col.name, filled)
        else:
            table = table.append_column(col.name, filled)
    return table
