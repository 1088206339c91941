-- data_quality_examples: up to five set-aside rows per export and reason, with file, row, column and value.
-- Values of personal columns are never kept here: this table feeds a published page.
CREATE OR REPLACE TABLE data_quality_examples AS
SELECT
    export,
    reason,
    regexp_extract(file, '[^/\\]+$') AS file,
    row,
    "column",
    CASE WHEN "column" IN ('email', 'name', 'phone', 'comment') THEN '[redacted]' ELSE value END AS value
FROM set_aside
QUALIFY row_number() OVER (PARTITION BY export, reason ORDER BY file, row) <= 5
ORDER BY export, reason, file, row;
