-- subscription_lives: one row per subscription that ever paid (a stretch with paid_from and mrr > 0), begun
-- paying by the data's last moment (subscription_span.last_at) and before the period's end: for the survival
-- curves of the subscriptions page. Its life begins at its first paid_from (first_plan: that stretch's plan) and
-- ends at the first gap in its paid stretches: a stretch that follows the paid ones before it without a moment
-- between (or overlapping them) continues the life; one that begins later (a cancel-and-restart under the same
-- subscription_id, or a trial or free stretch in between) does not, and counts in no life, so a customer who
-- stops paying has ended whatever they do after. ended_at is the end of the life when it lies on or before the
-- data's last moment and before the period's end; else NULL: still running, censored at the earlier of the two
-- (a scheduled end beyond the data has not happened yet). days: whole days (midnights passed) from started_at to
-- ended_at, or to that censoring moment.
CREATE OR REPLACE TABLE subscription_lives AS
WITH observed AS (
    SELECT last_at, least(last_at, $period_end_exclusive::TIMESTAMP) AS censored_at FROM subscription_span
),
paid AS (
    SELECT p.subscription_id, p.customer_id, p.plan, p.paid_from, p.valid_from, p.valid_to, p.period_id
    FROM subscription_periods AS p CROSS JOIN observed AS o
    WHERE p.paid_from IS NOT NULL AND p.mrr > 0 AND p.paid_from <= o.last_at AND p.paid_from < $period_end_exclusive
),
reached AS (  -- per stretch: the latest end of the paid stretches before it (infinity: one of them still runs)
    SELECT *,
           max(coalesce(valid_to, 'infinity'::TIMESTAMP)) OVER (
               PARTITION BY subscription_id ORDER BY paid_from, valid_from, period_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS paid_until_before,
           row_number() OVER (PARTITION BY subscription_id ORDER BY paid_from, valid_from, period_id) AS position
    FROM paid
),
gaps AS (
    SELECT *,
           sum(CASE WHEN paid_from > paid_until_before THEN 1 ELSE 0 END) OVER (
               PARTITION BY subscription_id ORDER BY position ROWS UNBOUNDED PRECEDING) AS gaps_before
    FROM reached
),
first_lives AS (
    SELECT subscription_id,
           arg_min(customer_id, position) AS customer_id,
           arg_min(plan, position) AS first_plan,
           min(paid_from) AS started_at,
           max(coalesce(valid_to, 'infinity'::TIMESTAMP)) AS paid_until
    FROM gaps
    WHERE gaps_before = 0
    GROUP BY subscription_id
),
ends AS (
    SELECT l.*,
           CASE WHEN l.paid_until <= o.last_at AND l.paid_until < $period_end_exclusive THEN l.paid_until END
               AS ended_at,
           o.censored_at
    FROM first_lives AS l CROSS JOIN observed AS o
)
SELECT subscription_id, customer_id, first_plan, started_at, ended_at,
       CAST(date_diff('day', started_at, coalesce(ended_at, censored_at)) AS INTEGER) AS days,
       ended_at IS NOT NULL AS ended,
       CAST(date_trunc('month', started_at) AS DATE) AS started_month
FROM ends
ORDER BY started_at, subscription_id;

-- subscription_lives_segments: the same lives once per segment column chosen (segment_choice, as
-- cohort_segments decides them: a value shown by name, 'other', or 'not given', also for a subscriber the
-- customers export does not hold), for the survival curves by segment.
CREATE OR REPLACE TABLE subscription_lives_segments AS
SELECT c.segment_column, coalesce(g.segment, 'not given') AS segment, l.*
FROM subscription_lives AS l
CROSS JOIN (SELECT segment_column, position FROM segment_choice WHERE used) AS c
LEFT JOIN cohort_segments AS g ON g.customer_id = l.customer_id AND g.segment_column = c.segment_column
ORDER BY c.position, l.started_at, l.subscription_id;
