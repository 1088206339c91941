-- stg_touchpoints: one row per touchpoint (grain: touchpoint_id). Types, names and trims
-- raw_touchpoints; unreadable or future dates, unknown customers and duplicates go to set_aside.
CREATE OR REPLACE TABLE stg_touchpoints AS
WITH source AS (
    SELECT * FROM raw_touchpoints
),
renamed AS (
    SELECT
        _file,
        _row,
        _line,
        rr_text(touchpoint_id) AS touchpoint_id,
        rr_text(customer_id) AS customer_id,
        rr_read_timestamp(occurred_at, _occurred_at_parsed, $timezone) AS occurred_at,
        lower(rr_text(kind)) AS kind,
        lower(rr_text(channel)) AS channel,
        coalesce(try_cast(trim(personalized) AS BOOLEAN), false) AS personalized,
        occurred_at AS occurred_at_raw,
        _exported_at,
        _date_format
    FROM source
),
linked AS (
    SELECT
        renamed.* REPLACE (coalesce(known.customer_id, renamed.customer_id) AS customer_id),
        known.customer_id IS NOT NULL AS customer_known
    FROM renamed
    LEFT JOIN stg_customer_keys AS known
      ON known.key = CASE WHEN contains(renamed.customer_id, '@') THEN lower(renamed.customer_id)
                          ELSE renamed.customer_id END
),
later_duplicates AS (  -- every row of a repeated touchpoint_id but its first in file order
    SELECT _file, _row FROM (
        SELECT _file, _row, row_number() OVER (PARTITION BY rr_text(touchpoint_id) ORDER BY _file, _row) AS nth
        FROM raw_touchpoints
        -- ids seen more than once, found by their hash (grouping 64-bit numbers is cheaper than text; rows
        -- whose hashes collide are told apart by the window above, over the ids themselves)
        WHERE hash(rr_text(touchpoint_id)) IN (SELECT hash(rr_text(touchpoint_id)) FROM raw_touchpoints GROUP BY ALL HAVING count(*) > 1)
    ) WHERE nth > 1
),
checked AS (
    SELECT
        linked.*,
        coalesce(
            CASE WHEN touchpoint_id IS NULL THEN {'column': 'touchpoint_id', 'reason': 'missing touchpoint_id', 'value': NULL} END,
            rr_date_problem('occurred_at', occurred_at_raw, occurred_at, _date_format, _exported_at, $timezone),
            CASE WHEN kind IS NULL THEN {'column': 'kind', 'reason': 'missing kind', 'value': NULL} END,
            CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
            CASE WHEN NOT customer_known
                 THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
            CASE WHEN later_duplicates._row IS NOT NULL
                 THEN {'column': 'touchpoint_id', 'reason': 'duplicate touchpoint_id', 'value': touchpoint_id} END
        ) AS problem
    FROM linked LEFT JOIN later_duplicates USING (_file, _row)
)
-- What staging keeps: typed columns and where each row came from (the checks' helper columns go).
SELECT * EXCLUDE (occurred_at_raw, _line, _exported_at, _date_format, customer_known)
FROM checked;

INSERT INTO set_aside BY NAME
SELECT 'touchpoints' AS export, _file AS file, _row AS row, problem['column'] AS "column",
       problem['reason'] AS reason, problem['value'] AS value
FROM stg_touchpoints WHERE problem IS NOT NULL;

DELETE FROM stg_touchpoints WHERE problem IS NOT NULL;
ALTER TABLE stg_touchpoints DROP COLUMN problem;
