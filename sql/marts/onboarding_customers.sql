-- onboarding_customers: no mart of its own. Runs before the other onboarding_* marts (file-name order): two
-- temporary tables they share, read from one pass over the events. Day 0 is a customer's first completed order
-- (first_orders; with activity events or both, their first activity); "the first week" is [first_order_at,
-- first_order_at + window_days days).
-- first_week_events: one row per event a customer did in their first week (event names as written, case kept).
CREATE OR REPLACE TEMP TABLE first_week_events AS
SELECT e.customer_id, e.event, e.occurred_at, e.duration_seconds
FROM stg_events AS e
JOIN first_orders AS f USING (customer_id)
WHERE e.occurred_at >= f.first_order_at
  AND e.occurred_at < f.first_order_at + to_days($onboarding_window_days::INTEGER);

-- first_week_customers: one row per customer with a completed order (first_orders: an activity, with activity
-- events or both): first_order_at, how many of the key events
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

-- first_week_followup: one row per customer whose day 0 is before the period's end: first_day (its calendar
-- day), activated, first_amount (the amount of their first completed order, ties in time broken by order_id;
-- NULL for a customer who never ordered, possible with activity events), next_day (the day they were next active
-- after calendar day window_days, NULL when never: customer_activity, a completed order by default, a counted
-- event with activity events, either with both) and last_day (the day of the data's end, activity_span: the last
-- order of any status by default, the last event with activity events): a follow-up to day h is complete when
-- first_day + h <= last_day.
CREATE OR REPLACE TEMP TABLE first_week_followup AS
WITH starts AS (
    SELECT customer_id, first_order_at, activated FROM first_week_customers
    WHERE first_order_at < $period_end_exclusive
),
first_amounts AS (SELECT customer_id, first_amount::DOUBLE AS first_amount FROM customer_orders),
next_active AS (
    SELECT s.customer_id, min(a.active_at::DATE) AS next_day
    FROM starts AS s
    JOIN customer_activity AS a
      ON a.customer_id = s.customer_id
     AND a.active_at::DATE > s.first_order_at::DATE + $onboarding_window_days::INTEGER
    GROUP BY s.customer_id
)
SELECT s.customer_id, s.first_order_at::DATE AS first_day, s.activated, m.first_amount, n.next_day,
       (SELECT last_at::DATE FROM activity_span) AS last_day
FROM starts AS s
LEFT JOIN first_amounts AS m USING (customer_id)
LEFT JOIN next_active AS n USING (customer_id);
