"""Numbers are read exactly or not at all (docs/inputs.md, Values): a value whose decimal or
thousands marks are ambiguous or of another convention is quarantined, naming file, row, column and
the accepted forms, unless the file's profile declares its marks; then it is read right."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.core.database import prepare_working_database
from assets.ingest.load import ingest_source
from schemas import SOURCES
from schemas.config import ConfigError
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR

TZ = "Asia/Tokyo"


@pytest.fixture
def con():
    c = duckdb.connect()
    prepare_working_database(c)
    yield c
    c.close()


@pytest.mark.parametrize("text, money, count", [
    ("1500000", Decimal("1500000"), 1500000),
    ("1,500,000", Decimal("1500000"), 1500000),
    ("¥1,500,000", Decimal("1500000"), None),
    ("JPY 1,500,000", Decimal("1500000"), None),
    ("1500.50", Decimal("1500.50"), None),
    ("9552.0", Decimal("9552.00"), 9552),
    ("0.125", None, None),  # a third decimal: refused, never rounded to 0.13
    ("1.234", None, None),  # 1234 with a thousands point, or 1.234? refused
    ("1.000", None, None),
    ("1.234,56", None, None),  # a European amount is not 1.23
    ("12,34", None, None),  # nor 1234
    ("1,2345", None, None),
    ("1 234", None, None),
    ("0x10", None, None),  # DuckDB's cast alone reads these
    ("1_000", None, None),
    ("1e3", None, None),
])
def test_money_and_counts_are_read_only_in_the_canonical_marks(con, text, money, count):
    assert con.execute("SELECT money_of(ascii_text($x)), count_of(ascii_text($x))", {"x": text}).fetchone() == (
        money, count)


def test_a_number_may_be_written_as_a_spreadsheet_does(con):
    assert con.execute("SELECT number_of('1.5E+06'), number_of('0.542'), number_of('1,234.5'), number_of('12,34')"
                       ).fetchone() == (1_500_000.0, 0.542, 1234.5, None)


EUROPEAN = """deal_id,created_at,stage,amount
D1,2026-07-01,Closed Won,"1.234,56"
D2,2026-07-01,Closed Won,"12,34"
D3,2026-07-01,Closed Won,"1.500.000"
D4,2026-07-01,Closed Won,250
"""


def _inbox(tmp_path: Path, text: str) -> Path:
    inbox = tmp_path / "inbox"
    (inbox / "deals").mkdir(parents=True)
    (inbox / "deals" / "deals_2026-07-02.csv").write_text(text, encoding="utf-8")
    return inbox


def test_a_european_amount_is_quarantined_without_a_declared_format(con, tmp_path):
    inbox = _inbox(tmp_path, EUROPEAN)
    result = ingest_source(con, SOURCES["deals"], inbox, load_profiles(CONFIG_DIR), TZ, "t", max_rejected_share=1.0)
    (outcome,) = result.loaded
    assert outcome.rows == 1 and outcome.quarantined == 3
    assert con.execute("SELECT deal_id, amount FROM raw.deals").fetchall() == [("D4", Decimal("250.00"))]
    problems = con.execute("SELECT row_number, column_name, check_name, raw_value, problem FROM quarantine.deals "
                           "ORDER BY row_number").fetchall()
    assert [p[:4] for p in problems] == [
        (1, "amount", "number_marks:amount", "1.234,56"), (2, "amount", "number_marks:amount", "12,34"),
        (3, "amount", "number_marks:amount", "1.500.000")]
    assert all("1,234,567.89" in p[4] and "number_format" in p[4] for p in problems)
    assert "deals/deals_2026-07-02.csv: row 1, column amount: has decimal or thousands marks" in outcome.message


def test_a_european_amount_is_read_right_under_a_profile_that_declares_its_marks(con, tmp_path):
    config = tmp_path / "config"
    (config / "profiles").mkdir(parents=True)
    (config / "profiles" / "european_crm.yaml").write_text(
        "name: european_crm\nsources:\n  deals:\n    number_format: {decimal_mark: ',', grouping_mark: '.'}\n",
        encoding="utf-8")
    inbox = _inbox(tmp_path, EUROPEAN + 'D5,2026-07-01,Closed Won,"2,5"\nD6,2026-07-01,Closed Won,"3,001"\n'
                   'D7,2026-07-01,Closed Won,"1,5.0"\n')
    result = ingest_source(con, SOURCES["deals"], inbox, load_profiles(config), TZ, "t", max_rejected_share=1.0)
    (outcome,) = result.loaded
    assert outcome.profile == "european_crm"
    assert con.execute("SELECT deal_id, amount FROM raw.deals ORDER BY 1").fetchall() == [
        ("D1", Decimal("1234.56")), ("D2", Decimal("12.34")), ("D3", Decimal("1500000.00")),
        ("D4", Decimal("250.00")), ("D5", Decimal("2.50"))]
    # 3,001 has three decimals: not a money amount; 1,5.0 mixes the marks: no number at all
    assert con.execute("SELECT row_number, check_name FROM quarantine.deals ORDER BY 1").fetchall() == [
        (6, "parseable:amount"), (7, "parseable:amount")]


def test_a_number_format_with_one_mark_twice_is_a_configuration_error(tmp_path):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "bad.yaml").write_text(
        "name: bad\nsources:\n  deals:\n    number_format: {decimal_mark: ',', grouping_mark: ','}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad.yaml.*decimal_mark and grouping_mark must differ"):
        load_profiles(tmp_path)


# ---------------------------------------------------------------- duplicate headers

TWICE = "lead_id,created_at,lead_source,Lead Source,lead_source\nL1,2026-07-01,Webinar,x,展示会\n"


def test_a_header_written_twice_refuses_the_file_naming_both_positions(con, tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "leads").mkdir(parents=True)
    (inbox / "leads" / "leads.csv").write_text(TWICE, encoding="utf-8")
    result = ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), TZ, "t")
    (outcome,) = result.rejected
    assert ("leads/leads.csv: has the same header twice on line 1: 'lead_source' in columns 3 (C) and 5 (E)"
            in outcome.message)
    assert "duplicate_headers" in outcome.message
    assert con.execute("SELECT count(*) FROM raw.leads").fetchone() == (0,)


def test_a_profile_says_which_of_two_equal_headers_to_read(con, tmp_path):
    config = tmp_path / "config"
    (config / "profiles").mkdir(parents=True)
    (config / "profiles" / "twice.yaml").write_text(
        "name: twice\nsources:\n  leads:\n    duplicate_headers: {lead_source: last}\n", encoding="utf-8")
    inbox = tmp_path / "inbox"
    (inbox / "leads").mkdir(parents=True)
    (inbox / "leads" / "leads.csv").write_text(TWICE, encoding="utf-8")
    result = ingest_source(con, SOURCES["leads"], inbox, load_profiles(config), TZ, "t")
    assert [o.profile for o in result.loaded] == ["twice"]
    assert con.execute("SELECT lead_source FROM raw.leads").fetchall() == [("展示会",)]


def test_a_header_written_twice_that_feeds_nothing_is_harmless(con, tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "leads").mkdir(parents=True)
    (inbox / "leads" / "leads.csv").write_text("lead_id,created_at,lead_source,memo,memo\nL1,2026-07-01,Webinar,a,b\n",
                                               encoding="utf-8")
    result = ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), TZ, "t")
    assert len(result.loaded) == 1
