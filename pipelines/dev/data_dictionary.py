"""The analysts' data dictionary, `docs/metrics.md`, generated from the warehouse's COMMENTs.

Every table and column of the published file carries a COMMENT written next to
its SQL (assets/sql/); this module turns them into Markdown, so the definitions
exist once and the document cannot drift from them. The output depends only on
the schema and the comments, never on the data, and is byte-for-byte
deterministic; tests/e2e/test_data_dictionary.py fails when the committed file is
not what the current SQL produces.

    .venv/bin/python -m pipelines.dev.data_dictionary            # rebuild docs/metrics.md
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import duckdb

from assets.publish.publish import PUBLISHED_SCHEMAS
from assets.core import settings
from pipelines.dev.names_doc import render_names

REGENERATE_COMMAND = ".venv/bin/funnel docs"
DEFAULT_OUT = settings.PROJECT_ROOT / "docs" / "metrics.md"
CLI_WAREHOUSE = settings.DEFAULT_WAREHOUSE_PATH  # the path analysts open, as in the README

# Contract section 5 order; other marts follow alphabetically, then every ops and quarantine table.
MARTS_ORDER = ("channel_funnel", "lead_cohort_funnel", "mql_to_sql", "deal_to_win", "channel_roi", "stage_velocity",
               "target_plan", "bottlenecks", "cohort_roi", "pipeline_velocity")
SCHEMAS = PUBLISHED_SCHEMAS

# Reference warehouse: the sample exports the dictionary is rendered from.
REFERENCE_MONTHS = 18
REFERENCE_SEED = 7
REFERENCE_END_MONTH = "2026-09"


@dataclass(frozen=True)
class ExampleQuery:
    """One query an analyst can paste, and the columns it needs (else: SELECT * LIMIT 10)."""

    what: str
    sql: str
    needs: tuple[str, ...]


# SQL may use single quotes but no double quotes, `$` or backticks: it is pasted
# inside "..." on a shell command line.
EXAMPLES: dict[str, ExampleQuery] = {
    "marts.channel_funnel": ExampleQuery(
        "Last 12 months per channel, with the rates recomputed from the summed counts "
        "(averaging the monthly rates would weight a quiet month like a busy one).",
        """
        SELECT channel,
               sum(sessions) AS sessions, sum(leads) AS leads, sum(mqls) AS mqls, sum(sqls) AS sqls,
               sum(opportunities) AS opportunities, sum(wins) AS wins, sum(revenue) AS revenue,
               round(sum(leads) / nullif(sum(sessions), 0), 4) AS session_to_lead_rate,
               round(sum(mqls) / nullif(sum(leads), 0), 3) AS lead_to_mql_rate,
               round(sum(sqls) / nullif(sum(mqls), 0), 3) AS mql_to_sql_rate,
               round(sum(opportunities) / nullif(sum(sqls), 0), 3) AS sql_to_opportunity_rate,
               round(sum(wins) / nullif(sum(opportunities), 0), 3) AS opportunity_to_win_rate
        FROM marts.channel_funnel
        WHERE period_start > (SELECT max(period_start) FROM marts.channel_funnel) - INTERVAL 12 MONTH
        GROUP BY channel
        ORDER BY revenue DESC
        """,
        ("period_start", "channel", "sessions", "leads", "mqls", "sqls", "opportunities", "wins", "revenue"),
    ),
    "marts.channel_funnel_fiscal": ExampleQuery(
        "Per fiscal year and channel, newest year first (every month is in a fiscal_quarter row and a fiscal_year "
        "row: always filter on grain).",
        """
        SELECT period, channel, leads, mqls, sqls, opportunities, wins, revenue,
               round(lead_to_mql_rate, 3) AS lead_to_mql_rate, round(opportunity_to_win_rate, 3) AS opportunity_to_win_rate
        FROM marts.channel_funnel_fiscal
        WHERE grain = 'fiscal_year'
        ORDER BY period_start DESC, revenue DESC
        """,
        ("grain", "period", "period_start", "channel", "leads", "mqls", "sqls", "opportunities", "wins", "revenue",
         "lead_to_mql_rate", "opportunity_to_win_rate"),
    ),
    "marts.lead_cohort_funnel": ExampleQuery(
        "Lead-to-win per channel over the cohorts at least 6 months old (younger cohorts are still converting).",
        """
        SELECT channel,
               sum(leads) AS leads, sum(reached_mql) AS reached_mql, sum(reached_sql) AS reached_sql,
               sum(reached_opportunity) AS reached_opportunity, sum(reached_win) AS reached_win, sum(revenue) AS revenue,
               round(sum(reached_mql) / nullif(sum(leads), 0), 3) AS lead_to_mql_rate,
               round(sum(reached_win) / nullif(sum(leads), 0), 4) AS lead_to_win_rate
        FROM marts.lead_cohort_funnel
        WHERE cohort_start <= (SELECT max(cohort_start) FROM marts.lead_cohort_funnel) - INTERVAL 6 MONTH
        GROUP BY channel
        ORDER BY lead_to_win_rate DESC NULLS LAST
        """,
        ("cohort_start", "channel", "leads", "reached_mql", "reached_sql", "reached_opportunity", "reached_win",
         "revenue"),
    ),
    "marts.mql_to_sql": ExampleQuery(
        "MQL-to-SQL per MQL month over all channels, newest first (recent months are still converting).",
        """
        SELECT period_start, sum(mqls) AS mqls, sum(reached_sql) AS reached_sql,
               round(sum(reached_sql) / nullif(sum(mqls), 0), 3) AS mql_to_sql_rate
        FROM marts.mql_to_sql
        GROUP BY period_start
        ORDER BY period_start DESC
        LIMIT 12
        """,
        ("period_start", "mqls", "reached_sql"),
    ),
    "marts.deal_to_win": ExampleQuery(
        "Win rate and average deal size per channel over the last 12 close months, recomputed from the sums.",
        """
        SELECT channel, sum(wins) AS wins, sum(losses) AS losses,
               round(sum(wins) / nullif(sum(wins) + sum(losses), 0), 3) AS win_rate,
               sum(revenue) AS revenue,
               round(sum(revenue) / nullif(sum(wins), 0), 0) AS avg_deal_size
        FROM marts.deal_to_win
        WHERE period_start > (SELECT max(period_start) FROM marts.deal_to_win) - INTERVAL 12 MONTH
        GROUP BY channel
        ORDER BY revenue DESC
        """,
        ("period_start", "channel", "wins", "losses", "revenue"),
    ),
    "marts.channel_roi": ExampleQuery(
        "Spend, revenue and return per channel for the latest month.",
        """
        SELECT period_start, channel, spend, leads, wins, revenue, cpa, cac, round(roas, 2) AS roas, round(roi, 2) AS roi
        FROM marts.channel_roi
        WHERE period_start = (SELECT max(period_start) FROM marts.channel_roi)
        ORDER BY spend DESC NULLS LAST, channel
        """,
        ("period_start", "channel", "spend", "leads", "wins", "revenue", "cpa", "cac", "roas", "roi"),
    ),
    "marts.stage_velocity": ExampleQuery(
        "How long deals take to close, fastest channel first.",
        """
        SELECT channel, n, round(median_days, 1) AS median_days, round(p75_days, 1) AS p75_days
        FROM marts.stage_velocity
        WHERE transition = 'opportunity_to_win'
        ORDER BY median_days, channel
        """,
        ("channel", "transition", "n", "median_days", "p75_days"),
    ),
    # Contract section 5 marts not built yet: used once their columns exist.
    "marts.target_plan": ExampleQuery(
        "The whole target of the latest target period, stage by stage: required, actual, gap and pace.",
        """
        SELECT period, stage, rate_used, required, actual, gap, pace
        FROM marts.target_plan
        WHERE channel = 'All' AND period_start = (SELECT max(period_start) FROM marts.target_plan)
        ORDER BY list_position(['impressions', 'sessions', 'leads', 'mqls', 'sqls', 'opportunities', 'wins', 'revenue'], stage)
        """,
        ("period", "period_start", "channel", "stage", "rate_used", "required", "actual", "gap", "pace"),
    ),
    "marts.attributed_revenue": ExampleQuery(
        "Revenue of the last 12 months per channel under each attribution model.",
        """
        SELECT channel, model, sum(attributed_revenue) AS attributed_revenue
        FROM marts.attributed_revenue
        WHERE period_start > (SELECT max(period_start) FROM marts.attributed_revenue) - INTERVAL 12 MONTH
        GROUP BY channel, model
        ORDER BY channel, model
        """,
        ("period_start", "channel", "model", "attributed_revenue"),
    ),
    "marts.content_influence": ExampleQuery(
        "Do prospects who watched a video before the first meeting win more often? Each rate next to the "
        "deals it is made of; content with fewer than 30 closed deals on either side is left out.",
        """
        SELECT touch_type, content_id,
               round(pre_opportunity_touch_rate, 3) AS pre_opportunity_touch_rate,
               won_with_touch || '/' || closed_with_touch AS won_with,
               round(win_rate_with_touch, 3) AS win_rate_with,
               won_without_touch || '/' || closed_without_touch AS won_without,
               round(win_rate_without_touch, 3) AS win_rate_without
        FROM marts.content_influence
        WHERE touch_type = 'video_view' AND least(closed_with_touch, closed_without_touch) >= 30
        ORDER BY win_rate_with_touch - win_rate_without_touch DESC
        """,
        ("touch_type", "content_id", "pre_opportunity_touch_rate", "won_with_touch", "closed_with_touch",
         "win_rate_with_touch", "won_without_touch", "closed_without_touch", "win_rate_without_touch"),
    ),
    "marts.video_performance": ExampleQuery(
        "Each video's latest months: impressions, CTR, views and how long people watch (month rows only: never add "
        "rows of different period grains).",
        """
        SELECT period, video_title, impressions, round(impression_ctr, 4) AS impression_ctr, views,
               round(average_view_duration_seconds) AS view_seconds,
               round(average_percentage_viewed, 3) AS share_viewed
        FROM marts.video_performance
        WHERE period_grain = 'month'
        ORDER BY period_start DESC, views DESC NULLS LAST
        LIMIT 20
        """,
        ("period", "period_grain", "period_start", "video_title", "impressions", "impression_ctr", "views",
         "average_view_duration_seconds", "average_percentage_viewed"),
    ),
    "marts.video_funnel": ExampleQuery(
        "Each video's funnel over the last 12 months, the rates recomputed from the sums, and its ROI to date.",
        """
        SELECT video_id, any_value(video_title) AS video_title, sum(views) AS views, sum(inquiries) AS inquiries,
               sum(opportunities) AS opportunities, sum(wins) AS wins, sum(revenue) AS revenue,
               round(sum(inquiries) / nullif(sum(views), 0), 4) AS view_to_inquiry_rate,
               round(sum(wins) / nullif(sum(opportunities), 0), 3) AS opportunity_to_win_rate,
               round(arg_max(roi_to_date, period_start), 2) AS roi_to_date
        FROM marts.video_funnel
        WHERE period_start > (SELECT max(period_start) FROM marts.video_funnel) - INTERVAL 12 MONTH
        GROUP BY video_id
        ORDER BY revenue DESC
        """,
        ("period_start", "video_id", "video_title", "views", "inquiries", "opportunities", "wins", "revenue",
         "roi_to_date"),
    ),
    "marts.cohort_roi": ExampleQuery(
        "Which channel returns the most per yen over the real B2B cycle: the lead cohorts of the last fiscal "
        "year's months and more than 6 months old (their deals had time to close), revenue so far against the "
        "spend of their months, recomputed from the sums.",
        """
        SELECT channel, sum(spend) AS spend, sum(reached_win) AS reached_win, sum(revenue) AS revenue,
               round(sum(revenue) / nullif(sum(spend), 0), 2) AS roas,
               round((sum(revenue) - sum(spend)) / nullif(sum(spend), 0), 2) AS roi
        FROM marts.cohort_roi
        WHERE cohort_start <= (SELECT max(cohort_start) FROM marts.cohort_roi) - INTERVAL 6 MONTH
          AND cohort_start > (SELECT max(cohort_start) FROM marts.cohort_roi) - INTERVAL 18 MONTH
        GROUP BY channel
        ORDER BY roas DESC NULLS LAST
        """,
        ("cohort_start", "channel", "spend", "reached_win", "revenue"),
    ),
    "marts.pipeline_velocity": ExampleQuery(
        "Pipeline velocity of the latest month per channel, and its four parts.",
        """
        SELECT channel, open_opportunities, round(win_rate, 3) AS win_rate, avg_deal_size,
               round(avg_sales_cycle_days, 1) AS avg_sales_cycle_days, round(pipeline_velocity) AS yen_per_day
        FROM marts.pipeline_velocity
        WHERE period_start = (SELECT max(period_start) FROM marts.pipeline_velocity)
        ORDER BY pipeline_velocity DESC NULLS LAST
        """,
        ("period_start", "channel", "open_opportunities", "win_rate", "avg_deal_size", "avg_sales_cycle_days",
         "pipeline_velocity"),
    ),
    "marts.stage_history": ExampleQuery(
        "How long leads stayed at each lifecycle stage, from the snapshots they were seen in.",
        """
        SELECT mapped_stage, count(*) AS leads,
               round(median(date_diff('day', first_seen_at, last_seen_at)), 1) AS median_days_seen
        FROM marts.stage_history
        WHERE record_type = 'lead'
        GROUP BY mapped_stage
        ORDER BY leads DESC
        """,
        ("record_type", "mapped_stage", "first_seen_at", "last_seen_at"),
    ),
    "marts.channel_roi_fiscal": ExampleQuery(
        "Return per channel in each fiscal year (rates already recomputed from the year's sums).",
        """
        SELECT period, channel, spend, wins, revenue, cac, round(roas, 2) AS roas, round(roi, 2) AS roi
        FROM marts.channel_roi_fiscal
        WHERE grain = 'fiscal_year'
        ORDER BY period DESC, revenue DESC
        """,
        ("grain", "period", "channel", "spend", "wins", "revenue", "cac", "roas", "roi"),
    ),
    "marts.attributed_revenue_fiscal": ExampleQuery(
        "Revenue of the latest fiscal year per channel under each model, side by side.",
        """
        PIVOT (SELECT channel, model, attributed_revenue FROM marts.attributed_revenue_fiscal
               WHERE grain = 'fiscal_year'
                 AND period = (SELECT max(period) FROM marts.attributed_revenue_fiscal WHERE grain = 'fiscal_year'))
        ON model USING sum(attributed_revenue)
        ORDER BY channel
        """,
        ("grain", "period", "channel", "model", "attributed_revenue"),
    ),
    "marts.deal_to_win_fiscal": ExampleQuery(
        "Win rate, deal size and days to close per fiscal quarter and channel.",
        """
        SELECT period, channel, wins, losses, round(win_rate, 3) AS win_rate, avg_deal_size,
               median_days_opportunity_to_win
        FROM marts.deal_to_win_fiscal
        WHERE grain = 'fiscal_quarter'
        ORDER BY period DESC, channel
        """,
        ("grain", "period", "channel", "wins", "losses", "win_rate", "avg_deal_size", "median_days_opportunity_to_win"),
    ),
    "marts.bottlenecks": ExampleQuery(
        "The bottlenecks of the latest month.",
        """
        SELECT *
        FROM marts.bottlenecks
        WHERE is_bottleneck AND cohort_start = (SELECT max(cohort_start) FROM marts.bottlenecks)
        ORDER BY channel, transition
        """,
        ("cohort_start", "channel", "transition", "is_bottleneck"),
    ),
    "ops.load_errors": ExampleQuery(
        "The problems of the most recently rejected files, row by row.",
        """
        SELECT file_name, row_number, column_name, problem, raw_value
        FROM ops.load_errors
        ORDER BY load_id DESC, row_number NULLS FIRST, column_name
        LIMIT 50
        """,
        ("load_id", "file_name", "row_number", "column_name", "problem", "raw_value"),
    ),
    "ops.load_log": ExampleQuery(
        "The latest files read, loaded or rejected, and why.",
        """
        SELECT loaded_at, source, file_name, status, rows_read, rows_loaded, message
        FROM ops.load_log
        ORDER BY load_id DESC
        LIMIT 20
        """,
        ("load_id", "loaded_at", "source", "file_name", "status", "rows_read", "rows_loaded", "message"),
    ),
    "ops.unmapped_values": ExampleQuery(
        "Raw values without a rule, most frequent first: candidates for channels.yaml / stages.yaml.",
        """
        SELECT kind, raw_value, mapped_to, records
        FROM ops.unmapped_values
        ORDER BY records DESC, kind, raw_value
        LIMIT 20
        """,
        ("kind", "raw_value", "mapped_to", "records"),
    ),
}


def _table_order(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """(schema, table, comment) of the published tables: marts in contract order, then ops."""
    rows = con.execute(
        "SELECT schema_name, table_name, comment FROM duckdb_tables() "
        "WHERE database_name = current_database() AND NOT temporary AND schema_name IN (SELECT unnest($schemas))",
        {"schemas": list(SCHEMAS)},
    ).fetchall()

    def key(row: tuple[str, str, str | None]) -> tuple:
        schema, table, _ = row
        base = table.removesuffix("_fiscal")  # a fiscal roll-up right after its monthly mart
        contract_rank = MARTS_ORDER.index(base) if schema == "marts" and base in MARTS_ORDER else len(MARTS_ORDER)
        return (SCHEMAS.index(schema), contract_rank, base, table)

    return sorted(rows, key=key)


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[tuple[str, str, str | None]]:
    return con.execute(
        "SELECT column_name, data_type, comment FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name = $s AND table_name = $t ORDER BY column_index",
        {"s": schema, "t": table},
    ).fetchall()


def _inline(text: str | None) -> str:
    """A comment as one Markdown line: whitespace collapsed, `|` escaped (it would split a table cell)."""
    return " ".join((text or "").split()).replace("\\", "\\\\").replace("|", "\\|")


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation other than - and _ dropped."""
    return "".join(c for c in heading.lower() if c.isalnum() or c in "-_ ").replace(" ", "-")


