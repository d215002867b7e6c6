-- MQLs by the month they became MQL, and how many of them became SQL.
CREATE OR REPLACE TABLE marts.mql_to_sql AS
SELECT month_start(mql_date) AS period_start, channel,
       count(*) AS mqls,
       count(*) FILTER (WHERE reached_sql) AS reached_sql,
       safe_rate(count(*) FILTER (WHERE reached_sql), count(*)) AS mql_to_sql_rate,
       median(days_between(mql_date, sql_date)) FILTER (WHERE reached_sql) AS median_days_mql_to_sql
FROM staging.lead_funnel WHERE reached_mql
GROUP BY ALL ORDER BY period_start, channel;
COMMENT ON TABLE marts.mql_to_sql IS 'MQLs per month they became MQL and channel, and how many of them have become SQL so far.';
COMMENT ON COLUMN marts.mql_to_sql.period_start IS 'First day of the month the leads became MQL.';
COMMENT ON COLUMN marts.mql_to_sql.channel IS 'Channel name of the leads.';
COMMENT ON COLUMN marts.mql_to_sql.mqls IS 'Leads that became MQL in the month.';
COMMENT ON COLUMN marts.mql_to_sql.reached_sql IS 'Of those, leads that have reached SQL (at any time; as reached_sql of marts.lead_cohort_funnel). Named became_sql before 0.2.0.';
COMMENT ON COLUMN marts.mql_to_sql.mql_to_sql_rate IS 'reached_sql / mqls.';
COMMENT ON COLUMN marts.mql_to_sql.median_days_mql_to_sql IS 'Median days from MQL date to SQL date of the leads that became SQL; NULL when none did.';
