"""The channel and stage of every distinct raw value: staging.channel_lookup and the mapping tables.

The mappings are computed over the *distinct* raw values only (a few hundred), in Python, because
matching is Unicode-aware (NFKC, case folding) and follows GA4's rule list; the per-row work is a join
in DuckDB (the SQL models of assets/sql/staging/).
"""

import dagster as dg
import duckdb

from assets.core.database import rows_select, table_metadata, write_table
from assets.core.resource import FunnelResource
from assets.core.step import TableAsset, table_spec
from assets.transform.ga4_channel_group import default_channel_group
from assets.transform.mappings import keep_mappings, record_mappings
from schemas import SOURCES
from schemas.config import LIFECYCLE_ORDER, FunnelConfig

RAW = [["raw", s] for s in SOURCES]
FX_COMMENT = ("The exchange rates of config/fx_rates.csv: how many units of the reporting currency "
              "(staging.run_settings.reporting_currency) one unit of a currency is worth in a month.")
FX_COLUMNS = [("month", "DATE", "First day of the month the rate applies to."),
              ("currency", "VARCHAR", "Currency code (upper case)."),
              ("rate", "DECIMAL(18,6)", "Units of the reporting currency per unit of the currency.")]
VIDEO_COSTS_COMMENT = ("The production cost of each YouTube video (config/video_costs.csv), in the reporting "
                      "currency: marts.video_funnel measures each video's ROI against it.")
VIDEO_COSTS_COLUMNS = [("video_id", "VARCHAR", "YouTube video id."),
                       ("cost", "DECIMAL(18,2)", "Production cost in the reporting currency.")]
UNASSIGNED = "Unassigned"


def _blank(v) -> bool:
    return v is None or (isinstance(v, float) and v != v) or not str(v).strip()  # v != v: NaN


def _create(con: duckdb.DuckDBPyConnection, qualified: str, rows: list[tuple],
            columns: list[tuple[str, str]]) -> None:
    """(Re)create table `qualified` holding `rows` as typed (name, type) columns."""
    select, params = rows_select(columns, rows)
    con.execute(f"CREATE OR REPLACE TABLE {qualified} AS {select}", params)


def lead_channel(cfg: FunnelConfig, lead_source, utm_source, utm_medium, utm_campaign) -> tuple[str, str, bool]:
    """(channel, rule, mapped) of a lead: lead_source, else utm source/medium read as GA4 would."""
    ch = cfg.channels
    if not _blank(lead_source):
        m = ch.match_value(lead_source)
        return (m[0], f"lead_source {m[1]}", True) if m else (ch.fallback_channel, "lead_source unmapped", False)
    if not _blank(utm_source) or not _blank(utm_medium):
        group = default_channel_group(utm_source, utm_medium, utm_campaign, cfg.source_categories)
        name = ch.match_ga4_group(group)
        return (name or ch.fallback_channel, f"utm GA4 group {group}", name is not None)
    return (UNASSIGNED if UNASSIGNED in ch.channel_names() else ch.fallback_channel, "no source", True)


def session_channel(cfg: FunnelConfig, source, medium, campaign, given_group) -> tuple[str, str, bool]:
    """(channel group, channel, mapped) of a GA4 row."""
    group = given_group if not _blank(given_group) else default_channel_group(source, medium, campaign,
                                                                                cfg.source_categories)
    name = cfg.channels.match_ga4_group(group)
    return group, name or cfg.channels.fallback_channel, name is not None


def touch_channel(cfg: FunnelConfig, source, medium, campaign) -> tuple[str, str, bool] | None:
    """(channel, rule, mapped) of a touch: source and medium read by GA4's channel rules (as a lead's
    utm values); a source alone matched as a lead-source value (webinar, 展示会); neither: None (the
    touch then belongs to its lead's channel)."""
    if not _blank(medium):
        return lead_channel(cfg, None, source, medium, campaign)
    if not _blank(source):
        return lead_channel(cfg, source, None, None, None)
    return None


def value_channel(cfg: FunnelConfig, value, spend: bool = False) -> tuple[str, str, bool]:
    """(channel, rule, mapped) of a deal source or (`spend`) a spend row's channel value."""
    m = cfg.channels.match_value(value, spend) if not _blank(value) else None
    return (m[0], m[1], True) if m else (cfg.channels.fallback_channel, "unmapped", False)


