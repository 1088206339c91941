"""Where a build computes its marts (issue 21). `engine: duckdb`, the default, runs every model on the build's
DuckDB connection. `engine: spark` runs the marts on a Spark session (spark.py) and brings each table a mart
writes home into the build's DuckDB warehouse, with the schema DuckDB gives it. Notebooks, render, publish,
caching and the data quality page then read the same warehouse whichever engine computed it.

The staged exports, the params' tables and what the build writes from Python (segments.py, predictions.py) are
handed to Spark as Parquet files in the build's folder. The schema of each table a mart writes is DuckDB's own:
the same models run on a DuckDB connection over no rows (`shapes`), so a sum is the HUGEINT DuckDB makes of it,
not Spark's BIGINT, and a timestamp is DuckDB's TIMESTAMP in the report's time zone.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from . import spark as spark_engine
from .warehouse import SqlModelError, _strip_comments, read_query, run_sql, split_statements

ENGINES = ("duckdb", "spark")


def engine_of(params: dict[str, Any]) -> str:
    """The engine params name (`engine: duckdb | spark`), refused in one line when it is neither."""
    value = str(params.get("engine") or "duckdb").strip().lower()
    if value not in ENGINES:
        raise ValueError(f"params: engine must be duckdb or spark, not {params.get('engine')!r}.")
    return value


def computed_by(warehouse: Path | str) -> str:
    """What computed a warehouse's marts, in the words of the methodology page."""
    rows = read_query(warehouse, "SELECT engine, version, master FROM build_engine").fetchall()
    engine, version, master = rows[0] if rows else ("duckdb", duckdb.__version__, None)
    if engine == "duckdb":
        return f"DuckDB {version}, on one machine"
    return (f"Apache Spark {version} (master `{master}`) computed the marts; DuckDB staged the exports and holds "
            f"the warehouse")


def record_engine(con: duckdb.DuckDBPyConnection, engine: str, version: str, master: str | None) -> None:
    con.execute("CREATE OR REPLACE TABLE build_engine (engine VARCHAR, version VARCHAR, master VARCHAR)")
    con.execute("INSERT INTO build_engine VALUES ($e, $v, $m)", {"e": engine, "v": version, "m": master})


# DuckDB types Spark has no equal of, handed over as the narrowest type that holds every value (Parquet writes
# a HUGEINT as a DOUBLE; Spark reads no unsigned integer from Arrow).
_SPARK_HOLDS = {"HUGEINT": "DECIMAL(38, 0)", "UBIGINT": "DECIMAL(20, 0)", "UINTEGER": "BIGINT",
                "USMALLINT": "INTEGER", "UTINYINT": "SMALLINT"}


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    """{table: temporary} of a connection (views excluded: a view is read through its tables)."""
    return {name: temporary for name, temporary in con.execute(
        "SELECT table_name, temporary FROM duckdb_tables() WHERE NOT internal").fetchall()}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
                       "ORDER BY column_index", {"t": table}).fetchall()


def _written(sql: str) -> list[str]:
    """The tables a model's statements create, update or drop, in order."""
    names = []
    for statement in split_statements(sql):
        tree = sqlglot.parse_one(statement, read="duckdb")
        if isinstance(tree, exp.Create) and str(tree.args.get("kind", "")).upper() == "TABLE":
            target = tree.this
            names.append((target.this if isinstance(target, exp.Schema) else target).name)
        elif isinstance(tree, (exp.Update, exp.Drop)):
            names.append(tree.this.name)
    return list(dict.fromkeys(names))


