-- zz_clv_groups: reads the predictions, which predictions.py fits and writes just before the first zz_ model
-- (warehouse.build_warehouse), so it is named to run after them.

-- clv_groups: per breakdown (everyone, the year of the first purchase, each segment column chosen) and group, of
-- the customers who bought by the period's end: how many, how many bought in the 12 months to its end (active),
-- their mean probability of still being active, the active ones now below alive_threshold (at risk), expected
-- purchases and predicted value over clv_horizon_months (sums; NULL without a spend model), and the valuable
-- customers slipping since the previous period with the predicted value they lost.
CREATE OR REPLACE TABLE clv_groups AS
WITH unit AS (SELECT CASE lower($clv_time_unit) WHEN 'days' THEN 1.0 ELSE 7.0 END AS days),
customers AS (
    SELECT p.*, s.first_day, (p.age - p.recency) * u.days <= 365 AS active_last_year
    FROM clv_predictions AS p
    JOIN clv_summaries AS s ON s.cut = 'period' AND s.customer_id = p.customer_id
    CROSS JOIN unit AS u
),
grouped AS (
    SELECT 'all' AS breakdown, 'all' AS "group", * FROM customers
    UNION ALL
    SELECT 'first purchase year', strftime(first_day, '%Y'), * FROM customers
    UNION ALL
    SELECT g.segment_column, g.segment, c.*
    FROM customers AS c JOIN cohort_segments AS g USING (customer_id)
    WHERE g.segment_column <> 'all'
)
-- Sums of doubles depend on the order the threads add them in: each value is summed as a decimal of 12 places, so
-- two builds of the same data agree to the last digit.
SELECT breakdown, "group", count(*) AS customers,
       count(*) FILTER (WHERE active_last_year) AS active_last_year,
       CAST(sum(p_alive::DECIMAL(38, 12)) AS DOUBLE) / count(*) AS mean_p_alive,
       count(*) FILTER (WHERE active_last_year AND p_alive < $alive_threshold) AS at_risk,
       CAST(sum(expected_purchases::DECIMAL(38, 12)) AS DOUBLE) AS expected_purchases,
       CAST(sum(predicted_value::DECIMAL(38, 12)) AS DOUBLE) AS predicted_value,
       count(*) FILTER (WHERE valuable_and_slipping) AS slipping,
       CAST(coalesce(sum(value_lost::DECIMAL(38, 12)) FILTER (WHERE valuable_and_slipping), 0) AS DOUBLE)
           AS slipping_value_lost
FROM grouped
GROUP BY breakdown, "group"
ORDER BY breakdown = 'all' DESC, breakdown, CASE WHEN breakdown = 'first purchase year' THEN "group" END,
         customers DESC, "group";

-- clv_alive_distribution: the customers active in the 12 months to the period's end by their probability of still
-- being active, in tenths (0-10%, ..., 90-100%).
CREATE OR REPLACE TABLE clv_alive_distribution AS
WITH unit AS (SELECT CASE lower($clv_time_unit) WHEN 'days' THEN 1.0 ELSE 7.0 END AS days),
bins AS (SELECT unnest(range(10)) AS bin),
active AS (
    SELECT least(floor(p.p_alive * 10), 9)::INTEGER AS bin
    FROM clv_predictions AS p CROSS JOIN unit AS u
    WHERE (p.age - p.recency) * u.days <= 365
)
SELECT b.bin, b.bin / 10.0 AS p_alive_from, (b.bin + 1) / 10.0 AS p_alive_to, count(a.bin) AS customers
FROM bins AS b LEFT JOIN active AS a USING (bin)
GROUP BY b.bin ORDER BY b.bin;
