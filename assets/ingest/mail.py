"""Reports delivered by e-mail: an IMAP mailbox (FUNNEL_MAIL_URL, imaps://user@host/folder; the password from
FUNNEL_MAIL_PASSWORD) whose messages from the senders of config/mail.yaml carry exports as attachments.

Each attachment of a message matching a rule lands in the rule's source folder of the inbox (mail_parts);
then the message gets the keyword $FunnelLoaded, and messages with it are not read again. Nothing is
deleted or moved, and \\Seen is left as it was (messages are read with BODY.PEEK). Messages from other
senders, or whose subject matches no rule, are left as they are and counted each time."""

from __future__ import annotations

import base64
import imaplib
import ipaddress
import re
import ssl
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from assets.ingest.landing import (now_utc, put_in_place, read_origin, redact, remove_leftovers, scrub, temp_beside,
                                   write_origin)
from assets.ingest.mail_parts import Attachment, Message, attachments_of, landed_name, message_of, tag_of
from schemas.mail import MailConfig, MailRule

KEYWORD = "$FunnelLoaded"
TIMEOUT_SECONDS = 60
HEADERS = "(UID INTERNALDATE BODY.PEEK[HEADER.FIELDS (FROM SUBJECT DATE MESSAGE-ID)])"


class MailError(Exception):
    """The mailbox cannot be read; the message names it (without credentials) and the problem."""


@dataclass(frozen=True)
class Mailbox:
    scheme: str
    host: str
    port: int
    user: str
    folder: str

    @property
    def text(self) -> str:
        """The mailbox as printed: no user, no password."""
        return f"{self.scheme}://{self.host}:{self.port}/{self.folder}"


@dataclass
class MailFetch:
    mailbox: str
    landed: list[dict] = field(default_factory=list)  # origin records of the attachments landed
    already_landed: int = 0  # attachments of messages read again whose file was there with the same bytes
    messages_loaded: int = 0
    other_senders: int = 0  # messages from a sender no rule names: left as they are
    no_rule: int = 0  # from a sender of a rule, but the subject matches none: left as they are
    notes: list[str] = field(default_factory=list)  # attachments not landed, messages without one
    problems: list[str] = field(default_factory=list)


def parse_mail_url(url: str) -> Mailbox:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("imap", "imaps") or not parts.hostname:
        raise MailError(f"FUNNEL_MAIL_URL {redact(url)}: not an imaps://user@host/folder URL")
    if parts.password is not None:
        raise MailError(f"FUNNEL_MAIL_URL {redact(url)}: holds a password; remove it and set FUNNEL_MAIL_PASSWORD")
    if not parts.username:
        raise MailError(f"FUNNEL_MAIL_URL {redact(url)}: names no user (imaps://user@host/folder)")
    try:
        port = parts.port or (993 if scheme == "imaps" else 143)
    except ValueError:
        raise MailError(f"FUNNEL_MAIL_URL {redact(url)}: the port is not a number") from None
    return Mailbox(scheme, parts.hostname, port, unquote(parts.username), unquote(parts.path.strip("/")) or "INBOX")


def imap_utf7(name: str) -> str:
    """A folder name as IMAP spells it (modified UTF-7, RFC 3501): レポート -> &MOww3TDdMPk-."""
    out, pending = [], []

    def flush():
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be")).decode().rstrip("=")
            out.append("&" + encoded.replace("/", ",") + "-")
            pending.clear()

    for ch in name:
        if 0x20 <= ord(ch) <= 0x7E:
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            pending.append(ch)
    flush()
    return "".join(out)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _loopback(host: str) -> bool:
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check(box: Mailbox, what: str, reply: tuple) -> list:
    typ, data = reply
    if typ != "OK":
        raise MailError(f"mailbox {box.text}: {what} failed: {scrub(str(data))}")
    return data


