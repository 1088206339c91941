-- welcome_coverage: one row per segment (segment_column 'all' for everyone) of the period's new customers
-- (first completed order in the period): how many got a welcome 0 to `welcome_within_days` calendar days after
-- it, and the median days to the first welcome of those welcomed at all. A welcome before the first order does
-- not count: it welcomed a sign-up, not a customer. Rows with segment_column 'welcome_channel' break the
-- welcomed down by the channel of their first welcome: there `customers` is every new customer (so the
-- channels' shares add up to the 'all' share) and `covered` those first welcomed through that channel in time.
CREATE OR REPLACE TABLE welcome_coverage AS
WITH new_customers AS (
    SELECT * FROM first_orders
    WHERE first_order_at >= $period_start AND first_order_at < $period_end_exclusive
),
first_welcome AS (
    SELECT n.customer_id,
           min(date_diff('day', n.first_order_at::DATE, t.occurred_at::DATE)) AS days_to_welcome,
           coalesce(arg_min(t.channel, (t.occurred_at, t.touchpoint_id)), '(blank)') AS channel
    FROM new_customers AS n
    JOIN stg_touchpoints AS t
      ON t.customer_id = n.customer_id
     AND list_contains($welcome_kinds, t.kind)
     AND t.occurred_at::DATE >= n.first_order_at::DATE
    GROUP BY n.customer_id
),
by_segment AS (
    SELECT
        s.segment_column,
        s.segment,
        count(*) AS customers,
        count(*) FILTER (WHERE w.days_to_welcome <= $welcome_within_days) AS covered,
        median(w.days_to_welcome) AS median_days_to_welcome
    FROM new_customers AS n
    JOIN cohort_segments AS s USING (customer_id)
    LEFT JOIN first_welcome AS w USING (customer_id)
    GROUP BY s.segment_column, s.segment
),
by_channel AS (
    SELECT 'welcome_channel' AS segment_column, w.channel AS segment,
           (SELECT count(*) FROM new_customers) AS customers,
           count(*) FILTER (WHERE w.days_to_welcome <= $welcome_within_days) AS covered,
           median(w.days_to_welcome) AS median_days_to_welcome
    FROM first_welcome AS w
    GROUP BY w.channel
)
SELECT * FROM by_segment
UNION ALL
SELECT * FROM by_channel
ORDER BY segment_column = 'all' DESC, segment_column = 'welcome_channel' DESC, segment_column, segment;

-- welcome_trend: one row per month of the 24 months ending with the period: new customers and how many were
-- welcomed within the window.
CREATE OR REPLACE TABLE welcome_trend AS
WITH welcomed AS (
    SELECT f.customer_id
    FROM first_orders AS f
    JOIN stg_touchpoints AS t ON t.customer_id = f.customer_id AND list_contains($welcome_kinds, t.kind)
     AND date_diff('day', f.first_order_at::DATE, t.occurred_at::DATE) BETWEEN 0 AND $welcome_within_days
    GROUP BY f.customer_id
),
months AS (
    SELECT (date_trunc('month', $period_start::DATE) + to_months($period_months::INTEGER - 24 + i))::DATE AS month
    FROM range(0, 24) AS r(i)
)
SELECT strftime(m.month, '%Y-%m') AS month, count(f.customer_id) AS customers, count(w.customer_id) AS covered
FROM months AS m
LEFT JOIN first_orders AS f ON date_trunc('month', f.first_order_at)::DATE = m.month
LEFT JOIN welcomed AS w USING (customer_id)
GROUP BY m.month
ORDER BY m.month;
