"""Inbox -> raw: what a file must look like to be loaded, and what happens when it is not.

CONTRACT sections 2-3: every accepted date and money format, lineage columns, no
PII in raw, whole-file rejection with a message naming file, row, column and
problem, encodings, idempotent re-loads and append-only snapshots.
"""

from __future__ import annotations

import codecs
import re
import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from assets.ingest.load import SourceLoad, ingest_source
from schemas import SOURCES
from schemas.profiles import load_profiles

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / "config"
TZ = "Asia/Tokyo"


# ---------------------------------------------------------------- helpers


def put(inbox: Path, source: str, name: str, content: str | bytes, encoding: str = "utf-8",
        mtime: float | None = None) -> Path:
    """Write one export file to inbox/<source>/<name> (text is encoded as given)."""
    path = inbox / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def ingest(con: duckdb.DuckDBPyConnection, inbox: Path, source: str) -> SourceLoad:
    return ingest_source(con, SOURCES[source], inbox, load_profiles(CONFIG), TZ, "test-run")


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def count(con: duckdb.DuckDBPyConnection, table: str) -> int:
    return con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


# ---------------------------------------------------------------- a good file


GOOD_LEADS = (
    "lead_id,created_at,lead_source,email,owner\n"
    "L1,2026-07-03 10:00,Webinar,taro@example.jp,佐藤\n"
    "L2,2026/7/3 10:00,セミナー,hanako@example.jp,鈴木\n"
    "L3,2026-07-03T10:00:00+09:00,展示会,,\n"
    "L4,2026-07-03T01:00:00Z,紹介,,\n"
    "L5,20260703,自然検索,,\n"
)


def test_good_leads_file_loads_with_lineage_columns(inbox, con):
    put(inbox, "leads", "a.csv", GOOD_LEADS)

    result = ingest(con, inbox, "leads")

    assert [(o.file_name, o.status, o.rows, o.profile) for o in result.loaded] == [
        ("leads/a.csv", "loaded", 5, "native")]
    assert result.rejected == [] and result.skipped == 0
    assert rows(con, "SELECT _source_file, _source_row, lead_id, lead_source FROM raw.leads ORDER BY _source_row") == [
        ("leads/a.csv", 1, "L1", "Webinar"),
        ("leads/a.csv", 2, "L2", "セミナー"),
        ("leads/a.csv", 3, "L3", "展示会"),
        ("leads/a.csv", 4, "L4", "紹介"),
        ("leads/a.csv", 5, "L5", "自然検索"),
    ]
    assert rows(con, "SELECT source, file_name, profile, encoding, rows_read, rows_loaded, status, message, run_id "
                     "FROM ops.load_log") == [
        ("leads", "leads/a.csv", "native", "utf-8", 5, 5, "loaded", None, "test-run")]
    assert count(con, "ops.load_errors") == 0


def test_every_documented_timestamp_format_parses_to_local_tokyo_time(inbox, con):
    put(inbox, "leads", "a.csv", GOOD_LEADS)

    ingest(con, inbox, "leads")

    assert rows(con, "SELECT lead_id, created_at FROM raw.leads ORDER BY lead_id") == [
        ("L1", dt.datetime(2026, 7, 3, 10, 0)),  # 2026-07-03 10:00
        ("L2", dt.datetime(2026, 7, 3, 10, 0)),  # 2026/7/3 10:00
        ("L3", dt.datetime(2026, 7, 3, 10, 0)),  # +09:00 is Tokyo already
        ("L4", dt.datetime(2026, 7, 3, 10, 0)),  # 01:00Z = 10:00 JST
        ("L5", dt.datetime(2026, 7, 3, 0, 0)),   # 20260703
    ]


def test_pii_columns_email_and_owner_are_not_stored_in_raw(inbox, con):
    put(inbox, "leads", "a.csv", GOOD_LEADS)

    ingest(con, inbox, "leads")

    columns = {r[0] for r in rows(con, "DESCRIBE raw.leads")}
    assert "email" not in columns
    assert "owner" not in columns
    assert {"_load_id", "_source_file", "_source_row", "_loaded_at", "lead_id", "created_at"} <= columns
    everything = " ".join(str(v) for r in rows(con, "SELECT * FROM raw.leads") for v in r)
    assert "example.jp" not in everything and "佐藤" not in everything


