-- order_refunds: one row per comparison period (period_role): its orders of any status, how many were refunded
-- or cancelled (neither activity nor revenue), their share of the orders (the refund rate) and their amount as
-- an absolute sum (a cancellation may be an invoice of its own with a negative amount, a refund the order's own
-- positive amount: both are money that did not stay).
CREATE OR REPLACE TABLE order_refunds AS
SELECT
    r.period_role,
    count(o.order_id) AS orders,
    count(o.order_id) FILTER (WHERE o.status = 'refunded') AS refunded_orders,
    count(o.order_id) FILTER (WHERE o.status = 'cancelled') AS cancelled_orders,
    count(o.order_id) FILTER (WHERE o.status IN ('refunded', 'cancelled')) / nullif(count(o.order_id), 0) AS refund_rate,
    coalesce(sum(abs(o.amount)) FILTER (WHERE o.status IN ('refunded', 'cancelled')), 0)::DECIMAL(18, 2)
        AS refunded_amount
FROM period_roles AS r
LEFT JOIN stg_orders AS o ON o.ordered_at >= r.starts AND o.ordered_at < r.ends
GROUP BY r.period_role
ORDER BY r.period_role = 'current' DESC, r.period_role = 'previous' DESC;
