-- One row per distinct touch. Touch exports have no record id and often overlap
-- (a tool exporting the last 30 days every night): the same lead, time, type,
-- source, medium, campaign and content is one touch, whichever files hold it.
CREATE OR REPLACE TABLE staging.touchpoints AS
WITH distinct_touches AS (
    SELECT t.* FROM raw.touchpoints t JOIN load_snapshots() f ON f.load_id = t._load_id
    QUALIFY row_number() OVER (
        PARTITION BY t.lead_id, t.touched_at, t.touch_type, t.source, t.medium, t.campaign, t.content_id
        ORDER BY f.snapshot_order DESC, t._source_row) = 1
)
SELECT t.lead_id, t.touched_at, t.touch_type, t.source, t.medium, t.campaign, t.content_id, t.duration_seconds,
       coalesce(c.channel, l.channel) AS channel,
       CASE WHEN c.channel IS NOT NULL THEN c.matched_by
            WHEN l.lead_id IS NOT NULL THEN 'lead channel' END AS channel_rule,
       l.lead_id IS NOT NULL AS lead_known,
       t._source_file, t._source_row
FROM distinct_touches t
LEFT JOIN staging.leads l ON l.lead_id = t.lead_id
LEFT JOIN staging.channel_lookup c
  ON c.kind = 'touch' AND c.k1 IS NOT DISTINCT FROM t.source AND c.k2 IS NOT DISTINCT FROM t.medium
 AND c.k3 IS NOT DISTINCT FROM t.campaign
ORDER BY t.lead_id, t.touched_at;
COMMENT ON TABLE staging.touchpoints IS 'One row per distinct touch (same lead, time, type, source, medium, campaign and content = one touch, however many files repeat it).';
COMMENT ON COLUMN staging.touchpoints.channel IS 'Channel of the touch: source and medium read by GA4''s channel rules; a source alone matched as a lead-source value of channels.yaml; neither: the lead''s channel. NULL for a touch of an unknown lead without source.';
COMMENT ON COLUMN staging.touchpoints.channel_rule IS 'The rule that gave the channel (lead channel = the touch had no source or medium).';
COMMENT ON COLUMN staging.touchpoints.lead_known IS 'The lead_id is in staging.leads; touches of unknown leads take part in no mart.';
