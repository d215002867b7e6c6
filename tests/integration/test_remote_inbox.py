"""A remote inbox (assets/ingest/remote.py) through fsspec: file://, s3:// (a moto S3 server on 127.0.0.1) and
gs:// (gcp-storage-emulator), both offline. New files are copied whole into the landing folder once settled,
the remote is never modified, a second fetch copies nothing, and neither credentials nor users are printed.
SFTP, with a real OpenSSH server and a whole run, is tests/e2e/test_sftp_inbox.py."""

import hashlib
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.core.resource import FunnelResource
from assets.ingest import remote
from assets.ingest.asset import raw_exports
from assets.ingest.landing import read_origin, write_origin
from assets.ingest.remote import RemoteError, fetch_remote, url_problem
from pipelines.sensors import inbox_sensor
from tests.conftest import CONFIG_DIR, write_export
from tests.system import free_port

LEADS = "lead_id,created_at,lead_source\nL1,2026-07-03 10:00,Webinar\n"
OLD = time.time() - 3600


def snapshot(folder: Path) -> dict[str, tuple]:
    """Every file under `folder` with its content hash and modification time: a remote must keep both."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def served(tmp_path) -> Path:
    """A remote inbox folder: a settled export, one written seconds ago, and entries that are no export."""
    folder = tmp_path / "remote"
    write_export(folder, "leads", "leads_2026-07-03.csv", LEADS, mtime=OLD)
    write_export(folder, "leads", "leads_2026-07-04.csv", LEADS + "L2,2026-07-04 10:00,Webinar\n")  # just now
    write_export(folder, "leads", "notes.xlsx", "not an export", mtime=OLD)
    write_export(folder, "leads", "big.csv.part", "half", mtime=OLD)
    write_export(folder, "somewhere_else", "x.csv", LEADS, mtime=OLD)  # no source folder
    return folder


def test_settled_files_are_copied_whole_once_and_the_remote_is_left_as_it_was(served, tmp_path):
    landing, origins = tmp_path / "landing", tmp_path / "origins"
    before = snapshot(served)
    first = fetch_remote(f"file://{served}", landing, origins, quiet=120)
    assert [r["file"] for r in first.copied] == ["leads/leads_2026-07-03.csv"]
    assert first.settling == ["leads/leads_2026-07-04.csv"]  # written seconds ago: perhaps not whole yet
    assert sorted(e.path for e in first.not_copied) == ["leads/big.csv.part", "leads/notes.xlsx"]
    copied = landing / "leads" / "leads_2026-07-03.csv"
    assert copied.read_text() == LEADS and copied.stat().st_mtime == pytest.approx(OLD)  # the export's time
    assert sorted(p.name for p in (landing / "leads").iterdir()) == ["leads_2026-07-03.csv"]  # no temp file left
    record = read_origin(origins, "leads/leads_2026-07-03.csv")
    assert record["url"] == f"file://{served}/leads/leads_2026-07-03.csv"
    assert record["sha256"] == hashlib.sha256(LEADS.encode()).hexdigest()

    again = fetch_remote(f"file://{served}", landing, origins, quiet=120)
    assert not again.copied and again.unchanged == 1

    settled = served / "leads" / "leads_2026-07-04.csv"
    os.utime(settled, (OLD, OLD))
    changed = served / "leads" / "leads_2026-07-03.csv"
    changed.write_text(LEADS + "L3,2026-07-05 10:00,Webinar\n")
    os.utime(changed, (OLD + 60, OLD + 60))
    before = snapshot(served)
    third = fetch_remote(f"file://{served}", landing, origins, quiet=120)
    assert sorted(r["file"] for r in third.copied) == ["leads/leads_2026-07-03.csv", "leads/leads_2026-07-04.csv"]
    assert copied.read_text().endswith("L3,2026-07-05 10:00,Webinar\n")
    assert snapshot(served) == before


def test_a_file_that_changes_while_it_is_copied_is_left_for_the_next_fetch(served, tmp_path, monkeypatch):
    """A writer appending during the copy: the half copied is thrown away, nothing lands."""
    opened = remote.open_remote

    def open_with_writer(url):
        fs, root = opened(url)
        get_file = fs.get_file

        def get_then_append(rpath, lpath, **kwargs):
            get_file(rpath, lpath, **kwargs)
            with open(rpath, "a") as f:
                f.write("L9,2026-07-09 10:00,Webinar\n")

        fs.get_file = get_then_append
        return fs, root

    monkeypatch.setattr(remote, "open_remote", open_with_writer)
    result = fetch_remote(f"file://{served}", tmp_path / "landing", tmp_path / "origins", quiet=120)
    assert not result.copied and "leads/leads_2026-07-03.csv" in result.settling
    assert not (tmp_path / "landing" / "leads" / "leads_2026-07-03.csv").exists()
    assert not list((tmp_path / "landing").rglob("*.part"))


def test_a_name_from_the_server_that_would_leave_the_landing_folder_is_not_copied():
    """A server's listing is not trusted: `..` in a name would write outside the landing folder."""
    class Listing:
        def find(self, folder, detail):
            entry = {"type": "file", "size": 1, "mtime": OLD}
            return {f"{folder}/../../../etc/x.csv": entry, f"{folder}/ok.csv": entry} if folder.endswith("leads") else {}

    files, skipped = remote.list_remote(Listing(), "/inbox")
    assert [f.name for f in files] == ["leads/ok.csv"]
    assert [(e.path, e.reason) for e in skipped] == [("leads/../../../etc/x.csv", "a path leaving the folder: not copied")]


