-- YouTube Studio figures per video and day, date range or export, each metric from the newest export that
-- has it, placed in the period it counts in (docs/analyses.md, the video funnel).
--
-- Studio's export (schemas/profiles/youtube_studio_en.yaml): Table data has a row per video over the
-- export's range (dated by the range its folder or file name gives, else undated), Chart data a row per
-- video and day with the chart's one metric, Totals the whole channel per day.
-- - A newer export replaces a metric of the same video and day or range only where it has that metric: a
--   Chart data.csv of views leaves the impressions another export gave alone.
-- - An undated table is kept per export (its period is its file): it replaces nothing, nothing replaces it.
-- - A range within one calendar month counts in that month unless a newer range of the same video overlaps
--   it; a longer range is a period of its own (period_grain range), never split into months.
-- - A day counts in its month unless a counted range of the same video covers it: the table has every
--   metric, the chart one.
-- - The channel's totals (no video) are kept apart, never added to the videos.
-- The rows not counted are in staging.video_not_counted with the reason.
CREATE OR REPLACE TABLE staging.video_all AS
WITH file_rows AS (
    -- one row per file, video and day or range; Studio writes one, a repeat adds up (its percentages
    -- weighted by what they are per)
    SELECT r.content_id, r.date, r.date_end, r._source_file, f.snapshot_order,
           CASE WHEN r.date IS NULL THEN r._load_id END AS export_load_id,
           arg_max(r.video_title, r._source_row) FILTER (WHERE r.video_title IS NOT NULL) AS video_title,
           max(r.published_at) AS published_at, max(r.duration_seconds) AS duration_seconds,
           sum(r.impressions) AS impressions,
           coalesce(weighted_mean(r.impression_ctr_percent, r.impressions), avg(r.impression_ctr_percent)) / 100
               AS impression_ctr,
           sum(r.views) AS views, sum(r.watch_time_hours) AS watch_time_hours,
           coalesce(weighted_mean(r.average_view_duration_seconds, r.views), avg(r.average_view_duration_seconds))
               AS average_view_duration_seconds,
           coalesce(weighted_mean(r.average_percentage_viewed, r.views), avg(r.average_percentage_viewed)) / 100
               AS average_percentage_viewed,
           sum(r.engaged_views) AS engaged_views, sum(r.subscribers) AS subscribers
    FROM raw.video r JOIN load_snapshots() f ON f.load_id = r._load_id
    GROUP BY r.content_id, r.date, r.date_end, r._load_id, r._source_file, f.snapshot_order
),
newest AS (
    -- each metric from the newest export that has it; undated rows only within their own export
    SELECT content_id, date, date_end, export_load_id,
           max(snapshot_order) AS snapshot_order,
           arg_max(_source_file, snapshot_order) AS source_file,
           arg_max(video_title, snapshot_order) FILTER (WHERE video_title IS NOT NULL) AS video_title,
           arg_max(published_at, snapshot_order) FILTER (WHERE published_at IS NOT NULL) AS published_at,
           arg_max(duration_seconds, snapshot_order) FILTER (WHERE duration_seconds IS NOT NULL) AS duration_seconds,
           arg_max(impressions, snapshot_order) FILTER (WHERE impressions IS NOT NULL) AS impressions,
           arg_max(impression_ctr, snapshot_order) FILTER (WHERE impression_ctr IS NOT NULL) AS impression_ctr,
           arg_max(views, snapshot_order) FILTER (WHERE views IS NOT NULL) AS views,
           arg_max(watch_time_hours, snapshot_order) FILTER (WHERE watch_time_hours IS NOT NULL) AS watch_time_hours,
           arg_max(average_view_duration_seconds, snapshot_order) FILTER (
               WHERE average_view_duration_seconds IS NOT NULL) AS average_view_duration_seconds,
           arg_max(average_percentage_viewed, snapshot_order) FILTER (
               WHERE average_percentage_viewed IS NOT NULL) AS average_percentage_viewed,
           arg_max(engaged_views, snapshot_order) FILTER (WHERE engaged_views IS NOT NULL) AS engaged_views,
           arg_max(subscribers, snapshot_order) FILTER (WHERE subscribers IS NOT NULL) AS subscribers
    FROM file_rows GROUP BY content_id, date, date_end, export_load_id
),
kinds AS (
    SELECT *, CASE WHEN content_id IS NULL THEN 'channel' WHEN date IS NULL THEN 'export'
                   WHEN date_end IS NULL THEN 'day' ELSE 'range' END AS row_grain
    FROM newest
),
month_ranges AS (
    SELECT content_id, date, date_end, snapshot_order FROM kinds
    WHERE row_grain = 'range' AND month_start(date) = month_start(date_end)
),
range_verdict AS (
    SELECT m.content_id, m.date, m.date_end, EXISTS (
        SELECT 1 FROM month_ranges o
        WHERE o.content_id = m.content_id AND o.snapshot_order > m.snapshot_order
          AND o.date <= m.date_end AND o.date_end >= m.date
          AND (o.date, o.date_end) IS DISTINCT FROM (m.date, m.date_end)) AS overlapped
    FROM month_ranges m
),
placed AS (
    SELECT k.*,
           CASE WHEN k.row_grain = 'day' OR rv.content_id IS NOT NULL THEN 'month'
                WHEN k.row_grain IN ('range', 'export') THEN k.row_grain END AS period_grain,
           CASE WHEN k.row_grain = 'channel'
                    THEN 'a total of the whole channel (Totals.csv), not of a video: kept apart, never added to the videos'
                WHEN rv.overlapped THEN 'a newer export''s range of the same video overlaps it in the same month'
                WHEN k.row_grain = 'day' AND EXISTS (
                    SELECT 1 FROM range_verdict c
                    WHERE NOT c.overlapped AND c.content_id = k.content_id AND k.date BETWEEN c.date AND c.date_end)
                    THEN 'a table export of the same video over a range covering the day is counted instead (the '
                         'table has every metric, the chart one)'
           END AS not_counted_because
    FROM kinds k
    LEFT JOIN range_verdict rv ON k.row_grain = 'range' AND rv.content_id = k.content_id AND rv.date = k.date
                              AND rv.date_end = k.date_end
)
SELECT content_id, video_title, published_at, duration_seconds, row_grain, date, date_end, period_grain,
       CASE period_grain WHEN 'month' THEN month_start(date) WHEN 'range' THEN date END AS period_start,
       CASE period_grain WHEN 'month' THEN last_day(date) WHEN 'range' THEN date_end END AS period_end,
       CASE period_grain WHEN 'month' THEN strftime(date, '%Y-%m')
                         WHEN 'range' THEN strftime(date, '%Y-%m-%d') || '..' || strftime(date_end, '%Y-%m-%d')
                         WHEN 'export' THEN 'export ' || source_file END AS period,
       impressions, impression_ctr, views, watch_time_hours, average_view_duration_seconds,
       average_percentage_viewed, engaged_views, subscribers,
       source_file AS _source_file, snapshot_order, not_counted_because
