-- onboarding_event_split: one row per event name done in the first week by at least min_sample of the customers
-- whose first completed order is before the period's end and whose 90-day follow-up is over (first day + 90 <=
-- the data's last order day): customers_did / retained_did (retained = a completed order on calendar day
-- window_days + 1 to 90 after the first order; with activity events or both, any activity then:
-- first_week_followup) and customers_not / retained_not for the rest of those customers.
CREATE OR REPLACE TABLE onboarding_event_split AS
WITH base AS (
    SELECT customer_id, coalesce(next_day <= first_day + 90, false) AS retained
    FROM first_week_followup
    WHERE first_day + 90 <= last_day
),
totals AS (SELECT count(*) AS customers, count(*) FILTER (WHERE retained) AS retained FROM base),
did AS (
    SELECT DISTINCT w.event, w.customer_id
    FROM first_week_events AS w
    SEMI JOIN base AS b ON b.customer_id = w.customer_id
)
SELECT d.event, 90 AS horizon_days,
       count(*) AS customers_did, count(*) FILTER (WHERE b.retained) AS retained_did,
       any_value(t.customers) - count(*) AS customers_not,
       any_value(t.retained) - count(*) FILTER (WHERE b.retained) AS retained_not
FROM did AS d
JOIN base AS b USING (customer_id)
CROSS JOIN totals AS t
GROUP BY d.event
HAVING count(*) >= $min_sample
ORDER BY d.event;