def test_every_documented_money_format_gives_the_same_amount(inbox, con):
    put(inbox, "deals", "d.csv",
        "deal_id,created_at,stage,amount\n"
        "D1,2026-07-01,受注,1500000\n"
        'D2,2026-07-01,受注,"1,500,000"\n'
        'D3,2026-07-01,受注,"¥1,500,000"\n'
        'D4,2026-07-01,受注,"1,500,000円"\n'
        'D5,2026-07-01,受注,"JPY 1,500,000"\n'
        "D6,2026-07-01,受注,１５０００００\n")

    result = ingest(con, inbox, "deals")

    assert [(o.file_name, o.rows) for o in result.loaded] == [("deals/d.csv", 6)]
    assert rows(con, "SELECT deal_id, amount FROM raw.deals ORDER BY deal_id") == [
        ("D1", Decimal("1500000.00")),
        ("D2", Decimal("1500000.00")),
        ("D3", Decimal("1500000.00")),
        ("D4", Decimal("1500000.00")),
        ("D5", Decimal("1500000.00")),
        ("D6", Decimal("1500000.00")),
    ]


def test_spend_month_is_stored_as_its_first_day_with_month_grain(inbox, con):
    put(inbox, "spend", "s.csv",
        "date,channel,cost\n"
        "2026-07,Google Ads,100000\n"
        "2026-07-15,Meta,5000\n")

    result = ingest(con, inbox, "spend")

    assert [o.rows for o in result.loaded] == [2]
    assert rows(con, "SELECT date, date_grain, channel, cost FROM raw.spend ORDER BY _source_row") == [
        (dt.date(2026, 7, 1), "month", "Google Ads", Decimal("100000.00")),
        (dt.date(2026, 7, 15), "day", "Meta", Decimal("5000.00")),
    ]


def test_a_date_column_with_an_offset_is_the_local_day_in_the_configured_time_zone(inbox, con):
    put(inbox, "deals", "d.csv",
        "deal_id,created_at,stage,close_date\n"
        "D1,2026-07-03T08:00:00+09:00,受注,2026-07-03T08:00:00+09:00\n")

    ingest(con, inbox, "deals")

    assert rows(con, "SELECT created_at, close_date FROM raw.deals") == [
        (dt.datetime(2026, 7, 3, 8, 0), dt.date(2026, 7, 3))]


# ---------------------------------------------------------------- bad values reject the whole file

