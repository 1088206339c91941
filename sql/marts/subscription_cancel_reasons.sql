-- subscription_cancellations: one row per cancellation asked for (a subscription and its cancelled_at; the
-- export may repeat it on several stretches: the latest stretch carrying it is the one cancelled) of a stretch
-- that paid (paid_from, mrr > 0: a trial cancelled is a lost trial, subscription_trials): the customer, the plan,
-- the MRR cancelled (mrr_lost, reporting currency) and the reason's theme. The theme is the one of the comment
-- themes (param_comment_themes, keywords matched at the start of a word as nps_theme_patterns does) that the
-- reason names first, so each cancellation has one theme and the shares add up to 100% (a tie: the theme first
-- by name); 'other' when it names none, 'no reason given' when it is blank. Temporary: the reason's own text
-- never leaves the build (subscription_reach_out and subscription_cancel_reasons read it here).
CREATE OR REPLACE TEMP TABLE subscription_cancellations AS
WITH carried AS (
    SELECT subscription_id, customer_id, plan, cancelled_at, nullif(trim(cancel_reason), '') AS reason,
           paid_from, mrr
    FROM subscription_periods
    WHERE cancelled_at IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY subscription_id, cancelled_at ORDER BY valid_from DESC, period_id DESC) = 1
),
asked AS (SELECT * EXCLUDE (paid_from) FROM carried WHERE paid_from IS NOT NULL AND mrr > 0),
theme_patterns AS (  -- one pattern per theme, its keywords' patterns as alternatives
    SELECT theme, '(' || string_agg(pattern, '|') || ')' AS pattern FROM nps_theme_patterns GROUP BY theme
),
-- A pattern that is a column is compiled anew for every row it meets: each distinct reason is matched, and only
-- against the themes whose keywords it contains (a keyword's pattern matches only where the keyword is).
reasons AS (SELECT DISTINCT lower(reason) AS text FROM asked WHERE reason IS NOT NULL),
candidates AS (
    SELECT DISTINCT r.text, k.theme FROM reasons AS r JOIN nps_theme_patterns AS k ON contains(r.text, k.keyword)
),
text_first AS (  -- where in the reason each theme is first named: the length of the text before its first match
    SELECT c.text, p.theme
    FROM candidates AS c JOIN theme_patterns AS p USING (theme)
    WHERE regexp_matches(c.text, p.pattern)
    QUALIFY row_number() OVER (
        PARTITION BY c.text ORDER BY length(regexp_replace(c.text, p.pattern || '.*$', '', 's')), p.theme) = 1
),
named_first AS (
    SELECT a.subscription_id, a.cancelled_at, t.theme
    FROM asked AS a JOIN text_first AS t ON lower(a.reason) = t.text
)
SELECT a.subscription_id, a.customer_id, a.plan, a.cancelled_at, CAST(a.mrr AS DECIMAL(18, 2)) AS mrr_lost,
       CASE WHEN a.reason IS NULL THEN 'no reason given' ELSE coalesce(n.theme, 'other') END AS reason_theme
FROM asked AS a LEFT JOIN named_first AS n USING (subscription_id, cancelled_at);

-- subscription_cancel_reasons: one row per theme (each comment theme, then 'other' and 'no reason given'; none
-- without the subscriptions export): the cancellations asked for in the period, the customers who asked them and
-- the MRR they cancel (mrr_lost, reporting currency), and the same for the 12 months to the period's end. A
-- subscription asked to cancel more than once in a window counts once there, with its last request.
CREATE OR REPLACE TABLE subscription_cancel_reasons AS
WITH themes AS (
    SELECT theme, min(position) AS position
    FROM (SELECT DISTINCT theme, 0 AS position FROM param_comment_themes
          UNION ALL SELECT 'other', 1 UNION ALL SELECT 'no reason given', 2)
    WHERE EXISTS (SELECT 1 FROM subscription_periods)
    GROUP BY theme
),
in_period AS (
    SELECT * FROM subscription_cancellations
    WHERE cancelled_at >= $period_start AND cancelled_at < $period_end_exclusive
    QUALIFY row_number() OVER (PARTITION BY subscription_id ORDER BY cancelled_at DESC) = 1
),
in_year AS (
    SELECT * FROM subscription_cancellations
    WHERE cancelled_at >= $period_end_exclusive::TIMESTAMP - INTERVAL 12 MONTH AND cancelled_at < $period_end_exclusive
    QUALIFY row_number() OVER (PARTITION BY subscription_id ORDER BY cancelled_at DESC) = 1
),
period_counts AS (
    SELECT reason_theme AS theme, count(*) AS cancellations, count(DISTINCT customer_id) AS customers,
           sum(mrr_lost) AS mrr_lost
    FROM in_period GROUP BY reason_theme
),
year_counts AS (
    SELECT reason_theme AS theme, count(*) AS cancellations, count(DISTINCT customer_id) AS customers,
           sum(mrr_lost) AS mrr_lost
    FROM in_year GROUP BY reason_theme
)
SELECT t.theme, coalesce(p.cancellations, 0) AS cancellations, coalesce(p.customers, 0) AS customers,
       CAST(coalesce(p.mrr_lost, 0) AS DECIMAL(18, 2)) AS mrr_lost,
       coalesce(y.cancellations, 0) AS cancellations_12m, coalesce(y.customers, 0) AS customers_12m,
       CAST(coalesce(y.mrr_lost, 0) AS DECIMAL(18, 2)) AS mrr_lost_12m
FROM themes AS t LEFT JOIN period_counts AS p USING (theme) LEFT JOIN year_counts AS y USING (theme)
ORDER BY t.position, cancellations DESC, cancellations_12m DESC, t.theme;
