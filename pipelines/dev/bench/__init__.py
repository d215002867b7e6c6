"""`funnel bench`: time the pipeline against two baselines on generated exports (issue 7).

- `cli.py`: the command (`funnel bench`, `python -m pipelines.dev.bench`) and what it measures, in order.
- `runs.py`: a command in its own process, timed, with its peak RSS; `funnel run` on a warehouse
  folder; seconds and rows per stage from a run's Dagster event log.
- `nightly.py`: the exports of one more day, for the nightly run.
- `report.py`: the figures as the text of docs/BENCHMARKS.md.
- `profiling.py`: `--profile`, cProfile of loading one export file.
"""

from pipelines.dev.bench.cli import main
from pipelines.dev.bench.nightly import add_next_day
from pipelines.dev.bench.profiling import profile_ingest
from pipelines.dev.bench.runs import Measured, Run, median, stage_figures

__all__ = ["Measured", "Run", "add_next_day", "main", "median", "profile_ingest", "stage_figures"]
