-- cohort_revenue: one row per monthly cohort and month since its start (the cohort_cells grid): revenue of
-- completed orders in that month and cumulative revenue per cohort customer (historical customer value). Revenue is
-- always the completed orders' (status in active_statuses), whatever makes a customer active (param activity).
CREATE OR REPLACE TABLE cohort_revenue AS
WITH order_months AS (
    SELECT customer_id, month AS order_month, revenue FROM customer_months WHERE completed_orders > 0
),
revenue AS (
    SELECT m.cohort_month, date_diff('month', m.cohort_month, o.order_month) AS months_since_first,
           sum(o.revenue) AS revenue
    FROM cohort_assignments AS m
    JOIN order_months AS o USING (customer_id)
    WHERE o.order_month >= m.cohort_month
    GROUP BY ALL
)
SELECT
    c.cohort,
    c.months_since_first,
    c.cohort_customers,
    coalesce(r.revenue, 0)::DOUBLE AS revenue,
    sum(coalesce(r.revenue, 0)::DOUBLE) OVER (PARTITION BY c.cohort ORDER BY c.months_since_first) AS cumulative_revenue,
    sum(coalesce(r.revenue, 0)::DOUBLE) OVER (PARTITION BY c.cohort ORDER BY c.months_since_first)
        / c.cohort_customers AS cumulative_revenue_per_customer,
    c.is_complete,
    c.in_period
FROM cohort_cells AS c
LEFT JOIN revenue AS r USING (cohort_month, months_since_first)
ORDER BY c.cohort, c.months_since_first;
