"""Computed export columns (`exports.<name>.compute: {column: expression}`): parsed and checked before they run.

An expression is one scalar SQL expression over the export's own columns. It is parsed with sqlglot
(DuckDB dialect) and walked against an allow-list: anything not listed below is refused, so a new sqlglot
node type is refused until someone decides it is safe, rather than let through by default. The SQL we
return is regenerated from the checked tree, never the user's text, so nothing the checker did not see
(comments, a second statement) can reach DuckDB.

Allowed: column names, string/number/boolean/NULL literals, + - * / %, comparisons, AND/OR/NOT, IS [NOT]
NULL/TRUE/FALSE, IN (literals), BETWEEN, LIKE/ILIKE, CASE (also `CASE x WHEN ...`), CAST/TRY_CAST to the types in ALLOWED_TYPES,
parentheses, `||`, and the scalar functions in ALLOWED_FUNCTIONS.

Column typing: the raw export columns are all VARCHAR, so `Quantity * UnitPrice` would fail on text. A
column reference becomes `TRY_CAST(trim("Col") AS DOUBLE)` where it is used as a number:
  - an operand of + - * / % or unary minus;
  - an operand of = <> < <= > >= whose other side is a number (a number literal, arithmetic, a numeric
    function or a cast to a numeric type); the checked value of BETWEEN with a number bound; the value of
    IN when every listed item is a number literal;
  - the value argument of abs, round, floor, ceil.
Everywhere else it stays plain `"Col"` text (LIKE, ||, string comparisons, CASE results, function args).
Text that is not a number becomes NULL there (TRY_CAST), not an error. Parentheses are seen through.
Numbers are DOUBLE, so 6 * 2.55 reads 15.299999999999999 as text: write round(Quantity * UnitPrice, 2).

Last, the compiled SQL is bound by DuckDB over empty VARCHAR columns, so a type mistake the rule does not
cover (`CASE WHEN ... THEN 0 ELSE Quantity END` mixes a number and text) is refused at params time too.
"""

from __future__ import annotations

import difflib
import threading

import duckdb
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.tokens import TokenType

DIALECT = "duckdb"
MAX_LENGTH = 1000
# sqlglot recurses per nesting level; refuse deep nesting before it can hit Python's recursion limit.
MAX_BRACKET_DEPTH = 32

# Scalar functions, by the sqlglot node they parse to (several spellings can share a node, e.g.
# substr/substring, trim/ltrim/rtrim); the value is the name shown to users.
ALLOWED_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Abs: "abs", exp.Round: "round", exp.Floor: "floor", exp.Ceil: "ceil",
    exp.Coalesce: "coalesce", exp.Nullif: "nullif", exp.Greatest: "greatest", exp.Least: "least",
    exp.If: "if",
    exp.Lower: "lower", exp.Upper: "upper", exp.Trim: "trim/ltrim/rtrim", exp.Length: "length",
    exp.Substring: "substr/substring", exp.Replace: "replace", exp.Concat: "concat",
    exp.Left: "left", exp.Right: "right",
    exp.StartsWith: "starts_with", exp.EndsWith: "ends_with", exp.Contains: "contains",
    exp.RegexpLike: "regexp_matches", exp.RegexpReplace: "regexp_replace",
    exp.TimeToStr: "strftime", exp.StrToTime: "strptime",
    # A timestamp's seconds since 1970 (the `stripe_invoice_lines` preset measures a billing period's length).
    exp.TimeToUnix: "epoch",
    exp.TimestampTrunc: "date_trunc", exp.DateTrunc: "date_trunc",  # which one depends on the argument
}
# Functions sqlglot has no node for (parsed as Anonymous), by lower-case name.
ALLOWED_ANONYMOUS = frozenset({"try_strptime", "iff"})
NUMERIC_FUNCTIONS = (exp.Abs, exp.Round, exp.Floor, exp.Ceil)

