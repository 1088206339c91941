-- cohort_bounds: one row: how far the data lets the period be observed (a month is complete only when it
-- ended on or before observed_until, the earlier of the period's end and the day after the last order).
CREATE OR REPLACE TABLE cohort_bounds AS
SELECT
    $period_start::DATE AS period_start,
    $period_end_exclusive::DATE AS period_end_exclusive,
    min(ordered_at)::DATE AS data_first_day,
    max(ordered_at)::DATE AS data_last_day,
    least($period_end_exclusive::DATE, max(ordered_at)::DATE + 1) AS observed_until
FROM stg_orders;
