-- support_promptness_strata: does promptness keep customers? One row per horizon (90, 180 days), stratum (tenure
-- band x category x spend band) and group (on_time / late): each customer's first ticket created before the
-- period's end, answered within response_target_hours (on_time) or not (late; unanswered counts as late), and
-- whether they placed a completed order after it by calendar day h (the same day counts). Tickets whose
-- horizon is not over by the data's end (its last order day) are left out, and counted in the row 'left out:
-- follow-up not over'. Tenure: days since the first completed order (none before the ticket: 'no order before');
-- spend band: quartile of revenue before the ticket among the customers who spent anything before it.
CREATE OR REPLACE TABLE support_promptness_strata AS
WITH data_end AS (SELECT max(ordered_at)::DATE AS last_day FROM stg_orders),
firsts AS (
    SELECT customer_id, arg_min(ticket_id, created_at) AS ticket_id
    FROM support_ticket_facts WHERE created_at < $period_end_exclusive GROUP BY customer_id
),
anchors AS (
    SELECT t.customer_id, t.created_at, t.category, t.late_if_due AS late, t.spend_before,
           CASE WHEN t.tenure_days IS NULL THEN 'no order before'
                WHEN t.tenure_days < 90 THEN 'under 90 days' WHEN t.tenure_days < 365 THEN '90-365 days'
                ELSE '365+ days' END AS tenure_band
    FROM firsts JOIN support_ticket_facts AS t USING (ticket_id)
),
banded AS (  -- customers who spent nothing before the ticket are a band of their own (quartiles would split ties)
    SELECT *, CASE WHEN spend_before > 0
                   THEN 'spend quartile ' || ntile(4) OVER (PARTITION BY spend_before > 0 ORDER BY spend_before, customer_id)
                   ELSE 'no spend before' END AS spend_band
    FROM anchors
),
next_orders AS (
    SELECT a.customer_id, min(o.ordered_at) AS next_at
    FROM anchors AS a
    JOIN stg_orders AS o ON o.customer_id = a.customer_id AND o.ordered_at > a.created_at
     AND list_contains($active_statuses, o.status)
    GROUP BY a.customer_id
),
windows AS (
    SELECT b.*, h.horizon_days, b.created_at::DATE + h.horizon_days <= d.last_day AS complete,
           coalesce(n.next_at::DATE <= b.created_at::DATE + h.horizon_days, false) AS retained
    FROM banded AS b CROSS JOIN data_end AS d CROSS JOIN (VALUES (90), (180)) AS h(horizon_days)
    LEFT JOIN next_orders AS n USING (customer_id)
)
SELECT horizon_days, tenure_band || ' / ' || category || ' / ' || spend_band AS stratum,
       CASE WHEN late THEN 'late' ELSE 'on_time' END AS "group",
       count(*) AS customers, count(*) FILTER (WHERE retained) AS retained
FROM windows WHERE complete
GROUP BY ALL
UNION ALL
SELECT horizon_days, 'left out: follow-up not over', 'all', count(*) FILTER (WHERE NOT complete), 0
FROM windows GROUP BY horizon_days
ORDER BY horizon_days, stratum, "group";
