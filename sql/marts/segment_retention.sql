-- segment_retention: one row per comparison period (current, previous, year_ago), segment column, segment and
-- month k in (1, 3, 6, 12): customers of the cohorts that reached month k inside that period (cohort month =
-- a month of the period minus k) and how many were active in month k (retention_mode "on") or in month k or
-- any later month up to that period's end ("on_or_after"). Only months complete in the data count.
CREATE OR REPLACE TABLE segment_retention AS
WITH roles AS (SELECT period_role, starts::DATE AS starts, ends::DATE AS ends FROM period_roles),
cells AS (
    SELECT r.period_role, r.ends, k.k, m.target_month::DATE AS target_month,
           (m.target_month - to_months(k.k))::DATE AS cohort_month
    FROM roles AS r,
         unnest(generate_series(r.starts::TIMESTAMP, r.ends::TIMESTAMP - INTERVAL 1 MONTH, INTERVAL 1 MONTH)) AS m(target_month),
         unnest([1, 3, 6, 12]) AS k(k),
         cohort_bounds AS b
    WHERE (m.target_month + INTERVAL 1 MONTH)::DATE <= b.observed_until
),
member_cells AS (
    SELECT c.period_role, c.k, m.customer_id,
           bool_or(a.activity_month = c.target_month) AS active_in_month,
           bool_or(a.activity_month >= c.target_month AND a.activity_month < c.ends) AS active_in_or_after_month
    FROM cells AS c
    JOIN cohort_assignments AS m USING (cohort_month)
    LEFT JOIN cohort_activity AS a
      ON a.customer_id = m.customer_id AND a.activity_month >= c.target_month AND a.activity_month < c.ends
    GROUP BY ALL
),
segment_keys AS (
    SELECT DISTINCT segment_column, segment FROM cohort_segments
),
counted AS (
    SELECT mc.period_role, s.segment_column, s.segment, mc.k AS months_since_first,
           count(*) AS customers,
           count(*) FILTER (WHERE CASE WHEN $retention_mode::VARCHAR = 'on_or_after' THEN mc.active_in_or_after_month
                                       ELSE mc.active_in_month END) AS retained
    FROM member_cells AS mc
    JOIN cohort_segments AS s USING (customer_id)
    GROUP BY ALL
),
grid AS (
    -- every segment in every period and month, so a segment with nobody shows 0 rather than vanishing
    SELECT r.period_role, s.segment_column, s.segment, k.k AS months_since_first
    FROM roles AS r, segment_keys AS s, unnest([1, 3, 6, 12]) AS k(k)
)
SELECT
    g.period_role,
    g.segment_column,
    g.segment,
    g.months_since_first,
    coalesce(c.customers, 0) AS customers,
    coalesce(c.retained, 0) AS retained,
    coalesce(c.retained, 0) / nullif(coalesce(c.customers, 0), 0) AS retention_rate,
    coalesce(c.customers, 0) >= $min_sample AS judged
FROM grid AS g
LEFT JOIN counted AS c USING (period_role, segment_column, segment, months_since_first)
ORDER BY g.segment_column = 'all' DESC, g.segment_column, g.segment, g.months_since_first, g.period_role;
