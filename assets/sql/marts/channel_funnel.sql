-- Period x channel counts of every funnel stage and the period rates between them.
CREATE OR REPLACE TABLE marts.channel_funnel AS
WITH events AS (
    SELECT month_start(date) AS period_start, channel, sessions AS sessions FROM staging.sessions
    UNION ALL BY NAME SELECT month_start(created_at) AS period_start, channel, 1 AS leads FROM staging.lead_funnel
    UNION ALL BY NAME SELECT month_start(mql_date) AS period_start, channel, 1 AS mqls FROM staging.lead_funnel WHERE reached_mql
    UNION ALL BY NAME SELECT month_start(sql_date) AS period_start, channel, 1 AS sqls FROM staging.lead_funnel WHERE reached_sql
    UNION ALL BY NAME SELECT month_start(created_at) AS period_start, channel, 1 AS opportunities FROM staging.deals
    UNION ALL BY NAME SELECT month_start(closed_on) AS period_start, channel, 1 AS wins, amount AS revenue
        FROM staging.deals WHERE outcome = 'won'
    UNION ALL BY NAME SELECT period_start, channel, impressions, clicks FROM staging.spend
),
counts AS (
    SELECT period_start, channel,
           CAST(coalesce(sum(impressions), 0) AS BIGINT) AS impressions,
           CAST(coalesce(sum(clicks), 0) AS BIGINT) AS clicks,
           CAST(coalesce(sum(sessions), 0) AS BIGINT) AS sessions,
           CAST(coalesce(sum(leads), 0) AS BIGINT) AS leads,
           CAST(coalesce(sum(mqls), 0) AS BIGINT) AS mqls,
           CAST(coalesce(sum(sqls), 0) AS BIGINT) AS sqls,
           CAST(coalesce(sum(opportunities), 0) AS BIGINT) AS opportunities,
           CAST(coalesce(sum(wins), 0) AS BIGINT) AS wins,
           CAST(coalesce(sum(revenue), 0) AS DECIMAL(18, 2)) AS revenue
    FROM events GROUP BY period_start, channel
),
-- Every month of the data range for every channel that has any data, so that a
-- month without activity shows as zeros, not as a missing row.
grid AS (
    SELECT CAST(m AS DATE) AS period_start, ch.channel
    FROM (SELECT min(period_start) AS lo, max(period_start) AS hi FROM counts) r,
         generate_series(r.lo, r.hi, INTERVAL 1 MONTH) AS g(m),
         (SELECT DISTINCT channel FROM counts) ch
)
SELECT g.period_start, g.channel,
       coalesce(c.impressions, 0) AS impressions, coalesce(c.clicks, 0) AS clicks,
       coalesce(c.sessions, 0) AS sessions, coalesce(c.leads, 0) AS leads, coalesce(c.mqls, 0) AS mqls,
       coalesce(c.sqls, 0) AS sqls, coalesce(c.opportunities, 0) AS opportunities, coalesce(c.wins, 0) AS wins,
       coalesce(c.revenue, CAST(0 AS DECIMAL(18, 2))) AS revenue,
       safe_rate(c.clicks, c.impressions) AS impression_to_click_rate,
       safe_rate(c.sessions, c.clicks) AS click_to_session_rate,
       safe_rate(c.leads, c.sessions) AS session_to_lead_rate,
       safe_rate(c.mqls, c.leads) AS lead_to_mql_rate,
       safe_rate(c.sqls, c.mqls) AS mql_to_sql_rate,
       safe_rate(c.opportunities, c.sqls) AS sql_to_opportunity_rate,
       safe_rate(c.wins, c.opportunities) AS opportunity_to_win_rate
FROM grid g LEFT JOIN counts c USING (period_start, channel)
ORDER BY period_start, channel;
COMMENT ON TABLE marts.channel_funnel IS 'Funnel counts per month and channel, each stage counted in the month it happened; rates compare stages of the same month.';
COMMENT ON COLUMN marts.channel_funnel.period_start IS 'First day of the month (local time zone).';
COMMENT ON COLUMN marts.channel_funnel.channel IS 'Channel name (channels.yaml); Unattributed = deals with no lead and no source.';
COMMENT ON COLUMN marts.channel_funnel.impressions IS 'Ad impressions of the month: the impressions of the spend rows counted in marts.channel_roi (ad platform exports); 0 without ad data.';
COMMENT ON COLUMN marts.channel_funnel.clicks IS 'Ad clicks of the month, from the same spend rows as impressions; 0 without ad data.';
COMMENT ON COLUMN marts.channel_funnel.sessions IS 'GA4 sessions dated in the month.';
COMMENT ON COLUMN marts.channel_funnel.leads IS 'Leads created in the month.';
COMMENT ON COLUMN marts.channel_funnel.mqls IS 'Leads that became MQL in the month (an SQL without MQL date counts as MQL at its SQL date).';
COMMENT ON COLUMN marts.channel_funnel.sqls IS 'Leads that became SQL in the month.';
COMMENT ON COLUMN marts.channel_funnel.opportunities IS 'Deals created in the month.';
COMMENT ON COLUMN marts.channel_funnel.wins IS 'Deals won (stage maps to won) with close date in the month.';
COMMENT ON COLUMN marts.channel_funnel.revenue IS 'Sum of amounts of the deals won in the month (DECIMAL).';
COMMENT ON COLUMN marts.channel_funnel.impression_to_click_rate IS 'clicks / impressions of the same month (CTR); NULL when impressions = 0.';
COMMENT ON COLUMN marts.channel_funnel.click_to_session_rate IS 'sessions / clicks of the same month; NULL when clicks = 0. Above 1 when the channel also has sessions that no counted ad click brought (GA4 sessions of the channel are all counted).';
COMMENT ON COLUMN marts.channel_funnel.session_to_lead_rate IS 'leads / sessions of the same month; NULL when sessions = 0. Period rates can exceed 1 when a later stage of the month comes from earlier months.';
COMMENT ON COLUMN marts.channel_funnel.lead_to_mql_rate IS 'mqls / leads of the same month; NULL when leads = 0.';
COMMENT ON COLUMN marts.channel_funnel.mql_to_sql_rate IS 'sqls / mqls of the same month; NULL when mqls = 0.';
COMMENT ON COLUMN marts.channel_funnel.sql_to_opportunity_rate IS 'opportunities / sqls of the same month; NULL when sqls = 0.';
COMMENT ON COLUMN marts.channel_funnel.opportunity_to_win_rate IS 'wins / opportunities of the same month; NULL when opportunities = 0.';
