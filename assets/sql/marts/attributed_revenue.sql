-- Multi-touch attribution of won revenue (docs/metrics.md, marts.attributed_revenue).
--
-- Each won deal's revenue, in the month of its close, is split over the touches
-- of its lead at or before the deal's created_at (the opportunity), each touch
-- crediting its own channel (staging.touchpoints.channel). With n touches in
-- time order (ties by type, content, channel) and integer weights w over a
-- denominator D (sum of w = D):
--   first_touch  the first touch: w 1, D 1
--   last_touch   the last touch before the opportunity: w 1, D 1
--   linear       every touch: w 1, D n
--   u_shaped     n = 1: 1/1; n = 2: 1/2 each; n >= 3: 40% first, 40% last, 20% spread
--                evenly over the middle: w 2(n-2) at the ends, 1 between, D 5(n-2)
--   w_shaped     n <= 3: linear; n >= 4: 30% each to the first touch, the lead-creation
--                touch and the last touch before the opportunity, 10% spread evenly over
--                the others: w 3(n-3) at those three, 1 elsewhere, D 10(n-3). The
--                lead-creation touch is the last touch at or before the lead's
--                created_at, kept strictly between the first and the last (the
--                second touch when the lead was created at or before the first).
-- Money stays exact: a touch gets floor(cents x w / D) cents and the cents left
-- over go, one each, to the touches with the largest remainders (then the
-- earliest), so every model gives each deal exactly its amount.
-- A won deal without touches (no linked lead, or no touch before the opportunity)
-- gives its whole revenue to the deal's own channel (staging.deals.channel) in
-- every model. So each model sums, per month, to channel_funnel's revenue.
CREATE OR REPLACE TABLE marts.attributed_revenue AS
WITH won AS (
    SELECT d.deal_id, d.lead_id, d.lead_linked, d.channel AS deal_channel, d.created_at AS opportunity_at,
           month_start(d.closed_on) AS period_start,
           CAST(round(coalesce(d.amount, 0) * 100) AS HUGEINT) AS cents,
           l.created_at AS lead_created_at
    FROM staging.deals d LEFT JOIN staging.leads l ON d.lead_linked AND l.lead_id = d.lead_id
    WHERE d.outcome = 'won'
),
touches AS (
    SELECT w.deal_id, w.period_start, w.cents, t.channel, t.touched_at, w.lead_created_at,
           row_number() OVER (PARTITION BY w.deal_id
                              ORDER BY t.touched_at, t.touch_type, t.content_id NULLS FIRST, t.channel) - 1 AS pos,
           count(*) OVER (PARTITION BY w.deal_id) AS n
    FROM won w JOIN staging.touchpoints t ON w.lead_linked AND t.lead_id = w.lead_id AND t.touched_at <= w.opportunity_at
),
positioned AS (
    SELECT *,
           least(greatest(coalesce(max(pos) FILTER (WHERE touched_at <= lead_created_at)
                                   OVER (PARTITION BY deal_id), 0), 1), n - 2) AS lead_creation_pos
    FROM touches
),
models(model, model_order) AS (
    VALUES ('first_touch', 1), ('last_touch', 2), ('linear', 3), ('u_shaped', 4), ('w_shaped', 5)
),
weighted AS (
    SELECT p.deal_id, p.period_start, p.channel, p.pos, p.cents, m.model,
           CAST(CASE m.model
               WHEN 'first_touch' THEN CASE WHEN pos = 0 THEN 1 ELSE 0 END
               WHEN 'last_touch' THEN CASE WHEN pos = n - 1 THEN 1 ELSE 0 END
               WHEN 'linear' THEN 1
               WHEN 'u_shaped' THEN CASE WHEN n <= 2 THEN 1
                                         WHEN pos IN (0, n - 1) THEN 2 * (n - 2) ELSE 1 END
               WHEN 'w_shaped' THEN CASE WHEN n <= 3 THEN 1
                                         WHEN pos IN (0, lead_creation_pos, n - 1) THEN 3 * (n - 3) ELSE 1 END
           END AS HUGEINT) AS w,
           CAST(CASE m.model
               WHEN 'first_touch' THEN 1
               WHEN 'last_touch' THEN 1
               WHEN 'linear' THEN n
               WHEN 'u_shaped' THEN CASE WHEN n <= 2 THEN n ELSE 5 * (n - 2) END
               WHEN 'w_shaped' THEN CASE WHEN n <= 3 THEN n ELSE 10 * (n - 3) END
           END AS HUGEINT) AS d
    FROM positioned p CROSS JOIN models m
),
floored AS (
    SELECT *, (cents * w) // d AS base_cents, (cents * w) % d AS remainder FROM weighted
),
credited AS (
    SELECT *,
           cents - sum(base_cents) OVER (PARTITION BY deal_id, model) AS left_over,
           row_number() OVER (PARTITION BY deal_id, model ORDER BY remainder DESC, pos) AS remainder_rank
    FROM floored
),
touch_credit AS (
    SELECT period_start, channel, model, deal_id,
           base_cents + CASE WHEN remainder_rank <= left_over THEN 1 ELSE 0 END AS credit_cents,
           true AS from_touches
    FROM credited
),
fallback_credit AS (
    SELECT w.period_start, w.deal_channel AS channel, m.model, w.deal_id, w.cents AS credit_cents,
           false AS from_touches
    FROM won w CROSS JOIN models m
    WHERE NOT EXISTS (SELECT 1 FROM touches t WHERE t.deal_id = w.deal_id)
),
credit AS (
    SELECT * FROM touch_credit UNION ALL SELECT * FROM fallback_credit
),
totals AS (
    SELECT period_start, channel, model,
           sum(credit_cents) AS cents,
           sum(credit_cents) FILTER (WHERE from_touches) AS touch_cents,
           count(DISTINCT deal_id) FILTER (WHERE credit_cents > 0) AS deals_credited
    FROM credit GROUP BY ALL
),
grid AS (
    SELECT DISTINCT t.period_start, t.channel, m.model, m.model_order FROM totals t CROSS JOIN models m
)
SELECT g.period_start, g.channel, g.model,
       cents_to_money(coalesce(t.cents, 0)) AS attributed_revenue,
       cents_to_money(coalesce(t.touch_cents, 0)) AS revenue_from_touches,
       cents_to_money(coalesce(t.cents, 0) - coalesce(t.touch_cents, 0)) AS revenue_without_touches,
       coalesce(t.deals_credited, 0) AS deals_credited
