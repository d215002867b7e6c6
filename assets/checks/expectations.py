"""Great Expectations runs the marts' expectation suites (assets/checks/suites.py) as blocking Dagster
asset checks.

Each mart has its own blocking check, evaluated right after the mart is written
(`suite_check`, a check spec of the mart's asset in the transform step, assets/transform/step.py):
a failed suite is recorded with the mart's materialization, nothing that reads the mart
(channel_roi, pipeline_velocity and target_plan read channel_funnel; published/funnel_duckdb
reads every mart) is built or run, and the step fails. One `@multi_asset_check` over all
marts cannot be blocking: channel_roi, pipeline_velocity and target_plan would then wait
for a check step that itself waits for them (Dagster rejects the job as circular).

Great Expectations validates every suite itself, inside DuckDB: GX's SQL datasource (duckdb-engine)
reads the working database through a cursor of the run's own connection, so the checks run as SQL
over the mart and only their verdicts leave DuckDB (the query of each suite adds a money column's
exact integer cents). GX computes only the verdicts of a passing suite; a failing suite is validated
again for the observed values and examples its metadata and Data Docs page show. A table the transform step did not build
again (nothing it reads changed) is not validated again: its last build's suite passed (a failed
blocking check makes the next run build the table again, assets/transform/step.py).

great_expectations is imported lazily (the import takes seconds) and one
ephemeral GX context is built per Dagster run and shared by all its checks (the
in-process executor runs them in one process). The run's Data Docs pages are rendered once, when the
transform step has built its last table (`build_data_docs`). They are written beside the
warehouse: `<warehouse folder>/gx/<warehouse name>/index.html`, so the default
warehouse's docs land under data/warehouse/gx/funnel/ and two warehouses never
share a site. The index lists the suites validated in the latest run; the pages
of older runs stay (the checks' history links to them) for the latest
`KEEP_RUNS` runs of each suite.
"""

import shutil
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dagster as dg
import duckdb

from assets.checks.suites import MartSuite, describe_suite, expectations, staged_totals, suite_of, validated_query
from assets.core import markdown
from assets.core.step import StepCheck

SITE_NAME = "funnel_marts"
KEEP_RUNS = 30  # validation pages kept per suite, newest runs first


def docs_dir_for(warehouse_path: str | Path) -> Path:
    """Data Docs site of a warehouse: <warehouse folder>/gx/<warehouse name>/."""
    wh = Path(warehouse_path).resolve()
    return wh.parent / "gx" / wh.stem


def url_to_path(url: str) -> Path:
    return Path(unquote(urlparse(url).path))


# --------------------------------------------------------------------------- running suites


@dataclass
class SuiteOutcome:
    mart: str
    success: bool
    evaluated: int
    successful: int
    unsuccessful: int
    failed: list[dict[str, Any]]  # expectation, column, expected, observed, unexpected_count
    docs_url: str | None
    index_url: str | None
    rows: int


def _reading_connection(con: "duckdb.DuckDBPyConnection"):
    """A DB-API connection for GX's SQLAlchemy engine: a new cursor of `con` (the run's connection; a
    second duckdb.connect of the file would need the same configuration). GX closes a connection, and
    SQLAlchemy ends it with a rollback, before it fetches the result of its query; on DuckDB either
    drops that result (GX issue 10738). So transactions and closing are left to the cursor's end."""
    from duckdb_engine import ConnectionWrapper

    class Reading(ConnectionWrapper):
        def begin(self) -> None:
            pass

        def commit(self) -> None:
            pass

        def rollback(self) -> None:
            pass

        def close(self) -> None:
            pass

    return Reading(con.cursor())


