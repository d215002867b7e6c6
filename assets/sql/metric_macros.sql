-- The metric formulas of CONTRACT section 6, each defined once and used by every mart.

-- A rate: later / earlier; NULL when the denominator is 0.
CREATE OR REPLACE MACRO safe_rate(numerator, denominator) AS
    CASE WHEN denominator IS NULL OR denominator = 0 THEN NULL ELSE CAST(numerator AS DOUBLE) / denominator END;

-- Money per unit (cpa, cac, avg_deal_size, ...): exact decimal, rounded half up to
-- 0.01; NULL when there are no units. Integer arithmetic on hundredths, never floats.
CREATE OR REPLACE MACRO money_per(amount, units) AS
    CASE WHEN units IS NULL OR units = 0 OR amount IS NULL THEN NULL
         ELSE CAST(CAST(
             (CAST(amount * 100 AS HUGEINT) * 2 + sign(amount) * units) // (2 * CAST(units AS HUGEINT))
             AS DECIMAL(20, 0)) * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2)) END;

-- roas = revenue / spend; roi = (revenue - spend) / spend. NULL without spend.
CREATE OR REPLACE MACRO roas(revenue, spend) AS safe_rate(revenue, spend);
CREATE OR REPLACE MACRO roi(revenue, spend) AS safe_rate(revenue - spend, spend);

-- Days between two timestamps or dates, fractional.
CREATE OR REPLACE MACRO days_between(a, b) AS
    (epoch(CAST(b AS TIMESTAMP)) - epoch(CAST(a AS TIMESTAMP))) / 86400.0;

CREATE OR REPLACE MACRO month_start(ts) AS CAST(date_trunc('month', ts) AS DATE);

-- A UTC timestamp (file times in ops.load_log) as local time of time zone tz (the configured
-- one is staging.run_settings.timezone), like every timestamp read from an export.
CREATE OR REPLACE MACRO local_time(utc, tz) AS timezone(tz, timezone('UTC', utc));

-- Whole cents (an integer) as money, exactly.
CREATE OR REPLACE MACRO cents_to_money(cents) AS
    CAST(CAST(cents AS DECIMAL(20, 0)) * CAST(0.01 AS DECIMAL(3, 2)) AS DECIMAL(18, 2));
