-- Parsers of raw export text, applied in DuckDB to whole columns at once.
-- Full-width digits and separators become ASCII, blanks become NULL, and a value
-- that does not parse becomes NULL (the pandera schema then names the raw value).

-- A value whose byte length equals its character length is ASCII and has nothing to
-- translate: the check is nearly free, translate() is not (it cost 2 s per million values).
CREATE OR REPLACE MACRO clean_text(x) AS
    nullif(trim(CASE WHEN strlen(x) = length(x) THEN x ELSE replace(x, '　', ' ') END), '');

CREATE OR REPLACE MACRO ascii_digits(x) AS CASE WHEN strlen(x) = length(x) THEN x
    ELSE translate(x, '０１２３４５６７８９，．－／：　＋', '0123456789,.-/: +') END;

-- A timestamp as local (naive) time in zone tz. Values with an offset or Z are
-- converted to tz; values without one are already in tz.
CREATE OR REPLACE MACRO timestamp_text(x) AS CASE
    WHEN ends_with(clean_text(ascii_digits(x)), 'Z') THEN clean_text(ascii_digits(x))[:-2] || '+00:00'
    ELSE clean_text(ascii_digits(x)) END;

-- A value without offset, by its separator: each value is tried only against the formats
-- it can match (trying all fifteen in turn made a 2026/07/03 value 3x slower to parse).
CREATE OR REPLACE MACRO local_timestamp(t) AS CASE
    WHEN contains(t, '-') THEN try_strptime(t, [
        '%Y-%m-%d %H:%M:%S', '%Y-%m-%d %H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%dT%H:%M:%S.%f',
        '%Y-%m-%d %H:%M', '%Y-%m-%dT%H:%M', '%Y-%m-%d'])
    WHEN contains(t, '/') THEN try_strptime(t, ['%Y/%m/%d %H:%M:%S', '%Y/%m/%d %H:%M', '%Y/%m/%d'])
    WHEN contains(t, '年') THEN try_strptime(t, ['%Y年%m月%d日 %H:%M:%S', '%Y年%m月%d日 %H:%M', '%Y年%m月%d日'])
    ELSE try_strptime(t, ['%Y%m%d', '%Y%m%d%H%M%S'])
END;

CREATE OR REPLACE MACRO parse_timestamp(x, tz) AS CASE
    WHEN regexp_matches(timestamp_text(x), '[+-]\d{2}:?\d{2}$') THEN timezone(tz, try_strptime(timestamp_text(x), [
        '%Y-%m-%dT%H:%M:%S%z', '%Y-%m-%dT%H:%M:%S.%f%z', '%Y-%m-%d %H:%M:%S%z',
        '%Y-%m-%d %H:%M:%S.%f%z', '%Y-%m-%dT%H:%M%z', '%Y/%m/%d %H:%M:%S%z']))
    ELSE local_timestamp(timestamp_text(x))
END;

-- A date: the local day in zone tz (a value with an offset is converted first).
CREATE OR REPLACE MACRO parse_date(x, tz) AS CAST(parse_timestamp(x, tz) AS DATE);

-- A day, or a month written 2026-07 / 2026/07 / 2026年7月 (then its first day).
CREATE OR REPLACE MACRO parse_period(x, tz) AS coalesce(
    parse_date(x, tz),
    CAST(try_strptime(clean_text(ascii_digits(x)), ['%Y-%m', '%Y/%m', '%Y%m', '%Y年%m月']) AS DATE)
);

CREATE OR REPLACE MACRO parse_period_grain(x, tz) AS CASE
    WHEN parse_date(x, tz) IS NOT NULL THEN 'day'
    WHEN parse_period(x, tz) IS NOT NULL THEN 'month'
END;

-- 1500000, 1,500,000, ¥1,500,000, ￥1,500,000, 1,500,000円, JPY 1,500,000, USD 1,500.00, $1,500.00.
-- The currency sign or code is dropped; the export's currency column says which it is.
CREATE OR REPLACE MACRO parse_money(x) AS TRY_CAST(
    regexp_replace(clean_text(ascii_digits(x)), '^([A-Z]{3}|[¥￥$€£])\s*|\s*(円|[A-Z]{3})$|,', '', 'g') AS DECIMAL(18, 2));

-- An Excel serial date (days since 1899-12-30, the fraction is the time of day), as some tools write dates.
-- Only 5-digit day numbers (1927-05-18 .. 2173-10-14) are read this way, so 20260703 stays a day.
CREATE OR REPLACE MACRO excel_serial_timestamp(x) AS CASE
    WHEN regexp_full_match(clean_text(ascii_digits(x)), '\d{5}(\.\d+)?')
    THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST(clean_text(ascii_digits(x)) AS DOUBLE) * 86400000000) AS BIGINT))
END;

CREATE OR REPLACE MACRO parse_number(x) AS TRY_CAST(replace(clean_text(ascii_digits(x)), ',', '') AS DOUBLE);

-- Whole numbers only: 1,234 and 12.0 are counts, 1.5 is not.
CREATE OR REPLACE MACRO parse_count(x) AS CASE
    WHEN parse_number(x) = trunc(parse_number(x)) AND abs(parse_number(x)) < 9e15 THEN CAST(parse_number(x) AS BIGINT)
END;
