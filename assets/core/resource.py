"""The one resource every asset uses: where the inbox, configuration and warehouse are."""

from __future__ import annotations

import re
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Iterator

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from assets.core import settings
from schemas.config import FunnelConfig, load_config
from schemas.profiles import Profile, load_profiles


# DuckDB writes a new database's file header (three 4 KiB blocks) before anything else.
DUCKDB_HEADER_BYTES = 3 * 4096


def discard_unfinished_database(path: Path) -> None:
    """A run killed while DuckDB was creating the working database leaves a file shorter
    than its header: nothing was ever committed to it, and DuckDB refuses to open it.
    Remove it so that the next run starts afresh. A larger unreadable file is left alone
    (and the run fails naming it): that is damage to real data, not an unfinished start."""
    if not path.exists() or path.stat().st_size > DUCKDB_HEADER_BYTES:
        return
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error as exc:
        if "not a valid DuckDB database file" not in str(exc):
            return  # locked by a run that is creating it right now, or some other trouble: leave it
        path.unlink(missing_ok=True)
        Path(f"{path}.wal").unlink(missing_ok=True)


class WarehouseUnavailable(Exception):
    """The working database cannot be opened: a read-only or full disk, a missing folder, another process."""


def lock_holder(error: duckdb.Error) -> str | None:
    """The process a DuckDB lock error names, in words; None for any other error."""
    held = re.search(r"Conflicting lock is held in (.*?) \(PID (\d+)\)", str(error))
    return f"process {held[2]} ({held[1]})" if held else None


def open_working_database(path: Path, config: dict, wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """The working database, read-write. While another process holds it (a run, an analyst), wait up to
    `wait_seconds` for it; any other failure is said at once, with its cause (Dagster's DuckDBResource
    retried every IO error for 100 s, a read-only or full disk included, and then named no cause)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return duckdb.connect(str(path), config=config)
        except duckdb.Error as exc:
            holder = lock_holder(exc)
            if holder is None:
                raise WarehouseUnavailable(f"The working database {path} cannot be opened: {exc}") from None
            if time.monotonic() >= deadline:
                raise WarehouseUnavailable(
                    f"The working database {path} is locked by {holder} (another run, or a session that opened it): "
                    f"waited {wait_seconds:g} s. Let that run finish or close that session; analysts read the "
                    "published file, read-only.") from None
            time.sleep(min(2.0, max(0.1, deadline - time.monotonic())))


class FunnelResource(dg.ConfigurableResource):
    """Paths of one warehouse. The working database beside the published file holds
    every loaded record and the load log; the published file is what analysts read.

    In a Dagster run the working database is opened once, when the run starts (Dagster calls
    setup_for_execution once per run with the in-process executor), and each step's `connect()`
    is a cursor on it: opening the database and checkpointing it on close took 30 to 60 ms per
    step, about 60 steps a run. Outside a run `connect()` opens and closes the database itself."""

    inbox_dir: str = settings.DEFAULT_INBOX_DIR
    config_dir: str = settings.DEFAULT_CONFIG_DIR
    warehouse_path: str = settings.DEFAULT_WAREHOUSE_PATH
    timezone: str = settings.DEFAULT_TIMEZONE
    _run: ExitStack | None = PrivateAttr(default=None)
    _run_connection: duckdb.DuckDBPyConnection | None = PrivateAttr(default=None)

    @property
    def working_path(self) -> Path:
        return settings.working_database_path(self.warehouse_path)

    @property
    def local_inbox(self) -> Path:
        """The folder files load from: the inbox, or the landing folder of a remote one (a URL)."""
        return settings.local_inbox(self.inbox_dir, self.warehouse_path)

    @property
    def problems_dir(self) -> Path:
        return settings.problems_dir(self.warehouse_path)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._run = ExitStack()
        self._run_connection = self._run.enter_context(self._open())

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._run is not None:
            self._run_connection = None
            self._run.close()  # closes (and checkpoints) the working database
            self._run = None

    @contextmanager
    def _open(self, wait_seconds: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        try:
            self.working_path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WarehouseUnavailable(f"The warehouse folder {self.working_path.parent} cannot be created: "
                                       f"{exc.strerror or exc}") from None
        discard_unfinished_database(self.working_path)
        con = open_working_database(self.working_path, {"memory_limit": settings.duckdb_memory_limit()},
                                    settings.lock_wait_seconds() if wait_seconds is None else wait_seconds)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def connect(self, wait_seconds: float | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the working database: in a run, a cursor of the run's (its own temp
        tables and transaction); else the database opened for this block (waiting up to `wait_seconds`,
        default FUNNEL_LOCK_WAIT_SECONDS, while another process holds it)."""
        if self._run_connection is None:
            with self._open(wait_seconds) as con:
                yield con
            return
        cursor = self._run_connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

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
