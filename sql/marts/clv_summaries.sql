-- clv_summaries: per cut and customer, what the buy-till-you-die models (BG/NBD, Fader, Hardie & Lee 2005; Gamma-
-- Gamma, Fader & Hardie 2013) are fitted on: a customer's completed orders before the cut, grouped by calendar day
-- (two orders on one day are one purchase, as in the papers' CDNOW data): frequency (the repeat purchase days: days
-- with an order after the first), recency (first to last purchase day) and age (first purchase day to the cut's
-- last day), in $clv_time_unit (weeks: days / 7), and the mean value of the repeat purchase days (repeat_value,
-- NULL without one). Cuts: 'period' (the period's end: the predictions), 'previous' (the previous period's end:
-- who has slipped since), 'calibration' ($holdout_weeks before the period's end), whose holdout_purchases are the
-- repeat purchase days in the holdout after it, the check of how well the model predicts.
CREATE OR REPLACE TEMP TABLE clv_purchase_days AS  -- temporary: one row per customer and day with a completed order
SELECT customer_id, ordered_at::DATE AS day, sum(amount) AS value  -- exact decimals: sums in any order agree
FROM stg_orders
WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive
GROUP BY ALL;

-- One pass over the purchase days: a customer's first day (and its value) is the same at every cut they have
-- reached; their last day, count and total are counted up to each cut.
CREATE OR REPLACE TABLE clv_summaries AS
WITH cuts AS (
    SELECT 'period' AS cut, $period_end_exclusive::DATE AS cut_at
    UNION ALL SELECT 'previous', $previous_end_exclusive::DATE
    UNION ALL SELECT 'calibration', $period_end_exclusive::DATE - to_days(7 * $holdout_weeks::INTEGER)
),
cut_dates AS (
    SELECT any_value(cut_at) FILTER (WHERE cut = 'period') AS period_at,
           any_value(cut_at) FILTER (WHERE cut = 'previous') AS previous_at,
           any_value(cut_at) FILTER (WHERE cut = 'calibration') AS calibration_at
    FROM cuts
),
per_customer AS (
    SELECT d.customer_id, min(d.day) AS first_day, arg_min(d.value, d.day) AS first_value,
           max(d.day) FILTER (WHERE d.day < a.period_at) AS period_last,
           count(*) FILTER (WHERE d.day < a.period_at) AS period_days,
           sum(d.value) FILTER (WHERE d.day < a.period_at) AS period_value,
           max(d.day) FILTER (WHERE d.day < a.previous_at) AS previous_last,
           count(*) FILTER (WHERE d.day < a.previous_at) AS previous_days,
           sum(d.value) FILTER (WHERE d.day < a.previous_at) AS previous_value,
           max(d.day) FILTER (WHERE d.day < a.calibration_at) AS calibration_last,
           count(*) FILTER (WHERE d.day < a.calibration_at) AS calibration_days,
           sum(d.value) FILTER (WHERE d.day < a.calibration_at) AS calibration_value,
           count(*) FILTER (WHERE d.day >= a.calibration_at) AS holdout_purchases
    FROM clv_purchase_days AS d CROSS JOIN cut_dates AS a
    GROUP BY d.customer_id
),
per_cut AS (
    SELECT c.cut, c.cut_at, p.customer_id, p.first_day,
           CASE c.cut WHEN 'period' THEN p.period_last WHEN 'previous' THEN p.previous_last
                      ELSE p.calibration_last END AS last_day,
           CASE c.cut WHEN 'period' THEN p.period_days WHEN 'previous' THEN p.previous_days
                      ELSE p.calibration_days END AS days,
           CASE c.cut WHEN 'period' THEN p.period_value WHEN 'previous' THEN p.previous_value
                      ELSE p.calibration_value END AS value,
           p.first_value, p.holdout_purchases
    FROM cuts AS c JOIN per_customer AS p
      ON (CASE c.cut WHEN 'period' THEN p.period_days WHEN 'previous' THEN p.previous_days
                     ELSE p.calibration_days END) > 0
),
unit AS (SELECT CASE lower($clv_time_unit) WHEN 'days' THEN 1.0 ELSE 7.0 END AS days)
SELECT p.cut, p.customer_id, p.first_day, p.days - 1 AS frequency,
       datediff('day', p.first_day, p.last_day) / u.days AS recency,
       datediff('day', p.first_day, p.cut_at - INTERVAL 1 DAY) / u.days AS age,
       CAST(p.value - p.first_value AS DOUBLE) / nullif(p.days - 1, 0) AS repeat_value,
       CASE WHEN p.cut = 'calibration' THEN p.holdout_purchases END AS holdout_purchases
FROM per_cut AS p
CROSS JOIN unit AS u;  -- not sorted: 1.9 million rows at 1,000,000 customers, and their reader sorts

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
    FROM clv_purchase_days AS o
    CROSS JOIN cut AS c
    JOIN calibration USING (customer_id)
    WHERE o.day >= c.cut_at
    GROUP BY ALL
)
SELECT w.week, coalesce(b.purchases, 0) AS purchases
FROM weeks AS w LEFT JOIN bought AS b USING (week)
ORDER BY w.week;
