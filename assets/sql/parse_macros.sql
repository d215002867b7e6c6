-- Parsers of raw export text, applied in DuckDB to whole columns at once.
-- Full-width digits and separators become ASCII, blanks become NULL, and a value
-- that does not parse becomes NULL (the pandera schema then names the raw value).

-- A value whose byte length equals its character length is ASCII and has nothing to
-- translate: the check is nearly free, translate() is not (it cost 2 s per million values).
CREATE OR REPLACE MACRO clean_text(x) AS
    nullif(trim(CASE WHEN strlen(x) = length(x) THEN x ELSE replace(x, '　', ' ') END), '');

-- The text a parser reads, from a value clean_text has cleaned already: full-width digits and
-- separators made ASCII, trimmed again (a full-width space at an end is one now), blank as NULL.
-- The reader computes clean_text once and this from it (assets/ingest/load.py: parse_sql), so that
-- neither macro repeats the other's work: `r` must be a column, not an expression.
CREATE OR REPLACE MACRO ascii_of_clean(r) AS CASE WHEN strlen(r) = length(r) THEN r
    ELSE nullif(trim(translate(r, '０１２３４５６７８９，．－／：　＋', '0123456789,.-/: +')), '') END;

-- The same from raw text, for a one-off value.
CREATE OR REPLACE MACRO ascii_text(x) AS ascii_of_clean(clean_text(x));

-- The parsers below read ascii_text(x), which the reader computes once per value in an
-- inner SELECT (assets/ingest/load.py: parse_sql) and passes in as `a`. A macro is inlined
-- wherever it is named, so a parser written over x itself repeated ascii_text(x) in every
-- branch and cost 30 times as much. For a one-off value: timestamp_of(ascii_text(x), tz).

-- A failed try_strptime costs about 9 us a value (1,000 times a successful one), so each
-- value is tried against the one format its shape allows (separator, 'T', fraction, number
-- of colons), never against a list that fails first. Where two formats share a shape, the
-- list stays, in the order the formats were always tried.
CREATE OR REPLACE MACRO colons(a) AS length(a) - length(replace(a, ':', ''));

-- A value without offset is local time in the configured zone already.
CREATE OR REPLACE MACRO local_timestamp(a) AS CASE
    WHEN contains(a, '-') THEN CASE
        WHEN colons(a) = 0 THEN try_strptime(a, '%Y-%m-%d')
        WHEN contains(a, 'T') THEN CASE
            WHEN contains(a, '.') THEN try_strptime(a, '%Y-%m-%dT%H:%M:%S.%f')
            WHEN colons(a) = 2 THEN try_strptime(a, '%Y-%m-%dT%H:%M:%S')
            ELSE try_strptime(a, '%Y-%m-%dT%H:%M') END
        WHEN contains(a, '.') THEN try_strptime(a, '%Y-%m-%d %H:%M:%S.%f')
        WHEN colons(a) = 2 THEN try_strptime(a, '%Y-%m-%d %H:%M:%S')
        ELSE try_strptime(a, '%Y-%m-%d %H:%M') END
    WHEN contains(a, '/') THEN CASE colons(a)
        WHEN 0 THEN try_strptime(a, '%Y/%m/%d')
        WHEN 1 THEN try_strptime(a, '%Y/%m/%d %H:%M')
        ELSE try_strptime(a, '%Y/%m/%d %H:%M:%S') END
    WHEN contains(a, '年') THEN CASE colons(a)
        WHEN 0 THEN try_strptime(a, '%Y年%m月%d日')
        WHEN 1 THEN try_strptime(a, '%Y年%m月%d日 %H:%M')
        ELSE try_strptime(a, '%Y年%m月%d日 %H:%M:%S') END
    ELSE try_strptime(a, ['%Y%m%d', '%Y%m%d%H%M%S'])
END;

-- A value with an offset (+09:00, +0900), as an instant.
CREATE OR REPLACE MACRO offset_timestamp(a) AS CASE
    WHEN contains(a, '/') THEN try_strptime(a, '%Y/%m/%d %H:%M:%S%z')
    WHEN contains(a, 'T') THEN CASE
        WHEN contains(a, '.') THEN try_strptime(a, '%Y-%m-%dT%H:%M:%S.%f%z')
        ELSE try_strptime(a, ['%Y-%m-%dT%H:%M:%S%z', '%Y-%m-%dT%H:%M%z']) END
    WHEN contains(a, '.') THEN try_strptime(a, '%Y-%m-%d %H:%M:%S.%f%z')
    ELSE try_strptime(a, '%Y-%m-%d %H:%M:%S%z')
END;

-- A timestamp as local (naive) time in zone tz: a value with an offset or Z is converted
-- to tz; a value without one is in tz already. Every shape, branch by branch.
CREATE OR REPLACE MACRO timestamp_any(a, tz) AS CASE
    WHEN ends_with(a, 'Z') THEN timezone(tz, offset_timestamp(a[:-2] || '+00:00'))
    WHEN regexp_matches(a, '[+-]\d{2}:?\d{2}$') THEN timezone(tz, offset_timestamp(a))
    ELSE local_timestamp(a)
END;

