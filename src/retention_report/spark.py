"""The SQL models on Apache Spark (issue 21): the one set of models in `sql/`, written in DuckDB's dialect, carried
to Spark SQL by sqlglot at run time. What sqlglot cannot carry is given a portable form here, once, as a rewrite
of the parsed statement (`_portable`, `Macros`): DuckDB's macros are expanded in place, its interval constructors and
top-n `min` become Spark's, `error` becomes `raise_error`. A table a model creates is a cached temporary view of
the Spark session; a model's parameters (`$name`) are Spark's named parameters (`:name`).

PySpark is the optional extra `.[spark]` and needs Java 17 or newer: `session` says so in one line when either
is missing.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlglot
from sqlglot import exp

from .warehouse import SqlModelError, split_statements

_PARAMETER = re.compile(r"\$(\w+)")


class SparkUnavailable(RuntimeError):
    """PySpark or Java is missing: the Spark engine cannot start here."""


def missing() -> str | None:
    """Why Spark cannot run on this machine, or None when it can."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "PySpark is not installed (pip install -e '.[spark]')"
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        return "Java is not installed (Spark needs Java 17 or newer: apt-get install openjdk-17-jre-headless)"
    return None


def session(params: dict[str, Any] | None = None) -> Any:
    """A Spark session at `spark.master` (default: spark-submit's master, else `local[*]`), in the report's time
    zone, without its web UI."""
    why = missing()
    if why:
        raise SparkUnavailable(f"engine spark: {why}.")
    from pyspark.sql import SparkSession

    settings = (params or {}).get("spark") or {}
    builder = SparkSession.builder
    # The master params name; else spark-submit's (`--master`: it started this process, PYSPARK_GATEWAY_PORT);
    # else this machine's cores.
    if settings.get("master") or "PYSPARK_GATEWAY_PORT" not in os.environ:
        builder = builder.master(str(settings.get("master") or "local[*]"))
    builder = (builder.appName("retention-report")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.memory", str(settings.get("driver_memory") or "2g"))
               .config("spark.sql.session.timeZone", str((params or {}).get("timezone") or "UTC"))
               # As the models expect: a cast that fails is NULL (DuckDB's try_cast), not an error.
               .config("spark.sql.ansi.enabled", "false")
               .config("spark.sql.shuffle.partitions", str(settings.get("shuffle_partitions") or 8)))
    for key, value in (settings.get("config") or {}).items():
        builder = builder.config(str(key), str(value))
    # Spark makes its warehouse folder (for tables it would keep) where it starts: in the system's temp folder,
    # not in whatever folder the build was started from (no model keeps a Spark table).
    builder = builder.config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "retention-report-spark"))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    # A session already running in this process (an earlier build) is reused: its time zone set for this one.
    spark.conf.set("spark.sql.session.timeZone", str((params or {}).get("timezone") or "UTC"))
    return spark


# ------------------------------------------------------------------------------------------------ the transpile

@dataclass
class Macros:
    """DuckDB macros seen so far (`CREATE MACRO name(args) AS expr`), expanded where a later statement calls them."""
    bodies: dict[str, tuple[list[str], exp.Expression]] = field(default_factory=dict)

    def define(self, tree: exp.Create) -> None:
        signature = tree.this  # a UserDefinedFunction: its name is its table's
        name = signature.this.name.lower()
        args = [a.name for a in signature.expressions]
        self.bodies[name] = (args, tree.expression)

    def expand(self, tree: exp.Expression) -> exp.Expression:
        def inline(node: exp.Expression) -> exp.Expression:
            if isinstance(node, exp.Anonymous) and node.name.lower() in self.bodies:
                args, body = self.bodies[node.name.lower()]
                given = dict(zip(args, [self.expand(a) for a in node.expressions]))

                def substitute(inner: exp.Expression) -> exp.Expression:
                    if isinstance(inner, exp.Column) and not inner.table and inner.name in given:
                        return exp.paren(given[inner.name].copy(), copy=False)
                    return inner

                return exp.paren(self.expand(body.copy()).transform(substitute), copy=False)
            return node

        return tree.transform(inline)


