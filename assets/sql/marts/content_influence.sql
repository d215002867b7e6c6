-- Content influence (issue 5 item 6, the video seed's 商談前視聴率): per touch type
-- and content, how many opportunities had it before they were created, and how
-- leads and deals with it fare against those without it. Over all history.
--
-- A touch counts for a deal when the deal's lead had it at or before the deal's
-- created_at; for a lead when it had it at or before its first opportunity (any
-- time, for a lead that never had one). Opportunities are deals linked to a known
-- lead; win rates are won / (won + lost) of those deals (open deals are in
-- neither). Every rate is shown with the counts it is made of.
CREATE OR REPLACE TABLE marts.content_influence AS
WITH touch_scope AS (
    -- each touch counts once for its content and once for "any content of its type"
    SELECT lead_id, touched_at, touch_type, content_id FROM staging.touchpoints
    WHERE lead_known AND content_id IS NOT NULL
    UNION ALL
    SELECT lead_id, touched_at, touch_type, '(all)' FROM staging.touchpoints WHERE lead_known
),
scopes AS (SELECT DISTINCT touch_type, content_id FROM touch_scope),
opportunities AS (SELECT deal_id, lead_id, created_at, outcome FROM staging.deals WHERE lead_linked),
deal_with AS (
    SELECT DISTINCT s.touch_type, s.content_id, o.deal_id, o.outcome
    FROM opportunities o JOIN touch_scope s ON s.lead_id = o.lead_id AND s.touched_at <= o.created_at
),
lead_with AS (
    SELECT DISTINCT s.touch_type, s.content_id, f.lead_id, f.reached_opportunity
    FROM staging.lead_funnel f
    JOIN touch_scope s ON s.lead_id = f.lead_id
                      AND (f.first_opportunity_at IS NULL OR s.touched_at <= f.first_opportunity_at)
),
all_deals AS (
    SELECT count(*) AS opportunities,
           count(*) FILTER (WHERE outcome = 'won') AS won,
           count(*) FILTER (WHERE outcome IN ('won', 'lost')) AS closed
    FROM opportunities
),
all_leads AS (
    SELECT count(*) AS leads, count(*) FILTER (WHERE reached_opportunity) AS to_opportunity FROM staging.lead_funnel
),
deal_counts AS (
    SELECT touch_type, content_id, count(*) AS opportunities_with_touch,
           count(*) FILTER (WHERE outcome = 'won') AS won_with_touch,
           count(*) FILTER (WHERE outcome IN ('won', 'lost')) AS closed_with_touch
    FROM deal_with GROUP BY ALL
),
lead_counts AS (
    SELECT touch_type, content_id, count(*) AS leads_with_touch,
           count(*) FILTER (WHERE reached_opportunity) AS leads_with_touch_to_opportunity
    FROM lead_with GROUP BY ALL
),
counts AS (
    SELECT s.touch_type, s.content_id,
           coalesce(l.leads_with_touch, 0) AS leads_with_touch,
           coalesce(l.leads_with_touch_to_opportunity, 0) AS leads_with_touch_to_opportunity,
           al.leads - coalesce(l.leads_with_touch, 0) AS leads_without_touch,
           al.to_opportunity - coalesce(l.leads_with_touch_to_opportunity, 0) AS leads_without_touch_to_opportunity,
           ad.opportunities,
           coalesce(d.opportunities_with_touch, 0) AS opportunities_with_touch,
           coalesce(d.closed_with_touch, 0) AS closed_with_touch,
           coalesce(d.won_with_touch, 0) AS won_with_touch,
           ad.closed - coalesce(d.closed_with_touch, 0) AS closed_without_touch,
           ad.won - coalesce(d.won_with_touch, 0) AS won_without_touch
    FROM scopes s CROSS JOIN all_deals ad CROSS JOIN all_leads al
    LEFT JOIN deal_counts d USING (touch_type, content_id)
    LEFT JOIN lead_counts l USING (touch_type, content_id)
)
SELECT touch_type, content_id,
       opportunities, opportunities_with_touch,
       safe_rate(opportunities_with_touch, opportunities) AS pre_opportunity_touch_rate,
       closed_with_touch, won_with_touch, safe_rate(won_with_touch, closed_with_touch) AS win_rate_with_touch,
       closed_without_touch, won_without_touch,
       safe_rate(won_without_touch, closed_without_touch) AS win_rate_without_touch,
       leads_with_touch, leads_with_touch_to_opportunity,
       safe_rate(leads_with_touch_to_opportunity, leads_with_touch) AS opportunity_rate_with_touch,
       leads_without_touch, leads_without_touch_to_opportunity,
       safe_rate(leads_without_touch_to_opportunity, leads_without_touch) AS opportunity_rate_without_touch,
       least(closed_with_touch, closed_without_touch, leads_with_touch, leads_without_touch) AS smallest_base
FROM counts
ORDER BY touch_type, content_id = '(all)' DESC, content_id;
COMMENT ON TABLE marts.content_influence IS 'Per touch type and content: share of opportunities whose lead had the touch before the opportunity was created (商談前視聴率), and win rate and opportunity rate with versus without it, each with its counts. All history.';
COMMENT ON COLUMN marts.content_influence.touch_type IS 'Touch type as exported (staging.touchpoints.touch_type).';
COMMENT ON COLUMN marts.content_influence.content_id IS 'Content id; (all) = any touch of the type, whatever its content (touches without content id count only here).';
COMMENT ON COLUMN marts.content_influence.opportunities IS 'Deals linked to a known lead (the population of the deal columns).';
COMMENT ON COLUMN marts.content_influence.opportunities_with_touch IS 'Of those, deals whose lead had the touch at or before the deal''s created_at.';
COMMENT ON COLUMN marts.content_influence.pre_opportunity_touch_rate IS 'opportunities_with_touch / opportunities (e.g. 商談前視聴率 for video views).';
COMMENT ON COLUMN marts.content_influence.closed_with_touch IS 'Won or lost deals among opportunities_with_touch.';
COMMENT ON COLUMN marts.content_influence.won_with_touch IS 'Won deals among opportunities_with_touch.';
COMMENT ON COLUMN marts.content_influence.win_rate_with_touch IS 'won_with_touch / closed_with_touch; NULL when no such deal has closed.';
COMMENT ON COLUMN marts.content_influence.closed_without_touch IS 'Won or lost linked deals whose lead did not have the touch before the deal.';
COMMENT ON COLUMN marts.content_influence.won_without_touch IS 'Won deals among closed_without_touch.';
COMMENT ON COLUMN marts.content_influence.win_rate_without_touch IS 'won_without_touch / closed_without_touch.';
COMMENT ON COLUMN marts.content_influence.leads_with_touch IS 'Known leads that had the touch at or before their first opportunity (at any time when they have none).';
COMMENT ON COLUMN marts.content_influence.leads_with_touch_to_opportunity IS 'Of leads_with_touch, those that reached opportunity (staging.lead_funnel.reached_opportunity).';
COMMENT ON COLUMN marts.content_influence.opportunity_rate_with_touch IS 'leads_with_touch_to_opportunity / leads_with_touch.';
COMMENT ON COLUMN marts.content_influence.leads_without_touch IS 'All other known leads.';
COMMENT ON COLUMN marts.content_influence.leads_without_touch_to_opportunity IS 'Of leads_without_touch, those that reached opportunity.';
COMMENT ON COLUMN marts.content_influence.opportunity_rate_without_touch IS 'leads_without_touch_to_opportunity / leads_without_touch.';
COMMENT ON COLUMN marts.content_influence.smallest_base IS 'The smallest denominator of the four with/without rates: below a few dozen, the comparison says little.';
