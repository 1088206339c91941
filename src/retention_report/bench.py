"""`retention-report bench`: the build's cost on a scaled-up sample business, beside a hand-written reference.

It generates the sample business at N customers (and at 20,000, for the fixed cost) into a temporary folder,
as CSV and as Parquet, builds the report from each with every stage forced, and measures in the same run on
the same files: one DuckDB query that reads the orders and computes the cohort triangle, the usual
pandas read_csv + groupby, and the floor of the build's design (every export written as typed tables,
without checks or marts). Every figure is the faster of two runs. Each measurement runs in its own process,
so peak memory is that process's (and its notebook kernels') own. The bench asserts nothing: it prints what
it measured.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

PERIOD = "2024-Q2"
# The workload the issue asks for, per customer: about 10 orders, 0.5 NPS answers and 5 touchpoints (the
# sample's own business has 4.6 orders and 18 touchpoints, mostly monthly promotions and newsletters). What
# this shape writes comes closest at about 10.5 orders, 0.45 answers and 7 touchpoints (surveys and
# service messages follow the orders); the bench prints the exact counts. Issue 17 adds about 0.3 support
# tickets and 20 product events per customer, issue 18 about 0.5 subscriptions (0.56 stretches) per customer.
WORKLOAD = dict(order_frequency=2.4, churn=0.6, marketing=0.1, surveys=0.6, tickets=0.43, usage=0.93,
                subscriptions=1.0)
COHORT_MARTS = ("cohort_activity", "cohort_assignments", "cohort_bounds", "cohort_cells", "cohort_retention")

REFERENCE_SQL = """
WITH orders AS (
    SELECT customer_id, date_trunc('month', try_cast(ordered_at AS TIMESTAMP)) AS month
    FROM {source}
    WHERE coalesce(nullif(lower(trim(status)), ''), 'completed') = 'completed'
      AND try_cast(ordered_at AS TIMESTAMP) < DATE '2024-07-01'
),
active AS (SELECT DISTINCT customer_id, month FROM orders),
cohorts AS (SELECT customer_id, min(month) AS cohort FROM active GROUP BY customer_id)
SELECT cohort, datediff('month', cohort, month) AS k, count(*) AS active_customers
FROM active JOIN cohorts USING (customer_id)
GROUP BY ALL
"""


class PeakMemory:
    """Samples, every 20 ms, the resident memory of the largest of this process and its children (kernels)."""

    def __init__(self):
        import psutil

        self._me = psutil.Process()
        self._psutil = psutil
        self.samples: list[tuple[float, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        largest = self._me.memory_info().rss
        for child in self._me.children(recursive=True):
            try:
                largest = max(largest, child.memory_info().rss)
            except self._psutil.Error:
                pass
        return largest

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), self._sample()))
            time.sleep(0.02)

    def peak(self, start: float, end: float) -> int:
        return max((rss for t, rss in self.samples if start <= t <= end), default=0)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


# Not getrusage's ru_maxrss: Linux carries it over fork and exec, so a worker would report the bench
# driver's own peak (the workload generator's) whenever that was higher.


# ---------------------------------------------------------------- workers (each in its own process)

def worker_build(data: str, root: str, engine: str = "duckdb") -> dict:
    from .periods import parse_period
    from .pipeline import Build

    windows: dict[str, list[float]] = {}  # row -> [start, end]
    current = {"step": None}

    def on_event(kind, name, seconds):
        now = time.perf_counter()
        if kind in ("step", "done") and current["step"]:
            windows[current["step"]][1] = now
            current["step"] = None
        if kind == "step":
            windows[name] = [now, now]
            current["step"] = name
        elif kind == "start":
            windows[name] = [now, now]
        elif kind in ("done", "reused"):
            windows.setdefault(name, [now, now])[1] = now

    with PeakMemory() as memory:
        started = time.perf_counter()
        result = Build(parse_period(PERIOD), Path(data), Path(root) / "site" / "_site", build_root=Path(root) / "build",
                       use_quarto=False, force=True, on_event=on_event, engine=engine).run()
        total = time.perf_counter() - started
    peak = lambda name: memory.peak(*windows[name]) if name in windows else None
    rows = [{"stage": name, "seconds": seconds, "peak": peak(name), "level": 1} for name, seconds in result.steps]
    rows += [{"stage": name, "seconds": seconds, "peak": peak(name), "level": 0} for name, seconds in result.timings]
    return {"total": total, "rows": rows, "peak": memory.peak(0, float("inf"))}


def worker_duckdb(orders: str, threads: int, memory_limit: str) -> dict:
    import duckdb

    con = duckdb.connect(config={"threads": threads, "memory_limit": memory_limit})
    reader = "read_parquet($path)" if orders.endswith(".parquet") else "read_csv($path, all_varchar = true)"
    with PeakMemory() as memory:
        started = time.perf_counter()
        cells = con.execute(REFERENCE_SQL.format(source=reader), {"path": orders}).fetchall()
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "cells": len(cells), "peak": memory.peak(0, float("inf"))}


# The floor of a build: every export read once and typed, with no check, no set-aside row, no row numbers and no
# mart, held in memory (`where` = memory; `file`: written into a .duckdb file). `folder` holds the exports as CSV
# or as Parquet (the bench's Parquet files hold text, as the CSV does). `trim` keeps DuckDB from pushing the cast
# into the CSV reader, where one bad value would fail the whole read.
FLOOR_TYPES = {"timestamp": "TIMESTAMP", "moment": "TIMESTAMP", "money": "DECIMAL(18, 2)", "integer": "INTEGER",
               "number": "DOUBLE", "boolean": "BOOLEAN"}


def worker_floor(folder: str, threads: int, memory_limit: str, where: str) -> dict:
    import duckdb

    from .exports import CONTRACT

    target = Path(folder).parent / f"floor-{where}.duckdb"
    target.unlink(missing_ok=True)
    con = duckdb.connect(str(target) if where == "file" else ":memory:",
                         config={"threads": threads, "memory_limit": memory_limit})
    with PeakMemory() as memory:
        started = time.perf_counter()
        for export in CONTRACT.values():
            path = Path(folder) / f"{export.name}.csv"
            reader = "read_csv($path, all_varchar = true)"
            if not path.exists():
                path, reader = path.with_suffix(".parquet"), "read_parquet($path)"
            if not path.exists():
                continue
            given = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}", {"path": str(path)}).fetchall()}
            columns = ", ".join(
                f"try_cast(trim({c}) AS {FLOOR_TYPES[export.type_of(c)]}) AS {c}" if export.type_of(c) in FLOOR_TYPES
                else c for c in export.all_columns if c in given)
            con.execute(f"CREATE TABLE {export.name} AS SELECT {columns} FROM {reader}", {"path": str(path)})
        if where == "file":  # (a checkpoint would compress even an in-memory database's tables)
            con.execute("CHECKPOINT")
        seconds = time.perf_counter() - started
    con.close()
    target.unlink(missing_ok=True)
    return {"seconds": seconds, "peak": memory.peak(0, float("inf"))}


def worker_pandas(orders: str) -> dict:
    import pandas as pd

    memory = PeakMemory().__enter__()
    started = time.perf_counter()
    frame = pd.read_csv(orders, dtype=str, keep_default_na=False, usecols=["customer_id", "ordered_at", "status"])
    status = frame.status.str.strip().str.lower().replace("", "completed")
    at = pd.to_datetime(frame.ordered_at, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    keep = (status == "completed") & (at < pd.Timestamp("2024-07-01"))
    month = at[keep].dt.year * 12 + at[keep].dt.month - 1
    active = pd.DataFrame({"customer_id": frame.customer_id[keep], "month": month}).drop_duplicates()
    active["cohort"] = active.groupby("customer_id").month.transform("min")
    cells = active.groupby(["cohort", active.month - active.cohort]).size()
    seconds = time.perf_counter() - started
    memory.__exit__()
    return {"seconds": seconds, "cells": len(cells), "peak": memory.peak(0, float("inf"))}


WORKERS = {"build": worker_build, "duckdb": worker_duckdb, "pandas": worker_pandas, "floor": worker_floor}


def _in_process(kind: str, *args) -> dict:
    command = [sys.executable, "-m", "retention_report.bench", kind, *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"bench {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- the bench

def write_csv_workload(folder: Path, customers: int) -> dict:
    from .sample_data import Shape, write_sample_data

    return write_sample_data(folder, customers=customers, shape=Shape(**WORKLOAD))


def generate(folder: Path, customers: int) -> dict:
    """The sample business at `customers`, as CSV in folder/csv and as Parquet in folder/parquet."""
    import duckdb

    counts = write_csv_workload(folder / "csv", customers)
    (folder / "parquet").mkdir(parents=True, exist_ok=True)
    with duckdb.connect() as con:
        for path in sorted((folder / "csv").glob("*.csv")):
            target = folder / "parquet" / f"{path.stem}.parquet"
            # The relational API: neither path is written into SQL text.
            con.read_csv(str(path), all_varchar=True).write_parquet(str(target))
    return counts


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GB RAM, {platform.system()} {platform.release()}"


def run_bench(customers: int = 1_000_000, small: int = 20_000, out: Path | None = None, keep: bool = False,
              print_fn=print, curve: int = 3_000_000) -> dict:
    """Every figure the faster of two runs, but for the build at `curve` customers (once: it takes minutes; 0
    skips it), which shows how the cost per order grows with size."""
    from .params import load_params
    from .warehouse import duckdb_settings

    settings = duckdb_settings(load_params(PERIOD))  # the reference runs with the build's own settings
    threads, memory_limit = settings["threads"], settings["memory_limit"]
    if out is not None:  # `--tmp` names a folder of its own; made when it does not exist yet
        Path(out).mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="rr-bench-", dir=out) if not keep else None
    root = Path(tmp.name) if tmp else Path(tempfile.mkdtemp(prefix="rr-bench-", dir=out))
    report: dict = {"machine": machine(), "customers": customers, "small": small, "curve": curve}
    try:
        started = time.perf_counter()
        report["rows"] = generate(root / "large", customers)
        generate(root / "small", small)
        report["generate_seconds"] = time.perf_counter() - started
        print_fn(f"workload: {customers:,} customers -> " + ", ".join(f"{k} {v:,}" for k, v in report["rows"].items())
                 + f" (generated in {report['generate_seconds']:.0f} s into {root})")
        sizes = {fmt: sum(p.stat().st_size for p in (root / "large" / fmt).glob("*")) for fmt in ("csv", "parquet")}
        report["sizes"] = sizes
        # Warm the page cache the same way for every contender.
        for path in (root / "large").rglob("*"):
            if path.is_file():
                with path.open("rb") as handle:
                    while handle.read(1 << 24):
                        pass
        # One untimed build first, so the timed ones all find Python's and Jupyter's files in the page cache.
        # Every figure is then the faster of two runs, taken in turns: on a shared machine one run now and then
        # loses seconds to a neighbour or to a notebook kernel slow to start or stop (2 s or more), which is
        # noise, not cost.
        _in_process("build", root / "small" / "csv", root / "b-warm")
        runs = {
            "build_small": lambda i: _in_process("build", root / "small" / "csv", root / f"b-small-{i}"),
            "build_csv": lambda i: _in_process("build", root / "large" / "csv", root / f"b-csv-{i}"),
            "build_parquet": lambda i: _in_process("build", root / "large" / "parquet", root / f"b-parquet-{i}"),
            "duckdb_csv": lambda i: _in_process("duckdb", root / "large" / "csv" / "orders.csv", threads, memory_limit),
            "duckdb_parquet": lambda i: _in_process("duckdb", root / "large" / "parquet" / "orders.parquet", threads,
                                                    memory_limit),
            "pandas_csv": lambda i: _in_process("pandas", root / "large" / "csv" / "orders.csv"),
            **{f"floor_{where}": (lambda i, where=where: _in_process("floor", root / "large" / "csv", threads,
                                                                     memory_limit, where))
               for where in ("file", "memory")},
            "floor_parquet": lambda i: _in_process("floor", root / "large" / "parquet", threads, memory_limit,
                                                   "memory"),
        }
        for attempt in (1, 2):
            for key, run in runs.items():
                result = run(attempt)
                if key not in report or _seconds(result) < _seconds(report[key]):
                    report[key] = result
        if curve:
            shutil.rmtree(root / "large")  # (the disk holds one large workload at a time)
            report["curve_rows"] = write_csv_workload(root / "curve", curve)
            print_fn(f"curve: {curve:,} customers -> {report['curve_rows']['orders']:,} orders")
            report["build_curve"] = _in_process("build", root / "curve", root / "b-curve")
            report["floor_curve"] = _in_process("floor", root / "curve", threads, memory_limit, "memory")
    finally:
        if tmp:
            tmp.cleanup()
    report.update(ratios(report))
    return report


def run_engine_bench(customers: int = 100_000, small: int = 20_000, out: Path | None = None, keep: bool = False,
                     print_fn=print) -> dict:
    """`make bench ENGINE=spark`: the bench workload (CSV) built with its marts computed by DuckDB and by Spark in
    local mode on this machine, in turns, each figure the faster of two runs. Staging is DuckDB's either way."""
    if out is not None:
        Path(out).mkdir(parents=True, exist_ok=True)
    tmp = tempfile.TemporaryDirectory(prefix="rr-bench-", dir=out) if not keep else None
    root = Path(tmp.name) if tmp else Path(tempfile.mkdtemp(prefix="rr-bench-", dir=out))
    report: dict = {"machine": machine(), "customers": customers, "small": small, "engines": ["duckdb", "spark"]}
    try:
        report["rows"] = write_csv_workload(root / "large", customers)
        write_csv_workload(root / "small", small)
        print_fn(f"workload: {customers:,} customers -> " + ", ".join(f"{k} {v:,}" for k, v in report["rows"].items()))
        _in_process("build", root / "small", root / "b-warm", "spark")  # (Spark's and Python's files cached)
        for attempt in (1, 2):
            for engine in report["engines"]:
                for size in ("small", "large"):
                    result = _in_process("build", root / size, root / f"b-{engine}-{size}-{attempt}", engine)
                    key = f"{engine}_{size}"
                    if key not in report or result["total"] < report[key]["total"]:
                        report[key] = result
    finally:
        if tmp:
            tmp.cleanup()
    return report