DT = exp.DataType.Type
# sqlglot's DuckDB reader folds VARCHAR into TEXT, INTEGER into INT and TIMESTAMP into TIMESTAMPNTZ.
ALLOWED_TYPES: dict[DT, str] = {
    DT.TEXT: "VARCHAR/TEXT", DT.VARCHAR: "VARCHAR/TEXT", DT.INT: "INTEGER", DT.BIGINT: "BIGINT",
    DT.DOUBLE: "DOUBLE", DT.DECIMAL: "DECIMAL(p,s)", DT.DATE: "DATE",
    DT.TIMESTAMP: "TIMESTAMP", DT.TIMESTAMPNTZ: "TIMESTAMP", DT.BOOLEAN: "BOOLEAN",
}
NUMERIC_TYPES = frozenset({DT.INT, DT.BIGINT, DT.DOUBLE, DT.DECIMAL})
# date_trunc's unit (parsed to a bare Var or a string); a column there would be parsed as a Var too.
DATE_PARTS = frozenset({"year", "quarter", "month", "week", "day", "hour", "minute", "second"})

ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg)
COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
# Node types that are structure rather than functions; each is also checked by _check_node where needed.
ALLOWED_NODES = (
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null, exp.Paren,
    exp.And, exp.Or, exp.Not, *ARITHMETIC, *COMPARISONS, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike,
    exp.Case, exp.DPipe, exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam,
)
STATEMENTS = tuple(getattr(exp, name) for name in (
    "DDL", "DML", "Create", "Drop", "Alter", "Insert", "Update", "Delete", "Merge", "Command", "Copy",
    "Pragma", "Set", "Use", "Attach", "Detach", "Install", "Load", "Transaction", "Commit", "Rollback",
    "Describe", "Summarize", "Export", "Grant", "Revoke", "Analyze", "Kill", "Cache", "Uncache", "Refresh",
) if hasattr(exp, name))  # for the message only: none of these is in the allow-list either
# Table/file functions get their own reason; they are refused anyway, being outside the allow-list.
FILE_FUNCTIONS = frozenset({"glob", "read_text", "read_blob", "parquet_scan", "sniff_csv", "query_table",
                            "query", "range", "generate_series", "unnest"})

ALLOWED_SUMMARY = (
    "allowed: column names, literals, + - * / %, comparisons, AND/OR/NOT, IS NULL, IN (literals), BETWEEN, "
    "LIKE/ILIKE, CASE, ||, CAST/TRY_CAST to "
    + "/".join(dict.fromkeys(ALLOWED_TYPES.values()))
    + " and the functions "
    + ", ".join(sorted({*ALLOWED_FUNCTIONS.values(), *ALLOWED_ANONYMOUS}))
)


class ExpressionError(ValueError):
    """A computed column's expression that is refused: one line naming the param and the part refused."""


def compile_expression(param: str, text: str, columns: list[str]) -> str:
    """DuckDB SQL for one computed-column expression over `columns` (the file's VARCHAR columns).

    `param` names the setting in messages, e.g. "exports.orders.compute.amount". The result is a scalar
    expression (no trailing semicolon, never any `;`), with each column as the file's own name quoted.
    Raises ExpressionError for anything outside the allow-list or that DuckDB cannot bind.
    """
    where = f"params: {param}"
    if not isinstance(text, str):
        raise ExpressionError(f"{where}: must be a SQL expression written as text, not {type(text).__name__} "
                              f"{text!r} (quote it in YAML, e.g. \"'GBP'\" for a text constant).")
    if not text.strip():
        raise ExpressionError(f"{where}: is empty; write a SQL expression such as \"Quantity * UnitPrice\".")
    if len(text) > MAX_LENGTH:
        raise ExpressionError(f"{where}: is {len(text)} characters long; at most {MAX_LENGTH} are allowed.")

    try:  # sqlglot recurses per nesting level: `NOT NOT ... x` can be deep without any bracket
        tree = _parse(where, text)
        by_lower = _columns_by_lower(columns)
        for node in tree.walk():
            _check_node(where, node, by_lower)
        numeric = {id(col) for col in tree.find_all(exp.Column) if _used_as_number(col)}
        tree = _rewrite_iff(tree.transform(lambda node: _rewrite_leaf(node, by_lower, numeric), copy=False))
        sql = tree.sql(dialect=DIALECT, comments=False)
    except RecursionError:
        raise ExpressionError(f"{where}: is nested too deeply.") from None
    _check_binds(where, text, sql, columns)
    return sql


