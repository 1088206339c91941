-- cohort_cells: one row per monthly cohort and month since its start, for every cohort and month up to the
-- period's end (empty cells are 0): customers active in that month, and in that month or any later one.
CREATE OR REPLACE TABLE cohort_cells AS
WITH cohorts AS (
    SELECT cohort_month, count(*) AS cohort_customers
    FROM cohort_assignments
    GROUP BY cohort_month
),
grid AS (
    SELECT c.cohort_month, c.cohort_customers, r.months_since_first::INTEGER AS months_since_first
    FROM cohorts AS c,
         range(0, date_diff('month', c.cohort_month, $period_end_exclusive::DATE)) AS r(months_since_first)
),
member_months AS (
    -- two orders in one month count once (cohort_activity is per customer-month)
    SELECT m.customer_id, m.cohort_month, date_diff('month', m.cohort_month, a.activity_month) AS months_since_first
    FROM cohort_assignments AS m
    JOIN cohort_activity AS a USING (customer_id)
    WHERE a.activity_month >= m.cohort_month
),
active_in AS (
    SELECT cohort_month, months_since_first, count(*) AS customers
    FROM member_months
    GROUP BY ALL
),
last_active AS (
    -- customers by the last month they were active in: active "in month k or later" is last >= k
    SELECT cohort_month, last_month AS months_since_first, count(*) AS customers
    FROM (SELECT customer_id, cohort_month, max(months_since_first) AS last_month FROM member_months GROUP BY ALL)
    GROUP BY ALL
),
counted AS (
    SELECT
        g.cohort_month,
        g.months_since_first,
        g.cohort_customers,
        coalesce(i.customers, 0) AS active_in_month,
        sum(coalesce(l.customers, 0)) OVER (
            PARTITION BY g.cohort_month ORDER BY g.months_since_first DESC ROWS UNBOUNDED PRECEDING
        )::BIGINT AS active_in_or_after_month
    FROM grid AS g
    LEFT JOIN active_in AS i USING (cohort_month, months_since_first)
    LEFT JOIN last_active AS l USING (cohort_month, months_since_first)
)
SELECT
    strftime(c.cohort_month, '%Y-%m') AS cohort,
    c.months_since_first,
    c.cohort_customers,
    CASE WHEN $retention_mode::VARCHAR = 'on_or_after' THEN c.active_in_or_after_month ELSE c.active_in_month END
        AS active_customers,
    CASE WHEN $retention_mode::VARCHAR = 'on_or_after' THEN c.active_in_or_after_month ELSE c.active_in_month END
        / c.cohort_customers AS retention_rate,
    c.cohort_month,
    (c.cohort_month + to_months(c.months_since_first))::DATE AS activity_month,
    (c.cohort_month + to_months(c.months_since_first + 1))::DATE <= b.observed_until AS is_complete,
    c.cohort_month >= b.period_start AS in_period,
    c.active_in_month,
    c.active_in_or_after_month
FROM counted AS c, cohort_bounds AS b
ORDER BY cohort, months_since_first;
