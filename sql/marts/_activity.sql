-- _activity: no mart of its own. Runs before _first_orders and every mart (file-name order): what makes a
-- customer active (param activity). orders: a completed order (status in active_statuses); events: a product
-- event, one of active_events (param_active_events; empty: any event); both: either. The one definition of
-- "active" for the cohort triangle, lifetimes, the period figures, the first orders (with events, a customer's
-- first activity) and the marts counting active customers. Revenue is never read from here: it stays with the
-- orders.
SELECT CASE WHEN $activity::VARCHAR NOT IN ('orders', 'events', 'both')
            THEN error('params: activity must be orders, events or both, not ' || $activity::VARCHAR)
            WHEN $activity::VARCHAR <> 'orders' AND NOT coalesce((SELECT bool_or(present) FROM export_files
                                                                 WHERE export = 'events'), false)
            THEN error('params: activity ' || $activity::VARCHAR || ' reads the events export, which was not given: '
                       || 'add it to the data folder or set activity: orders') END;

-- customer_activity: one row per completed order or counted event: customer_id, active_at (when), from_order
-- (true: an order; false: an event). Temporary: row-level, never read outside the build.
CREATE OR REPLACE TEMP TABLE customer_activity AS
SELECT customer_id, ordered_at AS active_at, true AS from_order
FROM stg_orders
WHERE $activity::VARCHAR IN ('orders', 'both') AND list_contains($active_statuses, status)
UNION ALL
SELECT customer_id, occurred_at, false
FROM stg_events
WHERE $activity::VARCHAR IN ('events', 'both')
  AND customer_id IS NOT NULL AND occurred_at IS NOT NULL
  AND (event IN (SELECT event FROM param_active_events) OR NOT EXISTS (SELECT 1 FROM param_active_events));

-- activity_span: one row: the first and last moment of the data activity is read from (orders of any status
-- with orders or both, every event with events or both; NULL when there is none). Its last moment ends the
-- follow-up of every "did they come back" window: a window is over only when it ends by then.
CREATE OR REPLACE TEMP TABLE activity_span AS
SELECT min(moment) AS first_at, max(moment) AS last_at
FROM (
    SELECT ordered_at AS moment FROM stg_orders WHERE $activity::VARCHAR IN ('orders', 'both')
    UNION ALL
    SELECT occurred_at FROM stg_events WHERE $activity::VARCHAR IN ('events', 'both')
);
