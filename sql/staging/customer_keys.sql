-- customer_keys: no table of its own in the warehouse. Runs once the customers are staged (or derived): how
-- the other exports may name a customer, by customer_id or (Shopify, survey tools) by e-mail address, matched
-- case-insensitively; an exact customer_id wins over an e-mail address.
CREATE OR REPLACE TEMP TABLE stg_customer_keys AS
SELECT key, arg_min(customer_id, {'priority': priority, 'customer_id': customer_id}) AS customer_id
FROM (
    SELECT CASE WHEN contains(customer_id, '@') THEN lower(customer_id) ELSE customer_id END AS key,
           customer_id, 1 AS priority
    FROM stg_customers
    UNION ALL
    SELECT lower(email), customer_id, 2 FROM stg_customers WHERE email IS NOT NULL
)
GROUP BY key;
