-- nps_period_counts: one row per comparison period (current, previous, year_ago): answers by group.
CREATE OR REPLACE TABLE nps_period_counts AS
WITH periods AS (
    SELECT * FROM (VALUES
        ('current', $period_start::TIMESTAMP, $period_end_exclusive::TIMESTAMP),
        ('previous', $previous_start::TIMESTAMP, $previous_end_exclusive::TIMESTAMP),
        ('year_ago', $year_ago_start::TIMESTAMP, $year_ago_end_exclusive::TIMESTAMP)
    ) AS p(period_role, starts_at, ends_before)
)
SELECT
    p.period_role,
    count(r.response_id) AS responses,
    count(r.response_id) FILTER (WHERE r.score >= 9) AS promoters,
    count(r.response_id) FILTER (WHERE r.score BETWEEN 7 AND 8) AS passives,
    count(r.response_id) FILTER (WHERE r.score <= 6) AS detractors
FROM periods AS p
LEFT JOIN stg_nps_responses AS r
    ON r.responded_at >= p.starts_at AND r.responded_at < p.ends_before
GROUP BY p.period_role
ORDER BY p.period_role;