def _short(text: str) -> str:
    """`text` on one line and at most 60 characters, to quote in a message."""
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _refuse(where: str, node: exp.Expression, reason: str) -> ExpressionError:
    part = _short(node.sql(dialect=DIALECT, comments=False))
    return ExpressionError(f"{where}: '{part}' is not allowed ({reason}; {ALLOWED_SUMMARY}).")


def _parse(where: str, text: str) -> exp.Expression:
    try:
        tokens = sqlglot.Dialect.get_or_raise(DIALECT).tokenize(text)
    except SqlglotError as exc:
        raise ExpressionError(f"{where}: is not a valid SQL expression: {_first_line(exc)}") from None
    depth = 0
    for token in tokens:
        # Refused rather than stripped: text hidden in a comment is text a reviewer of params would misread.
        if token.comments:
            raise ExpressionError(f"{where}: comments are not allowed in an expression "
                                  "(put a YAML # comment beside the param instead).")
        if token.token_type == TokenType.SEMICOLON:
            raise ExpressionError(f"{where}: ';' is not allowed (one expression, not statements).")
        if token.token_type == TokenType.L_PAREN:
            depth += 1
            if depth > MAX_BRACKET_DEPTH:
                raise ExpressionError(f"{where}: is nested more than {MAX_BRACKET_DEPTH} brackets deep.")
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
    if not tokens:  # only a comment, which the tokenizer drops
        raise ExpressionError(f"{where}: is empty; write a SQL expression such as \"Quantity * UnitPrice\".")
    try:
        parsed = sqlglot.parse(text, read=DIALECT)
    except SqlglotError as exc:
        raise ExpressionError(f"{where}: is not a valid SQL expression: {_first_line(exc)}") from None
    parsed = [tree for tree in parsed if tree is not None]
    if len(parsed) != 1:
        raise ExpressionError(f"{where}: must be exactly one expression.")
    tree = parsed[0]
    if isinstance(tree, STATEMENTS) or (isinstance(tree, exp.Query) and not isinstance(tree, exp.Subquery)):
        raise _refuse(where, tree, "statements are refused; write one scalar expression")
    # Before the walk, so `EXISTS (SELECT ...)` is named a subquery rather than an unknown function.
    inner = tree.find(exp.Query, exp.Subquery)
    if inner is not None:
        raise _refuse(where, inner, "subqueries are refused")
    return tree


def _first_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _columns_by_lower(columns: list[str]) -> dict[str, list[str]]:
    by_lower: dict[str, list[str]] = {}
    for name in columns:
        by_lower.setdefault(name.lower(), []).append(name)
    return by_lower


