-- cohort_bounds: one row: how far the data lets the period be observed (a month is complete only when it
-- ended on or before observed_until, the earlier of the period's end and the day after the last order). The
-- data is what activity is read from (activity_span): the orders (any status) by default, the events with
-- activity events, both with both.
CREATE OR REPLACE TABLE cohort_bounds AS
SELECT
    $period_start::DATE AS period_start,
    $period_end_exclusive::DATE AS period_end_exclusive,
    first_at::DATE AS data_first_day,
    last_at::DATE AS data_last_day,
    least($period_end_exclusive::DATE, last_at::DATE + 1) AS observed_until
FROM activity_span;
