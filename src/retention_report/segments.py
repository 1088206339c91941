"""Which customer columns the report breaks down by, and which of their values it shows.

`segment_columns: auto` (the default) takes every column of `stg_customers` that can be a segment: not an id,
a date, personal data or one of the build's helper columns, with two or more distinct values given. A list
takes the columns named, except those absent, blank for every customer, personal or an id or a date: each of
these gets a reason and a line on the pages instead of a section. A column with more than
`max_segment_values` values keeps its largest (by customers; ties by value) and groups the rest as `other`;
customers with no value are `not given`, shown only when there are some.

`write_segment_choice` runs once in the build, after staging and before the marts, and writes
`segment_choice` (one row per column considered) and `segment_values` (one row per value shown by name):
`sql/marts/cohort_segments.sql` reads them, and so do the notebooks, so the SQL and the pages never decide
apart. It also writes each customer's values of the chosen columns (`segment_cells`), which the mart reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from .exports import CONTRACT, PERSONAL_COLUMNS

OTHER = "other"
NOT_GIVEN = "not given"
DEFAULT_MAX_VALUES = 8
_CUSTOMERS = CONTRACT["customers"]
# Staging's own columns: the customer's id and sign-up date (contract), where the row came from.
_ID_COLUMNS = frozenset({"customer_id"})
_DATE_COLUMNS = frozenset({_CUSTOMERS.date_column})
_PERSONAL = PERSONAL_COLUMNS | frozenset(_CUSTOMERS.personal_columns)
# Name parts that mark a column as contact details whatever else it is called (`email_address`, `mobile`).
_PERSONAL_PARTS = frozenset({"email", "mail", "phone", "mobile", "telephone", "address", "surname", "postcode", "zip"})
_PERSONAL_NAMES = frozenset({"full_name", "given_name", "family_name", "firstname", "lastname", "fullname",
                             "first_name", "last_name", "contact", "birthday", "date_of_birth", "dob"})

# Why a column gives no breakdown: finishes "Segment column `x` ... : no breakdown by it."
ABSENT = "is not in the customers export"
ABSENT_DERIVED = "is not a column of the customers (derived from the orders: see `exports.orders.customer_columns`)"
BLANK = "is blank for every customer"
PERSONAL = "is personal data, never published"
IDENTIFIER = "is the customers' id"
DATE = "holds dates"
HELPER = "is a column the build adds itself"
ONE_VALUE = "has one value for every customer"
OWN_VALUE = "has a different value for every customer (an identifier or free text)"


@dataclass(frozen=True)
class SegmentChoice:
    """The columns chosen, in order, and for each column considered but not chosen, why."""

    columns: list[str]
    dropped: dict[str, str]
    listed: bool  # the params named the columns (else `auto`)
    values: dict[str, list[tuple[str, int]]] = field(default_factory=dict)  # shown by name: (value, customers)
    distinct: dict[str, int] = field(default_factory=dict)  # distinct values given, per column considered


def max_values(params: dict[str, Any]) -> int:
    value = params.get("max_segment_values", DEFAULT_MAX_VALUES)
    if value is None:
        return DEFAULT_MAX_VALUES
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"max_segment_values must be a whole number of 1 or more, not {value!r}.")
    return value


def listed_columns(params: dict[str, Any]) -> list[str] | None:
    """The columns the params name, lower-cased as staging names them; None for `auto`."""
    value = params.get("segment_columns", "auto")
    if value is None or (isinstance(value, str) and value.strip().lower() == "auto"):
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"segment_columns must be `auto` or a list of customer column names, not {value!r}.")
    return list(dict.fromkeys(v.strip().lower() for v in value))


def is_personal(column: str) -> bool:
    name = column.lower()
    parts = set(re.split(r"[^a-z0-9]+", name))
    return name in _PERSONAL or name in _PERSONAL_NAMES or bool(parts & _PERSONAL_PARTS)


def _reason_by_name(column: str) -> str | None:
    if column.startswith("_"):
        return HELPER
    if column in _ID_COLUMNS or column == "id" or column.endswith("_id"):
        return IDENTIFIER
    if column in _DATE_COLUMNS:
        return DATE
    if is_personal(column):
        return PERSONAL
    return None


def _customer_columns(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'stg_customers' "
        "ORDER BY ordinal_position").fetchall()]


def _customers_derived(con: duckdb.DuckDBPyConnection) -> bool:
    try:
        row = con.execute("SELECT bool_or(derived) FROM export_files WHERE export = 'customers'").fetchone()
    except duckdb.Error:  # a warehouse without the table (tests building only some models)
        return False
    return bool(row and row[0])


# Per column: customers by value given, ranked by customers then value. Only the first `$keep + 1` ranks come
# back, with each column's totals, so a column of a million ids is never fetched. The columns are picked by a
# bound list (never pasted into the SQL) and unpivoted: one pass over the customers, however many columns.
_VALUE_COUNTS = """
WITH raw_counts AS (  -- counted as written first: trimming the few distinct values is cheaper than every cell
    SELECT segment_column, segment, count(*) AS customers
    FROM (UNPIVOT (SELECT COLUMNS(lambda c: list_contains($columns::VARCHAR[], c))::VARCHAR FROM stg_customers)
          ON COLUMNS(*) INTO NAME segment_column VALUE segment)
    GROUP BY ALL
),
counted AS (  -- blank values stay a group (NULL) here: a filter on them would be pushed below the count above
    SELECT segment_column, nullif(trim(segment), '') AS segment, sum(customers) AS customers
    FROM raw_counts GROUP BY ALL
),
ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY segment_column ORDER BY segment IS NULL, customers DESC, segment) AS rank,
           count(segment) OVER (PARTITION BY segment_column) AS distinct_values,
           coalesce(sum(customers) FILTER (WHERE segment IS NOT NULL) OVER (PARTITION BY segment_column), 0)
               AS customers_given,
           bool_and(segment IS NULL OR coalesce(try_cast(segment AS TIMESTAMP), try_cast(segment AS DATE)) IS NOT NULL)
               OVER (PARTITION BY segment_column) AS all_dates
    FROM counted
)
SELECT segment_column, segment, customers, rank, distinct_values, customers_given, all_dates
FROM ranked WHERE rank <= $keep + 1
ORDER BY segment_column, rank
"""


def resolve(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> SegmentChoice:
    """The segment columns for this build, from `stg_customers` and the params (see the module's docstring)."""
    keep = max_values(params)
    listed = listed_columns(params)
    present = _customer_columns(con)
    candidates = [c for c in present if _reason_by_name(c) is None]
    stats: dict[str, dict[str, Any]] = {}
    values: dict[str, list[tuple[str, int]]] = {}
    if candidates:
        for column, segment, customers, rank, distinct, given, all_dates in con.execute(
                _VALUE_COUNTS, {"columns": candidates, "keep": keep}).fetchall():
            if not distinct:  # only blanks: as if the column were not there
                continue
            stats[column] = {"distinct": int(distinct), "given": int(given), "all_dates": bool(all_dates)}
            if segment is not None and rank <= keep:
                values.setdefault(column, []).append((segment, int(customers)))

    def reason(column: str) -> str | None:
        if column not in present:
            return ABSENT_DERIVED if _customers_derived(con) else ABSENT
        by_name = _reason_by_name(column)
        if by_name:
            return by_name
        found = stats.get(column)
        if found is None:
            return BLANK
        if found["all_dates"]:
            return DATE
        if listed is None and found["distinct"] < 2:
            return ONE_VALUE
        if listed is None and found["distinct"] > keep and found["distinct"] == found["given"]:
            return OWN_VALUE
        return None

    considered = listed if listed is not None else [c for c in present if _reason_by_name(c) != HELPER]
    dropped = {c: r for c in considered if (r := reason(c)) is not None}
    columns = [c for c in considered if c not in dropped]
    return SegmentChoice(columns, dropped, listed is not None, {c: values[c] for c in columns},
                         {c: s["distinct"] for c, s in stats.items()})


# The customers' values of the chosen columns in long form, for cohort_segments: DuckDB unpivots them here, once,
# so that the mart is SQL other engines run too (Spark has no COLUMNS(...)). Blank is NULL; `_row` rides along
# only so that the column list is never empty. Temporary: row-level, never read outside the build.
_CELLS = """
CREATE OR REPLACE TEMP TABLE segment_cells AS
SELECT _customer_id AS customer_id, segment_column, nullif(trim(value), '') AS value
FROM (UNPIVOT (SELECT customer_id AS _customer_id,
                      coalesce(COLUMNS(lambda c: c = '_row' OR list_contains($columns::VARCHAR[], c))::VARCHAR, '')
               FROM stg_customers)
      ON COLUMNS(* EXCLUDE _customer_id) INTO NAME segment_column VALUE value)
WHERE segment_column <> '_row'
"""


def write_segment_choice(con: duckdb.DuckDBPyConnection, params: dict[str, Any]) -> SegmentChoice:
    """Resolves the segments and writes `segment_choice` and `segment_values` for the marts and the pages, and
    the chosen columns' values per customer (`segment_cells`, temporary) for cohort_segments."""
    choice = resolve(con, params)
    rows = [(i, c, c in choice.columns, choice.dropped.get(c), choice.distinct.get(c, 0))
            for i, c in enumerate(choice.columns + list(choice.dropped), start=1)]
    con.execute("CREATE OR REPLACE TABLE segment_choice (position INTEGER, segment_column VARCHAR, used BOOLEAN, "
                "reason VARCHAR, distinct_values BIGINT, listed BOOLEAN)")
    if rows:
        con.executemany("INSERT INTO segment_choice VALUES (?, ?, ?, ?, ?, ?)",
                        [row + (choice.listed,) for row in rows])
    con.execute("CREATE OR REPLACE TABLE segment_values (segment_column VARCHAR, segment VARCHAR, customers BIGINT, "
                "rank INTEGER)")
    kept = [(c, v, n, rank) for c in choice.columns for rank, (v, n) in enumerate(choice.values.get(c, []), start=1)]
    if kept:
        con.executemany("INSERT INTO segment_values VALUES (?, ?, ?, ?)", kept)
    con.execute(_CELLS, {"columns": choice.columns})
    return choice


# --- What the pages say ------------------------------------------------------------------------------------


def choice_lines(choice: pd.DataFrame, params: dict[str, Any]) -> list[str]:
    """One line per listed column that gives no breakdown, and one when no column gives any (from the
    `segment_choice` table)."""
    lines = [f"Segment column `{r.segment_column}` {r.reason}: no breakdown by it."
             for r in choice.itertuples() if r.listed and not r.used]
    if not choice.used.any():
        listed = listed_columns(params)
        lines.append("No customer column has two or more values given, so there is no breakdown by segment."
                     if listed is None else "The parameters name no segment column, so there is no breakdown by segment."
                     if not listed else "None of the segment columns listed gives a breakdown.")
    return lines


def grouping_lines(choice: pd.DataFrame, max_segment_values: int) -> list[str]:
    """A line for each column whose smaller values are grouped as `other`."""
    return [f"`{r.segment_column}` has {r.distinct_values:,} values: the {max_segment_values} with the most "
            f"customers are shown and the other {r.distinct_values - max_segment_values:,} grouped as `{OTHER}`."
            for r in choice.itertuples() if r.used and r.distinct_values > max_segment_values]


def parameter_text(params: dict[str, Any], choice: pd.DataFrame) -> str:
    """`segment_columns` as the methodology page shows it: the setting and the columns it gave."""
    used = ", ".join(choice[choice.used].sort_values("position").segment_column) or "none"
    return f"auto: {used}" if listed_columns(params) is None else used
