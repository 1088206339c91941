-- touchpoint_effect_strata: one row per horizon (90, 180 days), stratum (acquisition cohort quarter x value
-- tier) and group (thanked / not_thanked): customers and how many were retained. The anchor is a customer's
-- second completed order; "thanked" = an appreciation touchpoint after it and no later than calendar day 30
-- after it; "retained at h" = a completed order on days 31 to 30 + h after it, that is in the h days after the
-- 30-day window (so an order that may have prompted the thanks counts for neither group). Days are calendar
-- days, as for the welcome window. Anchors before the period's end whose follow-up is not over by the data's
-- end (its last order date) are left out (and counted in the row 'left out: follow-up not over').
-- Orders throughout, whatever the activity param says: the thanks follow a purchase, and so does retention here.
CREATE OR REPLACE TABLE touchpoint_effect_strata AS
WITH completed AS NOT MATERIALIZED (
    SELECT customer_id, order_id, ordered_at, amount::DOUBLE AS amount
    FROM stg_orders WHERE list_contains($active_statuses, status)
),
data_end AS (SELECT max(ordered_at) AS last_order_at FROM stg_orders),
anchors AS (  -- customer_orders: each buyer's first two completed orders (ties in time broken by order_id)
    SELECT customer_id, second_order_at AS anchor_at, first_amount::DOUBLE AS revenue_before,
           date_trunc('quarter', first_order_at) AS cohort
    FROM customer_orders
    WHERE second_order_at < $period_end_exclusive
),
tiers AS (
    SELECT *, ntile(4) OVER (ORDER BY revenue_before, customer_id) AS value_tier FROM anchors
),
thanked AS (
    SELECT DISTINCT a.customer_id
    FROM anchors AS a
    JOIN touchpoint_categorised AS t ON t.customer_id = a.customer_id AND t.category = 'appreciation'
     AND t.occurred_at > a.anchor_at AND t.occurred_at::DATE <= a.anchor_at::DATE + 30
),
next_orders AS (  -- each anchor's first completed order day after its 30-day window: one pass for both horizons
    SELECT a.customer_id, min(c.ordered_at::DATE) AS next_day
    FROM anchors AS a
    JOIN completed AS c ON c.customer_id = a.customer_id AND c.ordered_at::DATE > a.anchor_at::DATE + 30
    GROUP BY a.customer_id
),
windows AS (
    SELECT t.*, h.horizon_days, th.customer_id IS NOT NULL AS is_thanked,
           t.anchor_at::DATE + 30 + h.horizon_days <= d.last_order_at::DATE AS complete
    FROM tiers AS t CROSS JOIN data_end AS d CROSS JOIN (VALUES (90), (180)) AS h(horizon_days)
    LEFT JOIN thanked AS th USING (customer_id)
),
outcomes AS (  -- retained at h: an order on days 31 to 30 + h, that is the first one after day 30 falls by then
    SELECT w.*, coalesce(n.next_day <= w.anchor_at::DATE + 30 + w.horizon_days, false) AS retained
    FROM windows AS w LEFT JOIN next_orders AS n USING (customer_id)
    WHERE w.complete
)
SELECT horizon_days,
       strftime(cohort, '%Y') || '-Q' || quarter(cohort) || ' / value tier ' || value_tier AS stratum,
       CASE WHEN is_thanked THEN 'thanked' ELSE 'not_thanked' END AS "group",
       count(*) AS customers, count(*) FILTER (WHERE retained) AS retained
FROM outcomes
GROUP BY ALL
UNION ALL
SELECT horizon_days, 'left out: follow-up not over', 'all', count(*) FILTER (WHERE NOT complete), 0
FROM windows GROUP BY horizon_days
ORDER BY horizon_days, stratum, "group";
