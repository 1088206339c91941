-- revenue_concentration: one row per comparison period and percentile of buying customers (0-100), ranked from
-- the smallest to the largest spender in that period: their cumulative share of the period's revenue (Lorenz).
CREATE OR REPLACE TABLE revenue_concentration AS
WITH roles AS (SELECT * FROM period_roles),
spend AS (  -- each buyer's revenue in the period, as the period figures count it (period_kpis.sql)
    SELECT period_role, customer_id, revenue_in_period AS revenue
    FROM period_customers
    WHERE orders_in_period > 0
),
ranked AS (
    SELECT period_role, revenue,
           row_number() OVER (PARTITION BY period_role ORDER BY revenue, customer_id) AS spend_rank,
           count(*) OVER (PARTITION BY period_role) AS buyers,
           sum(revenue) OVER (PARTITION BY period_role ORDER BY revenue, customer_id) AS cumulative_revenue,
           sum(revenue) OVER (PARTITION BY period_role) AS total_revenue
    FROM spend
),
points AS (
    SELECT r.period_role, p.percentile, floor(p.percentile * k.buyers / 100)::BIGINT AS customers_below
    FROM roles AS r,
         range(0, 101) AS p(percentile),
         (SELECT period_role, any_value(buyers) AS buyers FROM ranked GROUP BY period_role) AS k
    WHERE k.period_role = r.period_role
)
SELECT
    p.period_role,
    p.percentile / 100 AS customer_share,
    coalesce(x.cumulative_revenue / x.total_revenue, 0) AS revenue_share,
    p.customers_below AS customers
FROM points AS p
LEFT JOIN ranked AS x ON x.period_role = p.period_role AND x.spend_rank = p.customers_below
ORDER BY p.period_role, customer_share;
