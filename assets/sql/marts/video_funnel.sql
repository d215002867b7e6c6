-- The video funnel per video and month (docs/analyses.md): 表示 -> 視聴 -> 問い合わせ -> 商談 -> 受注, the line
-- B2B video KPIs are drawn on, with 商談前視聴率 and 動画別ROI. YouTube's impressions and views are marts.video_performance's
-- months; then the CRM records of the leads who watched the video, each stage counted in the month it
-- happened (rates compare stages of the same month, as in channel_funnel).
--
-- A touch names a video by its id, a YouTube URL holding the id (youtu.be/<id>, watch?v=<id>, /shorts/<id>)
-- or one of its titles (case-insensitive; a title two videos had names neither). Touches of unknown leads
-- take part in nothing. A lead or deal counts for every video its lead watched: the revenue of several
-- videos does not add up to the won revenue (attributed_revenue splits it).
CREATE OR REPLACE TABLE marts.video_funnel AS
WITH videos AS (  -- the videos of the exports, and those only config/video_costs.csv names
    SELECT video_id, video_title FROM staging.videos
    UNION ALL
    SELECT video_id, NULL FROM staging.video_costs WHERE video_id NOT IN (SELECT video_id FROM staging.videos)
),
unique_titles AS (
    SELECT lower(trim(title)) AS title_key, min(video_id) AS video_id
    FROM (SELECT video_id, unnest(titles) AS title FROM staging.videos)
    GROUP BY lower(trim(title)) HAVING count(DISTINCT video_id) = 1
),
touches AS (
    SELECT lead_id, touched_at, content_id,
           nullif(regexp_extract(content_id, '(?:youtu\.be/|[?&]v=|/shorts/|/embed/|/live/)([A-Za-z0-9_-]{11})', 1),
                  '') AS url_video_id
    FROM staging.touchpoints WHERE lead_known AND content_id IS NOT NULL
),
video_touches AS (
    SELECT t.lead_id, t.touched_at, v.video_id FROM touches t JOIN videos v ON v.video_id = t.content_id
    UNION SELECT t.lead_id, t.touched_at, v.video_id FROM touches t JOIN videos v ON v.video_id = t.url_video_id
    UNION SELECT t.lead_id, t.touched_at, u.video_id FROM touches t
          JOIN unique_titles u ON u.title_key = lower(t.content_id)
),
watched AS (SELECT video_id, lead_id, min(touched_at) AS first_watched_at FROM video_touches GROUP BY ALL),
-- an inquiry watched the video at or before it became a lead (counted at created_at) or, later, before it
-- became an MQL (counted at its MQL date)
inquiries AS (
    SELECT w.video_id,
           month_start(CASE WHEN w.first_watched_at <= f.created_at THEN f.created_at ELSE f.mql_date END)
               AS period_start,
           count(*) AS inquiries
    FROM watched w JOIN staging.lead_funnel f USING (lead_id)
    WHERE w.first_watched_at <= CASE WHEN f.reached_mql THEN f.mql_date ELSE f.created_at END
    GROUP BY ALL
),
watched_deals AS (  -- deals whose lead watched the video at or before the deal was created
    SELECT w.video_id, d.created_at, d.outcome, d.closed_on, d.amount
    FROM watched w JOIN staging.deals d ON d.lead_linked AND d.lead_id = w.lead_id AND w.first_watched_at <= d.created_at
),
opportunities AS (
    SELECT video_id, month_start(created_at) AS period_start, count(*) AS opportunities FROM watched_deals GROUP BY ALL
),
wins AS (
    SELECT video_id, month_start(closed_on) AS period_start, count(*) AS wins, sum(coalesce(amount, 0)) AS revenue
    FROM watched_deals WHERE outcome = 'won' GROUP BY ALL
),
month_opportunities AS (
    SELECT month_start(created_at) AS period_start, count(*) AS opportunities_in_month
    FROM staging.deals WHERE lead_linked GROUP BY ALL
),
performance AS (
    SELECT video_id, period_start, impressions, impression_ctr, views FROM marts.video_performance
    WHERE period_grain = 'month'
),
keyed AS (
    SELECT video_id, period_start FROM performance
    UNION SELECT video_id, period_start FROM inquiries
    UNION SELECT video_id, period_start FROM opportunities
    UNION SELECT video_id, period_start FROM wins
),
counts AS (
    SELECT k.period_start, k.video_id, p.impressions, p.views, p.impression_ctr,
           coalesce(i.inquiries, 0) AS inquiries, coalesce(o.opportunities, 0) AS opportunities,
           coalesce(w.wins, 0) AS wins, CAST(coalesce(w.revenue, 0) AS DECIMAL(18, 2)) AS revenue,
           coalesce(m.opportunities_in_month, 0) AS opportunities_in_month
    FROM keyed k
    LEFT JOIN performance p USING (video_id, period_start)
    LEFT JOIN inquiries i USING (video_id, period_start)
    LEFT JOIN opportunities o USING (video_id, period_start)
    LEFT JOIN wins w USING (video_id, period_start)
    LEFT JOIN month_opportunities m USING (period_start)
),
to_date AS (
    SELECT c.*, v.video_title, vc.cost AS production_cost,
           CAST(sum(c.revenue) OVER (PARTITION BY c.video_id ORDER BY c.period_start) AS DECIMAL(18, 2))
               AS revenue_to_date
    FROM counts c JOIN videos v USING (video_id) LEFT JOIN staging.video_costs vc USING (video_id)
)
SELECT period_start, video_id, video_title, impressions, views, impression_ctr,
       inquiries, opportunities, wins, revenue,
       safe_rate(inquiries, views) AS view_to_inquiry_rate,
       safe_rate(opportunities, inquiries) AS inquiry_to_opportunity_rate,
       safe_rate(wins, opportunities) AS opportunity_to_win_rate,
       opportunities_in_month,
       safe_rate(opportunities, opportunities_in_month) AS pre_meeting_view_rate,
       production_cost, revenue_to_date, roi(revenue_to_date, production_cost) AS roi_to_date
