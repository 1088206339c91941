-- nps_theme_patterns: one row per theme keyword: a pattern matching the keyword at the start of a word
-- ("error" matches "errors", not "onerror"), with regular-expression characters in the keyword escaped.
CREATE OR REPLACE TABLE nps_theme_patterns AS
SELECT theme, keyword, '\b' || regexp_replace(keyword, '([.^$*+?()\[\]{}|\\])', '\\\1', 'g') AS pattern
FROM param_comment_themes;

-- nps_comments: one row per comment of the period's detractors and passives, with email addresses, phone numbers
-- and the customer's own name replaced by placeholders before the text leaves the warehouse. No customer id.
-- The name is matched case-insensitively, whole and by each of its parts ("ann" in a comment of Ann Lee's), as a
-- whole word; each pattern is applied twice because a match takes the character after it ("Ann Ann"). Matches are
-- marked with control characters first and spelt out as placeholders last, so no pattern can match a placeholder.
-- (The body in parentheses: sqlglot, which carries it to Spark, parses no macro body that starts with a string.)
CREATE OR REPLACE TEMP MACRO rr_name_pattern(part) AS
    ('(^|[^\pL\pN])(' || regexp_replace(part, '([.^$*+?()\[\]{}|\\])', '\\\1', 'g') || ')([^\pL\pN]|$)');

CREATE OR REPLACE TABLE nps_comments AS
WITH answers AS (
    SELECT r.response_id, r.responded_at, r.score, r.comment,
           list_filter(list_prepend(trim(c.name), regexp_split_to_array(trim(c.name), '\s+')), lambda part: length(part) >= 2)
               AS name_parts
    FROM stg_nps_responses AS r
    LEFT JOIN stg_customers AS c USING (customer_id)
    WHERE r.comment IS NOT NULL AND r.score <= 8
      AND r.responded_at >= $period_start AND r.responded_at < $period_end_exclusive
),
marked AS (  -- addresses and numbers first: a name inside an email address must not break it up
    SELECT response_id, responded_at, score,
           list_reduce(
               list_prepend(
                   regexp_replace(
                       regexp_replace(replace(replace(replace(comment, chr(1), ''), chr(2), ''), chr(3), ''),
                                      '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}', chr(2), 'g'),
                       '[(+]*[0-9][0-9 ()./-]{6,}[0-9]', chr(3), 'g'),
                   coalesce(name_parts, [])),
               -- A pattern that differs per row is compiled per call: only comments holding the part at all
               -- (in either case) reach it, and CASE evaluates the regular expressions for those rows only.
               lambda text, part: CASE
                   WHEN contains(lower(text), lower(part)) OR contains(upper(text), upper(part)) THEN
                       regexp_replace(regexp_replace(text, rr_name_pattern(part), '\1' || chr(1) || '\3', 'gi'),
                                      rr_name_pattern(part), '\1' || chr(1) || '\3', 'gi')
                   ELSE text END
           ) AS comment
    FROM answers
),
redacted AS (
    SELECT response_id, responded_at, score,
           replace(replace(replace(comment, chr(1), '[name]'), chr(2), '[email]'), chr(3), '[phone]') AS comment
    FROM marked
)
SELECT row_number() OVER (ORDER BY r.responded_at, r.response_id) AS comment_number,
       strftime(r.responded_at, '%Y-%m-%d') AS answered_on, r.score,
       CASE WHEN r.score <= 6 THEN 'detractor' ELSE 'passive' END AS score_group,
       coalesce(string_agg(DISTINCT t.theme, '; ' ORDER BY t.theme), '') AS themes,
       r.comment
FROM redacted AS r
-- contains() first (a CASE, so the optimizer keeps the order): the pattern differs per row, so each
-- regexp_matches call compiles it; only comments holding the keyword at all reach it.
LEFT JOIN nps_theme_patterns AS t ON CASE WHEN contains(lower(r.comment), t.keyword) THEN regexp_matches(lower(r.comment), t.pattern) ELSE false END
GROUP BY r.response_id, r.responded_at, r.score, r.comment
ORDER BY comment_number;

-- nps_themes: one row per theme of the keyword map (param_comment_themes): how many of the period's detractor
-- and passive comments mention it, and the answers (all groups) whose comment mentions it, for its NPS.
CREATE OR REPLACE TABLE nps_themes AS
WITH period_answers AS (
    SELECT response_id, score, lower(comment) AS text FROM stg_nps_responses
    WHERE comment IS NOT NULL AND responded_at >= $period_start AND responded_at < $period_end_exclusive
),
mentions AS (
    SELECT DISTINCT t.theme, a.response_id, a.score
    FROM period_answers AS a JOIN nps_theme_patterns AS t ON CASE WHEN contains(a.text, t.keyword) THEN regexp_matches(a.text, t.pattern) ELSE false END
)
SELECT
    t.theme,
    count(m.response_id) FILTER (WHERE m.score <= 8) AS unhappy_comments,
    count(m.response_id) AS responses,
    count(m.response_id) FILTER (WHERE m.score >= 9) AS promoters,
    count(m.response_id) FILTER (WHERE m.score BETWEEN 7 AND 8) AS passives,
    count(m.response_id) FILTER (WHERE m.score <= 6) AS detractors
FROM (SELECT DISTINCT theme FROM param_comment_themes) AS t
LEFT JOIN mentions AS m USING (theme)
GROUP BY t.theme
ORDER BY unhappy_comments DESC, t.theme;

-- nps_theme_examples: up to three of the latest redacted detractor or passive comments per theme.
CREATE OR REPLACE TABLE nps_theme_examples AS
SELECT theme, answered_on, score, comment
FROM (
    SELECT DISTINCT t.theme, c.comment_number, c.answered_on, c.score, c.comment
    FROM nps_comments AS c JOIN nps_theme_patterns AS t
      ON CASE WHEN contains(lower(c.comment), t.keyword) THEN regexp_matches(lower(c.comment), t.pattern) ELSE false END
)
QUALIFY row_number() OVER (PARTITION BY theme ORDER BY answered_on DESC, comment_number DESC) <= 3
ORDER BY theme, answered_on DESC;
