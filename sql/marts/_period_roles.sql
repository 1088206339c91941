-- _period_roles: no mart of its own. Runs before the marts (file-name order): one row per comparison period
-- (period_role current, previous, year_ago) with its bounds [starts, ends) as timestamps, for every mart that
-- compares the report's period with the one before and the same period a year earlier. Temporary.
CREATE OR REPLACE TEMP TABLE period_roles AS
SELECT * FROM (VALUES
    ('current', $period_start::TIMESTAMP, $period_end_exclusive::TIMESTAMP),
    ('previous', $previous_start::TIMESTAMP, $previous_end_exclusive::TIMESTAMP),
    ('year_ago', $year_ago_start::TIMESTAMP, $year_ago_end_exclusive::TIMESTAMP)
) AS r(period_role, starts, ends);
