-- _first_orders: no mart of its own. Runs before the marts (file-name order), after _activity: one row per
-- customer ever active (customer_activity: with activity orders, a completed order, status in active_statuses),
-- the time of their first activity, first_order_at: with the default activity (orders) their first completed
-- order; with events, their first counted event; with both, whichever came first (customer_facts' first_active_at).
-- The cohort anchor: one definition of "a customer's start" for the marts that compare it with a period, a welcome
-- or a first week. Temporary.
CREATE OR REPLACE TEMP TABLE first_orders AS
SELECT customer_id, first_active_at AS first_order_at
FROM customer_facts;
