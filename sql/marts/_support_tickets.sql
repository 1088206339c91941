-- _support_tickets: no mart of its own. Runs before the marts (file-name order): one row per staged ticket with
-- what every support mart reads, computed once. Temporary.
-- answered_at: first_response_at, else created_at + first_response_minutes (NULL: not answered in the data);
-- resolved_at likewise, from resolution_minutes; a ticket whose status says solved or closed but gives no time
-- counts as resolved at an unknown time (resolved_known false). satisfied: good or 4-5 true, bad or 1-3 false,
-- no rating NULL. late: not answered within response_target_hours (an unanswered ticket is late once older than
-- the target at `as_of`, which each mart names). tenure_days: days since the customer's first completed order
-- (NULL: none before the ticket); spend_before: their completed orders' revenue before it.
CREATE OR REPLACE TEMP TABLE support_ticket_facts AS
WITH tickets AS (
    SELECT ticket_id, customer_id, created_at, coalesce(channel, 'not given') AS channel,
           coalesce(category, 'not given') AS category, comment, reopens,
           coalesce(first_response_at, created_at + to_microseconds(CAST(round(first_response_minutes * 60e6) AS BIGINT)))
               AS answered_at,
           coalesce(resolved_at, created_at + to_microseconds(CAST(round(resolution_minutes * 60e6) AS BIGINT)))
               AS resolved_time,
           status IN ('solved', 'closed', 'resolved') AS said_resolved,
           CASE WHEN satisfaction IN ('good', '4', '5') THEN true
                WHEN satisfaction IN ('bad', '1', '2', '3') THEN false END AS satisfied
    FROM stg_support_tickets
),
spend AS (  -- revenue and first completed order before each ticket
    SELECT t.ticket_id, sum(o.amount::DOUBLE) AS spend_before, min(o.ordered_at) AS first_order_at
    FROM tickets AS t
    JOIN stg_orders AS o ON o.customer_id = t.customer_id AND o.ordered_at < t.created_at
     AND list_contains($active_statuses, o.status)
    GROUP BY t.ticket_id
)
SELECT t.* EXCLUDE (resolved_time, said_resolved), t.resolved_time AS resolved_at,
       t.resolved_time IS NOT NULL OR t.said_resolved AS resolved, t.resolved_time IS NOT NULL AS resolved_known,
       date_diff('second', t.created_at, t.answered_at) / 3600.0 AS first_response_hours,
       date_diff('second', t.created_at, t.resolved_time) / 3600.0 AS resolution_hours,
       coalesce(t.answered_at > t.created_at + to_microseconds(CAST(round($response_target_hours * 3600e6) AS BIGINT)), true)
           AS late_if_due,
       t.created_at + to_microseconds(CAST(round($response_target_hours * 3600e6) AS BIGINT)) AS due_at,
       date_diff('day', s.first_order_at::DATE, t.created_at::DATE) AS tenure_days,
       coalesce(s.spend_before, 0) AS spend_before
FROM tickets AS t
LEFT JOIN spend AS s USING (ticket_id);
