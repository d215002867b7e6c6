-- How long each record took for each funnel transition it made: the one definition of a transition's
-- duration, read by marts.stage_velocity (its percentiles) and marts.bottlenecks (whether a cohort is
-- old enough to be judged).
CREATE OR REPLACE TABLE staging.transition_days AS
SELECT channel, 'lead_to_mql' AS transition, 1 AS step, days_between(created_at, mql_date) AS days
    FROM staging.lead_funnel WHERE reached_mql
UNION ALL SELECT channel, 'mql_to_sql', 2, days_between(mql_date, sql_date) FROM staging.lead_funnel WHERE reached_sql
UNION ALL SELECT channel, 'sql_to_opportunity', 3, days_between(sql_date, first_opportunity_at)
    FROM staging.lead_funnel WHERE first_opportunity_at IS NOT NULL
UNION ALL SELECT channel, 'opportunity_to_win', 4, days_between(created_at, closed_on)
    FROM staging.deals WHERE outcome = 'won'
UNION ALL SELECT channel, 'lead_to_win', 5, days_between(created_at, first_won_on)
    FROM staging.lead_funnel WHERE first_won_on IS NOT NULL;
COMMENT ON TABLE staging.transition_days IS 'One row per funnel transition a lead or deal made: its channel and how many days it took.';
COMMENT ON COLUMN staging.transition_days.channel IS 'Channel of the lead (lead transitions) or of the deal (opportunity_to_win).';
COMMENT ON COLUMN staging.transition_days.transition IS 'lead_to_mql (created to MQL date), mql_to_sql, sql_to_opportunity (SQL date to first linked deal), opportunity_to_win (deal created to close, won deals), lead_to_win (lead created to first won deal close).';
COMMENT ON COLUMN staging.transition_days.step IS 'Order of the transition in the funnel, 1 to 5.';
COMMENT ON COLUMN staging.transition_days.days IS 'Days the transition took (fractional).';
