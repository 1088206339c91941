-- nps_participation: one row for the period: customers surveyed (distinct customers with a `survey` touchpoint
-- in the period; when there are none, customers active in it: a completed order, or with activity events or both
-- an activity, customer_activity), how many of those answered in the
-- period (so the response rate never exceeds 100%), all answers of the period and how many were anonymous (they
-- count in NPS but cannot be tied to anyone surveyed), and how many of the period's identified detractors had no
-- touchpoint within detractor_followup_days after answering.
CREATE OR REPLACE TABLE nps_participation AS
WITH survey_touched AS (
    SELECT DISTINCT customer_id FROM stg_touchpoints
    WHERE kind = 'survey' AND customer_id IS NOT NULL
      AND occurred_at >= $period_start AND occurred_at < $period_end_exclusive
),
active AS (
    SELECT DISTINCT customer_id FROM customer_activity
    WHERE active_at >= $period_start AND active_at < $period_end_exclusive
),
surveyed AS (
    SELECT customer_id FROM survey_touched
    UNION ALL
    SELECT customer_id FROM active WHERE NOT EXISTS (SELECT 1 FROM survey_touched)
),
answers AS (
    SELECT customer_id FROM stg_nps_responses
    WHERE responded_at >= $period_start AND responded_at < $period_end_exclusive
)
SELECT
    CASE WHEN EXISTS (SELECT 1 FROM survey_touched) THEN 'survey touchpoints' ELSE 'active customers' END AS surveyed_basis,
    (SELECT count(*) FROM surveyed) AS customers_surveyed,
    (SELECT count(DISTINCT a.customer_id) FROM answers AS a JOIN surveyed AS s USING (customer_id)) AS answering_customers,
    (SELECT count(*) FROM answers) AS answers,
    (SELECT count(*) FROM answers WHERE customer_id IS NULL) AS anonymous_answers,
    (SELECT count(*) FROM nps_followup_list) AS detractors_without_followup;
