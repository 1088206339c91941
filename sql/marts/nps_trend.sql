-- nps_trend: one row per month of the 24 months ending with the period: answers by group.
CREATE OR REPLACE TABLE nps_trend AS
WITH months AS (
    SELECT (date_trunc('month', $period_start::DATE) + to_months($period_months::INTEGER - 24 + i))::DATE AS month
    FROM range(0, 24) AS r(i)
)
SELECT
    strftime(m.month, '%Y-%m') AS month,
    m.month >= $period_start::DATE AS in_period,
    count(r.response_id) AS responses,
    count(r.response_id) FILTER (WHERE r.score >= 9) AS promoters,
    count(r.response_id) FILTER (WHERE r.score BETWEEN 7 AND 8) AS passives,
    count(r.response_id) FILTER (WHERE r.score <= 6) AS detractors
FROM months AS m
LEFT JOIN stg_nps_responses AS r ON date_trunc('month', r.responded_at)::DATE = m.month
GROUP BY m.month
ORDER BY m.month;
