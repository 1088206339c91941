-- subscription_trials: one row per month of the 24 to the period's end (from the month the first subscription
-- began): the trials begun in it (subscriptions whose first stretch began on trial: a trial_end after valid_from,
-- or status trialing) and what became of them by the data's last moment, at most the period's end (as for
-- subscription_lives): converted (a paid stretch with mrr > 0 followed), lost (the subscription ended without
-- one) or undecided (neither yet: still on trial). coverage: 'no data' for a month begun after the data's last
-- moment, 'partial' for one ending after it, else 'full'. Conversion = converted / (converted + lost), on the page.
CREATE OR REPLACE TABLE subscription_trials AS
WITH observed AS (
    SELECT first_began, s.last_at
    FROM subscription_span AS s
    CROSS JOIN (SELECT min(valid_from) AS first_began FROM subscription_periods)
),
subscriptions AS (
    SELECT subscription_id,
           min(valid_from) AS began_at,
           arg_min(coalesce(trial_end > valid_from, false) OR coalesce(status = 'trialing', false), valid_from)
               AS began_on_trial,
           min(paid_from) FILTER (WHERE mrr > 0) AS first_paid_at,
           CASE WHEN bool_or(valid_to IS NULL) THEN NULL ELSE max(valid_to) END AS ended_at
    FROM subscription_periods
    GROUP BY subscription_id
),
trials AS (
    SELECT CAST(date_trunc('month', t.began_at) AS DATE) AS month,
           t.first_paid_at <= o.last_at AND t.first_paid_at < $period_end_exclusive AS converted,
           t.ended_at <= o.last_at AND t.ended_at < $period_end_exclusive AS ended
    FROM subscriptions AS t CROSS JOIN observed AS o
    WHERE t.began_on_trial AND t.began_at < $period_end_exclusive
      AND t.began_at >= date_trunc('month', $period_end::TIMESTAMP) - INTERVAL 23 MONTH
),
months AS (
    SELECT CAST(unnest(generate_series(greatest(date_trunc('month', first_began),
                                                date_trunc('month', $period_end::TIMESTAMP) - INTERVAL 23 MONTH),
                                       date_trunc('month', $period_end::TIMESTAMP), INTERVAL 1 MONTH)) AS DATE)
               AS month
    FROM observed WHERE first_began IS NOT NULL
),
counted AS (
    SELECT month, count(*) AS trials,
           count(*) FILTER (WHERE coalesce(converted, false)) AS converted,
           count(*) FILTER (WHERE NOT coalesce(converted, false) AND coalesce(ended, false)) AS lost
    FROM trials GROUP BY month
)
SELECT m.month, coalesce(c.trials, 0) AS trials, coalesce(c.converted, 0) AS converted, coalesce(c.lost, 0) AS lost,
       coalesce(c.trials - c.converted - c.lost, 0) AS undecided,
       CASE WHEN m.month > o.last_at THEN 'no data'
            WHEN m.month + INTERVAL 1 MONTH > o.last_at THEN 'partial' ELSE 'full' END AS coverage
FROM months AS m
CROSS JOIN observed AS o
LEFT JOIN counted AS c USING (month)
ORDER BY m.month;
