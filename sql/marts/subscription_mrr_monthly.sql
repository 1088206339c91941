-- subscription_mrr_monthly: one row per month from the first paid month to the period's last: MRR at the start
-- (the end of the month before) and at the end, its movements (ChartMogul's definitions: new, expansion,
-- reactivation, contraction, churn; amounts positive), the paying customers at the start and end and how many
-- moved each way, and coverage ('partial' when the month ends after the data's last moment). In exact decimals,
-- so mrr_end = mrr_start + new + expansion + reactivation - contraction - churn holds to the cent.
CREATE OR REPLACE TABLE subscription_mrr_monthly AS
WITH months AS (
    SELECT CAST(unnest(generate_series(first_month, date_trunc('month', $period_end::TIMESTAMP), INTERVAL 1 MONTH))
                AS DATE) AS month
    FROM subscription_span WHERE first_month IS NOT NULL
),
moved AS (
    SELECT month,
           sum(mrr_before) AS mrr_start,
           sum(mrr) FILTER (WHERE movement = 'new') AS new_mrr,
           sum(mrr - mrr_before) FILTER (WHERE movement = 'expansion') AS expansion_mrr,
           sum(mrr) FILTER (WHERE movement = 'reactivation') AS reactivation_mrr,
           sum(mrr_before - mrr) FILTER (WHERE movement = 'contraction') AS contraction_mrr,
           sum(mrr_before) FILTER (WHERE movement = 'churn') AS churned_mrr,
           sum(mrr) AS mrr_end,
           count(*) FILTER (WHERE mrr_before > 0) AS customers_start,
           count(*) FILTER (WHERE movement = 'new') AS new_customers,
           count(*) FILTER (WHERE movement = 'expansion') AS expanded_customers,
           count(*) FILTER (WHERE movement = 'reactivation') AS reactivated_customers,
           count(*) FILTER (WHERE movement = 'contraction') AS contracted_customers,
           count(*) FILTER (WHERE movement = 'churn') AS churned_customers,
           count(*) FILTER (WHERE mrr > 0) AS customers_end
    FROM subscription_customer_months
    GROUP BY month
)
SELECT m.month,
       CAST(coalesce(mrr_start, 0) AS DECIMAL(18, 2)) AS mrr_start,
       CAST(coalesce(new_mrr, 0) AS DECIMAL(18, 2)) AS new_mrr,
       CAST(coalesce(expansion_mrr, 0) AS DECIMAL(18, 2)) AS expansion_mrr,
       CAST(coalesce(reactivation_mrr, 0) AS DECIMAL(18, 2)) AS reactivation_mrr,
       CAST(coalesce(contraction_mrr, 0) AS DECIMAL(18, 2)) AS contraction_mrr,
       CAST(coalesce(churned_mrr, 0) AS DECIMAL(18, 2)) AS churned_mrr,
       CAST(coalesce(mrr_end, 0) AS DECIMAL(18, 2)) AS mrr_end,
       coalesce(customers_start, 0) AS customers_start, coalesce(new_customers, 0) AS new_customers,
       coalesce(expanded_customers, 0) AS expanded_customers,
       coalesce(reactivated_customers, 0) AS reactivated_customers,
       coalesce(contracted_customers, 0) AS contracted_customers,
       coalesce(churned_customers, 0) AS churned_customers, coalesce(customers_end, 0) AS customers_end,
       CASE WHEN m.month + INTERVAL 1 MONTH > s.last_at THEN 'partial' ELSE 'full' END AS coverage
FROM months AS m
CROSS JOIN subscription_span AS s
LEFT JOIN moved USING (month)
ORDER BY m.month;

-- The identity every month keeps; a model that broke it stops the build rather than publish a waterfall that
-- does not add up.
CREATE OR REPLACE TEMP TABLE _mrr_identity_check AS
SELECT error('subscription_mrr_monthly: MRR movements do not add up in ' || string_agg(CAST(month AS VARCHAR), ', '))
FROM subscription_mrr_monthly
WHERE mrr_end <> mrr_start + new_mrr + expansion_mrr + reactivation_mrr - contraction_mrr - churned_mrr
HAVING count(*) > 0;
