"""Great Expectations suites on the marts, run as blocking Dagster asset checks.

One expectation suite per mart of `marts.KEYS` and per fiscal roll-up of
`fiscal.FISCAL_KEYS` (derived from its monthly mart's), built from the declarative
`MartSuite` data below (what the COMMENTs of assets/sql/marts/*.sql and
assets/target_plan.py promise about each column):

- keys: never NULL, never repeated;
- counts: never NULL, never negative (some at least 1);
- rates that by definition lie in [0, 1] (channel_funnel's period rates do not:
  a later stage of a month can come from earlier months, so they are only >= 0);
- money, durations and ratios that cannot be negative;
- cohort tables: a later funnel stage never exceeds an earlier one, row by row;
- reconciliation: the sum of a count (or of money, as exact integer cents) equals
  the staged total, computed in SQL from staging.* and passed to the suite as
  suite parameters at run time.

Money: a DECIMAL column's sum is checked as exact integer cents (`<column>_cents`, a BIGINT of the
view); the staged totals are exact Python ints. GX coerces the suite parameter to a float, which is
exact below 2**53 cents (9e13 in currency units), far above any total here. The exact DECIMAL
reconciliation in SQL (marts.py) stays.

Each mart has its own blocking check, evaluated right after the mart is written
(`suite_check`, a check spec of the mart's asset in the transform step, assets/transform.py):
a failed suite is recorded with the mart's materialization, nothing that reads the mart
(channel_roi, pipeline_velocity and target_plan read channel_funnel; published/funnel_duckdb
reads every mart) is built or run, and the step fails. One `@multi_asset_check` over all
marts cannot be blocking: channel_roi, pipeline_velocity and target_plan would then wait
for a check step that itself waits for them (Dagster rejects the job as circular).

Great Expectations validates every suite itself, inside DuckDB: GX's SQL datasource (duckdb-engine)
reads the working database through a cursor of the run's own connection, so the checks run as SQL
over the mart and only their verdicts leave DuckDB (the query of each suite adds a money column's
exact integer cents). A table the transform step did not build
again (nothing it reads changed) is not validated again: its last build's suite passed (a failed
blocking check makes the next run build the table again, assets/transform.py).

great_expectations is imported lazily (the import takes seconds) and one
ephemeral GX context is built per Dagster run and shared by all its checks (the
in-process executor runs them in one process). Data Docs are written beside the
warehouse: `<warehouse folder>/gx/<warehouse name>/index.html`, so the default
warehouse's docs land under data/warehouse/gx/funnel/ and two warehouses never
share a site. The index lists the suites validated in the latest run; the pages
of older runs stay (the checks' history links to them) for the latest
`KEEP_RUNS` runs of each suite.
"""

import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import dagster as dg
import duckdb

from assets.checks.keys import ATTRIBUTION_MODELS, BOUNDED_RATES, FISCAL_KEYS, GRAINS, KEYS, STAGES
from assets.core.tables import StepCheck
from schemas.config import LIFECYCLE_ORDER


SITE_NAME = "funnel_marts"
KEEP_RUNS = 30  # validation pages kept per suite, newest runs first

# Staged totals, as scalar SQL over the staging schema (exact ints).
_LEADS = "SELECT count(*) FROM staging.lead_funnel"
_MQLS = "SELECT count(*) FROM staging.lead_funnel WHERE reached_mql"
_SQLS = "SELECT count(*) FROM staging.lead_funnel WHERE reached_sql"
_COHORT_OPPORTUNITIES = "SELECT count(*) FROM staging.lead_funnel WHERE reached_opportunity"
_COHORT_WON = "SELECT count(*) FROM staging.lead_funnel WHERE won"
_COHORT_REVENUE_CENTS = "SELECT coalesce(sum(CAST(won_revenue * 100 AS BIGINT)), 0) FROM staging.lead_funnel"
_SESSIONS = "SELECT coalesce(sum(sessions), 0) FROM staging.sessions"
_DEALS = "SELECT count(*) FROM staging.deals"
_WON = "SELECT count(*) FROM staging.deals WHERE outcome = 'won'"
_LOST = "SELECT count(*) FROM staging.deals WHERE outcome = 'lost'"
_WON_REVENUE_CENTS = "SELECT coalesce(sum(CAST(amount * 100 AS BIGINT)), 0) FROM staging.deals WHERE outcome = 'won'"
_SPEND_CENTS = "SELECT coalesce(sum(CAST(cost * 100 AS BIGINT)), 0) FROM staging.spend"


