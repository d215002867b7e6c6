"""A remote inbox: `--inbox` / FUNNEL_INBOX_DIR given as a URL (sftp://, s3://, gs://, file://), read through
fsspec. Its new files are copied into the landing folder beside the warehouse, one folder per source as in
a local inbox, and load from there as any inbox file. The remote inbox is only read: nothing there is
modified or deleted.

A file is copied when its size, time or tag (ETag, checksum) differ from those it was copied with (its
origin record); once its time is older than the quiet period (FUNNEL_INBOX_QUIET_SECONDS), so that a file
still being written is left for the next fetch; and only if it did not change while it was copied.
Credentials come from the environment and the libraries' own configuration (~/.ssh/config, keys and
known_hosts; AWS_* variables; FSSPEC_<PROTOCOL>_<OPTION>), never from the URL, and no URL is printed with
a user or password."""

from __future__ import annotations

import contextvars
import functools
import importlib
import logging
import posixpath
import time
import warnings
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

from assets.ingest.inbox import Skipped, name_reason
from assets.ingest.landing import (now_utc, put_in_place, read_origin, redact, remove_leftovers, scrub,
                                   temp_beside, write_origin)
from schemas import SOURCES

SCHEMES = ("sftp", "ssh", "s3", "gs", "gcs", "file")
CONNECT_TIMEOUT = 30


class RemoteError(Exception):
    """The remote inbox cannot be read; the message names it (without credentials) and the problem."""


@dataclass(frozen=True)
class RemoteFile:
    name: str  # path relative to the inbox: leads/x.csv
    path: str  # path on the remote file system
    size: int
    modified: float | None  # POSIX seconds, when the backend reports a time
    tag: str | None  # ETag, checksum or generation, when it reports one


@dataclass
class RemoteFetch:
    inbox: str  # the URL without credentials
    copied: list[dict] = field(default_factory=list)  # origin records of the files copied
    unchanged: int = 0  # copied before, the same size, time and tag
    settling: list[str] = field(default_factory=list)  # changed within the quiet period: left for later
    not_copied: list[Skipped] = field(default_factory=list)  # no export file, and why
    problems: list[str] = field(default_factory=list)  # files that could not be copied


def _in_empty_context(fn):
    """Run `fn` in an empty contextvars context. fsspec's event-loop thread keeps copies of the context of the
    calls made into it (in asyncssh's tasks); a Dagster step's would keep the step, its error and its open
    working database alive for as long as the process runs."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        return contextvars.Context().run(fn, *args, **kwargs)
    return run


def url_problem(url: str) -> str | None:
    """Why `url` cannot be an inbox (an unknown scheme, a password in it), else None."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in SCHEMES:
        return f"{parts.scheme}:// is not a supported inbox (use a folder, or {', '.join(s + '://' for s in SCHEMES)})"
    if parts.password is not None:
        return ("the URL holds a password: remove it. Credentials come from the environment and the library's "
                "configuration (~/.ssh keys and config, AWS_* variables, FSSPEC_<PROTOCOL>_<OPTION>), never the URL")
    return None


def _describe(exc: BaseException) -> str:
    text = scrub(f"{type(exc).__name__}: {exc}")
    if type(exc).__name__ == "HostKeyNotVerifiable":
        text += " (add the server's host key to ~/.ssh/known_hosts, e.g. from a first `ssh` to it)"
    return text


def open_remote(url: str):
    """(fsspec file system, path of the inbox on it). Host keys of sftp:// are checked against
    ~/.ssh/known_hosts (sshfs checks none unless told)."""
    problem = url_problem(url)
    if problem:
        raise RemoteError(f"inbox {redact(url)}: {problem}")
    import fsspec

    scheme = urlsplit(url).scheme.lower()
    options: dict = {"skip_instance_cache": True}  # a fresh connection each fetch: a daemon's may have died
    if scheme in ("sftp", "ssh"):
        with warnings.catch_warnings():  # asyncssh's import warns about DSA, which it no longer offers
            warnings.simplefilter("ignore")
            importlib.import_module("asyncssh")
        logging.getLogger("asyncssh").setLevel(logging.WARNING)  # its INFO lines name the user
        if "known_hosts" not in fsspec.config.conf.get(scheme, {}):
            options["known_hosts"] = ()  # asyncssh's default: ~/.ssh/known_hosts
        options["timeout"] = CONNECT_TIMEOUT
    try:
        fs, root = fsspec.core.url_to_fs(url, **options)
    except ImportError as exc:
        raise RemoteError(f"inbox {redact(url)}: {scheme}:// needs a package that is not installed ({exc})") from None
    except Exception as exc:  # each library raises its own errors for a refused login, a host key, a timeout
        raise RemoteError(f"inbox {redact(url)}: cannot connect: {_describe(exc)}") from None
    return fs, root.rstrip("/")


def _modified(info: dict) -> float | None:
    """The modification time of a listing entry, in POSIX seconds: each backend names it its own way."""
    for key in ("mtime", "LastModified", "updated", "last_modified", "modified", "created"):
        value = info.get(key)
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()
        if isinstance(value, (int, float)):
            return float(value)
    return None