@pytest.mark.parametrize("url, problem", [
    ("sftp://funnel:hunter2secret@example.com/inbox", "holds a password"),
    ("ftp://example.com/inbox", "ftp:// is not a supported inbox"),
])
def test_a_url_with_a_password_or_an_unknown_scheme_is_refused_without_printing_it(url, problem):
    assert problem in url_problem(url)
    with pytest.raises(RemoteError) as refused:
        remote.open_remote(url)
    assert problem in str(refused.value) and "hunter2secret" not in str(refused.value)
    assert "funnel@" not in str(refused.value)


def test_funnel_run_refuses_a_password_in_the_inbox_url_before_running_and_never_prints_it(tmp_path, capsys):
    from pipelines.cli import main

    code = main(["run", "--inbox", "sftp://funnel:hunter2secret@example.com/inbox",
                 "--warehouse", str(tmp_path / "wh" / "funnel.duckdb")])
    err = capsys.readouterr().err
    assert code == 2 and "inbox sftp://example.com/inbox: the URL holds a password" in err
    assert "hunter2secret" not in err and not (tmp_path / "wh").exists()


def test_the_raw_step_fetches_first_and_says_where_files_came_from(served, tmp_path, monkeypatch):
    """The step's metadata names the remote and each fetched file's origin; an unreachable remote fails the step
    after the landed files loaded, naming the remote without its user."""
    warehouse = tmp_path / "wh" / "funnel.duckdb"

    def materialize(inbox: str) -> dg.ExecuteInProcessResult:
        resource = FunnelResource(inbox_dir=inbox, config_dir=str(CONFIG_DIR), warehouse_path=str(warehouse))
        return dg.materialize([raw_exports], resources={"funnel": resource}, raise_on_error=False,
                              selection=[dg.AssetKey(["raw", "leads"])])

    result = materialize(f"file://{served}")
    assert result.success
    [mat] = result.asset_materializations_for_node("raw")
    assert mat.metadata["inbox"].value == f"file://{served}"
    assert f"file://{served}/leads/leads_2026-07-03.csv" in mat.metadata["fetched"].value
    assert mat.metadata["fetch"].value["remote"]["copied"] == 1
    assert "on the remote inbox, not copied" in mat.metadata["not_read"].value

    port = free_port()  # nothing listens there
    failed = materialize(f"sftp://funnel@127.0.0.1:{port}/inbox")
    assert not failed.success
    [failure] = [e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    text = failure.event_specific_data.user_failure_data.description
    assert f"sftp://127.0.0.1:{port}/inbox: cannot connect" in text and "funnel@" not in text


def test_the_sensor_watches_the_remote_listing_and_not_the_landing_folder(served, tmp_path, monkeypatch):
    warehouse = tmp_path / "wh" / "funnel.duckdb"
    monkeypatch.setenv("FUNNEL_INBOX_DIR", f"file://{served}")
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(warehouse))
    os.utime(served / "leads" / "leads_2026-07-04.csv", (OLD, OLD))
    with dg.instance_for_test() as instance:
        request = inbox_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(request, dg.RunRequest) and request.tags["funnel/trigger"] == "remote"
        assert request.tags["funnel/new_files"] == "2"
        fetch_remote(f"file://{served}", warehouse.with_name("funnel.landing"), warehouse.with_name("funnel.origins"),
                     quiet=120)  # what the run does first
        after = inbox_sensor(dg.build_sensor_context(instance=instance))
        assert isinstance(after, dg.SkipReason) and "no new" in after.skip_message


