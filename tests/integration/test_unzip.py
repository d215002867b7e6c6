"""Zip files in the inbox (assets/ingest/unzip.py): unpacked beside themselves and loaded; refused by name,
with nothing unpacked, when they hold anything but export files or a path leaving the folder."""

import hashlib
import zipfile

import duckdb
import pytest

from assets.ingest.load import ingest_source
from schemas import SOURCES
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR

HEADER = "lead_id,created_at,lead_source\n"


def load(inbox):
    con = duckdb.connect()
    return con, ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), "Asia/Tokyo", "run")


def make_zip(path, members: dict[str, bytes], utf8_names: bool = True):
    """A zip of `members`; without `utf8_names`, non-ASCII names stored as Windows' "send to compressed
    folder" stores a Japanese name: CP932 bytes, no UTF-8 flag (zipfile itself would write UTF-8)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    renames = {}
    with zipfile.ZipFile(path, "w") as z:
        for i, (name, data) in enumerate(members.items()):
            stored = name
            if not utf8_names and not name.isascii():
                raw = name.encode("cp932")
                stored = f"{i:0{len(raw)}d}"  # an ASCII stand-in of the same length, swapped for the bytes below
                renames[stored.encode()] = raw
            z.writestr(stored, data)
    content = path.read_bytes()
    for stand_in, raw in renames.items():
        content = content.replace(stand_in, raw)
    path.write_bytes(content)
    return path


def test_a_zipped_export_is_unpacked_beside_it_and_loaded_once(tmp_path):
    inbox = tmp_path / "inbox"
    zipped = make_zip(inbox / "leads" / "hubspot-export.zip", {
        "all-contacts.csv": (HEADER + "L1,2026-07-03 10:00,Webinar\nL2,2026-07-04 10:00,Webinar\n").encode(),
        "more/リード一覧.csv": (HEADER + "L3,2026-07-05 10:00,展示会\n").encode("utf-8"),
    }, utf8_names=False)
    before = hashlib.sha256(zipped.read_bytes()).hexdigest()
    con, result = load(inbox)
    assert [o.file_name for o in result.loaded] == ["leads/hubspot-export.zip.unzipped/all-contacts.csv",
                                                    "leads/hubspot-export.zip.unzipped/more/リード一覧.csv"]
    assert con.execute("SELECT count(*) FROM raw.leads").fetchone() == (3,)
    assert [(e.path, e.reason.split(":")[0]) for e in result.not_read] == [("leads/hubspot-export.zip", "a zip file")]
    assert hashlib.sha256(zipped.read_bytes()).hexdigest() == before  # the zip is left as it was
    again = ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), "Asia/Tokyo", "run2")
    assert not again.loaded and again.skipped == 2 and not again.rejected


@pytest.mark.parametrize("members, reason", [
    ({"leads.csv": b"x", "macro.xlsm": b"x"}, "holds 'macro.xlsm': only .csv, .tsv and .txt files"),
    ({"../../escape.csv": b"x"}, "holds '../../escape.csv', a path leaving the folder"),
    ({"/etc/cron.d/x.csv": b"x"}, "a path leaving the folder"),
    ({}, "holds no file"),
])
def test_a_zip_holding_anything_else_is_refused_by_name_and_nothing_is_unpacked(tmp_path, members, reason):
    inbox = tmp_path / "inbox"
    make_zip(inbox / "leads" / "bad.zip", members)
    con, result = load(inbox)
    [refused] = result.rejected
    assert refused.file_name == "leads/bad.zip" and reason in refused.message
    assert not (inbox / "leads" / "bad.zip.unzipped").exists()
    assert not (tmp_path / "escape.csv").exists()
    assert con.execute("SELECT status FROM ops.load_log").fetchall() == [("rejected",)]


def test_a_corrupt_zip_is_refused_by_name(tmp_path):
    inbox = tmp_path / "inbox"
    (inbox / "leads").mkdir(parents=True)
    (inbox / "leads" / "broken.zip").write_bytes(b"PK\x03\x04 not really a zip")
    _, result = load(inbox)
    [refused] = result.rejected
    assert "is not a readable zip archive" in refused.message
