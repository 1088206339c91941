"""Staging, rendered from the export declarations: one SQL pattern (`sql/staging/stg_export.sql.j2`) filled in
for each export of `exports.CONTRACT`, so a new export is a declaration, not a copied model.

Types (`Export.types`) become SQL here, once: an `id` is trimmed text with a spreadsheet's trailing `.0`
dropped (`17850.0` is customer `17850`), a `timestamp` is read as `rr_read_timestamp` reads it, `money` is a
decimal of cents (of millionths while lines are summed), an `integer` must be a whole number.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import duckdb
import jinja2

from .exports import Export, _quote, _rows_table
from .params import PROJECT_ROOT

TEMPLATE = PROJECT_ROOT / "sql" / "staging" / "stg_export.sql.j2"
DERIVED_CUSTOMERS = PROJECT_ROOT / "sql" / "staging" / "derived_customers.sql.j2"
# Columns of the raw tables that are not the export's own (exports.load_raw_export adds them).
RAW_HELPERS = ("_file", "_part", "_row", "_line", "_exported_at", "_date_format")
# What each record is called where it is described (a comment in the SQL, the data quality page).
RECORDS = {"customers": "customer", "orders": "order", "nps_responses": "survey answer",
           "touchpoints": "touchpoint", "support_tickets": "ticket", "events": "event",
           "subscriptions": "subscription period"}


def _typed_sql(export: Export, column: str, line: bool, normalise_ids: bool = True) -> str:
    kind = export.type_of(column)
    if kind == "id" and column == export.key and (export.key_from_place or export.key_from):
        return f"coalesce({'rr_id' if normalise_ids else 'rr_text'}({column}), {_made_key(export, normalise_ids)})"
    if kind == "id":
        return f"{'rr_id' if normalise_ids else 'rr_text'}({column})"
    if kind == "timestamp":
        return f"rr_read_timestamp({column}, _{column}_parsed, $timezone)"
    if kind == "moment":
        return f"rr_read_timestamp({column}, NULL, $timezone)"
    if kind == "number":
        return f"try_cast(trim({column}) AS DOUBLE)"
    if kind == "money":
        return f"try_cast(trim({column}) AS DECIMAL({'38, 6' if line else '18, 2'}))"
    if kind == "integer":
        return f"try_cast(trim({column}) AS INTEGER)"
    if kind == "boolean":
        return f"coalesce(try_cast(trim({column}) AS BOOLEAN), false)"
    text = {"lower": "lower(rr_text({c}))", "upper": "upper(rr_text({c}))"}.get(kind, "rr_text({c})")
    default = dict(export.defaults).get(column)
    if default is not None and not line:  # lines: the default fills the record's value once grouped
        return f"coalesce({text.format(c=column)}, {_literal(default)})"
    return text.format(c=column)


def _made_key(export: Export, normalise_ids: bool) -> str:
    """The key of a row that gives none: where it lies, or its `key_from` columns' values as exported."""
    if export.key_from_place:
        return "_file || ':' || _row"
    first, *rest = export.key_from
    parts = [f"{'rr_id' if normalise_ids else 'rr_text'}({first})"] + [f"rr_text({c})" for c in rest]
    return " || ' from ' || ".join(parts)


def _given_key(export: Export) -> str:
    """A staged row whose key was given, not made from its place (`_made_key`): only those can repeat."""
    given = f"{export.key} IS NOT NULL"
    if export.key_from_place:
        given += " AND NOT _key_made"
    return given


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _type_problems(export: Export, column: str, line: bool) -> list[str]:
    """The problems a column's type finds: a value that is not a number (at line grain only one given)."""
    kind = export.type_of(column)
    # At line grain, or for an optional column, a blank value is no problem: only one given but unreadable.
    optional = column in export.optional_columns and kind in ("integer", "money")
    given = f" AND nullif(trim({column}_raw), '') IS NOT NULL" if line or optional else ""
    if kind == "money":
        return [f"CASE WHEN {column} IS NULL{given} THEN {{'column': '{column}', 'reason': '{column} is not a number', "
                f"'value': {column}_raw}} END"]
    if kind == "number":
        return [f"CASE WHEN {column} IS NULL AND nullif(trim({column}_raw), '') IS NOT NULL "
                f"THEN {{'column': '{column}', 'reason': '{column} is not a number', 'value': {column}_raw}} END"]
    if kind == "moment":
        return [f"CASE WHEN {column} IS NULL AND nullif(trim({column}_raw), '') IS NOT NULL "
                f"THEN {{'column': '{column}', 'reason': 'unparseable date', 'value': {column}_raw}} END"]
    if kind == "integer":
        return [f"CASE WHEN ({column} IS NULL OR try_cast(trim({column}_raw) AS DOUBLE) IS DISTINCT FROM {column}){given} "
                f"THEN {{'column': '{column}', 'reason': '{column} is not an integer', 'value': {column}_raw}} END"]
    return []