class GxRunner:
    """One ephemeral GX context whose Data Docs site lives in `docs_dir`, reading the working database
    through `con`; suites, validation definitions and checkpoints are added on first use of each mart."""

    def __init__(self, docs_dir: Path, run_name: str, con: "duckdb.DuckDBPyConnection"):
        import great_expectations as gx
        from sqlalchemy.pool import NullPool
        from great_expectations.data_context.types.base import (
            DataContextConfig,
            InMemoryStoreBackendDefaults,
            ProgressBarsConfig,
        )

        self.docs_dir = Path(docs_dir).resolve()
        self.run_name = run_name
        config = DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
            data_docs_sites={SITE_NAME: {
                "class_name": "SiteBuilder",
                "show_how_to_buttons": False,
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(self.docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            }},
        )
        self.context = gx.get_context(mode="ephemeral", project_config=config)
        # Every connection GX takes is a new cursor of the connection of the check under way (each table
        # of the transform step has its own, closed when the table is done): no pool.
        self.con = con  # GX opens a connection as the data source is added
        self.source = self.context.data_sources.add_sql(
            "marts", connection_string="duckdb:///:memory:",
            kwargs={"creator": lambda: _reading_connection(self.con), "poolclass": NullPool})
        self._checkpoints: dict[tuple[str, bool], Any] = {}
        self._validations: dict[str, Any] = {}
        self._batches: dict[str, Any] = {}
        self._unrendered: dict[str, Any] = {}  # mart -> identifier of its validation not yet in the Data Docs

    def _checkpoint(self, suite: MartSuite, empty: bool, details: bool):
        """The checkpoint of a mart's suite. Without `details` GX computes each expectation's verdict only
        (BOOLEAN_ONLY); with them, also the observed values and unexpected examples (SUMMARY)."""
        name = f"{suite.mart} (empty)" if empty else suite.mart
        key = (name, details)
        if key not in self._checkpoints:
            import great_expectations as gx

            if suite.mart not in self._batches:
                asset = self.source.add_query_asset(suite.mart, query=validated_query(suite))
                self._batches[suite.mart] = asset.add_batch_definition_whole_table("whole")
            if name not in self._validations:
                gx_suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations(
                    suite, sums=not empty)))
                self._validations[name] = self.context.validation_definitions.add(
                    gx.ValidationDefinition(name=name, data=self._batches[suite.mart], suite=gx_suite))
            # No UpdateDataDocsAction: build_docs renders the run's pages once, at the end of the step.
            self._checkpoints[key] = self.context.checkpoints.add(gx.Checkpoint(
                name=f"{name} (details)" if details else name, validation_definitions=[self._validations[name]],
                actions=[], result_format="SUMMARY" if details else "BOOLEAN_ONLY",
            ))
        return self._checkpoints[key]

    def _file_url(self, gx_url: str) -> str:
        """GX's file URL quotes the page's key but not the site folder: a proper file:// URI."""
        prefix = f"file://{self.docs_dir}"
        if not gx_url.startswith(prefix):
            return gx_url
        return (self.docs_dir / unquote(gx_url[len(prefix):].lstrip("/"))).as_uri()

    def validate(self, con: "duckdb.DuckDBPyConnection", suite: MartSuite, parameters: dict[str, int],
                 rows: int) -> SuiteOutcome:
        from great_expectations.core.run_identifier import RunIdentifier

        self.con = con

        def run(details: bool):
            result = self._checkpoint(suite, empty=rows == 0, details=details).run(
                expectation_parameters=parameters,
                run_id=RunIdentifier(run_name=self.run_name, run_time=datetime.now(timezone.utc)),
            )
            (identifier, validation), = result.run_results.items()
            return identifier, validation

        # Verdicts first (a third less of GX's work per suite); a failed suite is validated again with the
        # observed values and examples that the check's metadata and its Data Docs page show.
        identifier, validation = run(details=False)
        if not validation.success:
            self.context.validation_results_store.remove_key(identifier)
            identifier, validation = run(details=True)
        stats = validation.statistics
        self._unrendered[suite.mart] = identifier
        # the page's address is known before build_docs writes it, at the end of the step
        docs = self.context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE_NAME,
                                                only_if_exists=False)
        docs_url = self._file_url(docs[0]["site_url"]) if docs and docs[0]["site_url"] else None
        failed = [_describe(r) for r in validation.results if not r.success]
        # an empty mart reconciles when every staged total is 0
        if rows == 0:
            failed += [{"expectation": "expect_column_sum_to_be_between", "column": c, "observed": "no rows",
                        "expected": f"= {parameters[suite.parameter(c)]}", "unexpected_count": None}
                       for c in suite.reconcile if parameters[suite.parameter(c)]]
        return SuiteOutcome(
            mart=suite.mart, success=bool(validation.success) and not (rows == 0 and failed),
            evaluated=int(stats["evaluated_expectations"]), successful=int(stats["successful_expectations"]),
            unsuccessful=len(failed), failed=failed,
            docs_url=docs_url, index_url=(self.docs_dir / "index.html").as_uri(), rows=rows,
        )

    def build_docs(self) -> None:
        """The pages of the validations since the last call, their suites' pages and the index, in one
        build: GX renders the index from its stores each time, so a build per validation cost 0.2 CPU s each."""
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        if not self._unrendered:
            return
        identifiers = list(self._unrendered.values())
        self.context.build_data_docs(site_names=[SITE_NAME], build_index=True, resource_identifiers=identifiers + [
            ExpectationSuiteIdentifier(name=i.expectation_suite_identifier.name) for i in identifiers])
        for mart in self._unrendered:
            _prune_old_runs(self.docs_dir / "validations" / mart, KEEP_RUNS)
        self._unrendered.clear()