FROM placed;

CREATE OR REPLACE TABLE staging.video_not_counted AS
SELECT * FROM staging.video_all WHERE not_counted_because IS NOT NULL;
CREATE OR REPLACE TABLE staging.video AS
SELECT * EXCLUDE (not_counted_because) FROM staging.video_all WHERE not_counted_because IS NULL;
-- One row per video: its newest title, and every title it had (a touch may name a video by any of them).
CREATE OR REPLACE TABLE staging.videos AS
SELECT content_id AS video_id,
       arg_max(video_title, snapshot_order) FILTER (WHERE video_title IS NOT NULL) AS video_title,
       list(DISTINCT video_title ORDER BY video_title) FILTER (WHERE video_title IS NOT NULL) AS titles,
       arg_max(published_at, snapshot_order) FILTER (WHERE published_at IS NOT NULL) AS published_at,
       arg_max(duration_seconds, snapshot_order) FILTER (WHERE duration_seconds IS NOT NULL) AS duration_seconds
FROM staging.video_all WHERE content_id IS NOT NULL GROUP BY content_id;
DROP TABLE staging.video_all;

COMMENT ON TABLE staging.video IS 'YouTube Studio figures counted in the marts: per video and day (Chart data), date range or export (Table data), each metric from the newest export that has it, with the period it counts in; staging.video_not_counted holds the rest.';
COMMENT ON COLUMN staging.video.content_id IS 'YouTube video id.';
COMMENT ON COLUMN staging.video.row_grain IS 'day (a Chart data row), range (a table dated by the range in its folder or file name) or export (a table whose range is not known).';
COMMENT ON COLUMN staging.video.period_grain IS 'month (a day, or a range within one calendar month), range (a range over several months: a period of its own) or export (per export file).';
COMMENT ON COLUMN staging.video.period IS 'The period the row counts in: 2026-07 (month), 2026-04-01..2026-06-30 (range), export followed by the file name (export).';
COMMENT ON COLUMN staging.video.impression_ctr IS 'Impressions click-through rate as a fraction (Studio''s percent / 100).';
COMMENT ON COLUMN staging.video.average_percentage_viewed IS 'Average percentage viewed as a fraction (Studio''s percent / 100).';
COMMENT ON COLUMN staging.video.snapshot_order IS 'The newest export (load_snapshots) that gave a figure of the row.';
COMMENT ON TABLE staging.video_not_counted IS 'YouTube Studio rows loaded but not counted in the video marts, with the reason: the channel''s daily totals (Totals.csv), days a counted table of the same video covers, a range within a month overlapped by a newer one.';
COMMENT ON COLUMN staging.video_not_counted.not_counted_because IS 'Why the row is not counted.';
COMMENT ON TABLE staging.videos IS 'One row per YouTube video of the exports: its newest title and every title it was exported with.';
