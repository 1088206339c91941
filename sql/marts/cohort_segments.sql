-- cohort_segments: one row per customer and segment column chosen (segment_choice, written by segments.py after
-- staging), plus the segment 'all' for everyone. The segment is the customer's value when it is one of the
-- column's values shown by name (segment_values: the max_segment_values largest), 'other' for the rest, and
-- 'not given' when the customer has none.
-- Temporary: a row-level step for the segment marts, never read outside the build. Each customer row becomes
-- JSON once, however many segment columns there are, without the contact details (never a segment: they would
-- publish personal data, and are most of the text to convert) or the row's file and number.
CREATE OR REPLACE TEMP TABLE cohort_segments AS
WITH cells AS (
    SELECT
        c.customer_id,
        s.segment_column,
        nullif(trim(json_extract_string(
            c.row_json, '$."' || replace(replace(s.segment_column, '\', '\\'), '"', '\"') || '"')), '') AS value
    FROM (SELECT customer_id, to_json(c) AS row_json
          FROM (SELECT * EXCLUDE (email, name, phone, _file, _row) FROM stg_customers) AS c) AS c,
         (SELECT segment_column FROM segment_choice WHERE used) AS s
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
