-- cohort_assignments: one row per customer in a cohort by the period's end: the cohort month is the month of
-- the first completed order (cohort_by: first_order; with activity events or both, of the first activity,
-- cohort_activity) or of the sign-up (cohort_by: signup).
SELECT CASE WHEN $cohort_by::VARCHAR NOT IN ('first_order', 'signup')
            THEN error('params: cohort_by must be first_order or signup, not ' || $cohort_by::VARCHAR) END;

SELECT CASE WHEN $retention_mode::VARCHAR NOT IN ('on', 'on_or_after')
            THEN error('params: retention_mode must be "on" (quoted in YAML) or on_or_after, not ' || $retention_mode::VARCHAR) END;

-- Temporary: row-level (one row per customer), never read outside the build.
CREATE OR REPLACE TEMP TABLE cohort_assignments AS
WITH first_orders AS (
    SELECT customer_id, min(activity_month) AS first_order_month
    FROM cohort_activity
    GROUP BY customer_id
)
SELECT
    c.customer_id,
    CASE WHEN $cohort_by::VARCHAR = 'signup' THEN date_trunc('month', c.created_at)::DATE
         ELSE f.first_order_month END AS cohort_month,
    f.first_order_month,
    date_trunc('month', c.created_at)::DATE AS signup_month
FROM stg_customers AS c
LEFT JOIN first_orders AS f USING (customer_id)
WHERE CASE WHEN $cohort_by::VARCHAR = 'signup' THEN c.created_at < $period_end_exclusive
           ELSE f.first_order_month IS NOT NULL END;
