-- support_response: one row per breakdown ('all', 'channel', 'category', or a segment column) and value, for the
-- tickets created in the period: tickets, answered (at any time in the data), due (answered, or unanswered and
-- older than the target at the period's end), within_target (answered within response_target_hours), the first
-- response's median with its 95% interval (distribution-free: the order statistics at ranks n/2 -/+ 1.96 sqrt(n)/2,
-- Conover's approximation) and 90th percentile in hours; resolved (known or said by the status), the resolution
-- time's median and 90th percentile of those with a time.
-- support_resolution_bounds: the same interval for the median resolution time, per breakdown and value (a table of its
-- own: support_response's columns stay as recorded).

-- The 1-based ranks of a median's 95% interval among n sorted values (Conover's approximation).
CREATE OR REPLACE TEMP MACRO rr_median_rank_low(n) AS greatest(1, floor(n / 2.0 - 1.959964 * sqrt(n) / 2)::BIGINT);
CREATE OR REPLACE TEMP MACRO rr_median_rank_high(n) AS least(n, ceil(1 + n / 2.0 + 1.959964 * sqrt(n) / 2)::BIGINT);

-- The period's tickets once per breakdown they are counted in.
CREATE OR REPLACE TEMP TABLE support_keyed_tickets AS
WITH period_tickets AS (
    SELECT * FROM support_ticket_facts WHERE created_at >= $period_start AND created_at < $period_end_exclusive
)
SELECT 'all' AS breakdown, 'all' AS value, * FROM period_tickets
UNION ALL SELECT 'channel', channel, * FROM period_tickets
UNION ALL SELECT 'category', category, * FROM period_tickets
UNION ALL
SELECT s.segment_column, s.segment, t.*
FROM period_tickets AS t JOIN cohort_segments AS s ON s.customer_id = t.customer_id AND s.segment_column <> 'all';

CREATE OR REPLACE TABLE support_response AS
WITH keyed AS (SELECT * FROM support_keyed_tickets),
ranked AS (
    SELECT breakdown, value, first_response_hours,
           row_number() OVER (PARTITION BY breakdown, value ORDER BY first_response_hours) AS r,
           count(*) OVER (PARTITION BY breakdown, value) AS n
    FROM keyed WHERE first_response_hours IS NOT NULL
),
median_bounds AS (
    SELECT breakdown, value,
           max(first_response_hours) FILTER (WHERE r = rr_median_rank_low(n)) AS median_ci_low,
           max(first_response_hours) FILTER (WHERE r = rr_median_rank_high(n)) AS median_ci_high
    FROM ranked GROUP BY breakdown, value
)
SELECT k.breakdown, k.value, count(*) AS tickets, count(k.answered_at) AS answered,
       count(*) FILTER (WHERE k.answered_at IS NOT NULL OR k.due_at <= $period_end_exclusive) AS due,
       count(*) FILTER (WHERE NOT k.late_if_due) AS within_target,
       quantile_cont(k.first_response_hours, 0.5) AS median_first_response_hours,
       any_value(m.median_ci_low) AS median_ci_low, any_value(m.median_ci_high) AS median_ci_high,
       quantile_cont(k.first_response_hours, 0.9) AS p90_first_response_hours,
       count(*) FILTER (WHERE k.resolved) AS resolved,
       quantile_cont(k.resolution_hours, 0.5) AS median_resolution_hours,
       quantile_cont(k.resolution_hours, 0.9) AS p90_resolution_hours,
       count(k.satisfied) AS rated, count(*) FILTER (WHERE k.satisfied) AS satisfied
FROM keyed AS k LEFT JOIN median_bounds AS m USING (breakdown, value)
GROUP BY k.breakdown, k.value
ORDER BY k.breakdown = 'all' DESC, k.breakdown, tickets DESC, k.value;

CREATE OR REPLACE TABLE support_resolution_bounds AS
WITH ranked AS (
    SELECT breakdown, value, resolution_hours,
           row_number() OVER (PARTITION BY breakdown, value ORDER BY resolution_hours) AS r,
           count(*) OVER (PARTITION BY breakdown, value) AS n
    FROM support_keyed_tickets WHERE resolution_hours IS NOT NULL
)
SELECT breakdown, value,
       max(resolution_hours) FILTER (WHERE r = rr_median_rank_low(n)) AS median_resolution_ci_low,
       max(resolution_hours) FILTER (WHERE r = rr_median_rank_high(n)) AS median_resolution_ci_high
FROM ranked
GROUP BY breakdown, value
ORDER BY breakdown, value;
