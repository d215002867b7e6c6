"""`funnel bench`: time the pipeline against two baselines on generated exports (issue 7).

    funnel bench [--workload large|small | --scale X] [--ga4-rows N] [--leads N] [--deals N] [--spend-rows N]
                 [--out data/bench] [--repeat 3] [--no-pandas]
    funnel bench --profile FILE [--source leads]     (cProfile of loading one file)

1. Generates the workload's exports (pipelines/generate.py: WORKLOADS).
2. Full run: `funnel run` in a fresh process on an empty warehouse; wall time from
   process start to published file, the process's peak RSS (its VmHWM, polled), and the time and
   rows per second of each stage, read back from the run's Dagster event log (the
   ingest assets record their read / parse / validate / load seconds as metadata).
3. Baselines on the same files, each in its own process: the floor (one bare DuckDB
   SQL script, pipelines/baselines/floor.sql) and an analyst's pandas script. Both
   take the value mappings as lookup CSVs built from the configuration by our own
   code first (timed on its own line). Their marts must equal the published ones
   (counts and money exactly): a mismatch ends the benchmark with exit status 1,
   naming table, row and column.
4. Nightly run: one more day of exports is dropped into the inbox (a GA4 day, a day
   of new and changed leads and deals, a day of ad spend) and `funnel run` runs again
   on the same warehouse. The floor recomputes everything from the files and must
   match again.
5. A last run with no new file at all: what a run costs whatever the data (process
   start, Dagster, the checks and the publish).

The full run and the floor are timed `--repeat` times, one after the other (full, floor, full,
floor, ...), each full run on an empty warehouse; the nightly run and the run without new files
as often, each from a copy of the same warehouse (its files' times kept). The figures are those
of the median run (by wall time), every wall time is listed, and peak RSS is the largest seen:
on this 2-core VM the same floor took 16.5 s and 23.5 s within one benchmark, and a full run
25% more than the one before it, so a single pair could not tell a target met from missed.

No test asserts any of these numbers; they go into docs/BENCHMARKS.md.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from assets.core import settings

STAGE_OF_PREFIX = {"raw": "ingest", "staging": "staging", "ops": "staging", "marts": "marts", "published": "publish",
                   "report": "report"}
INGEST_STAGES = ("hash", "read", "parse", "validate", "load")
# The ingest stages are seconds of the threads that load the sources side by side, added up over the
# sources: together more than the load step's wall time ("ingest step"), which the run's total counts.
# Likewise staging and marts: seconds of the threads of the transform step that built them (each table with its
# checks), and "transform step" its wall time.
STAGE_ORDER = ("hash", "read", "parse", "validate", "load", "ingest step", "staging", "marts", "transform step",
               "checks", "publish", "report", "outside steps")
STAGE_ROWS = {"read": "input", "parse": "input", "validate": "input", "load": "input", "ingest step": "input",
              "staging": "raw", "marts": "staging", "transform step": "raw", "checks": "marts",
              "publish": "published"}
TARGET_FLOOR_RATIO, TARGET_RSS_MIB, TARGET_NIGHTLY_SHARE = 2.0, 2048, 0.15
END_MONTH = "2026-09"
JST = 9  # hours: file times of the generated exports are 06:00 Asia/Tokyo


@dataclass
class Measured:
    wall: float  # seconds, process start to exit
    rss: float  # peak resident MiB of the process
    cpu: float  # user + system seconds of the process (threads included)
    load: tuple[float, float]  # 1-minute load average of the machine at start and at end


def _measure(args: list[str], log: Path, env: dict | None = None) -> Measured:
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


def _new_state(state: Path, start_from: Path | None = None) -> Path:
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


def _pipeline_run(inbox: Path, state: Path, name: str) -> Run:
    """One `funnel run` in its own process, on the warehouse folder `state`."""
    home, warehouse = _paths(state)
    env = {**os.environ, "DAGSTER_HOME": str(home), "FUNNEL_DAGSTER_STORAGE": str(home)}
    log = home / f"{name}.log"
    measured = _measure([sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(inbox),
                         "--warehouse", str(warehouse)], log, env)
    run_id = next(line.split()[1] for line in log.read_text().splitlines()
                  if line.startswith("run ") and "succeeded" in line)
    return Run(measured, run_id, state)


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


def add_next_day(inbox: Path) -> dict[str, int]:
    """The exports of one more day, as the nightly run finds them in the inbox: the GA4 rows
    of the day after the newest GA4 day, a lead list of that day's new leads and of leads
    changed that day (leads still at lifecycle `lead` become MQLs), a deal list of the
    day's new and changed deals, and the day's ad spend. Built from the newest day of the
    existing files, shifted by one day. Returns rows written per source."""
    from pipelines.dev.baselines.pandas_baseline import timestamps

    def newest(source: str) -> pd.DataFrame:
        path = max((inbox / source).glob("*.csv"), key=lambda p: (p.stat().st_mtime_ns, p.as_posix()))
        return pd.read_csv(path, dtype=str, keep_default_na=False)

    def ts_text(s: pd.Series) -> pd.Series:
        return s.dt.strftime("%Y-%m-%d %H:%M:%S").fillna("")

    ga4 = newest("ga4_sessions")
    last = max(date.fromisoformat(d) for d in ga4["date"])
    day = last + timedelta(days=1)
    one_day = pd.Timedelta(days=1)
    written = {}

    written["ga4_sessions"] = _write_day(ga4[ga4["date"] == last.isoformat()].assign(date=day.isoformat()),
                                         inbox / "ga4_sessions" / f"ga4_sessions_{day}.csv", day)

    leads = newest("leads")
    created, updated = timestamps(leads["created_at"], "Asia/Tokyo"), timestamps(leads["updated_at"], "Asia/Tokyo")
    new = leads[created.dt.date == last].copy()
    width = len(leads["lead_id"].iloc[0]) - 1
    first = max(int(i[1:]) for i in leads["lead_id"]) + 1
    new["lead_id"] = [f"L{n:0{width}d}" for n in range(first, first + len(new))]
    new["email"] = [f"user{i}@example.com" for i in new["lead_id"]]
    for col in ("created_at", "mql_at", "sql_at", "disqualified_at", "updated_at"):
        new[col] = ts_text(timestamps(new[col], "Asia/Tokyo") + one_day)
    changed = leads[(updated.dt.date == last) & (created.dt.date != last)].copy()
    changed["updated_at"] = ts_text(updated[changed.index] + one_day)
    promote = changed["lifecycle_stage"] == "lead"
    changed.loc[promote, "lifecycle_stage"] = "marketingqualifiedlead"
    changed.loc[promote, "mql_at"] = changed.loc[promote, "updated_at"]
    written["leads"] = _write_day(pd.concat([changed, new]), inbox / "leads" / f"leads_{day}.csv", day)

    deals = newest("deals")
    created, updated = timestamps(deals["created_at"], "Asia/Tokyo"), timestamps(deals["updated_at"], "Asia/Tokyo")
    new = deals[created.dt.date == last].copy()
    first = max(int(i[1:]) for i in deals["deal_id"]) + 1
    width = len(deals["deal_id"].iloc[0]) - 1
    new["deal_id"] = [f"D{n:0{width}d}" for n in range(first, first + len(new))]
    new["created_at"] = ts_text(created[new.index] + one_day)
    new["updated_at"] = new["created_at"]
    new["stage"], new["close_date"] = "Prospecting", ""
    changed = deals[(updated.dt.date == last) & (created.dt.date != last)].copy()
    changed["updated_at"] = ts_text(updated[changed.index] + one_day)
    written["deals"] = _write_day(pd.concat([changed, new]), inbox / "deals" / f"deals_{day}.csv", day)

    spend = pd.concat(pd.read_csv(p, dtype=str, keep_default_na=False) for p in (inbox / "spend").glob("spend_ads_*.csv"))
    written["spend"] = _write_day(spend[spend["date"] == last.isoformat()].assign(date=day.isoformat()),
                                  inbox / "spend" / f"spend_ads_{day}.csv", day)
    return written


def _write_day(df: pd.DataFrame, path: Path, day: date) -> int:
    """The day's rows of one source as its export, with the file time the export job would give it;
    no file on a day without rows (a small workload can have no deal that day)."""
    if df.empty:
        return 0
    df.to_csv(path, index=False, lineterminator="\n")
    stamp = (datetime(day.year, day.month, day.day, 6) - timedelta(hours=JST) - datetime(1970, 1, 1)).total_seconds()
    os.utime(path, (stamp, stamp))
    return len(df)


def _check(warehouse: Path, marts: dict, label: str) -> None:
    from pipelines.dev.baselines.compare import compare_marts

    problems = compare_marts(warehouse, marts, label)
    if problems:
        shown = "\n".join(problems[:40]) + (f"\n... and {len(problems) - 40} more" if len(problems) > 40 else "")
        raise SystemExit(f"MISMATCH: the {label}'s marts differ from the published ones:\n{shown}")
    print(f"  {label}: every compared mart equals the published one", flush=True)


def main(argv: list[str] | None = None) -> int:
    from pipelines.dev.generate import add_size_arguments, generate_sample_exports, size_arguments

    parser = argparse.ArgumentParser(prog="funnel bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, help="instead of a named workload: the sample at this scale")
    add_size_arguments(parser)  # --workload (default large unless --scale), --ga4-rows, --leads, --deals, ...
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--out", default="data/bench", help="work folder, emptied first (default data/bench)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="times each pipeline run and the floor are timed; the median is reported (default 3)")
    parser.add_argument("--no-pandas", action="store_true", help="skip the pandas baseline")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="instead: profile loading this one export file (of --source) and stop")
    parser.add_argument("--source", default="leads", help="source of --profile FILE (default leads)")
    args = parser.parse_args(argv)
    if args.profile:
        print(profile_ingest(args.profile.resolve(), args.source))
        return 0
    if args.scale is None and args.workload is None:
        args.workload = "large"
    sizes = size_arguments(args, args.scale or 1.0)
    workload = (f"workload {args.workload}: " if args.workload else "") + ", ".join(
        f"{k} {v:,}" for k, v in sizes.items())

    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    inbox, lookups, logs = out / "inbox", out / "lookups", out / "logs"
    logs.mkdir(parents=True)
    print(f"generating {workload} into {inbox}", flush=True)
    t = time.perf_counter()
    # the workload has no touch exports (an optional source): none are generated
    generate_sample_exports(inbox, months=args.months, seed=7, end_month=END_MONTH, touchpoints=False, **sizes)
    gen_s = time.perf_counter() - t
    size_mb = sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) / 2**20

    from pipelines.dev.baselines.compare import floor_marts, pandas_marts
    from pipelines.dev.baselines.lookups import write_lookups

    config_dir = Path(settings.config_dir()).resolve()
    print("lookups for the baselines", flush=True)
    t = time.perf_counter()
    write_lookups(inbox, config_dir, lookups)
    lookup_s = time.perf_counter() - t
    floor_out = out / "floor.duckdb"

    def floor_run(log: str, warehouse: Path) -> Measured:
        measured = _measure([sys.executable, "-m", "pipelines.dev.baselines.floor", "--inbox", str(inbox),
                             "--lookups", str(lookups), "--out", str(floor_out)], logs / log)
        _check(warehouse, floor_marts(floor_out), "floor")
        return measured

    fulls, floors = [], []
    for i in range(args.repeat):
        print(f"full run of the pipeline ({i + 1}/{args.repeat})", flush=True)
        fulls.append(_pipeline_run(inbox, _new_state(out / f"full_{i + 1}"), "full_run"))
        print(f"floor (bare DuckDB) ({i + 1}/{args.repeat})", flush=True)
        floors.append(floor_run(f"floor_{i + 1}.log", fulls[-1].warehouse))
    full = fulls[median([r.measured.wall for r in fulls])]
    with duckdb.connect(str(full.warehouse), read_only=True) as con:
        rows = dict(con.execute("SELECT source, sum(rows_read) FROM ops.load_log GROUP BY ALL").fetchall())
        quarantined = con.execute("SELECT sum(rows_quarantined) FROM ops.load_log").fetchone()[0]
    distinct = {}
    with duckdb.connect() as con:
        for source, key in (("leads", "lead_id"), ("deals", "deal_id")):
            distinct[source] = con.execute(f"SELECT count(DISTINCT {key}) FROM read_csv($f, all_varchar = true)",
                                           {"f": str(inbox / source / "*.csv")}).fetchone()[0]
    pandas = None
    if not args.no_pandas:
        print("pandas baseline", flush=True)
        pandas_out = out / "pandas.pickle"
        pandas = _measure([sys.executable, "-m", "pipelines.dev.baselines.pandas_baseline", "--inbox", str(inbox),
                           "--lookups", str(lookups), "--out", str(pandas_out)], logs / "pandas.log")
        _check(full.warehouse, pandas_marts(pandas_out), "pandas")

    def runs_from(start: Run, name: str, label: str) -> tuple[list[Run], Run]:
        """`--repeat` runs, each on a copy of `start`'s warehouse; and the median of them."""
        runs = []
        for i in range(args.repeat):
            print(f"{label} ({i + 1}/{args.repeat})", flush=True)
            runs.append(_pipeline_run(inbox, _new_state(out / f"{name}_{i + 1}", start.state), f"{name}_run"))
        return runs, runs[median([r.measured.wall for r in runs])]

    added = add_next_day(inbox)
    nights, night = runs_from(full, "nightly", "nightly run: one more day of exports")
    write_lookups(inbox, config_dir, lookups)
    floor2 = floor_run("floor_nightly.log", night.warehouse)
    idles, idle = runs_from(night, "idle", "run without new files, the fixed cost of a run")

    stages = [(label, *stage_figures(r.home, r.run_id, r.measured.wall))
              for label, r in (("full", full), ("nightly", night), ("no new files", idle))]
    runs = {"pipeline, full run": [r.measured for r in fulls], "floor: bare DuckDB SQL": floors,
            "pandas script": [pandas] if pandas else [], "pipeline, nightly (+1 day)": [r.measured for r in nights],
            "floor on the nightly inbox": [floor2], "pipeline, nightly without new files": [r.measured for r in idles]}
    report = _report(
        workload=workload, months=args.months, size_mb=size_mb, gen_s=gen_s, rows=rows, distinct=distinct,
        quarantined=quarantined, added=added, lookup_s=lookup_s, runs=runs, stages=stages)
    print("\n" + report)
    (out / "report.md").write_text(report + "\n")
    (out / "figures.json").write_text(json.dumps(
        {"runs": {k: [m.__dict__ for m in v] for k, v in runs.items()},
         "stages": {label: [st, rws] for label, st, rws in stages}, "lookups_s": lookup_s}, indent=1))
    return 0


