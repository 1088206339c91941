-- data_quality_summary: one row per export and reason: rows read, staged and set aside; and how the export was
-- read: grain (row, or line: lines grouped into `records` orders), ids normalised (17850.0 -> 17850), derived.
CREATE OR REPLACE TABLE data_quality_summary AS
WITH staged AS (SELECT export, rows_staged FROM export_ranges),
reasons AS (
    SELECT export, "column", reason, count(*) AS rows_set_aside
    FROM set_aside
    GROUP BY ALL
)
SELECT
    e.export,
    e.present,
    e.rows_read,
    e.grain,
    e.records,
    e.ids_normalised,
    e.derived,
    s.rows_staged,
    r."column",
    r.reason,
    coalesce(r.rows_set_aside, 0) AS rows_set_aside
FROM export_files AS e
JOIN staged AS s USING (export)
LEFT JOIN reasons AS r USING (export)
ORDER BY e.export, rows_set_aside DESC, r.reason;
