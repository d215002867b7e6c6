-- GA4 sessions per day and dimension, newest snapshot per dimension key, with channel.
-- Rows of one file add up; a newer file replaces older rows with the same
-- (date, source, medium, campaign, channel group, landing page).
CREATE OR REPLACE TABLE staging.sessions AS
WITH versions AS (
    SELECT r.*, dense_rank() OVER (
        PARTITION BY r.date, r.session_source, r.session_medium, r.session_campaign,
                     r.session_default_channel_group, r.landing_page
        ORDER BY f.file_modified_at DESC, r._load_id DESC) AS version_rank
    FROM raw.ga4_sessions r JOIN ops.load_log f ON f.load_id = r._load_id
)
SELECT v.date, v.session_source, v.session_medium, v.session_campaign, v.landing_page,
       c.channel_group AS default_channel_group, c.channel,
       v.sessions, v.engaged_sessions, v.key_events, v.total_users, v.new_users,
       v._source_file, v._source_row
FROM versions v
JOIN staging.channel_lookup c
  ON c.kind = 'ga4_session' AND c.k1 IS NOT DISTINCT FROM v.session_source
 AND c.k2 IS NOT DISTINCT FROM v.session_medium AND c.k3 IS NOT DISTINCT FROM v.session_campaign
 AND c.k4 IS NOT DISTINCT FROM v.session_default_channel_group
WHERE v.version_rank = 1;
COMMENT ON TABLE staging.sessions IS 'GA4 session rows of the newest snapshot per day and dimension key, each with its channel.';
COMMENT ON COLUMN staging.sessions.default_channel_group IS 'GA4 default channel group: as exported, else derived from source/medium/campaign by GA4''s rules.';
COMMENT ON COLUMN staging.sessions.channel IS 'Channel name from channels.yaml ga4_channel_groups; unmatched groups fall back to the fallback channel.';
