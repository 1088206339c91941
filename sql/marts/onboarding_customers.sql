-- onboarding_customers: no mart of its own. Runs before the other onboarding_* marts (file-name order): two
-- temporary tables they share, read from one pass over the events. Day 0 is a customer's first completed order
-- (first_orders); "the first week" is [first_order_at, first_order_at + window_days days).
-- first_week_events: one row per event a customer did in their first week (event names as written, case kept).
CREATE OR REPLACE TEMP TABLE first_week_events AS
SELECT e.customer_id, e.event, e.occurred_at, e.duration_seconds
FROM stg_events AS e
JOIN first_orders AS f USING (customer_id)
WHERE e.occurred_at >= f.first_order_at
  AND e.occurred_at < f.first_order_at + to_days($onboarding_window_days::INTEGER);

-- first_week_customers: one row per customer with a completed order: first_order_at, how many of the key events
-- (param_key_events, matched exactly) they did in the first week, activated (all of them; false when no key
-- event is configured), and their seconds in the product that week (sum of duration_seconds; NULL when none of
-- their first-week events carries a duration).
CREATE OR REPLACE TEMP TABLE first_week_customers AS
WITH keys AS (SELECT count(*) AS n FROM param_key_events),
per_customer AS (
    SELECT w.customer_id,
           count(DISTINCT k.event) AS key_events_done,
           sum(w.duration_seconds) AS seconds
    FROM first_week_events AS w
    LEFT JOIN param_key_events AS k ON k.event = w.event
    GROUP BY w.customer_id
)
SELECT f.customer_id, f.first_order_at,
       coalesce(p.key_events_done, 0) AS key_events_done,
       keys.n > 0 AND coalesce(p.key_events_done, 0) = keys.n AS activated,
       p.seconds
FROM first_orders AS f
CROSS JOIN keys
LEFT JOIN per_customer AS p USING (customer_id);

-- first_week_followup: one row per customer whose first completed order is before the period's end: first_day
-- (its calendar day), activated, first_amount (that order's amount; ties in time broken by order_id), next_day
-- (the day of their first completed order after calendar day window_days, NULL when none) and last_day (the
-- day of the data's last order of any status: a follow-up to day h is complete when first_day + h <= last_day).
CREATE OR REPLACE TEMP TABLE first_week_followup AS
WITH completed AS NOT MATERIALIZED (
    SELECT customer_id, order_id, ordered_at, amount::DOUBLE AS amount
    FROM stg_orders WHERE list_contains($active_statuses, status)
)
SELECT c.customer_id,
       any_value(f.first_order_at)::DATE AS first_day,
       any_value(f.activated) AS activated,
       arg_min(c.amount, c.order_id) FILTER (WHERE c.ordered_at = f.first_order_at) AS first_amount,
       min(c.ordered_at::DATE) FILTER (
           WHERE c.ordered_at::DATE > f.first_order_at::DATE + $onboarding_window_days::INTEGER) AS next_day,
       (SELECT max(ordered_at)::DATE FROM stg_orders) AS last_day
FROM completed AS c
JOIN first_week_customers AS f USING (customer_id)
WHERE f.first_order_at < $period_end_exclusive
GROUP BY c.customer_id;
