-- nps_scores: one row per score 0-10 in the period: how many answers gave it, and how many of them said
-- they would buy again (yes / no / unsure / not answered).
CREATE OR REPLACE TABLE nps_scores AS
SELECT
    s.score,
    CASE WHEN s.score >= 9 THEN 'promoter' WHEN s.score >= 7 THEN 'passive' ELSE 'detractor' END AS score_group,
    count(r.response_id) AS responses,
    count(r.response_id) FILTER (WHERE r.would_buy_again = 'yes') AS would_buy_yes,
    count(r.response_id) FILTER (WHERE r.would_buy_again = 'no') AS would_buy_no,
    count(r.response_id) FILTER (WHERE r.would_buy_again = 'unsure') AS would_buy_unsure
FROM range(0, 11) AS s(score)
LEFT JOIN stg_nps_responses AS r
    ON r.score = s.score AND r.responded_at >= $period_start AND r.responded_at < $period_end_exclusive
GROUP BY s.score
ORDER BY s.score;