def _report(*, workload, months, size_mb, gen_s, rows, distinct, quarantined, added, lookup_s,
            runs: dict[str, list[Measured]], stages) -> str:
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"pandas {pd.__version__}",
        f"input: {workload}, {months} months to {END_MONTH}, {size_mb:,.0f} MiB of CSV, generated in {gen_s:.0f} s; "
        + ", ".join(f"{k} {v:,} rows" for k, v in sorted(rows.items()))
        + f"; {distinct['leads']:,} distinct leads, {distinct['deals']:,} distinct deals; {quarantined or 0} rows quarantined",
        "nightly adds: " + ", ".join(f"{k} {v:,} rows" for k, v in added.items()),
        f"lookup CSVs for the baselines (raw value -> channel, stage; our own code over the inbox's distinct "
        f"values): {lookup_s:.1f} s, not counted in either baseline",
        "",
        "| run | wall s | CPU s | peak RSS MiB | wall / floor | CPU / floor | every wall s | load avg start, end |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    medians = {name: ms[median([m.wall for m in ms])] for name, ms in runs.items() if ms}
    floor = medians["floor: bare DuckDB SQL"]
    for name, ms in runs.items():
        if not ms:
            lines.append(f"| {name} | not run | | | | | | |")
            continue
        m, peak = medians[name], max(x.rss for x in ms)
        lines.append(f"| {name} | {m.wall:,.1f} | {m.cpu:,.1f} | {peak:,.0f} | {m.wall / floor.wall:.2f} | "
                     f"{m.cpu / floor.cpu:.2f} | {', '.join(f'{x.wall:.1f}' for x in ms)} | "
                     f"{m.load[0]:.1f}, {m.load[1]:.1f} |")
    full, night = medians["pipeline, full run"], medians["pipeline, nightly (+1 day)"]
    full_peak, night_peak = (max(x.rss for x in runs[k]) for k in ("pipeline, full run", "pipeline, nightly (+1 day)"))
    lines += ["", "| stage | " + " | ".join(f"{label} s | {label} rows/s" for label, _, _ in stages) + " |",
              "|---|" + "---:|---:|" * len(stages)]
    for stage in STAGE_ORDER:
        cells = []
        for _, st, rws in stages:
            sec = st.get(stage, 0.0)
            n = rws.get(STAGE_ROWS.get(stage, ""), 0)
            cells += [f"{sec:,.1f}", f"{n / sec:,.0f}" if sec > 0.05 and n else ""]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    lines += ["", "wall s, CPU s, ratios and stages: the median run by wall time (of every wall s); peak RSS: the "
              "largest of them. Stages of the median full, nightly and no-new-files run:",
              "", "hash to load: seconds of the threads that load the sources side by side, added up over the "
              "sources; ingest step: the wall time of that step; staging and marts: seconds of the threads of the "
              "transform step, added up over its tables (with their checks); transform step: its wall time. The "
              "two step times, the stages below them and outside steps add up to the run's wall time",
              "rows per stage (what the stage reads): "
              + "; ".join(f"{run} " + ", ".join(f"{k} {v:,}" for k, v in sorted(rws.items())) for run, _, rws in stages)]
    verdict = lambda ok: "holds" if ok else "DOES NOT HOLD"  # noqa: E731
    lines += [
        "",
        f"target: full run within {TARGET_FLOOR_RATIO:g}x the floor: {full.wall / floor.wall:.2f}x wall "
        f"({full.cpu / floor.cpu:.2f}x CPU), {verdict(full.wall <= TARGET_FLOOR_RATIO * floor.wall)}",
        f"target: peak RSS under {TARGET_RSS_MIB:,} MiB: full {full_peak:,.0f} MiB, nightly {night_peak:,.0f} MiB, "
        f"{verdict(max(full_peak, night_peak) < TARGET_RSS_MIB)}",
        f"target: nightly at most {TARGET_NIGHTLY_SHARE:.0%} of the full run: {night.wall / full.wall:.0%} wall "
        f"({night.cpu / full.cpu:.0%} CPU), {verdict(night.wall <= TARGET_NIGHTLY_SHARE * full.wall)}",
    ]
    return "\n".join(lines)


