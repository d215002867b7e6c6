"""Durability of `funnel run`: SIGKILL at real points of a run, and a reader across a publish.

Issue: "A run killed at any point (SIGKILL) leaves the warehouse as it was, and the
next run gives exactly the result of an uninterrupted run" and "an analyst holding a
read-only DuckDB connection to the published file during a run keeps querying
without error, and sees the new data after reconnecting".

Every run is the real CLI (`funnel run`) in a subprocess, on a Dagster instance made
from the repository's dagster.yaml with DAGSTER_HOME and FUNNEL_DAGSTER_STORAGE in
tmp dirs: one per test, shared by its killed runs and the run after them, so a
killed run's sqlite run storage must not hinder the next run.

Kill points are not sleeps. A watcher polls what the run visibly does and sends
SIGKILL the moment it sees the point (`funnel run` prints nothing until the whole
run is over, so its output cannot be used):
  - the working database file appears (nothing committed yet);
  - the run's own Dagster event log (sqlite, FUNNEL_DAGSTER_STORAGE/history/runs/
    <run_id>.db) records the first raw/* materialization and the working database's
    WAL then holds committed files of the next source (not checkpointed yet), or it
    records the first marts/* materialization (every file loaded, marts being built);
  - the temp publish file `.<published>.<run_id>.tmp` appears (kill during publish);
  - the published file was replaced (kill after the rename, before the run ended).
After each kill the state left behind is checked: published file absent or
byte-identical, raw holding whole files only (rows = load_log), temp files named
after the killed run. The run after the kills must give exactly the result of an
uninterrupted run: every table of the published file and of the working database,
without the columns naming a load or a run.

Sample data: `funnel generate --months 6`; the "old" inbox holds all but the newest
file of each source, the "new" inbox every file. References, started in the
background when the module starts: R1 = an uninterrupted run on the old inbox into a
fresh warehouse; R2 = R1's warehouse, then an uninterrupted run on the new inbox,
with an analyst's read-only connection open on the published file (the reader test).

Runtime: 95-150 s measured on a shared 2-core VM (load 3-4); almost all of it is the
runs themselves (~15 s of Dagster per `funnel run`, ~5 s of it before any work starts).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from assets.core.resource import DUCKDB_HEADER_BYTES
import pytest

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / "config"
BIN = Path(sys.executable).parent
FUNNEL = str(BIN / "funnel") if (BIN / "funnel").exists() else (shutil.which("funnel") or "funnel")
RUN_TIMEOUT = 240  # seconds; a run takes ~15-20 s on a loaded 2-core machine
POLL = 0.005
WAL_WITH_A_FILE = 64 * 1024  # bytes of working-database WAL that mean "a file was committed" (a GA4 file: ~240 KB)
# Columns that differ between two runs of the same inbox by design (ids and times of the load).
VOLATILE_COLUMNS = {"_load_id", "_loaded_at", "load_id", "loaded_at", "run_id",
                    "published_file"}  # staging.publish_state: the file's modification time
FILE_LOADED = re.compile(r"\[\d+/\d+\] \S.*: loaded, ")
RUN_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

pytestmark = pytest.mark.skipif(os.name != "posix", reason="SIGKILL and atomic rename semantics are POSIX")


# --------------------------------------------------------------------------- helpers


class Warehouse:
    """A published file and what lives beside it."""

    def __init__(self, published: Path):
        self.published = published
        self.dir = published.parent
        self.work = published.with_name(published.stem + ".work.duckdb")
        self._temp = re.compile(rf"\.{re.escape(published.name)}\.[^.]+\.tmp(\.wal)?")

    def is_temp_file(self, name: str) -> bool:
        """A temp publish file: `.<name>.<run_id>.tmp` or its `.wal`."""
        return self._temp.fullmatch(name) is not None

    def temp_files(self) -> list[str]:
        if not self.dir.is_dir():
            return []
        return sorted(p.name for p in self.dir.iterdir() if self.is_temp_file(p.name))

    def digest(self) -> str | None:
        if not self.published.exists():
            return None
        return hashlib.sha256(self.published.read_bytes()).hexdigest()

    def copy_to(self, other: Warehouse) -> Warehouse:
        other.dir.mkdir(parents=True, exist_ok=True)
        for src, dst in ((self.published, other.published), (self.work, other.work)):
            shutil.copy2(src, dst)
        assert not Path(f"{self.work}.wal").exists(), "a finished run leaves no WAL"
        return other


@dataclass
class Instance:
    """DAGSTER_HOME (the repo's dagster.yaml) and FUNNEL_DAGSTER_STORAGE in tmp dirs."""

    root: Path

    def __post_init__(self):
        self.home = self.root / "dagster_home"
        self.storage = self.root / "dagster_storage"
        self.home.mkdir(parents=True, exist_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / "dagster.yaml", self.home / "dagster.yaml")

    def env(self) -> dict[str, str]:
        return {**base_env(), "DAGSTER_HOME": str(self.home), "FUNNEL_DAGSTER_STORAGE": str(self.storage)}

    def event_logs(self) -> set[Path]:
        """The sqlite event log of every run (`history/runs/<run_id>.db`)."""
        runs = self.storage / "history" / "runs"
        return {p for p in runs.glob("*.db") if RUN_ID.fullmatch(p.stem)} if runs.is_dir() else set()

    def run_statuses(self) -> dict[str, int]:
        with sqlite3.connect(self.storage / "history" / "runs.db") as con:
            return dict(con.execute("SELECT status, count(*) FROM runs GROUP BY status ORDER BY status").fetchall())

    def failed_runs(self) -> list[str]:
        with sqlite3.connect(self.storage / "history" / "runs.db") as con:
            return [r for (r,) in con.execute("SELECT run_id FROM runs WHERE status = 'FAILURE' ORDER BY run_id")]


def base_env() -> dict[str, str]:
    """This environment without FUNNEL_*/DAGSTER_* settings, the venv first on PATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FUNNEL_", "DAGSTER_"))}
    env.update(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1")
    return env


def funnel_cmd(inbox: Path, wh: Warehouse) -> list[str]:
    return [FUNNEL, "run", "--inbox", str(inbox), "--warehouse", str(wh.published), "--config", str(CONFIG_DIR)]


def run_to_completion(inbox: Path, wh: Warehouse, instance: Instance, log: Path) -> subprocess.CompletedProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(funnel_cmd(inbox, wh), env=instance.env(), cwd=instance.root, capture_output=True,
                          text=True, timeout=RUN_TIMEOUT)
    log.write_text(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    assert proc.returncode == 0 and "succeeded" in proc.stdout, (
        f"funnel run failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


@dataclass
class Observed:
    """What the watcher saw of a running `funnel run`."""

    elapsed: float = 0.0
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (size, inode) beside the warehouse
    materialized: list[str] = field(default_factory=list)  # asset keys, in order
    files_loaded: int = 0  # "[i/n] <file>: loaded, ..." lines of the load step (logged after the file's commit)
    run_id: str | None = None


class EventLog:
    """Reads the Dagster event log of the one run started after construction."""

    def __init__(self, instance: Instance):
        self.instance = instance
        self.before = instance.event_logs()
        self.con: sqlite3.Connection | None = None
        self.last_id = 0

    def poll(self, seen: Observed) -> None:
        try:
            if self.con is None:
                new = self.instance.event_logs() - self.before
                if not new:
                    return
                db = max(new, key=lambda p: p.stat().st_ctime_ns)  # one run at a time: the new one
                seen.run_id = db.stem
                self.con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.05)
            rows = self.con.execute(
                "SELECT id, dagster_event_type, asset_key, CASE WHEN dagster_event_type IS NULL AND step_key = 'raw' "
                "THEN event END FROM event_logs WHERE id > ? ORDER BY id", (self.last_id,)).fetchall()
        except sqlite3.OperationalError:  # not created yet, or busy: next poll
            return
        for event_id, event_type, asset_key, log_entry in rows:
            self.last_id = event_id
            if event_type == "ASSET_MATERIALIZATION" and asset_key:
                seen.materialized.append("/".join(json.loads(asset_key)))
            elif log_entry and FILE_LOADED.match(json.loads(log_entry).get("user_message", "")):
                seen.files_loaded += 1

    def close(self) -> None:
        if self.con is not None:
            self.con.close()


@dataclass(frozen=True)
class KillPoint:
    name: str
    description: str

    def reached(self, wh: Warehouse, seen: Observed, start: Observed) -> bool:
        if self.name == "working_db_created":
            return wh.work.name in seen.files
        if self.name == "files_in_wal_mid_ingest":
            # the load step (all sources side by side, materializing nothing until it ends) has
            # committed a file to the WAL (its DDL alone writes ~25 KB a source), not yet checkpointed
            wal = seen.files.get(wh.work.name + ".wal")
            return seen.files_loaded > 0 and wal is not None and wal[0] >= WAL_WITH_A_FILE
        if self.name.startswith("materialized:"):  # "materialized:raw/" = the first asset of group raw
            key = self.name.split(":", 1)[1]
            return any(m == key or (key.endswith("/") and m.startswith(key)) for m in seen.materialized)
        if self.name == "publish_temp_file_appears":
            return any(wh.is_temp_file(n) and n.endswith(".tmp") and n not in start.files for n in seen.files)
        if self.name == "published_file_replaced":
            now = seen.files.get(wh.published.name)
            return now is not None and (start.files.get(wh.published.name) is None
                                        or now[1] != start.files[wh.published.name][1])
        raise ValueError(self.name)


WORKING_DB_CREATED = KillPoint("working_db_created", "working database file created, nothing committed")
MID_INGEST = KillPoint("files_in_wal_mid_ingest",
                       "files committed to the WAL only, the load step still loading the sources")
MARTS_BEING_BUILT = KillPoint("materialized:marts/", "every file loaded, marts being built")
DURING_PUBLISH = KillPoint("publish_temp_file_appears", "temp publish file being written")
AFTER_RENAME = KillPoint("published_file_replaced", "published file renamed into place, run not finished")


def _observe(wh: Warehouse, events: EventLog, seen: Observed) -> None:
    files = {}
    if wh.dir.is_dir():
        for p in wh.dir.iterdir():
            try:
                st = p.stat()
            except FileNotFoundError:  # removed between listing and stat
                continue
            files[p.name] = (st.st_size, st.st_ino)
    seen.files = files
    events.poll(seen)


@dataclass
class KillReport:
    point: str
    at_seconds: float
    run_id: str | None
    materialized: int
    published_before: str | None
    published_after: str | None
    temp_files_left: list[str]
    working_db: dict

    def line(self) -> str:
        return (f"kill at {self.point:26} t={self.at_seconds:5.2f}s assets done={self.materialized:2} "
                f"published {'unchanged' if self.published_before == self.published_after else 'CHANGED'} "
                f"temp left={self.temp_files_left} working db={self.working_db}")


def run_and_kill(inbox: Path, wh: Warehouse, instance: Instance, point: KillPoint, log: Path) -> KillReport:
    """Start `funnel run`, SIGKILL it the moment `point` is observed, report what was left behind."""
    published_before = wh.digest()
    events = EventLog(instance)
    start = Observed()
    _observe(wh, events, start)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        t0 = time.monotonic()
        proc = subprocess.Popen(funnel_cmd(inbox, wh), env=instance.env(), cwd=instance.root, stdout=out,
                                stderr=subprocess.STDOUT)
        seen = Observed()
        try:
            while True:
                _observe(wh, events, seen)
                if point.reached(wh, seen, start):
                    proc.send_signal(signal.SIGKILL)
                    break
                if proc.poll() is not None or time.monotonic() - t0 > RUN_TIMEOUT:
                    break
                time.sleep(POLL)
            seen.elapsed = time.monotonic() - t0
            rc = proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            events.close()
    assert rc == -signal.SIGKILL, (
        f"the run ended (rc {rc}) before kill point {point.name} ({point.description}) was seen "
        f"(materialized: {seen.materialized}):\n{log.read_text()[-3000:]}")
    return KillReport(point.name, seen.elapsed, seen.run_id, len(seen.materialized), published_before,
                      wh.digest(), wh.temp_files(), inspect_working_db(wh, log.with_suffix(".inspect")))


def inspect_working_db(wh: Warehouse, scratch: Path) -> dict:
    """Loaded files and raw rows of the working database as a killed run left it: on a copy
    (with its WAL), so the inspection cannot change what the next run finds."""
    if not wh.work.exists():
        return {"exists": False}
    scratch.mkdir(parents=True, exist_ok=True)
    copy = scratch / "work.duckdb"
    shutil.copy2(wh.work, copy)
    if Path(f"{wh.work}.wal").exists():
        shutil.copy2(f"{wh.work}.wal", f"{copy}.wal")
    try:
        con = duckdb.connect(str(copy), read_only=True)
    except duckdb.IOException as exc:
        # killed while DuckDB wrote the new file's header: nothing committed; the next run
        # discards the file (assets.core.resource.discard_unfinished_database)
        assert "not a valid DuckDB database file" in str(exc) and copy.stat().st_size <= DUCKDB_HEADER_BYTES, exc
        shutil.rmtree(scratch)
        return {"exists": True, "unfinished": True, "files_loaded": 0}
    with con:
        tables = {f"{s}.{t}" for s, t in con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
        state = {"exists": True, "wal": Path(f"{wh.work}.wal").exists(), "files_loaded": 0, "raw_rows": {}}
        if "ops.load_log" in tables:
            state["files_loaded"] = con.execute("SELECT count(*) FROM ops.load_log WHERE status = 'loaded'").fetchone()[0]
            for table in sorted(t for t in tables if t.startswith("raw.")):
                source = table.split(".", 1)[1]
                rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                logged = con.execute("SELECT coalesce(sum(rows_loaded), 0) FROM ops.load_log "
                                     "WHERE source = $s AND status = 'loaded'", {"s": source}).fetchone()[0]
                # one transaction per file: raw holds exactly the rows of the files logged as loaded
                assert rows == logged, f"{table}: {rows} rows but load_log says {logged}"
                state["raw_rows"][source] = rows
    shutil.rmtree(scratch)
    return state


def content(db: Path) -> dict[str, list[tuple]]:
    """Every table of every schema but ops.alerts (see assert_same_result), sorted, without the
    columns that name a load or a run."""
    out = {}
    with duckdb.connect(str(db), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                             "WHERE (schema_name, table_name) != ('ops', 'alerts') ORDER BY ALL").fetchall()
        for schema, table in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = $s AND table_name = $t "
                "ORDER BY column_index", {"s": schema, "t": table}).fetchall() if c not in VOLATILE_COLUMNS]
            cols = ", ".join(f'"{c}"' for c in columns)
            out[f"{schema}.{table}"] = con.execute(f"SELECT {cols} FROM {schema}.{table} ORDER BY ALL").fetchall()
    return out


def _same_rows(got: list[tuple], ref: list[tuple]) -> bool:
    """Equal, but doubles only to 1e-9 relative: DuckDB's parallel aggregates may sum in another
    order on another run (seen: avg_sales_cycle_days 67.00080054012345 vs ...346)."""
    if got == ref:
        return True
    if len(got) != len(ref):
        return False
    return all(
        len(g) == len(r) and all(
            a == b or (isinstance(a, float) and isinstance(b, float) and math.isclose(a, b, rel_tol=1e-9))
            for a, b in zip(g, r))
        for g, r in zip(got, ref))


def assert_same_result(wh: Warehouse, reference: Warehouse, killed: list[str]) -> None:
    """Every table of the published file (marts, ops, ...) and of the working database (raw,
    staging, marts, ops, ...) holds exactly what the uninterrupted reference run produced:
    no lost, no duplicated rows. ops.alerts, which the reference has empty, holds one alert of
    the run itself for each run in `killed` (marked failed by a later run), and nothing else."""
    for db in (wh.published, wh.work):
        with duckdb.connect(str(db), read_only=True) as con:
            alerts = con.execute("SELECT run_id, step_key, asset_key FROM ops.alerts ORDER BY run_id").fetchall()
        assert alerts == [(run_id, "", None) for run_id in sorted(killed)], f"{db.name}: ops.alerts {alerts}"
    for got_db, ref_db in ((wh.published, reference.published), (wh.work, reference.work)):
        got, ref = content(got_db), content(ref_db)
        assert sorted(got) == sorted(ref), f"{got_db.name}: tables differ"
        for table in ref:
            assert _same_rows(got[table], ref[table]), (
                f"{got_db.name}: {table} differs from the uninterrupted run: "
                f"{len(got[table])} vs {len(ref[table])} rows, first difference "
                f"{next(((g, r) for g, r in zip(got[table], ref[table]) if g != r), None)}")
    with duckdb.connect(str(wh.work), read_only=True) as con:
        dup = con.execute("SELECT count(*) - count(DISTINCT sha256) FROM ops.load_log WHERE status = 'loaded'").fetchone()[0]
    assert dup == 0, "a file was loaded twice"


READER = r'''
import json, sys, time
from pathlib import Path
import duckdb

published, control = sys.argv[1], Path(sys.argv[2])

def emit(**kw):
    print(json.dumps(kw), flush=True)

def connect(session):
    while True:
        try:
            con = duckdb.connect(published, read_only=True)
            emit(event="connected", session=session, t=time.time())
            return con
        except Exception as exc:
            emit(event="error", session=session, t=time.time(), error=f"connect: {type(exc).__name__}: {exc}")
            time.sleep(0.05)

session = 1
con = connect(session)
while not (control / "stop").exists():
    if session == 1 and (control / "reconnect").exists():
        con.close()
        session = 2
        con = connect(session)
    try:
        rows, leads = con.execute("SELECT count(*), sum(leads) FROM marts.channel_funnel").fetchone()
        emit(event="result", session=session, t=time.time(), value=[rows, int(leads)])
    except Exception as exc:
        emit(event="error", session=session, t=time.time(), error=f"{type(exc).__name__}: {exc}")
    time.sleep(0.05)
con.close()
emit(event="stopped", t=time.time())
'''


def _funnel_numbers(published: Path) -> list[int]:
    with duckdb.connect(str(published), read_only=True) as con:
        rows, leads = con.execute("SELECT count(*), sum(leads) FROM marts.channel_funnel").fetchone()
    return [rows, int(leads)]


@dataclass
class ReaderRecord:
    """What an analyst's read-only connection saw while `funnel run` published new data."""

    old: list[int]  # (rows, sum(leads)) of marts.channel_funnel before the run
    lines: list[dict]  # the reader's output: connected / result / error events
    t_start: float
    t_end: float
    run_seconds: float
    run_stderr: str
    inode_before: int
    inode_after: int
    reader_rc: int | None
    reader_stderr: str
    problem: str | None  # a timeout while waiting for the reader, if any

    def results(self, session: int, after: float = 0.0, before: float = math.inf) -> list[dict]:
        return [e for e in self.lines if e["event"] == "result" and e["session"] == session and after < e["t"] < before]


def update_with_a_reader(inbox: Path, wh: Warehouse, instance: Instance, scratch: Path) -> ReaderRecord:
    """Start a reader process on the published file, run `funnel run` to completion, let the
    reader query the old connection a little longer, then make it reconnect."""
    old = _funnel_numbers(wh.published)
    control = scratch / "reader_control"
    control.mkdir(parents=True)
    script = scratch / "reader.py"
    script.write_text(READER)
    reader = subprocess.Popen([sys.executable, str(script), str(wh.published), str(control)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=instance.env())
    lines: list[dict] = []

    def pump() -> None:
        for line in reader.stdout:
            lines.append(json.loads(line))

    pumping = threading.Thread(target=pump, daemon=True)
    pumping.start()

    def count(session: int, after: float = 0.0) -> int:
        return sum(1 for e in list(lines) if e["event"] == "result" and e["session"] == session and e["t"] > after)

    def wait_for(predicate, what: str, timeout: float = 60) -> str | None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if reader.poll() is not None or time.monotonic() > deadline:
                return f"waiting for {what}: reader rc {reader.poll()}, last lines {lines[-3:]}"
            time.sleep(0.02)
        return None

    problem = t_start = t_end = None
    inode_before = inode_after = -1
    proc = None
    try:
        problem = wait_for(lambda: count(1) >= 3, "the reader's first results")
        if problem is None:
            inode_before = wh.published.stat().st_ino
            t_start = time.time()
            proc = run_to_completion(inbox, wh, instance, scratch / "r2.log")
            t_end = time.time()
            inode_after = wh.published.stat().st_ino
            problem = wait_for(lambda: count(1, after=t_end) >= 3, "results after the publish, same connection")
        if problem is None:
            (control / "reconnect").touch()
            problem = wait_for(lambda: count(2) >= 3, "results after reconnecting")
        (control / "stop").touch()
        reader.wait(timeout=30)
        pumping.join(timeout=10)
    finally:
        if reader.poll() is None:
            reader.kill()
            reader.wait()
    return ReaderRecord(old, lines, t_start or 0.0, t_end or 0.0, (t_end or 0.0) - (t_start or 0.0),
                        proc.stderr if proc else "", inode_before, inode_after, reader.returncode,
                        reader.stderr.read(), problem)


# --------------------------------------------------------------------------- fixtures


@dataclass
class Sample:
    old_inbox: Path  # all but the newest file of each source
    new_inbox: Path  # every file
    r1: concurrent.futures.Future  # -> Warehouse: fresh uninterrupted run on old_inbox
    r2: concurrent.futures.Future  # -> (Warehouse, ReaderRecord): R1 then an uninterrupted run on new_inbox


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Sample:
    root = tmp_path_factory.mktemp("durability")
    new_inbox = root / "inbox_new"
    gen = subprocess.run([FUNNEL, "generate", "--out", str(new_inbox), "--months", "6", "--seed", "7",
                          "--end-month", "2025-06"], capture_output=True, text=True, cwd=root, timeout=120,
                         env=base_env())
    assert gen.returncode == 0, gen.stderr
    old_inbox = root / "inbox_old"
    for folder in sorted(p for p in new_inbox.iterdir() if p.is_dir()):
        files = sorted(folder.iterdir(), key=lambda p: (p.stat().st_mtime_ns, p.name))
        (old_inbox / folder.name).mkdir(parents=True)
        for f in files[:-1]:  # hold back the newest file (or Studio export folder) of each source
            if f.is_dir():
                shutil.copytree(f, old_inbox / folder.name / f.name)  # copy2: file times kept
            else:
                shutil.copy2(f, old_inbox / folder.name / f.name)  # keeps the modification time (load order)

    def references() -> tuple[Warehouse, ReaderRecord]:
        try:
            instance = Instance(root / "reference")
            wh = Warehouse(root / "reference" / "wh" / "funnel.duckdb")
            run_to_completion(old_inbox, wh, instance, root / "reference" / "r1.log")
            r1 = wh.copy_to(Warehouse(root / "r1" / "funnel.duckdb"))
            r1_future.set_result(r1)
            # R2 is run with an analyst's read-only connection open on the published file (the
            # reader test checks what that connection saw): one run less for the time budget.
            return wh, update_with_a_reader(new_inbox, wh, instance, root / "reference")
        except BaseException as exc:
            if not r1_future.done():
                r1_future.set_exception(exc)
            raise

    # Started now, in the background: the first test's killed runs overlap with them.
    r1_future: concurrent.futures.Future = concurrent.futures.Future()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    r2_future = pool.submit(references)
    yield Sample(old_inbox, new_inbox, r1_future, r2_future)
    pool.shutdown(wait=True)


def _r1(sample: Sample) -> Warehouse:
    return sample.r1.result(timeout=3 * RUN_TIMEOUT)


def _r2(sample: Sample) -> Warehouse:
    return sample.r2.result(timeout=3 * RUN_TIMEOUT)[0]


# --------------------------------------------------------------------------- tests


def test_first_run_killed_three_times_then_completed(sample, tmp_path):
    """Fresh warehouse: killed before any commit, mid-ingest and while the marts are built,
    then completed: no published file until the end, then exactly the uninterrupted result."""
    instance = Instance(tmp_path)
    wh = Warehouse(tmp_path / "wh" / "funnel.duckdb")
    total_files = sum(1 for p in sample.old_inbox.rglob("*") if p.is_file())
    reports = []
    for point in (WORKING_DB_CREATED, MID_INGEST, MARTS_BEING_BUILT):
        report = run_and_kill(sample.old_inbox, wh, instance, point, tmp_path / "logs" / f"{len(reports)}.log")
        reports.append(report)
        print(report.line())
        assert not wh.published.exists(), f"killed at {point.name}: a published file appeared"
        assert wh.temp_files() == [], f"killed at {point.name}, before publishing: temp files {wh.temp_files()}"
    assert reports[0].working_db.get("files_loaded", 0) == 0
    assert 0 < reports[1].working_db["files_loaded"] < total_files, "the mid-ingest kill was not mid-ingest"
    assert reports[1].working_db["wal"], "the mid-ingest kill left no WAL: committed loads were not in the WAL only"
    assert reports[2].working_db["files_loaded"] == total_files, "the marts kill came before ingest ended"

    # the same Dagster storage holds the three killed runs (still "started"): the next run is not hindered,
    # and marks them failed (their process is gone), so that the UI no longer shows them running, each with an alert
    run_to_completion(sample.old_inbox, wh, instance, tmp_path / "logs" / "final.log")
    print(f"Dagster run storage after the final run: {instance.run_statuses()}")
    assert instance.run_statuses() == {"FAILURE": 3, "SUCCESS": 1}
    assert wh.temp_files() == []
    assert_same_result(wh, _r1(sample), killed=instance.failed_runs())


def test_update_killed_during_and_after_publish(sample, tmp_path):
    """Published warehouse, new files in the inbox. Killed the moment the temp publish file
    appears: the published file stays byte-identical. The next run, killed right after its
    rename: the published file and the working database equal the uninterrupted run's, and
    the stale temp file of the first kill is gone."""
    instance = Instance(tmp_path)
    wh = _r1(sample).copy_to(Warehouse(tmp_path / "wh" / "funnel.duckdb"))
    original = wh.digest()
    before = _funnel_numbers(wh.published)

    report = run_and_kill(sample.new_inbox, wh, instance, DURING_PUBLISH, tmp_path / "logs" / "0.log")
    print(report.line())
    first_killed = report.run_id
    assert wh.digest() == original, "killed during publish: the published file changed"
    assert _funnel_numbers(wh.published) == before
    assert report.temp_files_left, "expected the killed publish to leave its temp file (kill was too late?)"
    # what is left is named after the killed run, so no later run opens it as its own
    assert all(report.run_id in name for name in report.temp_files_left), report.temp_files_left

    # The next run completes all that matters (it is killed only after its rename, before Dagster
    # records its end): the published file is the complete new one, as an uninterrupted run makes it.
    # (That runs left "started" in the run storage do not hinder a next run, the first test shows.)
    report = run_and_kill(sample.new_inbox, wh, instance, AFTER_RENAME, tmp_path / "logs" / "1.log")
    print(report.line())
    assert wh.digest() != original
    assert wh.temp_files() == [], "the publish after a killed publish did not remove its stale temp files"
    assert instance.failed_runs() == [first_killed]  # the second was killed after its publish, with no run after it
    assert_same_result(wh, _r2(sample), killed=[first_killed])


def test_reader_keeps_querying_across_a_publish(sample):
    """A second process holds a read-only connection to the published file during a run that
    publishes new data: no error, old numbers while connected, new numbers after reconnecting;
    the run is not blocked by it."""
    wh, rec = sample.r2.result(timeout=3 * RUN_TIMEOUT)
    assert rec.problem is None, rec.problem
    assert rec.reader_rc == 0, rec.reader_stderr
    # not blocked: the run succeeded (run_to_completion) and replaced the file the reader had open
    assert rec.inode_after != rec.inode_before, "the published file was not replaced"
    assert not re.search(r"could not set lock|conflicting lock", rec.run_stderr, re.IGNORECASE), rec.run_stderr
    errors = [e for e in rec.lines if e["event"] == "error"]
    assert errors == [], f"the reader got errors: {errors[:5]}"
    during = rec.results(1, after=rec.t_start, before=rec.t_end)
    assert len(during) >= 10, "the reader did not query during the run"
    assert len(rec.results(1, after=rec.t_end)) >= 3, "the reader did not query the old connection after the publish"
    assert {tuple(e["value"]) for e in rec.results(1)} == {tuple(rec.old)}, "the connected reader saw other numbers"
    new = _funnel_numbers(wh.published)
    assert new != rec.old, "the new files did not change channel_funnel: the test would prove nothing"
    assert {tuple(e["value"]) for e in rec.results(2)} == {tuple(new)}, "after reconnecting: not the new numbers"
    print(f"reader: {len(rec.results(1))} queries on the old connection ({len(during)} during the run), "
          f"{len(rec.results(2))} after reconnecting; old {rec.old} -> new {new}; run took {rec.run_seconds:.1f}s")


def test_publish_removes_stale_temp_files_of_killed_runs(tmp_path):
    """A publish killed before its rename leaves `.<name>.<run_id>.tmp` (and `.tmp.wal`); the
    next publish removes them, and nothing else."""
    from assets.publish.publish import publish

    published = tmp_path / "funnel.duckdb"
    stale = [tmp_path / ".funnel.duckdb.0b5d7c52-dead-run.tmp", tmp_path / ".funnel.duckdb.0b5d7c52-dead-run.tmp.wal",
             tmp_path / ".funnel.duckdb.another-killed-run.tmp"]
    keep = [tmp_path / ".other.duckdb.0b5d7c52-dead-run.tmp", tmp_path / "funnel.duckdb.bak",
            tmp_path / ".funnel.duckdb.x.other-warehouse-run.tmp", tmp_path / "funnel.work.duckdb.wal"]
    for p in stale + keep:
        p.write_bytes(b"garbage")
    with duckdb.connect() as con:
        con.execute("CREATE SCHEMA marts; CREATE SCHEMA ops; CREATE TABLE marts.t AS SELECT 1 AS x")
        counts = publish(con, published, "new-run").counts
    assert counts == {"marts.t": 1}
    assert [p.name for p in stale if p.exists()] == []
    assert [p.name for p in keep if not p.exists()] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([published.name] + [p.name for p in keep])


def test_an_unfinished_working_database_is_discarded_but_a_damaged_one_is_kept(tmp_path):
    from assets.core.resource import discard_unfinished_database

    unfinished = tmp_path / "a.work.duckdb"
    unfinished.write_bytes(bytes(4096))  # killed while the header was written
    Path(f"{unfinished}.wal").write_bytes(b"x")
    damaged = tmp_path / "b.work.duckdb"
    damaged.write_bytes(bytes(64 * 1024))  # not a database, and larger than a header: real data may be at stake
    good = tmp_path / "c.work.duckdb"
    duckdb.connect(str(good)).close()
    size = good.stat().st_size

    for path in (unfinished, damaged, good):
        discard_unfinished_database(path)

    assert not unfinished.exists() and not Path(f"{unfinished}.wal").exists()
    assert damaged.exists() and good.exists() and good.stat().st_size == size
