-- _00_reporting_currency: runs first of the marts (file-name order), so every figure after it is in one currency.
-- reporting_currency: one row: the currency all amounts are reported in ($reporting_currency, else the one
-- currency the orders give; NULL when they give none) and whether any amount was converted.
CREATE OR REPLACE TABLE reporting_currency AS
WITH named AS (SELECT DISTINCT currency FROM stg_orders WHERE currency IS NOT NULL)
SELECT coalesce(CAST($reporting_currency AS VARCHAR),
                (SELECT any_value(currency) FROM named HAVING count(*) = 1)) AS currency,
       EXISTS (SELECT 1 FROM named WHERE currency <> coalesce(CAST($reporting_currency AS VARCHAR), currency))
           AS converted;

-- order_currencies: one row per currency the staged orders give (NULL: none given, taken to be the reporting
-- currency): orders, their amount as given, and the rate to the reporting currency used (NULL: none known).
CREATE OR REPLACE TABLE order_currencies AS
SELECT o.currency, count(*) AS orders, sum(o.amount) AS amount_given,
       CASE WHEN o.currency IS NULL OR o.currency = any_value(r.currency) THEN 1 ELSE any_value(x.rate) END AS rate,
       any_value(r.currency) AS reporting_currency
FROM stg_orders AS o
CROSS JOIN reporting_currency AS r
LEFT JOIN param_fx_rates AS x ON x.currency = o.currency
GROUP BY o.currency
ORDER BY o.currency NULLS LAST;

-- Several currencies and no reporting currency, or a currency without a rate: the build stops with one line.
CREATE OR REPLACE TEMP TABLE _currency_check AS
SELECT CASE
    WHEN any_value(reporting_currency) IS NULL AND count(currency) > 1
        THEN error('orders hold amounts in ' || count(currency) || ' currencies ('
                   || string_agg(currency, ', ' ORDER BY currency)
                   || '): set reporting_currency and fx_rates in params to convert them')
    WHEN count(*) FILTER (WHERE rate IS NULL) > 0
        THEN error('orders hold amounts in ' || string_agg(currency, ', ' ORDER BY currency) FILTER (WHERE rate IS NULL)
                   || ', which fx_rates in params gives no rate for: add '
                   || string_agg(currency || ': <' || reporting_currency || ' per ' || currency || '>', ', '
                                 ORDER BY currency) FILTER (WHERE rate IS NULL)
                   || ' (reporting_currency is ' || any_value(reporting_currency) || ')')
END AS stopped
FROM order_currencies;

-- Amounts in the reporting currency, rounded to the cent order by order (exact decimal arithmetic: the
-- rate is a DECIMAL, so 10.50 at 1.17 is 12.29, never a binary 12.2849...).
UPDATE stg_orders
SET amount = round(stg_orders.amount::DECIMAL(38, 2) * c.rate, 2), currency = c.reporting_currency
FROM order_currencies AS c
WHERE stg_orders.currency = c.currency AND c.rate <> 1;