@dataclass(frozen=True)
class MartSuite:
    """What one mart promises, as data; `expectations()` turns it into GX expectations."""

    mart: str
    keys: tuple[str, ...]
    counts: tuple[str, ...] = ()  # integers: not NULL, >= 0
    non_negative: tuple[str, ...] = ()  # >= 0 where not NULL
    rates: tuple[str, ...] = ()  # in [0, 1] where not NULL
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)  # extra bounds
    ordered: tuple[tuple[str, str], ...] = ()  # (a, b): a >= b on every row where both are set
    in_set: dict[str, tuple[str, ...]] = field(default_factory=dict)
    unique_where_true: dict[str, tuple[str, ...]] = field(default_factory=dict)  # flag -> columns unique among its rows
    reconcile: dict[str, str] = field(default_factory=dict)  # column -> SQL of the staged total its sum must equal
    money_cents: tuple[str, ...] = ()  # DECIMAL columns also read as exact integer cents, `<column>_cents`

    def parameter(self, column: str) -> str:
        return f"{self.mart}__{column}__staged_total"

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """Column -> (least, greatest) its values may be: counts and non-negative columns at least 0,
        rates in [0, 1], then the explicit ranges (which win)."""
        bounds: dict[str, tuple[float | None, float | None]] = {c: (0, None) for c in (*self.counts, *self.non_negative)}
        bounds.update({c: (0, 1) for c in self.rates})
        bounds.update(self.ranges)
        return bounds


_CHANNEL_FUNNEL_TOTALS = {"leads": _LEADS, "mqls": _MQLS, "opportunities": _DEALS, "wins": _WON,
                          "revenue_cents": _WON_REVENUE_CENTS}

