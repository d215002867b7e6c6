"""The faults an attack run found (issue 21), each closed: an analyst's read-write session on the published
file, personal data in code columns, oversized fields, unreadable files, links leaving the inbox, files
still being written, full disks, read-only folders and locked databases. Each test failed before its fix."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from tests.conftest import copy_run, query, refused_text, run_funnel_job, write_export

LEADS = "lead_id,created_at,lead_source\n"


@pytest.fixture(scope="module")
def published_once(tmp_path_factory):
    root = tmp_path_factory.mktemp("hardening")
    inbox = root / "inbox"
    write_export(inbox, "leads", "leads_2026-07-05.csv", LEADS + "L1,2026-07-03 10:00,Webinar\nL2,2026-07-04 10:00,展示会\n")
    write_export(inbox, "deals", "deals_2026-07-05.csv", "deal_id,created_at,stage,lead_id,amount\n"
                 "D1,2026-07-04,Closed Won,L1,1000000\n")
    assert run_funnel_job(inbox, root / "wh" / "funnel.duckdb").success
    return root


@pytest.fixture
def published(published_once, tmp_path):
    root = copy_run(published_once, tmp_path / "run")
    return root / "inbox", root / "wh" / "funnel.duckdb"


def failure_text(result) -> str:
    return "\n".join(e.event_specific_data.user_failure_data.description for e in result.all_events
                     if e.event_type_value == "STEP_FAILURE" and e.event_specific_data.user_failure_data)


# ---------------------------------------------------------------- 1. a read-write session on the published file

HOLDER = textwrap.dedent("""
    import duckdb, os, sys
    con = duckdb.connect(sys.argv[1])  # read-write, as the duckdb CLI opens a file by default
    con.execute("CREATE TABLE scratch AS SELECT 1 AS x")
    print("ready", flush=True)
    sys.stdin.readline()
    con.execute("INSERT INTO scratch VALUES (2)")
    os._exit(9)  # dies with its write-ahead log beside the file