def _tag(info: dict) -> str | None:
    for key in ("ETag", "etag", "md5Hash", "crc32c", "generation"):
        if info.get(key) is not None:
            return str(info[key])
    return None


def list_remote(fs, root: str) -> tuple[list[RemoteFile], list[Skipped]]:
    """The export files (and zips) of every source folder of the remote inbox, and the other entries with the
    reason they are not copied."""
    files, skipped = [], []
    for source in SOURCES:
        folder = f"{root}/{source}" if root else source
        try:
            found = fs.find(folder, detail=True)
        except FileNotFoundError:
            continue
        for path, info in sorted(found.items()):
            if not path.startswith(folder + "/"):
                continue
            name = f"{source}/{path[len(folder) + 1:]}"
            base = posixpath.basename(path)
            if any(part in ("", ".", "..") for part in name.split("/")):  # a server's name must not leave the folder
                skipped.append(Skipped(name, "a path leaving the folder: not copied"))
            elif info.get("type") != "file":
                skipped.append(Skipped(name, "a link or special file on the remote: only regular files are copied"))
            elif not ((base.lower().endswith(".zip") and not base.startswith(".")) or name_reason(base) is None):
                skipped.append(Skipped(name, name_reason(base) or "not copied"))
            else:
                files.append(RemoteFile(name, path, int(info.get("size") or 0), _modified(info), _tag(info)))
    return files, skipped


def is_copied(remote: RemoteFile, landing: Path, origins: Path) -> bool:
    """Copied before as it is now: the same size, time and tag as its origin record, and still landed whole."""
    record = read_origin(origins, remote.name)
    if not record or record.get("origin") != "remote":
        return False
    if (record.get("size"), record.get("modified"), record.get("tag")) != (remote.size, remote.modified, remote.tag):
        return False
    try:
        return (landing / remote.name).stat().st_size == remote.size
    except OSError:
        return False


def settling(remote: RemoteFile, quiet: float, now: float) -> bool:
    """Changed within the quiet period (by the remote's clock): perhaps still being written."""
    return remote.modified is not None and now - remote.modified < quiet


@_in_empty_context
def pending(url: str, landing: Path, origins: Path, quiet: float) -> tuple[list[RemoteFile], list[RemoteFile]]:
    """(files a fetch would copy now, files changed within the quiet period): what the inbox sensor asks."""
    fs, root = open_remote(url)
    try:
        files, _ = list_remote(fs, root)
    except Exception as exc:
        raise RemoteError(f"inbox {redact(url)}: cannot be listed: {_describe(exc)}") from None
    now = time.time()
    new = [f for f in files if not is_copied(f, landing, origins)]
    return [f for f in new if not settling(f, quiet, now)], [f for f in new if settling(f, quiet, now)]


def _copy(fs, remote: RemoteFile, landing: Path, origins: Path, base_url: str) -> dict | None:
    """Copy one file into the landing folder whole, keep its origin; None when it changed while copied."""
    target = landing / remote.name
    temp = temp_beside(target)
    try:
        fs.get_file(remote.path, str(temp))
        fs.invalidate_cache(remote.path)
        after = fs.info(remote.path)
        if temp.stat().st_size != remote.size or (int(after.get("size") or 0), _modified(after)) != (
                remote.size, remote.modified):
            return None
        digest, _ = put_in_place(temp, target, remote.modified)
    finally:
        temp.unlink(missing_ok=True)
    record = {"file": remote.name, "origin": "remote", "url": f"{base_url}/{remote.name}", "size": remote.size,
              "modified": remote.modified, "tag": remote.tag, "sha256": digest, "fetched_at": now_utc()}
    write_origin(origins, remote.name, record)
    return record


@_in_empty_context
def fetch_remote(url: str, landing: Path, origins: Path, quiet: float, log=None) -> RemoteFetch:
    """Copy the new and changed files of the remote inbox `url` into `landing`. A file that cannot be copied
    is named in `problems` and the others are copied; an inbox that cannot be reached raises RemoteError."""
    fs, root = open_remote(url)
    result = RemoteFetch(redact(url))
    try:
        files, result.not_copied = list_remote(fs, root)
    except Exception as exc:
        raise RemoteError(f"inbox {result.inbox}: cannot be listed: {_describe(exc)}") from None
    remove_leftovers(landing)
    now = time.time()
    for remote in files:
        if is_copied(remote, landing, origins):
            result.unchanged += 1
        elif settling(remote, quiet, now):
            result.settling.append(remote.name)
        else:
            try:
                record = _copy(fs, remote, landing, origins, result.inbox.rstrip("/"))
            except Exception as exc:  # this file only (no permission, vanished): the others are copied
                result.problems.append(f"{result.inbox.rstrip('/')}/{remote.name}: cannot be copied: "
                                       f"{_describe(exc)}")
                continue
            if record is None:
                result.settling.append(remote.name)
            else:
                result.copied.append(record)
                if log:
                    log.info(f"fetched {remote.name} from {record['url']}")
    return result