SUITES: dict[str, MartSuite] = {s.mart: s for s in [
    MartSuite(
        "channel_funnel", keys=tuple(KEYS["channel_funnel"]),
        counts=("sessions", "leads", "mqls", "sqls", "opportunities", "wins"),
        # Period rates compare stages of one month and can exceed 1 (COMMENT): only >= 0.
        non_negative=("revenue", "session_to_lead_rate", "lead_to_mql_rate", "mql_to_sql_rate",
                      "sql_to_opportunity_rate", "opportunity_to_win_rate"),
        reconcile={"sessions": _SESSIONS, "sqls": _SQLS, **_CHANNEL_FUNNEL_TOTALS},
        money_cents=("revenue",),
    ),
    MartSuite(
        "lead_cohort_funnel", keys=tuple(KEYS["lead_cohort_funnel"]),
        counts=("leads", "reached_mql", "reached_sql", "reached_opportunity", "won"),
        ranges={"leads": (1, None)},
        non_negative=("revenue",),
        rates=tuple(BOUNDED_RATES["lead_cohort_funnel"]),
        ordered=(("leads", "reached_mql"), ("reached_mql", "reached_sql"),
                 ("reached_sql", "reached_opportunity"), ("reached_opportunity", "won")),
        reconcile={"leads": _LEADS, "reached_mql": _MQLS, "reached_sql": _SQLS,
                   "reached_opportunity": _COHORT_OPPORTUNITIES, "won": _COHORT_WON,
                   "revenue_cents": _COHORT_REVENUE_CENTS},
        money_cents=("revenue",),
    ),
    MartSuite(
        "mql_to_sql", keys=tuple(KEYS["mql_to_sql"]),
        counts=("mqls", "became_sql"), ranges={"mqls": (1, None)},
        non_negative=("median_days_mql_to_sql",),  # the MQL date is never after the SQL date
        rates=tuple(BOUNDED_RATES["mql_to_sql"]),
        ordered=(("mqls", "became_sql"),),
        reconcile={"mqls": _MQLS, "became_sql": _SQLS},  # every SQL is an MQL
    ),
    MartSuite(
        "deal_to_win", keys=tuple(KEYS["deal_to_win"]),
        counts=("won", "lost"), non_negative=("revenue", "avg_deal_size"),
        rates=tuple(BOUNDED_RATES["deal_to_win"]),
        reconcile={"won": _WON, "lost": _LOST, "revenue_cents": _WON_REVENUE_CENTS},
        money_cents=("revenue",),
    ),
    MartSuite(
        "channel_roi", keys=tuple(KEYS["channel_roi"]),
        counts=("leads", "mqls", "opportunities", "wins"),
        non_negative=("spend", "revenue", "cpa", "cost_per_mql", "cost_per_opportunity", "cac", "roas"),
        ranges={"roi": (-1, None)},  # revenue >= 0: (revenue - spend) / spend >= -1
        reconcile={"spend_cents": _SPEND_CENTS, **_CHANNEL_FUNNEL_TOTALS},
        money_cents=("spend", "revenue"),
    ),
    MartSuite(
        "stage_velocity", keys=tuple(KEYS["stage_velocity"]),
        counts=("n",), ranges={"n": (1, None)},
        ordered=(("p75_days", "median_days"),),
        in_set={"transition": ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_win",
                               "lead_to_win")},
    ),
    MartSuite(
        "bottlenecks", keys=tuple(KEYS["bottlenecks"]),
        counts=("from_count", "to_count"), ranges={"from_count": (1, None)},
        non_negative=("lost_volume", "lost_revenue"),
        rates=("actual_rate", "reference_rate"),  # cohort rates: to_count is a subset of from_count
        ordered=(("from_count", "to_count"),),
        in_set={"transition": ("lead_to_mql", "mql_to_sql", "sql_to_opportunity", "opportunity_to_win")},
        unique_where_true={"is_bottleneck": ("period_start", "channel")},
    ),
    MartSuite(
        "cohort_roi", keys=tuple(KEYS["cohort_roi"]),
        counts=("leads", "won"),
        non_negative=("spend", "revenue", "cohort_roas", "cac", "months_to_payback", "gross_profit", "ltv",
                      "ltv_to_cac"),
        ranges={"cohort_roi": (-1, None), "romi": (-1, None)},  # revenue and gross profit are >= 0
        ordered=(("leads", "won"), ("payback_month", "cohort_start")),
        reconcile={"leads": _LEADS, "won": _COHORT_WON, "revenue_cents": _COHORT_REVENUE_CENTS,
                   "spend_cents": _SPEND_CENTS},
        money_cents=("spend", "revenue"),
    ),
    MartSuite(
        "pipeline_velocity", keys=tuple(KEYS["pipeline_velocity"]),
        counts=("open_opportunities", "won_in_window", "lost_in_window"),
        non_negative=("avg_deal_size", "pipeline_velocity"),
        rates=("win_rate",),
    ),
    MartSuite(
        "target_plan", keys=tuple(KEYS["target_plan"]),
        non_negative=("avg_deal_size", "required", "actual", "pace"),
        rates=("channel_share", "rate_used"),  # overrides are in (0, 1]; observed rates are capped at 1
        ranges={"stage_order": (1, len(STAGES))},
        ordered=(("period_end", "period_start"), ("lookback_end", "lookback_start")),
        in_set={"stage": STAGES},
    ),
    MartSuite(
        "attributed_revenue", keys=tuple(KEYS["attributed_revenue"]),
        counts=("deals_credited",),
        non_negative=("attributed_revenue", "revenue_from_touches", "revenue_without_touches"),
        ordered=(("attributed_revenue", "revenue_from_touches"), ("attributed_revenue", "revenue_without_touches")),
        in_set={"model": ATTRIBUTION_MODELS},
    ),
    MartSuite(
        "content_influence", keys=tuple(KEYS["content_influence"]),
        counts=("opportunities", "opportunities_with_touch", "closed_with_touch", "won_with_touch",
                "closed_without_touch", "won_without_touch", "leads_with_touch", "leads_with_touch_to_opportunity",
                "leads_without_touch", "leads_without_touch_to_opportunity", "smallest_base"),
        rates=("pre_opportunity_touch_rate", "win_rate_with_touch", "win_rate_without_touch",
               "opportunity_rate_with_touch", "opportunity_rate_without_touch"),
        ordered=(("opportunities", "opportunities_with_touch"), ("opportunities_with_touch", "closed_with_touch"),
                 ("closed_with_touch", "won_with_touch"), ("closed_without_touch", "won_without_touch"),
                 ("leads_with_touch", "leads_with_touch_to_opportunity"),
                 ("leads_without_touch", "leads_without_touch_to_opportunity")),
    ),
    MartSuite(
        "stage_history", keys=tuple(KEYS["stage_history"]),
        counts=("snapshots",), ranges={"snapshots": (1, None)},
        ordered=(("last_seen_at", "first_seen_at"),),
        in_set={"record_type": ("lead", "deal"),
                "mapped_stage": (*LIFECYCLE_ORDER, "open", "won", "lost", "unknown")},
    ),
]}


