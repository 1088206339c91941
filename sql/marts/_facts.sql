-- _facts: the warehouse's two compact fact tables, which the marts share and analysts query (`make lab`), and a
-- temporary one of the buyers (customer_orders). Runs after _activity and before _first_orders and every mart
-- (file-name order); written from one pass each over the activity (customer_activity: the report's one definition
-- of "active") and the completed orders (status in active_statuses), so the marts that need a customer's months,
-- start or first orders read these, not every order again.

-- customer_orders: one row per customer with a completed order (status in active_statuses), whatever the
-- activity param says, over all the data: first_order_at, first_amount (that order's amount, ties in time broken
-- by order_id), second_order_at (their second completed order's time, the first's when two share it; NULL with
-- one), last_order_at, completed_orders and revenue (reporting currency). One pass over the orders for every mart
-- that asks a buyer's first orders. Temporary.
CREATE OR REPLACE TEMP TABLE customer_orders AS
SELECT customer_id, min(ordered_at) AS first_order_at, arg_min(amount, (ordered_at, order_id)) AS first_amount,
       min(ordered_at, 2)[2] AS second_order_at, max(ordered_at) AS last_order_at, count(*) AS completed_orders,
       sum(amount) AS revenue
FROM stg_orders
WHERE list_contains($active_statuses, status)
GROUP BY customer_id;

-- customer_facts: one row per customer ever active: first_active_at and last_active_at (their first and last
-- activity in the data, after the period's end too: a customer's start does not depend on the period built),
-- completed_orders and revenue (reporting currency) over the same span.
CREATE OR REPLACE TABLE customer_facts AS
WITH activity AS (
    SELECT customer_id, min(active_at) AS first_active_at, max(active_at) AS last_active_at
    FROM customer_activity
    GROUP BY customer_id
)
SELECT a.customer_id, a.first_active_at, a.last_active_at, coalesce(o.completed_orders, 0) AS completed_orders,
       coalesce(o.revenue, 0) AS revenue
FROM activity AS a LEFT JOIN customer_orders AS o USING (customer_id)
ORDER BY a.customer_id;

-- customer_months: one row per customer and calendar month up to the period's end in which they were active or
-- placed a completed order: active (customer_activity), completed_orders and revenue (reporting currency; zero in
-- a month they were active without buying, as with activity events).
CREATE OR REPLACE TABLE customer_months AS
WITH active AS (
    SELECT DISTINCT customer_id, date_trunc('month', active_at)::DATE AS month
    FROM customer_activity
    WHERE active_at < $period_end_exclusive
),
bought AS (
    SELECT customer_id, date_trunc('month', ordered_at)::DATE AS month, count(*) AS completed_orders,
           sum(amount) AS revenue  -- exact decimals: sums in any order agree
    FROM stg_orders
    WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive
    GROUP BY ALL
)
SELECT customer_id, month, a.customer_id IS NOT NULL AS active, coalesce(b.completed_orders, 0) AS completed_orders,
       coalesce(b.revenue, 0) AS revenue
FROM active AS a FULL JOIN bought AS b USING (customer_id, month)
ORDER BY customer_id, month;
