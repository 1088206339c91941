-- onboarding_funnel: one row per key event (step, in funnel order) for the period's new customers (first
-- completed order in [period_start, period_end_exclusive)): customers who reached the step in their first
-- week, that is did key events 1..step in order (step 1 at or after the first order, each later step's first
-- occurrence strictly after the previous step's), out of new_customers.
CREATE OR REPLACE TABLE onboarding_funnel AS
WITH RECURSIVE new_customers AS (
    SELECT customer_id, first_order_at FROM first_week_customers
    WHERE first_order_at >= $period_start AND first_order_at < $period_end_exclusive
),
reached(customer_id, step, reached_at) AS (
    SELECT customer_id, 0, first_order_at FROM new_customers
    UNION ALL
    SELECT r.customer_id, k.step, min(w.occurred_at)
    FROM reached AS r
    JOIN param_key_events AS k ON k.step = r.step + 1
    JOIN first_week_events AS w ON w.customer_id = r.customer_id AND w.event = k.event
     AND (w.occurred_at > r.reached_at OR (r.step = 0 AND w.occurred_at = r.reached_at))
    GROUP BY r.customer_id, k.step
),
counts AS (SELECT step, count(*) AS customers FROM reached WHERE step > 0 GROUP BY step)
SELECT k.step, k.event, coalesce(c.customers, 0) AS customers, (SELECT count(*) FROM new_customers) AS new_customers
FROM param_key_events AS k
LEFT JOIN counts AS c USING (step)
ORDER BY k.step;
