-- touchpoint_loyal_candidates: one row per customer in the top 20% by revenue up to the period's end, with at
-- least a year since the first completed order and no appreciation touchpoint in the 12 months to the period's
-- end. Holds contact details: only the call list (private) and per-segment counts are made from it.
CREATE OR REPLACE TABLE touchpoint_loyal_candidates AS
WITH revenue AS (
    SELECT customer_id, sum(amount::DOUBLE) AS revenue, min(ordered_at) AS first_order_at
    FROM stg_orders
    WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive
    GROUP BY customer_id
),
ranked AS (
    SELECT *, percent_rank() OVER (ORDER BY revenue DESC) AS revenue_rank FROM revenue
),
last_touch AS (
    SELECT customer_id, max(occurred_at) AS last_touch_at,
           max(occurred_at) FILTER (WHERE category = 'appreciation') AS last_appreciation_at
    FROM touchpoint_categorised WHERE occurred_at < $period_end_exclusive GROUP BY customer_id
)
SELECT r.customer_id, c.name, c.email, c.phone, round(r.revenue, 2) AS revenue,
       date_diff('day', r.first_order_at::DATE, $period_end::DATE) AS tenure_days,
       l.last_touch_at::DATE AS last_touch, l.last_appreciation_at::DATE AS last_appreciation,
       'top 20% by revenue, ' || (date_diff('day', r.first_order_at::DATE, $period_end::DATE) // 365)
           || '+ years a customer, not appreciated in 12 months' AS why_chosen
FROM ranked AS r
JOIN stg_customers AS c USING (customer_id)
LEFT JOIN last_touch AS l USING (customer_id)
WHERE r.revenue_rank < 0.2
  AND date_diff('day', r.first_order_at::DATE, $period_end::DATE) >= 365  -- the tenure_days shown
  AND (l.last_appreciation_at IS NULL OR l.last_appreciation_at < $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH);

-- touchpoint_loyal_unthanked: one row per segment: how many such loyal, unthanked customers it holds.
CREATE OR REPLACE TABLE touchpoint_loyal_unthanked AS
SELECT s.segment_column, s.segment, count(*) AS customers
FROM touchpoint_loyal_candidates JOIN cohort_segments AS s USING (customer_id)
GROUP BY s.segment_column, s.segment
ORDER BY segment_column = 'all' DESC, segment_column, segment;

-- touchpoint_call_list: the most valuable loyal, unthanked customers, cut to calls_per_week times the weeks
-- in the period. Private: written only to the private folder.
CREATE OR REPLACE TABLE touchpoint_call_list AS
SELECT name, email, phone, revenue AS value, tenure_days, last_touch, last_appreciation, why_chosen
FROM touchpoint_loyal_candidates
QUALIFY row_number() OVER (ORDER BY revenue DESC, customer_id)
    <= $calls_per_week * ceil(date_diff('day', $period_start::DATE, $period_end_exclusive::DATE) / 7)
ORDER BY value DESC;
