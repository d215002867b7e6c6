"""The parse macros (assets/sql/parse_macros.sql) against an independent Python route:
random moments written in every documented way, ASCII and full-width, must read back as
the moment Python's datetime gives; numbers and text likewise."""

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from hypothesis import given, settings, strategies as st

MACROS = Path(__file__).parents[2] / "assets" / "sql" / "parse_macros.sql"
TZ = "Asia/Tokyo"
FULL_WIDTH = str.maketrans("0123456789,.-/: +", "０１２３４５６７８９，．－／：　＋")


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute(MACROS.read_text(encoding="utf-8"))
    c.execute("SET TimeZone = 'UTC'")
    yield c
    c.close()


moments = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(microsecond=0))
offsets = st.sampled_from([0, 9 * 60, -5 * 60, 5 * 60 + 30, -(3 * 60 + 30)])


def local_formats(d: dt.datetime) -> list[tuple[str, dt.datetime]]:
    """(text, the local time it means) for every offset-free way the reader accepts."""
    minute = d.replace(second=0)
    day = d.replace(hour=0, minute=0, second=0)
    return [
        (d.strftime("%Y-%m-%d %H:%M:%S"), d),
        (d.strftime("%Y-%m-%dT%H:%M:%S"), d),
        (d.strftime("%Y-%m-%d %H:%M"), minute),
        (d.strftime("%Y-%m-%d"), day),
        (f"{d.year}/{d.month}/{d.day} {d.hour}:{d.minute:02d}", minute),
        (d.strftime("%Y/%m/%d %H:%M:%S"), d),
        (d.strftime("%Y/%m/%d"), day),
        (d.strftime("%Y%m%d"), day),
        (f"{d.year}年{d.month}月{d.day}日 {d.hour:02d}:{d.minute:02d}", minute),
        (f"{d.year}年{d.month}月{d.day}日", day),
    ]


@settings(max_examples=60, deadline=None)
@given(moment=moments, offset=offsets, full_width=st.booleans(), pad=st.sampled_from(["", " ", "　", "  "]))
def test_every_documented_timestamp_way_reads_as_python_reads_it(con, moment, offset, full_width, pad):
    tz = dt.timezone(dt.timedelta(minutes=offset))
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}"
    aware = moment.replace(tzinfo=tz)
    expected_from_offset = aware.astimezone(ZoneInfo(TZ)).replace(tzinfo=None)
    cases = local_formats(moment) + [
        (moment.strftime("%Y-%m-%dT%H:%M:%S") + zone, expected_from_offset),
        (moment.strftime("%Y-%m-%d %H:%M:%S") + zone.replace(":", ""), expected_from_offset),
    ]
    if offset == 0:
        cases.append((moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z", expected_from_offset))
    written = [pad + (t.translate(FULL_WIDTH) if full_width else t) + pad for t, _ in cases]
    got = con.execute("SELECT timestamp_of(ascii_text(x), $tz), date_of(ascii_text(x), $tz) "
                      "FROM unnest($xs) WITH ORDINALITY AS t(x, i) "
                      "ORDER BY i", {"xs": written, "tz": TZ}).fetchall()
    for text, (_, expected), (moment_read, day_read) in zip(written, cases, got):
        assert moment_read == expected, (text, moment_read, expected)
        assert day_read == expected.date(), (text, day_read)


# Characters a mutated timestamp may hold: digits, every separator a branch looks for, letters
# (T, Z), a sign, a full-width digit and a kanji of the Japanese formats, a tab.
MUTATIONS = list("0123456789") + list("-:/ .T+Z年０a\t")


def mutated(text: str, rng) -> set[str]:
    """text with every position replaced by every MUTATIONS character, and 3,000 texts with two to
    four positions replaced at random: by any of them, or by digits (mostly valid moments)."""
    out = {text[:i] + c + text[i + 1:] for i in range(len(text)) for c in MUTATIONS}
    for k in range(3000):
        chars = list(text)
        for i in rng.sample(range(len(text)), rng.randint(2, 4)):
            chars[i] = rng.choice(MUTATIONS if k % 2 else MUTATIONS[:10])
        out.add("".join(chars))
    return out


def test_the_fast_shapes_read_as_every_branch_reads_them(con):
    """timestamp_of reads '2026-07-03 10:00:00' and '2026-07-03' shapes (a LIKE) with their one
    format and leaves the rest to timestamp_any's branches: over values of those shapes with
    characters mutated, valid or not, the two macros agree."""
    import random

    rng = random.Random(7)
    texts = set()
    for base in ["2026-07-03 10:00:00", "2024-02-29 23:59:59", "1999-12-31 00:00:00", "2026-07-03", "2024-02-29"]:
        texts |= mutated(base, rng)
    rows = con.execute(
        "SELECT count(*) FILTER (a LIKE '____-__-__ __:__:__' OR a LIKE '____-__-__'), "
        "count(*) FILTER (timestamp_any(a, $tz) IS NOT NULL), count(*) FILTER (timestamp_any(a, $tz) IS NULL), "
        "list(a) FILTER (timestamp_of(a, $tz) IS DISTINCT FROM timestamp_any(a, $tz)) "
        "FROM unnest($xs) AS t(a)", {"xs": sorted(texts), "tz": TZ}).fetchone()
    shaped, valid, invalid, differ = rows
    assert shaped > 5_000 and valid > 1_000 and invalid > 5_000  # both outcomes, thousands of the fast shapes
    assert differ is None or differ == [], differ[:20]


@pytest.mark.parametrize("text", ["", " ", "　", "not a date", "2026-13-01", "2026/02/30", "12:00", "2026-07-03 25:00"])
def test_text_that_is_no_moment_reads_as_null(con, text):
    assert con.execute("SELECT timestamp_of(ascii_text($x), $tz)", {"x": text, "tz": TZ}).fetchone()[0] is None


@settings(max_examples=80, deadline=None)
@given(value=st.integers(min_value=-10**12, max_value=10**12), full_width=st.booleans(), grouped=st.booleans(),
       fraction=st.sampled_from(["", ".0", ".5", ".25"]))
def test_numbers_and_counts_read_as_python_reads_them(con, value, full_width, grouped, fraction):
    text = (f"{value:,}" if grouped else str(value)) + fraction
    if full_width:
        text = text.translate(FULL_WIDTH)
    number, count = con.execute("SELECT number_of(ascii_text($x)), count_of(ascii_text($x))", {"x": f" {text} "}).fetchone()
    expected = float(str(value) + fraction)
    assert number == expected
    assert count == (int(expected) if expected == int(expected) else None)


@settings(max_examples=80, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("ab 　0１xＺ展示会-")), max_size=12))
def test_clean_text_trims_ascii_and_ideographic_spaces_and_blank_is_null(con, text):
    expected = text.replace("　", " ").strip(" ") or None
    assert con.execute("SELECT clean_text($x)", {"x": text}).fetchone()[0] == expected


