"""Computed-column expressions: what compiles runs right in DuckDB over text columns; the rest is refused."""

from __future__ import annotations

import re
from decimal import Decimal

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from retention_report.expressions import (ALLOWED_ANONYMOUS, ALLOWED_FUNCTIONS, MAX_LENGTH, ExpressionError,
                                          compile_expression)

PARAM = "exports.orders.compute.amount"
COLUMNS = ["InvoiceNo", "Quantity", "UnitPrice", "InvoiceDate", "Description", "Unit Price"]
ROWS = [  # all text, as staging sees the raw export
    ("536365", "6", "2.55", "01/12/2010", "WHITE HANGING HEART", "2.55"),
    ("C536379", "-1", " 27.50 ", "01/12/2010", "Discount;manual", "27.5"),
    ("536370", "n/a", "", "13/01/2011", None, None),
]


def evaluate(expression: str, rows=ROWS, columns=COLUMNS) -> list:
    """The compiled expression's value per row, run over a table of VARCHAR columns like the raw export."""
    sql = compile_expression(PARAM, expression, columns)
    con = duckdb.connect()
    quoted = ['"' + c.replace('"', '""') + '"' for c in columns]
    con.execute("CREATE TABLE t (" + ", ".join(f"{q} VARCHAR" for q in quoted) + ")")
    con.executemany(f"INSERT INTO t VALUES ({', '.join('?' for _ in columns)})", rows)
    # Row order kept by rowid; the caller casts to text, so check that cast works too.
    values = con.execute(f"SELECT {sql}, CAST({sql} AS VARCHAR) FROM t ORDER BY rowid").fetchall()
    return [value for value, _ in values]


# --- Expressions that compile and give the right values ------------------------------------------------

def test_arithmetic_on_text_columns_casts_them_to_numbers():
    amounts = evaluate("Quantity * UnitPrice")
    assert amounts[0] == pytest.approx(15.3)
    assert amounts[1] == pytest.approx(-27.5)  # ' 27.50 ' trimmed before the cast
    assert amounts[2] is None  # 'n/a' and '' are not numbers: NULL, not an error


def test_rounded_amount_is_exact_as_text():
    sql = compile_expression(PARAM, "round(Quantity * UnitPrice, 2)", COLUMNS)
    rows = duckdb.connect().execute(
        f"SELECT CAST({sql} AS VARCHAR) FROM (SELECT '6' AS Quantity, '2.55' AS UnitPrice)").fetchall()
    assert rows == [("15.3",)]


def test_case_on_text_column():
    assert evaluate("CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END") == [
        "completed", "cancelled", "completed"]


def test_constant():
    assert evaluate("'GBP'") == ["GBP"] * 3


def test_columns_matched_case_insensitively_and_quoted_as_in_the_file():
    sql = compile_expression(PARAM, 'quantity * "unit price"', COLUMNS)
    assert '"Quantity"' in sql and '"Unit Price"' in sql
    assert evaluate('quantity * "unit price"')[0] == pytest.approx(15.3)


def test_typing_rule_number_contexts_cast_text_contexts_do_not():
    sql = compile_expression(PARAM, "Quantity > 0 AND InvoiceNo LIKE 'C%' AND Description = '5'", COLUMNS)
    assert 'TRY_CAST(TRIM("Quantity") AS DOUBLE) > 0' in sql
    assert '"InvoiceNo" LIKE' in sql and '"Description" = ' in sql
    assert "TRY_CAST(TRIM(\"InvoiceNo\")" not in sql and "TRY_CAST(TRIM(\"Description\")" not in sql
    # Text against text stays text; a numeric other side makes both numeric.
    assert compile_expression(PARAM, "Quantity > UnitPrice", COLUMNS) == '"Quantity" > "UnitPrice"'
    assert "TRY_CAST(TRIM(\"UnitPrice\")" in compile_expression(PARAM, "Quantity * 1 > UnitPrice", COLUMNS)


@pytest.mark.parametrize("expression, expected", [
    ("Quantity > 0", [True, False, None]),
    ("Quantity BETWEEN -1 AND 1", [False, True, None]),
    ("Quantity IN (6, 7)", [True, False, None]),
    ("abs(Quantity)", [6.0, 1.0, None]),
    ("-(Quantity)", [-6.0, 1.0, None]),
    ("Quantity % 4", [2.0, -1.0, None]),
    ("coalesce(Description, 'none')", ["WHITE HANGING HEART", "Discount;manual", "none"]),
    ("lower(left(InvoiceNo, 1)) || '-' || length(InvoiceNo)", ["5-6", "c-7", "5-6"]),
    ("iff(starts_with(InvoiceNo, 'C'), 'cancelled', 'completed')", ["completed", "cancelled", "completed"]),
    ("if(InvoiceNo ILIKE 'c%', 1, 0)", [0, 1, 0]),
    ("Description IS NULL", [False, False, True]),
    ("NOT contains(coalesce(Description, ''), ';')", [True, False, True]),
    ("replace(Description, ';', ' / ')", ["WHITE HANGING HEART", "Discount / manual", None]),
    ("strftime(try_strptime(InvoiceDate, '%d/%m/%Y'), '%Y-%m')", ["2010-12", "2010-12", "2011-01"]),
    ("CAST(date_trunc('month', strptime(InvoiceDate, '%d/%m/%Y')) AS DATE) = DATE '2010-12-01'",
     [True, True, False]),
    ("date_trunc('year', CAST(strptime(InvoiceDate, '%d/%m/%Y') AS DATE)) = DATE '2010-01-01'",
     [True, True, False]),
    ("TRY_CAST(UnitPrice AS DECIMAL(10, 2))", [Decimal("2.55"), Decimal("27.50"), None]),
    ("regexp_replace(InvoiceNo, '[^0-9]', '')", ["536365", "536379", "536370"]),
    ("'it''s'", ["it's"] * 3),
])
def test_allowed_constructs_run(expression, expected):
    assert evaluate(expression) == expected