-- The same, the two shapes most exports write (2026-07-03 10:00:00 and 2026-07-03) first: a LIKE
-- on the shape and one try_strptime cost a third of timestamp_any's branches, which were half of
-- the parse. A value of either shape not ending in Z takes, in timestamp_any, the branch of that
-- very format (tests/unit/test_parse_macros.py compares the two over mutated values of both shapes).
CREATE OR REPLACE MACRO timestamp_of(a, tz) AS CASE
    WHEN ends_with(a, 'Z') THEN timestamp_any(a, tz)
    WHEN a LIKE '____-__-__ __:__:__' THEN try_strptime(a, '%Y-%m-%d %H:%M:%S')
    WHEN a LIKE '____-__-__' THEN try_strptime(a, '%Y-%m-%d')
    ELSE timestamp_any(a, tz)
END;

-- A date: the local day in zone tz (a value with an offset is converted first).
CREATE OR REPLACE MACRO date_of(a, tz) AS CAST(timestamp_of(a, tz) AS DATE);

-- A day, or a month written 2026-07 / 2026/07 / 2026年7月 (then its first day).
CREATE OR REPLACE MACRO month_of_text(a) AS CAST(try_strptime(a, ['%Y-%m', '%Y/%m', '%Y%m', '%Y年%m月']) AS DATE);
CREATE OR REPLACE MACRO period_of(a, tz) AS coalesce(date_of(a, tz), month_of_text(a));
CREATE OR REPLACE MACRO period_grain_of(a, tz) AS CASE
    WHEN date_of(a, tz) IS NOT NULL THEN 'day'
    WHEN month_of_text(a) IS NOT NULL THEN 'month'
END;

-- Numbers are read exactly or not at all. canonical_number takes digits with an optional sign, commas only
-- between groups of three digits and a point before the decimals (1,500,000.50), and gives them without
-- commas; any other shape is NULL: 12,34 or 1.234,56 (a decimal comma) is never read as another number.
-- A profile declaring other marks (number_format) has its marks turned into these ones first.
CREATE OR REPLACE MACRO canonical_number(t) AS
    CASE WHEN regexp_full_match(t, '[+-]?(\d+|\d{1,3}(,\d{3})+)(\.\d+)?') THEN replace(t, ',', '') END;

-- 1.234 or 1.234.567: thousands points (1234) or three decimals? Without a declared format, a money or
-- count value of this shape is refused rather than guessed.
CREATE OR REPLACE MACRO ambiguous_point(t) AS regexp_full_match(t, '[+-]?[1-9]\d{0,2}(\.\d{3})+');

-- The currency sign or code of an amount dropped (¥1,500,000, 1,500,000円, JPY 1,500,000, $1,500.00);
-- the export's currency column says which it is.
CREATE OR REPLACE MACRO without_currency(a) AS regexp_replace(a, '^([A-Z]{3}|[¥￥$€£])\s*|\s*(円|[A-Z]{3})$', '', 'g');

-- Money from canonical_number's text: DECIMAL(18, 2) holds at most two decimals, so a third decimal
-- that is not zero is refused rather than rounded.
CREATE OR REPLACE MACRO money_of_number(n) AS
    CASE WHEN NOT regexp_matches(n, '\.\d\d0*[1-9]') THEN TRY_CAST(n AS DECIMAL(18, 2)) END;
CREATE OR REPLACE MACRO money_of(a) AS
    CASE WHEN NOT ambiguous_point(without_currency(a)) THEN money_of_number(canonical_number(without_currency(a))) END;

-- Whole numbers only: 1,234 and 12.0 are counts, 1.5 is not; beyond BIGINT is NULL.
CREATE OR REPLACE MACRO count_of_number(n) AS
    CASE WHEN regexp_full_match(n, '[+-]?\d+(\.0*)?') THEN TRY_CAST(split_part(n, '.', 1) AS BIGINT) END;
CREATE OR REPLACE MACRO count_of(a) AS CASE WHEN NOT ambiguous_point(a) THEN count_of_number(canonical_number(a)) END;

-- Any number (a score, a rate, hours): canonical_number's shapes, or 1.5E+06 as spreadsheets write it.
CREATE OR REPLACE MACRO number_of_number(n) AS TRY_CAST(n AS DOUBLE);
CREATE OR REPLACE MACRO number_of(a) AS number_of_number(coalesce(
    canonical_number(a), CASE WHEN regexp_full_match(a, '[+-]?\d+(\.\d+)?[eE][+-]?\d+') THEN a END));

-- An Excel serial date (days since 1899-12-30, the fraction is the time of day), as some tools write dates.
-- Only 5-digit day numbers (1927-05-18 .. 2173-10-14) are read this way, so 20260703 stays a day.
CREATE OR REPLACE MACRO excel_serial_of(a) AS CASE
    WHEN regexp_full_match(a, '\d{5}(\.\d+)?')
    THEN TIMESTAMP '1899-12-30' + to_microseconds(CAST(round(CAST(a AS DOUBLE) * 86400000000) AS BIGINT))
END;


-- A duration as YouTube Studio writes it, H:MM:SS (0:01:25, 12:03:09), or whole seconds: in seconds.
CREATE OR REPLACE MACRO duration_of(a) AS CASE
    WHEN regexp_full_match(a, '\d{1,6}:[0-5]\d:[0-5]\d') THEN
        CAST(split_part(a, ':', 1) AS BIGINT) * 3600 + CAST(split_part(a, ':', 2) AS BIGINT) * 60
        + CAST(split_part(a, ':', 3) AS BIGINT)
    WHEN regexp_full_match(a, '\d{1,12}') THEN CAST(a AS BIGINT)
END;
