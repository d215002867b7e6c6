-- Fiscal quarter and fiscal year view of marts.cohort_roi (issue 5, item 7): the cohorts of
-- the months of a period taken together, against the spend of those months; returns, CAC,
-- unit economics and payback recomputed from the sums (payback from the deals themselves).
CREATE OR REPLACE TABLE marts.cohort_roi_fiscal AS
WITH sums AS (
    SELECT p.grain, p.period AS cohort_period, p.period_start AS cohort_start, p.period_end AS cohort_end, c.channel,
           CAST(sum(c.spend) AS DECIMAL(18, 2)) AS spend, CAST(sum(c.leads) AS BIGINT) AS leads,
           CAST(sum(c.reached_win) AS BIGINT) AS reached_win, CAST(sum(c.revenue) AS DECIMAL(18, 2)) AS revenue
    FROM marts.cohort_roi c
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(c.cohort_start, s.fiscal_year_start_month) p
    GROUP BY ALL
),
-- The period cohort's won deals (linked to its leads), summed by close month, cumulated.
closes AS (
    SELECT p.grain, p.period_start AS cohort_start, l.channel, month_start(d.closed_on) AS close_month, sum(d.amount) AS amount
    FROM staging.deals d
    JOIN staging.lead_funnel l ON l.lead_id = d.lead_id
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(month_start(l.created_at), s.fiscal_year_start_month) p
    WHERE d.lead_linked AND d.outcome = 'won'
    GROUP BY ALL
),
cumulative AS (
    SELECT grain, cohort_start, channel, close_month,
           sum(amount) OVER (PARTITION BY grain, cohort_start, channel ORDER BY close_month) AS cumulative_revenue
    FROM closes
),
payback AS (
    SELECT j.grain, j.cohort_start, j.channel, greatest(j.cohort_start, min(cu.close_month)) AS payback_month
    FROM sums j JOIN cumulative cu USING (grain, cohort_start, channel)
    WHERE j.spend > 0 AND cu.cumulative_revenue >= j.spend
    GROUP BY j.grain, j.cohort_start, j.channel
)
SELECT j.grain, j.cohort_period, j.cohort_start, j.cohort_end, j.channel, j.spend, j.leads, j.reached_win, j.revenue,
       roas(j.revenue, j.spend) AS roas,
       roi(j.revenue, j.spend) AS roi,
       money_per(nullif(j.spend, 0), j.reached_win) AS cac,
       p.payback_month,
       CAST(date_diff('month', j.cohort_start, p.payback_month) AS INTEGER) AS months_to_payback,
       gross_profit(j.revenue, u.gross_margin_numerator, u.gross_margin_denominator) AS gross_profit,
       romi(gross_profit(j.revenue, u.gross_margin_numerator, u.gross_margin_denominator), j.spend) AS romi,
       ltv(j.revenue, j.reached_win, u.ltv_multiplier_numerator, u.ltv_multiplier_denominator) AS ltv,
       ltv_to_cac(j.revenue, j.reached_win, j.spend, u.ltv_multiplier_numerator, u.ltv_multiplier_denominator) AS ltv_to_cac
FROM sums j
LEFT JOIN payback p USING (grain, cohort_start, channel)
CROSS JOIN staging.target_settings u
ORDER BY j.grain, j.cohort_start, j.channel;
COMMENT ON TABLE marts.cohort_roi_fiscal IS 'marts.cohort_roi per fiscal quarter and fiscal year of lead creation (fiscal_year_start_month of targets.yaml, default April) and channel: the spend of the period against the revenue its leads have produced so far, returns, CAC, unit economics and payback recomputed from the sums. Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.cohort_period IS 'Fiscal period the leads were created (and the spend made) in (the cohort; the other _fiscal marts call the period their events happened in period): FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026; 2026-Q3 = its third quarter (labels as in targets.yaml). Named period before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.cohort_start IS 'First day of the fiscal period the leads were created in (as cohort_start of marts.cohort_roi). Named period_start before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.cohort_end IS 'Last day of the fiscal period the leads were created in, inclusive. Named period_end before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.channel IS 'Channel name of the leads and of the spend.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.spend IS 'Spend of the channel in the period (DECIMAL; 0 when none).';
COMMENT ON COLUMN marts.cohort_roi_fiscal.leads IS 'Leads created in the period in the channel.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.reached_win IS 'Of them, leads with at least one won linked deal so far (customers acquired). Named won before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.revenue IS 'Revenue so far: sum of amounts of the won deals linked to the period''s leads, whenever they closed (DECIMAL).';
COMMENT ON COLUMN marts.cohort_roi_fiscal.roas IS 'revenue / spend of the period; NULL when spend = 0. Named cohort_roas before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.roi IS '(revenue - spend) / spend of the period; NULL when spend = 0. Named cohort_roi before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.cac IS 'spend / reached_win, exact decimal rounded half up to 0.01; NULL when spend or reached_win are 0.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.payback_month IS 'First day of the first month by whose end the cumulative revenue of the won deals of the period''s leads (each counted in the month of its close date) is >= the spend of the whole period; never before cohort_start (so it can lie before the period''s last month of spend). NULL when spend is 0 or not reached yet.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.months_to_payback IS 'Calendar months from cohort_start to payback_month; NULL when not paid back.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.gross_profit IS 'revenue x gross_margin (targets.yaml), exact decimal rounded half up to 0.01; NULL when gross_margin is not configured.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.romi IS '(gross_profit - spend) / spend of the period; NULL when spend is 0 or gross_margin is not configured.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.ltv IS 'Customer lifetime value per won customer: revenue / reached_win of the period x gross_margin x lifetime factor (as in marts.cohort_roi.ltv), exact decimal rounded half up to 0.01; NULL when reached_win = 0 or LTV is not configured.';
COMMENT ON COLUMN marts.cohort_roi_fiscal.ltv_to_cac IS 'ltv / cac from the unrounded values (= revenue x gross_margin x lifetime factor / spend); NULL when reached_win = 0, spend is 0 or LTV is not configured.';
