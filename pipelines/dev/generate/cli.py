"""Command line of the generator (python -m pipelines.dev.generate) and the size options
that `funnel generate` and `funnel bench` share."""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

# Named workloads of `make bench` (docs/BENCHMARKS.md). Counts are exact; leads and
# deals are distinct records over all snapshot files (about 2.4 and 2 rows each).
WORKLOADS: dict[str, dict] = {
    "small": {"scale": 10.0},
    "large": {"scale": 103.0, "ga4_rows": 3_000_000, "leads": 1_000_000, "deals": 150_000, "spend_rows": 20_000},
}


def add_size_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workload", choices=sorted(WORKLOADS), help="a named workload (overrides --scale)")
    parser.add_argument("--ga4-rows", type=int, help="exact number of GA4 rows")
    parser.add_argument("--leads", type=int, help="exact number of distinct leads")
    parser.add_argument("--deals", type=int, help="exact number of distinct deals")
    parser.add_argument("--spend-rows", type=int, help="exact number of spend rows")


def size_arguments(args: argparse.Namespace, scale: float) -> dict:
    """Keyword arguments of generate_sample_exports from a parser with add_size_arguments:
    the named workload, then any count given on its own."""
    sizes = {"scale": scale, **WORKLOADS.get(args.workload or "", {})}
    for name in ("ga4_rows", "leads", "deals", "spend_rows"):
        if getattr(args, name) is not None:
            sizes[name] = getattr(args, name)
    return sizes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write deterministic sample exports (native profile).")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--end-month", default=None, help="YYYY-MM, last month of data (inclusive)")
    parser.add_argument("--end-date", type=date.fromisoformat, default=None,
                        help="YYYY-MM-DD, last day of data (instead of --end-month)")
    parser.add_argument("--scale", type=float, default=1.0)
    add_size_arguments(parser)
    args = parser.parse_args(argv)
    from pipelines.dev.generate.exports import generate_sample_exports  # numpy: only when generating

    written = generate_sample_exports(args.out, args.months, args.seed, args.end_month,
                                      end_date=args.end_date, **size_arguments(args, args.scale))
    for source, paths in written.items():
        print(f"{source}: {len(paths)} files")
        for path in paths:
            print(f"  {path}")
