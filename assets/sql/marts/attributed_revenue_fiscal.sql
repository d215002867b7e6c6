-- Fiscal quarter and fiscal year view of marts.attributed_revenue (issue 5, item 7): every
-- column is a sum (a won deal closes in one month, so deals_credited adds up too).
CREATE OR REPLACE TABLE marts.attributed_revenue_fiscal AS
SELECT p.grain, p.period, p.period_start, p.period_end, a.channel, a.model,
       CAST(sum(a.attributed_revenue) AS DECIMAL(18, 2)) AS attributed_revenue,
       CAST(sum(a.revenue_from_touches) AS DECIMAL(18, 2)) AS revenue_from_touches,
       CAST(sum(a.revenue_without_touches) AS DECIMAL(18, 2)) AS revenue_without_touches,
       CAST(sum(a.deals_credited) AS BIGINT) AS deals_credited
FROM marts.attributed_revenue a
CROSS JOIN staging.target_settings s
CROSS JOIN fiscal_periods(a.period_start, s.fiscal_year_start_month) p
GROUP BY ALL
ORDER BY grain, period_start, channel, model;
COMMENT ON TABLE marts.attributed_revenue_fiscal IS 'marts.attributed_revenue per fiscal quarter and fiscal year of close (fiscal_year_start_month of targets.yaml, default April), channel and model: every model sums, per period, exactly to the won revenue. Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing.';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.period IS 'Fiscal period: FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026; 2026-Q3 = its third quarter (labels as in targets.yaml).';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.period_start IS 'First day of the fiscal period.';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.period_end IS 'Last day of the fiscal period, inclusive.';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.channel IS 'Channel credited (as in marts.attributed_revenue).';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.model IS 'first_touch, last_touch, linear, u_shaped or w_shaped (see marts.attributed_revenue.model).';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.attributed_revenue IS 'Revenue credited to the channel under the model for deals closed in the period (DECIMAL).';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.revenue_from_touches IS 'Part of attributed_revenue credited through touches.';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.revenue_without_touches IS 'Part of attributed_revenue from won deals without a touch before the opportunity.';
COMMENT ON COLUMN marts.attributed_revenue_fiscal.deals_credited IS 'Won deals closed in the period that credited the channel any revenue under the model.';
