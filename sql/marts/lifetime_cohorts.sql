-- lifetime_cohorts: one row per month of first completed order: how many customers of lifetime_by_customer (those
-- early enough to be judged) placed their first order in it. The notebook marks the months that may include
-- customers from before the data (cohorts.mark_data_start) and says how many lifetimes may have begun earlier.
CREATE OR REPLACE TABLE lifetime_cohorts AS
SELECT strftime(date_trunc('month', first_day), '%Y-%m') AS cohort, count(*) AS customers
FROM lifetime_by_customer
GROUP BY ALL
ORDER BY cohort;
