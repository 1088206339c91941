-- stg_orders: one row per order (grain: order_id). Types, names and trims raw_orders; unreadable dates or
-- dates after the export, negative or non-numeric amounts, unknown customers and duplicates go to set_aside.
-- A customer_id that is a known customer's e-mail address (Shopify exports) links to that customer.
CREATE OR REPLACE TABLE stg_orders AS
WITH source AS (
    SELECT * FROM raw_orders
),
renamed AS (
    SELECT
        _file,
        _row,
        _line,
        rr_text(order_id) AS order_id,
        rr_text(customer_id) AS customer_id,
        rr_read_timestamp(ordered_at, _ordered_at_parsed, $timezone) AS ordered_at,
        try_cast(trim(amount) AS DECIMAL(18, 2)) AS amount,
        upper(rr_text(currency)) AS currency,
        coalesce(lower(rr_text(status)), 'completed') AS status,
        ordered_at AS ordered_at_raw,
        amount AS amount_raw,
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
later_duplicates AS (  -- every row of a repeated order_id but its first in file order
    SELECT _file, _row FROM (
        SELECT _file, _row, row_number() OVER (PARTITION BY rr_text(order_id) ORDER BY _file, _row) AS nth
        FROM raw_orders
        -- ids seen more than once, found by their hash (grouping 64-bit numbers is cheaper than text; rows
        -- whose hashes collide are told apart by the window above, over the ids themselves)
        WHERE hash(rr_text(order_id)) IN (SELECT hash(rr_text(order_id)) FROM raw_orders GROUP BY ALL HAVING count(*) > 1)
    ) WHERE nth > 1
),
checked AS (
    SELECT
        linked.*,
        coalesce(
            CASE WHEN order_id IS NULL THEN {'column': 'order_id', 'reason': 'missing order_id', 'value': NULL} END,
            rr_date_problem('ordered_at', ordered_at_raw, ordered_at, _date_format, _exported_at, $timezone),
            CASE WHEN amount IS NULL THEN {'column': 'amount', 'reason': 'amount is not a number', 'value': amount_raw} END,
            CASE WHEN amount < 0 THEN {'column': 'amount', 'reason': 'negative amount', 'value': amount_raw} END,
            CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
            CASE WHEN NOT customer_known
                 THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
            CASE WHEN later_duplicates._row IS NOT NULL
                 THEN {'column': 'order_id', 'reason': 'duplicate order_id', 'value': order_id} END
        ) AS problem
    FROM linked LEFT JOIN later_duplicates USING (_file, _row)
)
-- What staging keeps: typed columns and where each row came from (the checks' helper columns go).
SELECT * EXCLUDE (ordered_at_raw, amount_raw, _line, _exported_at, _date_format, customer_known)
FROM checked;

INSERT INTO set_aside BY NAME
SELECT 'orders' AS export, _file AS file, _row AS row, problem['column'] AS "column",
       problem['reason'] AS reason, problem['value'] AS value
FROM stg_orders WHERE problem IS NOT NULL;

DELETE FROM stg_orders WHERE problem IS NOT NULL;
ALTER TABLE stg_orders DROP COLUMN problem;
