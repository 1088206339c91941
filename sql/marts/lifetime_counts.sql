-- lifetime_counts: one row per segment (and 'all') and lifetime in days: customers whose lifetime ended
-- (churned) or was censored on that day. Kaplan-Meier curves are computed from these counts.
CREATE OR REPLACE TABLE lifetime_counts AS
SELECT
    s.segment_column,
    s.segment,
    l.lifetime_days AS day,
    count(*) FILTER (WHERE l.churned) AS churned,
    count(*) FILTER (WHERE NOT l.churned) AS censored
FROM lifetime_by_customer AS l
JOIN cohort_segments AS s USING (customer_id)
GROUP BY ALL
ORDER BY s.segment_column, s.segment, day;
