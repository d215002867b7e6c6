-- Fiscal quarter and fiscal year view of marts.mql_to_sql (issue 5, item 7): counts summed
-- from the monthly mart, the rate recomputed from the sums, the median recomputed from the
-- leads themselves (a median of monthly medians is not the period's median).
CREATE OR REPLACE TABLE marts.mql_to_sql_fiscal AS
WITH sums AS (
    SELECT p.grain, p.period, p.period_start, p.period_end, m.channel,
           CAST(sum(m.mqls) AS BIGINT) AS mqls, CAST(sum(m.reached_sql) AS BIGINT) AS reached_sql
    FROM marts.mql_to_sql m
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(m.period_start, s.fiscal_year_start_month) p
    GROUP BY ALL
),
medians AS (
    SELECT p.grain, p.period_start, l.channel,
           median(days_between(l.mql_date, l.sql_date)) AS median_days_mql_to_sql
    FROM staging.lead_funnel l
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(month_start(l.mql_date), s.fiscal_year_start_month) p
    WHERE l.reached_mql AND l.reached_sql
    GROUP BY ALL
)
SELECT sums.*, safe_rate(reached_sql, mqls) AS mql_to_sql_rate, medians.median_days_mql_to_sql
FROM sums LEFT JOIN medians USING (grain, period_start, channel)
ORDER BY grain, period_start, channel;
COMMENT ON TABLE marts.mql_to_sql_fiscal IS 'marts.mql_to_sql per fiscal quarter and fiscal year the leads became MQL in (fiscal_year_start_month of targets.yaml, default April) and channel. Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.period IS 'Fiscal period the leads became MQL in: FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026; 2026-Q3 = its third quarter (labels as in targets.yaml).';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.period_start IS 'First day of the fiscal period.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.period_end IS 'Last day of the fiscal period, inclusive.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.channel IS 'Channel name of the leads.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.mqls IS 'Leads that became MQL in the period.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.reached_sql IS 'Of those, leads that have reached SQL (at any time). Named became_sql before 0.2.0.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.mql_to_sql_rate IS 'reached_sql / mqls of the period.';
COMMENT ON COLUMN marts.mql_to_sql_fiscal.median_days_mql_to_sql IS 'Median days from MQL date to SQL date of the period''s MQLs that became SQL, over the leads themselves (not a median of the monthly medians); NULL when none did.';
