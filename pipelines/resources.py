"""The one resource every asset uses: where the inbox, configuration and warehouse are."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from pipelines import settings
from schemas.config import FunnelConfig, load_config
from schemas.profiles import Profile, load_profiles


class FunnelResource(dg.ConfigurableResource):
    """Paths of one warehouse. The working database beside the published file holds
    every loaded record and the load log; the published file is what analysts read."""

    inbox_dir: str = settings.DEFAULT_INBOX_DIR
    config_dir: str = settings.DEFAULT_CONFIG_DIR
    warehouse_path: str = settings.DEFAULT_WAREHOUSE_PATH
    timezone: str = settings.DEFAULT_TIMEZONE

    @property
    def working_path(self) -> Path:
        return settings.working_database_path(self.warehouse_path)

    @property
    def problems_dir(self) -> Path:
        return settings.problems_dir(self.warehouse_path)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        self.working_path.parent.mkdir(parents=True, exist_ok=True)
        with DuckDBResource(database=str(self.working_path)).get_connection() as con:
            yield con

    def load_config(self) -> FunnelConfig:
        return load_config(self.config_dir)

    def load_profiles(self) -> list[Profile]:
        return load_profiles(self.config_dir)


def default_funnel_resource() -> FunnelResource:
    """Paths from FUNNEL_* environment variables, else the defaults."""
    return FunnelResource(
        inbox_dir=settings.inbox_dir(),
        config_dir=settings.config_dir(),
        warehouse_path=settings.warehouse_path(),
        timezone=settings.timezone(),
    )
