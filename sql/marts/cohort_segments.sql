-- cohort_segments: one row per customer and segment column named in params (segment_columns), plus the
-- segment 'all' for everyone: the customer's value, '(blank)' when empty or when the export lacks the column.
-- Temporary: a row-level step for the segment marts, never read outside the build. Each customer row becomes
-- JSON once, however many segment columns there are, without the contact details (never a segment: they would
-- publish personal data, and are most of the text to convert) or the row's file and number.
CREATE OR REPLACE TEMP TABLE cohort_segments AS
SELECT customer_id, 'all' AS segment_column, 'all' AS segment
FROM stg_customers
UNION ALL
SELECT
    c.customer_id,
    s.segment_column,
    coalesce(nullif(trim(json_extract_string(c.row_json, '$."' || s.segment_column || '"')), ''), '(blank)') AS segment
FROM (SELECT customer_id, to_json(c) AS row_json
      FROM (SELECT * EXCLUDE (email, name, phone, _file, _row) FROM stg_customers) AS c) AS c,
     unnest($segment_columns) AS s(segment_column);
