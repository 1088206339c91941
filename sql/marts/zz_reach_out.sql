-- zz_reach_out: runs after every other mart (file-name order), because it merges their call lists. Holds contact
-- details: it feeds only the private reach_out.csv, never the site.

-- reach_out: one row per customer to call now, for any reason the report knows (a ticket answered late, left
-- unresolved or rated bad; a detractor not followed up; a loyal customer never thanked; a subscriber who asked to
-- cancel in the period: "asked to cancel: <plan>, <MRR lost> <currency>/month, <reason theme>", still paying or
-- not; a valuable customer whose probability of still being active fell below alive_threshold since the previous
-- period, when the predictions passed their holdout check), most valuable first (revenue up to the period's end: completed orders, and a subscriber's MRR for each
-- month paid, subscription_customer_months), cut to calls_per_week times the weeks in the period. A customer with
-- several reasons is listed once, with every reason.
CREATE OR REPLACE TABLE reach_out AS
WITH reasons AS (
    SELECT customer_id, 1 AS rank, reason FROM support_reach_out
    UNION ALL
    SELECT customer_id, 2, 'detractor (score ' || score || ' on ' || strftime(responded_at, '%Y-%m-%d')
                           || ') not followed up within ' || $detractor_followup_days || ' days'
    FROM nps_followup_list
    UNION ALL
    SELECT customer_id, 3, why_chosen FROM touchpoint_loyal_candidates
    UNION ALL
    SELECT s.customer_id, 4,
           'asked to cancel: ' || coalesce(s.plan, 'no plan named') || ', '
           || printf('%.2f', s.mrr_lost::DOUBLE) || coalesce(' ' || r.currency, '') || '/month, '
           || coalesce(nullif(s.reason_theme, ''), 'no reason given')
           || CASE WHEN s.still_running THEN ' (still paying)' ELSE ' (no longer paying)' END
    FROM subscription_reach_out AS s CROSS JOIN reporting_currency AS r
    UNION ALL
    -- Forward-looking, and only where the holdout check found the predictions reliable and the fit sees customers
    -- leave at all (clv_fit).
    SELECT p.customer_id, 5,
           'valuable and slipping: P(alive) ' || printf('%.0f%%', 100 * p.p_alive_previous) || ' at '
           || strftime($previous_end_exclusive::DATE - 1, '%Y-%m-%d') || ', ' || printf('%.0f%%', 100 * p.p_alive)
           || ' now; predicted value over ' || $clv_horizon_months || ' months '
           || printf('%.2f', p.predicted_value_previous) || ' then, ' || printf('%.2f', p.predicted_value)
           || coalesce(' ' || r.currency, '') || ' now'
    FROM clv_predictions AS p CROSS JOIN clv_fit AS f CROSS JOIN reporting_currency AS r
    WHERE f.reliable AND f.sees_leaving AND p.valuable_and_slipping
),
revenue AS (
    SELECT customer_id, sum(revenue) AS revenue
    FROM (
        SELECT customer_id, amount::DOUBLE AS revenue
        FROM stg_orders
        WHERE list_contains($active_statuses, status) AND ordered_at < $period_end_exclusive
        UNION ALL
        SELECT customer_id, mrr::DOUBLE FROM subscription_customer_months WHERE month < $period_end_exclusive
    )
    WHERE customer_id IN (SELECT customer_id FROM reasons)
    GROUP BY customer_id
),
per_customer AS (
    SELECT customer_id, string_agg(DISTINCT reason, '; ' ORDER BY reason) AS reasons, count(DISTINCT reason) AS reason_count,
           min(rank) AS first_rank
    FROM reasons GROUP BY customer_id
)
SELECT p.customer_id, c.name, c.email, c.phone, round(coalesce(r.revenue, 0), 2) AS revenue, p.reasons,
       p.reason_count
FROM per_customer AS p
JOIN stg_customers AS c USING (customer_id)
LEFT JOIN revenue AS r USING (customer_id)
QUALIFY row_number() OVER (ORDER BY coalesce(r.revenue, 0) DESC, p.first_rank, p.customer_id)
    <= $calls_per_week * ceil(date_diff('day', $period_start::DATE, $period_end_exclusive::DATE) / 7)
ORDER BY revenue DESC, p.customer_id;
