-- stg_nps_responses: one row per survey answer (grain: response_id). Types, names and trims
-- raw_nps_responses; unreadable or future dates, scores outside 0-10 or not integers, unknown customers and
-- duplicates go to set_aside. An empty customer_id is an anonymous answer: it counts in NPS and is skipped
-- in retention links. A customer_id that is a known customer's e-mail address links to that customer.
CREATE OR REPLACE TABLE stg_nps_responses AS
WITH source AS (
    SELECT * FROM raw_nps_responses
),
renamed AS (
    SELECT
        _file,
        _row,
        _line,
        rr_text(response_id) AS response_id,
        rr_text(customer_id) AS customer_id,
        rr_read_timestamp(responded_at, _responded_at_parsed, $timezone) AS responded_at,
        try_cast(trim(score) AS INTEGER) AS score,
        CASE WHEN try_cast(trim(score) AS DOUBLE) = try_cast(trim(score) AS INTEGER) THEN true ELSE false END AS score_is_integer,
        lower(rr_text(would_buy_again)) AS would_buy_again,
        rr_text(comment) AS comment,
        responded_at AS responded_at_raw,
        score AS score_raw,
        _exported_at,
        _date_format
    FROM source
),
linked AS (
    SELECT
        renamed.* REPLACE (coalesce(known.customer_id, renamed.customer_id) AS customer_id),
        known.customer_id IS NOT NULL AS customer_known
    FROM renamed
    LEFT JOIN stg_customer_keys AS known
      ON known.key = CASE WHEN contains(renamed.customer_id, '@') THEN lower(renamed.customer_id)
                          ELSE renamed.customer_id END
),
later_duplicates AS (  -- every row of a repeated response_id but its first in file order
    SELECT _file, _row FROM (
        SELECT _file, _row, row_number() OVER (PARTITION BY rr_text(response_id) ORDER BY _file, _row) AS nth
        FROM raw_nps_responses
        -- ids seen more than once, found by their hash (grouping 64-bit numbers is cheaper than text; rows
        -- whose hashes collide are told apart by the window above, over the ids themselves)
        WHERE hash(rr_text(response_id)) IN (SELECT hash(rr_text(response_id)) FROM raw_nps_responses GROUP BY ALL HAVING count(*) > 1)
    ) WHERE nth > 1
),
checked AS (
    SELECT
        linked.*,
        coalesce(
            CASE WHEN response_id IS NULL THEN {'column': 'response_id', 'reason': 'missing response_id', 'value': NULL} END,
            rr_date_problem('responded_at', responded_at_raw, responded_at, _date_format, _exported_at, $timezone),
            CASE WHEN score IS NULL OR NOT score_is_integer THEN {'column': 'score', 'reason': 'score is not an integer', 'value': score_raw} END,
            CASE WHEN score NOT BETWEEN 0 AND 10 THEN {'column': 'score', 'reason': 'score outside 0-10', 'value': score_raw} END,
            CASE WHEN would_buy_again IS NOT NULL AND would_buy_again NOT IN ('yes', 'no', 'unsure')
                 THEN {'column': 'would_buy_again', 'reason': 'not yes, no or unsure', 'value': would_buy_again} END,
            CASE WHEN customer_id IS NOT NULL AND NOT customer_known
                 THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
            CASE WHEN later_duplicates._row IS NOT NULL
                 THEN {'column': 'response_id', 'reason': 'duplicate response_id', 'value': response_id} END
        ) AS problem
    FROM linked LEFT JOIN later_duplicates USING (_file, _row)
)
-- What staging keeps: typed columns and where each row came from (the checks' helper columns go).
SELECT * EXCLUDE (responded_at_raw, score_raw, score_is_integer, _line, _exported_at, _date_format, customer_known)
FROM checked;

INSERT INTO set_aside BY NAME
SELECT 'nps_responses' AS export, _file AS file, _row AS row, problem['column'] AS "column",
       problem['reason'] AS reason, problem['value'] AS value
FROM stg_nps_responses WHERE problem IS NOT NULL;

DELETE FROM stg_nps_responses WHERE problem IS NOT NULL;
ALTER TABLE stg_nps_responses DROP COLUMN problem;