def test_every_allow_listed_function_compiles_and_binds():
    calls = {
        "abs": "abs(Quantity)", "round": "round(Quantity, 1)", "floor": "floor(Quantity)",
        "ceil": "ceil(Quantity)", "coalesce": "coalesce(Description, 'x')", "nullif": "nullif(Description, '')",
        "greatest": "greatest(InvoiceNo, 'a')", "least": "least(InvoiceNo, 'a')", "if": "if(true, 1, 2)",
        "lower": "lower(InvoiceNo)", "upper": "upper(InvoiceNo)", "trim/ltrim/rtrim": "ltrim(rtrim(trim(InvoiceNo)))",
        "length": "length(InvoiceNo)", "substr/substring": "substr(InvoiceNo, 1, 2) || substring(InvoiceNo, 2)",
        "replace": "replace(InvoiceNo, 'C', '')", "concat": "concat(InvoiceNo, '-', Description)",
        "left": "left(InvoiceNo, 1)", "right": "right(InvoiceNo, 1)", "starts_with": "starts_with(InvoiceNo, 'C')",
        "ends_with": "ends_with(InvoiceNo, '9')", "contains": "contains(InvoiceNo, '53')",
        "regexp_matches": "regexp_matches(InvoiceNo, '^C')", "regexp_replace": "regexp_replace(InvoiceNo, 'C', '')",
        "strftime": "strftime(CAST('2020-01-01' AS DATE), '%Y')", "strptime": "strptime('2020', '%Y')",
        "date_trunc": "date_trunc('month', CAST('2020-01-05' AS TIMESTAMP))",
        "epoch": "epoch(CAST('2020-01-05' AS TIMESTAMP))",
        "try_strptime": "try_strptime(InvoiceDate, '%d/%m/%Y')", "iff": "iff(true, 'a', 'b')",
    }
    assert set(calls) == set(ALLOWED_FUNCTIONS.values()) | ALLOWED_ANONYMOUS  # a new entry needs a case here
    for name, call in calls.items():
        assert len(evaluate(call)) == 3, name


# --- Refused ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression, says", [
    ("1; DROP TABLE x", "';' is not allowed"),
    ("DROP TABLE orders", "statements are refused"),
    ("SELECT 1", "statements are refused"),
    ("COPY (SELECT 1) TO '/tmp/out.csv'", "statements are refused"),
    ("ATTACH '/tmp/x.db'", "statements are refused"),
    ("PRAGMA version", "statements are refused"),
    ("SET threads = 1", "statements are refused"),
    ("INSTALL httpfs", "statements are refused"),
    ("(SELECT 1)", "subqueries"),
    ("Quantity IN (SELECT 1)", "subqueries"),
    ("'a' || (SELECT max(InvoiceNo) FROM orders)", "subqueries"),
    ("EXISTS (SELECT 1)", "subqueries"),
    ("read_csv('/etc/passwd')", "table or file functions are refused"),
    ("read_parquet('x.parquet')", "table or file functions are refused"),
    ("read_text('/etc/passwd')", "table or file functions are refused"),
    ("glob('*')", "table or file functions are refused"),
    ("getenv('HOME')", "is not allowed"),
    ("sum(Quantity)", "aggregates are refused"),
    ("count(*)", "is not allowed"),
    ("row_number() OVER ()", "window functions are refused"),
    ("Quantity - lag(Quantity) OVER (ORDER BY InvoiceNo)", "window functions are refused"),
    ("$param", "parameters are refused"),
    ("?", "parameters are refused"),
    ("Quantity * UnitPrice -- comment; DROP", "comments are not allowed"),
    ("Quantity /* hidden */ * 2", "comments are not allowed"),
    ("CAST(Quantity AS some_weird_type)", "type 'some_weird_type' is not allowed"),
    ("CAST(Quantity AS INT[])", "is not allowed in a CAST"),
    ("CAST(Quantity AS STRUCT(a INT))", "is not allowed in a CAST"),
    ("lower(md5(Description))", "function md5 is not in the allow-list"),
    ("upper(current_setting('threads'))", "is not allowed"),
    ("*", "* is refused"),
    ("orders.Quantity", "qualified names are refused"),
    ("Quantity IN (UnitPrice, 2)", "IN takes a list of literals only"),
    ("[1, 2]", "is not allowed"),
    ("Description COLLATE nocase", "is not allowed"),
    ("x -> x + 1", "is not allowed"),
    ("date_trunc(Quantity, CAST(InvoiceDate AS DATE))", "date_trunc unit"),
    ("date_trunc('fortnight', CAST(InvoiceDate AS DATE))", "date_trunc unit"),
    ("iff(true, 'a')", "iff takes"),
    ("", "is empty"),
    ("   ", "is empty"),
    ("-- only a comment", "is empty"),
    ("Quantity *", "not a valid SQL expression"),
    ("'unterminated", "not a valid SQL expression"),
    ("(" * 40 + "1" + ")" * 40, "nested"),
    ("NOT " * 240 + "true", "nested too deeply"),
    ("CASE WHEN Quantity < 0 THEN 0 ELSE Quantity END", "does not work on the export's text columns"),
])
def test_refused_with_param_named(expression, says):
    with pytest.raises(ExpressionError) as refused:
        compile_expression(PARAM, expression, COLUMNS)
    message = str(refused.value)
    assert message.startswith(f"params: {PARAM}: ")
    assert says in message
    assert "\n" not in message


