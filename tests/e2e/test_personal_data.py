"""Personal data never reaches the published file (CONTRACT section 5, issue 4):
e-mail keys are HMAC-SHA256 with FUNNEL_PII_SALT, masked in problem messages, and
publishing refuses a file that would still hold an address or a phone number."""

from __future__ import annotations

import hashlib
import hmac

import dagster as dg
import duckdb
import pytest

from assets.core import pii
from tests.conftest import query, refused_text, run_funnel_job, write_export

SALT = "test-secret-please-rotate"


def key(address: str, salt: str = SALT) -> str:
    return "hmac:" + hmac.new(salt.encode(), address.strip().lower().encode(), hashlib.sha256).hexdigest()


LEADS_BY_EMAIL = """
    email,created_at,lead_source,company
    taro@example.jp,2026-07-03 10:00,Webinar,株式会社A
    Hanako.Suzuki@Example.JP,2026-07-04 10:00,展示会,株式会社B
    """
DEALS_BY_CONTACT = """
    deal_id,created_at,stage,contact_email,amount,close_date
    D1,2026-07-10,受注, hanako.suzuki@example.jp ,1000000,2026-07-20
    D2,2026-07-11,失注,nobody@example.jp,500000,2026-07-21
    """


def all_text(warehouse) -> str:
    """Every text value of every table of the published file, joined."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cols = con.execute("SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                           "WHERE data_type = 'VARCHAR' AND NOT internal AND database_name = current_database()").fetchall()
        assert {s for s, _, _ in cols} == {"compat", "marts", "ops", "quarantine"}  # compat: old column names
        return "\n".join(str(v) for s, t, c in cols
                         for (v,) in con.execute(f'SELECT "{c}" FROM {s}.{t} WHERE "{c}" IS NOT NULL').fetchall())


def test_a_lead_list_keyed_by_email_gets_hmac_keys_and_deals_link_through_them(tmp_inbox, tmp_path, monkeypatch):
    monkeypatch.setenv("FUNNEL_PII_SALT", SALT)
    write_export(tmp_inbox, "leads", "leads.csv", LEADS_BY_EMAIL)
    write_export(tmp_inbox, "deals", "deals.csv", DEALS_BY_CONTACT)
    wh = tmp_path / "wh" / "funnel.duckdb"

    assert run_funnel_job(tmp_inbox, wh).success

    with duckdb.connect(str(wh.with_name("funnel.work.duckdb")), read_only=True) as con:
        assert sorted(r[0] for r in con.execute("SELECT lead_id FROM staging.leads").fetchall()) == sorted(
            [key("taro@example.jp"), key("hanako.suzuki@example.jp")])
        # D1's contact is Hanako (other case, spaces): linked, so it takes her lead's channel
        assert con.execute("SELECT deal_id, lead_id, lead_linked, channel FROM staging.deals ORDER BY 1").fetchall() \
            == [("D1", key("hanako.suzuki@example.jp"), True, "Event"),
                ("D2", key("nobody@example.jp"), False, "Unattributed")]
    assert query(wh, "SELECT channel, wins, revenue FROM marts.channel_funnel WHERE wins > 0") == [
        ("Event", 1, 1000000)]
    text = all_text(wh)
    assert "@" not in text and "taro" not in text.lower() and "hanako" not in text.lower()


def test_without_the_secret_a_file_keyed_by_email_is_refused_by_name(tmp_inbox, tmp_path, monkeypatch):
    monkeypatch.delenv("FUNNEL_PII_SALT", raising=False)
    write_export(tmp_inbox, "leads", "leads.csv", LEADS_BY_EMAIL)
    wh = tmp_path / "wh" / "funnel.duckdb"

    result = run_funnel_job(tmp_inbox, wh)

    assert query(wh, "SELECT count(*) FROM marts.lead_cohort_funnel") == [(0,)]  # leads held back: none loaded
    description = refused_text(result)
    assert "leads/leads.csv: has rows without lead_id: its records would be keyed by e-mail address" in description
    assert "FUNNEL_PII_SALT, which is not set" in description
    assert "@" not in description


def test_a_different_secret_gives_different_keys():
    import pyarrow as pa

    addresses = pa.array(["taro@example.jp", "ＴＡＲＯ@example.jp ", None, ""])
    a = pii.email_key(addresses, b"one").to_pylist()
    b = pii.email_key(addresses, b"two").to_pylist()
    assert a[0] == a[1] == key("taro@example.jp", "one")  # full-width and case folded by NFKC + lower
    assert a[2] is None and a[3] is None
    assert b[0] == key("taro@example.jp", "two") != a[0]


def test_personal_data_in_a_bad_value_is_masked_in_quarantine_messages_and_load_errors(tmp_inbox, tmp_path):
    rows = "".join(f"L{i},2026-07-03 10:00,Webinar\n" for i in range(1, 40))
    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\n" + rows
                 + "L99,taro@example.jp,Webinar\n")  # a shifted column: an address where a date belongs
    write_export(tmp_inbox, "deals", "bad.csv", "deal_id,created_at,stage\nD1,03-1234-5678,受注\n")
    wh = tmp_path / "wh" / "funnel.duckdb"

    result = run_funnel_job(tmp_inbox, wh)

    assert "deals/bad.csv" in refused_text(result)  # refused; the leads file loaded with one row quarantined
    with duckdb.connect(str(wh.with_name("funnel.work.duckdb")), read_only=True) as con:
        assert con.execute("SELECT raw_value FROM quarantine.leads").fetchall() == [("<e-mail removed>",)]
        assert con.execute("SELECT raw_value FROM ops.load_errors").fetchall() == [(None,)]  # a refused file's value
        messages = " ".join(m for (m,) in con.execute("SELECT message FROM ops.load_log WHERE message IS NOT NULL")
                            .fetchall())
    assert "5678" not in messages and "(value" not in messages  # a refused file: no value kept


@pytest.mark.parametrize("value, expected", [
    ("taro@example.jp", "<e-mail removed>"),
    ("連絡先 03-1234-5678 まで", "連絡先 <phone removed> まで"),
    ("+81 90 1234 5678", "<phone removed>"),
    ("2026-07-03", "2026-07-03"),
    ("Webinar 2026-07", "Webinar 2026-07"),
    ("1,500,000", "1,500,000"),
    ("Tel:03-1234-5678/FAX:03-1234-5679", "Tel:<phone removed>/FAX:<phone removed>"),
    ("6a693c3b-0123-4567-8901-734fed380865", "6a693c3b-0123-4567-8901-734fed380865"),  # a run id
    ("0123-4567-8901-2345", "0123-4567-8901-2345"),
])
def test_mask(value, expected):
    assert pii.mask(value) == expected


def test_an_address_in_a_source_column_is_masked_at_ingest_and_named_by_file_row_and_column(tmp_inbox, tmp_path):
    """An address typed into lead_source (and a phone number into company) never reaches any table of the
    working database, the published file or the Dagster event log: masked as the file is read, the lead
    counted under an unmapped source, and a warning names the file, row and column."""
    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source,company\n"
                 "L1,2026-07-03,Webinar,Acme\nL2,2026-07-04,sato@example.jp,Call 03-1234-5678\n")
    wh = tmp_path / "wh" / "funnel.duckdb"

    result = run_funnel_job(tmp_inbox, wh)

    assert result.success
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "leads_no_personal_data_in_text"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    listed = check.metadata["masked"].value
    assert "| leads/leads.csv | lead_source | e-mail | 1 | 2 |" in listed
    assert "| leads/leads.csv | company | phone | 1 | 2 |" in listed
    from assets.publish.publish import personal_data_in

    for path in (wh, wh.with_name("funnel.work.duckdb")):
        with duckdb.connect(str(path), read_only=True) as con:
            assert personal_data_in(con, con.execute("SELECT current_database()").fetchone()[0]) == []
    assert query(wh, "SELECT channel, leads FROM marts.channel_funnel WHERE leads > 0 ORDER BY 1") == [
        ("Other", 1), ("Webinar", 1)]
    assert query(wh, "SELECT kind, raw_value FROM ops.unmapped_values") == [("lead_source", "<e-mail removed>")]
    assert query(wh, "SELECT file_name, column_name, kind, rows_masked, first_rows FROM ops.masked_values ORDER BY 2"
                 ) == [("leads/leads.csv", "company", "phone", 1, [2]), ("leads/leads.csv", "lead_source", "e-mail", 1, [2])]
    logged = " ".join(str(e.event_specific_data) + (e.message or "") for e in result.all_events)
    assert "sato@example.jp" not in logged and "1234-5678" not in logged


def test_publishing_refuses_a_file_that_would_still_hold_an_address(tmp_inbox, tmp_path):
    """The last guard: personal data that reached a published table some other way (here written into the
    working database by hand) stops the publish, naming the table and column."""
    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,Webinar\n")
    wh = tmp_path / "wh" / "funnel.duckdb"
    assert run_funnel_job(tmp_inbox, wh).success
    before = wh.read_bytes()
    with duckdb.connect(str(wh.with_name("funnel.work.duckdb"))) as con:
        con.execute("UPDATE marts.channel_funnel SET channel = 'sato@example.jp' WHERE leads > 0")

    result = run_funnel_job(tmp_inbox, wh)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert failure.step_key == "published__funnel_duckdb"
    description = failure.event_specific_data.user_failure_data.description
    assert "marts.channel_funnel.channel: 1 value(s) look like an e-mail address or a phone number" in description
    assert wh.read_bytes() == before
    assert [p.name for p in wh.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_the_publish_scan_finds_addresses_and_phones_but_not_run_ids():
    from assets.publish.publish import personal_data_in

    con = duckdb.connect()
    con.execute("CREATE SCHEMA ops; CREATE TABLE ops.t (run_id VARCHAR, note VARCHAR, n INTEGER)")
    con.execute("INSERT INTO ops.t VALUES ('6a693c3b-0123-4567-8901-734fed380865', 'call 03-1234-5678', 1), "
                "('f00d0000-0900-1234-5678-000000000000', 'mail ＠ none', 2), ('x', 'a.b@example.co.jp', 3)")
    assert personal_data_in(con, "memory") == [("ops.t.note", 2)]


@pytest.mark.parametrize("phone", ["+81 3 1234 5678", "(03) 1234 5678", "03\t1234\t5678", "tel:\n090-1234-5678",
                                   "+81-90-1234-5678", "03\r1234\r5678"])
def test_the_publish_scan_finds_a_phone_whatever_separator_it_is_written_with(phone):
    from assets.publish.publish import personal_data_in

    con = duckdb.connect()
    con.execute("CREATE SCHEMA ops; CREATE TABLE ops.t (note VARCHAR)")
    con.execute("INSERT INTO ops.t VALUES ($p), ('L0030001')", {"p": phone})
    assert personal_data_in(con, "memory") == [("ops.t.note", 1)]
