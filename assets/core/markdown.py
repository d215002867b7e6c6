"""Markdown tables for the Dagster UI's metadata. The UI renders markdown with its HTML, so a value holding
`<` and a letter (the mask `<e-mail removed>`, pandas' `<NA>`, a header or a value typed into an export)
would be taken for a tag and vanish; `|` or a line break in a value would cut the table."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import duckdb


def text(value: object) -> str:
    """Any text shown as markdown: `<` as the entity, which renders as itself."""
    return str(value).replace("<", "&lt;")


def plain(shown: str) -> str:
    """The text `text()` escaped, back as it was (for an alert or a terminal, which are not markdown)."""
    return shown.replace("&lt;", "<")


def cell(value: object) -> str:
    """One table cell: NULL (None, NaN, NaT) said in words, the value on one line, its `|` escaped."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or _is_missing(value):
        return "NULL"
    return text(value).replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def _is_missing(value: object) -> bool:
    """pandas' NA and NaT, known by their type's name: pandas is not imported for them."""
    kind = type(value).__name__
    return kind in ("NAType", "NaTType")


def table(columns: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> tuple[list[str], list[tuple]]:
    """(column names, rows) of a query."""
    found = con.execute(sql, params)
    return [d[0] for d in found.description], found.fetchall()


def rows_table(columns: Sequence[str], rows: Sequence[Sequence[object]], empty: str = "none") -> str:
    """`rows` as a table, `empty` when there are none."""
    return table(columns, rows) if rows else empty


def query_table(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None,
                empty: str = "none") -> str:
    """The rows of a query as a table (`empty` when it has none)."""
    return rows_table(*fetch(con, sql, params), empty=empty)
