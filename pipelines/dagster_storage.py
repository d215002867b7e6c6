"""Dagster's SQLite instance storage, with the event log's connections kept open (issue 7).

Dagster's SqliteEventLogStorage opens a new SQLAlchemy engine and SQLite connection for every
read and write of its event log and closes it again (NullPool). Closing the last connection to
a WAL database checkpoints it (two fsyncs) and deletes the WAL file, and every commit fsyncs the
WAL: 6 to 8 connections, commits and fsyncs per step. Over the ~300 events of a nightly run that
was the larger part of Dagster's ~75 ms per step (a job of 60 trivial assets: 4.4 to 5.3 CPU s and
5 to 16 s wall against 1.4 to 2.0 CPU s and 2 to 4 s wall with this storage, shared machine).

`PooledSqliteStorage` is `storage: sqlite` (same files under the same base_dir, so an existing
DAGSTER_HOME keeps its history) except that the event log keeps one open connection per database
(the index shard and the few most recent run shards) in WAL mode with `synchronous=NORMAL`: a
commit is not fsynced; the WAL is synced at checkpoints. SQLite documents this as safe from
corruption; a power cut may lose the last events written (not the warehouse: the DuckDB files
have their own durability). After a write to a run's shard its file's modification time is
touched: the UI follows a running run's log by watching that file, and with the connection kept
open the writes land in the WAL file beside it until a checkpoint.

Configured in dagster.yaml (`storage: custom:`); tests use ephemeral instances.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME, SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Run shards with an open connection at a time (each is a file handle; the UI reads many runs).
OPEN_RUN_SHARDS = 4


def _sqlite_engine(conn_string: str) -> Engine:
    engine = create_engine(conn_string, poolclass=QueuePool, pool_size=1, max_overflow=2,
                           connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _per_connection(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")  # in WAL mode: sync at checkpoints, not every commit
        cursor.close()

    return engine


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with an engine (one pooled connection) per shard instead of one per call."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        self._engines: OrderedDict[str, Engine] = OrderedDict()

    def _engine(self, shard: str) -> Engine:
        engine = self._engines.pop(shard, None) or _sqlite_engine(self.conn_string_for_shard(shard))
        self._engines[shard] = engine  # most recently used last
        run_shards = [s for s in self._engines if s != INDEX_SHARD_NAME]
        for old in run_shards[:-OPEN_RUN_SHARDS]:
            self._engines.pop(old).dispose()
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        with self._db_lock:  # as in the base class: one connection in use at a time
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn:
                before = conn.connection.dbapi_connection.total_changes
                with conn.begin():
                    yield conn
                wrote = conn.connection.dbapi_connection.total_changes != before
            if wrote and shard != INDEX_SHARD_NAME:
                path = self.path_for_shard(shard)
                if os.path.exists(path):
                    os.utime(path)  # wakes the UI's watch of this run's log (see the module docstring)

    def _dispose_engines(self) -> None:
        with self._db_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # the base class deletes the shard files
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()


class PooledSqliteStorage(DagsterSqliteStorage):
    """`storage: sqlite` with PooledSqliteEventLogStorage as its event log (same files)."""

    def __init__(self, base_dir: str, inst_data=None):
        super().__init__(base_dir, inst_data)
        self._event_log_storage.dispose()
        self._event_log_storage = PooledSqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "PooledSqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)
