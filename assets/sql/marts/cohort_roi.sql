-- Cohort ROI (issue 5, item 3): the spend of a month and channel against the revenue
-- that the leads created in that month and channel have produced so far, and the
-- month in which that revenue caught up with the spend (payback); with the unit
-- economics of targets.yaml (staging.target_settings), gross profit, ROMI, LTV and
-- LTV/CAC (formulas in metric_macros.sql).
CREATE OR REPLACE TABLE marts.cohort_roi AS
WITH spend AS (
    SELECT period_start AS cohort_start, channel, sum(cost) AS spend FROM staging.spend GROUP BY ALL
),
cohorts AS (
    SELECT month_start(created_at) AS cohort_start, channel,
           count(*) AS leads,
           count(*) FILTER (WHERE won) AS reached_win,
           sum(won_revenue) AS revenue
    FROM staging.lead_funnel GROUP BY ALL
),
-- The cohort's won deals (linked to its leads), summed by close month, cumulated.
closes AS (
    SELECT month_start(l.created_at) AS cohort_start, l.channel, month_start(d.closed_on) AS close_month,
           sum(d.amount) AS amount
    FROM staging.deals d JOIN staging.lead_funnel l ON l.lead_id = d.lead_id
    WHERE d.lead_linked AND d.outcome = 'won'
    GROUP BY ALL
),
cumulative AS (
    SELECT cohort_start, channel, close_month,
           sum(amount) OVER (PARTITION BY cohort_start, channel ORDER BY close_month) AS cumulative_revenue
    FROM closes
),
joined AS (
    SELECT cohort_start, channel, s.spend AS spend_or_null,
           coalesce(c.leads, 0) AS leads, coalesce(c.reached_win, 0) AS reached_win,
           CAST(coalesce(c.revenue, 0) AS DECIMAL(18, 2)) AS revenue
    FROM cohorts c FULL JOIN spend s USING (cohort_start, channel)
),
payback AS (
    SELECT j.cohort_start, j.channel, greatest(j.cohort_start, min(cu.close_month)) AS payback_month
    FROM joined j JOIN cumulative cu USING (cohort_start, channel)
    WHERE j.spend_or_null > 0 AND cu.cumulative_revenue >= j.spend_or_null
    GROUP BY j.cohort_start, j.channel
)
SELECT j.cohort_start, j.channel,
       CAST(coalesce(j.spend_or_null, 0) AS DECIMAL(18, 2)) AS spend,
       j.leads, j.reached_win, j.revenue,
       roas(j.revenue, j.spend_or_null) AS roas,
       roi(j.revenue, j.spend_or_null) AS roi,
       money_per(j.spend_or_null, j.reached_win) AS cac,
       p.payback_month,
       CAST(date_diff('month', j.cohort_start, p.payback_month) AS INTEGER) AS months_to_payback,
       gross_profit(j.revenue, u.gross_margin_numerator, u.gross_margin_denominator) AS gross_profit,
       romi(gross_profit(j.revenue, u.gross_margin_numerator, u.gross_margin_denominator), j.spend_or_null) AS romi,
       ltv(j.revenue, j.reached_win, u.ltv_multiplier_numerator, u.ltv_multiplier_denominator) AS ltv,
       ltv_to_cac(j.revenue, j.reached_win, j.spend_or_null, u.ltv_multiplier_numerator, u.ltv_multiplier_denominator)
           AS ltv_to_cac
FROM joined j LEFT JOIN payback p USING (cohort_start, channel)
CROSS JOIN staging.target_settings u
ORDER BY j.cohort_start, j.channel;
COMMENT ON TABLE marts.cohort_roi IS 'Per lead-created month and channel: that month''s spend of the channel against the revenue its leads have produced so far (real B2B cycle), with CAC and payback month, and, with the unit economics of targets.yaml (gross_margin, customer_lifetime_months, deal_amount_basis, purchases_per_year), gross profit, ROMI, LTV and LTV/CAC. One row per month and channel with leads or spend.';
COMMENT ON COLUMN marts.cohort_roi.cohort_start IS 'First day of the month the leads were created (and of the spend month).';
COMMENT ON COLUMN marts.cohort_roi.channel IS 'Channel name of the leads and of the spend.';
COMMENT ON COLUMN marts.cohort_roi.spend IS 'Spend of the channel in the cohort month (staging.spend: daily rows by day, monthly rows on their month) (DECIMAL; 0 when none).';
COMMENT ON COLUMN marts.cohort_roi.leads IS 'Leads created in the month in the channel.';
COMMENT ON COLUMN marts.cohort_roi.reached_win IS 'Cohort leads with at least one won linked deal so far (customers acquired; as marts.lead_cohort_funnel.reached_win): leads, not deals. Named won before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi.revenue IS 'Revenue so far: sum of amounts of the won deals linked to the cohort leads, whenever they closed (DECIMAL).';
COMMENT ON COLUMN marts.cohort_roi.roas IS 'revenue / spend of the row, as roas of marts.channel_roi; here the cohort''s revenue so far against its month''s spend. NULL when the channel has no spend in the month or it is 0. Named cohort_roas before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi.roi IS '(revenue - spend) / spend of the row, as roi of marts.channel_roi; NULL when the channel has no spend in the month or it is 0. Named cohort_roi before 0.2.0.';
COMMENT ON COLUMN marts.cohort_roi.cac IS 'spend / reached_win, exact decimal rounded half up to 0.01 (money_per); NULL when no spend rows or reached_win = 0.';
COMMENT ON COLUMN marts.cohort_roi.payback_month IS 'First day of the first month by whose end the cumulative revenue of the cohort''s won deals (each counted in the month of its close date) is >= spend; never before cohort_start. NULL when spend is 0 or not reached yet.';
COMMENT ON COLUMN marts.cohort_roi.months_to_payback IS 'Calendar months from cohort_start to payback_month (0 = paid back in the cohort month); NULL when not paid back.';
COMMENT ON COLUMN marts.cohort_roi.gross_profit IS 'revenue x gross_margin (targets.yaml), exact decimal rounded half up to 0.01. Revenue is the won deal amounts as recorded (with deal_amount_basis monthly or annual: one month''s or one year''s worth of each contract). NULL when gross_margin is not configured.';
COMMENT ON COLUMN marts.cohort_roi.romi IS 'Return on marketing investment on gross profit: (gross_profit - spend) / spend. 0 = the gross profit so far pays back the spend. NULL when spend is 0 or gross_margin is not configured.';
COMMENT ON COLUMN marts.cohort_roi.ltv IS 'Customer lifetime value per won customer (gross profit over the customer''s lifetime): revenue / reached_win x gross_margin x lifetime factor, exact decimal rounded half up to 0.01. The lifetime factor is how many times a customer pays the average revenue per customer: deal_amount_basis one_off (default: a deal amount is a contract value paid once) purchases_per_year x customer_lifetime_months / 12; monthly (the amount is paid every month) customer_lifetime_months; annual (paid every year) customer_lifetime_months / 12. E.g. 1,000,000 a customer, gross_margin 0.7, one_off, purchases_per_year 0.5, 36 months: 1,000,000 x 0.7 x 1.5 = 1,050,000. NULL when reached_win = 0 or gross_margin / customer_lifetime_months are not configured.';
COMMENT ON COLUMN marts.cohort_roi.ltv_to_cac IS 'ltv / cac, from the unrounded values (= revenue x gross_margin x lifetime factor / spend); 3 or more is the usual B2B yardstick. NULL when reached_win = 0, spend is 0 or LTV is not configured.';
