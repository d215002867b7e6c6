"""pipelines/dagster_storage.py: the instance of dagster.yaml keeps its event log's connections open;
what one process writes, another (the UI) reads and is woken for, and the files are Dagster's own."""

import shutil
import threading
from pathlib import Path

import dagster as dg

from pipelines.dagster_storage import PooledSqliteStorage

REPO = Path(__file__).resolve().parent.parent


@dg.asset
def upstream() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset(deps=[upstream], check_specs=[dg.AssetCheckSpec("has_rows", asset="downstream", blocking=True)])
def downstream():
    yield dg.MaterializeResult(metadata={"rows": 2})
    yield dg.AssetCheckResult(passed=True)


def repo_instance(home: Path, monkeypatch) -> dg.DagsterInstance:
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("FUNNEL_DAGSTER_STORAGE", str(home))
    return dg.DagsterInstance.from_config(str(home))


def test_runs_written_through_the_pooled_storage_read_back_from_another_instance(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    with repo_instance(home, monkeypatch) as writer:
        assert isinstance(writer.get_ref().storage, PooledSqliteStorage)
        result = dg.materialize([upstream, downstream], instance=writer)
        assert result.success
        run_id = result.run_id
    assert (home / "history" / "runs" / f"{run_id}.db").is_file()  # the layout of `storage: sqlite`
    with repo_instance(home, monkeypatch) as reader:  # a fresh process would see the same
        assert reader.get_run_by_id(run_id).is_success
        latest = reader.get_latest_materialization_event(dg.AssetKey("downstream"))
        assert latest.run_id == run_id
        assert latest.asset_materialization.metadata["rows"].value == 2
        [check] = [e for e in reader.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)]
        assert check.dagster_event.event_specific_data.passed


def test_a_watcher_of_a_running_run_is_woken_by_each_write(tmp_path, monkeypatch):
    """The UI follows a running run by watching its shard file; the writes go to the WAL beside it."""
    home = tmp_path / "dagster"
    with repo_instance(home, monkeypatch) as writer, repo_instance(home, monkeypatch) as ui:
        run = writer.create_run_for_job(dg.GraphDefinition("g").to_job())
        writer.report_engine_event("first", run)
        seen, woken = [], threading.Event()

        def callback(entry, cursor):
            seen.append(entry.message)
            if "second" in seen:
                woken.set()

        ui.event_log_storage.watch(run.run_id, None, callback)
        writer.report_engine_event("second", run)
        assert woken.wait(timeout=30), seen
        ui.event_log_storage.end_watch(run.run_id, callback)