def _check_node(where: str, node: exp.Expression, by_lower: dict[str, list[str]]) -> None:
    if isinstance(node, (exp.Query, exp.Subquery)) or isinstance(node, STATEMENTS):
        raise _refuse(where, node, "subqueries and statements are refused")
    if isinstance(node, (exp.Placeholder, exp.Parameter)):
        raise _refuse(where, node, "parameters are refused; write the value itself")
    if isinstance(node, exp.Star) or (isinstance(node, exp.Column) and isinstance(node.this, exp.Star)):
        raise _refuse(where, node, "* is refused; name the columns")
    if isinstance(node, exp.Window):
        raise _refuse(where, node, "window functions are refused: the expression is computed per row")
    if isinstance(node, exp.AggFunc):
        raise _refuse(where, node, "aggregates are refused: the expression is computed per row")

    if isinstance(node, exp.Column):
        _check_column(where, node, by_lower)
    elif isinstance(node, exp.In):
        if node.args.get("query") is not None:
            raise _refuse(where, node, "subqueries are refused")
        if any(node.args.get(k) is not None for k in ("unnest", "field")) or not all(
                _is_literal(item) for item in node.expressions):
            raise _refuse(where, node, "IN takes a list of literals only")
    elif isinstance(node, exp.Cast):  # TryCast included
        if any(node.args.get(k) is not None for k in ("format", "action", "default")):
            raise _refuse(where, node, "CAST takes a value and a type only")
    elif isinstance(node, exp.DataType):
        _check_type(where, node)
    elif isinstance(node, exp.Var):
        # The only place a bare word survives parsing as a Var is date_trunc's unit, checked with its parent.
        if not (isinstance(node.parent, (exp.TimestampTrunc, exp.DateTrunc)) and node.arg_key == "unit"):
            raise _refuse(where, node, f"{type(node).__name__} is not an allowed construct")
    elif isinstance(node, exp.Anonymous):
        if node.name.lower() not in ALLOWED_ANONYMOUS:
            raise _refuse(where, node, _function_reason(node.name))
        if node.name.lower() == "iff" and len(node.expressions) != 3:
            raise _refuse(where, node, "iff takes a condition, a value if true and a value if false")
    elif isinstance(node, (exp.TimestampTrunc, exp.DateTrunc)):
        unit = node.args.get("unit")
        if not (isinstance(unit, (exp.Var, exp.Literal)) and unit.name.lower() in DATE_PARTS):
            raise _refuse(where, node, f"a date_trunc unit is one of {', '.join(sorted(DATE_PARTS))}")
    # Exact types, not isinstance: a subclass sqlglot adds later (a new cast or LIKE variant) is refused.
    elif type(node) in ALLOWED_NODES or type(node) in ALLOWED_FUNCTIONS:
        return
    elif isinstance(node, exp.Func):
        raise _refuse(where, node, _function_reason(node.sql_name()))
    else:
        raise _refuse(where, node, f"{type(node).__name__} is not an allowed construct")


def _function_reason(name: str) -> str:
    lowered = name.lower()
    if lowered in FILE_FUNCTIONS or lowered.startswith("read_") or lowered.endswith("_scan"):
        return "table or file functions are refused"
    return f"function {lowered} is not in the allow-list"


def _check_column(where: str, node: exp.Column, by_lower: dict[str, list[str]]) -> None:
    if node.table or node.db or node.catalog:
        raise _refuse(where, node, "qualified names are refused; write the column name alone")
    name = node.name
    matches = by_lower.get(name.lower(), [])
    if len(matches) == 1:
        return
    existing = ", ".join(f"'{c}'" for names in by_lower.values() for c in names) or "none"
    if matches:
        raise ExpressionError(f"{where}: column '{name}' is ambiguous: the file has "
                              f"{', '.join(repr(m) for m in matches)}, which differ only in case.")
    close = difflib.get_close_matches(name.lower(), list(by_lower), n=1)
    hint = f" Did you mean '{by_lower[close[0]][0]}'?" if close else ""
    raise ExpressionError(f"{where}: '{name}' is not a column of this export (columns: {existing}).{hint}")


def _check_type(where: str, node: exp.DataType) -> None:
    if node.this not in ALLOWED_TYPES or node.args.get("values") or node.args.get("kind"):
        types = ", ".join(dict.fromkeys(ALLOWED_TYPES.values()))
        raise ExpressionError(f"{where}: type '{node.sql(dialect=DIALECT)}' is not allowed in a CAST "
                              f"(allowed types: {types}).")
    for param in node.expressions:  # DECIMAL(p, s): integer literals only
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        if not (isinstance(value, exp.Literal) and not value.is_string and value.name.isdigit()):
            raise ExpressionError(f"{where}: type '{node.sql(dialect=DIALECT)}' must have whole-number "
                                  "precision and scale, e.g. DECIMAL(12, 2).")


