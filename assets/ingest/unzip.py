"""Zip files in the inbox (HubSpot exports arrive zipped): each is unpacked into its source folder, beside
it, as `<zip name>.unzipped/<member>`, and the members load as any export file. Only CSV, TSV and TXT
members are accepted, at most MAX_MEMBERS of them and MAX_UNPACKED_BYTES in all; a zip holding anything
else, a path leaving the folder, or an unreadable archive is refused by name and nothing of it is unpacked.
The zip itself is never modified or deleted; one unpacked before (same members, same sizes) is left as it is."""

import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assets.ingest.inbox import EXTENSIONS

SUFFIX = ".unzipped"
MAX_MEMBERS = 1000
MAX_UNPACKED_BYTES = 8 << 30  # a larger total is more likely a zip bomb than a marketing export


@dataclass(frozen=True)
class Refused:
    zip_path: Path
    reason: str


def member_name(member: zipfile.ZipInfo) -> str:
    """The member's name: a zip made on a Japanese Windows stores it in CP932 without saying so (no UTF-8
    flag), which zipfile reads as CP437."""
    if member.flag_bits & 0x800 or member.filename.isascii():
        return member.filename
    try:
        return member.filename.encode("cp437").decode("cp932")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return member.filename


def _members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """The files of the archive, checked: export files only, inside the folder, not too many or too large."""
    files = [m for m in archive.infolist() if not m.is_dir()]
    if not files:
        raise ValueError("holds no file")
    if len(files) > MAX_MEMBERS:
        raise ValueError(f"holds {len(files):,} files, more than the {MAX_MEMBERS:,} an export has")
    for m in files:
        m.filename = member_name(m).replace("\\", "/")
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or (path.parts and path.parts[0].endswith(":")):
            raise ValueError(f"holds {m.filename!r}, a path leaving the folder")
        if path.suffix.lower() not in EXTENSIONS or path.name.startswith("."):
            raise ValueError(f"holds {m.filename!r}: only .csv, .tsv and .txt files are read from a zip")
    if sum(m.file_size for m in files) > MAX_UNPACKED_BYTES:
        raise ValueError(f"would unpack to more than {MAX_UNPACKED_BYTES >> 30} GiB")
    return files


def _already_unpacked(target: Path, files: list[zipfile.ZipInfo]) -> bool:
    try:
        return all((target / m.filename).stat().st_size == m.file_size for m in files)
    except OSError:
        return False


def unpack(zip_path: Path) -> Path:
    """Unpack `zip_path` beside it (atomically: into a temporary folder renamed into place); returns the
    folder. Raises ValueError with the reason when the zip is refused."""
    target = zip_path.with_name(zip_path.name + SUFFIX)
    try:
        with zipfile.ZipFile(zip_path) as archive:
            files = _members(archive)
            if _already_unpacked(target, files):
                return target
            staging = Path(tempfile.mkdtemp(prefix=f".{zip_path.name}.", dir=zip_path.parent))
            try:
                for m in files:
                    out = staging / m.filename
                    out.parent.mkdir(parents=True, exist_ok=True)
                    with archive.open(m) as src, out.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
                    stamp = zip_path.stat().st_mtime  # the members were exported when the zip was
                    os.utime(out, (stamp, stamp))
                if target.exists():
                    shutil.rmtree(target)
                os.replace(staging, target)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
    except zipfile.BadZipFile as exc:
        raise ValueError(f"is not a readable zip archive ({exc})") from None
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a compression zipfile cannot read
        raise ValueError(f"cannot be unpacked: {exc}") from None
    return target


def unpack_zips(inbox_dir: Path, source: str) -> list[Refused]:
    """Unpack every zip of the source's folder; the refused ones, with the reason."""
    folder = inbox_dir / source
    refused = []
    if not folder.is_dir():
        return refused
    for here, dirs, names in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.endswith(SUFFIX) and not d.startswith(".")]
        for name in sorted(n for n in names if n.lower().endswith(".zip") and not n.startswith(".")):
            path = Path(here) / name
            if path.is_symlink():
                continue  # scan_inbox says why links are not followed
            try:
                unpack(path)
            except ValueError as exc:
                refused.append(Refused(path, str(exc)))
            except OSError as exc:
                refused.append(Refused(path, f"cannot be unpacked: {exc.strerror or exc}"))
    return refused
