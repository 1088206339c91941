-- touchpoint_subscription_effect: one row per horizon (90, 180 days), stratum (first plan x MRR quartile, ties in
-- one, x start quarter) and group (thanked / not_thanked): subscribers, how many still paid (retained), their MRR at the start
-- (mrr_start: what their first paid day's stretches pay, monthly) and what they paid then (mrr_kept: every stretch
-- of theirs paying at that moment, so expansions count). The anchor is a customer's first paid moment
-- (subscription_periods.paid_from, MRR above zero; after any trial); "thanked" = an appreciation touchpoint after
-- it and no later than calendar day 30 after it (as touchpoint_effect's thanks after the second order); "still
-- paying at h" = a stretch of theirs paying at the start of calendar day 30 + h after it, that is h days after
-- their first paid month. Anchors before the period's end whose day 30 + h lies after the data's last moment
-- (subscription_span.last_at) are left out (and counted in the row 'left out: follow-up not over').
CREATE OR REPLACE TABLE touchpoint_subscription_effect AS
WITH paid AS (
    SELECT * FROM subscription_periods WHERE paid_from IS NOT NULL AND mrr > 0
),
firsts AS (
    SELECT customer_id, min(paid_from) AS first_paid_at FROM paid GROUP BY customer_id
),
anchors AS (  -- the stretches paying from the first paid moment: their MRR, and the plan paying most of it
    SELECT f.customer_id, f.first_paid_at, arg_max(p.plan, p.mrr) AS first_plan, sum(p.mrr) AS mrr_start,
           date_trunc('quarter', f.first_paid_at) AS start_quarter
    FROM firsts AS f
    JOIN paid AS p ON p.customer_id = f.customer_id AND p.paid_from = f.first_paid_at
    WHERE f.first_paid_at < $period_end_exclusive
    GROUP BY f.customer_id, f.first_paid_at
),
bands AS (  -- quartile of the first MRR by rank: subscribers paying the same (one plan's price) share a band
    SELECT *, 1 + (4 * (rank() OVER (ORDER BY mrr_start) - 1)) // count(*) OVER () AS mrr_band FROM anchors
),
thanked AS (
    SELECT DISTINCT a.customer_id
    FROM anchors AS a
    JOIN touchpoint_categorised AS t ON t.customer_id = a.customer_id AND t.category = 'appreciation'
     AND t.occurred_at > a.first_paid_at AND t.occurred_at::DATE <= a.first_paid_at::DATE + 30
),
windows AS (
    SELECT b.*, h.horizon_days, th.customer_id IS NOT NULL AS is_thanked,
           CAST(b.first_paid_at::DATE + 30 + h.horizon_days AS TIMESTAMP) AS outcome_at,
           CAST(b.first_paid_at::DATE + 30 + h.horizon_days AS TIMESTAMP) <= s.last_at AS complete
    FROM bands AS b CROSS JOIN subscription_span AS s CROSS JOIN (VALUES (90), (180)) AS h(horizon_days)
    LEFT JOIN thanked AS th USING (customer_id)
),
outcomes AS (
    SELECT w.horizon_days, w.customer_id, w.first_plan, w.mrr_band, w.start_quarter, w.is_thanked, w.mrr_start,
           coalesce(sum(p.mrr), 0) AS mrr_kept
    FROM windows AS w
    LEFT JOIN paid AS p ON p.customer_id = w.customer_id AND p.paid_from <= w.outcome_at
                       AND (p.valid_to IS NULL OR p.valid_to > w.outcome_at)
    WHERE w.complete
    GROUP BY ALL
)
SELECT horizon_days,
       coalesce(first_plan, '(no plan)') || ' / MRR quartile ' || mrr_band || ' / '
           || strftime(start_quarter, '%Y') || '-Q' || quarter(start_quarter) AS stratum,
       CASE WHEN is_thanked THEN 'thanked' ELSE 'not_thanked' END AS "group",
       count(*) AS customers, count(*) FILTER (WHERE mrr_kept > 0) AS retained,
       CAST(sum(mrr_start) AS DECIMAL(18, 2)) AS mrr_start, CAST(sum(mrr_kept) AS DECIMAL(18, 2)) AS mrr_kept
FROM outcomes
GROUP BY ALL
UNION ALL
SELECT horizon_days, 'left out: follow-up not over', 'all', count(*) FILTER (WHERE NOT complete), 0, 0, 0
FROM windows GROUP BY horizon_days
ORDER BY horizon_days, stratum, "group";
