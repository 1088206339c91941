-- stg_customers: one row per customer (grain: customer_id). Types, names and trims raw_customers;
-- rows failing a check go to set_aside. Extra columns are kept: they are the customer segments.
CREATE OR REPLACE TABLE stg_customers AS
WITH source AS (
    SELECT * FROM raw_customers
),
renamed AS (
    SELECT
        rr_text(customer_id) AS customer_id,
        rr_read_timestamp(created_at, _created_at_parsed, $timezone) AS created_at,
        rr_text(email) AS email,
        rr_text(name) AS name,
        rr_text(phone) AS phone,
        * EXCLUDE (customer_id, created_at, email, name, phone, _line, _exported_at, _group_rows, _date_format,
                   _created_at_parsed),
        created_at AS created_at_raw,
        _line,
        _exported_at,
        _date_format
    FROM source
),
later_duplicates AS (  -- every row of a repeated customer_id but its first in file order
    SELECT _file, _row FROM (
        SELECT _file, _row, row_number() OVER (PARTITION BY rr_text(customer_id) ORDER BY _file, _row) AS nth
        FROM raw_customers
        -- ids seen more than once, found by their hash (grouping 64-bit numbers is cheaper than text; rows
        -- whose hashes collide are told apart by the window above, over the ids themselves)
        WHERE hash(rr_text(customer_id)) IN (SELECT hash(rr_text(customer_id)) FROM raw_customers GROUP BY ALL HAVING count(*) > 1)
    ) WHERE nth > 1
),
checked AS (
    SELECT
        renamed.*,
        coalesce(
            CASE WHEN customer_id IS NULL THEN {'column': 'customer_id', 'reason': 'missing customer_id', 'value': NULL} END,
            rr_date_problem('created_at', created_at_raw, created_at, _date_format, _exported_at, $timezone),
            CASE WHEN later_duplicates._row IS NOT NULL
                 THEN {'column': 'customer_id', 'reason': 'duplicate customer_id', 'value': customer_id} END
        ) AS problem
    FROM renamed LEFT JOIN later_duplicates USING (_file, _row)
)
-- What staging keeps: typed columns and where each row came from (the checks' helper columns go).
SELECT * EXCLUDE (created_at_raw, _line, _exported_at, _date_format)
FROM checked;

INSERT INTO set_aside BY NAME
SELECT 'customers' AS export, _file AS file, _row AS row, problem['column'] AS "column",
       problem['reason'] AS reason, problem['value'] AS value
FROM stg_customers WHERE problem IS NOT NULL;

DELETE FROM stg_customers WHERE problem IS NOT NULL;
ALTER TABLE stg_customers DROP COLUMN problem;

-- How the other exports may name a customer: by customer_id, or (Shopify, survey tools) by e-mail address,
-- matched case-insensitively; an exact customer_id wins over an e-mail address.
CREATE OR REPLACE TEMP TABLE stg_customer_keys AS
SELECT key, arg_min(customer_id, {'priority': priority, 'customer_id': customer_id}) AS customer_id
FROM (
    SELECT CASE WHEN contains(customer_id, '@') THEN lower(customer_id) ELSE customer_id END AS key,
           customer_id, 1 AS priority
    FROM stg_customers
    UNION ALL
    SELECT lower(email), customer_id, 2 FROM stg_customers WHERE email IS NOT NULL
)
GROUP BY key;
