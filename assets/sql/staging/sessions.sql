/* incremental:
  keys:
    # a GA4 row's version and range verdict depend only on the rows overlapping its month
    touched_months: >-
      SELECT min(month_start(date)) AS lo, max(month_start(coalesce(date_end, date))) AS hi
      FROM raw.ga4_sessions WHERE _load_id > $since
  scopes:
    scope_raw_ga4_sessions: {relation: raw.ga4_sessions, touched: "month_start(date) <= (SELECT hi FROM touched_months) AND month_start(coalesce(date_end, date)) >= (SELECT lo FROM touched_months)", copy_touched: true}
  outputs:
    staging.sessions: {rows: sessions_rows, stale: "month_start(date) <= (SELECT hi FROM touched_months) AND month_start(coalesce(date_end, date)) >= (SELECT lo FROM touched_months)"}
    staging.sessions_not_counted: {rows: sessions_not_counted_rows, stale: "month_start(date) <= (SELECT hi FROM touched_months) AND month_start(coalesce(date_end, date)) >= (SELECT lo FROM touched_months)"}
*/
-- GA4 sessions per day and dimension, newest snapshot per dimension key, with channel.
-- Rows of one file add up; a newer file replaces older rows with the same
-- (date, range end, source, medium, campaign, channel group, landing page).
--
-- Range totals (a GA4 UI download without a date column, dated by its preamble)
-- count only when they can be placed in one month without double counting:
-- the range lies within one calendar month, no daily row falls inside it, and
-- no newer range overlaps it. The others are listed in staging.sessions_not_counted.
--
-- assets/transform/incremental.py builds staging.sessions and staging.sessions_not_counted from the two views
-- at the end: scope_raw_ga4_sessions is raw.ga4_sessions in a full build, and otherwise the raw rows
-- of the months that new loads touched (a row's verdict depends only on rows overlapping its month).
--
-- A version competes only with the versions of its own key, and the key holds date and date_end:
-- daily rows never compete with range totals, and a daily row of a date that no other load has
-- daily rows for is the newest of its key without comparing (GA4 exports of separate months, the
-- usual case). Only the daily rows of dates that several loads hold go through a window. Range
-- totals are few: they are versioned and judged apart, in a small temp table.
CREATE OR REPLACE TEMP TABLE sessions_ranges AS
WITH versions AS (
    SELECT r.*, f.snapshot_order, dense_rank() OVER (
        PARTITION BY r.date, r.date_end, r.session_source, r.session_medium, r.session_campaign,
                     r.session_default_channel_group, r.landing_page
        ORDER BY f.snapshot_order DESC) AS version_rank
    FROM scope_raw_ga4_sessions r JOIN load_snapshots() f ON f.load_id = r._load_id
    WHERE r.date_end IS NOT NULL
),
newest AS (SELECT * EXCLUDE (version_rank) FROM versions WHERE version_rank = 1),
ranges AS (SELECT DISTINCT _load_id, snapshot_order, date, date_end FROM newest),
range_verdict AS (
    SELECT r._load_id, r.date, r.date_end, CASE
        WHEN month_start(r.date) <> month_start(r.date_end)
            THEN 'the range spans more than one calendar month; download one month per file or add the Date dimension'
        -- a date with daily rows has a newest daily row: any daily row of the scope will do
        WHEN EXISTS (SELECT 1 FROM scope_raw_ga4_sessions d WHERE d.date_end IS NULL AND d.date BETWEEN r.date AND r.date_end)
            THEN 'daily rows cover days of the range; they are counted instead'
        WHEN EXISTS (SELECT 1 FROM ranges o
                     WHERE o.snapshot_order > r.snapshot_order
                       AND o.date <= r.date_end AND o.date_end >= r.date
                       AND (o.date, o.date_end) IS DISTINCT FROM (r.date, r.date_end))
            THEN 'a newer file''s range overlaps it'
    END AS not_counted_because
    FROM ranges r
)
SELECT v.* EXCLUDE (snapshot_order), rv.not_counted_because
FROM newest v
LEFT JOIN range_verdict rv ON rv._load_id = v._load_id AND rv.date = v.date AND rv.date_end = v.date_end;

CREATE OR REPLACE TEMP VIEW sessions_all AS
WITH daily AS NOT MATERIALIZED (
    SELECT r.*, f.snapshot_order
    FROM scope_raw_ga4_sessions r JOIN load_snapshots() f ON f.load_id = r._load_id
    WHERE r.date_end IS NULL
),
daily_dates AS (
    SELECT date, count(DISTINCT _load_id) > 1 AS contested
    FROM scope_raw_ga4_sessions WHERE date_end IS NULL GROUP BY date
),
newest_daily AS (
    SELECT d.* FROM daily d JOIN daily_dates t ON t.date IS NOT DISTINCT FROM d.date WHERE NOT t.contested
    UNION ALL
    SELECT d.* FROM daily d JOIN daily_dates t ON t.date IS NOT DISTINCT FROM d.date WHERE t.contested
    QUALIFY d.snapshot_order = max(d.snapshot_order) OVER (
        PARTITION BY d.date, d.session_source, d.session_medium, d.session_campaign,
                     d.session_default_channel_group, d.landing_page)
),
newest AS (
    SELECT * EXCLUDE (snapshot_order), CAST(NULL AS VARCHAR) AS not_counted_because FROM newest_daily
    UNION ALL
    SELECT * FROM sessions_ranges
)
SELECT v.date, v.date_end, v.session_source, v.session_medium, v.session_campaign, v.landing_page,
       c.channel_group AS default_channel_group, c.channel,
       v.sessions, v.engaged_sessions, v.key_events, v.total_users, v.new_users,
       v._source_file, v._source_row, v.not_counted_because
FROM newest v
JOIN staging.channel_lookup c
  ON c.kind = 'ga4_session' AND c.k1 IS NOT DISTINCT FROM v.session_source
 AND c.k2 IS NOT DISTINCT FROM v.session_medium AND c.k3 IS NOT DISTINCT FROM v.session_campaign
 AND c.k4 IS NOT DISTINCT FROM v.session_default_channel_group;

CREATE OR REPLACE TEMP VIEW sessions_rows AS
SELECT * EXCLUDE (not_counted_because) FROM sessions_all WHERE not_counted_because IS NULL;
CREATE OR REPLACE TEMP VIEW sessions_not_counted_rows AS
SELECT * FROM sessions_all WHERE not_counted_because IS NOT NULL;

COMMENT ON TABLE staging.sessions IS 'GA4 session rows counted in the marts: the newest snapshot per day (or range) and dimension key, each with its channel.';
COMMENT ON COLUMN staging.sessions.date IS 'Day of the sessions; for a range total, the first day of its range (within one month).';
COMMENT ON COLUMN staging.sessions.date_end IS 'Last day of the range for a range total; NULL for daily rows.';
COMMENT ON COLUMN staging.sessions.default_channel_group IS 'GA4 default channel group: as exported, else derived from source/medium/campaign by GA4''s rules.';
COMMENT ON COLUMN staging.sessions.channel IS 'Channel name from channels.yaml ga4_channel_groups; unmatched groups fall back to the fallback channel.';
COMMENT ON TABLE staging.sessions_not_counted IS 'GA4 range-total rows loaded but not counted in the marts, with the reason: a range over several months, a range covered by daily rows, or one overlapped by a newer range.';
COMMENT ON COLUMN staging.sessions_not_counted.not_counted_because IS 'Why the row is not counted, and what to download instead.';
