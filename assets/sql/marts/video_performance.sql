-- YouTube Studio performance per video and period (docs/analyses.md, the video funnel): calendar months
-- (the video's days, and tables over a range within one month), longer ranges and undated exports each a
-- period of their own (staging.video says which rows count where). Averages are recomputed from the sums,
-- never averaged: view duration = watch time / views, the click-through rate weighted by impressions,
-- the percentage viewed by views.
CREATE OR REPLACE TABLE marts.video_performance AS
SELECT v.content_id AS video_id, s.video_title, v.period, v.period_grain, v.period_start, v.period_end,
       CAST(sum(v.impressions) AS BIGINT) AS impressions,
       weighted_mean(v.impression_ctr, v.impressions) AS impression_ctr,
       CAST(sum(v.views) AS BIGINT) AS views,
       sum(v.watch_time_hours) AS watch_time_hours,
       sum(v.watch_time_hours) FILTER (WHERE v.views IS NOT NULL) * 3600
           / nullif(sum(v.views) FILTER (WHERE v.watch_time_hours IS NOT NULL), 0) AS average_view_duration_seconds,
       weighted_mean(v.average_percentage_viewed, v.views) AS average_percentage_viewed,
       CAST(sum(v.engaged_views) AS BIGINT) AS engaged_views
FROM staging.video v JOIN staging.videos s ON s.video_id = v.content_id
GROUP BY v.content_id, s.video_title, v.period, v.period_grain, v.period_start, v.period_end
ORDER BY video_id, period_grain, period_start NULLS LAST, period;
COMMENT ON TABLE marts.video_performance IS 'YouTube performance per video and period: calendar months, longer export ranges and exports whose range is not known each a period of their own (never sum rows of different period_grain); averages recomputed from the sums.';
COMMENT ON COLUMN marts.video_performance.video_id IS 'YouTube video id (Studio''s Content column).';
COMMENT ON COLUMN marts.video_performance.video_title IS 'The video''s title in the newest export.';
COMMENT ON COLUMN marts.video_performance.period IS 'The period: 2026-07 (a month), 2026-04-01..2026-06-30 (a table export over several months), or export followed by the file name (a table export whose range neither its folder nor its file name gives: the period it covers is not known).';
COMMENT ON COLUMN marts.video_performance.period_grain IS 'month, range or export (see period).';
COMMENT ON COLUMN marts.video_performance.period_start IS 'First day of the month or range; NULL for an export.';
COMMENT ON COLUMN marts.video_performance.period_end IS 'Last day of the month or range; NULL for an export.';
COMMENT ON COLUMN marts.video_performance.impressions IS 'Thumbnail impressions; NULL when no export of the period had them (a Chart data.csv holds one metric).';
COMMENT ON COLUMN marts.video_performance.impression_ctr IS 'Impressions click-through rate (views that came from an impression / impressions) as a fraction, weighted by impressions over the rows of the period: sum(impressions x rate) / sum(impressions).';
COMMENT ON COLUMN marts.video_performance.views IS 'Views; NULL when no export of the period had them.';
COMMENT ON COLUMN marts.video_performance.watch_time_hours IS 'Watch time in hours.';
COMMENT ON COLUMN marts.video_performance.average_view_duration_seconds IS 'Watch time / views in seconds, over the rows that have both. For Shorts it is below the average view duration Studio shows, since Studio counts every replay of a Short as a view (2025).';
COMMENT ON COLUMN marts.video_performance.average_percentage_viewed IS 'Average percentage viewed (視聴維持率) as a fraction, weighted by views: sum(views x percentage) / sum(views); above 1 when viewers watch again.';
COMMENT ON COLUMN marts.video_performance.engaged_views IS 'Engaged views; NULL when no export of the period had them.';