def fiscal_suite(monthly: MartSuite) -> MartSuite:
    """The suite of marts.<mart>_fiscal (assets/fiscal.py): its monthly mart's promises on the summed
    rows, keyed by grain and period. Sums are not reconciled here (each month is in both grains);
    tests/test_fiscal_rollups.py checks them against the monthly marts."""
    renamed = {"cohort_start": "period_start"}
    return MartSuite(
        f"{monthly.mart}_fiscal", keys=tuple(FISCAL_KEYS[f"{monthly.mart}_fiscal"]),
        counts=monthly.counts, non_negative=monthly.non_negative, rates=monthly.rates, ranges=monthly.ranges,
        ordered=tuple((renamed.get(a, a), renamed.get(b, b)) for a, b in monthly.ordered)
        + (("period_end", "period_start"),),
        in_set={**monthly.in_set, "grain": GRAINS},
    )


SUITES.update({f"{m}_fiscal": fiscal_suite(SUITES[m]) for m in (k.removesuffix("_fiscal") for k in FISCAL_KEYS)})
# Every mart with a suite: the monthly marts and their fiscal roll-ups.
CHECKED_MARTS = {**KEYS, **FISCAL_KEYS}


def expectations(suite: MartSuite, sums: bool = True) -> list:
    """The GX expectations of one mart (imports great_expectations); without `sums`, not the reconciled
    sums (in SQL the sum of no rows is NULL, no total: an empty mart is reconciled by evaluate_suite)."""
    import great_expectations as gx
    from great_expectations.expectations.row_conditions import Column

    ex = gx.expectations
    out: list = [ex.ExpectColumnValuesToNotBeNull(column=k) for k in suite.keys]
    out.append(ex.ExpectCompoundColumnsToBeUnique(column_list=list(suite.keys)))
    out += [ex.ExpectColumnValuesToNotBeNull(column=c) for c in suite.counts]
    out += [ex.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)
            for c, (lo, hi) in suite.bounds().items()]
    out += [ex.ExpectColumnPairValuesAToBeGreaterThanB(column_A=a, column_B=b, or_equal=True,
                                                       ignore_row_if="either_value_is_missing")
            for a, b in suite.ordered]
    out += [ex.ExpectColumnValuesToBeInSet(column=c, value_set=list(values)) for c, values in suite.in_set.items()]
    out += [ex.ExpectCompoundColumnsToBeUnique(column_list=list(cols), row_condition=Column(flag) == True)  # noqa: E712
            for flag, cols in suite.unique_where_true.items()]
    out += [ex.ExpectColumnSumToBeBetween(column=c, min_value={"$PARAMETER": suite.parameter(c)},
                                          max_value={"$PARAMETER": suite.parameter(c)})
            for c in suite.reconcile if sums]
    return out


def validated_query(suite: MartSuite) -> str:
    """What GX validates: the mart with `<column>_cents` (exact BIGINT) for its money columns. Table and
    column names are our own (the suites above), never data."""
    cents = "".join(f", CAST({c} * 100 AS BIGINT) AS {c}_cents" for c in suite.money_cents)
    return f"SELECT *{cents} FROM marts.{suite.mart}"


