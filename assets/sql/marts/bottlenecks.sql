-- Where each channel's funnel leaks most (issue 5, item 2). Per month x channel x
-- transition: the channel's rate against a reference rate (the target plan's rate
-- override of targets.yaml for the month, else the all-channel rate of the trailing
-- 6 months), the downstream volume lost because of the gap, that volume carried
-- down to won revenue, and the one transition that loses the most revenue among
-- those the data can speak for: the shortfall is significant (the Wilson 95% upper
-- bound of the observed rate lies below the reference) and the cohort is mature (its
-- youngest records have had the transition's typical time, staging.transition_days).
--
-- Cohort view: lead_to_mql, mql_to_sql and sql_to_opportunity follow the leads
-- created in the month (staging.lead_funnel: did they ever reach the stage);
-- opportunity_to_win follows the deals created in the month (staging.deals: are
-- they won). Every observed rate, actual or reference, is recomputed from summed counts;
-- rates are never averaged. Volumes are estimates (DOUBLE); revenue is DECIMAL.
CREATE OR REPLACE TABLE marts.bottlenecks AS
WITH transitions(step, transition, rate_name) AS (
    -- rate_name: the targets.yaml rates key of the same transition.
    VALUES (1, 'lead_to_mql', 'lead_to_mql_rate'), (2, 'mql_to_sql', 'mql_to_sql_rate'),
           (3, 'sql_to_opportunity', 'sql_to_opportunity_rate'), (4, 'opportunity_to_win', 'win_rate')
),
base AS (
    -- from / to counts per (month, channel, step), from the cohort view.
    SELECT month_start(created_at) AS period_start, channel, 1 AS step,
           count(*) AS from_count, count(*) FILTER (WHERE reached_mql) AS to_count
    FROM staging.lead_funnel GROUP BY 1, 2
    UNION ALL
    SELECT month_start(created_at), channel, 2,
           count(*) FILTER (WHERE reached_mql), count(*) FILTER (WHERE reached_sql)
    FROM staging.lead_funnel GROUP BY 1, 2
    UNION ALL
    SELECT month_start(created_at), channel, 3,
           count(*) FILTER (WHERE reached_sql), count(*) FILTER (WHERE reached_opportunity)
    FROM staging.lead_funnel GROUP BY 1, 2
    UNION ALL
    SELECT month_start(created_at), channel, 4, count(*), count(*) FILTER (WHERE outcome = 'won')
    FROM staging.deals GROUP BY 1, 2
),
keys AS (SELECT DISTINCT period_start, channel FROM base),
periods AS (SELECT DISTINCT period_start FROM base),
-- All channels, trailing window = the month and the 5 before it.
all_window AS (
    SELECT p.period_start, b.step, sum(b.from_count) AS ref_from, sum(b.to_count) AS ref_to
    FROM periods p
    JOIN base b ON b.period_start BETWEEN CAST(p.period_start - INTERVAL 5 MONTH AS DATE) AND p.period_start
    GROUP BY ALL
),
-- The rate override of the most specific target period covering the month that sets
-- one for the step (a month before a fiscal quarter before a fiscal year), as an exact
-- fraction.
target_reference AS (
    SELECT p.period_start, tr.step, t.rate_numerator AS ref_to, t.rate_denominator AS ref_from,
           'target:' || t.period AS reference_source
    FROM periods p
    CROSS JOIN transitions tr
    JOIN staging.target_rates t ON t.rate_name = tr.rate_name AND p.period_start BETWEEN t.period_start AND t.period_end
    QUALIFY row_number() OVER (PARTITION BY p.period_start, tr.step ORDER BY t.specificity) = 1
),
-- The reference of every month and step: the target's rate, else the all-channel window.
reference AS (
    SELECT a.period_start, a.step,
           coalesce(t.ref_to, a.ref_to) AS ref_to, coalesce(t.ref_from, a.ref_from) AS ref_from,
           coalesce(t.reference_source, 'all_channel_trailing_6_months') AS reference_source
    FROM all_window a LEFT JOIN target_reference t USING (period_start, step)
),
-- The channel alone, same window.
channel_window AS (
    SELECT k.period_start, k.channel, b.step, sum(b.from_count) AS win_from, sum(b.to_count) AS win_to
    FROM keys k
    JOIN base b ON b.channel = k.channel
               AND b.period_start BETWEEN CAST(k.period_start - INTERVAL 5 MONTH AS DATE) AND k.period_start
    GROUP BY ALL
),
-- Observed rate of every step over the window: the channel's, else (the channel
-- had nobody entering the step in the window) the all-channel one.
window_rates AS (
    SELECT k.period_start, k.channel,
           coalesce(safe_rate(c2.win_to, c2.win_from), safe_rate(a2.ref_to, a2.ref_from)) AS r2,
           coalesce(safe_rate(c3.win_to, c3.win_from), safe_rate(a3.ref_to, a3.ref_from)) AS r3,
           coalesce(safe_rate(c4.win_to, c4.win_from), safe_rate(a4.ref_to, a4.ref_from)) AS r4
    FROM keys k
    LEFT JOIN channel_window c2 ON c2.period_start = k.period_start AND c2.channel = k.channel AND c2.step = 2
    LEFT JOIN channel_window c3 ON c3.period_start = k.period_start AND c3.channel = k.channel AND c3.step = 3
    LEFT JOIN channel_window c4 ON c4.period_start = k.period_start AND c4.channel = k.channel AND c4.step = 4
    LEFT JOIN all_window a2 ON a2.period_start = k.period_start AND a2.step = 2
    LEFT JOIN all_window a3 ON a3.period_start = k.period_start AND a3.step = 3
    LEFT JOIN all_window a4 ON a4.period_start = k.period_start AND a4.step = 4
),
-- Average deal size over the window: won deals closed in it (by close month).
won_closed AS (
    SELECT month_start(closed_on) AS close_month, channel, amount FROM staging.deals WHERE outcome = 'won'
),
channel_deal_size AS (
    SELECT k.period_start, k.channel, money_per(sum(w.amount), count(*)) AS avg_deal_size
    FROM keys k
    JOIN won_closed w ON w.channel = k.channel
                     AND w.close_month BETWEEN CAST(k.period_start - INTERVAL 5 MONTH AS DATE) AND k.period_start
    GROUP BY ALL
),
all_deal_size AS (
    SELECT p.period_start, money_per(sum(w.amount), count(*)) AS avg_deal_size
    FROM periods p
    JOIN won_closed w ON w.close_month BETWEEN CAST(p.period_start - INTERVAL 5 MONTH AS DATE) AND p.period_start
    GROUP BY ALL
),
measured AS (
    SELECT b.period_start, b.channel, b.step, tr.transition,
           b.from_count, b.to_count,
           safe_rate(b.to_count, b.from_count) AS actual_rate,
           safe_rate(a.ref_to, a.ref_from) AS reference_rate, a.reference_source,
           -- max(0, reference * from - to) with reference = ref_to / ref_from, sign decided on exact integers
           CASE WHEN a.ref_from > 0
                THEN CAST(greatest(0, a.ref_to * b.from_count - b.to_count * a.ref_from) AS DOUBLE) / a.ref_from
                ELSE 0 END AS lost_volume,
           CASE b.step WHEN 1 THEN r.r2 * r.r3 * r.r4 WHEN 2 THEN r.r3 * r.r4 WHEN 3 THEN r.r4 ELSE 1 END
               AS wins_per_lost_unit,
           coalesce(cs.avg_deal_size, ads.avg_deal_size) AS deal_size
    FROM base b
    JOIN transitions tr USING (step)
    JOIN reference a USING (period_start, step)
    JOIN window_rates r USING (period_start, channel)
    LEFT JOIN channel_deal_size cs USING (period_start, channel)
    LEFT JOIN all_deal_size ads USING (period_start)
    WHERE b.from_count > 0
),
-- The data's newest moment: the newest lead or deal created. A cohort is judged against it, not the clock.
as_of AS (
    SELECT greatest((SELECT max(created_at) FROM staging.lead_funnel), (SELECT max(created_at) FROM staging.deals))
        AS as_of
),
-- Typical days of each transition: the channel's median when it made the transition at least 5 times, else
-- the median over every channel.
channel_days AS (SELECT channel, step, count(*) AS n, median(days) AS median_days FROM staging.transition_days
                 WHERE step <= 4 GROUP BY ALL),