def connect(box: Mailbox, password: str | None) -> imaplib.IMAP4:
    """Logged in, the folder selected read-write (for the keyword). imap:// without STARTTLS would send the
    password in clear: only to a server on this machine."""
    if not password:
        raise MailError(f"mailbox {box.text}: FUNNEL_MAIL_PASSWORD is not set (the mailbox's password comes from it)")
    try:
        if box.scheme == "imaps":
            imap = imaplib.IMAP4_SSL(box.host, box.port, ssl_context=ssl.create_default_context(),
                                     timeout=TIMEOUT_SECONDS)
        else:
            imap = imaplib.IMAP4(box.host, box.port, timeout=TIMEOUT_SECONDS)
            if "STARTTLS" in imap.capabilities:
                imap.starttls(ssl.create_default_context())
            elif not _loopback(box.host):
                imap.shutdown()
                raise MailError(f"mailbox {box.text}: the server offers no STARTTLS, and imap:// would send the "
                                "password in clear: use imaps://")
        imap.login(box.user, password)
    except (OSError, imaplib.IMAP4.error) as exc:
        raise MailError(f"mailbox {box.text}: cannot log in: {scrub(str(exc)) or type(exc).__name__}") from None
    _check(box, f"opening folder {box.folder!r}", imap.select(_quoted(imap_utf7(box.folder))))
    _, flags = imap.response("PERMANENTFLAGS")
    if flags and flags[0] and b"\\*" not in flags[0] and KEYWORD.encode() not in flags[0]:
        raise MailError(f"mailbox {box.text}: the server does not keep the keyword {KEYWORD} that marks messages "
                        f"loaded (it keeps {flags[0].decode(errors='replace')})")
    return imap


def _received(meta: bytes) -> datetime | None:
    stamp = imaplib.Internaldate2tuple(meta)
    return datetime.fromtimestamp(time.mktime(stamp), timezone.utc) if stamp else None


def unread_messages(box: Mailbox, imap: imaplib.IMAP4) -> list[Message]:
    """The messages without the keyword (not deleted), in the order they arrived, from their headers."""
    uids = _check(box, "SEARCH", imap.uid("SEARCH", "UNKEYWORD", KEYWORD, "UNDELETED"))[0].split()
    messages = []
    for start in range(0, len(uids), 200):
        chunk = b",".join(uids[start:start + 200]).decode()
        for item in _check(box, "FETCH", imap.uid("FETCH", chunk, HEADERS)):
            if isinstance(item, tuple) and (uid := re.search(rb"UID (\d+)", item[0])):
                messages.append(message_of(uid[1].decode(), item[1], _received(item[0])))
    return sorted(messages, key=lambda m: int(m.uid))


def sort_messages(messages: list[Message], config: MailConfig, result: MailFetch | None = None
                  ) -> list[tuple[Message, MailRule]]:
    """The messages a rule takes, with it; the others counted in `result`."""
    taken = []
    for message in messages:
        rule = config.rule_for(message.sender, message.subject)
        if rule is not None:
            taken.append((message, rule))
        elif result is not None and config.knows_sender(message.sender):
            result.no_rule += 1
        elif result is not None:
            result.other_senders += 1
    return taken


def pending(url: str, password: str | None, config: MailConfig) -> list[str]:
    """`<uidvalidity>:<uid>` of each message a fetch would read now: what the inbox sensor asks."""
    box = parse_mail_url(url)
    imap = connect(box, password)
    try:
        validity = (imap.response("UIDVALIDITY")[1] or [b""])[0] or b""
        return [f"{validity.decode()}:{m.uid}" for m, _ in sort_messages(unread_messages(box, imap), config)]
    finally:
        _logout(imap)


def _logout(imap: imaplib.IMAP4) -> None:
    try:
        imap.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


