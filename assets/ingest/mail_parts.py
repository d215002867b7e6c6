"""What an e-mail message carries for the inbox: its sender, subject and date, and its CSV, TSV, TXT and zip
attachments, decoded (RFC 2047 subjects and RFC 2231 file names in ISO-2022-JP, Shift_JIS or UTF-8, base64
and quoted-printable bodies; the attachment's bytes are kept as sent, so a CP932 file stays CP932 and is read
as any inbox file). Each lands as `<original stem>_<message date YYYY-MM-DDTHHMM>.<ext>` in its source
folder: the date in the name is the export moment the loader reads (docs/loading.md)."""

from __future__ import annotations

import base64
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser

SUFFIXES = (".csv", ".tsv", ".txt", ".zip")
# Parts sent without a file name but with a type that says what they are.
CONTENT_TYPES = {"text/csv": ".csv", "text/tab-separated-values": ".tsv", "application/zip": ".zip",
                 "application/x-zip-compressed": ".zip"}


@dataclass(frozen=True)
class Message:
    uid: str
    sender: str  # the From address, lower case (no display name: it would be a person's name)
    subject: str
    sent: datetime  # the Date header (else when the server received it), with its offset
    message_id: str


@dataclass(frozen=True)
class Attachment:
    index: int  # its place among the message's parts: the same part of the same message is the same file
    original: str | None  # its file name as sent, decoded
    suffix: str
    content: bytes


def parse(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def _address(message: EmailMessage) -> str:
    try:
        addresses = getattr(message["from"], "addresses", ())
    except (TypeError, ValueError, IndexError):  # a From header the parser cannot take apart
        return ""
    return addresses[0].addr_spec.strip().lower() if addresses else ""


def message_of(uid: str, raw_headers: bytes, received: datetime | None) -> Message:
    """The message's sender, subject, date and id from its headers; a date without an offset counts as UTC."""
    message = parse(raw_headers)
    try:
        sent = message["date"].datetime if message["date"] is not None else None
    except (AttributeError, TypeError, ValueError):
        sent = None
    sent = sent or received or datetime.now(timezone.utc)
    if sent.tzinfo is None:
        sent = sent.replace(tzinfo=timezone.utc)
    return Message(uid, _address(message), " ".join(str(message["subject"] or "").split()), sent,
                   str(message["message-id"] or "").strip())


def attachments_of(raw: bytes) -> tuple[list[Attachment], list[str]]:
    """The message's export attachments, and the names of its other attachments (not landed)."""
    found, others = [], []
    for index, part in enumerate(parse(raw).walk()):
        if part.is_multipart():
            continue
        name = part.get_filename()
        ctype = part.get_content_type()
        if part.get_content_disposition() != "attachment" and name is None and ctype not in CONTENT_TYPES:
            continue  # the message's own text
        if name:
            name = unicodedata.normalize("NFC", name)
        suffix = next((s for s in SUFFIXES if name and name.lower().endswith(s)), None)
        if suffix is None and not name:
            suffix = CONTENT_TYPES.get(ctype)
        if suffix is None:
            others.append(name or ctype)
            continue
        found.append(Attachment(index, name, suffix, part.get_payload(decode=True) or b""))
    return found, others


def _stem(original: str | None, suffix: str) -> str:
    """The original name without its folders and extension, safe as a file name on any system."""
    if not original:
        return ""
    original = original.replace("\\", "/").rsplit("/", 1)[-1]
    stem = original[: -len(suffix)] if original.lower().endswith(suffix) else original
    return re.sub(r'[\x00-\x1f\x7f<>:"/\\|?*]', "_", stem).strip(" .")[:100]


def tag_of(key: str) -> str:
    """A short tag told apart from dates: base32 has no 0 or 1, so it never reads as a year or a time."""
    return base64.b32encode(hashlib.sha256(key.encode()).digest()).decode()[:8].lower()


def landed_name(attachment: Attachment, source: str, sent_local: datetime, tag: str | None = None) -> str:
    """`<stem>_<YYYY-MM-DDTHHMM>.<ext>` (the source's name when the attachment has none); `tag` tells apart two
    attachments that would get the same name."""
    stem = _stem(attachment.original, attachment.suffix) or source
    return f"{stem}{'-' + tag if tag else ''}_{sent_local:%Y-%m-%dT%H%M}{attachment.suffix}"
