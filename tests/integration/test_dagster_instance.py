"""The Dagster instance: Dagster's own SQLite storage by default (dagster.yaml), and PostgreSQL for a shared
deployment (docs/dagster.postgres.yaml), with a real server started by the test."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import dagster as dg
import pytest

from pipelines.cli import main
from tests.conftest import REPO, write_export
from tests.system import start_postgres


def test_the_repository_instance_uses_dagsters_own_sqlite_storage(tmp_path, monkeypatch):
    shutil.copy(REPO / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("FUNNEL_DAGSTER_STORAGE", str(tmp_path / "storage"))
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert type(instance.run_storage).__module__.startswith("dagster.")
        assert "sqlite" in type(instance.run_storage).__name__.lower()


@pytest.fixture
def postgres():
    root = Path(tempfile.mkdtemp(prefix="funnel-pg-"))  # the postgres user must reach it: not under pytest's
    try:
        server = start_postgres(root)
        yield server
        server["stop"]()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_funnel_run_records_its_run_in_postgresql(postgres, tmp_path, tmp_inbox, monkeypatch, capsys):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "docs" / "dagster.postgres.yaml", home / "dagster.yaml")
    for name, key in (("HOST", "host"), ("PORT", "port"), ("USER", "user"), ("PASSWORD", "password"), ("DB", "db")):
        monkeypatch.setenv(f"DAGSTER_PG_{name}", str(postgres[key]))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("FUNNEL_DAGSTER_STORAGE", str(home / "storage"))
    write_export(tmp_inbox, "leads", "leads_2026-07-05.csv", "lead_id,created_at,lead_source\nL1,2026-07-03,Webinar\n")

    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(tmp_path / "wh" / "funnel.duckdb")]) == 0

    with dg.DagsterInstance.get() as instance:
        assert "postgres" in type(instance.run_storage).__module__
        (run,) = instance.get_runs(dg.RunsFilter(job_name="funnel_job"))
        assert run.status == dg.DagsterRunStatus.SUCCESS
        materialized = instance.get_latest_materialization_event(dg.AssetKey(["marts", "channel_funnel"]))
        assert materialized.run_id == run.run_id
