-- onboarding_effect_strata: one row per horizon (90, 180 days), stratum (acquisition quarter x quartile of the
-- first order's amount) and group (activated / not_activated): customers and how many were retained. Customers:
-- first completed order before the period's end; activated = did every key event in the first week; retained at
-- h = a completed order on calendar day window_days + 1 to h after the first order (so the first week's own
-- orders count for neither group). Customers whose follow-up to day h is not over by the data's end (its last
-- order day) are left out (counted in the row 'left out: follow-up not over', group 'all'). With activity events
-- or both, day 0 is the first activity and retained means active again (first_week_followup); customers who
-- never ordered form a band of their own ('no completed order') beside the quartiles of those who did.
CREATE OR REPLACE TABLE onboarding_effect_strata AS
WITH tiers AS (
    SELECT *, date_trunc('quarter', first_day) AS cohort,
           ntile(4) OVER (PARTITION BY first_amount IS NULL ORDER BY first_amount, customer_id) AS value_tier
    FROM first_week_followup
),
windows AS (
    SELECT t.*, h.horizon_days, t.first_day + h.horizon_days <= t.last_day AS complete
    FROM tiers AS t CROSS JOIN (VALUES (90), (180)) AS h(horizon_days)
),
outcomes AS (
    SELECT *, coalesce(next_day <= first_day + horizon_days, false) AS retained
    FROM windows WHERE complete
)
SELECT horizon_days,
       strftime(cohort, '%Y') || '-Q' || quarter(cohort) || CASE WHEN first_amount IS NULL THEN ' / no completed order'
                                                                 ELSE ' / first order quartile ' || value_tier END
           AS stratum,
       CASE WHEN activated THEN 'activated' ELSE 'not_activated' END AS "group",
       count(*) AS customers, count(*) FILTER (WHERE retained) AS retained
FROM outcomes
GROUP BY ALL
UNION ALL
SELECT horizon_days, 'left out: follow-up not over', 'all', count(*) FILTER (WHERE NOT complete), 0
FROM windows GROUP BY horizon_days
ORDER BY horizon_days, stratum, "group";
