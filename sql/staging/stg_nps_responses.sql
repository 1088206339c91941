-- stg_nps_responses: one row per survey answer (grain: response_id). Types, names and trims
-- raw_nps_responses; scores outside 0-10, unknown customers and duplicates go to set_aside.
-- An empty customer_id is an anonymous answer: it counts in NPS and is skipped in retention links.
CREATE OR REPLACE TEMP TABLE stg_nps_responses_checked AS
WITH source AS (
    SELECT * FROM raw_nps_responses
),
renamed AS (
    SELECT
        _file,
        _row,
        nullif(trim(response_id), '') AS response_id,
        nullif(trim(customer_id), '') AS customer_id,
        try_cast(trim(responded_at) AS TIMESTAMP) AS responded_at,
        try_cast(trim(score) AS INTEGER) AS score,
        CASE WHEN try_cast(trim(score) AS DOUBLE) = try_cast(trim(score) AS INTEGER) THEN true ELSE false END AS score_is_integer,
        nullif(lower(trim(would_buy_again)), '') AS would_buy_again,
        nullif(trim(comment), '') AS comment,
        responded_at AS responded_at_raw,
        score AS score_raw
    FROM source
)
SELECT
    *,
    coalesce(
        CASE WHEN response_id IS NULL THEN {'column': 'response_id', 'reason': 'missing response_id', 'value': NULL} END,
        CASE WHEN responded_at IS NULL THEN {'column': 'responded_at', 'reason': 'unparseable date', 'value': responded_at_raw} END,
        CASE WHEN score IS NULL OR NOT score_is_integer THEN {'column': 'score', 'reason': 'score is not an integer', 'value': score_raw} END,
        CASE WHEN score NOT BETWEEN 0 AND 10 THEN {'column': 'score', 'reason': 'score outside 0-10', 'value': score_raw} END,
        CASE WHEN would_buy_again IS NOT NULL AND would_buy_again NOT IN ('yes', 'no', 'unsure')
             THEN {'column': 'would_buy_again', 'reason': 'not yes, no or unsure', 'value': would_buy_again} END,
        CASE WHEN customer_id IS NOT NULL AND customer_id NOT IN (SELECT customer_id FROM stg_customers)
             THEN {'column': 'customer_id', 'reason': 'unknown customer', 'value': customer_id} END,
        CASE WHEN row_number() OVER (PARTITION BY response_id ORDER BY _file, _row) > 1
             THEN {'column': 'response_id', 'reason': 'duplicate response_id', 'value': response_id} END
    ) AS problem
FROM renamed;

INSERT INTO set_aside
SELECT 'nps_responses', _file, _row, problem['column'], problem['reason'], problem['value']
FROM stg_nps_responses_checked WHERE problem IS NOT NULL;

CREATE OR REPLACE TABLE stg_nps_responses AS
SELECT * EXCLUDE (problem, responded_at_raw, score_raw, score_is_integer)
FROM stg_nps_responses_checked WHERE problem IS NULL;