def _function(node: exp.Expression, name: str) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() == name


def _portable(node: exp.Expression) -> exp.Expression:
    """One DuckDB construct sqlglot leaves as it is, in the form Spark runs."""
    if isinstance(node, exp.DataType) and node.this in (exp.DataType.Type.INT128, exp.DataType.Type.UINT128):
        return exp.DataType.build("DECIMAL(38, 0)")  # Spark has no 128-bit integer
    # DuckDB's `/` is a DOUBLE whatever it divides; Spark divides DECIMALs as DECIMALs.
    if isinstance(node, exp.Div) and not node.args.get("typed") and not (
            isinstance(node.this, exp.Cast) and node.this.is_type("double")):
        node.set("this", exp.cast(node.this.copy(), exp.DataType.build("DOUBLE")))
        return node
    # DuckDB's avg is a DOUBLE whatever it averages; Spark's avg of a DECIMAL is a DECIMAL, rounded to its scale.
    if isinstance(node, exp.Avg) and not (isinstance(node.this, exp.Cast) and node.this.is_type("double")):
        node.set("this", exp.cast(node.this.copy(), exp.DataType.build("DOUBLE")))
        return node
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)  # DuckDB's hint (AS [NOT] MATERIALIZED), which Spark does not parse
        return node
    # DuckDB's infinite dates and timestamps: Spark has none (its cast gives NULL), so the latest (earliest) it
    # holds, which compares as infinity does with any real moment.
    if (isinstance(node, exp.Cast) and node.this.is_string and node.this.name.strip().lower() in _INFINITE
            and node.to.is_type(*exp.DataType.TEMPORAL_TYPES)):
        moment = _INFINITE[node.this.name.strip().lower()]
        return exp.cast(exp.Literal.string(moment[:10] if node.to.is_type("date") else moment), node.to.copy())
    # A cast of an unnested list (`unnest(l)::DATE`): Spark runs no generator inside an expression, so the
    # list's elements are cast, and it is the cast list that is exploded.
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Explode):
        element = exp.to_identifier("element")
        cast = exp.Lambda(this=exp.cast(exp.column(element), node.args["to"].copy()), expressions=[element])
        listed = node.this.this.copy().transform(_portable)
        return exp.Explode(this=exp.Anonymous(this="transform", expressions=[listed, cast]))
    if _function(node, "error"):
        return exp.Anonymous(this="raise_error", expressions=node.expressions)
    # `SELECT error(...) FROM ... HAVING c`: Spark computes a group's values before its HAVING drops it, so the
    # error is raised only where c holds (the row is dropped all the same).
    if isinstance(node, exp.Select) and node.args.get("having") is not None:
        condition = node.args["having"].this
        for call in [n for e in node.expressions for n in e.find_all(exp.Anonymous) if _function(n, "error")]:
            call.replace(exp.Case(ifs=[exp.If(this=condition.copy(), true=call.copy())]))
        return node
    if isinstance(node, exp.RegexpReplace):
        return _regexp_replace(node)
    if isinstance(node, exp.DateDiff) and node.args.get("date_part_boundary"):
        return _date_diff(node)
    # string_agg(DISTINCT x, sep ORDER BY x): the sorted set joined (Spark fails to plan its listagg DISTINCT
    # beside another DISTINCT aggregate); NULL for a group without values, as string_agg's.
    if (isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Order)
            and isinstance(node.this.this, exp.Distinct) and not isinstance(node.parent, exp.Filter)):
        values, order = node.this.this.expressions, node.this.expressions
        if len(values) == 1 and len(order) == 1 and order[0].this == values[0] and not order[0].args.get("desc"):
            value = values[0].transform(_portable)
            separator = node.args.get("separator") or exp.Literal.string(",")
            joined = exp.Anonymous(this="array_join", expressions=[exp.Anonymous(this="array_sort", expressions=[
                exp.Anonymous(this="collect_set", expressions=[value])]), separator.copy()])
            return exp.If(this=exp.GT(this=exp.Count(this=value.copy()), expression=exp.Literal.number(0)),
                          true=joined, false=exp.Null())
    # DuckDB's list_reduce (a fold from the list's first element, or from a third argument) as Spark's aggregate.
    if _function(node, "list_reduce") or _function(node, "array_reduce"):
        items, merge, *start = [e.transform(_portable) for e in node.expressions]
        if start:
            return exp.Anonymous(this="aggregate", expressions=[items, start[0], merge])
        if isinstance(items, exp.ArrayPrepend):  # list_reduce(list_prepend(x, l), f): l folded from x
            rest = exp.Coalesce(this=items.this, expressions=[exp.Array(expressions=[])])
            return exp.Anonymous(this="aggregate", expressions=[rest, items.expression, merge])
        rest = exp.Anonymous(this="slice", expressions=[items.copy(), exp.Literal.number(2), exp.Greatest(
            this=exp.Sub(this=exp.Anonymous(this="size", expressions=[items.copy()]), expression=exp.Literal.number(1)),
            expressions=[exp.Literal.number(0)])])
        first = exp.Anonymous(this="element_at", expressions=[items, exp.Literal.number(1)])
        return exp.Anonymous(this="aggregate", expressions=[rest, first, merge])
    if isinstance(node, exp.ToDays):  # an interval of n days
        return exp.Anonymous(this="make_dt_interval", expressions=[node.this])
    if _function(node, "to_months"):
        return exp.Anonymous(this="make_ym_interval", expressions=[exp.Literal.number(0), *node.expressions])
    if _function(node, "to_microseconds"):
        seconds = exp.Div(this=exp.paren(node.expressions[0].copy()), expression=exp.Literal.number("1e6"))
        return exp.Anonymous(this="make_dt_interval", expressions=[exp.Literal.number(0), exp.Literal.number(0),
                                                                    exp.Literal.number(0), seconds])
    if _function(node, "regexp_split_to_array") or _function(node, "string_split_regex"):
        return exp.Anonymous(this="split", expressions=node.expressions)
    if isinstance(node, exp.PercentileCont) and node.expression is not None:  # quantile_cont(x, q)
        return exp.Anonymous(this="percentile", expressions=[node.this, node.expression])
    # A series (`range(a, b)`, `generate_series(a, b, step)`): Spark's sequence, whose end is inclusive, and
    # empty where the end comes before the start (Spark's sequence fails there; steps here are positive).
    if isinstance(node, exp.GenerateSeries):
        return _sequence(node)
    # A series in FROM (`range(a, b) AS r(i)`): the explode of its sequence, its column named as DuckDB names
    # it where the alias names none.
    if isinstance(node, exp.Table) and isinstance(node.this, exp.GenerateSeries):
        alias = node.args.get("alias")
        default = "range" if node.this.args.get("is_end_exclusive") else "generate_series"
        columns = alias.columns if alias is not None and alias.columns else [exp.to_identifier(default)]
        name = alias.this if alias is not None and alias.this else exp.to_identifier("series")
        exploded = exp.Anonymous(this="explode", expressions=[_sequence(node.this)])
        alias = exp.TableAlias(this=name, columns=columns)
        if isinstance(node.parent, exp.Join):  # beside another table, whose columns it may read: LATERAL
            return exp.Lateral(this=exploded, alias=alias)
        return exp.Table(this=exploded, alias=alias)
    # DuckDB's any_value skips NULLs; sqlglot writes that as IGNORE NULLS, which Spark takes as an argument.
    if isinstance(node, exp.IgnoreNulls) and isinstance(node.this, exp.AnyValue):
        return exp.Anonymous(this="any_value", expressions=[node.this.this.copy(), exp.true()])
    # DuckDB's top-n min, `min(x, n)[k]` (the k-th smallest of a group): the group's values sorted.
    if (isinstance(node, exp.Bracket) and isinstance(node.this, exp.Min) and node.this.args.get("count")
            and len(node.expressions) == 1):
        node.set("this", exp.Anonymous(this="array_sort", expressions=[
            exp.Anonymous(this="collect_list", expressions=[node.this.this.copy()])]))
        return node
    return node


