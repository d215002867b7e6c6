"""Reports delivered by e-mail (assets/ingest/mail.py) from a real Dovecot IMAP server on 127.0.0.1, its
messages APPENDed with the MIME of Japanese mailers: an ISO-2022-JP subject, a CP932 CSV whose Japanese
file name is RFC 2231 Shift_JIS, a zipped CSV, a PDF beside them, and messages from other senders."""

import base64
import imaplib
import io
import shutil
import urllib.parse
import zipfile
from datetime import datetime
from email.header import Header
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.core.resource import FunnelResource
from assets.ingest.asset import raw_exports
from assets.ingest.landing import read_origin
from assets.ingest.load import ingest_source
from assets.ingest.mail import KEYWORD, MailError, fetch_mail, imap_utf7
from pipelines.sensors import inbox_sensor
from schemas import SOURCES
from schemas.mail import load_mail_config
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR
from tests.system import start_dovecot

USER, PASSWORD, FOLDER = "funnel", "imap-pass-never-printed", "レポート"
LEADS_CP932 = "lead_id,created_at,lead_source\nL1,2026-12-01 10:00,展示会\nL2,2026-12-02 11:00,ウェビナー\n".encode("cp932")
DEALS = b"deal_id,created_at,stage\nD1,2026-12-03,Closed Won\n"
RULES = """
rules:
  - sender: reports@hubspot.example
    subject: リード
    source: leads
  - sender: "*@example.co.jp"
    source: deals
"""


def part(content_type: str, disposition: str, body: bytes) -> str:
    return (f"--B\r\nContent-Type: {content_type}\r\nContent-Disposition: {disposition}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{base64.encodebytes(body).decode()}")


def message(sender: str, subject: str, date: str, msg_id: str, *parts: str) -> bytes:
    """A multipart/mixed message as a Japanese mailer writes it (headers in ISO-2022-JP encoded-words)."""
    encoded = Header(subject, "iso-2022-jp").encode() if not subject.isascii() else subject
    return (f"From: {Header('営業部', 'iso-2022-jp').encode()} <{sender}>\r\nTo: {USER}@example\r\n"
            f"Subject: {encoded}\r\nDate: {date}\r\nMessage-ID: {msg_id}\r\nMIME-Version: 1.0\r\n"
            "Content-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain; charset=iso-2022-jp\r\n\r\n"
            "see attached\r\n" + "".join(parts) + "--B--\r\n").encode()


def zipped(name: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, data)
    return out.getvalue()


MESSAGES = [
    message("reports@hubspot.example", "リード一覧（12月分）", "Mon, 07 Dec 2026 09:00:00 +0900", "<m1@hubspot.example>",
            part("text/csv; charset=Shift_JIS",
                 "attachment; filename*=shift_jis''" + urllib.parse.quote("リード一覧.csv".encode("shift_jis")),
                 LEADS_CP932),
            part("application/pdf", "attachment; filename=summary.pdf", b"%PDF-1.4")),
    message("crm@example.co.jp", "Deals export", "Mon, 07 Dec 2026 00:30:00 +0000", "<m2@example.co.jp>",
            part("application/zip", "attachment; filename=deals.zip", zipped("deals.csv", DEALS))),
    message("stranger@elsewhere.example", "リード一覧", "Mon, 07 Dec 2026 08:00:00 +0900", "<m3@elsewhere.example>",
            part("text/csv", "attachment; filename=leads.csv", b"lead_id,created_at,lead_source\nX,2026-12-01,spam\n")),
    message("reports@hubspot.example", "Weekly newsletter", "Mon, 07 Dec 2026 07:00:00 +0900", "<m4@hubspot.example>"),
]


