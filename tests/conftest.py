"""Shared fixtures: tiny hand-written exports, and one full build of the sample data per test session."""

from __future__ import annotations

import csv
import shutil
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest

from retention_report import warehouse
from retention_report.exports import CONTRACT
from retention_report.params import load_params
from retention_report.periods import parse_period

SAMPLE_PERIOD = "2024-Q2"


def write_exports(folder: Path, **exports: list[dict]) -> Path:
    """Write each export as CSV (columns from the union of the rows' keys, in first-seen order)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in exports.items():
        columns: list[str] = []
        for row in rows:
            columns += [c for c in row if c not in columns]
        if not columns:
            columns = list(CONTRACT[name].columns)
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    return folder


def customer(customer_id: str, created_at: str = "2024-01-01", **extra) -> dict:
    return {"customer_id": customer_id, "created_at": created_at, **extra}


def order(order_id: str, customer_id: str, ordered_at: str, amount: str = "10.00", status: str = "completed") -> dict:
    return {"order_id": order_id, "customer_id": customer_id, "ordered_at": ordered_at, "amount": amount,
            "status": status}


@pytest.fixture
def build_warehouse(tmp_path):
    """Build a warehouse from tiny exports; returns a read-only DuckDB connection. `keep_staging=True` for a test
    that reads the staged exports (`stg_*`), which a build otherwise holds only in memory."""
    opened = []

    def _build(period: str = "2024-Q1", params_override: dict | None = None, keep_staging: bool = False,
               **exports) -> duckdb.DuckDBPyConnection:
        data = write_exports(tmp_path / f"data{len(opened)}", **exports)
        params = load_params()
        params.update(params_override or {}, keep_staging=keep_staging)
        path = warehouse.build_warehouse(tmp_path / f"wh{len(opened)}.duckdb", data, parse_period(period), params)
        con = duckdb.connect(str(path), read_only=True)
        opened.append(con)
        return con

    yield _build
    for con in opened:
        con.close()


@contextmanager
def shared_by_workers(tmp_path_factory, worker_id, name: str):
    """A folder every pytest-xdist worker of this run shares (the session's own when not distributed), held
    under a lock while the body runs: the first worker to come makes what the folder should hold, the others
    wait for it and find it made (the lock goes with the file when the worker ends, even killed)."""
    import fcntl

    shared = worker_id != "master"
    root = tmp_path_factory.getbasetemp().parent / name if shared else tmp_path_factory.getbasetemp() / name
    root.mkdir(exist_ok=True)
    with open(root.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield root


@pytest.fixture(scope="session")
def sample_data(tmp_path_factory, worker_id) -> Path:
    """The sample business's exports, written once per test run (the tests only read them)."""
    from retention_report.sample_data import write_sample_data

    with shared_by_workers(tmp_path_factory, worker_id, "sample-data") as root:
        folder, done = root / "data", root / "written"
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            write_sample_data(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory, worker_id, sample_data):
    """The sample data built for SAMPLE_PERIOD with the nbconvert fallback (as CI has no Quarto). Built once
    per test run, not once per worker (about 40 s each time): the tests only read it. The build's result is
    kept beside it for the workers that did not build it."""
    import pickle

    from retention_report.pipeline import Build

    with shared_by_workers(tmp_path_factory, worker_id, "sample-site") as root:
        kept = root / "result.pickle"
        if not kept.exists():
            result = Build(parse_period(SAMPLE_PERIOD), sample_data, root / "site" / "_site",
                           build_root=root / "build", use_quarto=False).run()
            kept.write_bytes(pickle.dumps(result))
        return pickle.loads(kept.read_bytes())


@pytest.fixture
def run_page(tmp_path):
    """Build a warehouse from tiny exports (params overridden; `prepare(path, params)` may change it, as a test
    of what staging will fill in) and run one notebook on it as a build does; returns its markdown outputs."""
    import nbformat
    import yaml

    from retention_report import execute

    def _run(notebook: str, period: str = "2024-Q1", params_override: dict | None = None, prepare=None,
             **exports) -> str:
        data = write_exports(tmp_path / "data", **exports)
        params = dict(load_params(), **(params_override or {}))
        path = warehouse.build_warehouse(tmp_path / "warehouse.duckdb", data, parse_period(period), params)
        if prepare is not None:
            prepare(path, params)
        params_file = tmp_path / "params.yaml"
        params_file.write_text(yaml.safe_dump(dict(params, data_first_day="2024-01-01", data_last_day="2024-03-31")),
                               encoding="utf-8")
        output = tmp_path / notebook
        execute.run_notebook(execute.NOTEBOOKS_DIR / notebook, output, {
            "period": period, "warehouse": str(path), "params_file": str(params_file),
            "output_dir": str(tmp_path / "page"), "private_dir": str(tmp_path / "private")})
        return "\n".join(o["data"]["text/markdown"] for cell in nbformat.read(output, as_version=4).cells
                         for o in cell.get("outputs", []) if "text/markdown" in o.get("data", {}))

    return _run


# The real export beside the project (../shared/data/online-retail: a UK giftware retailer's invoice lines), read
# with a params file alone, as the README's walkthrough does.
RETAIL = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "online-retail"
LINES = RETAIL / "invoice-lines"
RETAIL_PARAMS = """\
exports:
  orders:
    path: invoice-lines
    grain: line
    columns: {order_id: InvoiceNo, customer_id: CustomerID, ordered_at: InvoiceDate}
    compute:
      amount: "Quantity * UnitPrice"
      status: "CASE WHEN InvoiceNo LIKE 'C%' THEN 'cancelled' ELSE 'completed' END"
      currency: "'GBP'"
    customer_columns: [Country]
"""
RETAIL_PERIODS = ("2011-Q2", "2011-Q3", "2011-Q4")


@pytest.fixture(scope="session")
def retail_builds(tmp_path_factory, worker_id):
    """2011-Q2, Q3 and Q4 of the real export built into one site with the fallback renderer: {period: Build}.
    Q4 runs past the data's last day (2011-12-09) and Q2's year-ago lies before its first (2010-12-01).

    Built once per test run, not once per pytest-xdist worker (three builds of 541,909 lines: about 100 s each
    time): workers share the session's temporary folder, the first to come builds under a lock, and the others
    wait for it and read what it built (the tests only read it). Were that build to fail, the next worker
    builds again and fails with its own error."""
    from retention_report.pipeline import Build

    if not LINES.is_dir():
        pytest.skip("../shared/data/online-retail is not beside the project")
    with shared_by_workers(tmp_path_factory, worker_id, "retail-shared") as root:
        done = root / "built"
        params = root / "params.yaml"
        if not done.exists():
            # (the staged lines kept in the warehouse: the tests compare them with the raw lines)
            params.write_text(RETAIL_PARAMS + "keep_staging: true\n", encoding="utf-8")
        builds = {period: Build(parse_period(period), RETAIL, root / "site" / "_site", params,
                                build_root=root / "build", use_quarto=False) for period in RETAIL_PERIODS}
        if not done.exists():
            for build in builds.values():
                build.run()
            done.write_text("\n".join(RETAIL_PERIODS) + "\n", encoding="utf-8")
    return builds


def event(event_id: str, customer_id: str, occurred_at: str, name: str, duration_seconds: str = "") -> dict:
    """A row of the events export (product usage): `name` is the event's name as the export writes it."""
    return {"event_id": event_id, "customer_id": customer_id, "occurred_at": occurred_at, "event": name,
            "duration_seconds": duration_seconds}
