-- The metric formulas of docs/metrics.md, each defined once and used by every mart.

-- A rate: later / earlier; NULL when the denominator is 0.
CREATE OR REPLACE MACRO safe_rate(numerator, denominator) AS
    CASE WHEN denominator IS NULL OR denominator = 0 THEN NULL ELSE CAST(numerator AS DOUBLE) / denominator END;

-- Money times a ratio of whole numbers (numerator / denominator, denominator > 0): exact
-- decimal, rounded half up (away from zero) to 0.01; NULL when the denominator is 0 or
-- anything is NULL. Integer arithmetic on hundredths, never floats.
CREATE OR REPLACE MACRO money_times(amount, numerator, denominator) AS
    CASE WHEN denominator IS NULL OR denominator = 0 OR amount IS NULL OR numerator IS NULL THEN NULL
         ELSE CAST(CAST(
             (CAST(amount * 100 AS HUGEINT) * CAST(numerator AS HUGEINT) * 2
              + sign(amount) * sign(numerator) * CAST(denominator AS HUGEINT))
             // (2 * CAST(denominator AS HUGEINT))
             AS DECIMAL(20, 0)) * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2)) END;

-- Money per unit (cpa, cac, avg_deal_size, ...): amount / units as money_times rounds it;
-- NULL when there are no units.
CREATE OR REPLACE MACRO money_per(amount, units) AS money_times(amount, 1, units);

-- An aggregate: the mean of x weighted by w over the rows where both are known, sum(x w) / sum(w) (YouTube's
-- click-through rate per impression, percentage viewed per view); NULL without weight.
CREATE OR REPLACE MACRO weighted_mean(x, w) AS
    sum(CAST(x AS DOUBLE) * w) / nullif(sum(CASE WHEN x IS NOT NULL THEN w END), 0);

-- roas = revenue / spend; roi = (revenue - spend) / spend. NULL without spend.
CREATE OR REPLACE MACRO roas(revenue, spend) AS safe_rate(revenue, spend);
CREATE OR REPLACE MACRO roi(revenue, spend) AS safe_rate(revenue - spend, spend);

-- Unit economics (marts.cohort_roi). The multipliers are exact fractions from targets.yaml
-- (staging.target_settings): gross margin m = m_num / m_den, and gross margin x lifetime
-- factor f = f_num / f_den. NULL when not configured.
-- gross_profit = revenue x gross margin; romi = (gross_profit - spend) / spend.
CREATE OR REPLACE MACRO gross_profit(revenue, m_num, m_den) AS money_times(revenue, m_num, m_den);
CREATE OR REPLACE MACRO romi(gross_profit, spend) AS roi(gross_profit, spend);
-- ltv = revenue / customers x gross margin x lifetime factor (per won customer).
CREATE OR REPLACE MACRO ltv(revenue, customers, f_num, f_den) AS money_times(revenue, f_num, customers * f_den);
-- ltv_to_cac = ltv / cac = (revenue / customers x f) / (spend / customers), from the unrounded
-- values: revenue x f / spend. NULL without customers, spend or configuration.
CREATE OR REPLACE MACRO ltv_to_cac(revenue, customers, spend, f_num, f_den) AS
    CASE WHEN customers IS NULL OR customers = 0 THEN NULL
         ELSE safe_rate(CAST(revenue AS DOUBLE) * f_num, CAST(spend AS DOUBLE) * f_den) END;

-- The upper end of the Wilson score interval at 95% (z = 1.959964) of a rate of `successes` out of `n`:
-- the highest true rate the observed one is consistent with. NULL when n is 0; exactly 1 when every one succeeded.
CREATE OR REPLACE MACRO wilson_upper_95(successes, n) AS CASE WHEN n IS NULL OR n = 0 THEN NULL
    WHEN successes >= n THEN 1.0 ELSE
    (CAST(successes AS DOUBLE) / n + pow(1.959964, 2) / (2 * n)
     + 1.959964 * sqrt(CAST(successes AS DOUBLE) / n * (1 - CAST(successes AS DOUBLE) / n) / n
                       + pow(1.959964, 2) / (4 * CAST(n AS DOUBLE) * n)))
    / (1 + pow(1.959964, 2) / n) END;

-- Days between two timestamps or dates, fractional.
CREATE OR REPLACE MACRO days_between(a, b) AS
    (epoch(CAST(b AS TIMESTAMP)) - epoch(CAST(a AS TIMESTAMP))) / 86400.0;

CREATE OR REPLACE MACRO month_start(ts) AS CAST(date_trunc('month', ts) AS DATE);

-- Whole cents (an integer) as money, exactly.
CREATE OR REPLACE MACRO cents_to_money(cents) AS
    CAST(CAST(cents AS DECIMAL(20, 0)) * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2));

-- The fiscal quarter and the fiscal year that month d lies in, one row per grain, labelled as
-- the periods of targets.yaml: FY2026 is the fiscal year starting on the 1st of month
-- start_month (fiscal_year_start_month) of 2026; 2026-Q3 its third quarter (Q1 = its first
-- three months). With April, 2027-03 is in FY2026 and 2026-Q4; 2026-04 in FY2026 and 2026-Q1.
CREATE OR REPLACE MACRO fiscal_periods(d, start_month) AS TABLE
    WITH f AS (
        SELECT year(d) - CASE WHEN month(d) < start_month THEN 1 ELSE 0 END AS fiscal_year,
               (month(d) - start_month + 12) % 12 // 3 + 1 AS quarter
    ),
    p AS (
        SELECT 'fiscal_quarter' AS grain, fiscal_year || '-Q' || quarter AS period,
               CAST(make_date(fiscal_year, start_month, 1) + to_months(3 * (quarter - 1)) AS DATE) AS period_start,
               3 AS months
        FROM f
        UNION ALL
        SELECT 'fiscal_year', 'FY' || fiscal_year, make_date(fiscal_year, start_month, 1), 12 FROM f
    )
    SELECT grain, period, period_start,
           CAST(period_start + to_months(months) - INTERVAL 1 DAY AS DATE) AS period_end
    FROM p;