FROM grid g LEFT JOIN totals t USING (period_start, channel, model)
ORDER BY g.period_start, g.channel, g.model_order;
COMMENT ON TABLE marts.attributed_revenue IS 'Won revenue per close month and channel under five attribution models over the touches of each deal''s lead at or before the opportunity was created; every model sums, per month, exactly to channel_funnel.revenue. Deals without such touches credit their own channel.';
COMMENT ON COLUMN marts.attributed_revenue.period_start IS 'First day of the month the won deals closed (closed_on).';
COMMENT ON COLUMN marts.attributed_revenue.channel IS 'Channel credited: the touch''s channel (staging.touchpoints), or the deal''s channel for a deal without touches.';
COMMENT ON COLUMN marts.attributed_revenue.model IS 'first_touch (all to the first touch), last_touch (all to the last touch before the opportunity), linear (equal shares), u_shaped (40% first, 40% last, 20% over the touches between; 1 touch 100%, 2 touches 50/50), w_shaped (30% each to the first touch, the lead-creation touch and the last touch before the opportunity, 10% over the others; up to 3 touches linear).';
COMMENT ON COLUMN marts.attributed_revenue.attributed_revenue IS 'Revenue credited to the channel under the model (DECIMAL): each deal''s amount is split in whole cents, leftover cents to the largest remainders, so nothing is lost to rounding.';
COMMENT ON COLUMN marts.attributed_revenue.revenue_from_touches IS 'Part of attributed_revenue credited through touches.';
COMMENT ON COLUMN marts.attributed_revenue.revenue_without_touches IS 'Part of attributed_revenue from won deals with no touch before the opportunity (their whole amount to the deal''s channel).';
COMMENT ON COLUMN marts.attributed_revenue.deals_credited IS 'Won deals that credited the channel any revenue under the model.';
