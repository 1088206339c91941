-- nps_subscription_status: one row per subscription status at the moment of answering (subscription_status:
-- paying | on_trial | cancelled | never_subscribed; every status has its row, 0 when none): the period's answers of
-- identified customers by group. paying: a stretch of theirs ran and paid then (paid_from <= responded_at <
-- valid_to, MRR above zero); on_trial: one ran without paying yet (before its trial's end, or free); cancelled:
-- none ran, but one had ended before (valid_to <= responded_at); never_subscribed: none had begun by then (a
-- subscription begun after the answer does not count). Anonymous answers have no status and are in no row.
CREATE OR REPLACE TABLE nps_subscription_status AS
WITH answers AS (
    SELECT response_id, customer_id, responded_at, score FROM stg_nps_responses
    WHERE customer_id IS NOT NULL AND responded_at >= $period_start AND responded_at < $period_end_exclusive
),
status AS (
    SELECT a.response_id, a.score,
           CASE WHEN bool_or(p.paid_from <= a.responded_at AND p.mrr > 0
                             AND (p.valid_to IS NULL OR a.responded_at < p.valid_to)) THEN 'paying'
                WHEN bool_or(p.valid_from <= a.responded_at
                             AND (p.valid_to IS NULL OR a.responded_at < p.valid_to)) THEN 'on_trial'
                WHEN bool_or(p.valid_to <= a.responded_at) THEN 'cancelled'
                ELSE 'never_subscribed' END AS subscription_status
    FROM answers AS a
    LEFT JOIN subscription_periods AS p ON p.customer_id = a.customer_id AND p.valid_from <= a.responded_at
    GROUP BY a.response_id, a.score
),
statuses AS (
    SELECT * FROM (VALUES ('paying', 1), ('on_trial', 2), ('cancelled', 3), ('never_subscribed', 4)) AS v(status, rank)
)
SELECT s.status AS subscription_status,
       count(a.response_id) FILTER (WHERE a.score >= 9) AS promoters,
       count(a.response_id) FILTER (WHERE a.score BETWEEN 7 AND 8) AS passives,
       count(a.response_id) FILTER (WHERE a.score <= 6) AS detractors,
       count(a.response_id) AS answers
FROM statuses AS s
LEFT JOIN status AS a ON a.subscription_status = s.status
GROUP BY s.status, s.rank
ORDER BY s.rank;