def land_attachment(attachment: Attachment, message: Message, rule: MailRule, inbox: Path, origins: Path,
                    tz: str, mailbox: str) -> dict | None:
    """Write the attachment into its source folder (whole, then renamed) and keep its origin; None when that
    file is there already with the same bytes (the message was read before)."""
    sent_local = message.sent.astimezone(ZoneInfo(tz)).replace(tzinfo=None)
    key = f"{message.message_id or 'uid ' + message.uid}#{attachment.index}"
    file_name = f"{rule.source}/{landed_name(attachment, rule.source, sent_local)}"
    earlier = read_origin(origins, file_name)
    if (inbox / file_name).exists() and (earlier is None or earlier.get("key") != key):
        file_name = f"{rule.source}/{landed_name(attachment, rule.source, sent_local, tag_of(key))}"
        earlier = read_origin(origins, file_name)
    target = inbox / file_name
    temp = temp_beside(target)
    temp.write_bytes(attachment.content)
    digest, written = put_in_place(temp, target, message.sent.timestamp())
    record = {"origin": "mail", "mailbox": mailbox, "sender": message.sender, "subject": message.subject,
              "date": message.sent.isoformat(), "message_id": message.message_id, "attachment": attachment.original,
              "key": key, "size": len(attachment.content), "sha256": digest, "fetched_at": now_utc()}
    if written or earlier is None or earlier.get("sha256") != digest:
        write_origin(origins, file_name, record)
    return {**record, "file": file_name} if written else None


def _read_message(imap: imaplib.IMAP4, box: Mailbox, message: Message, rule: MailRule, inbox: Path,
                  origins: Path, tz: str, result: MailFetch, log) -> None:
    """Land the export attachments of one message, then mark it loaded."""
    data = _check(box, "FETCH", imap.uid("FETCH", message.uid, "(BODY.PEEK[])"))
    raw = next((item[1] for item in data if isinstance(item, tuple)), b"")
    attachments, others = attachments_of(raw)
    said = f"the message \"{message.subject}\" from {message.sender} ({message.sent:%Y-%m-%d %H:%M %z})"
    result.notes += [f"{name}, attached to {said}: not a CSV, TSV, TXT or zip file; not landed" for name in others]
    if not attachments:
        result.notes.append(f"{said} matches a rule of config/mail.yaml but has no CSV, TSV, TXT or zip attachment")
    whole = True
    for attachment in attachments:
        try:
            record = land_attachment(attachment, message, rule, inbox, origins, tz, box.text)
        except OSError as exc:  # the inbox's disk: the message stays unmarked, for the next fetch
            result.problems.append(f"{attachment.original or attachment.suffix}, attached to {said}: cannot be "
                                   f"landed in {inbox / rule.source}: {exc.strerror or exc}")
            whole = False
            continue
        if record is None:
            result.already_landed += 1
            continue
        result.landed.append(record)
        if log:
            log.info(f"fetched {record['file']} from mail from {message.sender}, \"{message.subject}\", "
                     f"{message.sent:%Y-%m-%d %H:%M %z}")
    if whole:
        _check(box, "STORE", imap.uid("STORE", message.uid, "+FLAGS.SILENT", f"({KEYWORD})"))
        result.messages_loaded += 1


def fetch_mail(url: str, password: str | None, config: MailConfig, inbox: Path, origins: Path, tz: str,
               log=None) -> MailFetch:
    """Land the attachments of every message not loaded yet that a rule takes, and mark each loaded. A
    mailbox that cannot be reached raises MailError; a message that cannot be landed, or a connection that
    breaks, is named in `problems` and what was not marked is read by the next fetch."""
    box = parse_mail_url(url)
    result = MailFetch(box.text)
    imap = connect(box, password)
    remove_leftovers(inbox)
    try:
        for message, rule in sort_messages(unread_messages(box, imap), config, result):
            _read_message(imap, box, message, rule, inbox, origins, tz, result, log)
    except (imaplib.IMAP4.error, OSError) as exc:  # the connection broke: what landed stays, the rest waits
        result.problems.append(f"mailbox {box.text}: the connection failed: {scrub(str(exc)) or type(exc).__name__}")
    finally:
        _logout(imap)
    return result
