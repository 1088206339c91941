-- onboarding_funnel: one row per key event (step, in funnel order) for the period's new customers (first
-- completed order in [period_start, period_end_exclusive)): customers who reached the step in their first
-- week, that is did key events 1..step in order (step 1 at or after the first order, each later step's first
-- occurrence strictly after the previous step's), out of new_customers.
CREATE OR REPLACE TABLE onboarding_funnel AS
WITH RECURSIVE new_customers AS (
    SELECT customer_id, first_order_at FROM first_week_customers
    WHERE first_order_at >= $period_start AND first_order_at < $period_end_exclusive
),
-- A step is reached at its key event's first occurrence after the step before it: the occurrence whose previous
-- one (of the same event) is not after that. Found by a join, so the recursion holds no aggregate (Spark runs none).
occurrences AS (
    SELECT w.customer_id, k.step, w.occurred_at,
           lag(w.occurred_at) OVER (PARTITION BY w.customer_id, k.step ORDER BY w.occurred_at) AS previous_at
    FROM (SELECT DISTINCT customer_id, event, occurred_at FROM first_week_events) AS w
    JOIN param_key_events AS k USING (event)
    WHERE w.customer_id IN (SELECT customer_id FROM new_customers)
),
reached(customer_id, step, reached_at) AS (
    SELECT customer_id, 0, first_order_at FROM new_customers
    UNION ALL
    SELECT r.customer_id, o.step, o.occurred_at
    FROM reached AS r
    JOIN occurrences AS o ON o.customer_id = r.customer_id AND o.step = r.step + 1
     AND CASE WHEN r.step = 0
              THEN o.occurred_at >= r.reached_at AND (o.previous_at IS NULL OR o.previous_at < r.reached_at)
              ELSE o.occurred_at > r.reached_at AND (o.previous_at IS NULL OR o.previous_at <= r.reached_at) END
),
counts AS (SELECT step, count(*) AS customers FROM reached WHERE step > 0 GROUP BY step)
SELECT k.step, k.event, coalesce(c.customers, 0) AS customers, (SELECT count(*) FROM new_customers) AS new_customers
FROM param_key_events AS k
LEFT JOIN counts AS c USING (step)
ORDER BY k.step;
