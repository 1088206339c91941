-- nps_followup_list: one row per identified detractor answer of the period with no touchpoint within
-- detractor_followup_days after it. Holds contact details: it feeds only the private follow-up file.
CREATE OR REPLACE TABLE nps_followup_list AS
SELECT r.response_id, r.customer_id, c.name, c.email, c.phone, r.responded_at, r.score
FROM stg_nps_responses AS r
JOIN stg_customers AS c USING (customer_id)
WHERE r.score <= 6 AND r.responded_at >= $period_start AND r.responded_at < $period_end_exclusive
  AND NOT EXISTS (
      SELECT 1 FROM stg_touchpoints AS t
      WHERE t.customer_id = r.customer_id AND t.occurred_at > r.responded_at
        AND t.occurred_at <= r.responded_at + to_days($detractor_followup_days::INTEGER)
  )
ORDER BY r.responded_at, r.response_id;
