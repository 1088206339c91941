-- stg_touchpoints: one row per touchpoint (grain: touchpoint_id). Types, names and trims
-- raw_touchpoints; unreadable or future dates, unknown customers and duplicates go to set_aside.
CREATE OR REPLACE TEMP TABLE stg_touchpoints_checked AS
WITH source AS (
    SELECT * FROM raw_touchpoints
),
renamed AS (
    SELECT
        _file,
        _row,
        _line,
        nullif(trim(touchpoint_id), '') AS touchpoint_id,
        nullif(trim(customer_id), '') AS customer_id,
        rr_timestamp(coalesce(_occurred_at_parsed, nullif(trim(occurred_at), '')), $timezone) AS occurred_at,
        lower(nullif(trim(kind), '')) AS kind,
        lower(nullif(trim(channel), '')) AS channel,
        coalesce(try_cast(trim(personalized) AS BOOLEAN), false) AS personalized,
        occurred_at AS occurred_at_raw,
        _exported_at,
        _date_format
    FROM source
),
linked AS (
    SELECT
        renamed.* REPLACE (coalesce(known.customer_id, by_email.customer_id, renamed.customer_id) AS customer_id),
        known.customer_id IS NOT NULL OR by_email.customer_id IS NOT NULL AS customer_known
    FROM renamed
    LEFT JOIN (SELECT customer_id FROM stg_customers) AS known ON known.customer_id = renamed.customer_id
    LEFT JOIN (SELECT lower(email) AS email, min(customer_id) AS customer_id FROM stg_customers
               WHERE email IS NOT NULL GROUP BY ALL) AS by_email ON by_email.email = lower(renamed.customer_id)
)
SELECT
    *,
    coalesce(
        CASE WHEN touchpoint_id IS NULL THEN {'column': 'touchpoint_id', 'reason': 'missing touchpoint_id', 'value': NULL} END,
        rr_date_problem('occurred_at', occurred_at_raw, occurred_at, _date_format, _exported_at, $timezone),
        CASE WHEN kind IS NULL THEN {'column': 'kind', 'reason': 'missing kind', 'value': NULL} END,
        CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
        CASE WHEN NOT customer_known
             THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
        CASE WHEN row_number() OVER (PARTITION BY touchpoint_id ORDER BY _file, _row) > 1
             THEN {'column': 'touchpoint_id', 'reason': 'duplicate touchpoint_id', 'value': touchpoint_id} END
    ) AS problem
FROM linked;

INSERT INTO set_aside BY NAME
SELECT 'touchpoints' AS export, _file AS file, _row AS row, problem['column'] AS "column",
       problem['reason'] AS reason, problem['value'] AS value, _line AS line
FROM stg_touchpoints_checked WHERE problem IS NOT NULL;

CREATE OR REPLACE TABLE stg_touchpoints AS
SELECT * EXCLUDE (problem, occurred_at_raw, _line, _exported_at, _date_format, customer_known)
FROM stg_touchpoints_checked WHERE problem IS NULL
ORDER BY _file, _row;
