"""Run the floor (`floor.sql`) with bare DuckDB: no Dagster, no pipeline code.

    python -m pipelines.dev.baselines.floor --inbox DIR --lookups DIR --out FILE.duckdb

The marts land as tables of the output file (it is replaced).
"""

import argparse
from pathlib import Path

import duckdb

SCRIPT = Path(__file__).with_name("floor.sql")


def run_floor(inbox: Path, lookups: Path, out: Path) -> None:
    out.unlink(missing_ok=True)
    with duckdb.connect(str(out)) as con:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET VARIABLE inbox = $p", {"p": str(inbox)})
        con.execute("SET VARIABLE lookups = $p", {"p": str(lookups)})
        con.execute(SCRIPT.read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inbox", type=Path, required=True)
    parser.add_argument("--lookups", type=Path, required=True, help="folder of pipelines.dev.baselines.lookups CSVs")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    run_floor(args.inbox.resolve(), args.lookups.resolve(), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