all_days AS (SELECT step, median(days) AS median_days FROM staging.transition_days WHERE step <= 4 GROUP BY ALL),
valued AS (
    SELECT m.*,
           CASE WHEN lost_volume = 0 THEN CAST(0 AS DECIMAL(18, 2))
                ELSE CAST(round(CAST(lost_volume * wins_per_lost_unit AS DECIMAL(38, 12)) * deal_size, 2)
                          AS DECIMAL(18, 2)) END AS lost_revenue,
           wilson_upper_95(m.to_count, m.from_count) AS actual_rate_upper_95,
           days_between(CAST(last_day(m.period_start) AS TIMESTAMP) + INTERVAL 1 DAY, (SELECT as_of FROM as_of))
               AS cohort_age_days,
           CASE WHEN c.n >= 5 THEN c.median_days ELSE a.median_days END AS typical_days
    FROM measured m
    LEFT JOIN channel_days c USING (channel, step)
    LEFT JOIN all_days a USING (step)
),
judged AS (
    SELECT *,
           coalesce(actual_rate < reference_rate AND actual_rate_upper_95 < reference_rate, false) AS significant,
           CASE WHEN typical_days IS NULL OR cohort_age_days >= typical_days THEN 'mature' ELSE 'too_early' END
               AS maturity
    FROM valued
)
SELECT period_start AS cohort_start, channel, transition, from_count, to_count, actual_rate, reference_rate,
       reference_source, (actual_rate - reference_rate) * 100 AS gap_points,
       lost_volume, lost_revenue, actual_rate_upper_95, significant, cohort_age_days, typical_days, maturity,
       coalesce(significant AND maturity = 'mature' AND lost_revenue > 0 AND row_number() OVER (
           PARTITION BY period_start, channel, significant AND maturity = 'mature' AND lost_revenue > 0
           ORDER BY lost_revenue DESC NULLS LAST, step) = 1, false)
           AS is_bottleneck
