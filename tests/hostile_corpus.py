"""The hostile-input corpus (issue 21): every case is one file (or inbox entry) dropped next to a good,
already published inbox, and what the real job must do with it.

outcome:
  loaded       the run succeeds (exit 0) and the file's rows reach the published file
  quarantined  the run succeeds; the rows named go to quarantine.<source> with the message, the rest load
  refused      the source is held back (exit 1) naming the file and the problem; the published marts keep
               their data
  not read     the run succeeds; the entry is listed as not read with the reason; the marts do not change

The cases are split over two test modules (tests/e2e/test_hostile_corpus_*.py) so that the two test workers
share them.
"""

from __future__ import annotations

import codecs
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

LEADS = "lead_id,created_at,lead_source,campaign,company\n"
DEALS = "deal_id,created_at,stage,lead_id,amount\n"
GA4 = "date,session_source,session_medium,sessions,engaged_sessions\n"


def leads(n: int = 30, first: int = 100) -> str:
    return "".join(f"L{i},2026-07-05 10:00,Webinar,c{i % 3},Acme\n" for i in range(first, first + n))


@dataclass(frozen=True)
class Case:
    name: str
    source: str
    file: str
    content: bytes | Callable[[Path, Path], None]  # bytes, or make(entry path, scratch folder outside the inbox)
    outcome: str  # loaded, quarantined, refused, not read
    says: str = ""  # words the message (refusal, quarantine problem or not-read reason) must hold
    rows: int | None = None  # rows loaded (loaded, quarantined)
    env: dict = field(default_factory=dict)


def text(s: str, encoding: str = "utf-8") -> bytes:
    return s.encode(encoding)


