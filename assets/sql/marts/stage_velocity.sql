-- How long each funnel transition takes, per channel.
CREATE OR REPLACE TABLE marts.stage_velocity AS
SELECT channel, transition, count(*) AS n, median(days) AS median_days, quantile_cont(days, 0.75) AS p75_days
FROM staging.transition_days GROUP BY channel, transition, step ORDER BY channel, step;
COMMENT ON TABLE marts.stage_velocity IS 'Days each funnel transition took, per channel, over all history.';
COMMENT ON COLUMN marts.stage_velocity.channel IS 'Channel name.';
COMMENT ON COLUMN marts.stage_velocity.transition IS 'lead_to_mql, mql_to_sql, sql_to_opportunity (SQL date to first linked deal), opportunity_to_win (deal created to close, won deals), lead_to_win (lead created to first won deal close).';
COMMENT ON COLUMN marts.stage_velocity.n IS 'Records that made the transition.';
COMMENT ON COLUMN marts.stage_velocity.median_days IS 'Median days of the transition (fractional).';
COMMENT ON COLUMN marts.stage_velocity.p75_days IS '75th percentile of days (continuous quantile).';
