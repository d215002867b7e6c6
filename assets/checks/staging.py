"""Checks of staging tables, each a step of its own: they warn about raw values no rule maps and rows left
out so that nothing counts twice."""

import dagster as dg

from assets.core import markdown
from assets.core.resource import FunnelResource


@dg.asset_check(asset=dg.AssetKey(["ops", "unmapped_values"]), name="every_raw_value_mapped",
                description="Warns when a lead/deal source, spend channel, GA4 channel group or stage value "
                "matches no rule of channels.yaml / stages.yaml (its records are kept in the fallback).")
def every_raw_value_mapped(funnel: FunnelResource) -> dg.AssetCheckResult:
    with funnel.connect() as con:
        columns, rows = markdown.fetch(
            con, "SELECT kind, raw_value, mapped_to, records FROM ops.unmapped_values ORDER BY records DESC LIMIT 20")
        total = con.execute("SELECT coalesce(sum(records), 0) FROM ops.unmapped_values").fetchone()[0]
    problem = ((f"{int(total):,} records carry" if total != 1 else "1 record carries")
               + " a value that no rule of config/channels.yaml or config/stages.yaml maps, so they are counted in "
               "the fallback (Other, Unassigned or the first stage). `funnel status` lists the values; a rule for "
               "each maps them on the next run.")
    return dg.AssetCheckResult(
        passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"unmapped_values": len(rows), "records": int(total),
                  "top": dg.MetadataValue.md(markdown.rows_table(columns, rows)),
                  **({"problem": dg.MetadataValue.md(problem)} if total else {})},
    )


def _counted_once_check(table: str, measure: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(asset=dg.AssetKey(["staging", table]), name=f"{table}_counted_once",
                    description=f"Warns when rows of {table} were loaded but are not counted in the monthly marts so "
                    "that nothing counts twice: a range total (an export without a date column, dated by its date "
                    "range) over several months or covered by finer rows or a newer range"
                    + (", a month row whose month has day rows of the same channel and campaign, or a cost in a "
                       "currency without an exchange rate for its month (config/fx_rates.csv)" if table == "spend"
                       else "") + f". The rows and the reason are in staging.{table}_not_counted.")
    def _check(funnel: FunnelResource) -> dg.AssetCheckResult:
        with funnel.connect() as con:
            columns, rows = markdown.fetch(
                con, f"SELECT _source_file AS file, date AS starts, date_end AS ends, count(*) AS rows, "
                f"sum({measure}) AS {measure}, any_value(not_counted_because) AS reason "
                f"FROM staging.{table}_not_counted GROUP BY ALL ORDER BY file, starts LIMIT 20")
        return dg.AssetCheckResult(
            passed=not rows,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"files": len({r[0] for r in rows}), "rows": sum(r[3] for r in rows),
                      "not_counted": dg.MetadataValue.md(markdown.rows_table(columns, rows))},
        )

    return _check


@dg.asset_check(asset=dg.AssetKey(["staging", "deals"]), name="deals_in_reporting_currency",
                description="Warns when deals carry a currency other than the reporting currency (reporting_currency "
                "of config/sources.yaml, default JPY): their amounts are counted as they are, not converted.")
def deals_in_reporting_currency(funnel: FunnelResource) -> dg.AssetCheckResult:
    with funnel.connect() as con:
        columns, rows = markdown.fetch(
            con, "SELECT upper(trim(d.currency)) AS currency, count(*) AS deals, sum(d.amount) AS amount "
            "FROM staging.deals d CROSS JOIN staging.run_settings s "
            "WHERE d.currency IS NOT NULL AND upper(trim(d.currency)) <> s.reporting_currency "
            "GROUP BY ALL ORDER BY deals DESC")
    return dg.AssetCheckResult(
        passed=not rows, severity=dg.AssetCheckSeverity.WARN,
        metadata={"deals": sum(r[1] for r in rows),
                  "currencies": dg.MetadataValue.md(markdown.rows_table(columns, rows))})


STAGING_CHECKS = [
    every_raw_value_mapped,
    _counted_once_check("sessions", "sessions"), _counted_once_check("spend", "cost_in_currency"),
    deals_in_reporting_currency]
