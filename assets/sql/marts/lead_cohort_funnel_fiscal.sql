-- Fiscal quarter and fiscal year view of marts.lead_cohort_funnel (issue 5, item 7): the
-- cohorts of the months of a period taken together, rates recomputed from the sums.
CREATE OR REPLACE TABLE marts.lead_cohort_funnel_fiscal AS
WITH sums AS (
    SELECT p.grain, p.period AS cohort_period, p.period_start AS cohort_start, p.period_end AS cohort_end, c.channel,
           CAST(sum(c.leads) AS BIGINT) AS leads, CAST(sum(c.reached_mql) AS BIGINT) AS reached_mql,
           CAST(sum(c.reached_sql) AS BIGINT) AS reached_sql,
           CAST(sum(c.reached_opportunity) AS BIGINT) AS reached_opportunity,
           CAST(sum(c.reached_win) AS BIGINT) AS reached_win, CAST(sum(c.revenue) AS DECIMAL(18, 2)) AS revenue
    FROM marts.lead_cohort_funnel c
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(c.cohort_start, s.fiscal_year_start_month) p
    GROUP BY ALL
)
SELECT *,
       safe_rate(reached_mql, leads) AS lead_to_mql_rate,
       safe_rate(reached_sql, reached_mql) AS mql_to_sql_rate,
       safe_rate(reached_opportunity, reached_sql) AS sql_to_opportunity_rate,
       safe_rate(reached_win, reached_opportunity) AS opportunity_to_win_rate,
       safe_rate(reached_win, leads) AS lead_to_win_rate
FROM sums
ORDER BY grain, cohort_start, channel;
COMMENT ON TABLE marts.lead_cohort_funnel_fiscal IS 'marts.lead_cohort_funnel per fiscal quarter and fiscal year of lead creation (fiscal_year_start_month of targets.yaml, default April) and channel: the leads created in the period, how many ever reached each later stage (so far), the rates recomputed from the sums. Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.cohort_period IS 'Fiscal period the leads were created in (the cohort; the other _fiscal marts call the period their events happened in period): FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026; 2026-Q3 = its third quarter (labels as in targets.yaml). Named period before 0.2.0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.cohort_start IS 'First day of the fiscal period the leads were created in (as cohort_start of marts.lead_cohort_funnel). Named period_start before 0.2.0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.cohort_end IS 'Last day of the fiscal period the leads were created in, inclusive. Named period_end before 0.2.0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.channel IS 'Channel name of the leads.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.leads IS 'Leads created in the period.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.reached_mql IS 'Of them, leads that ever reached MQL.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.reached_sql IS 'Of them, leads that ever reached SQL.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.reached_opportunity IS 'Of them, leads with a linked deal (or lifecycle opportunity/customer).';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.reached_win IS 'Of them, leads with a won linked deal (so far), each counted once. Named won before 0.2.0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.revenue IS 'Sum of amounts of won deals linked to the leads (DECIMAL).';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.lead_to_mql_rate IS 'reached_mql / leads; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.mql_to_sql_rate IS 'reached_sql / reached_mql; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.sql_to_opportunity_rate IS 'reached_opportunity / reached_sql; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.opportunity_to_win_rate IS 'reached_win / reached_opportunity; NULL when 0.';
COMMENT ON COLUMN marts.lead_cohort_funnel_fiscal.lead_to_win_rate IS 'reached_win / leads; NULL when 0.';
