-- One row per lead: its newest snapshot, with channel, lifecycle rank and the
-- first snapshot in which it was seen at MQL / SQL (stage history).
-- Rows of staging.leads (assets/incremental.py builds the table from this view): scope_raw_leads is
-- raw.leads in a full build, and only the raw rows of the leads that new loads touched otherwise.
CREATE OR REPLACE TEMP VIEW leads_rows AS
WITH versions AS (
    SELECT r.*, f.file_modified_at AS snapshot_at, local_time(f.file_modified_at, (SELECT timezone FROM staging.run_settings)) AS snapshot_local,
           coalesce(m.stage_rank, 1) AS lifecycle_rank
    FROM scope_raw_leads r
    JOIN ops.load_log f ON f.load_id = r._load_id
    LEFT JOIN staging.lifecycle_map m ON m.raw_value = r.lifecycle_stage
),
history AS (
    SELECT lead_id,
        min(coalesce(updated_at, snapshot_local)) FILTER (
            WHERE lifecycle_rank >= (SELECT mql_stage_rank FROM staging.run_settings)) AS first_seen_mql_at,
        min(coalesce(updated_at, snapshot_local)) FILTER (WHERE lifecycle_rank >= 3) AS first_seen_sql_at,
        count(*) AS snapshots_seen
    FROM versions GROUP BY lead_id
),
latest AS (
    SELECT * FROM versions
    QUALIFY row_number() OVER (PARTITION BY lead_id ORDER BY snapshot_at DESC, _load_id DESC) = 1
)
SELECT l.lead_id, l.created_at, c.channel, c.matched_by AS channel_rule,
       l.lead_source, l.lead_source_detail, l.campaign, l.utm_source, l.utm_medium, l.utm_campaign,
       l.company, l.job_title, l.lifecycle_stage, l.lifecycle_rank, l.lead_score,
       l.mql_at, l.sql_at, l.disqualified_at, l.updated_at,
       h.first_seen_mql_at, h.first_seen_sql_at, h.snapshots_seen,
       l._source_file, l._source_row
FROM latest l
JOIN history h USING (lead_id)
JOIN staging.channel_lookup c
  ON c.kind = 'lead' AND c.k1 IS NOT DISTINCT FROM l.lead_source AND c.k2 IS NOT DISTINCT FROM l.utm_source
 AND c.k3 IS NOT DISTINCT FROM l.utm_medium AND c.k4 IS NOT DISTINCT FROM l.utm_campaign;
COMMENT ON TABLE staging.leads IS 'One row per lead id ever loaded: the newest snapshot (by file time) wins; leads missing from later snapshots are kept.';
COMMENT ON COLUMN staging.leads.channel IS 'Channel name: lead_source through channels.yaml, else utm_source/utm_medium read by GA4''s channel rules; no source at all is Unassigned.';
COMMENT ON COLUMN staging.leads.lifecycle_rank IS '1 lead, 2 mql, 3 sql, 4 opportunity, 5 customer (stages.yaml; unmapped values read as 1).';
COMMENT ON COLUMN staging.leads.first_seen_mql_at IS 'updated_at (else file time, in the configured time zone) of the first snapshot showing the lead at the MQL lifecycle stage or later.';
COMMENT ON COLUMN staging.leads.first_seen_sql_at IS 'updated_at (else file time, in the configured time zone) of the first snapshot showing the lead at the SQL lifecycle stage or later.';
