-- Closed deals by close month and channel: won, lost, win rate and deal size.
CREATE OR REPLACE TABLE marts.deal_to_win AS
WITH c AS (
    SELECT month_start(closed_on) AS period_start, channel,
           count(*) FILTER (WHERE outcome = 'won') AS won,
           count(*) FILTER (WHERE outcome = 'lost') AS lost,
           CAST(coalesce(sum(amount) FILTER (WHERE outcome = 'won'), 0) AS DECIMAL(18, 2)) AS revenue,
           median(days_between(created_at, closed_on)) FILTER (WHERE outcome = 'won') AS median_days_to_close
    FROM staging.deals WHERE outcome IN ('won', 'lost') GROUP BY ALL
)
SELECT period_start, channel, won, lost, safe_rate(won, won + lost) AS win_rate, revenue,
       money_per(revenue, won) AS avg_deal_size, median_days_to_close
FROM c ORDER BY period_start, channel;
COMMENT ON TABLE marts.deal_to_win IS 'Deals closed (won or lost) per close month and channel.';
COMMENT ON COLUMN marts.deal_to_win.period_start IS 'First day of the close month.';
COMMENT ON COLUMN marts.deal_to_win.channel IS 'Channel name of the deals.';
COMMENT ON COLUMN marts.deal_to_win.won IS 'Deals won with close date in the month.';
COMMENT ON COLUMN marts.deal_to_win.lost IS 'Deals lost with close date in the month.';
COMMENT ON COLUMN marts.deal_to_win.win_rate IS 'won / (won + lost).';
COMMENT ON COLUMN marts.deal_to_win.revenue IS 'Sum of amounts of the won deals (DECIMAL).';
COMMENT ON COLUMN marts.deal_to_win.avg_deal_size IS 'revenue / won, exact decimal rounded half up to 0.01; NULL when won = 0.';
COMMENT ON COLUMN marts.deal_to_win.median_days_to_close IS 'Median days from deal creation to close date of the won deals.';
