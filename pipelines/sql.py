"""`funnel sql`: the published DuckDB file, read-only, from the terminal. With a query, runs it and prints
the result as a table; without one, reads statements from the terminal (each ends with `;`) until an empty
line, end of input or `.quit`. Nothing needs installing beyond the project: DuckDB is its own library."""

import sys
from pathlib import Path

import duckdb

MAX_ROWS = 200  # printed; the rest are counted


def show(con: duckdb.DuckDBPyConnection, sql: str, out=None) -> None:
    """Run `sql` and print its rows as an aligned table (at most MAX_ROWS; the count of the rest)."""
    out = out or sys.stdout
    cursor = con.execute(sql)
    if cursor.description is None:
        return
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchmany(MAX_ROWS + 1)
    print_table(names, rows[:MAX_ROWS], out)
    more = len(rows) - MAX_ROWS
    if more > 0:
        more += len(cursor.fetchall())
        print(f"... and {more:,} more rows (add LIMIT or a WHERE)", file=out)
    print(f"({min(len(rows), MAX_ROWS):,} rows shown)", file=out)


def print_table(names: list[str], rows: list[tuple], out=None, null: str = "NULL") -> None:
    """`rows` under their column names, aligned: numbers to the right."""
    out = out or sys.stdout
    cells = [[null if v is None else str(v) for v in row] for row in rows]
    widths = [max([len(n)] + [len(r[i]) for r in cells]) for i, n in enumerate(names)]
    print("  ".join(n.ljust(w) for n, w in zip(names, widths)), file=out)
    print("  ".join("-" * w for w in widths), file=out)
    for r in cells:
        print("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths)), file=out)


def _numeric(text: str) -> bool:
    return text.replace(".", "", 1).replace("-", "", 1).isdigit()


def run(warehouse: Path, query: str | None, stdin=None, out=None) -> int:
    # the streams as they are when called (a module imported earlier, e.g. by `funnel run`, keeps none)
    stdin, out = stdin or sys.stdin, out or sys.stdout
    if not warehouse.is_file():
        print(f"no published file at {warehouse}: run `make run` (or `funnel run`) first", file=sys.stderr)
        return 1
    with duckdb.connect(str(warehouse), read_only=True) as con:
        if query is not None:
            try:
                show(con, query, out)
            except duckdb.Error as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 1
            return 0
        print(f"{warehouse} (read-only). End each statement with ;  Empty line or .quit to leave.", file=out)
        buffer = ""
        for line in stdin:
            if line.strip() in ("", ".quit", ".exit") and not buffer:
                break
            buffer += line
            if buffer.rstrip().endswith(";"):
                try:
                    show(con, buffer, out)
                except duckdb.Error as exc:
                    print(f"error: {exc}", file=out)
                buffer = ""
    return 0
