-- stg_touchpoints: one row per touchpoint (grain: touchpoint_id). Types, names and trims
-- raw_touchpoints; unparseable dates, unknown customers and duplicates go to set_aside.
CREATE OR REPLACE TEMP TABLE stg_touchpoints_checked AS
WITH source AS (
    SELECT * FROM raw_touchpoints
),
renamed AS (
    SELECT
        _file,
        _row,
        nullif(trim(touchpoint_id), '') AS touchpoint_id,
        nullif(trim(customer_id), '') AS customer_id,
        try_cast(trim(occurred_at) AS TIMESTAMP) AS occurred_at,
        lower(nullif(trim(kind), '')) AS kind,
        lower(nullif(trim(channel), '')) AS channel,
        coalesce(try_cast(trim(personalized) AS BOOLEAN), false) AS personalized,
        occurred_at AS occurred_at_raw
    FROM source
)
SELECT
    *,
    coalesce(
        CASE WHEN touchpoint_id IS NULL THEN {'column': 'touchpoint_id', 'reason': 'missing touchpoint_id', 'value': NULL} END,
        CASE WHEN occurred_at IS NULL THEN {'column': 'occurred_at', 'reason': 'unparseable date', 'value': occurred_at_raw} END,
        CASE WHEN kind IS NULL THEN {'column': 'kind', 'reason': 'missing kind', 'value': NULL} END,
        CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
        CASE WHEN customer_id NOT IN (SELECT customer_id FROM stg_customers)
             THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
        CASE WHEN row_number() OVER (PARTITION BY touchpoint_id ORDER BY _file, _row) > 1
             THEN {'column': 'touchpoint_id', 'reason': 'duplicate touchpoint_id', 'value': touchpoint_id} END
    ) AS problem
FROM renamed;

INSERT INTO set_aside
SELECT 'touchpoints', _file, _row, problem['column'], problem['reason'], problem['value']
FROM stg_touchpoints_checked WHERE problem IS NOT NULL;

CREATE OR REPLACE TABLE stg_touchpoints AS
SELECT * EXCLUDE (problem, occurred_at_raw) FROM stg_touchpoints_checked WHERE problem IS NULL;
