"""A report build, stage by stage: warehouse -> notebooks -> render -> publish.

Everything derived goes under `build/<PERIOD>/`; the published site changes only in the last stage,
by swapping in a complete new site.
"""

from __future__ import annotations

import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import yaml

from . import execute, publish, render, warehouse
from .params import PROJECT_ROOT, load_params
from .periods import Period, check_within_data, parse_period

BUILD_ROOT = PROJECT_ROOT / "build"
DEFAULT_DATA = PROJECT_ROOT / "data" / "sample"
DEFAULT_SITE = PROJECT_ROOT / "reports" / "_site"


class StageError(RuntimeError):
    """A stage that failed: says which, and why."""

    def __init__(self, stage: str, cause: BaseException):
        super().__init__(f"stage '{stage}' failed: {cause}")
        self.stage = stage
        self.cause = cause


@dataclass
class BuildResult:
    period: Period
    site: Path
    build_dir: Path
    renderer: str = ""
    timings: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class Build:
    period: Period
    data_dir: Path
    site: Path
    params_file: Path | None = None
    build_root: Path = BUILD_ROOT
    use_quarto: bool | None = None
    on_stage: Callable[[str], None] | None = None
    strict: bool = False

    @property
    def build_dir(self) -> Path:
        return self.build_root / self.period.label

    @property
    def private_dir(self) -> Path:
        """Files with personal data (call lists) live beside the site, never inside it."""
        return self.site.parent / "private" / self.period.label

    @property
    def warehouse_path(self) -> Path:
        return self.build_dir / "warehouse.duckdb"

    @contextmanager
    def stage(self, name: str, result: BuildResult) -> Iterator[None]:
        if self.on_stage:
            self.on_stage(name)
        started = time.perf_counter()
        try:
            yield
        except StageError:
            raise
        except Exception as exc:
            raise StageError(name, exc) from exc
        result.timings.append((name, time.perf_counter() - started))

    def run_notebooks(self, notebooks: list[str], parameters: dict, params: dict, result: BuildResult) -> None:
        """The notebooks are independent (each reads marts, writes its own tables), so they run side by side,
        one kernel per core by default (`notebook_workers` in params)."""
        workers = int(params.get("notebook_workers") or os.cpu_count() or 1)
        if self.on_stage:
            self.on_stage(f"notebooks ({len(notebooks)}, {workers} at a time)")
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            futures = [pool.submit(_timed_notebook, nb, self.build_dir / nb, parameters) for nb in notebooks]
            outcomes = [future.result() for future in futures]
        for notebook, (seconds, error) in zip(notebooks, outcomes):
            if error is not None:
                raise StageError(f"notebook {notebook}", error)
            result.timings.append((f"notebook {notebook}", seconds))

    def run(self) -> BuildResult:
        result = BuildResult(self.period, self.site, self.build_dir)
        params = load_params(self.period.label, self.params_file)
        self.build_dir.mkdir(parents=True, exist_ok=True)
        publish.recover(self.site)

        with self.stage("warehouse", result):
            if not Path(self.data_dir).is_dir():
                raise FileNotFoundError(f"data folder {self.data_dir} does not exist")
            warehouse.build_warehouse(self.warehouse_path, self.data_dir, self.period, params)
            with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
                first, last = con.execute(
                    "SELECT min(ordered_at)::DATE, max(ordered_at)::DATE FROM stg_orders").fetchone()
                set_aside = con.execute("SELECT count(*) FROM set_aside").fetchone()[0]
            check_within_data(self.period, first, last)
            if self.strict and set_aside:
                raise ValueError(f"--strict: {set_aside} row(s) of the exports were set aside; "
                                 f"`retention-report validate --data {self.data_dir}` lists them")
            resolved = dict(params, data_first_day=str(first), data_last_day=str(last))
            (self.build_dir / "params.yaml").write_text(yaml.safe_dump(resolved, sort_keys=True), encoding="utf-8")

        _, pages = render.site_declaration()
        data_dir = self.build_dir / "data"
        if data_dir.exists():
            shutil.rmtree(data_dir)
        parameters = {
            "period": self.period.label,
            "warehouse": str(self.warehouse_path.resolve()),
            "params_file": str((self.build_dir / "params.yaml").resolve()),
            "output_dir": str(self.build_dir.resolve()),
            "private_dir": str(self.private_dir.resolve()),
        }
        self.run_notebooks([spec.notebook for spec in pages], parameters, params, result)

        staging = publish.staging_dir(self.site)
        with self.stage("render", result):
            result.renderer = render.assemble_site(
                self.build_dir, self.period.label, self.site if self.site.exists() else None, staging,
                work=self.build_root / "quarto", use_quarto=self.use_quarto,
            )
        with self.stage("publish", result):
            publish.publish(staging, self.site)
        return result


def _timed_notebook(notebook: str, output: Path, parameters: dict) -> tuple[float, BaseException | None]:
    started = time.perf_counter()
    try:
        execute.run_notebook(execute.NOTEBOOKS_DIR / notebook, output, parameters)
    except Exception as exc:  # reported per notebook, in declaration order, by the caller
        return time.perf_counter() - started, exc
    return time.perf_counter() - started, None


def build_report(period: str, data_dir: Path = DEFAULT_DATA, site: Path = DEFAULT_SITE,
                 params_file: Path | None = None, **options) -> BuildResult:
    return Build(parse_period(period), Path(data_dir), Path(site), params_file, **options).run()