def marts_seconds(build: dict) -> float:
    """The time a build spent computing its marts (and bringing them home from Spark)."""
    return sum(r["seconds"] for r in build["rows"] if r["level"] == 1 and r["stage"].startswith("marts "))


def engine_markdown(report: dict) -> str:
    """The engines side by side, as Markdown (docs/performance.md) and as printed."""
    lines = [f"Machine: {report['machine']}. Spark in local mode (`local[*]`); staging on DuckDB either way.", "",
             "| workload | DuckDB: whole build s | Spark: whole build s | DuckDB: marts s | Spark: marts s | "
             "Spark / DuckDB (marts) |", "|---|---:|---:|---:|---:|---:|"]
    for size, customers in (("small", report["small"]), ("large", report["customers"])):
        duck, spark = report[f"duckdb_{size}"], report[f"spark_{size}"]
        lines.append(f"| {customers:,} customers | {duck['total']:.1f} | {spark['total']:.1f} | "
                     f"{marts_seconds(duck):.1f} | {marts_seconds(spark):.1f} | "
                     f"{marts_seconds(spark) / marts_seconds(duck):.1f} x |")
    return "\n".join(lines) + "\n"


def _seconds(result: dict) -> float:
    return result["total"] if "total" in result else result["seconds"]


def cohort_seconds(build: dict) -> float:
    return sum(r["seconds"] for r in build["rows"] if r["level"] == 1 and r["stage"].split(" ")[-1] in COHORT_MARTS)


