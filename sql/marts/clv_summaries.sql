-- clv_summaries: per cut and customer, what the buy-till-you-die models (BG/NBD, Fader, Hardie & Lee 2005; Gamma-
-- Gamma, Fader & Hardie 2013) are fitted on: a customer's completed orders before the cut, grouped by calendar day
-- (two orders on one day are one purchase, as in the papers' CDNOW data): frequency (the repeat purchase days: days
-- with an order after the first), recency (first to last purchase day) and age (first purchase day to the cut's
-- last day), in $clv_time_unit (weeks: days / 7), and the mean value of the repeat purchase days (repeat_value,
-- NULL without one). Cuts: 'period' (the period's end: the predictions), 'previous' (the previous period's end:
-- who has slipped since), 'calibration' ($holdout_weeks before the period's end), whose holdout_purchases are the
-- repeat purchase days in the holdout after it, the check of how well the model predicts.
CREATE OR REPLACE TABLE clv_summaries AS
WITH cuts AS (
    SELECT 'period' AS cut, $period_end_exclusive::DATE AS cut_at
    UNION ALL SELECT 'previous', $previous_end_exclusive::DATE
    UNION ALL SELECT 'calibration', $period_end_exclusive::DATE - to_days(7 * $holdout_weeks::INTEGER)
),
purchase_days AS (
    SELECT customer_id, ordered_at::DATE AS day, sum(amount) AS value  -- exact decimals: sums in any order agree
    FROM stg_orders
    WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive
    GROUP BY ALL
),
per_cut AS (
    SELECT c.cut, any_value(c.cut_at) AS cut_at, d.customer_id, min(d.day) AS first_day, max(d.day) AS last_day,
           count(*) - 1 AS frequency,
           CAST(sum(d.value) - arg_min(d.value, d.day) AS DOUBLE) / nullif(count(*) - 1, 0) AS repeat_value
    FROM cuts AS c JOIN purchase_days AS d ON d.day < c.cut_at
    GROUP BY c.cut, d.customer_id
),
holdout AS (
    SELECT p.customer_id, count(*) AS holdout_purchases
    FROM per_cut AS p
    JOIN purchase_days AS d ON d.customer_id = p.customer_id AND d.day >= p.cut_at
    WHERE p.cut = 'calibration'
    GROUP BY p.customer_id
),
unit AS (SELECT CASE lower($clv_time_unit) WHEN 'days' THEN 1.0 ELSE 7.0 END AS days)
SELECT p.cut, p.customer_id, p.first_day, p.frequency,
       datediff('day', p.first_day, p.last_day) / u.days AS recency,
       datediff('day', p.first_day, p.cut_at - INTERVAL 1 DAY) / u.days AS age,
       p.repeat_value,
       CASE WHEN p.cut = 'calibration' THEN coalesce(h.holdout_purchases, 0) END AS holdout_purchases
FROM per_cut AS p
CROSS JOIN unit AS u
LEFT JOIN holdout AS h ON p.cut = 'calibration' AND h.customer_id = p.customer_id
ORDER BY p.cut, p.customer_id;

-- clv_holdout_weekly: the repeat purchase days of the calibration's customers in each week of the holdout (week 1
-- starts at the calibration cut): the actual line of the papers' tracking plot.
CREATE OR REPLACE TABLE clv_holdout_weekly AS
WITH calibration AS (
    SELECT customer_id FROM clv_summaries WHERE cut = 'calibration'
),
weeks AS (SELECT unnest(range(1, $holdout_weeks::INTEGER + 1)) AS week),
cut AS (SELECT $period_end_exclusive::DATE - to_days(7 * $holdout_weeks::INTEGER) AS cut_at),
bought AS (
    SELECT 1 + datediff('day', c.cut_at, o.day) // 7 AS week, count(*) AS purchases
    FROM (SELECT DISTINCT customer_id, ordered_at::DATE AS day FROM stg_orders
          WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive) AS o
    CROSS JOIN cut AS c
    JOIN calibration USING (customer_id)
    WHERE o.day >= c.cut_at
    GROUP BY ALL
)
SELECT w.week, coalesce(b.purchases, 0) AS purchases
FROM weeks AS w LEFT JOIN bought AS b USING (week)
ORDER BY w.week;
