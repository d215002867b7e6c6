"""Baselines of `funnel bench` (issue 7): the same core marts computed from the same inbox
files without the pipeline, to measure it against and to check its numbers.

- `floor.sql` (run by `floor.py`): one bare DuckDB SQL script, straight from the CSVs,
  no validation, no Dagster: the least work that gives these numbers.
- `pandas_baseline.py`: what an analyst would write in pandas.

Both read only what the sample generator writes (the native profile, daily GA4 rows,
full or partial lead/deal snapshots), and both take the value mappings of the
configuration as input tables built by our own code (`lookups.py`): channel rules
(channels.yaml, GA4's default channel grouping), deal outcomes and lifecycle ranks
(stages.yaml). Matching those rules is Unicode-aware Python, not something either
baseline should re-implement.
"""