def test_files_a_run_fetched_into_a_local_inbox_start_no_second_run(tmp_path, monkeypatch):
    inbox, warehouse = tmp_path / "inbox", tmp_path / "wh" / "funnel.duckdb"
    monkeypatch.setenv("FUNNEL_INBOX_DIR", str(inbox))
    monkeypatch.setenv("FUNNEL_WAREHOUSE_PATH", str(warehouse))
    path = write_export(inbox, "leads", "leads_2026-07-03T0900.csv", LEADS, mtime=OLD)
    write_origin(warehouse.with_name("funnel.origins"), "leads/leads_2026-07-03T0900.csv",
                 {"origin": "mail", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()})
    with dg.instance_for_test() as instance:
        result = inbox_sensor(dg.build_sensor_context(instance=instance))
    assert isinstance(result, dg.SkipReason) and "no new" in result.skip_message


@pytest.fixture
def s3(monkeypatch):
    """A moto S3 server on 127.0.0.1 (offline), credentials from the AWS_* variables as in production."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    port = free_port()
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "funnel-test-key")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "moto-secret-never-printed")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    import s3fs

    fs = s3fs.S3FileSystem(skip_instance_cache=True)
    fs.mkdir("exports")
    yield fs
    server.stop()


def test_an_s3_inbox_is_copied_once_and_left_as_it_was(s3, tmp_path, caplog):
    caplog.set_level("DEBUG")
    s3.pipe({"exports/inbox/leads/leads_2026-07-03.csv": LEADS.encode(),
             "exports/inbox/spend/spend_2026-07.csv": b"date,channel,cost\n2026-07,Webinar,1000\n",
             "exports/inbox/leads/report.pdf": b"%PDF"})
    listing = {k: v["ETag"] for k, v in s3.find("exports", detail=True).items()}
    landing, origins = tmp_path / "landing", tmp_path / "origins"

    waiting = fetch_remote("s3://exports/inbox", landing, origins, quiet=3600)  # uploaded just now
    assert not waiting.copied and len(waiting.settling) == 2
    first = fetch_remote("s3://exports/inbox", landing, origins, quiet=0)
    assert sorted(r["file"] for r in first.copied) == ["leads/leads_2026-07-03.csv", "spend/spend_2026-07.csv"]
    assert (landing / "leads" / "leads_2026-07-03.csv").read_text() == LEADS
    assert [e.path for e in first.not_copied] == ["leads/report.pdf"]
    again = fetch_remote("s3://exports/inbox", landing, origins, quiet=0)
    assert not again.copied and again.unchanged == 2
    s3.invalidate_cache()
    assert {k: v["ETag"] for k, v in s3.find("exports", detail=True).items()} == listing
    assert read_origin(origins, "spend/spend_2026-07.csv")["url"] == "s3://exports/inbox/spend/spend_2026-07.csv"
    assert "moto-secret-never-printed" not in caplog.text


@pytest.fixture
def gcs(monkeypatch):
    """gcp-storage-emulator on 127.0.0.1 (offline): gcsfs talks to it through STORAGE_EMULATOR_HOST."""
    pytest.importorskip("gcsfs")
    emulator = pytest.importorskip("gcp_storage_emulator.server")
    port = free_port()
    server = emulator.create_server("127.0.0.1", port, in_memory=True, default_bucket="exports")
    server.start()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    import gcsfs

    yield gcsfs.GCSFileSystem(skip_instance_cache=True)
    server.stop()


def test_a_gcs_inbox_is_copied_once_and_left_as_it_was(gcs, tmp_path):
    gcs.pipe("exports/inbox/leads/leads_2026-07-03.csv", LEADS.encode())
    listing = {k: v["etag"] for k, v in gcs.find("exports", detail=True).items()}
    landing, origins = tmp_path / "landing", tmp_path / "origins"
    first = fetch_remote("gs://exports/inbox", landing, origins, quiet=0)
    assert [r["file"] for r in first.copied] == ["leads/leads_2026-07-03.csv"]
    assert (landing / "leads" / "leads_2026-07-03.csv").read_text() == LEADS
    again = fetch_remote("gs://exports/inbox", landing, origins, quiet=0)
    assert not again.copied and again.unchanged == 1
    gcs.invalidate_cache()
    assert {k: v["etag"] for k, v in gcs.find("exports", detail=True).items()} == listing
