"""The one sample run that tests only read: the reference sample of `funnel docs` (pipelines/dev/data_dictionary.py:
18 months, seed 7, ending 2026-09) run once through the real job, per test worker. A test that writes to it
must copy it first (tests.conftest.copy_run)."""

from pathlib import Path

import dagster as dg
import pytest

from pipelines.dev.data_dictionary import REFERENCE_END_MONTH, REFERENCE_MONTHS, REFERENCE_SEED
from pipelines.dev.generate import generate_sample_exports
from tests.conftest import run_funnel_job


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory) -> tuple[Path, Path, dg.ExecuteInProcessResult]:
    """(inbox, published warehouse, the run's result)."""
    root = tmp_path_factory.mktemp("sample_run")
    inbox = root / "inbox"
    generate_sample_exports(inbox, months=REFERENCE_MONTHS, seed=REFERENCE_SEED, end_month=REFERENCE_END_MONTH)
    warehouse = root / "warehouse" / "funnel.duckdb"
    result = run_funnel_job(inbox, warehouse)
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    return inbox, warehouse, result