SPACES = [chr(c) for c in (0x20, 0xA0, 0x1680, 0x2000, 0x2005, 0x200A, 0x202F, 0x205F, 0x3000)]
cell = st.none() | st.text(alphabet=st.sampled_from(SPACES + list("a\t\n0１Ｚ展-\u200b\u00ad")), max_size=8)


@settings(max_examples=80, deadline=None)
@given(chunks=st.lists(st.lists(cell, min_size=1, max_size=6), min_size=1, max_size=3))
def test_the_readers_arrow_cleaning_equals_the_clean_text_macro(con, chunks):
    """The reader cleans text with Arrow's kernels (ingest.clean_text_columns) where the SQL
    baselines call clean_text: the same value for every text, chunk by chunk (a chunk with an
    ideographic space and one without take different routes)."""
    import pyarrow as pa

    from assets.ingest.parsing import clean_text_columns

    column = pa.chunked_array([pa.array(c, pa.string()) for c in chunks])
    table = pa.table({"_source_row": pa.array(range(len(column)), pa.int64()), "x": column})
    got = clean_text_columns(table).column("x").to_pylist()
    values = [v for c in chunks for v in c]
    expected = [con.execute("SELECT clean_text($x)", {"x": v}).fetchone()[0] for v in values]
    assert got == expected


def test_the_readers_space_separators_are_unicodes_category_zs():
    import sys
    import unicodedata

    from assets.ingest.parsing import SPACE_SEPARATORS

    zs = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Zs"}
    assert set(SPACE_SEPARATORS) == zs


@settings(max_examples=60, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=200 * 3600), full_width=st.booleans())
def test_a_studio_duration_reads_as_its_seconds(con, seconds, full_width):
    """YouTube Studio writes average view durations H:MM:SS (0:01:25, 12:03:09); plain seconds read too."""
    h, rest = divmod(seconds, 3600)
    text = f"{h}:{rest // 60:02d}:{rest % 60:02d}"
    for written in (text, str(seconds)):
        written = written.translate(FULL_WIDTH) if full_width else written
        assert con.execute("SELECT duration_of(ascii_text($x))", {"x": written}).fetchone()[0] == seconds


@pytest.mark.parametrize("text", ["1:60:00", "0:01:5", "1:02", "-0:01:00", "0:01:25.5", "1h2m", "0:01:25 "])
def test_text_that_is_no_studio_duration_reads_as_null(con, text):
    # "0:01:25 " is trimmed by ascii_text first, so it reads; as raw text the macro refuses it
    assert con.execute("SELECT duration_of($x)", {"x": text}).fetchone()[0] is None
