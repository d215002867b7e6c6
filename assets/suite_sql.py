"""A mart's expectation suite (assets/expectations.py: MartSuite) evaluated in DuckDB SQL.

The same declarative MartSuite gives the Great Expectations suite and, here, one SQL predicate or
aggregate per expectation, with GX's semantics: map expectations ignore NULLs (except not-NULL
itself), a pair is skipped when either value is missing, compound keys are unique over the rows
where not all of them are missing, sums equal the staged totals. A whole table is checked in one
scan (plus one GROUP BY per uniqueness expectation) without leaving DuckDB: marts.stage_history's
1.2 million rows take a fraction of a second instead of the seconds of a pandas frame.
tests/test_expectations.py holds both evaluators to the same verdicts on the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from assets.expectations import MartSuite, SuiteOutcome, _number

SAMPLE = 3  # unexpected values shown per failed expectation, as GX's partial list


@dataclass(frozen=True)
class Expectation:
    type: str  # GX's name of the expectation
    column: str  # as the metadata table shows it
    expected: str
    unexpected: str | None = None  # map expectations: predicate of an unexpected row
    shown: str | None = None  # what an unexpected row shows
    unique: tuple[tuple[str, ...], str | None] | None = None  # compound uniqueness: columns, row condition
    total: tuple[str, str] | None = None  # column sum: column, suite parameter


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return repr(value)


def sql_expectations(suite: MartSuite) -> list[Expectation]:
    """The suite's expectations, in the order and with the meaning of expectations.expectations()."""
    out = [Expectation("expect_column_values_to_not_be_null", k, "", f"{_q(k)} IS NULL", _q(k)) for k in suite.keys]
    out.append(Expectation("expect_compound_columns_to_be_unique", ", ".join(suite.keys), "",
                           unique=(tuple(suite.keys), None)))
    out += [Expectation("expect_column_values_to_not_be_null", c, "", f"{_q(c)} IS NULL", _q(c))
            for c in suite.counts]
    for c, (lo, hi) in suite.bounds().items():
        outside = ([f"{_q(c)} < {lo!r}"] if lo is not None else []) + ([f"{_q(c)} > {hi!r}"] if hi is not None else [])
        out.append(Expectation("expect_column_values_to_be_between", c, f"[{_number(lo)}, {_number(hi)}]",
                               f"{_q(c)} IS NOT NULL AND ({' OR '.join(outside)})", _q(c)))
    out += [Expectation("expect_column_pair_values_a_to_be_greater_than_b", f"{a} >= {b}", "",
                        f"{_q(a)} IS NOT NULL AND {_q(b)} IS NOT NULL AND NOT {_q(a)} >= {_q(b)}",
                        f"[{_q(a)}, {_q(b)}]") for a, b in suite.ordered]
    out += [Expectation("expect_column_values_to_be_in_set", c, "in " + ", ".join(map(str, values)),
                        f"{_q(c)} IS NOT NULL AND {_q(c)} NOT IN ({', '.join(_literal(v) for v in values)})", _q(c))
            for c, values in suite.in_set.items()]
    out += [Expectation("expect_compound_columns_to_be_unique", f"{', '.join(cols)} (where {flag} == True)", "",
                        unique=(tuple(cols), f"{_q(flag)} = true")) for flag, cols in suite.unique_where_true.items()]
    out += [Expectation("expect_column_sum_to_be_between", c, "", total=(c, suite.parameter(c))) for c in suite.reconcile]
    return out


def mart_relation(suite: MartSuite, table: str | None = None) -> str:
    """The rows the suite checks: the mart, plus `<column>_cents` (exact BIGINT) for its money columns."""
    cents = "".join(f", CAST({_q(c)} * 100 AS BIGINT) AS {_q(c + '_cents')}" for c in suite.money_cents)
    return f"(SELECT *{cents} FROM {table or f'marts.{suite.mart}'})"


