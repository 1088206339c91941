-- touchpoint_appreciation: one row per segment (segment_column 'all' for everyone) of the customers active
-- (a completed order; with activity events or both, customer_activity) in the 12 months to the period's end: who was appreciated in that time, who was only
-- ever contacted with promotional or obligation messages, and the touchpoint counts behind the ratios.
CREATE OR REPLACE TABLE touchpoint_appreciation AS
WITH active AS (
    SELECT DISTINCT customer_id FROM customer_activity
    WHERE active_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH AND active_at < $period_end_exclusive
),
per_customer AS (
    SELECT a.customer_id,
           count(t.touchpoint_id) FILTER (WHERE t.category = 'appreciation'
               AND t.occurred_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH) AS appreciation_12m,
           count(t.touchpoint_id) FILTER (WHERE t.category = 'promotional'
               AND t.occurred_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH) AS promotional_12m,
           count(t.touchpoint_id) FILTER (WHERE t.occurred_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH) AS touchpoints_12m,
           count(t.touchpoint_id) FILTER (WHERE t.personalized
               AND t.occurred_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH) AS personalised_12m,
           count(t.touchpoint_id) AS touchpoints_ever,
           count(t.touchpoint_id) FILTER (WHERE t.category IN ('promotional', 'obligation')) AS promo_or_obligation_ever,
           max(t.occurred_at) FILTER (WHERE t.category = 'appreciation') AS last_appreciation_at
    FROM active AS a
    LEFT JOIN touchpoint_categorised AS t
      ON t.customer_id = a.customer_id AND t.occurred_at < $period_end_exclusive
    GROUP BY a.customer_id
)
SELECT
    s.segment_column,
    s.segment,
    count(*) AS customers,
    count(*) FILTER (WHERE p.appreciation_12m > 0) AS appreciated_12m,
    count(*) FILTER (WHERE p.touchpoints_ever > 0 AND p.promo_or_obligation_ever = p.touchpoints_ever)
        AS only_promotional_or_obligation,
    sum(p.appreciation_12m) AS appreciation_touchpoints,
    sum(p.promotional_12m) AS promotional_touchpoints,
    sum(p.touchpoints_12m) AS touchpoints,
    sum(p.personalised_12m) AS personalised_touchpoints
FROM per_customer AS p
JOIN cohort_segments AS s USING (customer_id)
GROUP BY s.segment_column, s.segment
ORDER BY segment_column = 'all' DESC, segment_column, segment;

-- touchpoint_since_appreciation: one row per bucket of days since the last appreciation touchpoint, for the
-- customers active in the 12 months to the period's end.
CREATE OR REPLACE TABLE touchpoint_since_appreciation AS
WITH active AS (
    SELECT DISTINCT customer_id FROM customer_activity
    WHERE active_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH AND active_at < $period_end_exclusive
),
last_touch AS (
    SELECT a.customer_id,
           date_diff('day', max(t.occurred_at)::DATE, $period_end::DATE) AS days_since
    FROM active AS a
    LEFT JOIN touchpoint_categorised AS t ON t.customer_id = a.customer_id AND t.category = 'appreciation'
     AND t.occurred_at < $period_end_exclusive
    GROUP BY a.customer_id
),
buckets AS (
    SELECT * FROM (VALUES (1, '0-30 days', 0, 30), (2, '31-90 days', 31, 90), (3, '91-180 days', 91, 180),
                          (4, '181-365 days', 181, 365), (5, 'over a year', 366, 1000000), (6, 'never', NULL, NULL))
        AS b(position, bucket, low, high)
)
SELECT b.bucket, count(l.customer_id) AS customers
FROM buckets AS b
LEFT JOIN last_touch AS l
  ON (b.low IS NULL AND l.days_since IS NULL) OR (l.days_since BETWEEN b.low AND b.high)
GROUP BY b.position, b.bucket
ORDER BY b.position;