def _describe(r) -> dict[str, Any]:
    """A failed expectation result as one row of the metadata table."""
    kw = r.expectation_config.kwargs
    if "column_A" in kw:
        column = f"{kw['column_A']} >= {kw['column_B']}"
    elif "column_list" in kw:
        column = ", ".join(kw["column_list"])
    else:
        column = kw.get("column", "")
    if kw.get("row_condition") is not None:
        column += f" (where {kw['row_condition']!r})"
    lo, hi = kw.get("min_value"), kw.get("max_value")
    if "value_set" in kw:
        expected = "in " + ", ".join(map(str, kw["value_set"]))
    elif lo is not None and lo == hi:
        expected = f"= {_number(lo)}"
    elif lo is not None or hi is not None:
        expected = f"[{_number(lo)}, {_number(hi)}]"
    else:
        expected = ""
    res = r.result or {}
    if "observed_value" in res:
        observed = res["observed_value"]
    else:
        observed = res.get("partial_unexpected_list", [])[:3]
    exception = _exception_message(r.exception_info)
    return {
        "expectation": r.expectation_config.type,
        "column": column,
        "expected": expected,
        "observed": f"exception: {exception}" if exception else _plain(observed),
        "unexpected_count": res.get("unexpected_count"),
    }


def _exception_message(info: Any) -> str | None:
    """The message of an expectation that raised (e.g. a missing column): GX keeps it either
    at the top of exception_info or per metric."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception") or info.get("exception_message"):
        return info.get("exception_message")
    for value in info.values():
        if isinstance(value, dict) and value.get("exception_message"):
            return value["exception_message"]
    return None


def _number(x: Any) -> str:
    """GX keeps bounds as floats: 24.0 -> '24', None -> ''."""
    if x is None:
        return ""
    return str(int(x)) if isinstance(x, float) and x.is_integer() else str(x)


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _markdown(failed: list[dict[str, Any]]) -> str:
    if not failed:
        return "none"

    head = ["expectation", "column", "expected", "observed", "unexpected_count"]
    return markdown.table(head, [["" if f[h] is None else str(f[h])[:200] for h in head] for f in failed])


def _prune_old_runs(suite_dir: Path, keep: int) -> None:
    """Keep the validation pages of the newest `keep` runs of one suite."""
    if not suite_dir.is_dir():
        return
    runs = sorted((p for p in suite_dir.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in runs[keep:]:
        shutil.rmtree(old, ignore_errors=True)


_RUNNER: "tuple[tuple[str, str], GxRunner] | None" = None
_GX_LOCK = threading.Lock()


def runner_for(docs_dir: Path, run_name: str, con: "duckdb.DuckDBPyConnection") -> GxRunner:
    """The GX context of this Dagster run (built by the first check of the run)."""
    global _RUNNER
    key = (str(docs_dir), run_name)
    if _RUNNER is None or _RUNNER[0] != key:
        _RUNNER = (key, GxRunner(docs_dir, run_name, con))
    return _RUNNER[1]


# --------------------------------------------------------------------------- Dagster checks


def evaluate_suite(con: duckdb.DuckDBPyConnection, run_id: str, warehouse_path: str,
                   suite: MartSuite) -> dg.AssetCheckResult:
    """GX's verdict on the mart as it is in `con` now, with the metadata the UI shows."""
    parameters = staged_totals(con, suite)
    rows = con.execute(f"SELECT count(*) FROM marts.{suite.mart}").fetchone()[0]
    with _GX_LOCK:  # one GX context per run, and GX is not thread-safe: the transform step checks side by side
        outcome = runner_for(docs_dir_for(warehouse_path), run_id, con).validate(con, suite, parameters, rows)
    metadata: dict[str, Any] = {
        "rows": outcome.rows,
        "evaluated_expectations": outcome.evaluated,
        "successful_expectations": outcome.successful,
        "unsuccessful_expectations": outcome.unsuccessful,
        "failed_expectations": dg.MetadataValue.md(_markdown(outcome.failed)),
        "staged_totals": dg.MetadataValue.json(parameters),
    }
    if outcome.docs_url:
        metadata["data_docs"] = dg.MetadataValue.url(outcome.docs_url)
        # Browsers may not follow a file:// link from the Dagster UI: the path to copy.
        metadata["data_docs_path"] = dg.MetadataValue.path(str(url_to_path(outcome.docs_url)))
    if outcome.index_url:
        metadata["data_docs_index"] = dg.MetadataValue.url(outcome.index_url)
    return dg.AssetCheckResult(passed=outcome.success, metadata=metadata)


def suite_check(mart: str) -> StepCheck:
    """The blocking suite check of marts.<mart>, evaluated right after the mart is written."""
    suite = suite_of(mart)
    return StepCheck(
        f"{mart}_expectation_suite", describe_suite(suite),
        lambda con, context, funnel: evaluate_suite(con, context.run.run_id, funnel.warehouse_path, suite),
        prepare=_import_sqlalchemy_orm, finish=build_data_docs)


def build_data_docs() -> None:
    """The Data Docs of the validations the step ran (none when every table was as its last build left it)."""
    with _GX_LOCK:
        if _RUNNER is not None:
            _RUNNER[1].build_docs()


def _import_sqlalchemy_orm() -> None:
    """GX's SQL datasource imports sqlalchemy.orm in a thread of the transform step while the step's own
    thread may import it for Dagster's storage: imported first here, neither sees it half-initialised."""
    import sqlalchemy.orm  # noqa: F401
