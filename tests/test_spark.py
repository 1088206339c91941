"""The SQL models carried to Spark (issue 21): every mart statement transpiles, and each portable form
`spark.py` gives a DuckDB construct computes on Spark what DuckDB computes (both engines run the same inputs;
the answers are compared, not written down)."""

from __future__ import annotations

import datetime
import math
from decimal import Decimal

import duckdb
import pytest

from retention_report import spark as rs
from retention_report import warehouse

WHY = rs.missing()
needs_spark = pytest.mark.skipif(WHY is not None, reason=f"Spark cannot run here: {WHY}")


def test_every_mart_statement_is_carried_to_spark_sql():
    """Every statement of every mart parses as DuckDB SQL and comes out as Spark SQL (running them is the work
    still open, see docs/spark.md)."""
    macros = rs.Macros()
    carried = 0
    for model in warehouse.models(layers=("marts",)):
        for statement in warehouse.split_statements(model.path.read_text(encoding="utf-8")):
            kind, name, sql = rs.to_spark(statement, macros, lambda table: [("x", "int")])
            assert kind in ("create", "replace", "drop", "macro", "query"), (model.name, statement[:80])
            assert kind == "macro" or sql or kind == "drop", (model.name, statement[:80])
            carried += 1
    assert carried > 100


def test_macros_are_expanded_with_their_arguments_in_place():
    macros = rs.Macros()
    rs.to_spark("CREATE OR REPLACE TEMP MACRO half_up(n) AS greatest(1, n / 2)", macros)
    kind, _, sql = rs.to_spark("SELECT half_up(a + 1) AS h FROM t", macros)
    assert kind == "query"
    assert "half_up" not in sql.lower() and "GREATEST(1, CAST((a + 1) AS DOUBLE) / 2)" in sql


