-- cohort_segments: one row per customer and segment column named in params (segment_columns), plus the
-- segment 'all' for everyone: the customer's value, '(blank)' when empty or when the export lacks the column.
CREATE OR REPLACE TABLE cohort_segments AS
SELECT customer_id, 'all' AS segment_column, 'all' AS segment
FROM stg_customers
UNION ALL
SELECT
    c.customer_id,
    s.segment_column,
    coalesce(nullif(trim(json_extract_string(to_json(c), '$."' || s.segment_column || '"')), ''), '(blank)') AS segment
FROM stg_customers AS c, unnest($segment_columns) AS s(segment_column);
