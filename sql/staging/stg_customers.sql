-- stg_customers: one row per customer (grain: customer_id). Types, names and trims raw_customers;
-- rows failing a check go to set_aside. Extra columns are kept: they are the customer segments.
CREATE OR REPLACE TEMP TABLE stg_customers_checked AS
WITH source AS (
    SELECT * FROM raw_customers
),
renamed AS (
    SELECT
        nullif(trim(customer_id), '') AS customer_id,
        rr_timestamp(coalesce(_created_at_parsed, nullif(trim(created_at), '')), $timezone) AS created_at,
        nullif(trim(email), '') AS email,
        nullif(trim(name), '') AS name,
        nullif(trim(phone), '') AS phone,
        * EXCLUDE (customer_id, created_at, email, name, phone, _line, _exported_at, _group_rows, _date_format,
                   _created_at_parsed),
        created_at AS created_at_raw,
        _line,
        _exported_at,
        _date_format
    FROM source
)
SELECT
    *,
    coalesce(
        CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
        rr_date_problem('created_at', created_at_raw, created_at, _date_format, _exported_at, $timezone),
        CASE WHEN row_number() OVER (PARTITION BY customer_id ORDER BY _file, _row) > 1
             THEN {'column': 'customer_id', 'reason': 'duplicate customer_id', 'value': customer_id} END
    ) AS problem
FROM renamed;

INSERT INTO set_aside BY NAME
SELECT 'customers' AS export, _file AS file, _row AS row, problem['column'] AS "column",
       problem['reason'] AS reason, problem['value'] AS value, _line AS line
FROM stg_customers_checked WHERE problem IS NOT NULL;

CREATE OR REPLACE TABLE stg_customers AS
SELECT * EXCLUDE (problem, created_at_raw, _line, _exported_at, _date_format)
FROM stg_customers_checked WHERE problem IS NULL
ORDER BY _file, _row;
