-- stg_orders: one row per order (grain: order_id). Types, names and trims raw_orders; unparseable
-- dates, negative or non-numeric amounts, unknown customers and duplicates go to set_aside.
CREATE OR REPLACE TEMP TABLE stg_orders_checked AS
WITH source AS (
    SELECT * FROM raw_orders
),
renamed AS (
    SELECT
        _file,
        _row,
        nullif(trim(order_id), '') AS order_id,
        nullif(trim(customer_id), '') AS customer_id,
        try_cast(trim(ordered_at) AS TIMESTAMP) AS ordered_at,
        try_cast(trim(amount) AS DECIMAL(18, 2)) AS amount,
        nullif(upper(trim(currency)), '') AS currency,
        coalesce(nullif(lower(trim(status)), ''), 'completed') AS status,
        ordered_at AS ordered_at_raw,
        amount AS amount_raw
    FROM source
)
SELECT
    *,
    coalesce(
        CASE WHEN order_id IS NULL THEN {'column': 'order_id', 'reason': 'missing order_id', 'value': NULL} END,
        CASE WHEN ordered_at IS NULL THEN {'column': 'ordered_at', 'reason': 'unparseable date', 'value': ordered_at_raw} END,
        CASE WHEN amount IS NULL THEN {'column': 'amount', 'reason': 'amount is not a number', 'value': amount_raw} END,
        CASE WHEN amount < 0 THEN {'column': 'amount', 'reason': 'negative amount', 'value': amount_raw} END,
        CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
        CASE WHEN customer_id NOT IN (SELECT customer_id FROM stg_customers)
             THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
        CASE WHEN row_number() OVER (PARTITION BY order_id ORDER BY _file, _row) > 1
             THEN {'column': 'order_id', 'reason': 'duplicate order_id', 'value': order_id} END
    ) AS problem
FROM renamed;

INSERT INTO set_aside
SELECT 'orders', _file, _row, problem['column'], problem['reason'], problem['value']
FROM stg_orders_checked WHERE problem IS NOT NULL;

CREATE OR REPLACE TABLE stg_orders AS
SELECT * EXCLUDE (problem, ordered_at_raw, amount_raw) FROM stg_orders_checked WHERE problem IS NULL;
