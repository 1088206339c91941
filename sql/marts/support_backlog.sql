-- support_backlog: the tickets open at the period's end (created before it, not resolved by then: resolved later,
-- or not at all), by age at the period's end. A ticket said solved with no time counts as resolved.
CREATE OR REPLACE TABLE support_backlog AS
WITH buckets(bucket, position, from_days, to_days) AS (
    VALUES ('under 1 day', 1, 0, 1), ('1-3 days', 2, 1, 3), ('3-7 days', 3, 3, 7), ('7-30 days', 4, 7, 30),
           ('30-90 days', 5, 30, 90), ('90 days or more', 6, 90, 1000000)
),
open_tickets AS (
    SELECT date_diff('second', created_at, $period_end_exclusive::TIMESTAMP) / 86400.0 AS age_days,
           answered_at IS NULL OR answered_at >= $period_end_exclusive AS unanswered
    FROM support_ticket_facts
    WHERE created_at < $period_end_exclusive
      AND ((resolved_known AND resolved_at >= $period_end_exclusive) OR NOT resolved)
)
SELECT b.bucket, count(o.age_days) AS open_tickets, count(*) FILTER (WHERE o.unanswered) AS unanswered
FROM buckets AS b
LEFT JOIN open_tickets AS o ON o.age_days >= b.from_days AND o.age_days < b.to_days
GROUP BY b.bucket, b.position
ORDER BY b.position;
