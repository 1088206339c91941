"""The whole sample report built with `engine: spark` (issue 21): the marts computed on Spark in local mode and
brought home into the warehouse equal DuckDB's build of the same exports, table by table: the same tables, the
same columns with the same types, and the same rows (counts and decimals exactly, doubles to 1e-9 relative)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from conftest import SAMPLE_PERIOD
from test_spark import assert_same_rows, needs_spark

from retention_report.exports import ExportError
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.validate import check_params


@pytest.fixture(scope="module")
def spark_build(sample_data, tmp_path_factory):
    from retention_report.pipeline import Build

    root = tmp_path_factory.mktemp("spark-build")
    return Build(parse_period(SAMPLE_PERIOD), sample_data, root / "site" / "_site", build_root=root / "build",
                 use_quarto=False, engine="spark").run()


def _tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return sorted(row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall())


def _schema(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    return con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
                       "ORDER BY column_index", {"t": table}).fetchall()


@needs_spark
def test_every_table_of_the_sample_built_on_spark_equals_duckdbs(spark_build, sample_site):
    duck = duckdb.connect(str(sample_site.build_dir / "warehouse.duckdb"), read_only=True)
    spark = duckdb.connect(str(spark_build.build_dir / "warehouse.duckdb"), read_only=True)
    tables = _tables(duck)
    assert _tables(spark) == tables
    assert len(tables) > 80
    compared = 0
    for table in tables:
        assert _schema(spark, table) == _schema(duck, table), table
        if table == "build_engine":
            continue
        rows = duck.execute(f"SELECT * FROM {table}").fetchall()
        assert_same_rows(rows, spark.execute(f"SELECT * FROM {table}").fetchall(), table)
        compared += bool(rows)
    assert compared > 70  # (tables with rows: an empty table on both sides proves little)
    # The set-aside rows, with file, row, column and reason, are among the tables; say so plainly too.
    assert duck.execute("SELECT count(*) FROM set_aside").fetchall()[0][0] > 0
    assert duck.execute("SELECT engine FROM build_engine").fetchall() == [("duckdb",)]
    # (local mode: a session an earlier test of this worker started, local[2], is reused as a build reuses it)
    [(engine, master)] = spark.execute("SELECT engine, master FROM build_engine").fetchall()
    assert engine == "spark" and master.startswith("local[")


@needs_spark
def test_the_pages_of_the_spark_build_are_duckdbs_and_the_methodology_names_spark(spark_build, sample_site):
    on_spark = (spark_build.site / SAMPLE_PERIOD / "methodology.html").read_text(encoding="utf-8")
    on_duckdb = (sample_site.site / SAMPLE_PERIOD / "methodology.html").read_text(encoding="utf-8")
    master = duckdb.connect(str(spark_build.build_dir / "warehouse.duckdb"), read_only=True).execute(
        "SELECT master FROM build_engine").fetchall()[0][0]
    assert "Apache Spark 4." in on_spark and f"master <code>{master}</code>" in on_spark
    assert "Apache Spark" not in on_duckdb and f"DuckDB {duckdb.__version__}, on one machine" in on_duckdb
    # Every page of the period is there, and every table a reader can download holds the same figures (the
    # parameters' table names the engine, the one thing that differs).
    pages = sorted(p.name for p in (sample_site.site / SAMPLE_PERIOD).glob("*.html"))
    assert sorted(p.name for p in (spark_build.site / SAMPLE_PERIOD).glob("*.html")) == pages
    downloads = sorted(p.name for p in (sample_site.build_dir / "data").glob("*.csv"))
    assert sorted(p.name for p in (spark_build.build_dir / "data").glob("*.csv")) == downloads
    assert len(downloads) > 40
    for name in downloads:
        if name != "methodology_parameters.csv":
            pd.testing.assert_frame_equal(pd.read_csv(spark_build.build_dir / "data" / name),
                                          pd.read_csv(sample_site.build_dir / "data" / name),
                                          check_exact=False, rtol=1e-9, obj=name)


def test_an_engine_params_do_not_name_is_refused_in_one_line():
    with pytest.raises(ExportError, match="params: engine must be duckdb or spark, not 'sparkk'"):
        check_params({**load_params(None), "engine": "sparkk"})


def test_the_engine_bench_counts_only_the_marts_steps_as_the_marts_time():
    from retention_report import bench

    def build(marts: float, staging: float) -> dict:
        return {"total": marts + staging + 5, "rows": [
            {"stage": "staging stg_orders", "seconds": staging, "level": 1},
            {"stage": "marts cohort_cells", "seconds": marts / 4, "level": 1},
            {"stage": "marts nps_scores (on Spark)", "seconds": 3 * marts / 4, "level": 1},
            {"stage": "warehouse", "seconds": marts + staging, "level": 0}]}

    report = {"machine": "m", "small": 1_000, "customers": 50_000, "duckdb_small": build(2, 1),
              "spark_small": build(30, 1), "duckdb_large": build(8, 20), "spark_large": build(40, 20)}
    assert bench.marts_seconds(report["spark_large"]) == 40
    table = bench.engine_markdown(report)
    assert "| 1,000 customers | 8.0 | 36.0 | 2.0 | 30.0 | 15.0 x |" in table
    assert "| 50,000 customers | 33.0 | 65.0 | 8.0 | 40.0 | 5.0 x |" in table
