-- support_period_counts: one row per comparison period (period_role), for the summary cards: the tickets created
-- in it, answered, due and answered within the target (as in support_response, due at that period's end), the
-- first response's median with its 95% interval (as there), and the ratings given and satisfied ones.
CREATE OR REPLACE TABLE support_period_counts AS
WITH tickets AS (
    SELECT r.period_role, r.ends, t.*
    FROM period_roles AS r
    JOIN support_ticket_facts AS t ON t.created_at >= r.starts AND t.created_at < r.ends
),
ranked AS (
    SELECT period_role, first_response_hours,
           row_number() OVER (PARTITION BY period_role ORDER BY first_response_hours) AS r,
           count(*) OVER (PARTITION BY period_role) AS n
    FROM tickets WHERE first_response_hours IS NOT NULL
),
bounds AS (
    SELECT period_role,
           max(first_response_hours) FILTER (WHERE r = greatest(1, floor(n / 2.0 - 1.959964 * sqrt(n) / 2)::BIGINT))
               AS median_ci_low,
           max(first_response_hours) FILTER (WHERE r = least(n, ceil(1 + n / 2.0 + 1.959964 * sqrt(n) / 2)::BIGINT))
               AS median_ci_high
    FROM ranked GROUP BY period_role
),
counts AS (
    SELECT period_role, count(*) AS tickets, count(answered_at) AS answered,
           count(*) FILTER (WHERE answered_at IS NOT NULL OR due_at <= ends) AS eligible_for_target,
           count(*) FILTER (WHERE NOT late_if_due) AS answered_within_target,
           quantile_cont(first_response_hours, 0.5) AS median_first_response_hours,
           count(satisfied) AS rated, count(*) FILTER (WHERE satisfied) AS satisfied
    FROM tickets GROUP BY period_role
)
SELECT r.period_role, coalesce(c.tickets, 0) AS tickets, coalesce(c.answered, 0) AS answered,
       coalesce(c.eligible_for_target, 0) AS eligible_for_target,
       coalesce(c.answered_within_target, 0) AS answered_within_target, c.median_first_response_hours,
       b.median_ci_low, b.median_ci_high, coalesce(c.rated, 0) AS rated, coalesce(c.satisfied, 0) AS satisfied
FROM period_roles AS r
LEFT JOIN counts AS c USING (period_role)
LEFT JOIN bounds AS b USING (period_role)
ORDER BY r.period_role;
