-- Spend rows of the newest snapshot per (day, month or range, raw channel, campaign), with channel.
--
-- One cost is counted once, at the finest grain given:
-- - a month row does not count when day rows of the same raw channel and campaign (or of the whole
--   channel: no campaign on either side) fall in that month;
-- - a range total (an ad platform report with Reporting starts/ends) counts only when it can be
--   placed in one month without double counting: the range lies within one calendar month, no day
--   or month row of the same raw channel falls inside it, and no newer range of that channel
--   overlaps it.
-- The rows not counted are listed in staging.spend_not_counted with the reason.
CREATE OR REPLACE TABLE staging.spend_all AS
WITH versions AS (
    SELECT r.*, f.snapshot_order, dense_rank() OVER (
        PARTITION BY r.date, r.date_grain, r.date_end, r.channel, r.campaign
        ORDER BY f.snapshot_order DESC) AS version_rank
    FROM raw.spend r JOIN load_snapshots() f ON f.load_id = r._load_id
),
newest AS (SELECT * FROM versions WHERE version_rank = 1),
month_verdict AS (
    SELECT DISTINCT m._load_id, m.channel, m.date, m.campaign,
           'day rows of the same channel and campaign in this month are counted instead (one cost, two grains)'
               AS not_counted_because
    FROM newest m
    JOIN newest d ON d.date_grain = 'day' AND d.date_end IS NULL AND d.channel = m.channel
                 AND month_start(d.date) = m.date
                 AND (d.campaign IS NOT DISTINCT FROM m.campaign OR d.campaign IS NULL OR m.campaign IS NULL)
    WHERE m.date_grain = 'month' AND m.date_end IS NULL
),
ranges AS (SELECT DISTINCT _load_id, snapshot_order, channel, date, date_end FROM newest WHERE date_end IS NOT NULL),
range_verdict AS (
    SELECT r._load_id, r.channel, r.date, r.date_end, CASE
        WHEN month_start(r.date) <> month_start(r.date_end)
            THEN 'the range spans more than one calendar month; export one month per file or by day'
        WHEN EXISTS (SELECT 1 FROM newest d
                     WHERE d.date_end IS NULL AND d.channel = r.channel
                       AND d.date <= r.date_end
                       AND (CASE WHEN d.date_grain = 'month' THEN last_day(d.date) ELSE d.date END) >= r.date)
            THEN 'day or month rows of the same channel cover the range; they are counted instead'
        WHEN EXISTS (SELECT 1 FROM ranges o
                     WHERE o.channel = r.channel
                       AND o.snapshot_order > r.snapshot_order
                       AND o.date <= r.date_end AND o.date_end >= r.date
                       AND (o.date, o.date_end) IS DISTINCT FROM (r.date, r.date_end))
            THEN 'a newer file''s range of the same channel overlaps it'
    END AS not_counted_because
    FROM ranges r
),
-- The cost in the reporting currency: a row in another currency at its month's rate of
-- config/fx_rates.csv, rounded half away from zero to the cent; without a rate it is not counted (the
-- load refuses such a file, but a rate can be removed after it loaded).
priced AS (
    SELECT v.*, coalesce(upper(trim(v.currency)), s.reporting_currency) AS currency_code,
           CASE WHEN coalesce(upper(trim(v.currency)), s.reporting_currency) = s.reporting_currency
                THEN CAST(1 AS DECIMAL(18, 6)) ELSE fx.rate END AS fx_rate
    FROM newest v CROSS JOIN staging.run_settings s
    LEFT JOIN staging.fx_rates fx ON fx.month = month_start(v.date) AND fx.currency = upper(trim(v.currency))
)
SELECT v.date, CASE WHEN v.date_end IS NOT NULL THEN 'range' ELSE v.date_grain END AS date_grain, v.date_end,
       month_start(v.date) AS period_start,
       c.channel, v.channel AS raw_channel, v.campaign,
       CAST(round(v.cost * v.fx_rate, 2) AS DECIMAL(18, 2)) AS cost,
       v.impressions, v.clicks, v.currency_code AS currency, v.cost AS cost_in_currency, v.fx_rate,
       v._source_file, v._source_row,
       coalesce(CASE WHEN v.fx_rate IS NULL THEN 'no exchange rate for ' || v.currency_code || ' in '
                     || strftime(v.date, '%Y-%m') || ': add it to config/fx_rates.csv' END,
                rv.not_counted_because, mv.not_counted_because) AS not_counted_because
FROM priced v
JOIN staging.channel_lookup c ON c.kind = 'spend' AND c.k1 = v.channel
LEFT JOIN range_verdict rv
  ON rv._load_id = v._load_id AND rv.channel = v.channel AND rv.date = v.date AND rv.date_end = v.date_end
LEFT JOIN month_verdict mv
  ON v.date_grain = 'month' AND v.date_end IS NULL AND mv._load_id = v._load_id AND mv.channel = v.channel
 AND mv.date = v.date AND mv.campaign IS NOT DISTINCT FROM v.campaign;

CREATE OR REPLACE TABLE staging.spend_not_counted AS
SELECT * FROM staging.spend_all WHERE not_counted_because IS NOT NULL;
CREATE OR REPLACE TABLE staging.spend AS
SELECT * EXCLUDE (not_counted_because) FROM staging.spend_all WHERE not_counted_because IS NULL;
DROP TABLE staging.spend_all;

COMMENT ON TABLE staging.spend IS 'Spend rows counted in the marts: the newest snapshot per (date, grain, raw channel, campaign); rows of one file add up; a cost given at two grains counts once, at the finer one (staging.spend_not_counted holds the other).';
COMMENT ON COLUMN staging.spend.date_grain IS 'day, month (cost of the whole month) or range (a total from date to date_end, within one month).';
COMMENT ON COLUMN staging.spend.date_end IS 'Last day of the range for a range total; NULL otherwise.';
COMMENT ON COLUMN staging.spend.channel IS 'Channel name of the raw channel value through channels.yaml.';
COMMENT ON COLUMN staging.spend.cost IS 'Cost in the reporting currency (reporting_currency of config/sources.yaml, default JPY): cost_in_currency x fx_rate, rounded to the cent.';
COMMENT ON COLUMN staging.spend.currency IS 'Currency of the row as exported (upper case); the reporting currency when the export names none.';
COMMENT ON COLUMN staging.spend.cost_in_currency IS 'Cost as exported, in currency.';
COMMENT ON COLUMN staging.spend.fx_rate IS 'Units of the reporting currency per unit of currency in the row''s month (config/fx_rates.csv); 1 for the reporting currency.';
COMMENT ON TABLE staging.spend_not_counted IS 'Spend rows loaded but not counted in the marts, so that no cost counts twice, with the reason: a month row whose month has day rows of the same channel and campaign; a range total over several months, covered by day or month rows of the same channel, or overlapped by a newer range; a cost in a currency without an exchange rate for its month.';
COMMENT ON COLUMN staging.spend_not_counted.not_counted_because IS 'Why the row is not counted, and what to export instead.';
