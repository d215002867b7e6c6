"""docs/metrics.md is generated from the warehouse's COMMENTs and must match what the current SQL produces."""

import difflib
import re
import shlex
from pathlib import Path

import duckdb
import pytest

from assets.core.names import COMPAT, COMPAT_SCHEMA, misnamed_columns
from pipelines.dev.data_dictionary import (
    DEFAULT_OUT,
    MARTS_ORDER,
    REGENERATE_COMMAND,
    render_data_dictionary,
)

EXAMPLE_BLOCK = re.compile(r"^```sh\n(.*?)\n```$", re.S | re.M)


@pytest.fixture(scope="module")
def reference_warehouse(sample_run) -> Path:
    """The reference sample `funnel docs` builds (build_reference_warehouse), run once per session."""
    return sample_run[1]


@pytest.fixture(scope="module")
def rendered(reference_warehouse: Path) -> str:
    with duckdb.connect(str(reference_warehouse), read_only=True) as con:
        return render_data_dictionary(con)


def _example_sql(markdown: str) -> list[str]:
    """The SQL of every example command, parsed as the shell would (`.venv/bin/funnel sql "<sql>"`)."""
    queries = []
    for block in EXAMPLE_BLOCK.findall(markdown):
        argv = shlex.split(block)
        assert argv[:2] == [".venv/bin/funnel", "sql"] and len(argv) == 3, block
        queries.append(argv[2])
    return queries


def test_committed_metrics_md_is_current(rendered: str):
    committed = DEFAULT_OUT.read_bytes() if DEFAULT_OUT.exists() else b""
    if rendered.encode("utf-8") != committed:
        diff = "".join(difflib.unified_diff(
            committed.decode("utf-8", "replace").splitlines(keepends=True), rendered.splitlines(keepends=True),
            "docs/metrics.md (committed)", "docs/metrics.md (from the current SQL)", n=1))
        pytest.fail(
            f"docs/metrics.md is out of date with the COMMENTs in assets/sql/. Regenerate it with\n"
            f"    cd {DEFAULT_OUT.parent.parent} && {REGENERATE_COMMAND}\n"
            f"and commit it.\n{diff[:4000]}",
            pytrace=False,
        )


def test_every_marts_column_has_a_definition(reference_warehouse: Path, rendered: str):
    with duckdb.connect(str(reference_warehouse), read_only=True) as con:
        columns = con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() "
            "WHERE schema_name = 'marts' ORDER BY table_name, column_index"
        ).fetchall()
    assert {t for t, _, _ in columns} >= set(MARTS_ORDER)
    sections = {m.group(1): m.group(2) for m in re.finditer(r"^## (marts\.\w+)\n(.*?)(?=^## |\Z)", rendered, re.S | re.M)}
    missing = []
    for table, column, comment in columns:
        row = re.search(rf"^\| `{column}` \| [^|]+ \| (.*) \|$", sections.get(f"marts.{table}", ""), re.M)
        if not (comment or "").strip() or row is None or not row.group(1).strip():
            missing.append(f"marts.{table}.{column}")
    assert not missing, f"marts columns without a definition (COMMENT ON COLUMN in assets/sql/marts/): {missing}"


def test_the_published_marts_keep_one_name_per_concept_and_compat_the_old_ones(reference_warehouse: Path):
    """What analysts open: no marts column carries an old or forbidden name (assets/core/names.py), and each
    renamed mart is also in schema compat, every row, under the column names it had before."""
    with duckdb.connect(str(reference_warehouse), read_only=True) as con:
        columns: dict[str, list[str]] = {}
        for schema, table, column in con.execute(
                "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                "WHERE schema_name IN ('marts', $compat) ORDER BY schema_name, table_name, column_index",
                {"compat": COMPAT_SCHEMA}).fetchall():
            columns.setdefault(f"{schema}.{table}", []).append(column)
        assert misnamed_columns({t.removeprefix("marts."): c for t, c in columns.items() if t.startswith("marts.")}) \
            == []
        assert {t for t in columns if t.startswith(f"{COMPAT_SCHEMA}.")} == {f"{COMPAT_SCHEMA}.{m}" for m in COMPAT}
        for mart, renames in COMPAT.items():
            assert columns[f"{COMPAT_SCHEMA}.{mart}"] == [renames.get(c, c) for c in columns[f"marts.{mart}"]], mart
            assert con.execute(f"SELECT count(*) FROM {COMPAT_SCHEMA}.{mart}").fetchone() == \
                con.execute(f"SELECT count(*) FROM marts.{mart}").fetchone(), mart


def test_every_example_query_runs(reference_warehouse: Path):
    markdown = DEFAULT_OUT.read_text(encoding="utf-8")
    queries = _example_sql(markdown)
    assert len(queries) == len(re.findall(r"^## (?:marts|ops|quarantine)\.", markdown, re.M)), "one example per table"
    with duckdb.connect(str(reference_warehouse), read_only=True) as con:
        for sql in queries:
            try:
                con.execute(sql).fetchall()
            except duckdb.Error as exc:
                pytest.fail(f"example query in docs/metrics.md fails: {exc}\n{sql}")


def test_tables_in_contract_order_and_pipes_escaped():
    con = duckdb.connect(":memory:")
    con.execute("CREATE SCHEMA marts; CREATE SCHEMA ops")
    for name in ["ops.b_log", "ops.a_log", "marts.zeta", "marts.alpha", "marts.channel_roi", "marts.channel_funnel"]:
        con.execute(f"CREATE TABLE {name} (x INTEGER)")
    con.execute("COMMENT ON TABLE marts.alpha IS 'a | b'")
    con.execute("COMMENT ON COLUMN marts.alpha.x IS 'either | or'")
    text = render_data_dictionary(con)
    assert re.findall(r"^## ((?:marts|ops|quarantine)\.\S+)$", text, re.M) == [
        "marts.channel_funnel", "marts.channel_roi", "marts.alpha", "marts.zeta", "ops.a_log", "ops.b_log"]
    assert "| `x` | INTEGER | either \\| or |" in text
    assert "\na \\| b\n" in text
    assert 'SELECT * FROM marts.zeta LIMIT 10' in text  # no example of its own: the plain one
    assert render_data_dictionary(con) == text


def test_committed_inputs_md_is_current():
    """docs/inputs.md says what the loader accepts: regenerated from schemas/ it is unchanged."""
    from pipelines.dev.inputs_doc import DEFAULT_OUT as INPUTS, render_inputs

    rendered = render_inputs()
    assert "| `lead_id` | text | yes (unless `email` given) | no |" in rendered  # a substitute is said
    committed = INPUTS.read_text(encoding="utf-8") if INPUTS.exists() else ""
    assert rendered == committed, "docs/inputs.md is out of date with schemas/: run .venv/bin/funnel docs"


def test_the_readme_query_runs_as_written(reference_warehouse: Path, capsys):
    """The analyst's first command in the README, through `funnel sql` on the published file."""
    from pipelines.cli import main

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [line] = [ln for ln in readme.splitlines() if ln.startswith(".venv/bin/funnel sql ")]
    argv = shlex.split(line)[1:]
    assert main([*argv, "--warehouse", str(reference_warehouse)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["period_start", "channel", "spend"] and "rows shown" in out