def _link_outside(entry: Path, scratch: Path) -> None:
    (scratch / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    entry.symlink_to(scratch / "passwd")


def _dangling(entry: Path, scratch: Path) -> None:
    entry.symlink_to(scratch / "nothing.csv")


def _linked_folder(entry: Path, scratch: Path) -> None:
    folder = scratch / "folder"
    folder.mkdir()
    (folder / "more.csv").write_text(LEADS + leads(3, 900), encoding="utf-8")
    entry.symlink_to(folder, target_is_directory=True)


def _fifo(entry: Path, scratch: Path) -> None:
    os.mkfifo(entry)


CASES = [
    # ---- refused: nothing of the file loads, the run names it
    Case("empty", "leads", "empty.csv", b"", "refused", "is empty (0 bytes)"),
    Case("header only", "leads", "header.csv", text(LEADS), "refused", "has a header but no data rows"),
    Case("blank first line", "leads", "blank.csv", text("\n" + LEADS + leads(3)), "refused", "is empty (no header line)"),
    Case("png image", "leads", "image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "refused", "binary"),
    Case("nul bytes", "leads", "nul.csv", text(LEADS) + b"L1,2026-07-05 10:00,Web\x00inar,c,Acme\n", "refused", "binary"),
    Case("gzip named csv", "leads", "packed.csv", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(64), "refused",
         "binary"),
    Case("xlsx renamed", "leads", "book.csv", b"PK\x03\x04\x14\x00\x06\x00" + bytes(200), "refused",
         "Excel workbook (.xlsx) renamed"),
    Case("old xls", "leads", "old.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "refused", "old Excel workbook"),
    Case("latin-1", "leads", "latin1.csv", text(LEADS + "L1,2026-07-05 10:00,Séminaire ½ ÿ,c,Acme\n", "latin-1"),
         "refused", "unknown encoding"),
    Case("utf-16 without bom", "leads", "utf16.csv", text(LEADS + leads(3), "utf-16-le"), "refused", "binary"),
    Case("unclosed quote", "leads", "quote.csv", text(LEADS + leads(3) + 'L9,2026-07-05 10:00,Webinar,"open,Acme\n'),
         "refused", "never closes"),
    Case("row cut short", "leads", "short.csv", text(LEADS + leads(3) + "L9,2026-07-05\n"), "refused",
         "has line 5 with 2 field(s) where the header at line 1 has 5"),
    Case("row too long", "leads", "long.csv", text(LEADS + leads(3) + "L9,2026-07-05 10:00,Webinar,c,Acme,extra\n"),
         "refused", "has line 5 with 6 field(s)"),
    Case("missing required header", "leads", "noheader.csv", text("lead_id,lead_source\nL1,Webinar\n"), "refused",
         "created_at"),
    Case("duplicate header", "leads", "twice.csv", text("lead_id,created_at,lead_source,lead_source\n"
                                                        "L1,2026-07-05 10:00,Webinar,Event\n"), "refused",
         "'lead_source' in columns 3 (C) and 4 (D)"),
    Case("field over 128 KiB in the header", "leads", "bigheader.csv",
         text("lead_id,created_at," + "x" * (200 << 10) + "\nL1,2026-07-05,a\n"), "refused",
         "has a field longer than 128 KiB"),
    Case("json renamed", "leads", "data.csv", text('[{"lead_id": "L1", "created_at": "2026-07-05"}]\n'), "refused",
         "matches no export profile"),
    Case("html error page", "leads", "page.csv", text("<!DOCTYPE html>\n<html><body>502 Bad Gateway</body></html>\n"),
         "refused", "matches no export profile"),
    Case("ga4 preamble only", "ga4_sessions", "preamble.csv", text("# -----\n# Traffic acquisition\n# 20260701-20260731\n"),
         "refused", "holds only preamble lines"),
    Case("most rows in the future", "leads", "future.csv",
         text(LEADS + "".join(f"L{i},2031-01-01 10:00,Webinar,c,Acme\n" for i in range(5))), "refused",
         "fail a check, more than the 5% allowed"),
    Case("every key twice", "leads", "dupes.csv", text(LEADS + leads(3) + leads(3)), "refused", "duplicate key lead_id"),
    # an ad platform's download: the header may sit below a preamble, and the lines above it are scanned for it
    Case("ad report over all time", "spend", "Campaign report.csv",
         text('Campaign report\nAll time\nCampaign,Campaign type,Impr.,Clicks,Currency code,Cost\n'
              'Brand,Search,"1,000",10,JPY,5000\nTotal: Account,,"1,000",10,JPY,5000\n'), "refused",
         'over "All time" without a date column'),
    Case("preamble over a line of 10 MB", "spend", "report.csv",
         text("Campaign report\nAll time\n" + "x" * (10 << 20) + "\n"), "refused", "matches no export profile"),
    Case("e-mail ids without the secret", "leads", "byemail.csv",
         text(LEADS + "".join(f"u{i}@example.jp,2026-07-05 10:00,Webinar,c,Acme\n" for i in range(3))), "refused",
         "has e-mail addresses as record ids"),
    # ---- quarantined: the bad row waits in quarantine.<source>, the other rows load
    Case("a date in the future", "leads", "q_future.csv", text(LEADS + leads(30) + "L9,2031-01-01 10:00,Webinar,c,Acme\n"),
         "quarantined", "lies in the future", rows=30),
    Case("an impossible date", "leads", "q_feb30.csv", text(LEADS + leads(30) + "L9,2026-02-30 10:00,Webinar,c,Acme\n"),
         "quarantined", "is not a date/time", rows=30),
    Case("a date before 2000", "leads", "q_1999.csv", text(LEADS + leads(30) + "L9,1999-12-31 10:00,Webinar,c,Acme\n"),
         "quarantined", "is before 2000-01-01", rows=30),
    Case("a huge number", "ga4_sessions", "q_huge.csv",
         text(GA4 + "".join(f"2026-07-{d:02d},google,organic,10,5\n" for d in range(1, 25))
              + "2026-07-25,google,organic,99999999999999999999999,5\n"),
         "quarantined", "is not a whole number", rows=24),
    Case("a negative amount", "deals", "q_negative.csv",
         text(DEALS + "".join(f"D{i},2026-07-05,Closed Won,L1,100000\n" for i in range(100, 130))
              + "D9,2026-07-05,Closed Won,L1,-5\n"), "quarantined", "is negative", rows=30),
    Case("a european amount", "deals", "q_euro.csv",
         text(DEALS + "".join(f"D{i},2026-07-05,Closed Won,L1,100000\n" for i in range(100, 130))
              + 'D9,2026-07-05,Closed Won,L1,"1.234,56"\n'), "quarantined", "look like a decimal comma", rows=30),
    Case("an ambiguous amount", "deals", "q_point.csv",
         text(DEALS + "".join(f"D{i},2026-07-05,Closed Won,L1,100000\n" for i in range(100, 130))
              + "D9,2026-07-05,Closed Won,L1,1.234\n"), "quarantined", "could be 1234 or 1.234", rows=30),
    Case("a field of 10 MB", "leads", "q_field.csv", text(LEADS + leads(30) + "L9,2026-07-05 10:00,Webinar,"
                                                             + "x" * (10 << 20) + ",Acme\n"),
         "quarantined", "is longer than 32,767 characters", rows=30),
    Case("an empty stage", "deals", "q_stage.csv",
         text(DEALS + "".join(f"D{i},2026-07-05,Closed Won,L1,100000\n" for i in range(100, 130))
              + "D9,2026-07-05,,L1,100000\n"), "quarantined", "is empty but required", rows=30),
    Case("a fractional count", "ga4_sessions", "q_fraction.csv",
         text(GA4 + "".join(f"2026-07-{d:02d},google,organic,10,5\n" for d in range(1, 25))
              + "2026-07-25,google,organic,1.5,1\n"), "quarantined", "is not a whole number", rows=24),
    Case("engaged above sessions", "ga4_sessions", "q_engaged.csv",
         text(GA4 + "".join(f"2026-07-{d:02d},google,organic,10,5\n" for d in range(1, 25))
              + "2026-07-25,google,organic,3,4\n"), "quarantined", "engaged_sessions is greater than sessions", rows=24),
    # ---- loaded: read as what it is
    Case("formula cells", "leads", "formulas.csv",
         text(LEADS + 'L901,2026-07-05 10:00,Webinar,"=HYPERLINK(""http://x"",""y"")",+cmd|x\nL902,2026-07-05 10:00,'
              "Webinar,@SUM(A1),-1+1\n"), "loaded", rows=2),
    Case("utf-8 with bom", "leads", "bom.csv", codecs.BOM_UTF8 + text(LEADS + leads(3)), "loaded", rows=3),
    Case("cp932 japanese", "leads", "sjis.csv", text(LEADS + "L903,2026/7/5 10:00,展示会,春の展示会,株式会社テスト\n", "cp932"),
         "loaded", rows=1),
    Case("utf-16 excel unicode text", "leads", "unicode.txt",
         codecs.BOM_UTF16_LE + text((LEADS + leads(3)).replace(",", "\t"), "utf-16-le"), "loaded", rows=3),
    Case("crlf line ends", "leads", "crlf.csv", text((LEADS + leads(3)).replace("\n", "\r\n")), "loaded", rows=3),
    Case("no newline at the end", "leads", "noeol.csv", text(LEADS + leads(3).rstrip("\n")), "loaded", rows=3),
    Case("a line break inside a quoted value", "leads", "multiline.csv",
         text(LEADS + 'L904,2026-07-05 10:00,Webinar,"spring\nfair",Acme\n'), "loaded", rows=1),
    Case("full-width digits", "deals", "fullwidth.csv",
         text(DEALS + "D905,２０２６-０７-０５,Closed Won,L1,１，５００，０００\n"), "loaded", rows=1),
    Case("an e-mail as lead source", "leads", "email_source.csv",
         text(LEADS + "L906,2026-07-05 10:00,taro@example.jp,c,Acme\n"), "loaded", rows=1),
    Case("a phone number as company", "leads", "phone_company.csv",
         text(LEADS + "L907,2026-07-05 10:00,Webinar,c,03-1234-5678\n"), "loaded", rows=1),
    # ---- not read: listed with the reason, nothing of it loaded
    Case("a link leaving the inbox", "leads", "passwd.csv", _link_outside, "not read", "a link to a file outside the inbox"),
    Case("a dangling link", "leads", "gone.csv", _dangling, "not read", "a link whose target does not exist"),
    Case("a linked folder", "leads", "elsewhere", _linked_folder, "not read", "a link to a folder"),
    Case("a compressed file", "leads", "leads.csv.gz", b"\x1f\x8b\x08\x00" + bytes(16), "not read", "a compressed file"),
    Case("a file still being downloaded", "leads", "leads.csv.crdownload", text(LEADS + leads(3)), "not read",
         "a download still being written"),
    Case("a named pipe", "leads", "pipe.csv", _fifo, "not read", "not a regular file"),
    Case("an excel workbook", "leads", "leads.xlsx", b"PK\x03\x04" + bytes(64), "not read", "an Excel workbook"),
    Case("an office lock file", "leads", "~$leads.csv", text("x"), "not read", "a hidden or temporary file"),
]


def exit_code(result) -> int:
    """What `funnel run` exits with: 1 when a step or a blocking check failed, or a file was refused."""
    failed_checks = [ev for ev in result.get_asset_check_evaluations() if not ev.passed
                     and (ev.blocking or ev.check_name.endswith("_no_file_refused"))]
    return 0 if result.success and not failed_checks else 1


def marts(warehouse: Path) -> dict[str, list]:
    from tests.conftest import query

    names = [t for (t,) in query(warehouse, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1")]
    return {t: sorted(map(repr, query(warehouse, f"SELECT * FROM marts.{t}"))) for t in names}


def run_case(case: Case, baseline: Path, tmp_path: Path) -> None:
    """Drop the case into a copy of the baseline's finished run, run the job, and hold it to its outcome."""
    from tests.conftest import copy_run, query, refused_text, run_funnel_job

    root = copy_run(baseline, tmp_path / "run")
    inbox, wh = root / "inbox", root / "wh" / "funnel.duckdb"
    work = wh.with_name("funnel.work.duckdb")
    before_marts = marts(wh)
    entry = inbox / case.source / case.file
    entry.parent.mkdir(parents=True, exist_ok=True)
    if callable(case.content):
        scratch = tmp_path / "outside"
        scratch.mkdir()
        case.content(entry, scratch)
    else:
        entry.write_bytes(case.content)
    name = f"{case.source}/{case.file}"

    result = run_funnel_job(inbox, wh)

    log = query(work, "SELECT status, rows_loaded, rows_quarantined, message FROM ops.load_log WHERE file_name = ?",
                [name])
    if case.outcome == "refused":
        assert exit_code(result) == 1 and result.success  # the source is held back; the run publishes
        failure = refused_text(result)
        assert f"{name}: " in failure and case.says in failure, failure
        assert [row[:2] for row in log] == [("rejected", 0)]
        assert marts(wh) == before_marts  # the published marts keep the source's data loaded before
        return
    assert exit_code(result) == 0, [e.message for e in result.all_events if e.is_failure]
    if case.outcome == "not read":
        assert log == []
        raw = next(e.event_specific_data.materialization for e in result.all_events
                   if e.event_type_value == "ASSET_MATERIALIZATION"
                   and e.event_specific_data.materialization.asset_key.path == ["raw", case.source])
        assert f"| {name} | {case.says}" in raw.metadata["not_read"].value
        assert marts(wh) == before_marts
        return
    status, loaded, quarantined, _ = log[0]
    assert (status, loaded) == ("loaded", case.rows)
    if case.outcome == "quarantined":
        problems = query(work, f"SELECT problem FROM quarantine.{case.source} WHERE file_name = ?", [name])
        assert quarantined == 1 and any(case.says in p for (p,) in problems), problems
    else:
        assert quarantined == 0
    assert marts(wh) != before_marts  # its rows reached the published file
