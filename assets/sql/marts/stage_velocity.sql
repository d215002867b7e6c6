-- How long each funnel transition takes, per channel.
CREATE OR REPLACE TABLE marts.stage_velocity AS
WITH durations AS (
    SELECT channel, 'lead_to_mql' AS transition, 1 AS step, days_between(created_at, mql_date) AS days
        FROM staging.lead_funnel WHERE reached_mql
    UNION ALL SELECT channel, 'mql_to_sql', 2, days_between(mql_date, sql_date) FROM staging.lead_funnel WHERE reached_sql
    UNION ALL SELECT channel, 'sql_to_opportunity', 3, days_between(sql_date, first_opportunity_at)
        FROM staging.lead_funnel WHERE first_opportunity_at IS NOT NULL
    UNION ALL SELECT channel, 'opportunity_to_win', 4, days_between(created_at, closed_on)
        FROM staging.deals WHERE outcome = 'won'
    UNION ALL SELECT channel, 'lead_to_win', 5, days_between(created_at, first_won_on)
        FROM staging.lead_funnel WHERE first_won_on IS NOT NULL
)
SELECT channel, transition, count(*) AS n, median(days) AS median_days, quantile_cont(days, 0.75) AS p75_days
FROM durations GROUP BY channel, transition, step ORDER BY channel, step;
COMMENT ON TABLE marts.stage_velocity IS 'Days each funnel transition took, per channel, over all history.';
COMMENT ON COLUMN marts.stage_velocity.channel IS 'Channel name.';
COMMENT ON COLUMN marts.stage_velocity.transition IS 'lead_to_mql, mql_to_sql, sql_to_opportunity (SQL date to first linked deal), opportunity_to_win (deal created to close, won deals), lead_to_win (lead created to first won deal close).';
COMMENT ON COLUMN marts.stage_velocity.n IS 'Records that made the transition.';
COMMENT ON COLUMN marts.stage_velocity.median_days IS 'Median days of the transition (fractional).';
COMMENT ON COLUMN marts.stage_velocity.p75_days IS '75th percentile of days (continuous quantile).';
