"""The inbox: which entries of a source's folder are export files to read (and why the others are not),
their fingerprints, and how fresh the newest one is."""

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import dagster as dg

from assets.core import markdown

EXTENSIONS = {".csv", ".tsv", ".txt"}


def modified_at(stat: os.stat_result) -> datetime:
    """A file's modification time as ops.load_log.file_modified_at stores it (UTC, naive)."""
    return datetime.fromtimestamp(stat.st_mtime, tz=timezone.utc).replace(tzinfo=None)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# A browser's or sync client's file still being written; loaded once it has its own name.
PARTIAL_DOWNLOADS = (".crdownload", ".part", ".partial", ".download", ".opdownload", ".tmp")
COMPRESSED = (".gz", ".zip", ".bz2", ".xz", ".7z", ".tgz")


@dataclass(frozen=True, order=True)
class Skipped:
    """An inbox entry that is not read, and why."""
    path: str  # relative to the inbox
    reason: str


def _skip_reason(path: Path, root: Path) -> str | None:
    """Why an entry of a source folder is not read, or None for an export file to read."""
    name = path.name.lower()
    if path.is_symlink():
        target = path.resolve()
        if not target.exists():
            return "a link whose target does not exist"
        if not target.is_relative_to(root):
            return "a link to a file outside the inbox: only files inside the inbox are read"
    if name.endswith(".zip") and path.with_name(path.name + ".unzipped").is_dir():
        return "a zip file: its files are read from the folder it was unpacked into beside it"
    reason = name_reason(path.name)
    if reason:
        return reason
    if not path.is_file():
        return "not a regular file"
    return None


def name_reason(name: str) -> str | None:
    """Why an entry is not read, judged by its name alone (a zip counts as compressed), else None. A remote
    inbox copies what this lets through, and zips."""
    lower = name.lower()
    if lower.endswith(PARTIAL_DOWNLOADS):
        return "a download still being written: it is loaded once it has its final name"
    if lower.endswith(COMPRESSED):
        return "a compressed file: unpack it into this folder (zip files are unpacked by themselves)"
    if lower.endswith((".xlsx", ".xls", ".xlsm")):
        return "an Excel workbook: save it as CSV UTF-8 into this folder"
    if name.startswith((".", "~$")):
        return "a hidden or temporary file"
    if Path(name).suffix.lower() not in EXTENSIONS:
        return "not a .csv, .tsv or .txt file"
    return None


def scan_inbox(inbox_dir: Path, source: str) -> tuple[list[Path], list[Skipped]]:
    """The source's export files (by modification time, then name) and every other entry of its folder with
    the reason it is not read. Nothing outside the inbox is read: links leaving it and linked folders are
    not followed."""
    folder = inbox_dir / source
    if not folder.is_dir():
        return [], []
    root = inbox_dir.resolve()

    def relative(p: Path) -> str:
        return p.relative_to(inbox_dir).as_posix()

    if not folder.resolve().is_relative_to(root):
        return [], [Skipped(source, "a link to a folder outside the inbox: only files inside the inbox are read")]
    files: list[Path] = []
    skipped: list[Skipped] = []
    unlisted: list[OSError] = []
    for here, dirs, names in os.walk(folder, onerror=unlisted.append):
        here = Path(here)
        for d in [d for d in dirs if (here / d).is_symlink()]:
            dirs.remove(d)
            skipped.append(Skipped(relative(here / d), "a link to a folder: links to folders are not followed"))
        for name in names:
            reason = _skip_reason(here / name, root)
            if reason:
                skipped.append(Skipped(relative(here / name), reason))
            else:
                files.append(here / name)
    skipped += [Skipped(relative(Path(e.filename)), f"cannot be listed: {e.strerror}") for e in unlisted]

    def order(p: Path) -> tuple:
        try:
            return p.stat().st_mtime_ns, p.as_posix()
        except OSError:  # vanished or unreadable: its load says so
            return 0, p.as_posix()

    return sorted(files, key=order), sorted(skipped)


def inbox_files(inbox_dir: Path, source: str) -> list[Path]:
    """The source's export files, by modification time, then name (scan_inbox)."""
    return scan_inbox(inbox_dir, source)[0]


def inbox_bytes(inbox_dir: Path, source: str) -> int:
    """Size of the source's inbox files: the largest source is started first."""
    total = 0
    for path in inbox_files(inbox_dir, source):
        try:
            total += path.stat().st_size
        except OSError:  # its load refuses it by name
            pass
    return total


def freshness(inbox_dir: Path, source: str, max_age_hours: float, check_name: str,
              now: datetime | None = None, optional: bool = False,
              asset_key: dg.AssetKey | None = None, refused: Mapping[str, str] | None = None) -> dg.AssetCheckResult:
    """Fails when the newest export file of the source is older than its maximum age, or when it was
    refused (`refused`: file name relative to the inbox -> why): a newest file that did not load
    leaves the source as old as its last loaded file, however new the file is.

    An optional source (touchpoints) with no file at all passes: the marts that need it
    say so themselves."""
    now = now or datetime.now(timezone.utc)
    files = inbox_files(inbox_dir, source)
    if not files and optional:
        return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=True, metadata={
            "max_age_hours": max_age_hours,
            "note": f"Optional source: no export in `{source}/` of the inbox, nothing to check."})
    if not files:
        return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, passed=False, metadata={"max_age_hours": max_age_hours, "problem": dg.MetadataValue.md(
            f"No export file in `{source}/` of the inbox: drop the newest export there.")})
    newest = files[-1]
    modified = datetime.fromtimestamp(newest.stat().st_mtime, tz=timezone.utc)
    age = (now - modified).total_seconds() / 3600
    metadata = {"newest_file": newest.relative_to(inbox_dir).as_posix(), "modified_at": modified.isoformat(),
                "age_hours": round(age, 1), "max_age_hours": max_age_hours}
    why_refused = (refused or {}).get(metadata["newest_file"])
    if why_refused is not None:
        metadata["problem"] = dg.MetadataValue.md(markdown.text(
            f"The newest `{source}` export {metadata['newest_file']} was refused, so the source is held back at "
            f"its last loaded file: {why_refused}"))
    elif age > max_age_hours:
        metadata["problem"] = dg.MetadataValue.md(
            f"The newest `{source}` export is {age:.0f} hours old (at most {max_age_hours:g} allowed, "
            "config/sources.yaml): check the export job of the tool that feeds it.")
    return dg.AssetCheckResult(asset_key=asset_key, check_name=check_name, metadata=metadata,
                               passed=age <= max_age_hours and why_refused is None)
