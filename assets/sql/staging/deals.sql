/* incremental:
  keys:
    # a deal changes with its own raw rows, and with its lead (channel, whether it is linked)
    touched_deals: >-
      SELECT DISTINCT deal_id FROM raw.deals WHERE _load_id > $since
      UNION SELECT deal_id FROM staging.deals WHERE lead_id IN (SELECT lead_id FROM raw.leads WHERE _load_id > $since)
  scopes:
    scope_raw_deals: {relation: raw.deals, touched: "deal_id IN (SELECT deal_id FROM touched_deals)"}
  outputs:
    staging.deals: {rows: deals_rows, stale: "deal_id IN (SELECT deal_id FROM touched_deals)"}
*/
-- One row per deal: newest snapshot, outcome, channel (its lead's, else its own source).
-- Rows of staging.deals (assets/transform/incremental.py builds the table from this view): scope_raw_deals is
-- raw.deals in a full build, and otherwise only the raw rows of the deals that new loads touched or
-- whose lead they touched.
CREATE OR REPLACE TEMP VIEW deals_rows AS
WITH newest AS (  -- each deal's newest load, found over narrow columns (a load holds a deal once)
    SELECT r.deal_id,
           arg_max(r._load_id, version_key(coalesce(r.updated_at, f.exported_at), f.snapshot_order)) AS newest_load_id
    FROM scope_raw_deals r JOIN load_snapshots() f ON f.load_id = r._load_id
    GROUP BY r.deal_id
),
latest AS (
    SELECT r.* FROM scope_raw_deals r JOIN newest n ON n.deal_id = r.deal_id AND n.newest_load_id = r._load_id
)
SELECT d.deal_id, d.created_at, d.stage, coalesce(s.outcome, 'unknown') AS outcome,
       d.lead_id, l.lead_id IS NOT NULL AS lead_linked,
       CASE WHEN l.lead_id IS NOT NULL THEN l.channel
            WHEN d.deal_source IS NOT NULL THEN c.channel
            ELSE 'Unattributed' END AS channel,
       CASE WHEN l.lead_id IS NOT NULL THEN 'lead'
            WHEN d.deal_source IS NOT NULL THEN 'deal_source'
            ELSE 'none' END AS channel_basis,
       d.deal_source, d.amount, d.currency, d.close_date,
       CASE WHEN coalesce(s.outcome, 'unknown') IN ('won', 'lost')
            THEN coalesce(d.close_date, CAST(h.first_seen_at AS DATE), CAST(d.created_at AS DATE)) END AS closed_on,
       coalesce(s.outcome, 'unknown') IN ('won', 'lost') AND d.close_date IS NULL AS close_date_inferred,
       d.pipeline, d.updated_at, d._source_file, d._source_row
FROM latest d
LEFT JOIN staging.deal_stage_map s ON s.raw_value = d.stage
LEFT JOIN (  -- when the deal was first seen with its final outcome, in any snapshot
    SELECT record_id, mapped_stage, min(first_seen_at) AS first_seen_at FROM marts.stage_history
    WHERE record_type = 'deal' GROUP BY ALL
) h ON h.record_id = d.deal_id AND h.mapped_stage = s.outcome
LEFT JOIN staging.leads l ON l.lead_id = d.lead_id
LEFT JOIN staging.channel_lookup c ON c.kind = 'deal' AND c.k1 = d.deal_source;
COMMENT ON TABLE staging.deals IS 'One row per deal id ever loaded: its newest version wins (the latest updated_at; without one, the version of the file exported last, ops.load_log.exported_at); deals missing from later snapshots are kept.';
COMMENT ON COLUMN staging.deals.outcome IS 'won, lost, open, or unknown (stage in no list of stages.yaml; counted as an open opportunity).';
COMMENT ON COLUMN staging.deals.channel IS 'The linked lead''s channel; else deal_source through channels.yaml; else Unattributed.';
COMMENT ON COLUMN staging.deals.closed_on IS 'Close date of a won or lost deal: close_date, else (close_date_inferred) the day it was first seen won or lost in any snapshot (marts.stage_history: that snapshot''s updated_at, else its file''s export moment), else created_at.';