def ratios(report: dict) -> dict:
    small, csv, parquet = report["build_small"], report["build_csv"], report["build_parquet"]
    stage = lambda build, prefix: sum(r["seconds"] for r in build["rows"] if r["level"] == 0
                                      and r["stage"].startswith(prefix))
    return {
        "data_cost_csv": csv["total"] - small["total"],
        "data_cost_parquet": parquet["total"] - small["total"],
        "ratio_data_cost_csv": (csv["total"] - small["total"]) / report["duckdb_csv"]["seconds"],
        "ratio_data_cost_parquet": (parquet["total"] - small["total"]) / report["duckdb_csv"]["seconds"],
        "ratio_build_csv": csv["total"] / report["duckdb_csv"]["seconds"],
        "ratio_pandas_cohort_marts": report["pandas_csv"]["seconds"] / cohort_seconds(csv),
        "notebooks_small": stage(small, "notebook"), "notebooks_large": stage(csv, "notebook"),
        "render_small": stage(small, "render"), "render_large": stage(csv, "render"),
        "peak_largest_process": max(b["peak"] for b in (small, csv, parquet)),
        **{f"ratio_floor_{where}": report[f"floor_{where}"]["seconds"] / report["duckdb_csv"]["seconds"]
           for where in ("file", "memory") if f"floor_{where}" in report},
        # Issue 20's goals: the data-dependent cost against the floor of the same format, measured in the same run.
        **({"floor_ratio_csv": (csv["total"] - small["total"]) / report["floor_memory"]["seconds"]}
           if "floor_memory" in report else {}),
        **({"floor_ratio_parquet": (parquet["total"] - small["total"]) / report["floor_parquet"]["seconds"]}
           if "floor_parquet" in report else {}),
        "seconds_per_million_orders": (csv["total"] - small["total"]) / (report["rows"]["orders"] / 1e6),
        **({"curve_seconds_per_million_orders":
            (report["build_curve"]["total"] - small["total"]) / (report["curve_rows"]["orders"] / 1e6),
            "curve_floor_ratio": (report["build_curve"]["total"] - small["total"]) / report["floor_curve"]["seconds"],
            "peak_curve": report["build_curve"]["peak"]} if "build_curve" in report else {}),
    }


