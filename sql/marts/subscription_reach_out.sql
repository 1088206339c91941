-- subscription_reach_out: one row per customer who asked to cancel a paying subscription in the period
-- (subscription_cancellations; a subscription asked more than once counts once, with its last request): the MRR
-- their cancelled subscriptions bring (mrr_lost, reporting currency), the plan and reason theme of the one that
-- brings most (ties: the later request, then the subscription id), and still_running: a subscription of theirs
-- still paying at the data's last moment (a cancellation takes effect at the end of the time paid for, or was
-- taken back). Private: it feeds only reach_out.csv (zz_reach_out.sql).
CREATE OR REPLACE TABLE subscription_reach_out AS
WITH asked AS (
    SELECT * FROM subscription_cancellations
    WHERE cancelled_at >= $period_start AND cancelled_at < $period_end_exclusive AND customer_id IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY subscription_id ORDER BY cancelled_at DESC) = 1
),
running AS (
    SELECT DISTINCT p.customer_id
    FROM subscription_periods AS p CROSS JOIN subscription_span AS s
    WHERE p.paid_from IS NOT NULL AND p.mrr > 0 AND p.paid_from <= s.last_at
      AND (p.valid_to IS NULL OR p.valid_to > s.last_at)
),
per_customer AS (
    SELECT customer_id, plan, reason_theme, sum(mrr_lost) OVER (PARTITION BY customer_id) AS mrr_lost
    FROM asked
    QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY mrr_lost DESC, cancelled_at DESC,
                                                                 subscription_id) = 1
)
SELECT c.customer_id, c.plan, CAST(c.mrr_lost AS DECIMAL(18, 2)) AS mrr_lost, c.reason_theme,
       r.customer_id IS NOT NULL AS still_running
FROM per_customer AS c LEFT JOIN running AS r USING (customer_id)
ORDER BY c.mrr_lost DESC, c.customer_id;
