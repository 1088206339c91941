-- nps_participation: one row for the period: customers surveyed (distinct customers with a `survey` touchpoint
-- in the period; when there are none, customers with a completed order in it), identified answers, and how
-- many of the period's identified detractors had no touchpoint within detractor_followup_days after answering.
CREATE OR REPLACE TABLE nps_participation AS
WITH surveyed AS (
    SELECT count(DISTINCT customer_id) AS n FROM stg_touchpoints
    WHERE kind = 'survey' AND occurred_at >= $period_start AND occurred_at < $period_end_exclusive
),
active AS (
    SELECT count(DISTINCT customer_id) AS n FROM stg_orders
    WHERE list_contains($active_statuses, status) AND ordered_at >= $period_start AND ordered_at < $period_end_exclusive
),
answers AS (
    SELECT count(DISTINCT customer_id) AS answering_customers, count(*) AS answers
    FROM stg_nps_responses
    WHERE customer_id IS NOT NULL AND responded_at >= $period_start AND responded_at < $period_end_exclusive
)
SELECT
    CASE WHEN s.n > 0 THEN 'survey touchpoints' ELSE 'active customers' END AS surveyed_basis,
    CASE WHEN s.n > 0 THEN s.n ELSE a.n END AS customers_surveyed,
    ans.answering_customers,
    ans.answers,
    (SELECT count(*) FROM nps_followup_list) AS detractors_without_followup
FROM surveyed AS s, active AS a, answers AS ans;