FLOOR_LABELS = (("floor_file", "floor: every CSV export as typed tables in a .duckdb file, no checks"),
                ("floor_memory", "floor: every CSV export as typed tables in memory"),
                ("floor_parquet", "floor: every Parquet export as typed tables in memory"))


def goal_lines(report: dict) -> list[str]:
    """Issue 20's goals, each beside what this run measured."""
    gb = lambda b: f"{b / 2**30:.2f} GB"
    lines = []
    if "floor_ratio_csv" in report:
        lines.append(f"data-dependent cost, CSV: {report['data_cost_csv']:.1f} s = {report['floor_ratio_csv']:.2f} x "
                     f"the CSV floor ({report['floor_memory']['seconds']:.1f} s; goal <= 3)")
    if "floor_ratio_parquet" in report:
        lines.append(f"data-dependent cost, Parquet: {report['data_cost_parquet']:.1f} s = "
                     f"{report['floor_ratio_parquet']:.2f} x the Parquet floor ({report['floor_parquet']['seconds']:.1f}"
                     f" s; goal <= 3)")
    lines.append(f"fixed cost (build at {report['small']:,}, fallback renderer, --force): "
                 f"{report['build_small']['total']:.1f} s (goal <= 7)")
    lines.append(f"cost per million orders at {report['customers']:,} customers: "
                 f"{report['seconds_per_million_orders']:.2f} s")
    if "curve_seconds_per_million_orders" in report:
        lines.append(f"cost per million orders at {report['curve']:,} customers "
                     f"({report['curve_rows']['orders']:,} orders): {report['curve_seconds_per_million_orders']:.2f} s"
                     f" = {report['curve_seconds_per_million_orders'] / report['seconds_per_million_orders']:.2f} x "
                     f"(goal <= 1.1); {report['curve_floor_ratio']:.2f} x its CSV floor "
                     f"({report['floor_curve']['seconds']:.1f} s); largest process {gb(report['peak_curve'])}")
    lines.append(f"largest process at {report['customers']:,}: {gb(report['peak_largest_process'])} (goal <= 4 GB)")
    return lines


