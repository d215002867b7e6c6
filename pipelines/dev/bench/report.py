"""The benchmark's figures as text: the machine and input, a table of the runs, one of the stages,
and whether each target holds (the text of docs/BENCHMARKS.md)."""

import os
import platform

import duckdb
import pandas as pd

from pipelines.dev.bench.runs import STAGE_ORDER, STAGE_ROWS, Measured, median

# issue 25's targets: a full run within 1.5x the floor, under 1 GiB, a run without new files in 3 s and a
# nightly run at most 2 s more than that (its cost follows the new data, not the history)
TARGET_FLOOR_RATIO, TARGET_RSS_MIB, TARGET_IDLE_S, TARGET_NIGHTLY_EXTRA_S = 1.5, 1024, 3.0, 2.0


def report_text(*, workload, months, end_month, size_mb, gen_s, rows, distinct, quarantined, added, lookup_s,
                runs: dict[str, list[Measured]], stages) -> str:
    """The report: `runs` are every measurement of each run (the floor's among them), `stages` the
    (label, seconds, rows) of each median pipeline run."""
    lines = [
        f"machine: {platform.machine()}, {os.cpu_count()} cores, {_memory_gib():.0f} GiB, {platform.system()} "
        f"{platform.release()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
        f"pandas {pd.__version__}",
        f"input: {workload}, {months} months to {end_month}, {size_mb:,.0f} MiB of CSV, generated in {gen_s:.0f} s; "
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
    idle = medians["pipeline, nightly without new files"]
    dagster = medians.get("floor: Dagster alone, the job's steps doing nothing")
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
              "transform step, added up over its tables (with their checks; of which table checks: the checks alone); "
              "transform step: its wall time. The "
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
        f"target: a run without new files within {TARGET_IDLE_S:g} s: {idle.wall:.1f} s, "
        f"{verdict(idle.wall <= TARGET_IDLE_S)}"
        + (f" (Dagster alone, the same job's steps doing nothing: {dagster.wall:.1f} s)" if dagster else ""),
        f"target: nightly at most {TARGET_NIGHTLY_EXTRA_S:g} s more than a run without new files: "
        f"{night.wall - idle.wall:+.1f} s, {verdict(night.wall <= idle.wall + TARGET_NIGHTLY_EXTRA_S)}",
    ]
    return "\n".join(lines)


def _memory_gib() -> float:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        return 0.0
