-- data_quality_ranges: one row per export: the date range of its staged rows (recorded by staging, for every
-- export the contract declares).
CREATE OR REPLACE TABLE data_quality_ranges AS
SELECT export, first_day, last_day FROM export_ranges;
