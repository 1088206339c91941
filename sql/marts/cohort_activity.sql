-- cohort_activity: one row per customer and calendar month with at least one order whose status is in
-- active_statuses, up to the period's end (a helper for the cohort marts; row-level, never read by notebooks).
-- Temporary: a row-level step for the cohort marts, never read outside the build (no need to write it).
CREATE OR REPLACE TEMP TABLE cohort_activity AS
SELECT
    customer_id,
    date_trunc('month', ordered_at)::DATE AS activity_month,
    count(*) AS orders,
    sum(amount) AS revenue
FROM stg_orders
WHERE list_contains($active_statuses, status)
  AND ordered_at < $period_end_exclusive
GROUP BY ALL;