def flags(server) -> dict[str, str]:
    """Message-ID -> FLAGS of every message of the folder, read as a second client would."""
    imap = imaplib.IMAP4("127.0.0.1", server["port"])
    imap.login(USER, PASSWORD)
    imap.select(f'"{imap_utf7(FOLDER)}"', readonly=True)
    _, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
    imap.logout()
    return {item[1].decode().split(":", 1)[1].strip(): item[0].decode().split("FLAGS (")[1].split(")")[0]
            for item in data if isinstance(item, tuple)}


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Dovecot with the four messages in a Japanese-named folder; FUNNEL_MAIL_* point at it."""
    started = start_dovecot(USER, PASSWORD)
    try:
        imap = imaplib.IMAP4("127.0.0.1", started["port"])
        imap.login(USER, PASSWORD)
        imap.create(f'"{imap_utf7(FOLDER)}"')
        for raw in MESSAGES:
            imap.append(f'"{imap_utf7(FOLDER)}"', None, None, raw)
        imap.logout()
        config = tmp_path / "config"
        shutil.copytree(CONFIG_DIR, config)
        (config / "mail.yaml").write_text(RULES, encoding="utf-8")
        url = f"imap://{USER}@127.0.0.1:{started['port']}/{urllib.parse.quote(FOLDER)}"
        monkeypatch.setenv("FUNNEL_MAIL_URL", url)
        monkeypatch.setenv("FUNNEL_MAIL_PASSWORD", PASSWORD)
        yield {**started, "url": url, "config": config}
    finally:
        started["stop"]()


def test_attachments_land_decoded_and_named_by_date_and_a_mailbox_read_twice_lands_nothing_twice(server, tmp_path):
    inbox, origins = tmp_path / "inbox", tmp_path / "origins"
    config = load_mail_config(server["config"])
    first = fetch_mail(server["url"], PASSWORD, config, inbox, origins, "Asia/Tokyo")
    assert sorted(r["file"] for r in first.landed) == ["deals/deals_2026-12-07T0930.zip",
                                                       "leads/リード一覧_2026-12-07T0900.csv"]
    landed = inbox / "leads" / "リード一覧_2026-12-07T0900.csv"
    assert landed.read_bytes() == LEADS_CP932  # the attachment's bytes as sent: CP932, read as any inbox file
    assert landed.stat().st_mtime == datetime.fromisoformat("2026-12-07T09:00:00+09:00").timestamp()
    record = read_origin(origins, "leads/リード一覧_2026-12-07T0900.csv")
    assert (record["sender"], record["subject"], record["attachment"]) == (
        "reports@hubspot.example", "リード一覧（12月分）", "リード一覧.csv")
    assert (first.messages_loaded, first.other_senders, first.no_rule) == (2, 1, 1)
    assert any("summary.pdf" in note and "not landed" in note for note in first.notes)

    after = flags(server)
    assert len(after) == 4  # nothing deleted
    assert KEYWORD in after["<m1@hubspot.example>"] and KEYWORD in after["<m2@example.co.jp>"]
    assert KEYWORD not in after["<m3@elsewhere.example>"] and KEYWORD not in after["<m4@hubspot.example>"]
    assert not any("\\Seen" in f for f in after.values())  # read with BODY.PEEK: unread stays unread

    again = fetch_mail(server["url"], PASSWORD, config, inbox, origins, "Asia/Tokyo")
    assert not again.landed and again.messages_loaded == 0 and again.other_senders == 1

    imap = imaplib.IMAP4("127.0.0.1", server["port"])  # someone takes the mark off: read again, lands nothing new
    imap.login(USER, PASSWORD)
    imap.select(f'"{imap_utf7(FOLDER)}"')
    imap.store("1:*", "-FLAGS", f"({KEYWORD})")
    imap.logout()
    third = fetch_mail(server["url"], PASSWORD, config, inbox, origins, "Asia/Tokyo")
    assert not third.landed and third.already_landed == 2
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == ["deals_2026-12-07T0930.zip",
                                                                       "リード一覧_2026-12-07T0900.csv"]

    con = duckdb.connect()
    loaded = ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), "Asia/Tokyo", "run")
    assert [o.rows for o in loaded.loaded] == [2]
    assert con.execute("SELECT lead_source FROM raw.leads ORDER BY lead_id").fetchall() == [("展示会",), ("ウェビナー",)]
    assert con.execute("SELECT exported_at, exported_at_basis FROM ops.load_log").fetchall() == [
        (datetime(2026, 12, 7, 9, 0), "file name")]  # the message date in the name is the export moment


def test_the_raw_step_fetches_the_mail_and_says_which_message_each_file_came_from(server, tmp_path, capsys,
                                                                                  monkeypatch):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "wh" / "funnel.duckdb"
    inbox.mkdir()
    # the sensor below reads the settings: this inbox, never the repository's data/inbox (which `make run` fills)
    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(inbox))
    monkeypatch.setenv("FUNNEL_CONFIG_DIR", str(server["config"]))
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(warehouse))
    resource = FunnelResource(inbox_dir=str(inbox), config_dir=str(server["config"]), warehouse_path=str(warehouse))
    result = dg.materialize([raw_exports], resources={"funnel": resource}, raise_on_error=False,
                            selection=[dg.AssetKey(["raw", "leads"]), dg.AssetKey(["raw", "deals"])])
    assert result.success
    mats = {m.asset_key.path[-1]: m.metadata for m in result.asset_materializations_for_node("raw")}
    assert "mail from reports@hubspot.example, \"リード一覧（12月分）\"" in mats["leads"]["fetched"].value
    assert "deals/deals_2026-12-07T0930.zip" in mats["deals"]["fetched"].value
    assert mats["deals"]["files_loaded"].value == 1  # the zip, unpacked and loaded in the same run
    mail = mats["leads"]["fetch"].value["mail"]
    assert (mail["messages_loaded"], mail["messages_from_other_senders"], mail["messages_matching_no_rule"]) == (2, 1, 1)
    printed = "\n".join(str(e) for e in result.all_events) + capsys.readouterr().err
    assert PASSWORD not in printed and f"{USER}@127.0.0.1" not in printed

    with dg.instance_for_test() as instance:  # all read: the sensor asks for no run
        skip = inbox_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(skip, dg.SkipReason), skip.tags


def test_the_sensor_asks_for_a_run_for_new_messages(server, tmp_path, monkeypatch):
    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(tmp_path / "inbox"))
    monkeypatch.setenv("FUNNEL_CONFIG_DIR", str(server["config"]))
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(tmp_path / "wh" / "funnel.duckdb"))
    with dg.instance_for_test() as instance:
        request = inbox_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(request, dg.RunRequest) and request.tags == {"funnel/trigger": "mail", "funnel/new_files": "2"}


def test_a_wrong_password_is_named_without_printing_it(server, tmp_path):
    with pytest.raises(MailError) as refused:
        fetch_mail(server["url"], "wrong-password", load_mail_config(server["config"]), tmp_path, tmp_path, "UTC")
    text = str(refused.value)
    assert "cannot log in" in text and f"imap://127.0.0.1:{server['port']}/" in text
    assert "wrong-password" not in text and USER + "@" not in text
    assert not [p for p in Path(tmp_path).rglob("*.csv") if p.relative_to(tmp_path).parts[0] != "config"]  # nothing landed
