-- lifetime_by_customer: one row per customer with a completed order early enough to be judged (row-level
-- helper for lifetime_counts). Lifetime = days from the first completed order to the last one before the
-- first silence of more than churn_after_days (with activity events or both: from the first activity to the
-- last before such a silence, customer_activity). Churned when that silence is fully inside the data; otherwise
-- right-censored at (last observed day - churn_after_days - first order day), the longest lifetime the data
-- could have confirmed as ended. Customers whose first order is less than churn_after_days before the end
-- of the data cannot be judged yet and are left out.
CREATE OR REPLACE TABLE lifetime_by_customer AS
WITH bounds AS (
    SELECT observed_until - 1 AS last_day FROM cohort_bounds
),
order_days AS (  -- not made distinct: a second order on the same day is a gap of 0 days, never a lapse
    SELECT customer_id, active_at::DATE AS order_day
    FROM customer_activity
    WHERE active_at < (SELECT observed_until FROM cohort_bounds)
),
gaps AS (
    SELECT
        customer_id,
        order_day,
        min(order_day) OVER (PARTITION BY customer_id) AS first_day,
        lead(order_day) OVER (PARTITION BY customer_id ORDER BY order_day) AS next_day
    FROM order_days
),
lapses AS (
    -- the first order after which nobody heard from the customer for more than churn_after_days days,
    -- counted only when those days are all inside the data
    SELECT
        g.customer_id,
        any_value(g.first_day) AS first_day,
        min(g.order_day) FILTER (
            WHERE g.order_day + $churn_after_days::INTEGER <= b.last_day
              AND (g.next_day IS NULL OR date_diff('day', g.order_day, g.next_day) > $churn_after_days::INTEGER)
        ) AS lapse_day,
        any_value(b.last_day) AS last_day
    FROM gaps AS g, bounds AS b
    GROUP BY g.customer_id
)
SELECT
    customer_id,
    first_day,
    lapse_day,
    lapse_day IS NOT NULL AS churned,
    CASE WHEN lapse_day IS NOT NULL THEN date_diff('day', first_day, lapse_day)
         ELSE date_diff('day', first_day, last_day) - $churn_after_days::INTEGER END AS lifetime_days
FROM lapses
WHERE date_diff('day', first_day, last_day) >= $churn_after_days::INTEGER;
