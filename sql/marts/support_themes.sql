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
-- A pattern that is a column is compiled anew for every row it meets: each distinct text is matched, and only
-- against the keywords it contains (a keyword's pattern matches only where the keyword is), never every ticket.
texts AS (SELECT DISTINCT lower(comment) AS text FROM window_tickets WHERE comment IS NOT NULL),
text_themes AS (
    SELECT DISTINCT x.text, p.theme
    FROM texts AS x JOIN nps_theme_patterns AS p
      ON CASE WHEN contains(x.text, p.keyword) THEN regexp_matches(x.text, p.pattern) ELSE false END
),
themed AS (
    SELECT DISTINCT w.ticket_id, t.theme
    FROM window_tickets AS w JOIN text_themes AS t ON lower(w.comment) = t.text
),
next_orders AS (  -- per ticket: the first completed order after it (one join, not a lookup per ticket)
    SELECT w.ticket_id, min(o.ordered_at) AS next_at
    FROM window_tickets AS w
    JOIN stg_orders AS o ON o.customer_id = w.customer_id AND o.ordered_at > w.created_at
     AND list_contains($active_statuses, o.status)
    GROUP BY w.ticket_id
),
churn AS (  -- per ticket: no completed order within churn_after_days after it
    SELECT w.ticket_id, w.customer_id, w.created_at,
           coalesce(n.next_at > w.created_at + to_days($churn_after_days::INTEGER), true) AS churned
    FROM window_tickets AS w LEFT JOIN next_orders AS n USING (ticket_id)
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
    ANTI JOIN first_with AS f ON f.theme = t.theme AND f.customer_id = c.customer_id
    GROUP BY t.theme, c.customer_id
),
counted AS (
    SELECT theme, count(*) AS customers, count(*) FILTER (WHERE churned) AS churned FROM first_with GROUP BY theme
),
others AS (
    SELECT theme, count(*) AS customers, count(*) FILTER (WHERE churned) AS churned FROM first_without GROUP BY theme
)
SELECT t.theme, coalesce(c.customers, 0) AS customers, coalesce(c.churned, 0) AS churned,
       coalesce(o.customers, 0) AS other_customers, coalesce(o.churned, 0) AS other_churned
FROM themes AS t LEFT JOIN counted AS c USING (theme) LEFT JOIN others AS o USING (theme)
ORDER BY customers DESC, t.theme;
