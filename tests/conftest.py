import json
import os
import shutil
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

REPO = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO / "config"
SHARED = REPO.parent / "shared"


def write_export(inbox: Path, source: str, name: str, text: str, mtime: float | None = None) -> Path:
    """Write one export file into inbox/<source>/, optionally with a given modification time."""
    path = inbox / source / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def run_funnel_job(inbox: Path, warehouse: Path, config_dir: Path = CONFIG_DIR) -> dg.ExecuteInProcessResult:
    """The real job, in this process as `funnel run` runs it, on an ephemeral Dagster instance (without the
    code location origin `funnel run` gives its run, which only the UI and the daemon read)."""
    from pipelines.definitions import defs

    return defs().resolve_job_def("funnel_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"resources": {"funnel": {"config": {
            "inbox_dir": str(inbox), "config_dir": str(config_dir), "warehouse_path": str(warehouse),
            "timezone": "Asia/Tokyo"}}}},
        raise_on_error=False,
    )


def refused_text(result) -> str:
    """What a run said of the files it refused: the problem of each failed <source>_no_file_refused check
    (a refused file holds back its source; the run goes on)."""
    from assets.core.markdown import plain

    return "\n".join(plain(ev.metadata["problem"].value) for ev in result.get_asset_check_evaluations()
                     if ev.check_name.endswith("_no_file_refused") and not ev.passed)


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a folder holding a finished run (inbox, warehouse folder), for a test that goes on from it.

    Every file is copied (never linked: the next run writes the working database in place) with its
    modification time, which decides the load order and freshness. Nothing of a run records where its
    inbox or warehouse folder was: load state names files relative to the inbox, and the Data Docs and
    problem sheets are written beside whatever warehouse path the next run is given."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def query(warehouse: Path, sql: str, params=None) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql, params).fetchall()


@pytest.fixture
def tmp_inbox(tmp_path: Path) -> Path:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    return inbox


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append({"content_type": self.headers["Content-Type"], "json": json.loads(body)})
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    handler = type("Hook", (_Hook,), {"received": [], "status": 200})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("FUNNEL_ALERT_WEBHOOK", f"http://127.0.0.1:{server.server_port}/hook")
    yield handler
    server.shutdown()


# `make test` runs the suite on pytest-xdist workers, one whole test file per worker at a time
# (--dist loadfile: a module's fixtures, such as its one real run, are made once), handing the files
# out in collection order (--no-loadscope-reorder). This order: the longest files first, so that none
# of them starts last while the other worker has nothing left to do. Unlisted files keep their order.
LONGEST_FIRST = (
    "test_hostile_corpus_read.py",
    "test_hostile_corpus_refused.py",
    "test_durability.py",
    "test_builtin_profiles.py",
    "test_bad_inputs.py",
    "test_pipeline_runs.py",
    "test_real_exports.py",
    "test_personal_data.py",
    "test_expectations.py",
    "test_status.py",
    "test_hardening.py",
    "test_recency.py",
    "test_dagster_ui.py",
    "test_data_dictionary.py",
    "test_end_to_end.py",
    "test_bench_baselines.py",
)


# A test's level is its folder: unit (functions, in-memory DuckDB), integration (one stage on real files and
# databases, or a few assets materialised), e2e (the whole job, the CLI, the UI). `pytest -m unit` runs one level.
LEVELS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: tests keep their order in a file
    for item in items:
        level = item.path.parent.name
        if level in LEVELS:
            item.add_marker(getattr(pytest.mark, level))
