-- summary_kpis: one row per summary figure that is a share (kpi) and comparison period (period_role):
-- successes out of n, for the executive summary's cards. Definitions match the analysis pages:
-- welcome_coverage: new customers (first completed order in the period; first activity with activity events or
-- both, first_orders) welcomed 0..welcome_within_days after it;
-- appreciation_coverage: customers active (customer_activity) in the 12 months to the period's end with an
-- appreciation touchpoint then;
-- would_buy_again: survey answers in the period saying yes, of those answering the question.
CREATE OR REPLACE TABLE summary_kpis AS
WITH roles AS (SELECT * FROM period_roles),
completed AS (  -- active: a completed order by default (customer_activity: events with activity events or both)
    SELECT customer_id, active_at AS ordered_at FROM customer_activity
),
welcomes AS (
    SELECT f.customer_id, f.first_order_at,
           min(date_diff('day', f.first_order_at::DATE, t.occurred_at::DATE)) AS days_to_welcome
    FROM first_orders AS f
    JOIN stg_touchpoints AS t
      ON t.customer_id = f.customer_id AND list_contains($welcome_kinds, t.kind)
     AND t.occurred_at::DATE >= f.first_order_at::DATE
    GROUP BY ALL
),
welcome AS (
    SELECT r.period_role, 'welcome_coverage' AS kpi,
           count(*) FILTER (WHERE w.days_to_welcome <= $welcome_within_days) AS successes, count(*) AS n
    FROM roles AS r
    JOIN first_orders AS f ON f.first_order_at >= r.starts AND f.first_order_at < r.ends
    LEFT JOIN welcomes AS w USING (customer_id)
    GROUP BY r.period_role
),
active_12m AS (
    SELECT DISTINCT r.period_role, r.ends, c.customer_id
    FROM roles AS r
    JOIN completed AS c ON c.ordered_at >= r.ends - INTERVAL 12 MONTH AND c.ordered_at < r.ends
),
appreciated AS (
    SELECT DISTINCT a.period_role, a.customer_id
    FROM active_12m AS a
    JOIN stg_touchpoints AS t ON t.customer_id = a.customer_id
     AND t.occurred_at >= a.ends - INTERVAL 12 MONTH AND t.occurred_at < a.ends
    JOIN param_touchpoint_categories AS c ON c.kind = t.kind AND c.category = 'appreciation'
),
appreciation AS (
    SELECT a.period_role, 'appreciation_coverage' AS kpi, count(p.customer_id) AS successes, count(*) AS n
    FROM active_12m AS a
    LEFT JOIN appreciated AS p USING (period_role, customer_id)
    GROUP BY a.period_role
),
would_buy AS (
    SELECT r.period_role, 'would_buy_again' AS kpi,
           count(*) FILTER (WHERE n.would_buy_again = 'yes') AS successes, count(n.would_buy_again) AS n
    FROM roles AS r
    LEFT JOIN stg_nps_responses AS n ON n.responded_at >= r.starts AND n.responded_at < r.ends
    GROUP BY r.period_role
)
SELECT kpi, period_role, successes, n FROM welcome
UNION ALL SELECT kpi, period_role, successes, n FROM appreciation
UNION ALL SELECT kpi, period_role, successes, n FROM would_buy
ORDER BY kpi, period_role;
