-- Fiscal quarter and fiscal year view of marts.channel_roi (issue 5, item 7): spend and
-- funnel counts summed, every cost per unit and return recomputed from the sums.
CREATE OR REPLACE TABLE marts.channel_roi_fiscal AS
WITH sums AS (
    SELECT p.grain, p.period, p.period_start, p.period_end, r.channel,
           CAST(sum(r.spend) AS DECIMAL(18, 2)) AS spend,
           CAST(sum(r.impressions) AS BIGINT) AS impressions, CAST(sum(r.clicks) AS BIGINT) AS clicks,
           CAST(sum(r.leads) AS BIGINT) AS leads, CAST(sum(r.mqls) AS BIGINT) AS mqls,
           CAST(sum(r.opportunities) AS BIGINT) AS opportunities, CAST(sum(r.wins) AS BIGINT) AS wins,
           CAST(sum(r.revenue) AS DECIMAL(18, 2)) AS revenue
    FROM marts.channel_roi r
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(r.period_start, s.fiscal_year_start_month) p
    GROUP BY ALL
)
SELECT *,
       safe_rate(clicks, impressions) AS impression_to_click_rate,
       money_per(nullif(spend, 0), clicks) AS cpc,
       money_times(nullif(spend, 0), 1000, impressions) AS cpm,
       money_per(nullif(spend, 0), leads) AS cpa,
       money_per(nullif(spend, 0), mqls) AS cost_per_mql,
       money_per(nullif(spend, 0), opportunities) AS cost_per_opportunity,
       money_per(nullif(spend, 0), wins) AS cac,
       roas(revenue, spend) AS roas,
       roi(revenue, spend) AS roi
FROM sums
ORDER BY grain, period_start, channel;
COMMENT ON TABLE marts.channel_roi_fiscal IS 'marts.channel_roi per fiscal quarter and fiscal year (fiscal_year_start_month of targets.yaml, default April) and channel: spend, funnel counts and revenue of the period, costs per unit and returns recomputed from the sums (never averaged). Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing.';
COMMENT ON COLUMN marts.channel_roi_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.channel_roi_fiscal.period IS 'Fiscal period: FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026; 2026-Q3 = its third quarter (labels as in targets.yaml).';
COMMENT ON COLUMN marts.channel_roi_fiscal.period_start IS 'First day of the fiscal period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.period_end IS 'Last day of the fiscal period, inclusive.';
COMMENT ON COLUMN marts.channel_roi_fiscal.channel IS 'Channel name.';
COMMENT ON COLUMN marts.channel_roi_fiscal.spend IS 'Cost of the period (DECIMAL; 0 when none).';
COMMENT ON COLUMN marts.channel_roi_fiscal.impressions IS 'Ad impressions of the period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.clicks IS 'Ad clicks of the period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.leads IS 'Leads created in the period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.mqls IS 'Leads that became MQL in the period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.opportunities IS 'Deals created in the period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.wins IS 'Deals won in the period.';
COMMENT ON COLUMN marts.channel_roi_fiscal.revenue IS 'Amount of deals won in the period (DECIMAL).';
COMMENT ON COLUMN marts.channel_roi_fiscal.impression_to_click_rate IS 'clicks / impressions of the period (CTR); NULL when impressions = 0. Named ctr before 0.2.0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.cpc IS 'spend / clicks of the period, exact decimal rounded half up to 0.01; NULL when spend or clicks are 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.cpm IS 'spend x 1000 / impressions of the period, exact decimal rounded half up to 0.01; NULL when spend or impressions are 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.cpa IS 'spend / leads of the period, exact decimal rounded half up to 0.01; NULL when spend or leads are 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.cost_per_mql IS 'spend / mqls; NULL when spend or mqls are 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.cost_per_opportunity IS 'spend / opportunities; NULL when spend or opportunities are 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.cac IS 'spend / wins (customer acquisition cost); NULL when spend or wins are 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.roas IS 'revenue / spend of the period; NULL when spend = 0.';
COMMENT ON COLUMN marts.channel_roi_fiscal.roi IS '(revenue - spend) / spend of the period; NULL when spend = 0.';
