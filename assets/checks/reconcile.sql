-- Queries of the reconciliation checks (assets/checks/reconcile.py), run right after their mart is written.
-- Each opens with its `-- query: name` line.

-- query: channel_funnel_totals
-- The mart's sums, then the staged inputs they must equal.
SELECT sum(sessions), sum(leads), sum(opportunities), sum(wins), sum(revenue) FROM marts.channel_funnel;

-- query: channel_funnel_inputs
SELECT (SELECT coalesce(sum(sessions), 0) FROM staging.sessions),
       (SELECT count(*) FROM staging.leads),
       (SELECT count(*) FROM staging.deals),
       (SELECT count(*) FROM staging.deals WHERE outcome = 'won'),
       (SELECT coalesce(sum(amount), 0) FROM staging.deals WHERE outcome = 'won');

-- query: channel_roi_spend
SELECT (SELECT coalesce(sum(spend), 0) FROM marts.channel_roi),
       (SELECT coalesce(sum(cost), 0) FROM staging.spend);

-- query: attributed_revenue_differences
-- Close months where a model's attributed revenue is not the month's won revenue, either way.
WITH won AS (
    SELECT month_start(closed_on) AS period_start, sum(coalesce(amount, 0)) AS revenue
    FROM staging.deals WHERE outcome = 'won' GROUP BY ALL
),
models AS (SELECT unnest($models) AS model),
attributed AS (
    SELECT period_start, model, sum(attributed_revenue) AS attributed FROM marts.attributed_revenue GROUP BY ALL
)
SELECT CAST(w.period_start AS VARCHAR), m.model, CAST(w.revenue AS VARCHAR), CAST(coalesce(a.attributed, 0) AS VARCHAR)
FROM won w CROSS JOIN models m
LEFT JOIN attributed a ON a.period_start = w.period_start AND a.model = m.model
WHERE coalesce(a.attributed, 0) <> w.revenue
UNION ALL
SELECT CAST(a.period_start AS VARCHAR), a.model, '0', CAST(a.attributed AS VARCHAR)
FROM attributed a
WHERE a.attributed <> 0 AND NOT EXISTS (SELECT 1 FROM won w WHERE w.period_start = a.period_start)
ORDER BY 1, 2;

-- query: video_performance_differences
-- Period grains whose views, impressions or watch time differ between the mart and the counted staging rows.
WITH m AS (
    SELECT period_grain, sum(views) AS views, sum(impressions) AS impressions,
           round(sum(watch_time_hours), 6) AS hours
    FROM marts.video_performance GROUP BY ALL
),
s AS (
    SELECT period_grain, sum(views) AS views, sum(impressions) AS impressions,
           round(sum(watch_time_hours), 6) AS hours
    FROM staging.video GROUP BY ALL
)
SELECT period_grain, m.views, s.views, m.impressions, s.impressions, m.hours, s.hours
FROM m FULL JOIN s USING (period_grain)
WHERE (m.views, m.impressions, m.hours) IS DISTINCT FROM (s.views, s.impressions, s.hours)
ORDER BY 1;

-- query: video_funnel_totals
SELECT (SELECT sum(impressions) FROM marts.video_funnel),
       (SELECT sum(views) FROM marts.video_funnel),
       (SELECT sum(impressions) FROM marts.video_performance WHERE period_grain = 'month'),
       (SELECT sum(views) FROM marts.video_performance WHERE period_grain = 'month');

-- query: video_funnel_months_over_won
-- Videos' months with more wins or revenue than the deals won that month.
WITH won AS (
    SELECT month_start(closed_on) AS period_start, count(*) AS wins, sum(coalesce(amount, 0)) AS revenue
    FROM staging.deals WHERE outcome = 'won' GROUP BY ALL
)
SELECT CAST(f.period_start AS VARCHAR), f.video_id, f.wins, CAST(f.revenue AS VARCHAR)
FROM marts.video_funnel f LEFT JOIN won w USING (period_start)
WHERE f.wins > coalesce(w.wins, 0) OR f.revenue > coalesce(w.revenue, 0)
ORDER BY 1, 2
LIMIT 20;
