"""The configuration's value mappings for the baselines: every distinct raw value of an
inbox mapped by the pipeline's own code (`assets.transform.lookups.build_lookups`), written as CSV.

    channel_lookup.csv   kind, k1..k4 (cleaned raw values), channel_group, channel, ...
    deal_stage_map.csv   raw_value, outcome
    lifecycle_map.csv    raw_value, stage, stage_rank
    run_settings.csv     mql_stage_rank, mql_score_threshold, timezone
"""

from pathlib import Path

import duckdb

from assets.core.database import SQL_DIR
from assets.transform.lookups import build_lookups
from schemas.config import load_config

LOOKUP_TABLES = ("channel_lookup", "deal_stage_map", "lifecycle_map", "run_settings")

# The raw columns build_lookups reads, cleaned as the pipeline cleans text (clean_text).
DISTINCT_VALUES = {
    "leads": ("lead_source", "utm_source", "utm_medium", "utm_campaign", "lifecycle_stage"),
    "ga4_sessions": ("session_source", "session_medium", "session_campaign", "session_default_channel_group"),
    "deals": ("deal_source", "stage"),
    "spend": ("channel",),
}


def write_lookups(inbox: Path, config_dir: Path, out_dir: Path, tz: str = "Asia/Tokyo") -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute((SQL_DIR / "parse_macros.sql").read_text(encoding="utf-8"))
    con.execute("CREATE SCHEMA raw; CREATE SCHEMA staging")
    for source, columns in DISTINCT_VALUES.items():
        cleaned = ", ".join(f"clean_text({c}) AS {c}" for c in columns)
        con.execute(f"CREATE TABLE raw.{source} AS SELECT DISTINCT {cleaned} FROM read_csv($files, all_varchar = true, "
                    "header = true, delim = ',', quote = '\"', escape = '\"')",
                    {"files": str(inbox / source / "*.csv")})
    # the baselines compute no touch-based mart: touch channels are not needed
    con.execute("CREATE TABLE raw.touchpoints (source VARCHAR, medium VARCHAR, campaign VARCHAR)")
    build_lookups(con, load_config(config_dir), tz)
    for table in LOOKUP_TABLES:
        con.table(f"staging.{table}").write_csv(str(out_dir / f"{table}.csv"), header=True)
    con.close()