def profile_ingest(path: Path, source: str, top: int = 25) -> str:
    """cProfile of loading one export file into a fresh working database (the slowest stage),
    the seconds of each ingest stage, and the size of each form the file takes in memory."""
    import cProfile
    import io
    import pstats
    import resource
    import tempfile

    from assets.ingest.csv_tables import detect_encoding, find_tables, read_table
    from assets.ingest.load import (clean_text_columns, derive_keys, ensure_raw_table, load_file, parse_sql,
                               prepare_working_database)
    from schemas import SOURCES
    from schemas.profiles import best_match, load_profiles

    spec, profiles = SOURCES[source], load_profiles(settings.config_dir())
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory() as tmp, duckdb.connect(
            str(Path(tmp) / "work.duckdb"), config={"memory_limit": settings.duckdb_memory_limit()}) as con:
        prepare_working_database(con)  # as the pipeline connects (FunnelResource.connect)
        ensure_raw_table(con, spec)
        profiler = cProfile.Profile()
        profiler.enable()
        outcome = load_file(con, spec, path, path.name, "profile", profiles, "Asia/Tokyo", "profile")
        profiler.disable()
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        duckdb_mib = con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchall()[0][0] / 2**20
        # the same steps again, to weigh each form of the file
        encoding = detect_encoding(path)
        table = find_tables(path, encoding, profiles)[0]
        match = best_match(profiles, spec.name, table.headers, table.date_range is not None, table.prefix)
        incoming = clean_text_columns(derive_keys(spec, read_table(path, encoding, table, match).table))
        con.register("incoming", incoming)
        present = set(incoming.column_names) - {"_source_row"}
        select, params = parse_sql(spec, present, "Asia/Tokyo", match.source.formats)
        con.execute("CREATE OR REPLACE TEMP TABLE parsed AS " + select, params or None)
        per_column = []  # parse seconds of each column on its own (with its __raw copy)
        for col in spec.columns:
            if col.name in present:
                select, params = parse_sql(spec, {col.name}, "Asia/Tokyo", match.source.formats)
                start = time.perf_counter()
                con.execute("CREATE OR REPLACE TEMP TABLE one_column AS " + select, params or None)
                per_column.append(f"{col.name} ({col.kind}) {time.perf_counter() - start:.2f}")
        con.unregister("incoming")
        frame = con.sql("SELECT * FROM parsed").pl()  # the form pandera validates (a chunk at a time)
        sizes = (f"arrow text table {incoming.nbytes / 2**20:,.0f} MiB; parsed DuckDB table {len(frame.columns)} "
                 f"columns; as one polars frame {frame.estimated_size() / 2**20:,.0f} MiB")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
    return (f"{path.name}: {outcome.status}, {outcome.rows:,} rows; seconds "
            + ", ".join(f"{k} {v:.1f}" for k, v in outcome.seconds.items())
            + f"\npeak RSS {rss_before:,.0f} MiB before, {rss_after:,.0f} MiB after loading "
            f"(DuckDB holds {duckdb_mib:,.0f} MiB after it); {sizes}"
            + "\nparse seconds per column: " + ", ".join(per_column) + "\n\n" + out.getvalue())


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0


if __name__ == "__main__":
    raise SystemExit(main())
