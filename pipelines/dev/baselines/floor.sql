-- The floor of `funnel bench` (issue 7): the core marts straight from the inbox CSVs in
-- one bare DuckDB script. No validation, no quarantine, no lineage, no load log, no
-- Dagster: the least work that gives the published numbers.
--
-- Variables (set by floor.py): inbox (folder), lookups (folder of lookups.py's CSVs).
-- It reads what the sample generator writes and nothing else: the native profile,
-- timestamps 2026-07-03 10:00:00 / 2026-07-03T10:00:00+09:00 / 2026/7/3 10:00, yen as
-- 1500000 / 1,500,000 / ¥1,500,000 / 1,500,000円, daily GA4 rows, day or month spend rows.
-- Semantics are the contract's as the pipeline implements them: text is trimmed and
-- blank is NULL; a lead's or deal's newest version is the one with the latest updated_at, else of
-- the file exported last; per GA4 dimension key and spend key the file exported last wins. A file's
-- export moment is the later of the day in its name (leads_2026-07-31.csv) and its rows' latest
-- timestamp; file times break ties only. A lead or deal missing from later files is kept.

SET VARIABLE tz = (SELECT timezone FROM read_csv(getvariable('lookups') || '/run_settings.csv'));
SET VARIABLE mql_rank = (SELECT mql_stage_rank FROM read_csv(getvariable('lookups') || '/run_settings.csv'));
SET VARIABLE mql_score = (SELECT mql_score_threshold FROM read_csv(getvariable('lookups') || '/run_settings.csv'));

CREATE TEMP MACRO txt(x) AS nullif(trim(replace(x, '　', ' ')), '');
CREATE TEMP MACRO ts(x) AS CASE
    WHEN txt(x) LIKE '%+__:__' THEN timezone(getvariable('tz'), try_strptime(txt(x), '%Y-%m-%dT%H:%M:%S%z'))
    ELSE try_strptime(txt(x), ['%Y-%m-%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y-%m-%d', '%Y/%m/%d']) END;
CREATE TEMP MACRO yen(x) AS CAST(regexp_replace(txt(x), '[¥,円]', '', 'g') AS DECIMAL(18, 2));
CREATE TEMP MACRO month_of(t) AS CAST(date_trunc('month', t) AS DATE);
CREATE TEMP MACRO rate(n, d) AS CASE WHEN d IS NULL OR d = 0 THEN NULL ELSE CAST(n AS DOUBLE) / d END;
-- money per unit, rounded half up to the cent in integer arithmetic (amounts are never negative here)
CREATE TEMP MACRO per(amount, units) AS CASE WHEN amount IS NULL OR units IS NULL OR units = 0 THEN NULL
    ELSE CAST((CAST(amount * 100 AS HUGEINT) * 2 + units) // (2 * units) AS DECIMAL(18, 0)) * CAST(0.01 AS DECIMAL(3, 2)) END;

-- The day the generator writes into a file name, as a timestamp.
CREATE TEMP MACRO name_day(f) AS CAST(try_strptime(regexp_extract(f, '(\d{4}-\d{2}-\d{2})\.csv$', 1), '%Y-%m-%d') AS TIMESTAMP);

CREATE TEMP TABLE files AS
SELECT filename, last_modified AS file_time
FROM read_blob(getvariable('inbox') || '/*/*.csv');
CREATE TEMP TABLE lookup AS FROM read_csv(getvariable('lookups') || '/channel_lookup.csv', all_varchar = true);
CREATE TEMP TABLE stage_map AS FROM read_csv(getvariable('lookups') || '/deal_stage_map.csv', all_varchar = true);
CREATE TEMP TABLE lifecycle_map AS
SELECT raw_value, CAST(stage_rank AS INTEGER) AS stage_rank FROM read_csv(getvariable('lookups') || '/lifecycle_map.csv', all_varchar = true);

-- Leads: the newest version of each, and when it was first seen at MQL / SQL in any version.
CREATE TEMP TABLE leads AS
WITH v AS (
    SELECT txt(r.lead_id) AS lead_id, ts(r.created_at) AS created_at, txt(r.lead_source) AS lead_source,
           txt(r.utm_source) AS utm_source, txt(r.utm_medium) AS utm_medium, txt(r.utm_campaign) AS utm_campaign,
           coalesce(m.stage_rank, 1) AS lifecycle_rank, TRY_CAST(txt(r.lead_score) AS DOUBLE) AS lead_score,
           ts(r.mql_at) AS mql_at, ts(r.sql_at) AS sql_at, ts(r.updated_at) AS updated_at,
           greatest(name_day(r.filename), max(greatest(ts(r.created_at), ts(r.mql_at), ts(r.sql_at),
                    ts(r.disqualified_at), ts(r.updated_at))) OVER (PARTITION BY r.filename)) AS exported_at,
           f.file_time, r.filename
    FROM read_csv(getvariable('inbox') || '/leads/*.csv', all_varchar = true, header = true, filename = true,
                  delim = ',', quote = '"', escape = '"') r
    JOIN files f USING (filename)
    LEFT JOIN lifecycle_map m ON m.raw_value = txt(r.lifecycle_stage)
),
one AS (
    SELECT lead_id,
           arg_max({created_at: created_at, lead_source: lead_source, utm_source: utm_source, utm_medium: utm_medium,
                    utm_campaign: utm_campaign, lifecycle_rank: lifecycle_rank, lead_score: lead_score,
                    mql_at: mql_at, sql_at: sql_at, updated_at: updated_at},
                   (coalesce(updated_at, exported_at), exported_at, file_time, filename)) AS l,
           min(coalesce(updated_at, exported_at)) FILTER (WHERE lifecycle_rank >= getvariable('mql_rank')) AS first_seen_mql_at,
           min(coalesce(updated_at, exported_at)) FILTER (WHERE lifecycle_rank >= 3) AS first_seen_sql_at
    FROM v GROUP BY lead_id
)
SELECT l.*, c.channel
FROM (SELECT lead_id, unnest(l), first_seen_mql_at, first_seen_sql_at FROM one) l
JOIN lookup c ON c.kind = 'lead' AND c.k1 IS NOT DISTINCT FROM l.lead_source AND c.k2 IS NOT DISTINCT FROM l.utm_source
 AND c.k3 IS NOT DISTINCT FROM l.utm_medium AND c.k4 IS NOT DISTINCT FROM l.utm_campaign;

-- Deals: the newest version of each; a closed deal without close date closes when first seen so.
CREATE TEMP TABLE deals AS
WITH v AS (
    SELECT txt(r.deal_id) AS deal_id, ts(r.created_at) AS created_at, coalesce(s.outcome, 'unknown') AS outcome,
           txt(r.lead_id) AS lead_id, txt(r.deal_source) AS deal_source, yen(r.amount) AS amount,
           CAST(ts(r.close_date) AS DATE) AS close_date, ts(r.updated_at) AS updated_at,
           greatest(name_day(r.filename), max(greatest(ts(r.created_at), ts(r.updated_at))) OVER (PARTITION BY r.filename))
               AS exported_at,
           f.file_time, r.filename
    FROM read_csv(getvariable('inbox') || '/deals/*.csv', all_varchar = true, header = true, filename = true,
                  delim = ',', quote = '"', escape = '"') r
    JOIN files f USING (filename)
    LEFT JOIN stage_map s ON s.raw_value = txt(r.stage)
),
latest AS (
    SELECT deal_id, unnest(arg_max({created_at: created_at, outcome: outcome, lead_id: lead_id, deal_source: deal_source,
                                    amount: amount, close_date: close_date},
                                   (coalesce(updated_at, exported_at), exported_at, file_time, filename)))
    FROM v GROUP BY deal_id
),
first_seen AS (SELECT deal_id, outcome, min(coalesce(updated_at, exported_at)) AS first_seen_at FROM v GROUP BY ALL)
SELECT d.deal_id, d.created_at, d.outcome, d.lead_id, l.lead_id IS NOT NULL AS lead_linked, d.amount,
       CASE WHEN l.lead_id IS NOT NULL THEN l.channel WHEN d.deal_source IS NOT NULL THEN c.channel
            ELSE 'Unattributed' END AS channel,
       CASE WHEN d.outcome IN ('won', 'lost')
            THEN coalesce(d.close_date, CAST(h.first_seen_at AS DATE), CAST(d.created_at AS DATE)) END AS closed_on
FROM latest d
LEFT JOIN first_seen h ON h.deal_id = d.deal_id AND h.outcome = d.outcome
LEFT JOIN leads l ON l.lead_id = d.lead_id
LEFT JOIN lookup c ON c.kind = 'deal' AND c.k1 = d.deal_source;

-- Each lead's funnel: the stages it reached and when (docs/metrics.md).
CREATE TEMP TABLE lead_funnel AS
WITH deal_facts AS (
    SELECT lead_id, min(created_at) AS first_opportunity_at,
           count(*) FILTER (WHERE outcome = 'won') AS won_deals,
           sum(amount) FILTER (WHERE outcome = 'won') AS won_revenue
    FROM deals WHERE lead_linked GROUP BY lead_id
),
s AS (
    SELECT l.*, d.first_opportunity_at, coalesce(d.won_deals, 0) > 0 AS won,
           CAST(coalesce(d.won_revenue, 0) AS DECIMAL(18, 2)) AS won_revenue,
           d.lead_id IS NOT NULL OR l.lifecycle_rank >= 4 AS reached_opportunity
    FROM leads l LEFT JOIN deal_facts d USING (lead_id)
),
r AS (
    SELECT *, coalesce(reached_opportunity OR sql_at IS NOT NULL OR first_seen_sql_at IS NOT NULL
                       OR lifecycle_rank >= 3, false) AS reached_sql
    FROM s
),
q AS (
    SELECT *, CASE WHEN reached_sql THEN greatest(created_at, least(
                  coalesce(sql_at, first_seen_sql_at, first_opportunity_at, updated_at, created_at),
                  first_opportunity_at)) END AS sql_date,
           reached_sql OR mql_at IS NOT NULL OR first_seen_mql_at IS NOT NULL
               OR lifecycle_rank >= getvariable('mql_rank')
               OR coalesce(lead_score >= getvariable('mql_score'), false) AS reached_mql
    FROM r
)
SELECT lead_id, created_at, channel, reached_mql, reached_sql, sql_date, reached_opportunity, won, won_revenue,
       CASE WHEN reached_mql THEN greatest(created_at, least(
           coalesce(mql_at, first_seen_mql_at, sql_date, updated_at, created_at), sql_date)) END AS mql_date
FROM q;

-- GA4 sessions: for each dimension key, the rows of the newest file holding it.
CREATE TEMP TABLE sessions AS
WITH v AS (
    SELECT CAST(ts(r.date) AS DATE) AS date, txt(r.session_source) AS source, txt(r.session_medium) AS medium,
           txt(r.session_campaign) AS campaign, txt(r.session_default_channel_group) AS channel_group,
           txt(r.landing_page) AS landing_page, CAST(txt(r.sessions) AS BIGINT) AS sessions,
           greatest(name_day(r.filename), max(ts(r.date)) OVER (PARTITION BY r.filename)) AS exported_at,
           f.file_time, r.filename
    FROM read_csv(getvariable('inbox') || '/ga4_sessions/*.csv', all_varchar = true, header = true, filename = true,
                  delim = ',', quote = '"', escape = '"') r
    JOIN files f USING (filename)
)
SELECT v.date, c.channel, v.sessions
FROM v
JOIN lookup c ON c.kind = 'ga4_session' AND c.k1 IS NOT DISTINCT FROM v.source AND c.k2 IS NOT DISTINCT FROM v.medium
 AND c.k3 IS NOT DISTINCT FROM v.campaign AND c.k4 IS NOT DISTINCT FROM v.channel_group
QUALIFY (exported_at, file_time, filename) = max((exported_at, file_time, filename)) OVER (
    PARTITION BY v.date, v.source, v.medium, v.campaign, v.channel_group, v.landing_page);

-- Spend: for each (day or month, raw channel, campaign), the rows of the newest file holding it.
CREATE TEMP TABLE spend AS
WITH v AS (
    SELECT coalesce(CAST(ts(r.date) AS DATE), CAST(try_strptime(txt(r.date), '%Y-%m') AS DATE)) AS date,
           ts(r.date) IS NOT NULL AS daily, txt(r.channel) AS raw_channel, txt(r.campaign) AS campaign,
           yen(r.cost) AS cost,
           greatest(name_day(r.filename), max(CAST(coalesce(CAST(ts(r.date) AS DATE),
               CAST(try_strptime(txt(r.date), '%Y-%m') AS DATE)) AS TIMESTAMP)) OVER (PARTITION BY r.filename)) AS exported_at,
           f.file_time, r.filename
    FROM read_csv(getvariable('inbox') || '/spend/*.csv', all_varchar = true, header = true, filename = true,
                  delim = ',', quote = '"', escape = '"') r
    JOIN files f USING (filename)
)
SELECT month_of(v.date) AS period_start, c.channel, v.cost
FROM v JOIN lookup c ON c.kind = 'spend' AND c.k1 = v.raw_channel
QUALIFY (exported_at, file_time, filename) = max((exported_at, file_time, filename))
    OVER (PARTITION BY v.date, v.daily, v.raw_channel, v.campaign);

-- The marts.
CREATE TABLE channel_funnel AS
WITH events AS (
    SELECT month_of(date) AS period_start, channel, sessions FROM sessions
    UNION ALL BY NAME SELECT month_of(created_at) AS period_start, channel, 1 AS leads FROM lead_funnel
    UNION ALL BY NAME SELECT month_of(mql_date) AS period_start, channel, 1 AS mqls FROM lead_funnel WHERE reached_mql
    UNION ALL BY NAME SELECT month_of(sql_date) AS period_start, channel, 1 AS sqls FROM lead_funnel WHERE reached_sql
    UNION ALL BY NAME SELECT month_of(created_at) AS period_start, channel, 1 AS opportunities FROM deals
    UNION ALL BY NAME SELECT month_of(closed_on) AS period_start, channel, 1 AS wins, amount AS revenue
        FROM deals WHERE outcome = 'won'
    UNION ALL BY NAME SELECT period_start, channel, 0 AS sessions FROM spend
),
counts AS (
    SELECT period_start, channel, coalesce(sum(sessions), 0) AS sessions, coalesce(sum(leads), 0) AS leads,
           coalesce(sum(mqls), 0) AS mqls, coalesce(sum(sqls), 0) AS sqls,
           coalesce(sum(opportunities), 0) AS opportunities, coalesce(sum(wins), 0) AS wins,
           CAST(coalesce(sum(revenue), 0) AS DECIMAL(18, 2)) AS revenue
    FROM events GROUP BY ALL
),
grid AS (
    SELECT CAST(m AS DATE) AS period_start, ch.channel
    FROM (SELECT min(period_start) AS lo, max(period_start) AS hi FROM counts),
         generate_series(lo, hi, INTERVAL 1 MONTH) AS g(m), (SELECT DISTINCT channel FROM counts) ch
)
SELECT g.period_start, g.channel,
       coalesce(c.sessions, 0) AS sessions, coalesce(c.leads, 0) AS leads, coalesce(c.mqls, 0) AS mqls,
       coalesce(c.sqls, 0) AS sqls, coalesce(c.opportunities, 0) AS opportunities, coalesce(c.wins, 0) AS wins,
       coalesce(c.revenue, 0) AS revenue,
       rate(c.leads, c.sessions) AS session_to_lead_rate, rate(c.mqls, c.leads) AS lead_to_mql_rate,
       rate(c.sqls, c.mqls) AS mql_to_sql_rate, rate(c.opportunities, c.sqls) AS sql_to_opportunity_rate,
       rate(c.wins, c.opportunities) AS opportunity_to_win_rate
FROM grid g LEFT JOIN counts c USING (period_start, channel);

CREATE TABLE channel_roi AS
WITH s AS (SELECT period_start, channel, nullif(sum(cost), 0) AS spend FROM spend GROUP BY ALL)
SELECT f.period_start, f.channel, coalesce(s.spend, 0) AS spend, f.leads, f.mqls, f.opportunities, f.wins, f.revenue,
       per(s.spend, f.leads) AS cpa, per(s.spend, f.mqls) AS cost_per_mql,
       per(s.spend, f.opportunities) AS cost_per_opportunity, per(s.spend, f.wins) AS cac,
       rate(f.revenue, s.spend) AS roas, rate(f.revenue - s.spend, s.spend) AS roi
FROM channel_funnel f LEFT JOIN s USING (period_start, channel);

CREATE TABLE lead_cohort_funnel AS
WITH c AS (
    SELECT month_of(created_at) AS cohort_start, channel, count(*) AS leads,
           count(*) FILTER (WHERE reached_mql) AS reached_mql, count(*) FILTER (WHERE reached_sql) AS reached_sql,
           count(*) FILTER (WHERE reached_opportunity) AS reached_opportunity, count(*) FILTER (WHERE won) AS reached_win,
           sum(won_revenue) AS revenue
    FROM lead_funnel GROUP BY ALL
)
SELECT *, rate(reached_mql, leads) AS lead_to_mql_rate, rate(reached_sql, reached_mql) AS mql_to_sql_rate,
       rate(reached_opportunity, reached_sql) AS sql_to_opportunity_rate,
       rate(reached_win, reached_opportunity) AS opportunity_to_win_rate, rate(reached_win, leads) AS lead_to_win_rate
FROM c;

CREATE TABLE mql_to_sql AS
SELECT month_of(mql_date) AS period_start, channel, count(*) AS mqls,
       count(*) FILTER (WHERE reached_sql) AS reached_sql,
       rate(count(*) FILTER (WHERE reached_sql), count(*)) AS mql_to_sql_rate,
       median((epoch(sql_date) - epoch(mql_date)) / 86400.0) FILTER (WHERE reached_sql) AS median_days_mql_to_sql
FROM lead_funnel WHERE reached_mql GROUP BY ALL;

CREATE TABLE deal_to_win AS
SELECT month_of(closed_on) AS period_start, channel,
       count(*) FILTER (WHERE outcome = 'won') AS wins, count(*) FILTER (WHERE outcome = 'lost') AS losses,
       rate(count(*) FILTER (WHERE outcome = 'won'), count(*)) AS win_rate,
       coalesce(sum(amount) FILTER (WHERE outcome = 'won'), 0) AS revenue,
       per(sum(amount) FILTER (WHERE outcome = 'won'), count(*) FILTER (WHERE outcome = 'won')) AS avg_deal_size,
       median((epoch(CAST(closed_on AS TIMESTAMP)) - epoch(created_at)) / 86400.0) FILTER (WHERE outcome = 'won')
           AS median_days_opportunity_to_win
FROM deals WHERE outcome IN ('won', 'lost') GROUP BY ALL;