_INFINITE = {"infinity": "9999-12-31 23:59:59.999999", "+infinity": "9999-12-31 23:59:59.999999",
             "-infinity": "0001-01-01 00:00:00"}


def _date_diff(node: exp.DateDiff) -> exp.Expression:
    """DuckDB's `date_diff(unit, a, b)` counts the unit's boundaries passed (midnights, month starts), Spark's the
    whole units between: days are the dates' difference, months, quarters and years their calendar fields'. A
    BIGINT, as DuckDB's. Other units are left to Spark (whole seconds: the same where no fraction of a second)."""
    unit = node.text("unit").upper()
    later, earlier = node.this.copy().transform(_portable), node.expression.copy().transform(_portable)

    def field(name: str, value: exp.Expression) -> exp.Expression:
        return exp.Anonymous(this=name, expressions=[value.copy()])

    def between(name: str) -> exp.Expression:
        return exp.paren(exp.Sub(this=field(name, later), expression=field(name, earlier)))

    if unit == "DAY":
        result: exp.Expression = exp.Anonymous(this="datediff", expressions=[
            exp.cast(later, exp.DataType.build("DATE")), exp.cast(earlier, exp.DataType.build("DATE"))])
    elif unit == "MONTH":
        result = exp.Add(this=exp.Mul(this=between("year"), expression=exp.Literal.number(12)),
                         expression=between("month"))
    elif unit == "QUARTER":
        result = exp.Add(this=exp.Mul(this=between("year"), expression=exp.Literal.number(4)),
                         expression=between("quarter"))
    elif unit == "YEAR":
        result = between("year")
    else:
        node.set("this", later)
        node.set("expression", earlier)
        node.set("date_part_boundary", None)
        return node
    return exp.cast(result, exp.DataType.build("BIGINT"))


