-- data_quality_ranges: one row per export: the date range of its staged rows.
CREATE OR REPLACE TABLE data_quality_ranges AS
SELECT 'customers' AS export, min(created_at)::DATE AS first_day, max(created_at)::DATE AS last_day FROM stg_customers
UNION ALL SELECT 'orders', min(ordered_at)::DATE, max(ordered_at)::DATE FROM stg_orders
UNION ALL SELECT 'nps_responses', min(responded_at)::DATE, max(responded_at)::DATE FROM stg_nps_responses
UNION ALL SELECT 'touchpoints', min(occurred_at)::DATE, max(occurred_at)::DATE FROM stg_touchpoints;
