-- cohort_retention_quarterly: one row per quarterly cohort and quarter since its start, up to the period's end;
-- empty cells are 0. Same definitions as the monthly triangle, with quarters for months.
CREATE OR REPLACE TABLE cohort_retention_quarterly AS
WITH members AS (
    SELECT customer_id, date_trunc('quarter', cohort_month)::DATE AS cohort_quarter
    FROM cohort_assignments
),
cohorts AS (
    SELECT cohort_quarter, count(*) AS cohort_customers
    FROM members
    GROUP BY cohort_quarter
),
grid AS (
    SELECT c.cohort_quarter, c.cohort_customers, r.quarters_since_first::INTEGER AS quarters_since_first
    FROM cohorts AS c,
         range(0, (date_diff('month', c.cohort_quarter, $period_end_exclusive::DATE) + 2) // 3) AS r(quarters_since_first)
),
member_quarters AS (
    SELECT DISTINCT m.customer_id, m.cohort_quarter,
           date_diff('month', m.cohort_quarter, date_trunc('quarter', a.activity_month)::DATE) // 3 AS quarters_since_first
    FROM members AS m
    JOIN cohort_activity AS a USING (customer_id)
    WHERE a.activity_month >= m.cohort_quarter
),
active_in AS (
    SELECT cohort_quarter, quarters_since_first, count(*) AS customers FROM member_quarters GROUP BY ALL
),
last_active AS (
    SELECT cohort_quarter, last_quarter AS quarters_since_first, count(*) AS customers
    FROM (SELECT customer_id, cohort_quarter, max(quarters_since_first) AS last_quarter FROM member_quarters GROUP BY ALL)
    GROUP BY ALL
),
counted AS (
    SELECT
        g.*,
        coalesce(i.customers, 0) AS active_in_quarter,
        sum(coalesce(l.customers, 0)) OVER (
            PARTITION BY g.cohort_quarter ORDER BY g.quarters_since_first DESC ROWS UNBOUNDED PRECEDING
        )::BIGINT AS active_in_or_after_quarter
    FROM grid AS g
    LEFT JOIN active_in AS i USING (cohort_quarter, quarters_since_first)
    LEFT JOIN last_active AS l USING (cohort_quarter, quarters_since_first)
)
SELECT
    strftime(c.cohort_quarter, '%Y') || '-Q' || quarter(c.cohort_quarter) AS cohort,
    c.quarters_since_first,
    c.cohort_customers,
    CASE WHEN $retention_mode::VARCHAR = 'on_or_after' THEN c.active_in_or_after_quarter ELSE c.active_in_quarter END
        AS active_customers,
    CASE WHEN $retention_mode::VARCHAR = 'on_or_after' THEN c.active_in_or_after_quarter ELSE c.active_in_quarter END
        / c.cohort_customers AS retention_rate,
    (c.cohort_quarter + to_months(3 * (c.quarters_since_first + 1)))::DATE <= b.observed_until AS is_complete,
    c.active_in_quarter,
    c.active_in_or_after_quarter
FROM counted AS c, cohort_bounds AS b
ORDER BY cohort, quarters_since_first;