# DuckDB's regexp_replace flags (RE2) as Java's inline flags: 'g' replaces every match (Spark always does), 'i'
# ignores case, Unicode's as RE2 does (Java's alone is ASCII's), 's' lets '.' match a newline.
_REGEXP_FLAGS = {"g": "", "c": "", "i": "iu", "s": "s"}


def _regexp_replace(node: exp.RegexpReplace) -> exp.Expression:
    """DuckDB's `regexp_replace(s, p, r[, flags])` as Spark's, which takes Java's regular expressions and always
    replaces every match: the flags inline in the pattern, RE2's `\\1` in the replacement as Java's `$1`, and
    without 'g' only the first match replaced (the pattern matched after the shortest start of the text)."""
    flags = node.args.get("modifiers")
    if flags is not None and not flags.is_string:
        raise ValueError("regexp_replace: flags given at run time have no Spark form")
    flags = flags.name if flags is not None else ""
    unknown = set(flags) - set(_REGEXP_FLAGS)
    if unknown:
        raise ValueError(f"regexp_replace: flag(s) {''.join(sorted(unknown))!r} have no Spark form here")
    inline = "".join(sorted(set("".join(_REGEXP_FLAGS[f] for f in flags))))
    pattern = node.expression.copy().transform(_portable)
    parts: list[exp.Expression] = [exp.Literal.string(f"(?{inline})")] if inline else []
    shift = 0
    if "g" not in flags:  # anchored at the start, so matched once: group 1 what comes before, 2 the match itself,
        # the pattern's own groups from 3 (named groups are no option: Spark substitutes `${...}` in SQL text)
        parts += [exp.Literal.string("^(?s:(.*?))("), pattern, exp.Literal.string(")")]
        shift = 2
    else:
        parts.append(pattern)
    replacement = [_java_replacement(p, shift) for p in _concatenated(node.args["replacement"].copy())]
    if shift:
        if replacement[0].is_string and replacement[0].name[:1].isdigit():  # `$1` then a digit: not group 1x
            replacement[0] = exp.Literal.string("\\" + replacement[0].name)
        replacement = [exp.Literal.string("$1"), *replacement]
    return exp.Anonymous(this="regexp_replace", expressions=[
        node.this.copy().transform(_portable), _concat(parts), _concat(replacement)])