def _is_literal(node: exp.Expression) -> bool:
    node = _unparen(node)
    if isinstance(node, exp.Neg):
        node = _unparen(node.this)
    return isinstance(node, (exp.Literal, exp.Boolean, exp.Null))


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_number(node: exp.Expression | None) -> bool:
    """Whether `node` (other than a bare column) is numeric: what makes a column compared with it numeric."""
    if node is None:
        return False
    node = _unparen(node)
    if isinstance(node, exp.Literal):
        return not node.is_string
    if isinstance(node, (*ARITHMETIC, *NUMERIC_FUNCTIONS)):
        return True
    if isinstance(node, exp.Cast):
        return node.to.this in NUMERIC_TYPES
    return False


def _used_as_number(column: exp.Column) -> bool:
    node, parent = column, column.parent
    while isinstance(parent, exp.Paren):
        node, parent = parent, parent.parent
    if isinstance(parent, ARITHMETIC):
        return True
    if isinstance(parent, COMPARISONS):
        other = parent.expression if node is parent.this else parent.this
        return _is_number(other)
    if isinstance(parent, exp.Between) and node is parent.this:
        return _is_number(parent.args.get("low")) or _is_number(parent.args.get("high"))
    if isinstance(parent, exp.In) and node is parent.this:
        return bool(parent.expressions) and all(_is_number(item) for item in parent.expressions)
    return isinstance(parent, NUMERIC_FUNCTIONS) and node is parent.this


def _rewrite_leaf(node: exp.Expression, by_lower: dict[str, list[str]], numeric: set[int]) -> exp.Expression:
    """Columns as the file's own name quoted (cast to a number where the typing rule says), and string
    literals holding ';' spelt with chr(59) so the output has no ';' at all, which a caller can assert."""
    if isinstance(node, exp.Column):
        column = exp.column(by_lower[node.name.lower()][0], quoted=True)
        if id(node) in numeric:
            return exp.TryCast(this=exp.Trim(this=column), to=exp.DataType.build("DOUBLE"))
        return column
    if isinstance(node, exp.Literal) and node.is_string and ";" in node.name:
        pieces: list[exp.Expression] = []
        for i, part in enumerate(node.name.split(";")):
            if i:
                pieces.append(exp.Anonymous(this="chr", expressions=[exp.Literal.number(59)]))
            if part:
                pieces.append(exp.Literal.string(part))
        joined = pieces[0]
        for piece in pieces[1:]:
            joined = exp.DPipe(this=joined, expression=piece)
        return exp.Paren(this=joined)
    return node


def _rewrite_iff(tree: exp.Expression) -> exp.Expression:
    """iff(...) as if(...): DuckDB has no iff. Innermost first, since a replaced node's children are not revisited."""
    for node in reversed(list(tree.find_all(exp.Anonymous))):
        if node.name.lower() == "iff":
            args = node.expressions
            new = exp.If(this=args[0], true=args[1] if len(args) > 1 else None,
                         false=args[2] if len(args) > 2 else None)
            if node is tree:
                tree = new
            else:
                node.replace(new)
    return tree


_BIND_LOCK = threading.Lock()
_bind_con: duckdb.DuckDBPyConnection | None = None


def _check_binds(where: str, text: str, sql: str, columns: list[str]) -> None:
    """Bind the compiled SQL in DuckDB over empty VARCHAR columns, so type errors surface at params time.

    Runs only already-checked SQL, on a private in-memory connection with file access switched off.
    """
    global _bind_con
    select = ", ".join(f"CAST(NULL AS VARCHAR) AS {exp.to_identifier(c, quoted=True).sql(DIALECT)}"
                       for c in dict.fromkeys(columns)) or "1 AS _none"
    query = f"SELECT {sql} FROM (SELECT {select}) WHERE false"
    with _BIND_LOCK:
        if _bind_con is None:
            _bind_con = duckdb.connect(":memory:", config={"enable_external_access": False,
                                                           "lock_configuration": True})
        try:
            _bind_con.execute(query).fetchall()
        except duckdb.Error as exc:
            raise ExpressionError(f"{where}: '{_short(text)}' does not work on the export's text columns: "
                                  f"{_first_line(exc)}") from None
