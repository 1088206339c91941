-- touchpoint_categorised (file touchpoint_all: it runs first of the touchpoint marts): one row per staged touchpoint
-- with its category from the params map ('uncategorised' for a kind the map does not name). A view: a copy of
-- every touchpoint would cost a full write for a join with a table of a dozen rows. Temporary, as the staged
-- touchpoints it reads are: a view kept in the warehouse would name a table that is gone once the build ends.
CREATE OR REPLACE TEMP VIEW touchpoint_categorised AS
SELECT t.touchpoint_id, t.customer_id, t.occurred_at, t.kind, t.channel, t.personalized,
       coalesce(c.category, 'uncategorised') AS category
FROM stg_touchpoints AS t
LEFT JOIN param_touchpoint_categories AS c USING (kind);

-- touchpoint_unmapped_kinds: one row per kind the category map does not name, with how often it occurs up to
-- the period's end (dates as text: shown as they are).
CREATE OR REPLACE TABLE touchpoint_unmapped_kinds AS
SELECT kind, count(*) AS touchpoints, strftime(min(occurred_at), '%Y-%m-%d') AS first_seen,
       strftime(max(occurred_at), '%Y-%m-%d') AS last_seen
FROM touchpoint_categorised WHERE category = 'uncategorised' AND occurred_at < $period_end_exclusive
GROUP BY kind ORDER BY touchpoints DESC, kind;
