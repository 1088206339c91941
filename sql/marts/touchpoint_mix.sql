-- touchpoint_mix: one row per month (24 months ending with the period) and category: touchpoints sent and the
-- customers active (a completed order) in the 12 months to that month's end, to put them per active customer.
CREATE OR REPLACE TABLE touchpoint_mix AS
WITH months AS (
    SELECT (date_trunc('month', $period_start::DATE) + to_months($period_months::INTEGER - 24 + i))::DATE AS month
    FROM range(0, 24) AS r(i)
),
categories AS (
    SELECT DISTINCT category FROM param_touchpoint_categories UNION SELECT 'uncategorised'
),
sent AS (
    SELECT date_trunc('month', occurred_at)::DATE AS month, category, count(*) AS touchpoints
    FROM touchpoint_categorised GROUP BY ALL
),
completed AS (
    SELECT DISTINCT customer_id, date_trunc('month', ordered_at)::DATE AS month
    FROM stg_orders WHERE list_contains($active_statuses, status)
),
active AS (
    SELECT m.month, count(DISTINCT c.customer_id) AS active_customers
    FROM months AS m
    LEFT JOIN completed AS c ON c.month > m.month - INTERVAL 12 MONTH AND c.month <= m.month
    GROUP BY m.month
)
SELECT strftime(m.month, '%Y-%m') AS month, k.category, coalesce(s.touchpoints, 0) AS touchpoints,
       a.active_customers
FROM months AS m
CROSS JOIN categories AS k
LEFT JOIN sent AS s ON s.month = m.month AND s.category = k.category
JOIN active AS a ON a.month = m.month
ORDER BY m.month, k.category;
