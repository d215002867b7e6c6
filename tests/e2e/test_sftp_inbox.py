"""A remote inbox on a real OpenSSH server (sftp://, on 127.0.0.1 with a temporary host key and user key in a
HOME of the test's own): its files are copied into the landing folder and a whole run publishes them, the
server's files are left as they were, a file written seconds ago waits, a second fetch copies nothing, and
the user never shows in logs, metadata or `funnel status`."""

import hashlib
import logging
import os
import time
from pathlib import Path

import dagster as dg
import pytest

from assets.ingest.remote import RemoteError, fetch_remote
from pipelines.status import report
from tests.conftest import CONFIG_DIR, query, run_funnel_job, write_export
from tests.e2e.test_pipeline_runs import LEADS, small_inbox
from tests.system import start_sshd


def snapshot(folder: Path) -> dict[str, tuple]:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def sftp(tmp_path, monkeypatch):
    """The server, and HOME pointing at a ~/.ssh with the user's key and the server's host key: the standard
    configuration the SSH library reads (no credential is passed on a command line or in the URL)."""
    server = start_sshd(tmp_path / "sshd")
    try:
        monkeypatch.setenv("HOME", str(server["home"]))
        monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
        yield server
    finally:
        server["stop"]()


def test_files_on_an_sftp_server_land_and_reach_the_published_marts(sftp, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    remote = small_inbox(tmp_path / "remote")
    old = time.time() - 3600
    for path in remote.rglob("*.csv"):
        os.utime(path, (old, old))
    write_export(remote, "leads", "leads_partial.csv", LEADS)  # still being written: modified just now
    before = snapshot(remote)
    url = f"sftp://{sftp['user']}@127.0.0.1:{sftp['port']}{remote}"
    shown = f"sftp://127.0.0.1:{sftp['port']}{remote}"
    warehouse = tmp_path / "wh" / "funnel.duckdb"

    result = run_funnel_job(url, warehouse)
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    landing = warehouse.with_name("funnel.landing")
    assert sorted(snapshot(landing)) == ["deals/deals.csv", "ga4_sessions/ga4.csv", "leads/leads.csv",
                                         "spend/spend.csv"]
    assert query(warehouse, "SELECT count(*) FROM marts.channel_funnel")[0][0] > 0
    assert query(warehouse, "SELECT sum(wins) FROM marts.channel_funnel") == [(1,)]
    assert snapshot(remote) == before  # nothing on the server modified, nothing deleted

    [leads] = [m for m in result.asset_materializations_for_node("raw") if m.asset_key.path[-1] == "leads"]
    assert leads.metadata["inbox"].value == shown
    assert f"{shown}/leads/leads.csv" in leads.metadata["fetched"].value
    assert leads.metadata["fetch"].value["remote"]["still_being_written"] == 1
    status = report(dg.DagsterInstance.ephemeral(), url, str(CONFIG_DIR), str(warehouse))
    assert f"Inbox {shown} (copied into {landing})" in status and f"{shown}/leads/leads.csv" in status, status

    again = fetch_remote(url, landing, warehouse.with_name("funnel.origins"), quiet=120)
    assert not again.copied and again.unchanged == 4 and again.settling == ["leads/leads_partial.csv"]

    key = (sftp["home"] / ".ssh" / "id_ed25519").read_text().splitlines()[1]
    printed = "\n".join(str(e) for e in result.all_events) + caplog.text + status
    assert f"{sftp['user']}@" not in printed and key not in printed


def test_a_server_whose_host_key_is_not_known_is_refused_by_name(sftp, tmp_path):
    (sftp["home"] / ".ssh" / "known_hosts").write_text("")
    url = f"sftp://{sftp['user']}@127.0.0.1:{sftp['port']}{tmp_path}"
    with pytest.raises(RemoteError) as refused:
        fetch_remote(url, tmp_path / "landing", tmp_path / "origins", quiet=0)
    text = str(refused.value)
    assert f"inbox sftp://127.0.0.1:{sftp['port']}{tmp_path}: cannot connect" in text and "known_hosts" in text
    assert not (tmp_path / "landing").exists()
