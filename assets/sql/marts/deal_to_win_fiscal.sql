-- Fiscal quarter and fiscal year view of marts.deal_to_win (issue 5, item 7): counts and
-- revenue summed from the monthly mart, win rate and deal size recomputed from the sums,
-- the median recomputed from the deals themselves.
CREATE OR REPLACE TABLE marts.deal_to_win_fiscal AS
WITH sums AS (
    SELECT p.grain, p.period, p.period_start, p.period_end, w.channel,
           CAST(sum(w.wins) AS BIGINT) AS wins, CAST(sum(w.losses) AS BIGINT) AS losses,
           CAST(sum(w.revenue) AS DECIMAL(18, 2)) AS revenue
    FROM marts.deal_to_win w
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(w.period_start, s.fiscal_year_start_month) p
    GROUP BY ALL
),
medians AS (
    SELECT p.grain, p.period_start, d.channel, median(days_between(d.created_at, d.closed_on))
           AS median_days_opportunity_to_win
    FROM staging.deals d
    CROSS JOIN staging.target_settings s
    CROSS JOIN fiscal_periods(month_start(d.closed_on), s.fiscal_year_start_month) p
    WHERE d.outcome = 'won'
    GROUP BY ALL
)
SELECT grain, period, period_start, period_end, channel, wins, losses, safe_rate(wins, wins + losses) AS win_rate,
       revenue, money_per(revenue, wins) AS avg_deal_size, medians.median_days_opportunity_to_win
FROM sums LEFT JOIN medians USING (grain, period_start, channel)
ORDER BY grain, period_start, channel;
COMMENT ON TABLE marts.deal_to_win_fiscal IS 'marts.deal_to_win per fiscal quarter and fiscal year of the close date (fiscal_year_start_month of targets.yaml, default April) and channel. Every month is in one fiscal_quarter row and one fiscal_year row: filter on grain before summing.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.grain IS 'fiscal_quarter or fiscal_year.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.period IS 'Fiscal period of the close date: FY2026 = the fiscal year starting on the 1st of fiscal_year_start_month of 2026; 2026-Q3 = its third quarter (labels as in targets.yaml).';
COMMENT ON COLUMN marts.deal_to_win_fiscal.period_start IS 'First day of the fiscal period.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.period_end IS 'Last day of the fiscal period, inclusive.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.channel IS 'Channel name of the deals.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.wins IS 'Deals won with close date in the period. Named won before 0.2.0.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.losses IS 'Deals lost with close date in the period. Named lost before 0.2.0.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.win_rate IS 'wins / (wins + losses) of the period (summed counts): the share of the closed deals that were won. Not opportunity_to_win_rate (wins / opportunities).';
COMMENT ON COLUMN marts.deal_to_win_fiscal.revenue IS 'Sum of amounts of the deals won in the period (DECIMAL).';
COMMENT ON COLUMN marts.deal_to_win_fiscal.avg_deal_size IS 'revenue / wins of the period, exact decimal rounded half up to 0.01; NULL when wins = 0.';
COMMENT ON COLUMN marts.deal_to_win_fiscal.median_days_opportunity_to_win IS 'Median days from deal creation to close date of the deals won in the period, over the deals themselves (not a median of the monthly medians); NULL when none was won. Named median_days_to_close before 0.2.0.';