def example_for(qualified: str, column_names: list[str]) -> ExampleQuery:
    """The example of a table; SELECT * when it has none or lacks a column the example needs."""
    example = EXAMPLES.get(qualified)
    if example is None or not set(example.needs) <= set(column_names):
        return ExampleQuery("The first rows.", f"SELECT * FROM {qualified} LIMIT 10", ())
    return example


def shell_command(sql: str) -> str:
    """`.venv/bin/funnel sql "<sql>"` (the published file, read-only), the SQL dedented and kept on its own lines."""
    body = textwrap.indent(textwrap.dedent(sql).strip(), "  ")
    if any(c in body for c in '"$`\\'):
        raise ValueError(f"example SQL must not contain double quotes, $, backticks or backslashes: {body}")
    return f'.venv/bin/funnel sql "\n{body}\n"'


def render_data_dictionary(con: duckdb.DuckDBPyConnection) -> str:
    """docs/metrics.md from the COMMENTs of the schemas marts and ops of `con`'s database."""
    tables = _table_order(con)
    out = [
        "# Data dictionary: the published funnel warehouse",
        "",
        "<!-- GENERATED FILE: do not edit by hand. -->",
        "",
        "Generated from the `COMMENT` on every table and column of the published DuckDB file "
        f"(`{CLI_WAREHOUSE}`), which are written next to their SQL in `assets/sql/`. "
        "Do not edit this file by hand: change the COMMENT in the SQL, then regenerate it with "
        f"`{REGENERATE_COMMAND}`. A test (`tests/e2e/test_data_dictionary.py`) fails while it is out of date. "
        "The names of concepts (and the renamed columns) come from `assets/core/names.py`.",
        "",
        "Every example runs as is from the project folder, with the [duckdb CLI](https://duckdb.org/docs/installation/).",
        "",
        "## Tables",
        "",
    ]
    for schema, table, comment in tables:
        name = f"{schema}.{table}"
        first_sentence = _inline(comment).split(". ")[0].rstrip(".")
        out.append(f"- [`{name}`](#{_anchor(name)}): {first_sentence}." if comment else f"- [`{name}`](#{_anchor(name)})")
    out += ["", *render_names()]
    for schema, table, comment in tables:
        name = f"{schema}.{table}"
        columns = _columns(con, schema, table)
        example = example_for(name, [c[0] for c in columns])
        out += ["", f"## {name}", "", _inline(comment), "", "| column | type | definition |", "|---|---|---|"]
        out += [f"| `{col}` | {_inline(dtype)} | {_inline(col_comment)} |" for col, dtype, col_comment in columns]
        out += ["", f"**Example.** {example.what}", "", "```sh", shell_command(example.sql), "```"]
    return "\n".join(out) + "\n"