# (source, file text, expected message fragment, raw value in message or None, (row, column) in load_errors)
BAD_FILES = {
    "unparseable_date": (
        "leads",
        "lead_id,created_at,lead_source\nL1,2026-07-03,seo\nL2,2026-13-45,seo\n",
        "leads/bad.csv: row 2, column created_at: is not a date/time",
        "'2026-13-45'",
        (2, "created_at"),
    ),
    "negative_amount": (
        "deals",
        "deal_id,created_at,stage,amount\nD1,2026-07-01,受注,100\nD2,2026-07-01,受注,-100\n",
        "deals/bad.csv: row 2, column amount: is negative",
        "'-100'",
        (2, "amount"),
    ),
    "duplicate_lead_id": (
        "leads",
        "lead_id,created_at,lead_source\nL1,2026-07-03,seo\nL1,2026-07-04,seo\n",
        "column lead_id: duplicate key lead_id",
        None,
        (2, "lead_id"),
    ),
    "empty_required_stage": (
        "deals",
        "deal_id,created_at,stage\nD1,2026-07-01,受注\nD2,2026-07-01,\n",
        "deals/bad.csv: row 2, column stage: is empty but required",
        None,
        (2, "stage"),
    ),
    "date_before_2000": (
        "leads",
        "lead_id,created_at,lead_source\nL1,1999-12-31,seo\nL2,2026-07-03,seo\n",
        "leads/bad.csv: row 1, column created_at: is before 2000-01-01",
        "'1999-12-31'",
        (1, "created_at"),
    ),
    "count_not_whole": (
        "ga4_sessions",
        "date,session_source,session_medium,sessions\n2026-07-01,google,organic,10\n2026-07-01,(direct),(none),1.5\n",
        "ga4_sessions/bad.csv: row 2, column sessions: is not a whole number",
        "'1.5'",
        (2, "sessions"),
    ),
    "engaged_above_sessions": (
        "ga4_sessions",
        "date,session_source,session_medium,sessions,engaged_sessions\n"
        "2026-07-01,google,organic,10,5\n2026-07-01,(direct),(none),3,4\n",
        "ga4_sessions/bad.csv: row 2",
        None,
        (2, None),
    ),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_value_rejects_the_whole_file_naming_file_row_column_and_problem(inbox, con, case):
    source, text, fragment, raw_value, (row, column) = BAD_FILES[case]
    put(inbox, source, "bad.csv", text)

    result = ingest(con, inbox, source)

    assert result.loaded == []
    assert len(result.rejected) == 1
    outcome = result.rejected[0]
    assert (outcome.file_name, outcome.status) == (f"{source}/bad.csv", "rejected")
    assert fragment in outcome.message
    if raw_value:
        assert raw_value in outcome.message
    # nothing of the file is in raw, and the working database (which is published) keeps no value of it
    assert count(con, f"raw.{source}") == 0
    kept = re.sub(r" \(value '[^\n]*'\)$", "", outcome.message, flags=re.M)
    assert rows(con, "SELECT file_name, status, rows_loaded, message FROM ops.load_log") == [
        (f"{source}/bad.csv", "rejected", 0, kept)]
    assert "(value" not in kept
    assert rows(con, "SELECT count(*) FROM ops.load_errors WHERE raw_value IS NOT NULL") == [(0,)]
    errors = rows(con, "SELECT file_name, row_number, column_name FROM ops.load_errors")
    if column is None:
        assert (f"{source}/bad.csv", row) in [(e[0], e[1]) for e in errors]
    else:
        assert (f"{source}/bad.csv", row, column) in errors


def test_engaged_sessions_above_sessions_is_explained_in_words(inbox, con):
    put(inbox, "ga4_sessions", "bad.csv",
        "date,session_source,session_medium,sessions,engaged_sessions\n2026-07-01,google,organic,3,4\n")

    result = ingest(con, inbox, "ga4_sessions")

    assert "row 1" in result.rejected[0].message
    assert "engaged_sessions is greater than sessions" in result.rejected[0].message
    assert count(con, "raw.ga4_sessions") == 0


def test_engaged_sessions_above_sessions_is_one_problem_in_column_engaged_sessions(inbox, con):
    put(inbox, "ga4_sessions", "bad.csv",
        "date,session_source,session_medium,sessions,engaged_sessions\n2026-07-01,google,organic,3,4\n")

    result = ingest(con, inbox, "ga4_sessions")

    assert result.rejected[0].message.splitlines() == [
        "ga4_sessions/bad.csv: 1 of its 1 rows (100.0%) fail a check, more than the 5% allowed for ga4_sessions "
        "(max_rejected_share in config/sources.yaml); the whole file was refused and nothing of it was loaded",
        "ga4_sessions/bad.csv: row 1, column engaged_sessions: engaged_sessions is greater than sessions (value '4')"]
    # the refused file's values are in the run's message and its problems sheet, not in the working database
    assert rows(con, "SELECT row_number, column_name, raw_value, problem FROM ops.load_errors") == [
        (1, "engaged_sessions", None, "engaged_sessions is greater than sessions")]


def test_duplicate_lead_id_error_rows_point_at_both_copies(inbox, con):
    put(inbox, "leads", "bad.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,seo\nL1,2026-07-04,seo\n")

    result = ingest(con, inbox, "leads")

    assert "duplicate key" in result.rejected[0].message
    assert rows(con, "SELECT row_number, column_name, record_key FROM ops.load_errors ORDER BY row_number") == [
        (1, "lead_id", "L1"), (2, "lead_id", "L1")]


def test_a_rejected_file_does_not_disturb_an_earlier_file_of_the_same_source(inbox, con):
    put(inbox, "leads", "a.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,seo\nL2,2026-07-04,展示会\n",
        mtime=1_780_000_000)
    ingest(con, inbox, "leads")
    before = rows(con, "SELECT * FROM raw.leads ORDER BY _source_row")

    put(inbox, "leads", "b.csv", "lead_id,created_at,lead_source\nL1,2026-07-05,seo\nL3,not a date,seo\n",
        mtime=1_780_000_100)
    result = ingest(con, inbox, "leads")

    assert [o.file_name for o in result.rejected] == ["leads/b.csv"]
    assert result.loaded == [] and result.skipped == 1
    assert rows(con, "SELECT * FROM raw.leads ORDER BY _source_row") == before
    assert rows(con, "SELECT file_name, status FROM ops.load_log ORDER BY load_id") == [
        ("leads/a.csv", "loaded"), ("leads/b.csv", "rejected")]


# ---------------------------------------------------------------- whole-file problems


def test_missing_required_header_is_refused_naming_the_columns_and_closest_profile(inbox, con):
    put(inbox, "leads", "nohdr.csv", "lead_id,lead_source\nL1,seo\n")

    result = ingest(con, inbox, "leads")

    message = result.rejected[0].message
    assert message.startswith("leads/nohdr.csv: ")
    assert "'native'" in message
    assert "created_at" in message
    assert count(con, "raw.leads") == 0
    assert rows(con, "SELECT status, profile FROM ops.load_log") == [("rejected", None)]
    assert rows(con, "SELECT row_number, check_name FROM ops.load_errors") == [(None, "file")]


def test_missing_several_required_headers_names_each_of_them(inbox, con):
    put(inbox, "deals", "nohdr.csv", "deal_id,amount\nD1,100\n")

    result = ingest(con, inbox, "deals")

    message = result.rejected[0].message
    assert "created_at" in message and "stage" in message and "'native'" in message


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"lead_id,created_at,lead_source\n", "no data rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00", "binary"),
    ],
    ids=["zero_bytes", "header_only", "binary_with_nul"],
)
def test_empty_header_only_and_binary_files_are_rejected_with_a_clear_message(inbox, con, content, words):
    put(inbox, "leads", "x.csv", content)

    result = ingest(con, inbox, "leads")

    assert result.loaded == []
    assert [o.file_name for o in result.rejected] == ["leads/x.csv"]
    message = result.rejected[0].message
    assert message.startswith("leads/x.csv: ")
    assert words in message
    assert count(con, "raw.leads") == 0
    assert rows(con, "SELECT status FROM ops.load_log") == [("rejected",)]


