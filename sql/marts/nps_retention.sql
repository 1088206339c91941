-- nps_retention: one row per score group and horizon (90, 180 days): identified answers up to the period's end,
-- how many had their whole window inside the data (the rest are left out and counted), and how many of those
-- placed a completed order in the window after answering (were active in it: customer_activity, a completed
-- order by default; the data's end is activity_span's, the last order of any status by default).
CREATE OR REPLACE TABLE nps_retention AS
WITH data_end AS (
    SELECT last_at AS last_order_at FROM activity_span
),
answers AS (
    SELECT response_id, customer_id, responded_at,
           CASE WHEN score >= 9 THEN 'promoter' WHEN score >= 7 THEN 'passive' ELSE 'detractor' END AS score_group
    FROM stg_nps_responses
    WHERE customer_id IS NOT NULL AND responded_at < $period_end_exclusive
),
windows AS (
    SELECT a.*, h.horizon_days,
           a.responded_at + to_days(h.horizon_days) <= d.last_order_at AS window_complete
    FROM answers AS a, data_end AS d, (VALUES (90), (180)) AS h(horizon_days)
),
retained AS (
    SELECT w.response_id, w.horizon_days
    FROM windows AS w
    JOIN customer_activity AS o
      ON o.customer_id = w.customer_id
     AND o.active_at > w.responded_at AND o.active_at <= w.responded_at + to_days(w.horizon_days)
    WHERE w.window_complete
    GROUP BY ALL
)
SELECT
    w.score_group,
    w.horizon_days,
    count(*) FILTER (WHERE w.window_complete) AS respondents,
    count(r.response_id) AS retained,
    count(*) FILTER (WHERE NOT w.window_complete) AS left_out_window_not_over
FROM windows AS w
LEFT JOIN retained AS r USING (response_id, horizon_days)
GROUP BY ALL
ORDER BY w.horizon_days, w.score_group;