def build_lookups(con: duckdb.DuckDBPyConnection, cfg: FunnelConfig, tz: str) -> dict[str, int]:
    """Write staging.channel_lookup, deal_stage_map, lifecycle_map, channels, run_settings."""
    rows = []
    for k in con.execute("SELECT DISTINCT lead_source, utm_source, utm_medium, utm_campaign FROM raw.leads").fetchall():
        channel, rule, mapped = lead_channel(cfg, *k)
        rows.append(("lead", *k, None, channel, rule, mapped))
    for k in con.execute(
        "SELECT DISTINCT session_source, session_medium, session_campaign, session_default_channel_group "
        "FROM raw.ga4_sessions"
    ).fetchall():
        group, channel, mapped = session_channel(cfg, *k)
        rows.append(("ga4_session", *k, group, channel, "GA4 channel group", mapped))
    for k in con.execute("SELECT DISTINCT source, medium, campaign FROM raw.touchpoints "
                         "WHERE source IS NOT NULL OR medium IS NOT NULL").fetchall():
        found = touch_channel(cfg, *k)
        if found:
            channel, rule, mapped = found
            rows.append(("touch", *k, None, None, channel, rule, mapped))
    for kind, sql in (("deal", "SELECT DISTINCT deal_source FROM raw.deals WHERE deal_source IS NOT NULL"),
                      ("spend", "SELECT DISTINCT channel FROM raw.spend")):
        for (v,) in con.execute(sql).fetchall():
            channel, rule, mapped = value_channel(cfg, v, spend=kind == "spend")
            rows.append((kind, v, None, None, None, None, channel, rule, mapped))
    _create(con, "staging.channel_lookup", rows, [(c, "VARCHAR") for c in [
        "kind", "k1", "k2", "k3", "k4", "channel_group", "channel", "matched_by"]] + [("mapped", "BOOLEAN")])

    stages = [(v, cfg.stages.deal_outcome(v) or "unknown", cfg.stages.deal_outcome(v) is not None)
              for (v,) in con.execute("SELECT DISTINCT stage FROM raw.deals WHERE stage IS NOT NULL").fetchall()]
    _create(con, "staging.deal_stage_map", stages, [("raw_value", "VARCHAR"), ("outcome", "VARCHAR"),
                                                     ("mapped", "BOOLEAN")])

    lifecycle = []
    for (v,) in con.execute("SELECT DISTINCT lifecycle_stage FROM raw.leads WHERE lifecycle_stage IS NOT NULL").fetchall():
        stage = cfg.stages.lifecycle_stage(v)
        lifecycle.append((v, stage or "lead", LIFECYCLE_ORDER.index(stage or "lead") + 1, stage is not None))
    _create(con, "staging.lifecycle_map", lifecycle, [("raw_value", "VARCHAR"), ("stage", "VARCHAR"),
                                                       ("stage_rank", "BIGINT"), ("mapped", "BOOLEAN")])

    _create(
        con, "staging.channels",
        [(c.name, c.label_ja, c.label_en or c.name, i + 1) for i, c in enumerate(cfg.channels.channels)]
        + [("Unattributed", "未帰属", "Unattributed", len(cfg.channels.channels) + 1)],
        [("channel", "VARCHAR"), ("label_ja", "VARCHAR"), ("label_en", "VARCHAR"), ("sort_order", "BIGINT")],
    )
    con.execute(
        "CREATE OR REPLACE TABLE staging.run_settings AS SELECT CAST($rank AS INTEGER) AS mql_stage_rank, "
        "CAST($threshold AS DOUBLE) AS mql_score_threshold, CAST($tz AS VARCHAR) AS timezone, "
        "CAST($currency AS VARCHAR) AS reporting_currency",
        {"rank": LIFECYCLE_ORDER.index(cfg.stages.mql_rule.lifecycle_at_least) + 1,
         "threshold": cfg.stages.mql_rule.lead_score_threshold, "tz": tz, "currency": cfg.fx.reporting},
    )
    write_table(con, "staging.fx_rates", FX_COMMENT, FX_COLUMNS,
                [[month, currency, rate] for (month, currency), rate in sorted(cfg.fx.rates.items())])
    write_table(con, "staging.video_costs", VIDEO_COSTS_COMMENT, VIDEO_COSTS_COLUMNS, sorted(cfg.video_costs.items()))
    return {"channel_lookup_rows": len(rows), "unmapped_lookup_values": sum(1 for r in rows if not r[-1])
            + sum(1 for s in stages if not s[2]) + sum(1 for s in lifecycle if not s[3])}


def _build_channel_lookup(con: duckdb.DuckDBPyConnection, funnel: FunnelResource) -> dict:
    before = keep_mappings(con)
    counts = build_lookups(con, funnel.load_config(), funnel.timezone)
    changed = record_mappings(con, before)
    return {**table_metadata(con, "staging", "channel_lookup"), **counts, "mapping_generation_changed": changed}


channel_lookup = TableAsset(table_spec(
    dg.AssetKey(["staging", "channel_lookup"]), RAW, "staging",
    "Channel of every distinct raw source value (channels.yaml, GA4 default channel grouping) and "
    "outcome / lifecycle stage of every raw stage value (stages.yaml). Also writes staging.deal_stage_map, "
    "staging.lifecycle_map, staging.channels, staging.run_settings, staging.fx_rates (config/fx_rates.csv) and "
    "staging.video_costs (config/video_costs.csv). A value already mapped that maps "
    "differently now (channels.yaml, stages.yaml or the time zone changed) starts a new mapping generation: the "
    "staging tables are then built in full.", {"duckdb", "python"}), _build_channel_lookup)

# The tables channel_lookup writes: a SQL model reading any of them depends on it.
WRITES = ("staging.channel_lookup", "staging.deal_stage_map", "staging.lifecycle_map", "staging.channels",
          "staging.run_settings", "staging.fx_rates", "staging.video_costs")