# ---------------------------------------------------------------- encodings

JAPANESE_LEADS = "lead_id,created_at,lead_source,company\nL1,2026/07/03,展示会,株式会社テスト\nL2,2026/07/04,ウェビナー,サンプル商事\n"


def test_cp932_leads_file_with_japanese_values_loads(inbox, con):
    put(inbox, "leads", "sjis.csv", JAPANESE_LEADS, encoding="cp932")

    result = ingest(con, inbox, "leads")

    assert [o.rows for o in result.loaded] == [2]
    assert rows(con, "SELECT encoding FROM ops.load_log") == [("cp932",)]
    assert rows(con, "SELECT lead_id, lead_source, company FROM raw.leads ORDER BY lead_id") == [
        ("L1", "展示会", "株式会社テスト"), ("L2", "ウェビナー", "サンプル商事")]


@pytest.mark.parametrize("encoding", ["utf-8", "cp932"])
def test_encoding_is_decided_over_the_whole_file_across_read_blocks(tmp_path, encoding):
    """UTF-8 is checked 4 MiB at a time: a character across a block boundary is still UTF-8,
    and a Shift_JIS byte far past the first block still makes the file CP932."""
    from assets.ingest.csv_tables import detect_encoding

    line = "L1,2026/07/03,展示会,株式会社テスト\n"
    body = ("lead_id,created_at,lead_source,company\n" + "L0,2026/07/03,web,x\n" * 300_000).encode()
    # one long line whose 3-byte characters straddle the 4 MiB boundary, then Japanese lines
    body += ("L2,2026/07/03,web," + "展" * 1_500_000 + "\n").encode() + (line * 10).encode()
    assert len(body) > 2 * (1 << 22)
    path = tmp_path / "big.csv"
    path.write_bytes(body if encoding == "utf-8" else body.decode().encode("cp932"))

    assert detect_encoding(path) == encoding


