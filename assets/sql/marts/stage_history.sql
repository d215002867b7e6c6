/* incremental:
  keys:
    touched_leads: "SELECT DISTINCT lead_id FROM raw.leads WHERE _load_id > $since"
    touched_deals: "SELECT DISTINCT deal_id FROM raw.deals WHERE _load_id > $since"
  scopes:
    scope_raw_leads: {relation: raw.leads, touched: "lead_id IN (SELECT lead_id FROM touched_leads)"}
    scope_raw_deals: {relation: raw.deals, touched: "deal_id IN (SELECT deal_id FROM touched_deals)"}
  outputs:
    marts.stage_history:
      rows: stage_history_rows
      stale: >-
        (record_type = 'lead' AND record_id IN (SELECT lead_id FROM touched_leads))
        OR (record_type = 'deal' AND record_id IN (SELECT deal_id FROM touched_deals))
*/
-- Every record's stage as seen in each snapshot: when a lead was first seen at each
-- lifecycle stage and a deal in each stage, even where the export has no date for it.
-- Rows of marts.stage_history (assets/transform/incremental.py builds the table from this view): the scope_raw_*
-- views are raw.leads and raw.deals in a full build, and only the rows of the records that new loads
-- touched otherwise.
CREATE OR REPLACE TEMP VIEW stage_history_rows AS
WITH snapshots AS (SELECT load_id, exported_at, snapshot_order AS file_order FROM load_snapshots()),
lead_versions AS (
    SELECT r.lead_id AS record_id, r.lifecycle_stage AS stage, coalesce(m.stage, 'lead') AS mapped_stage,
           coalesce(r.updated_at, f.exported_at) AS seen_at, r._source_file, f.file_order
    FROM scope_raw_leads r
    JOIN snapshots f ON f.load_id = r._load_id
    LEFT JOIN staging.lifecycle_map m ON m.raw_value = r.lifecycle_stage
    WHERE r.lifecycle_stage IS NOT NULL
),
deal_versions AS (
    SELECT r.deal_id AS record_id, r.stage, coalesce(s.outcome, 'unknown') AS mapped_stage,
           coalesce(r.updated_at, f.exported_at) AS seen_at, r._source_file, f.file_order
    FROM scope_raw_deals r
    JOIN snapshots f ON f.load_id = r._load_id
    LEFT JOIN staging.deal_stage_map s ON s.raw_value = r.stage
)
-- leads and deals apart: a constant record type is no group key to hash
SELECT 'lead' AS record_type, record_id, stage, any_value(mapped_stage) AS mapped_stage,
       min(seen_at) AS first_seen_at, max(seen_at) AS last_seen_at, count(*) AS snapshots,
       -- the same updated_at in several snapshots (a record unchanged between exports): the earliest file.
       arg_min(_source_file, version_key(seen_at, file_order)) AS first_seen_in
FROM lead_versions GROUP BY record_id, stage
UNION ALL
SELECT 'deal', record_id, stage, any_value(mapped_stage), min(seen_at), max(seen_at), count(*),
       arg_min(_source_file, version_key(seen_at, file_order))
FROM deal_versions GROUP BY record_id, stage;
COMMENT ON TABLE marts.stage_history IS 'One row per lead or deal and raw stage it was ever seen in, over every loaded snapshot: when it was first and last seen there.';
COMMENT ON COLUMN marts.stage_history.record_type IS 'lead (lifecycle_stage of the MA list) or deal (stage of the CRM export).';
COMMENT ON COLUMN marts.stage_history.record_id IS 'lead_id or deal_id.';
COMMENT ON COLUMN marts.stage_history.stage IS 'Raw stage value as exported.';
COMMENT ON COLUMN marts.stage_history.mapped_stage IS 'Lifecycle stage (lead, mql, sql, opportunity, customer) or deal outcome (open, won, lost, unknown) through stages.yaml.';
COMMENT ON COLUMN marts.stage_history.first_seen_at IS 'updated_at of the first snapshot showing the record in this stage, else that file''s export moment (ops.load_log.exported_at: the latest of the date in its name, its preamble''s range end and its rows'' latest timestamp), never the file''s modification time unless the file holds no date at all.';
COMMENT ON COLUMN marts.stage_history.last_seen_at IS 'updated_at (else the file''s export moment) of the last snapshot showing the record in this stage.';
COMMENT ON COLUMN marts.stage_history.snapshots IS 'Snapshots (loaded files) showing the record in this stage.';
COMMENT ON COLUMN marts.stage_history.first_seen_in IS 'File of the first snapshot showing the record in this stage (snapshots ordered by export moment, then file time, name and content hash).';
