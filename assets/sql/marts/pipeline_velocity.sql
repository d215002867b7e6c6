-- Pipeline velocity (issue 5, item 4) per month and channel: the revenue per day the
-- open pipeline is worth, open opportunities x win rate x average deal size /
-- average sales cycle, and its four parts. Win rate, deal size and cycle are taken
-- over the deals closed in the trailing 6 months (the month and the 5 before it).
CREATE OR REPLACE TABLE marts.pipeline_velocity AS
WITH months AS (SELECT DISTINCT period_start FROM marts.channel_funnel),
grid AS (
    SELECT m.period_start, CAST(m.period_start + INTERVAL 1 MONTH AS DATE) AS next_start, c.channel
    FROM months m, (SELECT DISTINCT channel FROM staging.deals) c
),
open_at_end AS (
    SELECT g.period_start, g.channel, count(d.deal_id) AS open_opportunities
    FROM grid g
    LEFT JOIN staging.deals d
           ON d.channel = g.channel AND d.created_at < g.next_start
          AND (d.closed_on IS NULL OR d.closed_on >= g.next_start)
    GROUP BY ALL
),
closed_in_window AS (
    SELECT g.period_start, g.channel,
           count(*) FILTER (WHERE d.outcome = 'won') AS won,
           count(*) FILTER (WHERE d.outcome = 'lost') AS lost,
           sum(d.amount) FILTER (WHERE d.outcome = 'won') AS revenue,
           -- the mean of exact microsecond counts, so that it does not depend on the order in which
           -- parallel threads add doubles up (the last digit differed between runs)
           avg(epoch_us(CAST(d.closed_on AS TIMESTAMP)) - epoch_us(CAST(d.created_at AS TIMESTAMP)))
               FILTER (WHERE d.outcome = 'won') / 86400000000.0 AS avg_cycle
    FROM grid g
    LEFT JOIN staging.deals d
           ON d.channel = g.channel AND d.outcome IN ('won', 'lost')
          AND d.closed_on >= CAST(g.period_start - INTERVAL 5 MONTH AS DATE) AND d.closed_on < g.next_start
    GROUP BY ALL
),
parts AS (
    SELECT o.period_start, o.channel, o.open_opportunities, c.won, c.lost,
           safe_rate(c.won, c.won + c.lost) AS win_rate,
           money_per(c.revenue, c.won) AS avg_deal_size,
           c.avg_cycle AS avg_sales_cycle_days
    FROM open_at_end o JOIN closed_in_window c USING (period_start, channel)
)
SELECT period_start, channel, open_opportunities,
       CAST(won AS BIGINT) AS won_in_window, CAST(lost AS BIGINT) AS lost_in_window,
       win_rate, avg_deal_size, avg_sales_cycle_days,
       CASE WHEN win_rate IS NULL OR avg_deal_size IS NULL OR avg_sales_cycle_days IS NULL
                 OR avg_sales_cycle_days <= 0 THEN NULL
            ELSE CAST(round(CAST(open_opportunities * win_rate * CAST(avg_deal_size AS DOUBLE)
                                 / avg_sales_cycle_days AS DECIMAL(38, 6)), 2) AS DECIMAL(18, 2)) END
           AS pipeline_velocity
FROM parts
ORDER BY period_start, channel;
COMMENT ON TABLE marts.pipeline_velocity IS 'Pipeline velocity per month and channel: open opportunities x win rate x average deal size / average sales cycle days (revenue per day), and its parts. Every month from the first to the last of marts.channel_funnel, for every channel that has any deal. No fiscal quarter / year view: open_opportunities is a stock at a month''s end and the other parts are trailing 6-month windows, so a quarter''s value is the row of its last month, not a sum.';
COMMENT ON COLUMN marts.pipeline_velocity.period_start IS 'First day of the month.';
COMMENT ON COLUMN marts.pipeline_velocity.channel IS 'Channel name of the deals.';
COMMENT ON COLUMN marts.pipeline_velocity.open_opportunities IS 'Deals open at the end of the month: created on or before the month''s last day and not closed by then (no close date, i.e. open or unknown stage, or closed_on after the month''s last day).';
COMMENT ON COLUMN marts.pipeline_velocity.won_in_window IS 'Deals won with close date in the trailing 6 months (this month and the 5 before it).';
COMMENT ON COLUMN marts.pipeline_velocity.lost_in_window IS 'Deals lost with close date in the trailing 6 months (this month and the 5 before it).';
COMMENT ON COLUMN marts.pipeline_velocity.win_rate IS 'won_in_window / (won_in_window + lost_in_window); NULL when no deal closed in the window.';
COMMENT ON COLUMN marts.pipeline_velocity.avg_deal_size IS 'Sum of amounts of the deals won in the window / won_in_window, exact decimal rounded half up to 0.01 (money_per); NULL when none was won.';
COMMENT ON COLUMN marts.pipeline_velocity.avg_sales_cycle_days IS 'Mean days from created_at to close date of the deals won in the window (fractional); NULL when none was won.';
COMMENT ON COLUMN marts.pipeline_velocity.pipeline_velocity IS 'open_opportunities x win_rate x avg_deal_size / avg_sales_cycle_days: expected revenue per day from the open pipeline (DECIMAL, rounded to 0.01). NULL when win_rate, avg_deal_size or avg_sales_cycle_days is NULL or the cycle is <= 0; 0 when nothing is open.';
