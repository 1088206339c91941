-- onboarding_monthly: one row per month of first completed orders (the 24 months ending with the period) and
-- key event (key_step, funnel order; one row with key_step NULL per month when no key event is configured):
-- new_customers (first completed order that month), activated (did every key event in their first week) and
-- did_key_event (did this one in their first week).
CREATE OR REPLACE TABLE onboarding_monthly AS
WITH months AS (
    SELECT (date_trunc('month', $period_start::DATE) + to_months($period_months::INTEGER - 24 + i))::DATE AS month
    FROM range(0, 24) AS r(i)
),
per_month AS (
    SELECT m.month, count(c.customer_id) AS new_customers, count(*) FILTER (WHERE c.activated) AS activated
    FROM months AS m
    LEFT JOIN first_week_customers AS c ON date_trunc('month', c.first_order_at)::DATE = m.month
    GROUP BY m.month
),
did AS (
    SELECT date_trunc('month', c.first_order_at)::DATE AS month, k.step, count(DISTINCT w.customer_id) AS customers
    FROM first_week_events AS w
    JOIN param_key_events AS k ON k.event = w.event
    JOIN first_week_customers AS c USING (customer_id)
    GROUP BY ALL
)
SELECT strftime(p.month, '%Y-%m') AS month, p.new_customers, p.activated,
       k.step AS key_step, k.event AS key_event, coalesce(d.customers, 0) AS did_key_event
FROM per_month AS p
LEFT JOIN param_key_events AS k ON true
LEFT JOIN did AS d ON d.month = p.month AND d.step = k.step
ORDER BY p.month, k.step;

-- onboarding_week_time: one row per month of first completed orders (the same 24 months): new_customers,
-- customers_with_time (whose first-week events carry any duration_seconds), and the median and 75th percentile
-- of those customers' seconds in the product in their first week (NULL when no one has a duration).
CREATE OR REPLACE TABLE onboarding_week_time AS
WITH months AS (
    SELECT (date_trunc('month', $period_start::DATE) + to_months($period_months::INTEGER - 24 + i))::DATE AS month
    FROM range(0, 24) AS r(i)
)
SELECT strftime(m.month, '%Y-%m') AS month, count(c.customer_id) AS new_customers,
       count(c.seconds) AS customers_with_time,
       quantile_cont(c.seconds, 0.5) AS median_seconds,
       quantile_cont(c.seconds, 0.75) AS p75_seconds
FROM months AS m
LEFT JOIN first_week_customers AS c ON date_trunc('month', c.first_order_at)::DATE = m.month
GROUP BY m.month
ORDER BY m.month;
