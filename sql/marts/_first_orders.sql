-- _first_orders: no mart of its own. Runs before the marts (file-name order): one row per customer with a
-- completed order (status in active_statuses), the time of the first one. Temporary; one definition of "a
-- customer's first order" for the marts that compare it with a period or a welcome, read from one pass.
CREATE OR REPLACE TEMP TABLE first_orders AS
SELECT customer_id, min(ordered_at) AS first_order_at
FROM stg_orders
WHERE list_contains($active_statuses, status)
GROUP BY customer_id;
