-- cohort_segments: one row per customer and segment column chosen (segments.py, once after staging: bound as
-- $segment_columns_chosen and described in segment_choice), plus the segment 'all' for everyone. The segment is
-- the customer's value when it is one of the column's values shown by name (segment_values: the
-- max_segment_values largest), 'other' for the rest, and 'not given' when the customer has none.
-- Temporary: a row-level step for the segment marts, never read outside the build. The chosen columns are
-- unpivoted straight from stg_customers (never a contact detail: segments.py does not choose them); `_row` rides
-- along only so that the column list is never empty, and is dropped at once.
CREATE OR REPLACE TEMP TABLE cohort_segments AS
WITH cells AS (
    SELECT _customer_id AS customer_id, segment_column, nullif(trim(value), '') AS value
    FROM (UNPIVOT (SELECT customer_id AS _customer_id,
                          coalesce(COLUMNS(lambda c: c = '_row' OR list_contains($segment_columns_chosen::VARCHAR[], c))::VARCHAR, '')
                   FROM stg_customers)
          ON COLUMNS(* EXCLUDE _customer_id) INTO NAME segment_column VALUE value)
    WHERE segment_column <> '_row'
)
SELECT customer_id, 'all' AS segment_column, 'all' AS segment
FROM stg_customers
UNION ALL
SELECT
    c.customer_id,
    c.segment_column,
    CASE WHEN c.value IS NULL THEN 'not given' WHEN v.segment IS NOT NULL THEN c.value ELSE 'other' END AS segment
FROM cells AS c
LEFT JOIN segment_values AS v ON v.segment_column = c.segment_column AND v.segment = c.value;
