-- Spend against the funnel of the same month and channel.
CREATE OR REPLACE TABLE marts.channel_roi AS
-- A month whose spend rows add up to 0 has no spend: its costs per unit are NULL, as without rows.
WITH s AS (SELECT period_start, channel, nullif(sum(cost), 0) AS spend FROM staging.spend GROUP BY ALL)
SELECT f.period_start, f.channel,
       CAST(coalesce(s.spend, 0) AS DECIMAL(18, 2)) AS spend,
       f.impressions, f.clicks, f.leads, f.mqls, f.opportunities, f.wins, f.revenue,
       safe_rate(f.clicks, f.impressions) AS impression_to_click_rate,
       money_per(s.spend, f.clicks) AS cpc,
       money_times(s.spend, 1000, f.impressions) AS cpm,
       money_per(s.spend, f.leads) AS cpa,
       money_per(s.spend, f.mqls) AS cost_per_mql,
       money_per(s.spend, f.opportunities) AS cost_per_opportunity,
       money_per(s.spend, f.wins) AS cac,
       roas(f.revenue, s.spend) AS roas,
       roi(f.revenue, s.spend) AS roi
FROM marts.channel_funnel f LEFT JOIN s USING (period_start, channel)
ORDER BY f.period_start, f.channel;
COMMENT ON TABLE marts.channel_roi IS 'Spend, funnel counts and return per month and channel (same-month view: spend and revenue of the month).';
COMMENT ON COLUMN marts.channel_roi.period_start IS 'First day of the month.';
COMMENT ON COLUMN marts.channel_roi.channel IS 'Channel name.';
COMMENT ON COLUMN marts.channel_roi.spend IS 'Cost of the month (daily rows by day, monthly rows on their month) (DECIMAL).';
COMMENT ON COLUMN marts.channel_roi.impressions IS 'Ad impressions of the month (marts.channel_funnel.impressions).';
COMMENT ON COLUMN marts.channel_roi.clicks IS 'Ad clicks of the month (marts.channel_funnel.clicks).';
COMMENT ON COLUMN marts.channel_roi.leads IS 'Leads created in the month.';
COMMENT ON COLUMN marts.channel_roi.mqls IS 'Leads that became MQL in the month.';
COMMENT ON COLUMN marts.channel_roi.opportunities IS 'Deals created in the month.';
COMMENT ON COLUMN marts.channel_roi.wins IS 'Deals won in the month.';
COMMENT ON COLUMN marts.channel_roi.revenue IS 'Amount of deals won in the month (DECIMAL).';
COMMENT ON COLUMN marts.channel_roi.impression_to_click_rate IS 'clicks / impressions (CTR, click-through rate; as in marts.channel_funnel); NULL when impressions = 0. Named ctr before 0.2.0.';
COMMENT ON COLUMN marts.channel_roi.cpc IS 'spend / clicks (cost per click), exact decimal; NULL when no spend or no clicks.';
COMMENT ON COLUMN marts.channel_roi.cpm IS 'spend x 1000 / impressions (cost per thousand impressions), exact decimal; NULL when no spend or no impressions.';
COMMENT ON COLUMN marts.channel_roi.cpa IS 'spend / leads (cost per acquisition), exact decimal; NULL when no spend or no leads.';
COMMENT ON COLUMN marts.channel_roi.cost_per_mql IS 'spend / mqls; NULL when no spend or no MQLs.';
COMMENT ON COLUMN marts.channel_roi.cost_per_opportunity IS 'spend / opportunities; NULL when no spend or no opportunities.';
COMMENT ON COLUMN marts.channel_roi.cac IS 'spend / wins (customer acquisition cost); NULL when no spend or no wins.';
COMMENT ON COLUMN marts.channel_roi.roas IS 'revenue / spend; NULL when spend = 0. 5,000,000 spend and 30,000,000 revenue is 6.0.';
COMMENT ON COLUMN marts.channel_roi.roi IS '(revenue - spend) / spend; NULL when spend = 0. 5,000,000 spend and 30,000,000 revenue is 5.0 (500%).';
