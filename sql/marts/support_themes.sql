-- support_themes: one row per comment theme (comment_themes keywords, matched at the start of a word as
-- nps_theme_patterns does): of the customers with a ticket in the 12 months to the period's end whose
-- churn_after_days after it are within the data (its last order day), those whose first such ticket named the
-- theme and how many churned (no completed order in the churn_after_days after that ticket), against the other
-- customers with such a ticket (their first one, not naming it) and how many of them churned.
CREATE OR REPLACE TABLE support_themes AS
WITH data_end AS (SELECT max(ordered_at)::DATE AS last_day FROM stg_orders),
window_tickets AS (
    SELECT t.ticket_id, t.customer_id, t.created_at, t.comment
    FROM support_ticket_facts AS t CROSS JOIN data_end AS d
    WHERE t.created_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH AND t.created_at < $period_end_exclusive
      AND t.created_at::DATE + $churn_after_days::INTEGER <= d.last_day
),
themed AS (
    SELECT DISTINCT w.ticket_id, p.theme
    FROM window_tickets AS w JOIN nps_theme_patterns AS p ON regexp_matches(lower(w.comment), p.pattern)
),
churn AS (  -- per ticket: did the customer order again within churn_after_days?
    SELECT w.ticket_id, w.customer_id, w.created_at,
           NOT EXISTS (SELECT 1 FROM stg_orders AS o
                       WHERE o.customer_id = w.customer_id AND list_contains($active_statuses, o.status)
                         AND o.ordered_at > w.created_at
                         AND o.ordered_at <= w.created_at + to_days($churn_after_days::INTEGER)) AS churned
    FROM window_tickets AS w
),
themes AS (SELECT DISTINCT theme FROM param_comment_themes),
first_with AS (  -- each customer's first ticket naming the theme
    SELECT th.theme, c.customer_id, arg_min(c.churned, c.created_at) AS churned
    FROM churn AS c JOIN themed AS th USING (ticket_id)
    GROUP BY th.theme, c.customer_id
),
first_without AS (  -- each customer's first ticket, for the customers with none naming the theme
    SELECT t.theme, c.customer_id, arg_min(c.churned, c.created_at) AS churned
    FROM themes AS t CROSS JOIN churn AS c
    WHERE NOT EXISTS (SELECT 1 FROM first_with AS f WHERE f.theme = t.theme AND f.customer_id = c.customer_id)
    GROUP BY t.theme, c.customer_id
)
SELECT t.theme,
       (SELECT count(*) FROM first_with AS f WHERE f.theme = t.theme) AS customers,
       (SELECT count(*) FILTER (WHERE churned) FROM first_with AS f WHERE f.theme = t.theme) AS churned,
       (SELECT count(*) FROM first_without AS f WHERE f.theme = t.theme) AS other_customers,
       (SELECT count(*) FILTER (WHERE churned) FROM first_without AS f WHERE f.theme = t.theme) AS other_churned
FROM themes AS t
ORDER BY customers DESC, t.theme;
