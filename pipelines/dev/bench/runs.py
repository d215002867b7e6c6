"""Measuring: one command in its own process (wall time, peak RSS, CPU), `funnel run` on a warehouse
folder of its own, and the seconds and rows of each stage of a run, read back from its Dagster event log."""

import os
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from assets.core import settings

STAGE_OF_PREFIX = {"raw": "ingest", "staging": "staging", "ops": "staging", "marts": "marts", "published": "publish",
                   "report": "report"}
INGEST_STAGES = ("hash", "read", "parse", "validate", "load")
# The ingest stages are seconds of the threads that load the sources side by side, added up over the
# sources: together more than the load step's wall time ("ingest step"), which the run's total counts.
# Likewise staging and marts: seconds of the threads of the transform step that built them (each table with its
# checks), "of which table checks" the part of those seconds spent in the tables' checks (the GX suites and
# the reconciliations), and "transform step" its wall time.
STAGE_ORDER = ("hash", "read", "parse", "validate", "load", "ingest step", "staging", "marts",
               "of which table checks", "transform step",
               "checks", "publish", "report", "outside steps")
STAGE_ROWS = {"read": "input", "parse": "input", "validate": "input", "load": "input", "ingest step": "input",
              "staging": "raw", "marts": "staging", "transform step": "raw", "checks": "marts",
              "publish": "published"}


@dataclass
class Measured:
    wall: float  # seconds, process start to exit
    rss: float  # peak resident MiB of the process
    cpu: float  # user + system seconds of the process (threads included)
    load: tuple[float, float]  # 1-minute load average of the machine at start and at end


def measure(args: list[str], log: Path, env: dict | None = None) -> Measured:
    """One command in its own process; its output goes to `log`. Dirty pages are written out first:
    a run does not pay for the writes of the one before."""
    os.sync()
    load = os.getloadavg()[0]
    start = time.perf_counter()
    peak_kib = 0
    with log.open("w") as out:
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=settings.PROJECT_ROOT)
        while True:  # CPU time from wait4; the peak from the child's own memory's high-water mark
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak_kib = max(peak_kib, _high_water_kib(proc.pid))
            time.sleep(0.05)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(log.read_text())
        raise SystemExit(f"benchmark step failed: {' '.join(args)} (output above and in {log})")
    return Measured(wall, peak_kib / 1024, usage.ru_utime + usage.ru_stime, (load, os.getloadavg()[0]))


def _high_water_kib(pid: int) -> int:
    """VmHWM of a running process: the peak RSS of its own memory. (wait4's ru_maxrss is not
    that: Linux carries the RSS of the forking parent over exec, so every child of a large
    bench process reported the parent's 2 GiB.)"""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmHWM:")), 0)
    except OSError:  # exited between wait4 and the read
        return 0


def _paths(state: Path) -> tuple[Path, Path]:
    """The Dagster home and the published file of a benchmark's warehouse folder."""
    return state / "dagster", state / "warehouse" / "funnel.duckdb"


@dataclass
class Run:
    """A `funnel run` measured, with the warehouse folder it ran on."""

    measured: Measured
    run_id: str
    state: Path

    @property
    def home(self) -> Path:
        return _paths(self.state)[0]

    @property
    def warehouse(self) -> Path:
        return _paths(self.state)[1]


def new_state(state: Path, start_from: Path | None = None) -> Path:
    """A warehouse folder and Dagster home: empty (with the instance settings `funnel run` and the UI
    use), or a copy of `start_from` with its files' times (the publish recognises its own file by them)."""
    shutil.rmtree(state, ignore_errors=True)
    if start_from:
        shutil.copytree(start_from, state)
    else:
        home = _paths(state)[0]
        home.mkdir(parents=True)
        shutil.copy(settings.PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    return state


def _with_home(home: Path) -> dict:
    """The environment of a process that uses the Dagster instance in `home`."""
    return {**os.environ, "DAGSTER_HOME": str(home), "FUNNEL_DAGSTER_STORAGE": str(home)}


def pipeline_run(inbox: Path, state: Path, name: str) -> Run:
    """One `funnel run` in its own process, on the warehouse folder `state`."""
    home, warehouse = _paths(state)
    log = home / f"{name}.log"
    measured = measure([sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(inbox),
                         "--warehouse", str(warehouse)], log, _with_home(home))
    run_id = next(line.split()[1] for line in log.read_text().splitlines()
                  if line.startswith("run ") and "succeeded" in line)
    return Run(measured, run_id, state)


def dagster_floor_run(state: Path, name: str) -> Measured:
    """The Dagster floor (pipelines/dev/baselines/dagster_floor.py) in its own process, in the Dagster home
    of the warehouse folder `state`."""
    home = _paths(state)[0]
    return measure([sys.executable, "-m", "pipelines.dev.baselines.dagster_floor"], home / f"{name}.log",
                   _with_home(home))


def median(walls: list[float]) -> int:
    """Index of the median of `walls`; the lower one of an even count."""
    return sorted(range(len(walls)), key=walls.__getitem__)[(len(walls) - 1) // 2]


def stage_figures(home: Path, run_id: str, wall: float) -> tuple[dict[str, float], dict[str, int]]:
    """Seconds per stage and the rows each stage reads, from the run's event log."""
    import dagster as dg

    os.environ["DAGSTER_HOME"] = os.environ["FUNNEL_DAGSTER_STORAGE"] = str(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        entries = [e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.step_key]
    materialized = defaultdict(list)  # step key -> metadata of its materializations
    checking = set()
    for e in entries:
        ev = e.dagster_event
        if ev.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = ev.event_specific_data.materialization
            materialized[ev.step_key].append({"asset": materialization.asset_key.path[0],
                                              **{k: v.value for k, v in materialization.metadata.items()}})
        elif ev.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            checking.add(ev.step_key)
    seconds: dict[str, float] = defaultdict(float)
    rows: dict[str, int] = defaultdict(int)
    starts, in_steps = {}, 0.0
    for e in entries:
        ev, key = e.dagster_event, e.dagster_event.step_key
        if ev.event_type == dg.DagsterEventType.STEP_START:
            starts[key] = e.timestamp
        elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            took = e.timestamp - starts.pop(key, e.timestamp)
            in_steps += took
            stage = STAGE_OF_PREFIX.get(key.split("__")[0], "other")
            if key in checking and key not in materialized:  # a step that only evaluates checks
                stage = "checks"
            if stage == "ingest":
                for part in INGEST_STAGES:
                    seconds[part] += sum(md.get("seconds", {}).get(part, 0.0) for md in materialized[key])
                seconds["ingest step"] += took
            elif key == "transform":
                for md in materialized[key]:
                    seconds[STAGE_OF_PREFIX[md["asset"]]] += md.get("seconds", 0.0)
                    seconds["of which table checks"] += md.get("check_seconds", 0.0)
                seconds["transform step"] += took
            else:
                seconds[stage] += took
    seconds["outside steps"] = wall - in_steps  # process start-up, Dagster's own work, exit
    for key, metas in materialized.items():
        for md in metas:
            prefix = md["asset"]
            count = md.get("dagster/row_count", 0)
            if prefix == "raw":
                rows["input"] += md.get("rows_loaded", 0) + md.get("rows_quarantined", 0)
                rows["raw"] += count
            elif prefix in ("staging", "ops"):
                rows["staging"] += count
            elif prefix == "marts":
                rows["marts"] += count
            elif prefix == "published":
                rows["published"] += sum(md.get("tables", {}).values())
    return dict(seconds), dict(rows)
