-- cohort_segments: one row per customer and segment column chosen (segments.py, once after staging: described in
-- segment_choice), plus the segment 'all' for everyone. The segment is
-- the customer's value when it is one of the column's values shown by name (segment_values: the
-- max_segment_values largest), 'other' for the rest, and 'not given' when the customer has none.
-- Temporary: a row-level step for the segment marts, never read outside the build. The chosen columns' values come
-- per customer from segment_cells (segments.py unpivots them from stg_customers; never a contact detail).
CREATE OR REPLACE TEMP TABLE cohort_segments AS
WITH cells AS (SELECT customer_id, segment_column, value FROM segment_cells)
SELECT customer_id, 'all' AS segment_column, 'all' AS segment
FROM stg_customers
UNION ALL
SELECT
    c.customer_id,
    c.segment_column,
    CASE WHEN c.value IS NULL THEN 'not given' WHEN v.segment IS NOT NULL THEN c.value ELSE 'other' END AS segment
FROM cells AS c
LEFT JOIN segment_values AS v ON v.segment_column = c.segment_column AND v.segment = c.value;
