-- support_reach_out: one row per still-active customer (a completed order within churn_after_days before the
-- period's end) and reason to reach out now: a ticket open at the period's end (unresolved, as support_backlog
-- counts it) and older than the target, said unanswered when no answer came before the end, else unresolved (its
-- age in whole hours under two days, else whole days); a ticket of the period answered later than the target; a
-- bad rating in the period. An answered ticket counts as unresolved only when the export tells resolutions (some
-- ticket resolved): without them every answered ticket would look open. Private: it feeds only reach_out.csv
-- (zz_reach_out.sql).
CREATE OR REPLACE TABLE support_reach_out AS
WITH active AS (
    SELECT DISTINCT customer_id FROM stg_orders
    WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive
      AND ordered_at >= $period_end_exclusive::TIMESTAMP - to_days($churn_after_days::INTEGER)
),
reasons AS (
    SELECT customer_id, ticket_id, created_at AS occurred_at,
           'ticket ' || ticket_id || CASE WHEN unanswered THEN ' unanswered for ' ELSE ' unresolved for ' END ||
               CASE WHEN age_hours < 48 THEN floor(age_hours)::BIGINT || ' hours'
                    ELSE floor(age_hours / 24)::BIGINT || ' days' END || ' at the period''s end' AS reason
    FROM (SELECT *, date_diff('second', created_at, $period_end_exclusive::TIMESTAMP) / 3600.0 AS age_hours,
                 answered_at IS NULL OR answered_at >= $period_end_exclusive AS unanswered
          FROM support_ticket_facts)
    WHERE created_at < $period_end_exclusive AND due_at <= $period_end_exclusive
      AND ((resolved_known AND resolved_at >= $period_end_exclusive) OR NOT resolved)
      AND (unanswered OR EXISTS (SELECT 1 FROM support_ticket_facts WHERE resolved))
    UNION ALL
    SELECT customer_id, ticket_id, created_at,
           'ticket ' || ticket_id || ' answered after ' || round(first_response_hours)::BIGINT || ' hours'
    FROM support_ticket_facts
    WHERE created_at >= $period_start AND created_at < $period_end_exclusive
      AND answered_at IS NOT NULL AND answered_at < $period_end_exclusive AND late_if_due
    UNION ALL
    SELECT customer_id, ticket_id, created_at, 'rated ticket ' || ticket_id || ' bad'
    FROM support_ticket_facts
    WHERE created_at >= $period_start AND created_at < $period_end_exclusive AND satisfied = false
)
SELECT r.* FROM reasons AS r JOIN active USING (customer_id)
ORDER BY r.customer_id, r.occurred_at, r.reason;