FROM to_date
ORDER BY period_start, video_id;
COMMENT ON TABLE marts.video_funnel IS 'The video funnel per month and YouTube video (表示 -> 視聴 -> 問い合わせ -> 商談 -> 受注): impressions and views, then the leads and deals of the people who watched it, each stage in the month it happened; 商談前視聴率 and ROI against the production cost (動画別ROI). A month without any of them has no row.';
COMMENT ON COLUMN marts.video_funnel.period_start IS 'First day of the month.';
COMMENT ON COLUMN marts.video_funnel.video_id IS 'YouTube video id: of the Studio exports, or of config/video_costs.csv.';
COMMENT ON COLUMN marts.video_funnel.video_title IS 'The video''s title in the newest export; NULL for a video only config/video_costs.csv names.';
COMMENT ON COLUMN marts.video_funnel.impressions IS 'Thumbnail impressions of the month (marts.video_performance, period_grain month); NULL when no export gives them for the month.';
COMMENT ON COLUMN marts.video_funnel.views IS 'Views of the month (marts.video_performance); NULL when no export gives them for the month.';
COMMENT ON COLUMN marts.video_funnel.impression_ctr IS 'Impressions click-through rate of the month (views that came from an impression / impressions), weighted by impressions: Studio''s CTR, the step from 表示 to 視聴.';
COMMENT ON COLUMN marts.video_funnel.inquiries IS 'Known leads (問い合わせ) that watched the video at or before they were created, or later but at or before they became MQL (a touch naming the video by id, URL or title); counted in the month of their creation, respectively of their MQL date.';
COMMENT ON COLUMN marts.video_funnel.opportunities IS 'Deals created in the month whose lead had watched the video at or before the deal was created (商談前視聴).';
COMMENT ON COLUMN marts.video_funnel.wins IS 'Of the deals whose lead had watched the video before the deal, those won with close date in the month.';
COMMENT ON COLUMN marts.video_funnel.revenue IS 'Amounts of those won deals (DECIMAL): each deal''s whole amount for every video its lead watched, so revenue over videos does not add up to the won revenue (marts.attributed_revenue splits it).';
COMMENT ON COLUMN marts.video_funnel.view_to_inquiry_rate IS 'inquiries / views of the same month (CV率, 視聴 -> 問い合わせ); NULL without views.';
COMMENT ON COLUMN marts.video_funnel.inquiry_to_opportunity_rate IS 'opportunities / inquiries of the same month (商談化率); NULL without inquiries. A period rate: above 1 when opportunities come from earlier inquiries or from viewers who were MQLs before they watched.';
COMMENT ON COLUMN marts.video_funnel.opportunity_to_win_rate IS 'wins / opportunities of the same month (受注率); NULL without opportunities. A period rate: wins close months after their deals start.';
COMMENT ON COLUMN marts.video_funnel.opportunities_in_month IS 'Every deal of a known lead created in the month, whether its lead watched anything or not: the base of pre_meeting_view_rate.';
COMMENT ON COLUMN marts.video_funnel.pre_meeting_view_rate IS 'opportunities / opportunities_in_month: the share of the month''s new opportunities whose lead had watched the video before the deal was created (商談前視聴率); NULL without opportunities in the month.';
COMMENT ON COLUMN marts.video_funnel.production_cost IS 'Production cost of the video (config/video_costs.csv, reporting currency); NULL when not given.';
COMMENT ON COLUMN marts.video_funnel.revenue_to_date IS 'revenue of the video summed over its months up to and including this one.';
COMMENT ON COLUMN marts.video_funnel.roi_to_date IS '(revenue_to_date - production_cost) / production_cost: the video''s ROI so far (動画別ROI; 0 = paid back); NULL without production cost.';