# Each case: tables (name -> SELECT that makes it, in the SQL both engines read), then DuckDB statements whose
# last is the query compared. The query's rows are sorted by every column before comparing.
CASES = {
    "series in FROM beside a table (LATERAL), empty where the end comes first": (
        {"t": "SELECT * FROM (VALUES (1, 3), (2, 0), (3, 1)) AS v(k, n)"},
        ["SELECT t.k, r.i FROM t, range(0, t.n) AS r(i)"]),
    "generate_series of months, its column named as DuckDB names it": (
        {},
        ["SELECT generate_series::DATE AS month FROM generate_series(DATE '2024-01-01', DATE '2024-04-01', "
         "INTERVAL 1 MONTH)"]),
    "a cast of an unnested series, under a NOT MATERIALIZED CTE": (
        {},
        ["WITH bounds AS NOT MATERIALIZED (SELECT DATE '2024-01-15' AS first, DATE '2024-04-02' AS last) "
         "SELECT unnest(generate_series(date_trunc('month', first), last, INTERVAL 1 MONTH))::DATE AS month "
         "FROM bounds"]),
    "avg of a decimal is a double": (
        {"t": "SELECT * FROM (VALUES (1.10::DECIMAL(18, 2)), (2.05::DECIMAL(18, 2)), (4.00::DECIMAL(18, 2))) AS v(hours)"},
        ["SELECT avg(hours) AS mean, avg(hours) FILTER (WHERE hours > 2) AS mean_above FROM t"]),
    "the k-th smallest of a group: min(x, n)[k]": (
        {"t": "SELECT * FROM (VALUES ('a', 5), ('a', 2), ('a', 9), ('b', 4)) AS v(g, x)"},
        ["SELECT g, min(x, 2)[2] AS second FROM t GROUP BY g"]),
    "HUGEINT arithmetic as DECIMAL(38, 0), its result cast as the marts cast it": (
        {"t": "SELECT * FROM (VALUES (12.34), (0.5)) AS v(amount)"},
        ["SELECT CAST(CAST(round(amount * 100) AS HUGEINT) * 3 / 100 AS DECIMAL(18, 2)) AS amount_3 FROM t"]),
    "`/` is a DOUBLE, decimals divided too": (
        {"t": "SELECT * FROM (VALUES (1.50::DECIMAL(18, 2), 4), (2.25::DECIMAL(18, 2), 3)) AS v(amount, n)"},
        ["SELECT amount / n AS per, n / 2 AS half, amount / 3.0 AS third FROM t"]),
    "any_value skips NULLs, under a FILTER": (
        {"t": "SELECT * FROM (VALUES ('p', NULL), ('p', DATE '2024-03-01'), ('q', DATE '2024-01-01')) AS v(cut, cut_at)"},
        ["SELECT any_value(cut_at) FILTER (WHERE cut = 'p') AS p_at FROM t"]),
    "intervals of days and months": (
        {},
        ["SELECT (DATE '2024-03-31' - to_days(7 * 2))::DATE AS two_weeks_before, "
         "(DATE '2024-01-31' + to_months(1))::DATE AS a_month_after"]),
    "quantile_cont of doubles interpolates as percentile does": (
        {"t": "SELECT * FROM (VALUES (1.0::DOUBLE), (2.0), (4.0), (10.0)) AS v(x)"},
        ["SELECT quantile_cont(x, 0.5) AS median, quantile_cont(x, 0.9) AS p90 FROM t"]),
    "a macro used in a query": (
        {"t": "SELECT * FROM (VALUES (1), (8), (30)) AS v(n)"},
        ["CREATE OR REPLACE TEMP MACRO rank_low(n) AS greatest(1, floor(n / 2.0 - 1.96 * sqrt(n) / 2)::BIGINT)",
         "SELECT n, rank_low(n) AS low FROM t"]),
    "UPDATE ... FROM as the table's rows after it, types kept": (
        {"orders": "SELECT * FROM (VALUES ('o1', 10.00::DECIMAL(18, 2), 'EUR'), ('o2', 5.50::DECIMAL(18, 2), 'USD'), "
                   "('o3', 1.00::DECIMAL(18, 2), NULL)) AS v(order_id, amount, currency)",
         "rates": "SELECT * FROM (VALUES ('EUR', 1.1::DECIMAL(18, 8)), ('USD', 1::DECIMAL(18, 8))) AS v(currency, rate)"},
        ["UPDATE orders SET amount = round(orders.amount::DECIMAL(38, 2) * c.rate, 2), currency = 'GBP' "
         "FROM rates AS c WHERE orders.currency = c.currency AND c.rate <> 1",
         "SELECT order_id, amount, currency FROM orders"]),
    "UPDATE without FROM": (
        {"t": "SELECT * FROM (VALUES (1, 'a'), (5, 'b')) AS v(n, label)"},
        ["UPDATE t SET label = 'big' WHERE n > 2", "SELECT n, label FROM t"]),
    "error() raised only where its condition holds": (
        {"t": "SELECT * FROM (VALUES (1), (2)) AS v(n)"},
        ["SELECT CASE WHEN count(*) > 5 THEN error('too many') END AS problem, count(*) AS n FROM t"]),
    "error() under HAVING raised only for the groups HAVING keeps": (
        {"t": "SELECT * FROM (VALUES ('a', 1, 1), ('b', 2, 3)) AS v(g, x, y)"},
        ["SELECT error('no match in ' || string_agg(g, ', ')) FROM t WHERE x > 5 HAVING count(*) > 0"]),
    "the standard UNPIVOT, figures named, NULLs dropped (period_kpis)": (
        {"t": "SELECT * FROM (VALUES ('current', 1.5::DOUBLE, NULL::DOUBLE), ('previous', 2.0, 3.0)) AS v(period_role, a, b)"},
        ["SELECT * FROM (SELECT * FROM t) UNPIVOT (value FOR metric IN (a, b))"]),
    "regexp_replace: flags, RE2's back-references, only the first match without 'g'": (
        {"t": "SELECT * FROM (VALUES ('Ann met ann and ÉLODIE, élodie', '<$>'), ('a.b$c\\d\nx.y', 'E'), (NULL, NULL)) "
              "AS v(s, r)"},
        [r"SELECT regexp_replace(s, '(^|\W)(ann)(\W|$)', '\1<\2>\3', 'gi') AS names, "
         r"regexp_replace(s, 'élodie', '[\0]', 'gi') AS accents, regexp_replace(s, 'a', '-') AS first_only, "
         r"regexp_replace(s, '([.$\\])', '\\\1', 'g') AS escaped, regexp_replace(s, 'n', '$') AS dollar, "
         r"regexp_replace(s, '(\.).*$', '\1' || chr(1) || '|', 's') AS dot_all, "
         r"regexp_replace(s, '(\.).*$', '\1END') AS to_line_end, regexp_replace(s, 'e', r, 'g') AS made_at_run_time "
         r"FROM t"]),
    "list_reduce: from the first element, from list_prepend's, from a start": (
        {"t": "SELECT * FROM (VALUES ('x', ['a', 'b']), ('y', []::VARCHAR[]), ('z', NULL)) AS v(k, l)"},
        ["SELECT k, list_reduce(list_prepend(k, l), lambda text, part: text || '+' || part) AS prepended, "
         "list_reduce(list_prepend(k, l), lambda text, part: text || part, '>') AS started, "
         "CASE WHEN array_length(l) > 0 THEN list_reduce(l, lambda a, b: a || b) END AS folded FROM t"]),
    "string_agg(DISTINCT x ORDER BY x) beside count(DISTINCT x); NULL for a group without values": (
        {"t": "SELECT * FROM (VALUES ('p', 'b'), ('p', 'a'), ('p', 'b'), ('q', NULL), ('r', 'É'), ('r', 'e')) AS v(g, x)"},
        ["SELECT g, string_agg(DISTINCT x, '; ' ORDER BY x) AS xs, count(DISTINCT x) AS n, "
         "string_agg(DISTINCT x ORDER BY x) AS comma FROM t GROUP BY g"]),
    "date_diff counts the boundaries passed: days of timestamps, months, quarters, years": (
        {"t": "SELECT * FROM (VALUES (TIMESTAMP '2022-01-15 12:53:48', TIMESTAMP '2024-07-01 00:00:00'), "
              "(TIMESTAMP '2024-01-31 23:00:00', TIMESTAMP '2024-02-01 01:00:00')) AS v(a, b)"},
        ["SELECT date_diff('day', a, b) AS days, date_diff('month', a, b) AS months, date_diff('quarter', a, b) AS "
         "quarters, date_diff('year', a, b) AS years, datediff('day', a::DATE, b::DATE) AS date_days, "
         "date_diff('month', a::DATE, b::DATE) AS date_months FROM t"]),
    "'infinity'::TIMESTAMP compares as later than any moment (subscription_lives)": (
        {"t": "SELECT * FROM (VALUES ('s1', TIMESTAMP '2024-01-01 10:00'), ('s1', NULL), ('s2', TIMESTAMP "
              "'2024-02-01 00:00')) AS v(id, valid_to)"},
        ["SELECT id, max(coalesce(valid_to, 'infinity'::TIMESTAMP)) > TIMESTAMP '2999-01-01' AS running, "
         "CASE WHEN max(coalesce(valid_to, 'infinity'::TIMESTAMP)) <= TIMESTAMP '2024-06-01' "
         "THEN max(coalesce(valid_to, 'infinity'::TIMESTAMP)) END AS ended_at, "
         "min(coalesce(valid_to, '-infinity'::DATE)) < DATE '1000-01-01' AS open_start FROM t GROUP BY id"]),
    "a recursive CTE whose recursion joins without an aggregate (onboarding_funnel's form)": (
        {"param_key_events": "SELECT * FROM (VALUES ('a', 1), ('b', 2), ('c', 3)) AS v(event, step)",
         "first_week_customers": "SELECT * FROM (VALUES ('c1', TIMESTAMP '2024-04-01 00:00'), ('c2', TIMESTAMP "
                                 "'2024-04-02 00:00'), ('c3', TIMESTAMP '2024-04-03 00:00'), ('c4', TIMESTAMP "
                                 "'2024-01-03 00:00')) AS v(customer_id, first_order_at)",
         # c1: a at the first order, b at the same moment as a (not after it), b and c later; c2: b before a,
         # a twice; c3: nothing; c4: before the period
         "first_week_events": "SELECT customer_id, event, TIMESTAMP '2024-04-01 00:00' + to_hours(h) AS occurred_at "
                              "FROM (VALUES ('c1', 'a', 0), ('c1', 'b', 0), ('c1', 'b', 5), ('c1', 'c', 5), "
                              "('c1', 'c', 9), ('c2', 'b', 25), ('c2', 'a', 26), ('c2', 'a', 26), ('c2', 'a', 30), "
                              "('c2', 'c', 40), ('c4', 'a', 1)) AS v(customer_id, event, h)"},
        [warehouse.split_statements((warehouse.SQL_DIR / "marts" / "onboarding_funnel.sql").read_text(encoding="utf-8"))[0]
         .replace("$period_start", "TIMESTAMP '2024-04-01'").replace("$period_end_exclusive", "TIMESTAMP '2024-07-01'"),
         "SELECT * FROM onboarding_funnel"]),
    # Personal data: the comments must come out redacted alike. The model's own statements, its period given.
    "nps_comments: names, email addresses and phone numbers redacted, themes found": (
        {"stg_customers": "SELECT * FROM (VALUES ('c1', 'Ann Lee'), ('c2', 'Élodie Brontë'), ('c3', 'J.R. O''Brien'), "
                          "('c4', NULL), ('c5', 'Bo')) AS v(customer_id, name)",
         "stg_nps_responses": "SELECT * FROM (VALUES "
            "('r1', 'c1', TIMESTAMP '2024-04-02 10:00', 3, 'ann here, ANN LEE again. Ann Ann! Annabel is not me; mail "
            "ann.lee@example.com or call +44 (0)20 7946 0958'), "
            "('r2', 'c2', TIMESTAMP '2024-04-03 11:00', 7, 'ÉLODIE says the price is too high, élodie brontë, phone "
            "555-123-4567, slow support'), "
            "('r3', 'c3', TIMESTAMP '2024-05-01 09:00', 5, 'J.R. O''Brien: errors everywhere (JXR is someone else), "
            "o''brien@x.org'), "
            "('r4', 'c4', TIMESTAMP '2024-05-02 09:00', 8, 'no name given; prices $5 and \\1 stay, Ann stays'), "
            "('r5', 'c5', TIMESTAMP '2024-05-03 09:00', 6, 'Bo: bob and BO and bo.'), "
            "('r6', 'c1', TIMESTAMP '2024-05-04 09:00', 9, 'Ann the promoter is left out'), "
            "('r7', 'c1', TIMESTAMP '2024-08-04 09:00', 2, 'Ann after the period is left out')"
            ") AS v(response_id, customer_id, responded_at, score, comment)",
         "param_comment_themes": "SELECT * FROM (VALUES ('price', 'price'), ('speed', 'slow'), ('bugs', 'error'), "
                                 "('money', '$5')) AS v(theme, keyword)"},
        [s.replace("$period_start", "TIMESTAMP '2024-04-01'").replace("$period_end_exclusive", "TIMESTAMP '2024-07-01'")
         for s in warehouse.split_statements((warehouse.SQL_DIR / "marts" / "nps_comments.sql").read_text(
             encoding="utf-8"))[:3]]
        + ["SELECT comment_number, answered_on, score, score_group, themes, comment FROM nps_comments"]),
}


