-- Spend rows of the newest snapshot per (day or month, raw channel, campaign), with channel.
CREATE OR REPLACE TABLE staging.spend AS
WITH versions AS (
    SELECT r.*, dense_rank() OVER (
        PARTITION BY r.date, r.date_grain, r.channel, r.campaign
        ORDER BY f.file_modified_at DESC, r._load_id DESC) AS version_rank
    FROM raw.spend r JOIN ops.load_log f ON f.load_id = r._load_id
)
SELECT v.date, v.date_grain, CAST(date_trunc('month', v.date) AS DATE) AS period_start,
       c.channel, v.channel AS raw_channel, v.campaign, v.cost, v.impressions, v.clicks, v.currency,
       v._source_file, v._source_row
FROM versions v
JOIN staging.channel_lookup c ON c.kind = 'spend' AND c.k1 = v.channel
WHERE v.version_rank = 1;
COMMENT ON TABLE staging.spend IS 'Spend rows of the newest snapshot per (date, grain, raw channel, campaign); rows of one file add up.';
COMMENT ON COLUMN staging.spend.channel IS 'Channel name of the raw channel value through channels.yaml.';
