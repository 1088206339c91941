-- _01_subscription_periods: runs after the reporting currency and before _activity (file-name order), so a
-- running subscription can make a customer active. Every figure of the subscriptions page starts here.

-- subscription_periods: one row per staged stretch of a subscription at one price: its monthly recurring revenue
-- (mrr) in the reporting currency, and when it paid (paid_from: from valid_from, or from trial_end when it began
-- on trial; NULL when the whole stretch is a trial). mrr is the export's own, else amount x quantity per
-- interval_count intervals made monthly (a year is 1/12, a week 52/12, a day 365/12 of a month), in whole cents
-- rounded half up, computed in integers so that every sum after it is exact.
CREATE OR REPLACE TABLE subscription_periods AS
WITH priced AS (
    SELECT s.*,
           coalesce(s.quantity, 1) AS units,
           coalesce(s.interval_count, 1) AS intervals,
           CASE s.interval WHEN 'month' THEN 1 WHEN 'year' THEN 1 WHEN 'week' THEN 52 WHEN 'day' THEN 365 END AS per,
           CASE s.interval WHEN 'month' THEN 1 ELSE 12 END AS months,
           CASE WHEN s.currency IS NULL OR s.currency = r.currency THEN 1::DECIMAL(18, 8) ELSE x.rate END AS rate,
           r.currency AS reporting_currency
    FROM stg_subscriptions AS s
    CROSS JOIN reporting_currency AS r
    LEFT JOIN param_fx_rates AS x ON x.currency = s.currency
),
monthly AS (
    SELECT *,
           CASE WHEN mrr IS NOT NULL THEN CAST(round(mrr * 100) AS HUGEINT)
                ELSE (2 * CAST(round(amount * 100) AS HUGEINT) * units * per + intervals * months)
                     // (2 * intervals * months) END AS cents_given
    FROM priced
)
SELECT period_id, subscription_id, customer_id, plan, status, valid_from, valid_to,
       CASE WHEN trial_end > valid_from THEN CASE WHEN valid_to IS NULL OR trial_end < valid_to THEN trial_end END
            WHEN status = 'trialing' THEN NULL
            ELSE valid_from END AS paid_from,
       trial_end, cancelled_at, cancel_reason,
       CAST(round(CAST(cents_given AS DECIMAL(38, 0)) * rate) / 100 AS DECIMAL(18, 2)) AS mrr,
       currency AS currency_given, rate
FROM monthly;

-- Subscriptions in a currency without a rate: the build stops with one line, as for the orders.
CREATE OR REPLACE TEMP TABLE _subscription_currency_check AS
SELECT CASE WHEN count(*) > 0 THEN error(
    'subscriptions hold amounts in ' || string_agg(DISTINCT currency_given, ', ' ORDER BY currency_given)
    || ', which fx_rates in params gives no rate for (reporting_currency is '
    || coalesce(any_value(r.currency), 'not set: set reporting_currency and fx_rates in params') || ')') END
FROM subscription_periods CROSS JOIN reporting_currency AS r
WHERE rate IS NULL;

-- subscription_span: one row: the first month anyone paid and the data's last moment (the last stretch begun,
-- the last cancellation asked for, or the last order: a valid_to beyond it is an end already scheduled). A month
-- whose end lies after last_at is only partly covered.
CREATE OR REPLACE TABLE subscription_span AS
SELECT (SELECT min(date_trunc('month', paid_from)) FROM subscription_periods) AS first_month,
       greatest((SELECT max(valid_from) FROM subscription_periods),
                (SELECT max(cancelled_at) FROM subscription_periods),
                (SELECT max(ordered_at) FROM stg_orders)) AS last_at;

-- subscription_customer_months: one row per customer and month in which they paid at the month's end, or
-- stopped paying: their MRR at the end of the month (mrr; 0 when they stopped), at the end of the month before
-- (mrr_before) and the movement between them (ChartMogul's: new, expansion, contraction, churn, reactivation;
-- flat). A stretch counts at a month's end when it paid before the month was over and had not ended by then
-- (valid_to is exclusive: a stretch ending at midnight on the 1st counted on the last day of the month before).
-- Paying again after a month or more without is a reactivation when the last paid month was at most
-- subscriptions.reactivation_window_months before, else new business again. Months run to the period's.
CREATE OR REPLACE TABLE subscription_customer_months AS
WITH paid_months AS (
    SELECT customer_id, CAST(month AS DATE) AS month, sum(mrr) AS mrr
    FROM (
        SELECT customer_id, mrr,
               unnest(generate_series(date_trunc('month', paid_from),
                                      least(coalesce(date_trunc('month', valid_to) - INTERVAL 1 MONTH,
                                                     date_trunc('month', $period_end::TIMESTAMP)),
                                            date_trunc('month', $period_end::TIMESTAMP)),
                                      INTERVAL 1 MONTH)) AS month
        FROM subscription_periods
        WHERE paid_from IS NOT NULL AND mrr > 0
    )
    GROUP BY ALL
),
sequenced AS (
    SELECT *,
           lag(month) OVER (PARTITION BY customer_id ORDER BY month) AS last_paid_month,
           lag(mrr) OVER (PARTITION BY customer_id ORDER BY month) AS last_paid_mrr,
           lead(month) OVER (PARTITION BY customer_id ORDER BY month) AS next_paid_month
    FROM paid_months
),
with_before AS (
    SELECT customer_id, month, mrr,
           CASE WHEN last_paid_month = month - INTERVAL 1 MONTH THEN last_paid_mrr ELSE 0 END AS mrr_before,
           last_paid_month
    FROM sequenced
    UNION ALL  -- the month after a customer's last paid month before a gap (or for good): they churned
    SELECT customer_id, CAST(month + INTERVAL 1 MONTH AS DATE), 0, mrr, month
    FROM sequenced
    WHERE (next_paid_month IS NULL OR next_paid_month > month + INTERVAL 1 MONTH)
      AND month < date_trunc('month', $period_end::TIMESTAMP)
)
SELECT customer_id, month, CAST(mrr AS DECIMAL(18, 2)) AS mrr, CAST(mrr_before AS DECIMAL(18, 2)) AS mrr_before,
       CASE WHEN mrr_before = 0 AND last_paid_month IS NOT NULL
                 AND datediff('month', last_paid_month, month) <= $subscriptions_reactivation_window_months
                THEN 'reactivation'
            WHEN mrr_before = 0 THEN 'new'
            WHEN mrr = 0 THEN 'churn'
            WHEN mrr > mrr_before THEN 'expansion'
            WHEN mrr < mrr_before THEN 'contraction'
            ELSE 'flat' END AS movement
FROM with_before
ORDER BY customer_id, month;
