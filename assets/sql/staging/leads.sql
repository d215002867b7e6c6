/* incremental:
  keys:
    touched_leads: "SELECT DISTINCT lead_id FROM raw.leads WHERE _load_id > $since"
  scopes:
    scope_raw_leads: {relation: raw.leads, touched: "lead_id IN (SELECT lead_id FROM touched_leads)"}
  outputs:
    staging.leads: {rows: leads_rows, stale: "lead_id IN (SELECT lead_id FROM touched_leads)"}
*/
-- One row per lead: its newest snapshot, with channel, lifecycle rank and the
-- first snapshot in which it was seen at MQL / SQL (stage history).
-- Rows of staging.leads (assets/transform/incremental.py builds the table from this view): scope_raw_leads is
-- raw.leads in a full build, and only the raw rows of the leads that new loads touched otherwise.
--
-- One aggregation over narrow columns finds each lead's history and its newest version (a load holds
-- a lead once: the ingest quarantines a key repeated in a file); only that version's raw row is then
-- read in full. A window over every version carrying all columns spilled to disk and took 5x longer.
CREATE OR REPLACE TEMP VIEW leads_rows AS
WITH history AS (
    SELECT r.lead_id,
        arg_max(r._load_id, version_key(coalesce(r.updated_at, f.exported_at), f.snapshot_order)) AS newest_load_id,
        min(coalesce(r.updated_at, f.exported_at)) FILTER (
            WHERE coalesce(m.stage_rank, 1) >= (SELECT mql_stage_rank FROM staging.run_settings)) AS first_seen_mql_at,
        min(coalesce(r.updated_at, f.exported_at)) FILTER (WHERE coalesce(m.stage_rank, 1) >= 3) AS first_seen_sql_at,
        count(*) AS snapshots_seen
    FROM scope_raw_leads r
    JOIN load_snapshots() f ON f.load_id = r._load_id
    LEFT JOIN staging.lifecycle_map m ON m.raw_value = r.lifecycle_stage
    GROUP BY r.lead_id
)
SELECT l.lead_id, l.created_at, c.channel, c.matched_by AS channel_rule,
       l.lead_source, l.lead_source_detail, l.campaign, l.utm_source, l.utm_medium, l.utm_campaign,
       l.company, l.job_title, l.lifecycle_stage, coalesce(m.stage_rank, 1) AS lifecycle_rank, l.lead_score,
       l.mql_at, l.sql_at, l.disqualified_at, l.updated_at,
       h.first_seen_mql_at, h.first_seen_sql_at, h.snapshots_seen,
       l._source_file, l._source_row
FROM scope_raw_leads l
JOIN history h ON h.lead_id = l.lead_id AND h.newest_load_id = l._load_id
LEFT JOIN staging.lifecycle_map m ON m.raw_value = l.lifecycle_stage
JOIN staging.channel_lookup c
  ON c.kind = 'lead' AND c.k1 IS NOT DISTINCT FROM l.lead_source AND c.k2 IS NOT DISTINCT FROM l.utm_source
 AND c.k3 IS NOT DISTINCT FROM l.utm_medium AND c.k4 IS NOT DISTINCT FROM l.utm_campaign;
COMMENT ON TABLE staging.leads IS 'One row per lead id ever loaded: its newest version wins (the latest updated_at; without one, the version of the file exported last, ops.load_log.exported_at); leads missing from later snapshots are kept.';
COMMENT ON COLUMN staging.leads.channel IS 'Channel name: lead_source through channels.yaml, else utm_source/utm_medium read by GA4''s channel rules; no source at all is Unassigned.';
COMMENT ON COLUMN staging.leads.lifecycle_rank IS '1 lead, 2 mql, 3 sql, 4 opportunity, 5 customer (stages.yaml; unmapped values read as 1).';
COMMENT ON COLUMN staging.leads.first_seen_mql_at IS 'updated_at (else the export moment of its file, ops.load_log.exported_at) of the first snapshot showing the lead at the MQL lifecycle stage or later.';
COMMENT ON COLUMN staging.leads.first_seen_sql_at IS 'updated_at (else the export moment of its file, ops.load_log.exported_at) of the first snapshot showing the lead at the SQL lifecycle stage or later.';
