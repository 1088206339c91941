-- stg_customers: one row per customer (grain: customer_id). Types, names and trims raw_customers;
-- rows failing a check go to set_aside. Extra columns are kept: they are the customer segments.
CREATE OR REPLACE TEMP TABLE stg_customers_checked AS
WITH source AS (
    SELECT * FROM raw_customers
),
renamed AS (
    SELECT
        nullif(trim(customer_id), '') AS customer_id,
        try_cast(trim(created_at) AS TIMESTAMP) AS created_at,
        nullif(trim(email), '') AS email,
        nullif(trim(name), '') AS name,
        nullif(trim(phone), '') AS phone,
        * EXCLUDE (customer_id, created_at, email, name, phone),
        created_at AS created_at_raw
    FROM source
)
SELECT
    *,
    coalesce(
        CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
        CASE WHEN created_at IS NULL THEN {'column': 'created_at', 'reason': 'unparseable date', 'value': created_at_raw} END,
        CASE WHEN row_number() OVER (PARTITION BY customer_id ORDER BY _file, _row) > 1
             THEN {'column': 'customer_id', 'reason': 'duplicate customer_id', 'value': customer_id} END
    ) AS problem
FROM renamed;

INSERT INTO set_aside
SELECT 'customers', _file, _row, problem['column'], problem['reason'], problem['value']
FROM stg_customers_checked WHERE problem IS NOT NULL;

CREATE OR REPLACE TABLE stg_customers AS
SELECT * EXCLUDE (problem, created_at_raw) FROM stg_customers_checked WHERE problem IS NULL;
