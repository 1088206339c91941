-- onboarding_period_counts: one row per period_role (current, previous, year_ago): new_customers (first
-- completed order in [starts, ends)) and how many of them were activated (did every key event in their first
-- week), for the summary's first-week card.
CREATE OR REPLACE TABLE onboarding_period_counts AS
SELECT r.period_role, count(c.customer_id) AS new_customers, count(*) FILTER (WHERE c.activated) AS activated
FROM period_roles AS r
LEFT JOIN first_week_customers AS c ON c.first_order_at >= r.starts AND c.first_order_at < r.ends
GROUP BY r.period_role
ORDER BY CASE r.period_role WHEN 'current' THEN 1 WHEN 'previous' THEN 2 ELSE 3 END;