def staged_totals(con: "duckdb.DuckDBPyConnection", suite: MartSuite) -> dict[str, int]:
    """Suite parameters: the staged total each reconciled column must sum to."""
    if not suite.reconcile:
        return {}
    row = con.execute("SELECT " + ", ".join(f"({sql})" for sql in suite.reconcile.values())).fetchone()
    return {suite.parameter(c): int(v) for c, v in zip(suite.reconcile, row)}


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
        self._checkpoints: dict[str, Any] = {}
        self._batches: dict[str, Any] = {}

    def _checkpoint(self, suite: MartSuite, empty: bool):
        name = f"{suite.mart} (empty)" if empty else suite.mart
        if name not in self._checkpoints:
            import great_expectations as gx

            if suite.mart not in self._batches:
                asset = self.source.add_query_asset(suite.mart, query=validated_query(suite))
                self._batches[suite.mart] = asset.add_batch_definition_whole_table("whole")
            gx_suite = self.context.suites.add(gx.ExpectationSuite(name=name, expectations=expectations(
                suite, sums=not empty)))
            validation = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=name, data=self._batches[suite.mart], suite=gx_suite))
            # No UpdateDataDocsAction: validate() renders this validation's and this suite's pages.
            self._checkpoints[name] = self.context.checkpoints.add(gx.Checkpoint(
                name=name, validation_definitions=[validation], actions=[], result_format="SUMMARY",
            ))
        return self._checkpoints[name]

    def _file_url(self, gx_url: str) -> str:
        """GX's file URL quotes the page's key but not the site folder: a proper file:// URI."""
        prefix = f"file://{self.docs_dir}"
        if not gx_url.startswith(prefix):
            return gx_url
        return (self.docs_dir / unquote(gx_url[len(prefix):].lstrip("/"))).as_uri()

    def validate(self, con: "duckdb.DuckDBPyConnection", suite: MartSuite, parameters: dict[str, int],
                 rows: int) -> SuiteOutcome:
        from great_expectations.core.run_identifier import RunIdentifier
        from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

        self.con = con
        result = self._checkpoint(suite, empty=rows == 0).run(
            expectation_parameters=parameters,
            run_id=RunIdentifier(run_name=self.run_name, run_time=datetime.now(timezone.utc)),
        )
        (identifier, validation), = result.run_results.items()
        stats = validation.statistics
        self.context.build_data_docs(site_names=[SITE_NAME], build_index=True, resource_identifiers=[
            identifier, ExpectationSuiteIdentifier(name=identifier.expectation_suite_identifier.name)])
        docs = self.context.get_docs_sites_urls(resource_identifier=identifier, site_name=SITE_NAME)
        docs_url = self._file_url(docs[0]["site_url"]) if docs and docs[0]["site_url"] else None
        _prune_old_runs(self.docs_dir / "validations" / suite.mart, KEEP_RUNS)
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

    def cell(v: Any) -> str:
        return ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")[:200]

    head = ["expectation", "column", "expected", "observed", "unexpected_count"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell(f[h]) for h in head) + " |" for f in failed]
    return "\n".join(lines)


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


def _describe_suite(s: MartSuite) -> str:
    parts = [f"({', '.join(s.keys)}) never NULL nor repeated"]
    if s.counts:
        parts.append(f"{', '.join(s.counts)} never NULL nor negative")
    if s.non_negative:
        parts.append(f"{', '.join(s.non_negative)} >= 0")
    if s.rates:
        parts.append(f"{', '.join(s.rates)} in [0, 1]")
    parts += [f"{c} in [{'' if lo is None else lo}, {'' if hi is None else hi}]" for c, (lo, hi) in s.ranges.items()]
    parts += [f"{a} >= {b}" for a, b in s.ordered]
    parts += [f"{c} in the known values" for c in s.in_set]
    parts += [f"one {flag} row per ({', '.join(cols)})" for flag, cols in s.unique_where_true.items()]
    if s.reconcile:
        parts.append(f"sums of {', '.join(s.reconcile)} equal the staged totals")
    return (f"Great Expectations suite `{s.mart}` on marts.{s.mart}: " + "; ".join(parts)
            + ". GX validates it in DuckDB on every run that builds the table and writes its Data Docs page: "
            "<warehouse folder>/gx/<warehouse name>/index.html.")


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


def suite_of(mart: str) -> MartSuite:
    """A mart added to KEYS without a suite above still gets its keys and bounded rates checked."""
    return SUITES.get(mart) or MartSuite(mart, keys=tuple(KEYS[mart]), rates=tuple(BOUNDED_RATES.get(mart, ())))


def suite_check(mart: str) -> StepCheck:
    """The blocking suite check of marts.<mart>, evaluated right after the mart is written."""
    suite = suite_of(mart)
    return StepCheck(
        f"{mart}_expectation_suite", _describe_suite(suite),
        lambda con, context, funnel: evaluate_suite(con, context.run.run_id, funnel.warehouse_path, suite))
