"""Files that arrive on their own (a remote inbox, attachments of e-mail): how they are put in place, never
half a file, and the record of where each came from.

A file is written under a hidden temporary name in its folder and renamed over its final name once whole
(the inbox never lists the temporary name); the same content already there is left as it is. Its origin is
kept as a small JSON record per file under `<warehouse folder>/<name>.origins/`, by its path in the inbox:
where it came from, with what size and time, its SHA-256 and when it was fetched."""

from __future__ import annotations

import json
import os
import re
import uuid
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from assets.ingest.inbox import sha256_of

TEMP_MARK = ".funnel-"
# Environment variables whose values are secrets: never printed, whatever message carries them.
SECRET_ENV = re.compile(r"PASSWORD|SECRET|TOKEN|PASSPHRASE|CREDENTIAL|ACCESS_KEY")


def redact(url: str) -> str:
    """The URL without its user and password (`sftp://user:pw@host/x` -> `sftp://host/x`): what is printed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def scrub(text: str) -> str:
    """`text` (an error from a library) without the user and password of any URL in it and without the value
    of any secret of the environment (FUNNEL_MAIL_PASSWORD, AWS_SECRET_ACCESS_KEY, FSSPEC_*_PASSWORD ...)."""
    text = re.sub(r"([A-Za-z][A-Za-z0-9+.-]*://)[^/@\s'\"]*@", r"\1", text)
    for name, value in os.environ.items():
        if SECRET_ENV.search(name.upper()) and len(value) >= 4:
            text = text.replace(value, "***")
    return text


def temp_beside(target: Path) -> Path:
    """A hidden name in the target's folder to write it under (the inbox skips hidden files)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}{TEMP_MARK}{uuid.uuid4().hex[:8]}.part")


def put_in_place(temp: Path, target: Path, mtime: float | None) -> tuple[str, bool]:
    """Rename the whole file `temp` over `target` with modification time `mtime` (the export's, so that
    freshness and snapshot order see when it was made, not when it was fetched). Returns (SHA-256, whether
    it was written): a target already holding the same bytes is left as it is and the temp file removed."""
    try:
        digest = sha256_of(temp)
        if target.is_file() and sha256_of(target) == digest:
            return digest, False
        if mtime is not None:
            os.utime(temp, (mtime, mtime))
        os.replace(temp, target)
        return digest, True
    finally:
        temp.unlink(missing_ok=True)


def remove_leftovers(root: Path) -> None:
    """Temporary files a killed fetch left under `root` (only ours, by their mark)."""
    if root.is_dir():
        for path in root.rglob(f".*{TEMP_MARK}*.part"):
            path.unlink(missing_ok=True)


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _record_path(origins: Path, file_name: str) -> Path:
    return origins / f"{file_name}.json"


def write_origin(origins: Path, file_name: str, record: dict) -> None:
    """Keep the origin of inbox file `file_name` (its path relative to the inbox), replacing any earlier one."""
    path = _record_path(origins, file_name)
    temp = temp_beside(path)
    try:
        temp.write_text(json.dumps({"file": file_name, **record}, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def read_origin(origins: Path, file_name: str) -> dict | None:
    try:
        return json.loads(_record_path(origins, file_name).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none, or unreadable: the file counts as not fetched yet
        return None


def read_origins(origins: Path) -> list[dict]:
    """Every origin record, newest fetch first."""
    records = []
    if origins.is_dir():
        for path in origins.rglob("*.json"):
            try:
                records.append(json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError):
                continue
    return sorted(records, key=lambda r: (r.get("fetched_at", ""), r.get("file", "")), reverse=True)


def origin_text(record: dict) -> str:
    """Where a file came from, in one line: the remote URL (without credentials), or the message."""
    if record.get("origin") == "mail":
        return (f"mail from {record.get('sender')}, \"{record.get('subject')}\", {record.get('date')}"
                f" ({record.get('mailbox')})")
    return str(record.get("url"))
