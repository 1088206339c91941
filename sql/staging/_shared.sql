-- _shared: no table of its own. Runs before the staging models (file-name order): gives set_aside its
-- `line` column and defines the macros every staging model uses to read dates and set rows aside.
ALTER TABLE set_aside ADD COLUMN IF NOT EXISTS line BIGINT;

-- Export text as given but for surrounding spaces; NULL when blank. Text that has none (nearly all of it) is
-- passed on as it is rather than copied by trim: a third of the cost of typing the id columns.
CREATE OR REPLACE TEMP MACRO rr_text(txt) AS (
    CASE WHEN txt = trim(txt) THEN nullif(txt, '') ELSE nullif(trim(txt), '') END
);

-- An id from export text (rr_text), a spreadsheet's whole number written as a decimal (`17850.0`) read as the
-- whole number: the same id as `17850` in every export. Ids without a '.' skip the pattern.
CREATE OR REPLACE TEMP MACRO rr_id(txt) AS (
    CASE WHEN NOT contains(txt, '.') THEN rr_text(txt)
         WHEN regexp_full_match(trim(txt), '[0-9]+\.0+') THEN split_part(trim(txt), '.', 1)
         ELSE rr_text(txt) END
);

-- A timestamp from export text, in the report's time zone ($timezone): ISO 8601 dates and timestamps, with
-- an offset (Z, +02:00, +0200, " -0500", UTC) converted to the time zone, without one taken as already in
-- it; 10-digit Unix seconds. NULL when the text is none of these.
CREATE OR REPLACE TEMP MACRO rr_timestamp(txt, tz) AS (
    CASE
        WHEN txt IS NULL THEN NULL
        -- The common case first, without regular expressions: no offset (no '+' or '-' after the date, no
        -- letter at the end) and not 10 characters long (a date, or Unix seconds).
        WHEN length(txt) <> 10 AND txt[-1] BETWEEN '0' AND '9'
             AND NOT contains(substr(txt, 11), '+') AND NOT contains(substr(txt, 11), '-')
            THEN try_cast(txt AS TIMESTAMP)
        WHEN regexp_matches(txt, '^\d{10}$') THEN timezone(tz, to_timestamp(try_cast(txt AS BIGINT)))
        WHEN regexp_matches(txt, '\d:\d{2}(:\d{2}([.,]\d+)?)?\s*(Z|z|UTC|GMT|[+-]\d{2}(:?\d{2})?)$')
            THEN timezone(tz, try_cast(
                regexp_replace(regexp_replace(txt, '\s*(UTC|GMT|Z|z)$', '+00:00'), '\s*([+-]\d{2}):?(\d{2})$', '\1:\2')
                AS TIMESTAMPTZ))
        ELSE try_cast(txt AS TIMESTAMP)
    END
);

-- A date column of an export: its text read with the export's date_format (`parsed`, NULL without one or when
-- it does not match), else by rr_timestamp. Text already in the common form `YYYY-MM-DD HH:MM:SS` is cast at
-- once, skipping the trim and the checks for an offset (most rows of most exports; about 3 times cheaper).
CREATE OR REPLACE TEMP MACRO rr_read_timestamp(raw, parsed, tz) AS (
    CASE
        WHEN parsed IS NULL AND length(raw) = 19 AND raw[11] = ' ' THEN try_cast(raw AS TIMESTAMP)
        ELSE rr_timestamp(coalesce(parsed, nullif(trim(raw), '')), tz)
    END
);

-- The problem with a row's date, or NULL: unreadable (ambiguous when it could be day-first or month-first,
-- not matching the export's date_format when one is set), or after the export was written.
CREATE OR REPLACE TEMP MACRO rr_date_problem(col, raw, ts, date_format, exported_at, tz) AS (
    CASE
        WHEN ts IS NULL AND date_format IS NOT NULL
            THEN {'column': col, 'reason': 'date does not match date_format', 'value': raw}
        WHEN ts IS NULL AND regexp_matches(trim(raw), '^(0?[1-9]|1[0-2])[/.-](0?[1-9]|1[0-2])[/.-]\d{2,4}(\s.*)?$')
            THEN {'column': col, 'reason': 'ambiguous date (day or month first? set date_format)', 'value': raw}
        WHEN ts IS NULL AND regexp_matches(trim(raw), '^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}(\s.*)?$')
            THEN {'column': col, 'reason': 'date not in ISO form (set date_format)', 'value': raw}
        WHEN ts IS NULL THEN {'column': col, 'reason': 'unparseable date', 'value': raw}
        WHEN exported_at IS NOT NULL AND ts > timezone(tz, exported_at) + INTERVAL 1 DAY
            THEN {'column': col, 'reason': 'date after the export was written', 'value': raw}
    END
);
