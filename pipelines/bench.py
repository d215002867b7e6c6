"""`funnel bench`: time a full pipeline run on generated exports of a given scale.

Measures, for one cold run (`funnel run` in a fresh process on an empty
warehouse) and one nightly re-run with no new files: wall time from process
start to published file, peak resident memory of that process, and the time
and throughput of each stage, read back from the run's Dagster event log.
No test asserts any of these numbers; they are printed for docs/BENCHMARKS.md.
"""

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import duckdb

STAGES = {"raw": "read+validate+load", "staging": "staging", "ops": "staging", "marts": "marts",
          "published": "publish", "report": "report"}


def _run(inbox: Path, warehouse: Path, home: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MiB, run id) of one `funnel run` in its own process."""
    env = {**os.environ, "DAGSTER_HOME": str(home), "FUNNEL_DAGSTER_STORAGE": str(home)}
    log = home / "last_run.log"
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "run", "--inbox", str(inbox),
                                 "--warehouse", str(warehouse)], env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS (KiB on Linux)
    wall = time.perf_counter() - start
    text = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.stderr.write(text)
        raise SystemExit("benchmark run failed")
    run_id = next(line.split()[1] for line in text.splitlines() if line.startswith("run ") and "succeeded" in line)
    return wall, usage.ru_maxrss / 1024, run_id


def _stage_seconds(home: Path, run_id: str) -> dict[str, float]:
    import dagster as dg

    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        entries = [e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.step_key]
    # A step that only evaluates checks is a check step (an ingest asset evaluates its own
    # checks too, but it is a load step); the expectation suites are shown on their own.
    materializing = {e.dagster_event.step_key for e in entries
                     if e.dagster_event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION}
    check_steps = {e.dagster_event.step_key for e in entries
                   if e.dagster_event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION} - materializing
    starts, totals = {}, defaultdict(float)
    for entry in entries:
        ev = entry.dagster_event
        if ev.event_type == dg.DagsterEventType.STEP_START:
            starts[ev.step_key] = entry.timestamp
        elif ev.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            stage = STAGES.get(ev.step_key.split("__")[0], "other")
            if ev.step_key in check_steps:
                stage = "GX suites" if ev.step_key.endswith("_expectation_suite") else "checks"
            totals[stage] += entry.timestamp - starts.pop(ev.step_key, entry.timestamp)
    return dict(totals)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funnel bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=10.0, help="sample volume multiplier (default 10)")
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--out", default="data/bench", help="work folder, emptied first (default data/bench)")
    args = parser.parse_args(argv)

    from pipelines.generate import generate_sample_exports

    out = Path(args.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    inbox, home, warehouse = out / "inbox", out / "dagster", out / "warehouse" / "funnel.duckdb"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    t = time.perf_counter()
    generate_sample_exports(inbox, months=args.months, seed=7, end_month="2026-09", scale=args.scale)
    gen_s = time.perf_counter() - t
    size_mb = sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) / 2**20

    cold_wall, cold_rss, cold_run = _run(inbox, warehouse, home)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = dict(con.execute("SELECT source, sum(rows_loaded) FROM ops.load_log GROUP BY ALL").fetchall())
    warm_wall, warm_rss, warm_run = _run(inbox, warehouse, home)
    cold, warm = _stage_seconds(home, cold_run), _stage_seconds(home, warm_run)

    total_rows = sum(rows.values())
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"duckdb {duckdb.__version__}")
    print(f"input: scale {args.scale}, {args.months} months, {size_mb:,.0f} MiB of CSV, generated in {gen_s:.1f}s; "
          + ", ".join(f"{k} {v:,}" for k, v in sorted(rows.items())) + " rows")
    print("\n| run | wall s | peak RSS MiB | " + " | ".join(sorted(cold)) + " |")
    print("|---|---|---|" + "---|" * len(cold))
    for name, wall, rss, st in (("full (cold)", cold_wall, cold_rss, cold), ("nightly, no new files", warm_wall, warm_rss, warm)):
        print(f"| {name} | {wall:.1f} | {rss:,.0f} | " + " | ".join(f"{st.get(k, 0):.1f}" for k in sorted(cold)) + " |")
    load_s = cold.get("read+validate+load", 0)
    print(f"\nread+validate+load: {total_rows / load_s:,.0f} rows/s" if load_s else "")
    print(f"nightly re-run costs {warm_wall / cold_wall:.0%} of the full run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