def write_data_dictionary(warehouse_path: str | Path, out_path: str | Path) -> Path:
    """Render the dictionary of a published warehouse file into out_path (UTF-8, LF line ends)."""
    with duckdb.connect(str(warehouse_path), read_only=True) as con:
        text = render_data_dictionary(con)
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(text.encode("utf-8"))
    return out_path


def build_reference_warehouse(tmp_dir: str | Path) -> Path:
    """Sample exports + the real job (ephemeral Dagster instance) under tmp_dir; returns the published file."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.dev.generate import generate_sample_exports

    tmp_dir = Path(tmp_dir)
    inbox = tmp_dir / "inbox"
    warehouse = tmp_dir / "warehouse" / "funnel.duckdb"
    generate_sample_exports(inbox, months=REFERENCE_MONTHS, seed=REFERENCE_SEED, end_month=REFERENCE_END_MONTH)
    result = defs().resolve_job_def("funnel_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={
            "resources": {"funnel": {"config": {
                "inbox_dir": str(inbox), "config_dir": str(settings.PROJECT_ROOT / "config"),
                "warehouse_path": str(warehouse), "timezone": "Asia/Tokyo"}}},
            "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
        },
        raise_on_error=False,
    )
    if not result.success or not warehouse.exists():
        failed = [e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        raise RuntimeError(f"the reference warehouse did not build (failed steps: {', '.join(failed) or 'none'})")
    return warehouse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.dev.data_dictionary",
        description="Regenerate docs/metrics.md from the COMMENTs of a freshly built sample warehouse.",
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output file (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="funnel-docs-") as tmp:
        warehouse = build_reference_warehouse(tmp)
        out = write_data_dictionary(warehouse, args.out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
