-- period_kpis.sql: the period figures (period_kpis) and the terms of net revenue retention's interval
-- (revenue_retention_terms), both from one row per period and customer (period_customers).
-- period_customers: one row per comparison period and customer with a completed order or an activity in its
-- window: the flags and revenues every figure below is made of. Active (at_start, at_end) and new read the
-- activity (customer_activity, first_orders: completed orders by default, events with activity events or
-- both); orders and revenue read the completed orders. Temporary: row-level, read by period_kpis and
-- revenue_retention_terms only.
CREATE OR REPLACE TEMP TABLE period_customers AS
WITH roles AS (SELECT * FROM period_roles),
observed AS (
    SELECT r.period_role, r.starts, least(r.ends, b.observed_until::TIMESTAMP) AS ends
    FROM roles AS r, cohort_bounds AS b
),
completed AS (
    -- the completed orders (is_order), active when orders make a customer active (activity orders or both), and
    -- the events that do (activity events or both): one pass over both
    SELECT customer_id, ordered_at, amount::DOUBLE AS amount, true AS is_order,
           'orders' IN (SELECT source FROM activity_sources) AS is_active
    FROM stg_orders
    WHERE list_contains($active_statuses, status)
    UNION ALL
    SELECT customer_id, active_at, NULL, false, true FROM customer_activity WHERE NOT from_order
),
per_customer AS (
    SELECT
        r.period_role,
        c.customer_id,
        coalesce(bool_or(c.ordered_at >= r.starts - to_days($churn_after_days::INTEGER) AND c.ordered_at < r.starts)
                     FILTER (WHERE c.is_active), false) AS at_start,
        coalesce(bool_or(c.ordered_at >= r.ends - to_days($churn_after_days::INTEGER)) FILTER (WHERE c.is_active),
                 false) AS at_end,
        count(*) FILTER (WHERE c.is_order AND c.ordered_at >= r.starts) AS orders_in_period,
        coalesce(sum(c.amount) FILTER (WHERE c.ordered_at >= r.starts), 0) AS revenue_in_period,
        coalesce(sum(c.amount) FILTER (WHERE c.ordered_at >= r.starts - to_months($period_months::INTEGER)
                                         AND c.ordered_at < r.starts), 0) AS revenue_before,
        coalesce(bool_or(c.ordered_at >= r.starts - to_months($period_months::INTEGER) AND c.ordered_at < r.starts)
                     FILTER (WHERE c.is_order), false) AS bought_before,
        coalesce(any_value(f.first_order_at >= r.starts AND f.first_order_at < r.ends), false) AS is_new
    FROM observed AS r
    JOIN completed AS c
      ON c.ordered_at >= least(r.starts - to_days($churn_after_days::INTEGER), r.starts - to_months($period_months::INTEGER))
     AND c.ordered_at < r.ends
    LEFT JOIN first_orders AS f USING (customer_id)
    GROUP BY ALL
)
SELECT * FROM per_customer;