""")


def test_a_read_write_session_on_the_published_file_is_named_and_never_left_unopenable(published):
    inbox, wh = published
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(wh)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        write_export(inbox, "leads", "leads_2026-07-06.csv", LEADS + "L3,2026-07-05 10:00,Webinar\n")

        held = run_funnel_job(inbox, wh)

        assert not held.success
        text = failure_text(held)
        assert f"is open read-write by process {holder.pid}" in text and "reconnect read-only" in text
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=30) == 9
    finally:
        holder.kill()
    assert Path(f"{wh}.wal").exists()  # what made every later open fail once the file was swapped under it

    assert run_funnel_job(inbox, wh).success  # the session is gone: this run publishes
    assert not Path(f"{wh}.wal").exists()
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(3,)]
    assert query(wh, "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'scratch'") == [(0,)]


# ---------------------------------------------------------------- 3. a field over 128 KiB, 5. a file it may not read

def test_a_field_over_128_kib_refuses_its_file_by_name_and_the_others_load(published):
    inbox, wh = published
    write_export(inbox, "leads", "huge_header.csv", "lead_id,created_at," + "x" * (200 << 10) + "\nL9,2026-07-05,a\n")
    write_export(inbox, "leads", "huge_row.csv", LEADS + 'L8,2026-07-05 10:00,Webinar\nL9,"' + "y" * (200 << 10)
                 + '\nL10,2026-07-05 10:00,Webinar\n')
    write_export(inbox, "deals", "deals_2026-07-06.csv", "deal_id,created_at,stage,lead_id,amount\n"
                 "D2,2026-07-05,Closed Won,L2,500000\n")

    result = run_funnel_job(inbox, wh)

    text = refused_text(result)
    assert "leads/huge_header.csv: has a field longer than 128 KiB" in text
    assert "leads/huge_row.csv: " in text
    work = wh.with_name("funnel.work.duckdb")
    assert query(work, "SELECT file_name, status FROM ops.load_log WHERE source = 'deals' ORDER BY 1") == [
        ("deals/deals_2026-07-05.csv", "loaded"), ("deals/deals_2026-07-06.csv", "loaded")]
    assert "y" * 100 not in " ".join(m for (m,) in query(work, "SELECT message FROM ops.load_log WHERE message IS NOT NULL"))


@pytest.mark.skipif(os.geteuid() == 0 and shutil.which("setpriv") is None, reason="needs setpriv to drop root")
def test_an_inbox_file_the_process_may_not_read_is_refused_by_name_and_the_others_load(published_once, tmp_path):
    """As a service account without permission would: the run drops root (setpriv) so that the mode counts."""
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="funnel-noperm-"))  # /tmp/pytest-of-root is closed to other users
    try:
        _run_as_nobody(copy_run(published_once, base / "run"), tmp_path)
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _run_as_nobody(root: Path, tmp_path: Path) -> None:
    inbox, wh = root / "inbox", root / "wh" / "funnel.duckdb"
    secret = write_export(inbox, "leads", "leads_secret.csv", LEADS + "L7,2026-07-05 10:00,Webinar\n")
    secret.chmod(0o000)
    write_export(inbox, "leads", "leads_2026-07-06.csv", LEADS + "L3,2026-07-05 10:00,Webinar\n")
    for path in [root.parent, *root.parent.rglob("*")]:
        if path != secret:
            os.chown(path, 65534, 65534)
    script = textwrap.dedent(f"""
        import sys
        from tests.conftest import refused_text, run_funnel_job
        from pathlib import Path
        result = run_funnel_job(Path({str(inbox)!r}), Path({str(wh)!r}))
        print(refused_text(result))
    """)
    env = {**os.environ, "HOME": str(root), "DAGSTER_HOME": str(root)}
    out = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", script],
                         capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2], timeout=300)
    assert "leads/leads_secret.csv: cannot be read: Permission denied" in out.stdout, out.stderr[-3000:]
    assert query(wh.with_name("funnel.work.duckdb"),
                 "SELECT file_name FROM ops.load_log WHERE status = 'loaded' AND source = 'leads' ORDER BY 1") == [
        ("leads/leads_2026-07-05.csv",), ("leads/leads_2026-07-06.csv",)]


# ---------------------------------------------------------------- 7. links, skipped entries

def test_nothing_outside_the_inbox_is_read_and_every_skipped_entry_is_listed(published, tmp_path):
    inbox, wh = published
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "passwd.csv").write_text("root:x:0:0:root:/root:/bin/bash\n", encoding="utf-8")
    (inbox / "leads" / "passwd.csv").symlink_to(outside / "passwd.csv")
    (inbox / "leads" / "gone.csv").symlink_to(tmp_path / "no_such_file.csv")
    (inbox / "leads" / "elsewhere").symlink_to(outside, target_is_directory=True)
    (inbox / "leads" / "leads_2026-07-07.csv.gz").write_bytes(b"\x1f\x8b\x08\x00")
    (inbox / "leads" / "leads_2026-07-08.csv.crdownload").write_text(LEADS, encoding="utf-8")
    (inbox / "leads" / "notes.docx").write_bytes(b"PK")
    os.mkfifo(inbox / "leads" / "pipe.csv")
    write_export(inbox, "leads", "inside.csv", LEADS + "L5,2026-07-05 10:00,Webinar\n")
    (inbox / "leads" / "inside_link.csv").symlink_to(inbox / "leads" / "inside.csv")  # a link inside the inbox: read

    result = run_funnel_job(inbox, wh)

    assert result.success
    raw = next(e.event_specific_data.materialization for e in result.all_events
               if e.event_type_value == "ASSET_MATERIALIZATION"
               and e.event_specific_data.materialization.asset_key.path == ["raw", "leads"])
    listed = raw.metadata["not_read"].value
    for entry, why in [("leads/passwd.csv", "a link to a file outside the inbox"),
                       ("leads/gone.csv", "a link whose target does not exist"),
                       ("leads/elsewhere", "a link to a folder"),
                       ("leads/leads_2026-07-07.csv.gz", "a compressed file"),
                       ("leads/leads_2026-07-08.csv.crdownload", "a download still being written"),
                       ("leads/notes.docx", "not a .csv, .tsv or .txt file"),
                       ("leads/pipe.csv", "not a regular file")]:
        assert f"| {entry} | {why}" in listed, (entry, listed)
    for path in (wh, wh.with_name("funnel.work.duckdb")):
        assert "root:x" not in path.read_bytes().decode("latin-1")
    assert query(wh, "SELECT sum(leads) FROM marts.channel_funnel") == [(3,)]  # L1, L2 and L5 (the link is a copy)


# ---------------------------------------------------------------- a file still being written

def test_a_file_that_changes_while_it_is_read_is_refused_and_loaded_by_the_next_run(tmp_path, monkeypatch):
    import assets.ingest.load as ingest
    from schemas import SOURCES
    from schemas.profiles import load_profiles
    from tests.conftest import CONFIG_DIR

    inbox = tmp_path / "inbox"
    path = write_export(inbox, "leads", "leads_2026-07-05.csv", LEADS + "L1,2026-07-03 10:00,Webinar\n")
    real = ingest.export_moment

    def appending(*args, **kwargs):  # a copy still going on: the file grows as it is read
        with path.open("a", encoding="utf-8") as f:
            f.write("L2,2026-07-04 10:00,Webinar\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(ingest, "export_moment", appending)
    with duckdb.connect() as con:
        first = ingest.ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), "Asia/Tokyo", "r1")
        assert [o.message for o in first.rejected] == [
            "leads/leads_2026-07-05.csv: changed while it was read (still being copied or written?): the next run "
            "loads it once it stays unchanged"]
        monkeypatch.setattr(ingest, "export_moment", real)
        second = ingest.ingest_source(con, SOURCES["leads"], inbox, load_profiles(CONFIG_DIR), "Asia/Tokyo", "r2")
        assert [o.rows for o in second.loaded] == [2]
        assert con.execute("SELECT count(*) FROM raw.leads").fetchone() == (0 + 2,)


# ---------------------------------------------------------------- 4, 6. the warehouse itself: read-only, full, locked

@pytest.fixture
def tmpfs(tmp_path):
    """Mount a small tmpfs at a fresh folder: mount(size, read_only) -> its path. Skipped where mounting is
    not allowed (it needs root, or CAP_SYS_ADMIN)."""
    mounted = []

    def mount(size: str, read_only: bool = False) -> Path:
        point = tmp_path / f"mnt{len(mounted)}"
        point.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(point)], capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here to test a full or read-only disk: {done.stderr.decode().strip()}")
        mounted.append(point)
        if read_only:
            subprocess.run(["mount", "-o", "remount,ro", str(point)], check=True)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)


def _run_cli(inbox: Path, warehouse: Path, tmp_path: Path, monkeypatch, capsys) -> tuple[int, str]:
    from pipelines.cli import main

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    monkeypatch.setenv("FUNNEL_DAGSTER_STORAGE", str(tmp_path / "dagster_home" / "storage"))
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    code = main(["run", "--inbox", str(inbox), "--warehouse", str(warehouse)])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("disk, cause", [("read-only", "Read-only file system"), ("full", "No space left on device")])
def test_a_warehouse_on_a_read_only_or_full_disk_still_sends_the_alert_with_its_cause(
        published_once, tmpfs, tmp_path, webhook, monkeypatch, capsys, disk, cause):
    point = tmpfs("64k", read_only=True) if disk == "read-only" else tmpfs("64k")

    code, err = _run_cli(published_once / "inbox", point / "wh" / "funnel.duckdb", tmp_path, monkeypatch, capsys)

    assert code == 1
    assert webhook.received and all(cause in alert["json"]["text"] for alert in webhook.received)
    assert "not recorded in ops.alerts" in err and cause in err


def test_a_locked_working_database_names_its_holder_in_the_alert(published, tmp_path, webhook, monkeypatch, capsys):
    inbox, wh = published
    monkeypatch.setenv("FUNNEL_LOCK_WAIT_SECONDS", "1")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER.replace("CREATE TABLE scratch", "CREATE TABLE main.x"),
                               str(wh.with_name("funnel.work.duckdb"))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        code, err = _run_cli(inbox, wh, tmp_path, monkeypatch, capsys)
    finally:
        holder.kill()
    assert code == 1
    (alert,) = webhook.received
    assert f"is locked by process {holder.pid}" in alert["json"]["text"]
    assert f"is locked by process {holder.pid}" in err


def test_a_commit_that_fails_on_a_full_disk_says_so_rather_than_that_no_transaction_is_active(tmpfs):
    from assets.core.database import transaction

    point = tmpfs("1m")
    con = duckdb.connect(str(point / "work.duckdb"))
    with pytest.raises(duckdb.Error, match="No space left on device"):
        with transaction(con):
            con.execute("CREATE TABLE big AS SELECT md5(range::VARCHAR) || md5((range * 7)::VARCHAR) AS pad "
                        "FROM range(200000)")
