-- cohort_activity: one row per customer and calendar month in which they were active (customer_months' active:
-- with the default activity, orders, a completed order, status in active_statuses; with events, a counted event),
-- up to the period's end (a helper for the cohort marts; row-level, never read by notebooks). Revenue is not here:
-- cohort_revenue reads the months' revenue from the completed orders, whatever makes a customer active.
-- Temporary: a row-level step for the cohort marts, never read outside the build (no need to write it).
CREATE OR REPLACE TEMP TABLE cohort_activity AS
SELECT customer_id, month AS activity_month
FROM customer_months
WHERE active;