def _unique_sql(relation: str, columns: tuple[str, ...], condition: str | None) -> str:
    """Rows whose key combination is repeated; rows with every key missing are left out (GX's default)."""
    where = [f"NOT ({' AND '.join(f'{_q(c)} IS NULL' for c in columns)})"] + ([condition] if condition else [])
    return (f"SELECT coalesce(sum(n), 0) FROM (SELECT count(*) AS n FROM {relation} WHERE {' AND '.join(where)} "
            f"GROUP BY {', '.join(_q(c) for c in columns)} HAVING count(*) > 1)")


def _evaluate_one(con: duckdb.DuckDBPyConnection, relation: str, e: Expectation,
                  parameters: dict[str, int]) -> tuple[bool, Any, int | None]:
    """(success, observed, unexpected count) of one expectation."""
    if e.unexpected is not None:
        n = con.execute(f"SELECT count(*) FROM {relation} WHERE {e.unexpected}").fetchone()[0]
        return n == 0, None, n
    if e.unique is not None:
        n = con.execute(_unique_sql(relation, *e.unique)).fetchone()[0]
        return n == 0, None, int(n)
    column, parameter = e.total
    observed = con.execute(f"SELECT coalesce(sum({_q(column)}), 0) FROM {relation}").fetchone()[0]
    return observed == parameters[parameter], observed, None


def _sample(con: duckdb.DuckDBPyConnection, relation: str, e: Expectation) -> list:
    if e.unexpected is not None:
        rows = con.execute(f"SELECT {e.shown} FROM {relation} WHERE {e.unexpected} LIMIT {SAMPLE}").fetchall()
        return [r[0] for r in rows]
    columns, condition = e.unique
    where = f"WHERE {condition}" if condition else ""
    keys = ", ".join(_q(c) for c in columns)
    rows = con.execute(f"SELECT {keys} FROM {relation} {where} GROUP BY ALL HAVING count(*) > 1 LIMIT {SAMPLE}"
                       ).fetchall()
    return [dict(zip(columns, r)) for r in rows]


def evaluate(con: duckdb.DuckDBPyConnection, suite: MartSuite, parameters: dict[str, int],
             table: str | None = None) -> SuiteOutcome:
    """Every expectation of the suite over the mart (or `table`), in SQL: a SuiteOutcome as GX gives one."""
    relation = mart_relation(suite, table)
    expectations = sql_expectations(suite)
    maps = [e for e in expectations if e.unexpected is not None]
    results: dict[int, tuple[bool, Any, int | None]] = {}
    try:  # one scan for every map expectation
        counts = con.execute("SELECT count(*), " + ", ".join(f"count(*) FILTER (WHERE {e.unexpected})" for e in maps)
                             + f" FROM {relation}").fetchone()
        rows = counts[0]
        for e, n in zip(maps, counts[1:]):
            results[id(e)] = (n == 0, None, n)
    except duckdb.Error:  # a missing column: each expectation on its own says which
        rows = None
    failed = []
    for e in expectations:
        exception = None
        if id(e) not in results:
            try:
                results[id(e)] = _evaluate_one(con, relation, e, parameters)
            except duckdb.Error as exc:
                exception = str(exc).splitlines()[0]
                results[id(e)] = (False, None, None)
        success, observed, unexpected_count = results[id(e)]
        if success:
            continue
        if exception:
            shown = f"exception: {exception}"
        elif e.total is not None:
            shown = observed if not hasattr(observed, "is_integer") else int(observed)
        else:
            shown = _sample(con, relation, e)
        expected = f"= {parameters[e.total[1]]}" if e.total is not None else e.expected
        failed.append({"expectation": e.type, "column": e.column, "expected": expected, "observed": shown,
                       "unexpected_count": unexpected_count})
    if rows is None:
        try:
            rows = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]
        except duckdb.Error:
            rows = 0
    return SuiteOutcome(mart=suite.mart, success=not failed, evaluated=len(expectations),
                        successful=len(expectations) - len(failed), unsuccessful=len(failed), failed=failed,
                        docs_url=None, index_url=None, rows=rows)
