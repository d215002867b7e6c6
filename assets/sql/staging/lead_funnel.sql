/* incremental:
  keys:
    # a lead's funnel changes with the lead, and with any of its deals (before and after a change of lead_id)
    touched_leads: >-
      SELECT DISTINCT lead_id FROM raw.leads WHERE _load_id > $since
      UNION SELECT lead_id FROM raw.deals WHERE lead_id IS NOT NULL
      AND deal_id IN (SELECT deal_id FROM raw.deals WHERE _load_id > $since)
  scopes:
    scope_leads: {relation: staging.leads, touched: "lead_id IN (SELECT lead_id FROM touched_leads)"}
    scope_deals: {relation: staging.deals, touched: "lead_id IN (SELECT lead_id FROM touched_leads)"}
  outputs:
    staging.lead_funnel: {rows: lead_funnel_rows, stale: "lead_id IN (SELECT lead_id FROM touched_leads)"}
*/
-- One row per lead with the funnel stages it reached and when (docs/metrics.md):
-- a lead that reached a later stage has passed every earlier one, no later than
-- the later stage's date and no earlier than its creation.
-- Rows of staging.lead_funnel (assets/transform/incremental.py builds the table from this view): scope_leads and
-- scope_deals are staging.leads and staging.deals in a full build, and otherwise only the leads that new
-- loads touched, directly or through one of their deals, and those leads' deals.
CREATE OR REPLACE TEMP VIEW lead_funnel_rows AS
WITH deal_facts AS (
    SELECT lead_id,
           min(created_at) AS first_opportunity_at,
           count(*) AS opportunities,
           count(*) FILTER (WHERE outcome = 'won') AS won_deals,
           min(closed_on) FILTER (WHERE outcome = 'won') AS first_won_on,
           coalesce(sum(amount) FILTER (WHERE outcome = 'won'), 0) AS won_revenue
    FROM scope_deals WHERE lead_linked GROUP BY lead_id
),
stages AS (
    SELECT l.*, d.first_opportunity_at, coalesce(d.opportunities, 0) AS opportunities,
           coalesce(d.won_deals, 0) AS won_deals, d.first_won_on,
           CAST(coalesce(d.won_revenue, 0) AS DECIMAL(18, 2)) AS won_revenue,
           d.lead_id IS NOT NULL OR l.lifecycle_rank >= 4 AS reached_opportunity,
           coalesce(d.won_deals, 0) > 0 AS won
    FROM scope_leads l LEFT JOIN deal_facts d USING (lead_id)
),
sql_stage AS (
    SELECT *,
        coalesce(reached_opportunity OR sql_at IS NOT NULL OR first_seen_sql_at IS NOT NULL OR lifecycle_rank >= 3,
                 false) AS reached_sql
    FROM stages
),
sql_dated AS (
    SELECT *,
        CASE WHEN reached_sql THEN greatest(created_at, least(
            coalesce(sql_at, first_seen_sql_at, first_opportunity_at, updated_at, created_at),
            first_opportunity_at)) END AS sql_date
    FROM sql_stage
),
mql_stage AS (
    SELECT s.*,
        reached_sql OR mql_at IS NOT NULL OR first_seen_mql_at IS NOT NULL
            OR lifecycle_rank >= r.mql_stage_rank
            OR coalesce(lead_score >= r.mql_score_threshold, false) AS reached_mql
    FROM sql_dated s CROSS JOIN staging.run_settings r
)
SELECT lead_id, created_at, channel,
       reached_mql,
       CASE WHEN reached_mql THEN greatest(created_at, least(
           coalesce(mql_at, first_seen_mql_at, sql_date, updated_at, created_at), sql_date)) END AS mql_date,
       reached_sql, sql_date,
       reached_opportunity, first_opportunity_at, opportunities,
       won, won_deals, first_won_on, won_revenue
FROM mql_stage;
COMMENT ON TABLE staging.lead_funnel IS 'One row per lead: the funnel stages it reached and the effective date of each.';
COMMENT ON COLUMN staging.lead_funnel.reached_mql IS 'mql_at set, or seen at the MQL lifecycle stage in a snapshot, or lifecycle/score meets mql_rule of stages.yaml, or reached SQL.';
COMMENT ON COLUMN staging.lead_funnel.mql_date IS 'mql_at, else first snapshot seen as MQL, else the SQL date (an SQL without MQL date is an MQL at its SQL date), else updated_at; never after the SQL date nor before created_at.';
COMMENT ON COLUMN staging.lead_funnel.reached_sql IS 'sql_at set, or seen at the SQL lifecycle stage, or reached opportunity.';
COMMENT ON COLUMN staging.lead_funnel.sql_date IS 'sql_at, else first snapshot seen as SQL, else the first linked deal''s created_at; never after that deal nor before created_at.';
COMMENT ON COLUMN staging.lead_funnel.reached_opportunity IS 'A deal links to the lead, or its lifecycle stage is opportunity or customer.';
COMMENT ON COLUMN staging.lead_funnel.won IS 'A won deal links to the lead (a customer lifecycle stage alone does not count: there is no revenue to show).';
COMMENT ON COLUMN staging.lead_funnel.won_revenue IS 'Sum of amounts of the won deals linked to the lead.';
