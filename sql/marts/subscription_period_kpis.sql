-- subscription_period_kpis: one row per comparison period (period_role current, previous, year_ago): MRR at its
-- start (the end of the month before it) and end (the end of its last month), the sum of its months' movements,
-- paying customers, ARPA; and, for the customers paying at the start, what they pay at the end: net and gross
-- MRR retention (ratios of sums, with the residual sums of squares their standard errors need) and logo churn
-- (customers paying at the start who pay nothing at the end, of those paying at the start). coverage: 'no data'
-- when nobody paid at the start, 'partial' when the period's start precedes the first paid month or its end
-- lies after the data's last moment, else 'full'.
CREATE OR REPLACE TABLE subscription_period_kpis AS
WITH bounds AS (
    SELECT period_role, CAST(starts AS DATE) AS first_month,
           CAST(date_trunc('month', ends - INTERVAL 1 DAY) AS DATE) AS last_month
    FROM period_roles
),
at_start AS (  -- each customer paying at the end of the month before the period
    SELECT b.period_role, c.customer_id, c.mrr AS mrr_start
    FROM bounds AS b JOIN subscription_customer_months AS c ON c.month = b.first_month - INTERVAL 1 MONTH
    WHERE c.mrr > 0
),
kept AS (
    SELECT s.period_role, s.customer_id, s.mrr_start, coalesce(e.mrr, 0) AS mrr_end
    FROM at_start AS s
    JOIN bounds AS b USING (period_role)
    LEFT JOIN subscription_customer_months AS e ON e.customer_id = s.customer_id AND e.month = b.last_month
),
ratios AS (
    SELECT period_role, count(*) AS customers_start, sum(mrr_start) AS retained_base,
           sum(mrr_end) AS retained_net, sum(least(mrr_end, mrr_start)) AS retained_gross,
           count(*) FILTER (WHERE mrr_end = 0) AS churned_logos
    FROM kept GROUP BY period_role
),
residuals AS (
    SELECT k.period_role,
           sum(power(CAST(k.mrr_end AS DOUBLE) - r.retained_net / r.retained_base * CAST(k.mrr_start AS DOUBLE), 2))
               AS net_residual_sum_of_squares,
           sum(power(CAST(least(k.mrr_end, k.mrr_start) AS DOUBLE)
                     - r.retained_gross / r.retained_base * CAST(k.mrr_start AS DOUBLE), 2))
               AS gross_residual_sum_of_squares
    FROM kept AS k JOIN ratios AS r USING (period_role)
    GROUP BY k.period_role
),
movements AS (
    SELECT b.period_role,
           sum(m.new_mrr) AS new_mrr, sum(m.expansion_mrr) AS expansion_mrr,
           sum(m.reactivation_mrr) AS reactivation_mrr, sum(m.contraction_mrr) AS contraction_mrr,
           sum(m.churned_mrr) AS churned_mrr,
           arg_min(m.mrr_start, m.month) AS mrr_start, arg_max(m.mrr_end, m.month) AS mrr_end,
           arg_max(m.customers_end, m.month) AS customers_end,
           count(*) AS months_known, bool_or(m.coverage = 'partial') AS ends_after_data
    FROM bounds AS b
    JOIN subscription_mrr_monthly AS m ON m.month BETWEEN b.first_month AND b.last_month
    GROUP BY b.period_role
)
SELECT b.period_role, b.first_month, b.last_month,
       CAST(coalesce(v.mrr_start, 0) AS DECIMAL(18, 2)) AS mrr_start,
       CAST(coalesce(v.new_mrr, 0) AS DECIMAL(18, 2)) AS new_mrr,
       CAST(coalesce(v.expansion_mrr, 0) AS DECIMAL(18, 2)) AS expansion_mrr,
       CAST(coalesce(v.reactivation_mrr, 0) AS DECIMAL(18, 2)) AS reactivation_mrr,
       CAST(coalesce(v.contraction_mrr, 0) AS DECIMAL(18, 2)) AS contraction_mrr,
       CAST(coalesce(v.churned_mrr, 0) AS DECIMAL(18, 2)) AS churned_mrr,
       CAST(coalesce(v.mrr_end, 0) AS DECIMAL(18, 2)) AS mrr_end,
       coalesce(v.customers_end, 0) AS customers_end,
       CASE WHEN v.customers_end > 0 THEN CAST(v.mrr_end AS DOUBLE) / v.customers_end END AS arpa,
       coalesce(r.customers_start, 0) AS customers_start, coalesce(r.churned_logos, 0) AS churned_logos,
       CAST(coalesce(r.retained_base, 0) AS DECIMAL(18, 2)) AS retained_base,
       CAST(coalesce(r.retained_net, 0) AS DECIMAL(18, 2)) AS retained_net,
       CAST(coalesce(r.retained_gross, 0) AS DECIMAL(18, 2)) AS retained_gross,
       CASE WHEN r.retained_base > 0 THEN CAST(r.retained_net AS DOUBLE) / CAST(r.retained_base AS DOUBLE) END
           AS net_mrr_retention,
       CASE WHEN r.retained_base > 0 THEN CAST(r.retained_gross AS DOUBLE) / CAST(r.retained_base AS DOUBLE) END
           AS gross_mrr_retention,
       CASE WHEN r.customers_start > 0 THEN r.churned_logos / r.customers_start END AS logo_churn,
       q.net_residual_sum_of_squares, q.gross_residual_sum_of_squares,
       CASE WHEN coalesce(r.customers_start, 0) = 0 THEN 'no data'
            WHEN b.first_month - INTERVAL 1 MONTH < s.first_month OR v.ends_after_data
                 OR coalesce(v.months_known, 0) < datediff('month', b.first_month, b.last_month) + 1 THEN 'partial'
            ELSE 'full' END AS coverage
FROM bounds AS b
CROSS JOIN subscription_span AS s
LEFT JOIN movements AS v USING (period_role)
LEFT JOIN ratios AS r USING (period_role)
LEFT JOIN residuals AS q USING (period_role)
ORDER BY CASE b.period_role WHEN 'current' THEN 0 WHEN 'previous' THEN 1 ELSE 2 END;