FROM judged
ORDER BY period_start, channel, step;
COMMENT ON TABLE marts.bottlenecks IS 'Where each channel''s funnel leaks most: per month, channel and transition, the channel''s rate against a reference rate (the rate override of targets.yaml for the month, else the all-channel rate of the trailing 6 months), the downstream volume and won revenue lost because of the gap, and the transition that loses the most revenue. Cohort view: lead_to_mql, mql_to_sql and sql_to_opportunity follow the leads created in the month (whether they ever reached the stage, so far); opportunity_to_win follows the deals created in the month (whether they are won, so far). Young cohorts are still converting. One row per transition with at least one record entering it (from_count > 0). No fiscal quarter / year view: the reference rate belongs to each month (its target override or the 6 months ending in it), so a quarter has no reference of its own but an average of monthly ones; lost_revenue adds up and can be summed from this table.';
COMMENT ON COLUMN marts.bottlenecks.cohort_start IS 'First day of the cohort month: the month the leads were created (lead_to_mql, mql_to_sql, sql_to_opportunity) or the deals were created (opportunity_to_win); their later stages are counted whenever they happened, so it is a cohort_start (as in marts.lead_cohort_funnel), not the period_start of marts.channel_funnel (the month each stage happened). Named period_start before 0.2.0.';
COMMENT ON COLUMN marts.bottlenecks.channel IS 'Channel name of the leads (lead transitions) or of the deals (opportunity_to_win).';
COMMENT ON COLUMN marts.bottlenecks.transition IS 'lead_to_mql, mql_to_sql, sql_to_opportunity (cohort leads reaching each stage; opportunity = a linked deal or lifecycle opportunity/customer), opportunity_to_win (deals created in the month that are won). In this order.';
COMMENT ON COLUMN marts.bottlenecks.from_count IS 'Records entering the transition: cohort leads (lead_to_mql), cohort leads that reached MQL (mql_to_sql), reached SQL (sql_to_opportunity); deals created in the month (opportunity_to_win). Always > 0.';
COMMENT ON COLUMN marts.bottlenecks.to_count IS 'Of from_count, those that reached the later stage so far: MQL, SQL, opportunity; for opportunity_to_win the deals won.';
COMMENT ON COLUMN marts.bottlenecks.actual_rate IS 'to_count / from_count of this month and channel.';
COMMENT ON COLUMN marts.bottlenecks.reference_rate IS 'The rate the transition is held against (see reference_source). The target plan''s rate: when a target period of targets.yaml covering the month sets the override of this transition (rates: lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, win_rate for opportunity_to_win), that override; where several cover the month (e.g. FY2026 and 2026-Q3), the most specific one that sets it (a month before a fiscal quarter before a fiscal year). Else the all-channel rate of the same transition over the trailing 6 months (this month and the 5 before it): sum of to_count / sum of from_count over every channel and those months, recomputed from counts, never an average of rates.';
COMMENT ON COLUMN marts.bottlenecks.reference_source IS 'Where reference_rate comes from: target: and a target period (the rate override of that period of targets.yaml, e.g. target:2026-Q3) or all_channel_trailing_6_months.';
COMMENT ON COLUMN marts.bottlenecks.gap_points IS '(actual_rate - reference_rate) * 100: percentage points above (+) or below (-) the reference.';
COMMENT ON COLUMN marts.bottlenecks.lost_volume IS 'max(0, (reference_rate - actual_rate) * from_count): how many more records would have reached the later stage at the reference rate (fractional estimate; 0 when at or above the reference).';
COMMENT ON COLUMN marts.bottlenecks.lost_revenue IS 'lost_volume carried down to won revenue (DECIMAL, rounded to 0.01): lost_volume x the channel''s observed rate of every later transition over the same trailing 6 months (sum to / sum from of the channel; the all-channel rate when the channel had no record entering that transition in the window) x average deal size (money_per(sum of amounts, count) of the channel''s won deals closed in the window; the all-channel one when the channel closed no won deal in it). opportunity_to_win: lost_volume x average deal size. 0 when lost_volume = 0; NULL when a later rate or the deal size does not exist at all.';
COMMENT ON COLUMN marts.bottlenecks.actual_rate_upper_95 IS 'Upper end of the Wilson score interval at 95% of actual_rate (to_count of from_count): the highest true rate the observed counts are consistent with. 0 of 2 gives 0.66: two records say little.';
COMMENT ON COLUMN marts.bottlenecks.significant IS 'actual_rate_upper_95 < reference_rate: the shortfall is more than chance (95%). 0 of 2 against a 15% reference is not; 21 of 91 (23%) against 38% is (upper bound 0.327).';
COMMENT ON COLUMN marts.bottlenecks.cohort_age_days IS 'Days from the end of the cohort month to the data''s newest moment (the newest lead or deal created): how long its youngest records have had to convert.';
COMMENT ON COLUMN marts.bottlenecks.typical_days IS 'Typical days the transition takes: the median of staging.transition_days for the channel when it made the transition at least 5 times, else over every channel; NULL when no record ever made it.';
COMMENT ON COLUMN marts.bottlenecks.maturity IS 'mature: cohort_age_days >= typical_days (or no typical time is known), so the cohort''s rate can be judged; too_early: its records are younger than the transition usually takes and are still converting; a low rate then is no shortfall yet.';
COMMENT ON COLUMN marts.bottlenecks.is_bottleneck IS 'True for at most one transition per month and channel: among the transitions that are significant and mature with lost_revenue > 0, the one with the largest lost_revenue; ties go to the earlier transition (lead_to_mql first). False elsewhere: a shortfall that is not significant or too early is never a bottleneck.';