def test_utf8_with_bom_loads_and_the_bom_is_not_part_of_the_first_header(inbox, con):
    put(inbox, "leads", "bom.csv", JAPANESE_LEADS, encoding="utf-8-sig")

    result = ingest(con, inbox, "leads")

    assert [(o.rows, o.profile) for o in result.loaded] == [(2, "native")]
    assert rows(con, "SELECT encoding FROM ops.load_log") == [("utf-8-sig",)]
    assert rows(con, "SELECT lead_id, lead_source FROM raw.leads ORDER BY lead_id") == [
        ("L1", "展示会"), ("L2", "ウェビナー")]


@pytest.mark.parametrize(
    "name, text",
    [
        ("unicode.tsv", JAPANESE_LEADS.replace(",", "\t")),
        ("unicode.txt", JAPANESE_LEADS.replace(",", "\t")),
        ("unicode.csv", JAPANESE_LEADS),
    ],
    ids=["tsv_tab", "txt_tab", "csv_comma"],
)
def test_utf16_with_bom_loads(inbox, con, name, text):
    put(inbox, "leads", name, codecs.BOM_UTF16_LE + text.encode("utf-16-le"))  # what Excel "Unicode text" writes

    result = ingest(con, inbox, "leads")

    assert [(o.file_name, o.rows) for o in result.loaded] == [(f"leads/{name}", 2)]
    assert rows(con, "SELECT encoding FROM ops.load_log") == [("utf-16",)]
    assert rows(con, "SELECT lead_id, created_at, lead_source, company FROM raw.leads ORDER BY lead_id") == [
        ("L1", dt.datetime(2026, 7, 3), "展示会", "株式会社テスト"),
        ("L2", dt.datetime(2026, 7, 4), "ウェビナー", "サンプル商事"),
    ]


# ---------------------------------------------------------------- re-loads and snapshots


def test_loading_the_same_file_twice_is_a_no_op(inbox, con):
    put(inbox, "leads", "a.csv", GOOD_LEADS)
    first = ingest(con, inbox, "leads")

    second = ingest(con, inbox, "leads")

    assert len(first.loaded) == 1
    assert (second.loaded, second.rejected, second.skipped) == ([], [], 1)
    assert count(con, "raw.leads") == 5
    assert count(con, "ops.load_log") == 1


def test_a_renamed_copy_with_identical_bytes_is_skipped(inbox, con):
    put(inbox, "leads", "a.csv", GOOD_LEADS)
    ingest(con, inbox, "leads")
    put(inbox, "leads", "copy of a.csv", GOOD_LEADS)

    result = ingest(con, inbox, "leads")

    assert (result.loaded, result.rejected, result.skipped) == ([], [], 2)
    assert count(con, "raw.leads") == 5
    assert rows(con, "SELECT file_name FROM ops.load_log") == [("leads/a.csv",)]


def test_a_later_run_hashes_only_files_whose_name_size_or_time_changed(inbox, con, monkeypatch):
    import assets.ingest.load

    put(inbox, "leads", "a.csv", GOOD_LEADS, mtime=1_780_000_000)
    put(inbox, "leads", "b.csv", GOOD_LEADS.replace("L", "M"), mtime=1_780_000_000)
    ingest(con, inbox, "leads")
    hashed = []
    real = assets.ingest.load.sha256_of
    monkeypatch.setattr(assets.ingest.load, "sha256_of", lambda path: hashed.append(path.name) or real(path))
    put(inbox, "leads", "c.csv", GOOD_LEADS.replace("L", "N"))  # new
    put(inbox, "leads", "b.csv", GOOD_LEADS.replace("L", "P"), mtime=1_780_000_100)  # rewritten, same size

    result = ingest(con, inbox, "leads")

    assert sorted(hashed) == ["b.csv", "c.csv"]
    assert (sorted(o.file_name for o in result.loaded), result.skipped) == (["leads/b.csv", "leads/c.csv"], 1)
    assert rows(con, "SELECT count(DISTINCT lead_id) FROM raw.leads") == [(20,)]