class SparkMarts:
    """The marts of one build on Spark: tables handed over, models run, marts brought home."""

    def __init__(self, con: duckdb.DuckDBPyConnection, params: dict[str, Any], folder: Path, marts: list[Any]):
        self.con = con
        # The last mart that names each word of the models: a table Spark holds is let go once its last reader
        # has run (and it is home), so the session's memory holds only the tables still to be read.
        self.last_reader = {word: model.name for model in marts
                            for word in re.findall(r"\w+", _strip_comments(model.path.read_text(encoding="utf-8")))}
        self.timezone = str(params.get("timezone") or "UTC")
        self.spark = spark_engine.session(params)
        self.runner = spark_engine.SparkRunner(self.spark)
        self.shapes = duckdb.connect()  # the models over no rows: DuckDB's schema of every table
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.on_spark: set[str] = set()  # tables Spark holds: handed over, or computed there
        self.released: set[str] = set()  # of those, the ones no later mart reads, let go
        record_engine(con, "spark", self.spark.version, self.spark.sparkContext.master)

    def hand_over(self) -> None:
        """Every table of the build's connection Spark does not hold yet, as a Parquet file of the build's folder
        (Spark reads it in parallel; the driver holds none of it), and its empty shape beside the models."""
        for table, temporary in _tables(self.con).items():
            if table in self.on_spark or table in self.released:
                continue
            columns = _columns(self.con, table)
            select = ", ".join(f"CAST({_quote(c)} AS {_SPARK_HOLDS[kind]}) AS {_quote(c)}" if kind in _SPARK_HOLDS
                               else _quote(c) for c, kind in columns)
            query = f"SELECT {select} FROM {_quote(table)}"
            if self.con.execute(f"SELECT count(*) FROM (FROM {_quote(table)} LIMIT 1)").fetchall()[0][0]:
                file = self.folder / f"table-{table}.parquet"  # (Spark skips a file whose name starts with _)
                self.con.execute(f"COPY ({query}) TO '{file}' (FORMAT parquet)")
                frame = self.spark.read.parquet(str(file))
            else:  # (Spark finds no schema in a Parquet file without rows)
                frame = self.spark.createDataFrame(self.con.sql(query).to_arrow_table())
            frame.createOrReplaceTempView(table)
            definition = ", ".join(f"{_quote(c)} {kind}" for c, kind in columns)
            # (temporary as in the build: a staged export a mart updates is not brought home)
            self.shapes.execute(f"CREATE OR REPLACE {'TEMP ' if temporary else ''}TABLE {_quote(table)} ({definition})")
            self.on_spark.add(table)

    def run(self, model: Any, values: dict[str, Any]) -> None:
        """A mart model on Spark; each table it writes (not a temporary one) brought home, and the tables no mart
        after it reads let go."""
        sql, source = model.path.read_text(encoding="utf-8"), str(model.path)
        run_sql(self.shapes, sql, values, source)
        self.runner.run(sql, values, source)
        shapes = _tables(self.shapes)
        for table in _written(sql):
            self.on_spark.add(table)
            if table not in shapes:  # dropped by the model
                self.con.execute(f"DROP TABLE IF EXISTS {_quote(table)}")
            elif not shapes[table]:
                self.bring_home(table, source)
        for table in [t for t in self.on_spark if self.last_reader.get(t, model.name) == model.name]:
            self.spark.catalog.dropTempView(table)  # (uncached with it)
            self.released.add(table)

    def bring_home(self, table: str, source: str) -> None:
        """A table Spark computed, written into the warehouse with DuckDB's schema for it. A Spark timestamp
        comes as an instant (UTC): the report's time zone makes it DuckDB's local TIMESTAMP again."""
        frame = self.spark.table(table).toArrow()
        given = {field.name: field.type for field in frame.schema}
        wanted = _columns(self.shapes, table)
        if sorted(given) != sorted(c for c, _ in wanted):
            raise SqlModelError(f"{source}: table {table} has columns {sorted(given)} on Spark, "
                                f"{sorted(c for c, _ in wanted)} on DuckDB")
        select = []
        for column, kind in wanted:
            value = _quote(column)
            if getattr(given[column], "tz", None) is not None and kind == "TIMESTAMP":
                value = f"timezone($tz, {value})"
            select.append(f"CAST({value} AS {kind}) AS {_quote(column)}")
        self.con.register("_from_spark", frame)
        try:
            self.con.execute(f"CREATE OR REPLACE TABLE {_quote(table)} AS SELECT {', '.join(select)} FROM _from_spark",
                             {"tz": self.timezone} if "$tz" in " ".join(select) else {})
        finally:
            self.con.unregister("_from_spark")

    def close(self) -> None:
        """The cached views released (the session stays for the next build of this process) and the handed
        files removed."""
        for table in self.on_spark - self.released:
            self.spark.catalog.dropTempView(table)
        self.spark.catalog.clearCache()
        self.shapes.close()
        shutil.rmtree(self.folder, ignore_errors=True)
