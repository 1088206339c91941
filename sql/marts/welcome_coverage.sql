-- welcome_coverage: one row for the period's new customers (first completed order in the period):
-- how many got a welcome touchpoint 0 to `welcome_within_days` days after their first order.
CREATE OR REPLACE TABLE welcome_coverage AS
WITH first_orders AS (
    SELECT customer_id, min(ordered_at) AS first_order_at
    FROM stg_orders
    WHERE list_contains($active_statuses, status)
    GROUP BY customer_id
),
new_customers AS (
    SELECT * FROM first_orders
    WHERE first_order_at >= $period_start AND first_order_at < $period_end_exclusive
),
first_welcome AS (
    SELECT n.customer_id,
           min(date_diff('day', n.first_order_at::DATE, t.occurred_at::DATE)) AS days_to_welcome
    FROM new_customers AS n
    JOIN stg_touchpoints AS t
      ON t.customer_id = n.customer_id
     AND list_contains($welcome_kinds, t.kind)
     AND t.occurred_at::DATE >= n.first_order_at::DATE
    GROUP BY n.customer_id
)
SELECT
    'all' AS segment,
    count(*) AS customers,
    count(*) FILTER (WHERE w.days_to_welcome <= $welcome_within_days) AS covered,
    median(w.days_to_welcome) AS median_days_to_welcome
FROM new_customers AS n
LEFT JOIN first_welcome AS w USING (customer_id);