def test_two_snapshots_of_leads_both_stay_in_raw(inbox, con):
    put(inbox, "leads", "2026-07-01.csv",
        "lead_id,created_at,lead_source,lifecycle_stage\nL1,2026-06-01,seo,lead\nL2,2026-06-02,展示会,lead\n",
        mtime=1_780_000_000)
    put(inbox, "leads", "2026-07-02.csv",
        "lead_id,created_at,lead_source,lifecycle_stage\nL1,2026-06-01,seo,mql\n",
        mtime=1_780_086_400)

    result = ingest(con, inbox, "leads")

    assert [(o.file_name, o.rows) for o in result.loaded] == [("leads/2026-07-01.csv", 2), ("leads/2026-07-02.csv", 1)]
    assert rows(con, "SELECT _source_file, lead_id, lifecycle_stage FROM raw.leads ORDER BY _load_id, _source_row") == [
        ("leads/2026-07-01.csv", "L1", "lead"),
        ("leads/2026-07-01.csv", "L2", "lead"),
        ("leads/2026-07-02.csv", "L1", "mql"),
    ]
    # the newer snapshot has the higher load id (staging picks the newest version)
    assert rows(con, "SELECT file_name, load_id FROM ops.load_log ORDER BY load_id") == [
        ("leads/2026-07-01.csv", 1), ("leads/2026-07-02.csv", 2)]


def test_utf16_big_endian_with_bom_loads(inbox, con):
    put(inbox, "leads", "be.tsv", codecs.BOM_UTF16_BE + JAPANESE_LEADS.replace(",", "\t").encode("utf-16-be"))

    result = ingest(con, inbox, "leads")

    assert [o.rows for o in result.loaded] == [2]
    assert rows(con, "SELECT lead_id, lead_source FROM raw.leads ORDER BY lead_id") == [
        ("L1", "展示会"), ("L2", "ウェビナー")]


def test_a_check_across_columns_reports_its_own_column_not_the_whole_row():
    """parseable:<column> and the "<rule>:<column>" rules are checks of their column: pandera's failure
    cases hold that column's values, not each failing row made into a dict of every column (which for
    a chunk failing on every row took about 1 GB and most of its CPU)."""
    import pandera.polars as pa
    import polars as pl

    from schemas.spec import EARLIEST_DATE

    frame = pl.DataFrame({"_source_row": [1, 2], "lead_id": ["L1", "L2"], "created_at": [EARLIEST_DATE] * 2,
                          "created_at__raw": ["2000-01-01", "2000-01-01"], "lead_score": [None, 3.0],
                          "lead_score__raw": ["n/a", "3"], "lead_source": ["Webinar", "Webinar"]})
    schema = SOURCES["leads"].pandera_schema(set(frame.columns) - {"_source_row"}, dt.datetime(2026, 11, 24))
    with pytest.raises(pa.errors.SchemaErrors) as failed:
        schema.validate(frame, lazy=True)
    cases = failed.value.failure_cases.filter(pl.col("check") == "parseable:lead_score")
    assert cases.select("column", "index").rows() == [("lead_score", 0)]


# ---------------------------------------------------------------- quoted line breaks


@pytest.mark.parametrize("blocks, expected", [
    ([b'a,b\n1,2\n'], (0, False)),
    ([b'a,b\n1,"x,y"\n'], (2, False)),
    ([b'a,b\n1,"x\ny"\n'], (2, True)),
    ([b'a,b\n1,"he said ""hi""\r\nbye"\n'], (6, True)),
    ([b'a,b\n1,"he said ""hi"""\n2,3\n'], (6, False)),
    ([b'a,b\n1,"x', b'\ny"\n'], (2, True)),  # the value opens in one block and breaks in the next
    ([b'a,b\n1,"x"\n', b'2,"y"\n'], (4, False)),
])
def test_quote_scan_finds_line_breaks_inside_quoted_values(blocks, expected):
    from assets.ingest.csv_tables import _quote_scan

    assert _quote_scan(blocks) == expected