def _raw_kept(export: Export) -> list[str]:
    """Columns whose text as exported is kept beside the typed value, to show a problem's value."""
    kept = [export.date_column]
    kept += [c for c in export.all_columns if export.type_of(c) in ("money", "integer", "number", "moment")]
    kept += [check.column for check in export.checks if not check.value]
    return list(dict.fromkeys(kept))


def extra_columns(con: duckdb.DuckDBPyConnection, export: Export) -> list[str]:
    """The columns of `raw_<name>` beyond the contract (kept under their lower-case names) that staging keeps."""
    if not export.keeps_extras:
        return []
    described = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM raw_{export.name}").fetchall()]
    return [c for c in described if c not in export.all_columns and c not in RAW_HELPERS
            and not c.startswith(f"_{export.date_column}_parsed")]


def staging_sql(export: Export, extras: list[str], grain: str = "row", derived_customers: bool = False,
                normalise_ids: bool = True, temp: bool = True) -> str:
    """The staging SQL of one export. `derived_customers`: the customers are derived from these orders, so
    a customer_id needs no link (it names the customer it creates). `normalise_ids` false when no id of the
    export is written as a decimal (`warehouse._ids_normalised` counted none): plain text is read as it is,
    and rr_id's check of every id is skipped (about 0.1 s per id column at 7 million rows). `temp`: the staged
    table is a temporary table of the build's connection (held in memory, spilling to the build's temp folder),
    not written into the warehouse file (see `warehouse.keeps_staging`)."""
    line = grain == "line"
    problems = []
    for column in export.all_columns:
        # A record's value must be readable (a line's blank one is checked once the lines are grouped).
        problems += _type_problems(export, column, line=False)
        for check in export.checks:
            if check.column == column:
                value = check.value or f"{column}_raw"
                problems.append(f"CASE WHEN {check.condition} THEN {{'column': '{column}', "
                                f"'reason': {_literal(check.reason)}, 'value': {value}}} END")
    line_problems = [p for c in export.all_columns if c != export.key for p in _type_problems(export, c, True)]
    quoted_extras = [_quote(e) for e in extras]
    grouped = []
    for column in export.all_columns:
        if column == export.key:
            continue
        kind = export.type_of(column)
        if kind == "timestamp":
            sql = f"min({column})"
        elif kind == "money":
            sql = f"CAST(sum({column}) AS DECIMAL(18, 2))"
        else:
            sql = f"arg_min({column}, {{'part': _part, 'row': _row}}) FILTER (WHERE {column} IS NOT NULL)"
            default = dict(export.defaults).get(column)
            if default is not None:
                sql = f"coalesce({sql}, {_literal(default)})"
        grouped.append({"name": column, "sql": sql})
    for extra in quoted_extras:
        grouped.append({"name": extra, "sql": f"arg_min({extra}, {{'part': _part, 'row': _row}}) "
                                              f"FILTER (WHERE nullif(trim({extra}), '') IS NOT NULL)"})
    return _template(TEMPLATE).render(
        name=export.name, raw_rows=_rows_table(export.name), key=export.key, date=export.date_column,
        record=RECORDS.get(export.name, "row"),
        line=line,
        typed=[{"name": c, "sql": _typed_sql(export, c, line, normalise_ids)} for c in export.all_columns],
        id_text="rr_id" if normalise_ids else "rr_text", place_key=export.key_from_place,
        given_key=_given_key(export),
        extras=quoted_extras, raw_kept=_raw_kept(export), problems=problems, line_problems=line_problems,
        grouped=grouped,
        link="" if derived_customers else export.customer_link, derived_link=derived_customers,
        output=list(export.all_columns) + quoted_extras + ["_part", "_row"]
        + (["_key_made"] if export.key_from_place and not line else []), temp=temp,
    )


def derived_customers_sql(customer_columns: list[str], order_extras: list[str], temp: bool = True) -> str:
    """Customers made from the orders when there is no customers export: created at their first order, each
    `customer_columns` value their most frequent among their orders (ties: the earliest order's)."""
    by_lower = {e.lower(): e for e in order_extras}
    columns = []
    for column in customer_columns:
        if column.lower() not in by_lower:
            from .exports import ExportError

            raise ExportError(f"params: exports.orders.customer_columns names {column!r}, which is not a column of "
                              f"the orders (their extra columns are: {', '.join(order_extras) or 'none'}).")
        columns.append(_quote(by_lower[column.lower()]))
    return _template(DERIVED_CUSTOMERS).render(columns=columns, temp=temp)


@lru_cache(maxsize=None)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATE.parent)), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, autoescape=False)


def _template(path: Any) -> jinja2.Template:
    return _environment().get_template(path.name)

