-- _activity: no mart of its own. Runs after _01_subscription_periods and before _first_orders and every mart
-- (file-name order): what makes a customer active (param activity: orders, events, subscriptions, both, or a list
-- of orders, events and subscriptions, e.g. [orders, subscriptions]). orders: a completed order (status in
-- active_statuses); events: a product event, one of active_events (param_active_events; empty: any event);
-- subscriptions: a month in which a subscription of theirs is paid at some moment (subscription_periods: from
-- paid_from to valid_to, an MRR above zero); both: the orders and every other activity export given (events
-- and/or subscriptions). The one definition of "active" for the cohort triangle, lifetimes, the period figures,
-- the first orders (with events or subscriptions, a customer's first activity) and the marts counting active
-- customers. Revenue is never read from here: it stays with the orders.

-- activity_sources: one row per export that makes a customer active (source: orders | events | subscriptions),
-- from param activity ($activity is a word or a list; a list is read as written, '[orders, subscriptions]').
-- A word not known, both inside a list, or an export named that was not given stops the build with one line.
CREATE OR REPLACE TEMP TABLE activity_named AS
SELECT DISTINCT lower(trim(trim(word), '''"')) AS source
FROM (SELECT unnest(string_split(trim($activity::VARCHAR, '[] '), ',')) AS word);

SELECT CASE WHEN EXISTS (SELECT 1 FROM activity_named
                         WHERE source NOT IN ('orders', 'events', 'subscriptions', 'both'))
              OR ((SELECT count(*) FROM activity_named) > 1
                  AND EXISTS (SELECT 1 FROM activity_named WHERE source = 'both'))
              OR NOT EXISTS (SELECT 1 FROM activity_named)
            THEN error('params: activity must be orders, events, subscriptions or both, or a list of orders, events '
                       || 'and subscriptions such as [orders, subscriptions], not ' || $activity::VARCHAR)
            WHEN EXISTS (SELECT 1 FROM activity_named WHERE source = 'both')
                 AND NOT coalesce((SELECT bool_or(present) FROM export_files
                                   WHERE export IN ('events', 'subscriptions')), false)
            THEN error('params: activity both reads the events export or the subscriptions export (the orders and '
                       || 'every other activity export given), and neither was given: add one to the data folder or '
                       || 'set activity: orders')
            WHEN EXISTS (SELECT 1 FROM activity_named AS n
                         WHERE n.source IN ('events', 'subscriptions')
                           AND NOT coalesce((SELECT bool_or(present) FROM export_files
                                             WHERE export = n.source), false))
            THEN error('params: activity ' || $activity::VARCHAR || ' reads the '
                       || (SELECT string_agg(n.source, ' and ' ORDER BY n.source) FROM activity_named AS n
                           WHERE n.source IN ('events', 'subscriptions')
                             AND NOT coalesce((SELECT bool_or(present) FROM export_files
                                               WHERE export = n.source), false))
                       || ' export, which was not given: add it to the data folder or set activity: orders') END;

CREATE OR REPLACE TEMP TABLE activity_sources AS
SELECT source FROM activity_named WHERE source <> 'both'
UNION
SELECT 'orders' FROM activity_named WHERE source = 'both'
UNION
SELECT f.export FROM export_files AS f, activity_named AS n
WHERE n.source = 'both' AND f.export IN ('events', 'subscriptions') AND f.present;

-- customer_activity: one row per completed order, counted event or month paid by a subscription: customer_id,
-- active_at (when: a subscription's month at its first paid moment, the later of paid_from and the month's first
-- day), from_order (true: an order; false: an event or a subscription). Months paid run from paid_from's to the
-- month of the stretch's last moment (valid_to is exclusive: a stretch ending at midnight on the 1st paid the month
-- before), at most to the data's last moment (subscription_span.last_at: a scheduled end beyond it is not yet
-- seen). Temporary: row-level, never read outside the build.
CREATE OR REPLACE TEMP TABLE customer_activity AS
SELECT customer_id, ordered_at AS active_at, true AS from_order
FROM stg_orders
WHERE 'orders' IN (SELECT source FROM activity_sources) AND list_contains($active_statuses, status)
UNION ALL
SELECT customer_id, occurred_at, false
FROM stg_events
WHERE 'events' IN (SELECT source FROM activity_sources)
  AND customer_id IS NOT NULL AND occurred_at IS NOT NULL
  AND (event IN (SELECT event FROM param_active_events) OR NOT EXISTS (SELECT 1 FROM param_active_events))
UNION ALL
SELECT customer_id, greatest(paid_from, month) AS active_at, false
FROM (
    SELECT p.customer_id, p.paid_from,
           unnest(generate_series(date_trunc('month', p.paid_from),
                                  date_trunc('month', least(coalesce(p.valid_to - INTERVAL 1 MICROSECOND, s.last_at),
                                                            s.last_at)),
                                  INTERVAL 1 MONTH)) AS month
    FROM subscription_periods AS p CROSS JOIN subscription_span AS s
    WHERE 'subscriptions' IN (SELECT source FROM activity_sources)
      AND p.customer_id IS NOT NULL AND p.paid_from IS NOT NULL AND p.mrr > 0 AND p.paid_from <= s.last_at
);

-- activity_span: one row: the first and last moment of the data activity is read from (orders of any status
-- with orders, every event with events, with subscriptions the first paid moment and the subscription data's last
-- moment, subscription_span.last_at; NULL when there is none). Its last moment ends the follow-up of every "did
-- they come back" window: a window is over only when it ends by then.
CREATE OR REPLACE TEMP TABLE activity_span AS
SELECT min(moment) AS first_at, max(moment) AS last_at
FROM (
    SELECT ordered_at AS moment FROM stg_orders WHERE 'orders' IN (SELECT source FROM activity_sources)
    UNION ALL
    SELECT occurred_at FROM stg_events WHERE 'events' IN (SELECT source FROM activity_sources)
    UNION ALL
    SELECT min(paid_from) FROM subscription_periods
    WHERE 'subscriptions' IN (SELECT source FROM activity_sources) AND paid_from IS NOT NULL AND mrr > 0
    UNION ALL
    SELECT last_at FROM subscription_span
    WHERE 'subscriptions' IN (SELECT source FROM activity_sources)
      AND EXISTS (SELECT 1 FROM subscription_periods WHERE paid_from IS NOT NULL AND mrr > 0)
);