-- period_kpis: one row per period figure (metric): its value for the period, the previous period and the same
-- period a year earlier, and the changes. "Active at a date" = a completed order (status in active_statuses;
-- with activity events, a counted event; with both, either) in the churn_after_days days before it. S = active at the period's start, E = active at its end (or at the
-- end of the data, when the data stops inside the period),
-- N = first completed order ever inside the period. Every customer of E is kept (in S), came back (not in S,
-- not new) or new; every customer of S is kept or churned. Customer retention rate = kept / S and churn rate =
-- churned / S: shares of S that add up to 1. The returning customer ratio = (E - N_E) / S = (kept + came back)
-- / S, where N_E counts the new customers who are in E (a new customer who lapsed inside a long period was
-- never in E): it counts comebacks, customers who were never in S, so it is no share of S and can pass 1. Revenue
-- retention compares the S customers' revenue in the period with the equally long stretch just before it; only
-- those of S who bought in that stretch count (for a period shorter than churn_after_days, S also holds customers
-- with nothing to compare: their spending in the period is won back, not retained, and would inflate NRR).
CREATE OR REPLACE TABLE period_kpis AS
WITH roles AS (SELECT * FROM period_roles),
per_customer AS (SELECT * FROM period_customers),
ranked AS (
    SELECT period_role, revenue_in_period,
           row_number() OVER (PARTITION BY period_role ORDER BY revenue_in_period DESC, customer_id) AS spend_rank,
           count(*) OVER (PARTITION BY period_role) AS buyers
    FROM per_customer
    WHERE orders_in_period > 0
),
top_share AS (
    SELECT period_role,
           sum(revenue_in_period) FILTER (WHERE spend_rank <= ceil(0.2 * buyers)) / nullif(sum(revenue_in_period), 0)
               AS top_20_percent_revenue_share
    FROM ranked
    GROUP BY period_role
),
figures AS (
    SELECT
        r.period_role,
        count(*) FILTER (WHERE p.at_start)::DOUBLE AS customers_at_start,
        count(*) FILTER (WHERE p.is_new)::DOUBLE AS new_customers,
        count(*) FILTER (WHERE p.at_end)::DOUBLE AS customers_at_end,
        count(*) FILTER (WHERE p.is_new AND p.at_end)::DOUBLE AS new_customers_at_end,
        count(*) FILTER (WHERE p.at_start AND p.at_end)::DOUBLE AS retained_customers,
        count(*) FILTER (WHERE p.at_start AND NOT p.at_end)::DOUBLE AS churned_customers,
        count(*) FILTER (WHERE p.at_end AND NOT p.at_start AND NOT p.is_new)::DOUBLE AS reactivated_customers,
        count(*) FILTER (WHERE p.at_start AND p.at_end) / nullif(count(*) FILTER (WHERE p.at_start), 0)
            AS customer_retention_rate,
        count(*) FILTER (WHERE p.at_start AND NOT p.at_end) / nullif(count(*) FILTER (WHERE p.at_start), 0) AS churn_rate,
        (count(*) FILTER (WHERE p.at_end) - count(*) FILTER (WHERE p.is_new AND p.at_end))
            / nullif(count(*) FILTER (WHERE p.at_start), 0) AS returning_customer_ratio,
        count(*) FILTER (WHERE p.orders_in_period >= 2) / nullif(count(*) FILTER (WHERE p.orders_in_period >= 1), 0)
            AS repeat_purchase_rate,
        sum(least(p.revenue_in_period, p.revenue_before)) FILTER (WHERE p.at_start)
            / nullif(sum(p.revenue_before) FILTER (WHERE p.at_start), 0) AS gross_revenue_retention,
        sum(p.revenue_in_period) FILTER (WHERE p.at_start AND p.bought_before)
            / nullif(sum(p.revenue_before) FILTER (WHERE p.at_start), 0) AS net_revenue_retention,
        count(*) FILTER (WHERE p.orders_in_period >= 1)::DOUBLE AS buying_customers,
        coalesce(sum(p.revenue_in_period), 0) AS revenue
    FROM roles AS r
    LEFT JOIN per_customer AS p USING (period_role)
    GROUP BY r.period_role
),
long AS (  -- the standard UNPIVOT, figures named (Spark runs no COLUMNS(*)); NULL figures dropped, as DuckDB's
    SELECT * FROM (SELECT f.*, t.top_20_percent_revenue_share FROM figures AS f LEFT JOIN top_share AS t USING (period_role))
    UNPIVOT (value FOR metric IN (
        customers_at_start, new_customers, customers_at_end, new_customers_at_end, retained_customers,
        churned_customers, reactivated_customers, customer_retention_rate, churn_rate, returning_customer_ratio,
        repeat_purchase_rate, gross_revenue_retention, net_revenue_retention, buying_customers, revenue,
        top_20_percent_revenue_share))
),
metrics AS (
    SELECT * FROM (VALUES
        (1, 'customers_at_start', 'count'), (2, 'new_customers', 'count'), (3, 'customers_at_end', 'count'),
        (3.5, 'new_customers_at_end', 'count'), (4, 'retained_customers', 'count'), (4.5, 'churned_customers', 'count'),
        (5, 'reactivated_customers', 'count'),
        (6, 'customer_retention_rate', 'rate'), (7, 'churn_rate', 'rate'), (7.5, 'returning_customer_ratio', 'ratio'),
        (8, 'repeat_purchase_rate', 'rate'),
        (9, 'gross_revenue_retention', 'rate'), (10, 'net_revenue_retention', 'rate'),
        (11, 'buying_customers', 'count'), (12, 'revenue', 'money'), (13, 'top_20_percent_revenue_share', 'rate')
    ) AS m(position, metric, kind)
),
wide AS (
    SELECT
        metric,
        any_value(value) FILTER (WHERE period_role = 'current') AS value,
        any_value(value) FILTER (WHERE period_role = 'previous') AS previous,
        any_value(value) FILTER (WHERE period_role = 'year_ago') AS year_ago
    FROM long
    GROUP BY metric
)
SELECT
    m.metric,
    w.value,
    w.previous,
    w.year_ago,
    w.value - w.previous AS change,
    w.value - w.year_ago AS change_year_ago,
    m.kind
FROM metrics AS m
LEFT JOIN wide AS w USING (metric)
ORDER BY m.position;

-- revenue_retention_terms: one row per comparison period: the sums behind net revenue retention R = kept / before
-- over the n customers active at the start (before = their revenue in the stretch before the period, kept = their
-- revenue in it when they bought in that stretch), and the sum of squared residuals (kept_i - R before_i)^2 from
-- which its standard error follows (the ratio estimator's linearisation: intervals.ratio_of_sums_se).
CREATE OR REPLACE TABLE revenue_retention_terms AS
WITH roles AS (SELECT period_role FROM period_roles),
terms AS (
    SELECT period_role, revenue_before AS before,
           CASE WHEN bought_before THEN revenue_in_period ELSE 0 END AS kept
    FROM period_customers WHERE at_start
),
sums AS (
    SELECT period_role, count(*) AS customers, sum(before) AS revenue_before, sum(kept) AS revenue_kept
    FROM terms GROUP BY period_role
)
SELECT r.period_role, coalesce(s.customers, 0) AS customers, s.revenue_before, s.revenue_kept,
       sum((t.kept - t.before * s.revenue_kept / nullif(s.revenue_before, 0)) ^ 2) AS residual_sum_of_squares
FROM roles AS r
LEFT JOIN sums AS s USING (period_role)
LEFT JOIN terms AS t USING (period_role)
GROUP BY ALL
ORDER BY r.period_role;
