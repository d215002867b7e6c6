"""What files that arrive on their own are called and what is printed of where they came from: URLs without
user or password, Japanese mail headers decoded, attachment names that carry the message's date as the
export moment, IMAP folder names."""

from datetime import datetime

import pytest

from assets.ingest.export_moment import name_moment
from assets.ingest.landing import redact, scrub
from assets.ingest.mail import MailError, imap_utf7, parse_mail_url
from assets.ingest.mail_parts import Attachment, attachments_of, landed_name, message_of, tag_of
from schemas.mail import MailConfig


@pytest.mark.parametrize("url, printed", [
    ("sftp://funnel:pw@files.example.com:2222/exports", "sftp://files.example.com:2222/exports"),
    ("sftp://funnel@files.example.com/exports", "sftp://files.example.com/exports"),
    ("s3://bucket/inbox", "s3://bucket/inbox"),
    ("/data/inbox", "/data/inbox"),
])
def test_urls_are_printed_without_user_or_password(url, printed):
    assert redact(url) == printed


def test_errors_are_printed_without_credentials_or_secrets_of_the_environment(monkeypatch):
    monkeypatch.setenv("FUNNEL_MAIL_PASSWORD", "correct-horse")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-very-secret")
    text = scrub("login to imaps://me:correct-horse@mail.example/INBOX failed; key aws-very-secret refused")
    assert text == "login to imaps://mail.example/INBOX failed; key *** refused"


def test_a_mail_url_names_user_host_port_and_folder_and_never_holds_the_password():
    box = parse_mail_url("imaps://reports%40example.co.jp@mail.example.co.jp/%E3%83%AC%E3%83%9D%E3%83%BC%E3%83%88")
    assert (box.user, box.host, box.port, box.folder) == ("reports@example.co.jp", "mail.example.co.jp", 993, "レポート")
    assert box.text == "imaps://mail.example.co.jp:993/レポート"
    with pytest.raises(MailError, match="holds a password") as refused:
        parse_mail_url("imaps://me:hunter2@mail.example/INBOX")
    assert "hunter2" not in str(refused.value)


def test_folder_names_are_spelled_in_imaps_modified_utf7():
    assert imap_utf7("~peter/mail/台北/日本語") == "~peter/mail/&U,BTFw-/&ZeVnLIqe-"  # RFC 3501's example
    assert imap_utf7("R&D") == "R&-D"


def test_headers_in_iso_2022_jp_decode_and_the_sender_is_its_address_only():
    headers = (b"From: =?ISO-2022-JP?B?GyRCRURDZhsoQg==?= <Reports@Example.CO.JP>\r\n"
               b"Subject: =?ISO-2022-JP?B?GyRCJWohPCVJMGxNdxsoQg==?=\r\n"
               b"Date: Mon, 07 Dec 2026 09:00:00 +0900\r\nMessage-ID: <m1@example>\r\n\r\n")
    message = message_of("7", headers, None)
    assert message.subject == "リード一覧" and message.sender == "reports@example.co.jp"
    assert message.sent.isoformat() == "2026-12-07T09:00:00+09:00" and message.message_id == "<m1@example>"


def test_an_attachment_is_named_by_its_stem_and_the_message_date_which_the_loader_reads_as_its_export_moment():
    sent = datetime(2026, 12, 7, 9, 0)
    named = landed_name(Attachment(2, "リード一覧.csv", ".csv", b""), "leads", sent)
    assert named == "リード一覧_2026-12-07T0900.csv"
    assert name_moment(named, "Asia/Tokyo", now=datetime(2026, 12, 8)) == sent
    assert landed_name(Attachment(2, None, ".csv", b""), "leads", sent) == "leads_2026-12-07T0900.csv"
    assert landed_name(Attachment(2, 'C:/x/a:b?.zip', ".zip", b""), "deals", sent) == "a_b__2026-12-07T0900.zip"
    tagged = landed_name(Attachment(2, "leads_2026-06-30.csv", ".csv", b""), "leads", sent, tag_of("<m2>#2"))
    assert name_moment(tagged, "Asia/Tokyo", now=datetime(2026, 12, 8)) == sent  # the tag never reads as a time


def test_attachments_are_told_from_the_message_text_and_file_names_in_rfc_2231_decode():
    raw = (b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
           b"--B\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached\r\n"
           b"--B\r\nContent-Type: text/csv\r\nContent-Disposition: attachment; "
           b"filename*=shift_jis''%83%8A%81%5B%83h.csv\r\nContent-Transfer-Encoding: base64\r\n\r\ngqA=\r\n"
           b"--B\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=report.pdf\r\n\r\n%PDF\r\n"
           b"--B\r\nContent-Type: text/csv\r\n\r\na,b\r\n--B--\r\n")
    found, others = attachments_of(raw)
    assert [(a.original, a.suffix, a.content) for a in found] == [("リード.csv", ".csv", b"\x82\xa0"),
                                                                  (None, ".csv", b"a,b")]
    assert others == ["report.pdf"]


def test_rules_match_an_address_or_a_pattern_and_a_subject():
    config = MailConfig.model_validate({"rules": [
        {"sender": "reports@hubspot.example", "subject": "リード", "source": "leads"},
        {"sender": "*@example.co.jp", "source": "deals"}]})
    assert config.rule_for("Reports@HubSpot.example", "【定期】リード一覧").source == "leads"
    assert config.rule_for("reports@hubspot.example", "newsletter") is None
    assert config.knows_sender("reports@hubspot.example")
    assert config.rule_for("crm@example.co.jp", "anything").source == "deals"
    assert config.rule_for("crm@example.co.jp.evil.example", "anything") is None