@given(st.binary(max_size=40).map(lambda b: bytes(b'a",\n\r'[x % 5] for x in b)),
       st.lists(st.integers(0, 40), max_size=6))
@example(b'"\n"', [1])  # the value opened in the block before
def test_quote_scan_agrees_with_a_byte_by_byte_reading(data, cuts):
    from assets.ingest.csv_tables import _quote_scan

    quotes, inside = 0, False  # the reference: one byte at a time
    for byte in data:
        if byte == 0x22:
            quotes += 1
        elif byte in (0x0A, 0x0D) and quotes % 2:
            inside = True
    edges = [0, *sorted(c for c in cuts if c <= len(data)), len(data)]
    assert _quote_scan([data[a:b] for a, b in zip(edges, edges[1:])]) == (quotes, inside)


def test_a_large_file_with_line_breaks_inside_quoted_values_loads_every_row_whole(inbox, con):
    # 12 MB: pyarrow reads in 8 MB blocks, so a block boundary falls inside some quoted value
    n = 60_000
    detail = "展示会ブース訪問\n資料請求あり, 担当: 営業部" + "x" * 120
    lines = ["lead_id,created_at,lead_source,lead_source_detail"]
    lines += [f'L{i},2026-07-03 10:00,Webinar,"{detail} {i}"' for i in range(n)]
    put(inbox, "leads", "multiline.csv", "\n".join(lines) + "\n")

    result = ingest(con, inbox, "leads")

    assert [(o.status, o.rows) for o in result.loaded] == [("loaded", n)]
    assert con.execute("SELECT count(*), count(*) FILTER (WHERE lead_source_detail = $d || ' ' || substr(lead_id, 2)) "
                       "FROM raw.leads", {"d": detail}).fetchall() == [(n, n)]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp932"])
def test_a_file_read_in_small_pieces_loads_exactly_as_read_whole(tmp_path, monkeypatch, encoding):
    """Files are read a piece at a time, cut at line ends (csv_tables.READ_PIECE_BYTES), and each
    piece parsed and validated a chunk at a time: pieces of 1 KB and chunks of 7 rows give the
    same raw rows, source rows, quarantine and load log as one piece and one chunk."""
    import assets.ingest.csv_tables
    import assets.ingest.load

    lines = ["lead_id,created_at,lead_source,company"]
    for i in range(1, 301):
        created = "2026-13-45" if i % 97 == 0 else f"2026/07/{1 + i % 28:02d} 10:{i % 60:02d}"
        lead_id = "L5" if i == 250 else f"L{i}"  # a key repeated far from its first row
        lines.append(f"{lead_id},{created},展示会,株式会社テスト{i}")
    text = "\r\n".join(lines) + "\r\n"

    def load(piece_bytes: int, chunk_rows: int) -> dict:
        monkeypatch.setattr(assets.ingest.csv_tables, "READ_PIECE_BYTES", piece_bytes)
        monkeypatch.setattr(assets.ingest.csv_tables, "READ_WHOLE_BYTES", 0)
        monkeypatch.setattr(assets.ingest.load, "VALIDATE_CHUNK_ROWS", chunk_rows)
        inbox = tmp_path / f"inbox{piece_bytes}"
        put(inbox, "leads", "leads.csv", text, encoding=encoding)
        con = duckdb.connect()
        ingest(con, inbox, "leads")
        return {
            "raw": rows(con, "SELECT * EXCLUDE (_load_id, _loaded_at) FROM raw.leads ORDER BY _source_row"),
            "quarantine": rows(con, "SELECT row_number, record_key, column_name, check_name, raw_value "
                                    "FROM quarantine.leads ORDER BY ALL"),
            "log": rows(con, "SELECT status, encoding, rows_read, rows_loaded, rows_quarantined, rows_skipped "
                             "FROM ops.load_log"),
        }

    whole, pieces = load(1 << 30, 1_000), load(1 << 10, 7)
    assert pieces == whole
    assert len(whole["raw"]) == 300 - 5  # rows 97, 194, 291 (bad date) and both copies of L5
    assert [r[0] for r in whole["quarantine"]] == [5, 97, 194, 250, 291]