def test_unknown_column_names_the_columns_and_suggests_one():
    with pytest.raises(ExpressionError, match=r"'Qantity' is not a column of this export") as refused:
        compile_expression(PARAM, "Qantity * UnitPrice", COLUMNS)
    assert "'InvoiceNo'" in str(refused.value) and "Did you mean 'Quantity'?" in str(refused.value)


def test_column_differing_only_in_case_is_ambiguous():
    with pytest.raises(ExpressionError, match="ambiguous"):
        compile_expression(PARAM, "id || ''", ["id", "ID"])


@pytest.mark.parametrize("value", [None, 3, 2.5, ["a"], {"a": 1}])
def test_non_string_refused(value):
    with pytest.raises(ExpressionError, match=r"^params: exports.orders.compute.amount: must be a SQL expression"):
        compile_expression(PARAM, value, COLUMNS)


def test_too_long_refused_even_if_valid():
    text = " + ".join(["Quantity"] * (MAX_LENGTH // 10))
    assert len(text) > MAX_LENGTH
    with pytest.raises(ExpressionError, match="characters long"):
        compile_expression(PARAM, text, COLUMNS)


def test_output_is_regenerated_not_the_users_text():
    sql = compile_expression(PARAM, "quantity  *\n\tunitprice", COLUMNS)
    assert sql == 'TRY_CAST(TRIM("Quantity") AS DOUBLE) * TRY_CAST(TRIM("UnitPrice") AS DOUBLE)'


def test_column_name_with_a_quote_is_escaped():
    columns = ['Odd"Name']
    sql = compile_expression(PARAM, '"Odd""Name" || \'!\'', columns)
    assert sql == '"Odd""Name" || \'!\''
    assert evaluate('"odd""name" || \'!\'', rows=[("x",)], columns=columns) == ["x!"]


# --- Property: whatever compiles is one semicolon-free expression ---------------------------------------

FRAGMENTS = ["Quantity", "UnitPrice", "InvoiceNo", "'a;b'", "';'", "1", "2.5", "NULL", "TRUE", "+", "-", "*",
             "/", "%", "||", "=", "<", ">", "AND", "OR", "NOT", "(", ")", ",", ";", "--", "/*", "*/", "'", '"',
             "CASE", "WHEN", "THEN", "ELSE", "END", "IN", "LIKE", "IS", "BETWEEN", "CAST", "AS", "DOUBLE",
             "lower", "abs", "round", "replace", "read_csv", "SELECT", "FROM", "$x", "?", "sum", "OVER", "::"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=12))
@example(["'", "--", "'"])  # a string literal holding `--` (found by hypothesis: text, not a comment)
@example(["NOT", "Quantity"])  # binds, then fails on the values ('6' is no boolean): a runtime error (found by CI)
def test_compiled_sql_has_no_semicolon_and_runs(fragments):
    text = " ".join(fragments)
    try:
        sql = compile_expression(PARAM, text, COLUMNS)
    except ExpressionError as refused:
        assert str(refused).startswith(f"params: {PARAM}: ")
        return
    # Outside its string literals and quoted names (where `' -- '` is text, not a comment) it is one expression.
    code = re.sub(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"", "''", sql)
    assert ";" not in sql and "--" not in code and "/*" not in code
    assert not re.search(r"\b(select|from|read_csv|sum)\b", code, re.IGNORECASE)
    try:
        evaluate(text)  # it binds and runs over real rows
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException):
        pass  # a runtime error on these rows' values is still possible (the build names the file); a bind one is not
