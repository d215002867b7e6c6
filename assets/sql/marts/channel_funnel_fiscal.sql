-- Fiscal quarter and fiscal year view of marts.channel_funnel (issue 5, item 7): the
-- monthly counts and revenue summed over the months of the period, every rate recomputed
-- from the summed counts (never an average of monthly rates).
CREATE OR REPLACE TABLE marts.channel_funnel_fiscal AS
WITH sums AS (
    SELECT p.grain, p.period, p.period_start, p.period_end, f.channel,
           CAST(sum(f.impressions) AS BIGINT) AS impressions, CAST(sum(f.clicks) AS BIGINT) AS clicks,
           CAST(sum(f.sessions) AS BIGINT) AS sessions, CAST(sum(f.leads) AS BIGINT) AS leads,
           CAST(sum(f.mqls) AS BIGINT) AS mqls, CAST(sum(f.sqls) AS BIGINT) AS sqls,
           CAST(sum(f.opportunities) AS BIGINT) AS opportunities, CAST(sum(f.wins) AS BIGINT) AS wins,
           CAST(sum(f.revenue) AS DECIMAL(18, 2)) AS revenue
    FROM marts.channel_funnel f
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(f.period_start, s.fiscal_year_start_month) p
    GROUP BY ALL
)
SELECT *,
       safe_rate(clicks, impressions) AS impression_to_click_rate,
       safe_rate(sessions, clicks) AS click_to_session_rate,
       safe_rate(leads, sessions) AS session_to_lead_rate,
       safe_rate(mqls, leads) AS lead_to_mql_rate,
       safe_rate(sqls, mqls) AS mql_to_sql_rate,
       safe_rate(opportunities, sqls) AS sql_to_opportunity_rate,
       safe_rate(wins, opportunities) AS opportunity_to_win_rate
FROM sums
ORDER BY grain, period_start, channel;
COMMENT ON TABLE marts.channel_funnel_fiscal IS 'marts.channel_funnel per fiscal quarter and fiscal year (fiscal_year_start_month of targets.yaml, default April) and channel: each stage summed over the months of the period, the rates recomputed from the sums. Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing. A period the data covers only in part (the current one) holds the months that have data.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.period IS 'Fiscal period, labelled as the periods of targets.yaml: FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026 (April: 2026-04-01 .. 2027-03-31); 2026-Q3 = its third quarter (April: 2026-10-01 .. 2026-12-31). With April, March 2027 is in FY2026 and 2026-Q4.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.period_start IS 'First day of the fiscal period.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.period_end IS 'Last day of the fiscal period, inclusive.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.channel IS 'Channel name (channels.yaml); Unattributed = deals with no lead and no source.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.impressions IS 'Ad impressions of the period: sum of channel_funnel.impressions over its months.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.clicks IS 'Ad clicks of the period: sum of channel_funnel.clicks over its months.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.sessions IS 'GA4 sessions dated in the period: sum of channel_funnel.sessions over its months.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.leads IS 'Leads created in the period.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.mqls IS 'Leads that became MQL in the period.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.sqls IS 'Leads that became SQL in the period.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.opportunities IS 'Deals created in the period.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.wins IS 'Deals won with close date in the period.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.revenue IS 'Sum of amounts of the deals won in the period (DECIMAL).';
COMMENT ON COLUMN marts.channel_funnel_fiscal.impression_to_click_rate IS 'clicks / impressions of the period (CTR); NULL when impressions = 0.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.click_to_session_rate IS 'sessions / clicks of the period; NULL when clicks = 0. Can exceed 1, as in channel_funnel.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.session_to_lead_rate IS 'leads / sessions of the period (summed counts); NULL when sessions = 0. Can exceed 1, as in channel_funnel.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.lead_to_mql_rate IS 'mqls / leads of the period; NULL when leads = 0.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.mql_to_sql_rate IS 'sqls / mqls of the period; NULL when mqls = 0.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.sql_to_opportunity_rate IS 'opportunities / sqls of the period; NULL when sqls = 0.';
COMMENT ON COLUMN marts.channel_funnel_fiscal.opportunity_to_win_rate IS 'wins / opportunities of the period; NULL when opportunities = 0.';