def _concatenated(node: exp.Expression) -> list[exp.Expression]:
    """The parts of `a || b || ...` (one part where it is no concatenation)."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.DPipe):
        return _concatenated(node.this) + _concatenated(node.expression)
    return [node]


def _concat(parts: list[exp.Expression]) -> exp.Expression:
    """Parts joined with `||`, neighbouring string literals as one."""
    merged: list[exp.Expression] = []
    for part in parts:
        if merged and part.is_string and merged[-1].is_string:
            merged[-1] = exp.Literal.string(merged[-1].name + part.name)
        else:
            merged.append(part)
    out = merged[0]
    for part in merged[1:]:
        out = exp.DPipe(this=out, expression=part)
    return out


def _java_replacement(part: exp.Expression, shift: int) -> exp.Expression:
    """A part of an RE2 replacement as Java writes it: `\\0`-`\\9` are groups (`$n`, moved by `shift`), `\\\\` a
    backslash, `$` a dollar. A part made at run time is taken literally (its backslashes and dollars escaped)."""
    if not part.is_string:
        return exp.Anonymous(this="regexp_replace", expressions=[
            part.transform(_portable), exp.Literal.string("([\\\\$])"), exp.Literal.string("\\\\$1")])
    text, out, i = part.name, [], 0
    while i < len(text):
        char = text[i]
        if char == "\\" and i + 1 < len(text) and text[i + 1].isdigit():
            group = int(text[i + 1])
            out.append(f"${group + shift}")
            i += 2
            if i < len(text) and text[i].isdigit():  # a digit after a group: literal, not part of its number
                out.append("\\")
            continue
        if char == "\\" and i + 1 < len(text):
            out.append("\\" + text[i + 1])
            i += 2
            continue
        out.append("\\$" if char == "$" else char)
        i += 1
    return exp.Literal.string("".join(out))


def _update_as_query(tree: exp.Update, columns: list[tuple[str, str]]) -> exp.Select:
    """`UPDATE t SET c = e [FROM s] WHERE w` as the query of t's rows after it (Spark updates no temporary view):
    each row matching w, joined to s where there is one, takes the new values, cast to its column's type as an
    UPDATE keeps it; every other row is as it was. `columns`: t's (name, Spark type)."""
    target = tree.this
    table = target.alias_or_name
    sets = {eq.this.name: eq.expression for eq in tree.expressions}
    condition = tree.args["where"].this if tree.args.get("where") is not None else exp.true()
    source = tree.args.get("from_") or tree.args.get("from")
    if source is not None:  # a row is updated where it finds its match in s
        joined = source.this
        matched: exp.Expression = exp.column("__updated", table=joined.alias_or_name)
    else:
        matched = condition

    def column(name: str, kind: str) -> exp.Expression:
        if name not in sets:
            return exp.column(name, table=table)
        new = exp.cast(sets[name].copy(), exp.DataType.build(kind, dialect="spark"))
        return exp.alias_(exp.Case(ifs=[exp.If(this=matched.copy(), true=new)],
                                   default=exp.column(name, table=table)), name)

    query = exp.select(*[column(name, kind) for name, kind in columns]).from_(target.copy())
    if source is None:
        return query
    marked = exp.select("*", exp.alias_(exp.true(), "__updated")).from_(joined.copy())
    return query.join(marked.subquery(joined.alias_or_name), on=condition.copy(), join_type="left")


