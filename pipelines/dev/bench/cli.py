"""`funnel bench`: time the pipeline against two baselines on generated exports (issue 7).

    funnel bench [--workload large|small | --scale X] [--ga4-rows N] [--leads N] [--deals N] [--spend-rows N]
                 [--out data/bench] [--repeat 3] [--no-pandas]
    funnel bench --profile FILE [--source leads]     (cProfile of loading one file)

1. Generates the workload's exports (pipelines/dev/generate/cli.py: WORKLOADS).
2. Full run: `funnel run` in a fresh process on an empty warehouse; wall time from
   process start to published file, the process's peak RSS (its VmHWM, polled), and the time and
   rows per second of each stage, read back from the run's Dagster event log (the
   ingest assets record their read / parse / validate / load seconds as metadata).
3. Baselines on the same files, each in its own process: the floor (one bare DuckDB
   SQL script, pipelines/dev/baselines/floor.sql) and an analyst's pandas script. Both
   take the value mappings as lookup CSVs built from the configuration by our own
   code first (timed on its own line). Their marts must equal the published ones
   (counts and money exactly): a mismatch ends the benchmark with exit status 1,
   naming table, row and column.
4. Nightly run: one more day of exports is dropped into the inbox (a GA4 day, a day
   of new and changed leads and deals, a day of ad spend) and `funnel run` runs again
   on the same warehouse. The floor recomputes everything from the files and must
   match again.
5. A last run with no new file at all: what a run costs whatever the data (process
   start, Dagster, the checks and the publish). Beside it, Dagster's own floor
   (pipelines/dev/baselines/dagster_floor.py): the job's assets, checks and steps, each step
   doing nothing, on a copy of the same Dagster storage.

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
import shutil
import sys
import time
from pathlib import Path

import duckdb

from assets.core import settings
from pipelines.dev.bench.nightly import add_next_day
from pipelines.dev.bench.profiling import profile_ingest
from pipelines.dev.bench.report import report_text
from pipelines.dev.bench.runs import (Measured, Run, dagster_floor_run, measure, median, new_state, pipeline_run,
                                      stage_figures)

END_MONTH = "2026-09"


def _parser() -> argparse.ArgumentParser:
    from pipelines.dev.generate import add_size_arguments

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
    return parser


def main(argv: list[str] | None = None) -> int:
    from pipelines.dev.generate import generate_sample_exports, size_arguments

    args = _parser().parse_args(argv)
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
    inbox, lookups = out / "inbox", out / "lookups"
    (out / "logs").mkdir(parents=True)
    print(f"generating {workload} into {inbox}", flush=True)
    t = time.perf_counter()
    # the workload has no touch or video exports (optional sources): none are generated
    generate_sample_exports(inbox, months=args.months, seed=7, end_month=END_MONTH, touchpoints=False,
                            video=False, **sizes)
    gen_s = time.perf_counter() - t
    size_mb = sum(p.stat().st_size for p in inbox.rglob("*") if p.is_file()) / 2**20

    from pipelines.dev.baselines.lookups import write_lookups

    config_dir = Path(settings.config_dir()).resolve()
    print("lookups for the baselines", flush=True)
    t = time.perf_counter()
    write_lookups(inbox, config_dir, lookups)
    lookup_s = time.perf_counter() - t

    fulls, floors = [], []
    for i in range(args.repeat):
        print(f"full run of the pipeline ({i + 1}/{args.repeat})", flush=True)
        fulls.append(pipeline_run(inbox, new_state(out / f"full_{i + 1}"), "full_run"))
        print(f"floor (bare DuckDB) ({i + 1}/{args.repeat})", flush=True)
        floors.append(_floor_run(out, f"floor_{i + 1}.log", fulls[-1].warehouse))
    full = fulls[median([r.measured.wall for r in fulls])]
    rows, quarantined, distinct = _input_counts(full.warehouse, inbox)
    pandas = None if args.no_pandas else _pandas_run(out, full.warehouse)

    added = add_next_day(inbox)
    nights, night = _runs_from(out, args.repeat, full, "nightly", "nightly run: one more day of exports")
    write_lookups(inbox, config_dir, lookups)
    floor2 = _floor_run(out, "floor_nightly.log", night.warehouse)
    idles, idle = _runs_from(out, args.repeat, night, "idle", "run without new files, the fixed cost of a run")
    dagster_floors = [dagster_floor_run(state, "dagster_floor")
                      for state in _states_from(out, args.repeat, night, "dagster_floor", "floor: Dagster alone")]

    stages = [(label, *stage_figures(r.home, r.run_id, r.measured.wall))
              for label, r in (("full", full), ("nightly", night), ("no new files", idle))]
    runs = {"pipeline, full run": [r.measured for r in fulls], "floor: bare DuckDB SQL": floors,
            "pandas script": [pandas] if pandas else [], "pipeline, nightly (+1 day)": [r.measured for r in nights],
            "floor on the nightly inbox": [floor2], "pipeline, nightly without new files": [r.measured for r in idles],
            "floor: Dagster alone, the job's steps doing nothing": dagster_floors}
    report = report_text(
        workload=workload, months=args.months, end_month=END_MONTH, size_mb=size_mb, gen_s=gen_s, rows=rows,
        distinct=distinct, quarantined=quarantined, added=added, lookup_s=lookup_s, runs=runs, stages=stages)
    print("\n" + report)
    (out / "report.md").write_text(report + "\n")
    (out / "figures.json").write_text(json.dumps(
        {"runs": {k: [m.__dict__ for m in v] for k, v in runs.items()},
         "stages": {label: [st, rws] for label, st, rws in stages}, "lookups_s": lookup_s}, indent=1))
    return 0


def _floor_run(out: Path, log: str, warehouse: Path) -> Measured:
    """The floor on the work folder's inbox and lookups, its marts checked against `warehouse`'s."""
    from pipelines.dev.baselines.compare import floor_marts

    floor_out = out / "floor.duckdb"
    measured = measure([sys.executable, "-m", "pipelines.dev.baselines.floor", "--inbox", str(out / "inbox"),
                        "--lookups", str(out / "lookups"), "--out", str(floor_out)], out / "logs" / log)
    _check(warehouse, floor_marts(floor_out), "floor")
    return measured


def _pandas_run(out: Path, warehouse: Path) -> Measured:
    """The pandas baseline on the work folder's inbox and lookups, its marts checked against `warehouse`'s."""
    from pipelines.dev.baselines.compare import pandas_marts

    print("pandas baseline", flush=True)
    pandas_out = out / "pandas.pickle"
    measured = measure([sys.executable, "-m", "pipelines.dev.baselines.pandas_baseline", "--inbox", str(out / "inbox"),
                        "--lookups", str(out / "lookups"), "--out", str(pandas_out)], out / "logs" / "pandas.log")
    _check(warehouse, pandas_marts(pandas_out), "pandas")
    return measured


def _states_from(out: Path, repeat: int, start: Run, name: str, label: str):
    """`repeat` copies of `start`'s warehouse folder, one for each run of `label`, made as each is needed."""
    for i in range(repeat):
        print(f"{label} ({i + 1}/{repeat})", flush=True)
        yield new_state(out / f"{name}_{i + 1}", start.state)