@pytest.fixture(scope="module")
def spark_session():
    session = rs.session({"timezone": "UTC", "spark": {"master": "local[2]", "shuffle_partitions": 2}})
    yield session


def _rows(rows: list[tuple]) -> list[tuple]:
    return sorted(rows, key=lambda row: tuple((v is None, str(v)) for v in row))


def assert_same_rows(duck: list[tuple], spark: list[tuple], label: str) -> None:
    """Counts and decimals exactly, doubles to 1e-9 relative, the rest as equal values."""
    assert len(duck) == len(spark), label
    for a, b in zip(_rows(duck), _rows(spark)):
        assert len(a) == len(b), label
        for x, y in zip(a, b):
            if isinstance(x, float) or isinstance(y, float):  # a DOUBLE on both engines, close
                assert isinstance(x, float) and isinstance(y, float), (label, "types differ", a, b)
                assert math.isclose(x, y, rel_tol=1e-9), (label, a, b)
            elif isinstance(x, Decimal) or isinstance(y, Decimal):  # a DECIMAL on both, equal
                assert isinstance(x, Decimal) and isinstance(y, Decimal), (label, "types differ", a, b)
                assert x == y, (label, a, b)
            elif isinstance(x, datetime.datetime) and isinstance(y, datetime.datetime):
                assert x.replace(tzinfo=None) == y.replace(tzinfo=None), (label, a, b)
            else:
                assert x == y, (label, a, b)


@needs_spark
@pytest.mark.parametrize("label", list(CASES))
def test_a_portable_form_computes_on_spark_what_duckdb_computes(spark_session, label):
    tables, statements = CASES[label]
    con = duckdb.connect()
    runner = rs.SparkRunner(spark_session)
    for name, query in tables.items():
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {query}")
        spark_session.createDataFrame(con.sql(f"SELECT * FROM {name}").to_arrow_table()).createOrReplaceTempView(name)
    *setup, query = statements
    for statement in setup:
        con.execute(statement)
        runner.execute(statement, {})
    duck = con.execute(query).fetchall()
    spark = [tuple(row) for row in runner.query(query, {})]
    assert_same_rows(duck, spark, label)


@needs_spark
def test_error_stops_spark_as_it_stops_duckdb(spark_session):
    con = duckdb.connect()
    statement = "SELECT CASE WHEN 1 > 0 THEN error('params: reporting_currency is needed') END AS problem"
    with pytest.raises(duckdb.Error, match="reporting_currency is needed"):
        con.execute(statement).fetchall()
    with pytest.raises(Exception, match="reporting_currency is needed"):
        rs.SparkRunner(spark_session).query(statement, {})
