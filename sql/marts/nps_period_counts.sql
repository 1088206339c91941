-- nps_period_counts: one row per comparison period (current, previous, year_ago): answers by group.
CREATE OR REPLACE TABLE nps_period_counts AS
WITH periods AS (SELECT period_role, starts AS starts_at, ends AS ends_before FROM period_roles)
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