def _sequence(series: exp.GenerateSeries) -> exp.Expression:
    start, end = series.args["start"].copy(), series.args["end"].copy()
    if series.args.get("is_end_exclusive"):
        end = exp.Sub(this=exp.paren(end), expression=exp.Literal.number(1))
    arguments = [start, end] + ([series.args["step"].copy()] if series.args.get("step") else [])
    return exp.If(this=exp.LT(this=end.copy(), expression=start.copy()),
                  true=exp.Array(expressions=[]),
                  false=exp.Anonymous(this="sequence", expressions=arguments))


def to_spark(statement: str, macros: Macros, columns: Any = None) -> tuple[str, str | None, str]:
    """A statement of DuckDB SQL as Spark SQL: (kind, the table it creates, replaces or drops, Spark SQL). Kinds:
    `create` (a table from a query: the query's SQL is given), `replace` (an UPDATE, as the query of the table's
    rows after it; `columns(name)` gives the table's columns), `drop`, `macro` (remembered, nothing to run),
    `query`."""
    tree = sqlglot.parse_one(statement, read="duckdb")
    if isinstance(tree, exp.Update):
        name = tree.this.name
        return "replace", name, macros.expand(_update_as_query(tree, columns(name))).transform(_portable).sql(
            dialect="spark")
    if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "MACRO":
        macros.define(tree)
        return "macro", tree.this.this.name, ""
    if isinstance(tree, exp.Drop):
        return "drop", tree.this.name, ""
    tree = macros.expand(tree).transform(_portable)
    if isinstance(tree, exp.Create) and tree.expression is not None:
        target = tree.this
        name = target.this.name if isinstance(target, exp.Schema) else target.name
        return "create", name, tree.expression.sql(dialect="spark")
    return "query", None, tree.sql(dialect="spark")


@dataclass
class SparkRunner:
    """Runs the models' statements on a Spark session: a created table becomes a cached temporary view."""
    spark: Any
    macros: Macros = field(default_factory=Macros)

    def run(self, sql: str, values: dict[str, Any], source: str = "<sql>") -> None:
        for statement in split_statements(sql):
            self.execute(statement, values, source)

    def query(self, statement: str, values: dict[str, Any]) -> list[Any]:
        """The rows of a query, as Spark computes them."""
        kind, _, sql = to_spark(statement, self.macros)
        return self._frame(statement, sql, values).collect()

    def _frame(self, statement: str, sql: str, values: dict[str, Any]) -> Any:
        names = set(_PARAMETER.findall(statement))
        return self.spark.sql(sql, args={n: _spark_value(values[n]) for n in names if n in values})

    def execute(self, statement: str, values: dict[str, Any], source: str = "<sql>") -> None:
        try:
            kind, name, sql = to_spark(statement, self.macros, lambda table: self.spark.table(table).dtypes)
            if kind == "macro":
                return
            if kind == "drop":
                self.spark.catalog.dropTempView(name)
                return
            frame = self._frame(statement, sql, values)
            if kind in ("create", "replace"):
                frame = frame.cache()
                frame.count()  # computed now, as DuckDB's CREATE TABLE is, so that a later replacement reads it
                frame.createOrReplaceTempView(name)
            else:
                frame.collect()
        except Exception as exc:  # the model and statement named, as warehouse.run_sql names them
            first_line = statement.splitlines()[0][:120]
            message = " ".join(str(exc).split())[:400]
            raise SqlModelError(f"{source}: statement starting '{first_line}' failed on Spark: {message}") from exc


def _spark_value(value: Any) -> Any:
    """A bound value as Spark's named parameters take it (a list is an array literal)."""
    if isinstance(value, tuple):
        return list(value)
    return value
