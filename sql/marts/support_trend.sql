-- support_trend: one row per month of the 24 months to the period's end (months without tickets too): tickets
-- created, due and answered within the target (due at the month's end), median first response hours, ratings
-- given and satisfied.
CREATE OR REPLACE TABLE support_trend AS
WITH months AS (
    SELECT generate_series::DATE AS month
    FROM generate_series(date_trunc('month', $period_end_exclusive::DATE - INTERVAL 24 MONTH),
                         date_trunc('month', $period_end_exclusive::DATE - INTERVAL 1 MONTH), INTERVAL 1 MONTH)
),
tickets AS (
    SELECT date_trunc('month', created_at)::DATE AS month, *
    FROM support_ticket_facts
    WHERE created_at >= date_trunc('month', $period_end_exclusive::DATE - INTERVAL 24 MONTH)
      AND created_at < $period_end_exclusive
)
SELECT m.month, count(t.ticket_id) AS tickets,
       count(*) FILTER (WHERE t.answered_at IS NOT NULL OR t.due_at <= m.month + INTERVAL 1 MONTH) AS due,
       count(*) FILTER (WHERE NOT t.late_if_due) AS within_target,
       quantile_cont(t.first_response_hours, 0.5) AS median_first_response_hours,
       count(t.satisfied) AS rated, count(*) FILTER (WHERE t.satisfied) AS satisfied
FROM months AS m LEFT JOIN tickets AS t USING (month)
GROUP BY m.month ORDER BY m.month;
