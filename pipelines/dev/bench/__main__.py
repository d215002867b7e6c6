"""`python -m pipelines.dev.bench`: the same as `funnel bench`."""

from pipelines.dev.bench.cli import main

raise SystemExit(main())