def _runs_from(out: Path, repeat: int, start: Run, name: str, label: str) -> tuple[list[Run], Run]:
    """`repeat` runs on the work folder's inbox, each on a copy of `start`'s warehouse; and the median of them."""
    runs = [pipeline_run(out / "inbox", state, f"{name}_run")
            for state in _states_from(out, repeat, start, name, label)]
    return runs, runs[median([r.measured.wall for r in runs])]


def _input_counts(warehouse: Path, inbox: Path) -> tuple[dict[str, int], int | None, dict[str, int]]:
    """Rows read per source and rows quarantined (from the run's load log), and distinct leads and deals
    (from the files)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = dict(con.execute("SELECT source, sum(rows_read) FROM ops.load_log GROUP BY ALL").fetchall())
        quarantined = con.execute("SELECT sum(rows_quarantined) FROM ops.load_log").fetchone()[0]
    distinct = {}
    with duckdb.connect() as con:
        for source, key in (("leads", "lead_id"), ("deals", "deal_id")):
            distinct[source] = con.execute(f"SELECT count(DISTINCT {key}) FROM read_csv($f, all_varchar = true)",
                                           {"f": str(inbox / source / "*.csv")}).fetchone()[0]
    return rows, quarantined, distinct


def _check(warehouse: Path, marts: dict, label: str) -> None:
    from pipelines.dev.baselines.compare import compare_marts

    problems = compare_marts(warehouse, marts, label)
    if problems:
        shown = "\n".join(problems[:40]) + (f"\n... and {len(problems) - 40} more" if len(problems) > 40 else "")
        raise SystemExit(f"MISMATCH: the {label}'s marts differ from the published ones:\n{shown}")
    print(f"  {label}: every compared mart equals the published one", flush=True)
