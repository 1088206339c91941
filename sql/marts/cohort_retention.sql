-- cohort_retention: one row per acquisition cohort and month since its start, for every cohort and month up
-- to the period's end; empty cells are 0, not missing. The published five columns of cohort_cells.
CREATE OR REPLACE TABLE cohort_retention AS
SELECT cohort, months_since_first, cohort_customers, active_customers, retention_rate
FROM cohort_cells
ORDER BY cohort, months_since_first;
