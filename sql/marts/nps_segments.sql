-- nps_segments: one row per segment column and segment (plus acquisition cohort quarter): the period's answers
-- of identified customers by group. Anonymous answers are in no segment.
CREATE OR REPLACE TABLE nps_segments AS
WITH answers AS (
    SELECT customer_id, score FROM stg_nps_responses
    WHERE customer_id IS NOT NULL AND responded_at >= $period_start AND responded_at < $period_end_exclusive
),
segments AS (
    SELECT customer_id, segment_column, segment FROM cohort_segments WHERE segment_column <> 'all'
    UNION ALL
    SELECT customer_id, 'acquisition cohort', strftime(cohort_month, '%Y') || '-Q' || quarter(cohort_month)
    FROM cohort_assignments
)
SELECT
    s.segment_column,
    s.segment,
    count(*) AS responses,
    count(*) FILTER (WHERE a.score >= 9) AS promoters,
    count(*) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
    count(*) FILTER (WHERE a.score <= 6) AS detractors
FROM answers AS a
JOIN segments AS s USING (customer_id)
GROUP BY ALL
ORDER BY s.segment_column, s.segment;
