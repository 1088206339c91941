-- touchpoint_mix: one row per month (24 months ending with the period) and category: touchpoints sent and the
-- customers active (a completed order; with activity events or both, customer_activity) in the 12 months to that month's end, to put them per active customer.
CREATE OR REPLACE TABLE touchpoint_mix AS
WITH months AS (
    SELECT i, (date_trunc('month', $period_start::DATE) + to_months($period_months::INTEGER - 24 + i))::DATE AS month
    FROM range(0, 24) AS r(i)
),
categories AS (
    SELECT DISTINCT category FROM param_touchpoint_categories UNION SELECT 'uncategorised'
),
sent AS (
    SELECT date_trunc('month', occurred_at)::DATE AS month, category, count(*) AS touchpoints
    FROM touchpoint_categorised GROUP BY ALL
),
-- Each customer's months with a completed order as bits: bit k is the k-th month from 11 months before the
-- first of the 24 (35 months in all). Active in month i = any of bits i to i + 11. One pass over the orders
-- and one row per customer, where counting distinct customers per month over a range join cost 24 passes.
bounds AS (SELECT min(month) - INTERVAL 11 MONTH AS first_month, max(month) AS last_month FROM months),
months_ordered AS (
    SELECT o.customer_id,
           bit_or(1::BIGINT << date_diff('month', b.first_month, date_trunc('month', o.active_at))::BIGINT) AS bits
    FROM customer_activity AS o, bounds AS b
    WHERE o.active_at >= b.first_month AND o.active_at < b.last_month + INTERVAL 1 MONTH
    GROUP BY o.customer_id
),
active AS (
    SELECT m.month, count(c.customer_id) FILTER (WHERE c.bits & (4095::BIGINT << m.i) <> 0) AS active_customers
    FROM months AS m, months_ordered AS c
    GROUP BY m.month
)
SELECT strftime(m.month, '%Y-%m') AS month, k.category, coalesce(s.touchpoints, 0) AS touchpoints,
       coalesce(a.active_customers, 0) AS active_customers
FROM months AS m
CROSS JOIN categories AS k
LEFT JOIN sent AS s ON s.month = m.month AND s.category = k.category
LEFT JOIN active AS a ON a.month = m.month
ORDER BY m.month, k.category;
