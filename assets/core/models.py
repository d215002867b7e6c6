"""The SQL folder is the build: every file of assets/sql/staging/ and assets/sql/marts/ is a table of the
transform step, named by its file, reading the tables DuckDB's parser finds in it, described by its
`COMMENT ON TABLE`. A file that opens with a block comment `/* incremental: ... */` (YAML: the keys new
loads touch, the scope views its SQL reads, the tables it fills) is kept up to date with the loads that
arrived since its last build (assets/transform/incremental.py)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dagster as dg
import duckdb
import yaml

from assets.core.database import SQL_DIR

MODEL_FOLDERS = ("staging", "marts")
_QUALIFIED = r"(?:raw|staging|marts|ops)\.[a-z_][a-z0-9_]*"
_CREATED = re.compile(rf"\bCREATE\s+(?:OR\s+REPLACE\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?({_QUALIFIED})\b", re.I)
_DROPPED = re.compile(rf"\bDROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?({_QUALIFIED})\b", re.I)
_COMMENT_ON_TABLE = re.compile(rf"COMMENT\s+ON\s+TABLE\s+({_QUALIFIED})\s+IS\s+'((?:[^']|'')*)'", re.I)
_HEADER = re.compile(r"\A\s*/\*\s*(incremental:.*?)\*/", re.S)


@dataclass(frozen=True)
class Scope:
    view: str  # the temp view the model's SQL reads
    relation: str  # what the view is in a full build
    touched: str  # predicate over the relation's rows: the part an incremental build reads
    # An incremental build copies the touched part into a temp table under the view, for SQL that reads
    # its scope several times: the predicate is then evaluated over the whole relation once.
    copy_touched: bool = False


@dataclass(frozen=True)
class Output:
    table: str  # schema.table
    rows: str  # temp view of the model's SQL holding the table's rows
    stale: str  # predicate over the table's rows: those an incremental build replaces


@dataclass(frozen=True)
class Incremental:
    keys: tuple[tuple[str, str], ...]  # (temp table, SELECT of the keys touched by the loads after $since)
    scopes: tuple[Scope, ...]
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class SqlModel:
    file: str  # under assets/sql/
    table: str  # schema.table the file is named for
    creates: tuple[str, ...]  # the tables it leaves, its own first
    reads: tuple[str, ...]  # the tables of the working database it reads and does not create
    description: str  # its COMMENT ON TABLE
    incremental: Incremental | None = None

    @property
    def key(self) -> dg.AssetKey:
        return dg.AssetKey(self.table.split("."))

    @property
    def sql(self) -> str:
        return (SQL_DIR / self.file).read_text(encoding="utf-8")


def tables_read(con: duckdb.DuckDBPyConnection, sql: str) -> set[str]:
    """schema.table of every table the statements of `sql` read, from DuckDB's parse tree
    (json_serialize_sql takes a query: a CREATE ... AS gives its query)."""
    found: set[str] = set()
    for statement in con.extract_statements(sql):
        if statement.type.name not in ("CREATE", "SELECT", "INSERT"):
            continue
        query = statement.query
        if statement.type.name == "CREATE":
            match = re.match(r"\s*CREATE\b.*?\bAS\b(.*)", query, re.S | re.I)
            if not match:
                continue
            query = match[1]
        elif statement.type.name == "INSERT":
            match = re.search(r"\b(SELECT|WITH|FROM)\b.*", query, re.S | re.I)
            query = match[0] if match else ""
        tree = json.loads(con.execute("SELECT json_serialize_sql($q)", {"q": query}).fetchone()[0])
        if tree["error"]:
            raise ValueError(f"DuckDB cannot parse a statement: {tree.get('error_message')}: {query[:200]}")
        todo: list = [tree]
        while todo:
            node = todo.pop()
            if isinstance(node, dict):
                if node.get("type") == "BASE_TABLE" and node.get("schema_name"):
                    found.add(f"{node['schema_name']}.{node['table_name']}".lower())
                todo += node.values()
            elif isinstance(node, list):
                todo += node
    return found


def _incremental(header: dict, file: str) -> Incremental:
    try:
        return Incremental(
            keys=tuple((table, select) for table, select in header["keys"].items()),
            scopes=tuple(Scope(view, s["relation"], s["touched"], bool(s.get("copy_touched", False)))
                         for view, s in header["scopes"].items()),
            outputs=tuple(Output(table, o["rows"], o["stale"]) for table, o in header["outputs"].items()),
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"assets/sql/{file}: the incremental header needs keys, scopes and outputs ({exc})") from None


def read_model(con: duckdb.DuckDBPyConnection, path: Path) -> SqlModel:
    file = path.relative_to(SQL_DIR).as_posix()
    sql = path.read_text(encoding="utf-8")
    header = _HEADER.match(sql)
    incremental = _incremental(yaml.safe_load(header[1])["incremental"], file) if header else None
    code = re.sub(r"'(?:[^']|'')*'", "''", re.sub(r"--[^\n]*", "", sql))
    described = {name.lower(): text.replace("''", "'") for name, text in _COMMENT_ON_TABLE.findall(sql)}
    if incremental:
        made = [o.table for o in incremental.outputs]
        extra = " ; ".join([*(select for _, select in incremental.keys),
                            *(f"SELECT * FROM {s.relation}" for s in incremental.scopes)])
        reads = tables_read(con, sql) | tables_read(con, extra)
    else:
        dropped = {name.lower() for name in _DROPPED.findall(code)}
        made = [name.lower() for name in _CREATED.findall(code) if name.lower() not in dropped]
        reads = tables_read(con, sql) - {name.lower() for name in _CREATED.findall(code)}
    own = [t for t in made if t.split(".")[1] == path.stem]
    if not own:
        raise ValueError(f"assets/sql/{file}: creates no table named {path.stem} (it creates {made})")
    table = own[0]
    if table not in described:
        raise ValueError(f"assets/sql/{file}: no COMMENT ON TABLE {table}: its comment is its description")
    return SqlModel(file, table, tuple(dict.fromkeys([table, *made])), tuple(sorted(reads - set(made))),
                    described[table], incremental)


@lru_cache(maxsize=1)
def discover() -> tuple[SqlModel, ...]:
    """Every model of the SQL folder, in file order."""
    with duckdb.connect() as con:
        return tuple(read_model(con, path) for folder in MODEL_FOLDERS for path in sorted((SQL_DIR / folder).glob("*.sql")))


def incremental_models() -> tuple[SqlModel, ...]:
    """The incremental models, each after the models whose tables it reads."""
    models = [m for m in discover() if m.incremental]
    ordered: list[SqlModel] = []
    while models:
        made = {t for m in models for t in m.creates}
        ready = [m for m in models if not (set(m.reads) - set(m.creates)) & made]
        if not ready:
            raise ValueError(f"incremental models read each other in a circle: {[m.table for m in models]}")
        ordered += ready
        models = [m for m in models if m not in ready]
    return tuple(ordered)


def touched_keys(con: duckdb.DuckDBPyConnection, model: SqlModel, since: int) -> None:
    """The keys of the model's records that the loads after `since` touched, as the temp tables its
    outputs' stale predicates read."""
    for table, select in model.incremental.keys:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select}", {"since": since})
