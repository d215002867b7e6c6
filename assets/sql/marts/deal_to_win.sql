-- Closed deals by close month and channel: wins, losses, win rate and deal size.
CREATE OR REPLACE TABLE marts.deal_to_win AS
WITH c AS (
    SELECT month_start(closed_on) AS period_start, channel,
           count(*) FILTER (WHERE outcome = 'won') AS wins,
           count(*) FILTER (WHERE outcome = 'lost') AS losses,
           CAST(coalesce(sum(amount) FILTER (WHERE outcome = 'won'), 0) AS DECIMAL(18, 2)) AS revenue,
           median(days_between(created_at, closed_on)) FILTER (WHERE outcome = 'won') AS median_days_opportunity_to_win
    FROM staging.deals WHERE outcome IN ('won', 'lost') GROUP BY ALL
)
SELECT period_start, channel, wins, losses, safe_rate(wins, wins + losses) AS win_rate, revenue,
       money_per(revenue, wins) AS avg_deal_size, median_days_opportunity_to_win
FROM c ORDER BY period_start, channel;
COMMENT ON TABLE marts.deal_to_win IS 'Deals closed (won or lost) per close month and channel.';
COMMENT ON COLUMN marts.deal_to_win.period_start IS 'First day of the close month.';
COMMENT ON COLUMN marts.deal_to_win.channel IS 'Channel name of the deals.';
COMMENT ON COLUMN marts.deal_to_win.wins IS 'Deals won with close date in the month (as marts.channel_funnel.wins). Named won before 0.2.0.';
COMMENT ON COLUMN marts.deal_to_win.losses IS 'Deals lost with close date in the month. Named lost before 0.2.0.';
COMMENT ON COLUMN marts.deal_to_win.win_rate IS 'wins / (wins + losses): the share of the closed deals that were won; open deals are in neither. Not opportunity_to_win_rate (marts.channel_funnel: wins / opportunities, every deal created, open or closed, in the denominator).';
COMMENT ON COLUMN marts.deal_to_win.revenue IS 'Sum of amounts of the won deals (DECIMAL).';
COMMENT ON COLUMN marts.deal_to_win.avg_deal_size IS 'revenue / wins, exact decimal rounded half up to 0.01; NULL when wins = 0.';
COMMENT ON COLUMN marts.deal_to_win.median_days_opportunity_to_win IS 'Median days from deal creation to close date of the won deals (the opportunity_to_win transition of marts.stage_velocity). Named median_days_to_close before 0.2.0.';