def print_report(report: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    gb = lambda b: f"{b / 2**30:.2f} GB" if b else ""
    table = Table("stage", f"{report['small']:,} CSV s", f"{report['customers']:,} CSV s", "peak",
                  f"{report['customers']:,} Parquet s", "peak", title=f"Build stages ({report['machine']})")
    small = {r["stage"]: r for r in report["build_small"]["rows"]}
    parquet = {r["stage"]: r for r in report["build_parquet"]["rows"]}
    for row in report["build_csv"]["rows"]:
        name = ("  " * row["level"]) + row["stage"]
        other, s = parquet.get(row["stage"], {}), small.get(row["stage"], {})
        table.add_row(name, f"{s.get('seconds', 0):.2f}", f"{row['seconds']:.2f}", gb(row["peak"]),
                      f"{other.get('seconds', 0):.2f}", gb(other.get("peak")))
    table.add_row("whole build", f"{report['build_small']['total']:.2f}", f"{report['build_csv']['total']:.2f}",
                  gb(report["build_csv"]["peak"]), f"{report['build_parquet']['total']:.2f}",
                  gb(report["build_parquet"]["peak"]))
    console.print(table)
    ref = Table("reference (cohort triangle from the orders file)", "seconds", "peak", title="Reference, same files")
    for key, label in (("duckdb_csv", "DuckDB, one query, CSV"), ("duckdb_parquet", "DuckDB, one query, Parquet"),
                       ("pandas_csv", "pandas read_csv + groupby, CSV")):
        ref.add_row(label, f"{report[key]['seconds']:.2f}", gb(report[key]["peak"]))
    ref.add_row("our cohort marts (on staged tables)", f"{cohort_seconds(report['build_csv']):.2f}", "")
    for key, label in FLOOR_LABELS:
        if key in report:
            ref.add_row(label, f"{report[key]['seconds']:.2f}", gb(report[key]["peak"]))
    console.print(ref)
    lines = goal_lines(report) + [
        f"data-dependent cost, CSV: {report['data_cost_csv']:.1f} s = {report['ratio_data_cost_csv']:.2f} x the "
        f"reference query",
        f"data-dependent cost, Parquet: {report['data_cost_parquet']:.1f} s = "
        f"{report['ratio_data_cost_parquet']:.2f} x the reference query on CSV",
        f"whole build / reference query (CSV): {report['ratio_build_csv']:.2f}",
        *([f"floor (typed tables persisted, no checks) / reference query: {report['ratio_floor_file']:.2f}; "
           f"in memory: {report['ratio_floor_memory']:.2f}"] if "ratio_floor_file" in report else []),
        f"pandas / our cohort marts: {report['ratio_pandas_cohort_marts']:.1f} (goal >= 8)",
        f"notebooks {report['notebooks_small']:.1f} s vs {report['notebooks_large']:.1f} s, render "
        f"{report['render_small']:.1f} s vs {report['render_large']:.1f} s (summed per stage, small vs large)",
    ]
    for line in lines:
        console.print(line, highlight=False)


def markdown_report(report: dict) -> str:
    """The same figures as `print_report`, as Markdown tables (for docs/performance.md)."""
    gb = lambda b: f"{b / 2**30:.2f}" if b else ""
    small = {r["stage"]: r for r in report["build_small"]["rows"]}
    parquet = {r["stage"]: r for r in report["build_parquet"]["rows"]}
    n, k = f"{report['customers']:,}", f"{report['small']:,}"
    lines = [f"Machine: {report['machine']}. Workload: {n} customers -> "
             + ", ".join(f"{name} {count:,}" for name, count in report["rows"].items())
             + f"; CSV {report['sizes']['csv'] / 2**20:,.0f} MB, Parquet {report['sizes']['parquet'] / 2**20:,.0f} MB.",
             "", f"| stage | {k} CSV s | {n} CSV s | peak GB | {n} Parquet s | peak GB |", "|---|---:|---:|---:|---:|---:|"]
    for row in report["build_csv"]["rows"]:
        name = ("&nbsp;&nbsp;" * row["level"]) + row["stage"]
        other, s = parquet.get(row["stage"], {}), small.get(row["stage"], {})
        lines.append(f"| {name} | {s.get('seconds', 0):.2f} | {row['seconds']:.2f} | {gb(row['peak'])} | "
                     f"{other.get('seconds', 0):.2f} | {gb(other.get('peak'))} |")
    lines.append(f"| **whole build** | {report['build_small']['total']:.2f} | {report['build_csv']['total']:.2f} | "
                 f"{gb(report['build_csv']['peak'])} | {report['build_parquet']['total']:.2f} | "
                 f"{gb(report['build_parquet']['peak'])} |")
    lines += ["", "| reference: cohort triangle from the orders file | s | peak GB |", "|---|---:|---:|"]
    for key, label in (("duckdb_csv", "DuckDB, one query, CSV"), ("duckdb_parquet", "DuckDB, one query, Parquet"),
                       ("pandas_csv", "pandas read_csv + groupby, CSV")):
        lines.append(f"| {label} | {report[key]['seconds']:.2f} | {gb(report[key]['peak'])} |")
    lines.append(f"| our cohort marts (on staged tables) | {cohort_seconds(report['build_csv']):.2f} | |")
    for key, label in FLOOR_LABELS:
        if key in report:
            lines.append(f"| {label} | {report[key]['seconds']:.2f} | {gb(report[key]['peak'])} |")
    lines += ["", *[f"- {line}" for line in goal_lines(report)]]
    if "build_curve" in report:
        lines += ["", f"| build at {report['curve']:,} customers (CSV, one run) | s | peak GB |", "|---|---:|---:|"]
        lines += [f"| {('&nbsp;&nbsp;' * r['level']) + r['stage']} | {r['seconds']:.2f} | {gb(r['peak'])} |"
                  for r in report["build_curve"]["rows"] if r["level"] == 0 or r["seconds"] >= 1]
        lines.append(f"| **whole build** | {report['build_curve']['total']:.2f} | {gb(report['build_curve']['peak'])} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # a worker: python -m retention_report.bench KIND ARGS...
    kind, *arguments = sys.argv[1:]
    converted = [int(a) if a.isdigit() else a for a in arguments]
    print(json.dumps(WORKERS[kind](*converted)))
