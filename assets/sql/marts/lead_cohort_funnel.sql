-- Leads by creation month and channel, and how far each cohort has got so far.
CREATE OR REPLACE TABLE marts.lead_cohort_funnel AS
WITH c AS (
    SELECT month_start(created_at) AS cohort_start, channel,
           count(*) AS leads,
           count(*) FILTER (WHERE reached_mql) AS reached_mql,
           count(*) FILTER (WHERE reached_sql) AS reached_sql,
           count(*) FILTER (WHERE reached_opportunity) AS reached_opportunity,
           count(*) FILTER (WHERE won) AS reached_win,
           CAST(sum(won_revenue) AS DECIMAL(18, 2)) AS revenue
    FROM staging.lead_funnel GROUP BY ALL
)
SELECT cohort_start, channel, leads, reached_mql, reached_sql, reached_opportunity, reached_win, revenue,
       safe_rate(reached_mql, leads) AS lead_to_mql_rate,
       safe_rate(reached_sql, reached_mql) AS mql_to_sql_rate,
       safe_rate(reached_opportunity, reached_sql) AS sql_to_opportunity_rate,
       safe_rate(reached_win, reached_opportunity) AS opportunity_to_win_rate,
       safe_rate(reached_win, leads) AS lead_to_win_rate
FROM c ORDER BY cohort_start, channel;
COMMENT ON TABLE marts.lead_cohort_funnel IS 'Leads grouped by the month they were created and their channel, with how many ever reached each later stage (so far).';
COMMENT ON COLUMN marts.lead_cohort_funnel.cohort_start IS 'First day of the month the leads were created.';
COMMENT ON COLUMN marts.lead_cohort_funnel.channel IS 'Channel name of the leads.';
COMMENT ON COLUMN marts.lead_cohort_funnel.leads IS 'Leads created in the cohort month.';
COMMENT ON COLUMN marts.lead_cohort_funnel.reached_mql IS 'Cohort leads that ever reached MQL.';
COMMENT ON COLUMN marts.lead_cohort_funnel.reached_sql IS 'Cohort leads that ever reached SQL.';
COMMENT ON COLUMN marts.lead_cohort_funnel.reached_opportunity IS 'Cohort leads with a linked deal (or lifecycle opportunity/customer).';
COMMENT ON COLUMN marts.lead_cohort_funnel.reached_win IS 'Cohort leads with a won linked deal (so far): leads, each counted once however many deals it won, whenever they closed; not wins (deals won in a month, marts.channel_funnel). Named won before 0.2.0.';
COMMENT ON COLUMN marts.lead_cohort_funnel.revenue IS 'Sum of amounts of won deals linked to cohort leads (DECIMAL).';
COMMENT ON COLUMN marts.lead_cohort_funnel.lead_to_mql_rate IS 'reached_mql / leads; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel.mql_to_sql_rate IS 'reached_sql / reached_mql; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel.sql_to_opportunity_rate IS 'reached_opportunity / reached_sql; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel.opportunity_to_win_rate IS 'reached_win / reached_opportunity; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel.lead_to_win_rate IS 'reached_win / leads; NULL when 0.';
