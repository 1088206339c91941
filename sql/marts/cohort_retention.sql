-- cohort_retention: one row per acquisition cohort (month of first completed order) and month since
-- first order, for every cohort and month up to the period's end; empty cells are 0, not missing.
CREATE OR REPLACE TABLE cohort_retention AS
WITH activity AS (
    -- de-duplicate to customer-months first: two orders in one month count once
    SELECT DISTINCT customer_id, date_trunc('month', ordered_at)::DATE AS activity_month
    FROM stg_orders
    WHERE list_contains($active_statuses, status)
      AND ordered_at < $period_end_exclusive
),
firsts AS (
    SELECT customer_id, min(activity_month) AS cohort_month
    FROM activity
    GROUP BY customer_id
),
cohorts AS (
    SELECT cohort_month, count(*) AS cohort_customers
    FROM firsts
    GROUP BY cohort_month
),
grid AS (
    SELECT cohort_month, cohort_customers, months_since_first
    FROM cohorts,
         range(0, date_diff('month', cohort_month, $period_start::DATE) + $period_months) AS r(months_since_first)
    WHERE date_diff('month', cohort_month, $period_start::DATE) + $period_months > months_since_first
),
active AS (
    SELECT f.cohort_month, date_diff('month', f.cohort_month, a.activity_month) AS months_since_first,
           count(*) AS active_customers
    FROM activity AS a
    JOIN firsts AS f USING (customer_id)
    GROUP BY ALL
)
SELECT
    strftime(grid.cohort_month, '%Y-%m') AS cohort,
    grid.months_since_first::INTEGER AS months_since_first,
    grid.cohort_customers,
    coalesce(active.active_customers, 0) AS active_customers,
    coalesce(active.active_customers, 0) / grid.cohort_customers AS retention_rate
FROM grid
LEFT JOIN active USING (cohort_month, months_since_first)
ORDER BY cohort, months_since_first;
