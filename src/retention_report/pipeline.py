"""A report build, stage by stage: warehouse -> notebooks -> render -> publish.

Everything derived goes under `build/<PERIOD>/`, the period's pages included (`build/<PERIOD>/site/`); the
published site changes only in the last stage, by swapping in a complete new site assembled from the published
one and this period's pages.

Builds run at the same time without colliding (`locks.py`): a build holds its period's lock throughout, and the
site's lock only while it publishes, so builds of different periods render side by side and publish one after
the other, each into the site as the one before it left it.

Builds are incremental (see `cache.py`): each stage records a content hash of what it read, and a stage whose
hash is unchanged and whose outputs are still there is reused. Changing one notebook re-runs that notebook
and the render; changing an export, a SQL model or a param re-runs the warehouse and everything after it.
`force=True` re-runs every stage.

Each notebook writes its tables into its own folder (`build/<PERIOD>/pages/<notebook>/data/`), so a
notebook that is reused keeps its tables and one that re-runs replaces exactly its own; `build/<PERIOD>/data/`
is then assembled from all of them.
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

from . import cache, currency, execute, locks, publish, render, validate, warehouse
from .exports import CONTRACT, export_path, find_export_files
from .params import PROJECT_ROOT, load_params
from .periods import Period, check_within_data, parse_period

BUILD_ROOT = PROJECT_ROOT / "build"
DEFAULT_DATA = PROJECT_ROOT / "data" / "sample"
DEFAULT_SITE = PROJECT_ROOT / "reports" / "_site"

# The package's own code each stage runs: part of its cache key.
WAREHOUSE_CODE = ("warehouse.py", "exports.py", "periods.py", "staging.py", "expressions.py", "presets.py",
                  "segments.py", "currency.py", "engine.py", "spark.py")
NOTEBOOK_CODE_EXCLUDED = {"cli.py", "bench.py", "pipeline.py", "cache.py", "render.py", "publish.py", "search.py",
                          "locks.py", "serve.py"}
RENDER_CODE = ("render.py", "charts.py", "periods.py", "publish.py", "search.py", "templates")
# Params that change how fast a build runs, never what it computes.
RUNTIME_PARAMS = ("duckdb", "notebook_workers", "spark")
# Params that choose where the marts are computed: a warehouse built elsewhere is rebuilt (the methodology page
# names its engine), but the definitions, equal on either engine, stay the same.
ENGINE_PARAMS = ("engine",)


BuildLocked = locks.Locked  # another build of the period holds its lock, and `wait` is False


def definitions(params: dict) -> str:
    """A short hash of the params that decide what a build computes (not how fast, not where files are):
    printed in every page's footer so readers comparing archived periods see when the rules changed."""
    computed = {k: v for k, v in params.items() if k not in RUNTIME_PARAMS + ENGINE_PARAMS}
    computed["exports"] = {name: {k: v for k, v in (settings or {}).items() if k != "path"}
                           for name, settings in (params.get("exports") or {}).items()}
    return cache.key("definitions", computed)[:7]


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
    reused: list[str] = field(default_factory=list)  # stages whose recorded result was still valid
    steps: list[tuple[str, float]] = field(default_factory=list)  # the warehouse's loads and models, timed
    # Per export: rows read, staged and set aside by reason (what `validate` prints), read from the warehouse.
    exports: list[validate.ExportSummary] = field(default_factory=list)


# on_event(kind, name, seconds): kind is "start", "step" (a warehouse load or model), "done" or "reused";
# seconds is None for "start" and "step".
EventHandler = Callable[[str, str, "float | None"], None]


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
    force: bool = False
    on_event: EventHandler | None = None
    wait: bool = True  # another build of this period running: wait for it (False: raise BuildLocked at once)
    on_wait: Callable[[str], None] | None = None  # told who holds a lock this build waits for
    engine: str | None = None  # where the marts are computed (duckdb, spark), over the params' `engine`

    def __post_init__(self) -> None:
        # Absolute from the start: every stage then reads the same paths whatever folder it runs in (notebook
        # kernels run in notebooks/; execute.py keeps this process where it is).
        self.data_dir, self.site, self.build_root = (Path(p).absolute() for p in (self.data_dir, self.site,
                                                                                  self.build_root))
        if self.params_file is not None:
            self.params_file = Path(self.params_file).absolute()

    @property
    def build_dir(self) -> Path:
        return self.build_root / self.period.label

    @property
    def private_dir(self) -> Path:
        """Files with personal data (call lists) live beside the site, never inside it."""
        return self.site.parent / "private" / self.period.label

    @property
    def lock_path(self) -> Path:
        return self.build_root / f"{self.period.label}.lock"

    @property
    def rendered_dir(self) -> Path:
        """This period's pages as rendered, with the site-wide files its renderer writes; published from here."""
        return self.build_dir / "site"

    @property
    def warehouse_path(self) -> Path:
        return self.build_dir / "warehouse.duckdb"

    @property
    def log_dir(self) -> Path:
        return self.build_dir / "logs"

    def _emit(self, kind: str, name: str, seconds: float | None = None) -> None:
        if kind == "start" and self.on_stage:
            self.on_stage(name)
        if self.on_event:
            self.on_event(kind, name, seconds)

    @contextmanager
    def stage(self, name: str, result: BuildResult) -> Iterator[None]:
        self._emit("start", name)
        started = time.perf_counter()
        try:
            yield
        except StageError:
            raise
        except Exception as exc:
            raise StageError(name, exc) from exc
        seconds = time.perf_counter() - started
        result.timings.append((name, seconds))
        self._emit("done", name, seconds)

    def _reused(self, name: str, result: BuildResult, started: float) -> None:
        seconds = time.perf_counter() - started
        result.timings.append((name, seconds))
        result.reused.append(name)
        self._emit("reused", name, seconds)

    # ------------------------------------------------------------------ stages

    def warehouse_key(self, params: dict, hashes: cache.FileHashes) -> str:
        inputs = []
        for export in CONTRACT.values():
            files = find_export_files(self.data_dir, export.name, export_path(params, export.name))
            inputs += [export.name, hashes.files(files) if files else "absent"]
        computed = {k: v for k, v in params.items() if k not in RUNTIME_PARAMS}
        return cache.key(
            "warehouse", self.period.label, computed, inputs, hashes.tree(warehouse.SQL_DIR, "*.sql*"),
            cache.code_version(*WAREHOUSE_CODE, hashes=hashes), duckdb.__version__,
        )

    def run_warehouse(self, params: dict, record: cache.StageRecord, hashes: cache.FileHashes,
                      result: BuildResult) -> str:
        started = time.perf_counter()
        try:
            if not Path(self.data_dir).is_dir():
                raise FileNotFoundError(f"data folder {self.data_dir} does not exist")
            key = self.warehouse_key(params, hashes)
        except Exception as exc:
            raise StageError("warehouse", exc) from exc
        done = self._reusable_warehouse(key, record)
        if done is None:
            record.forget("warehouse")
            with self.stage("warehouse", result):
                summary = self._build_warehouse(params, result)
            result.timings[-1] = ("warehouse", time.perf_counter() - started)
            done = {"key": key, "file": _signature(self.warehouse_path), **summary}
            record.put("warehouse", key, **{k: v for k, v in done.items() if k != "key"})
        else:
            self._reused("warehouse", result, started)
        if self.strict and done["set_aside"]:
            raise StageError("warehouse", ValueError(
                f"--strict: {done['set_aside']} row(s) of the exports were set aside; "
                f"`retention-report validate --data {self.data_dir}` lists them"))
        # Read on every build, reused or not: the build always ends by saying what was set aside.
        try:
            result.exports = validate.read_summaries(self.warehouse_path)
        except Exception as exc:
            raise StageError("warehouse", exc) from exc
        # Written on every build (the notebooks read it), fresh even when the warehouse is reused.
        resolved = dict(params, data_first_day=done["first"], data_last_day=done["last"],
                        definitions=definitions(params))
        (self.build_dir / "params.yaml").write_text(yaml.safe_dump(resolved, sort_keys=True), encoding="utf-8")
        return key

    def _reusable_warehouse(self, key: str, record: cache.StageRecord) -> dict | None:
        done = record.get("warehouse", key)
        return done if not self.force and done and _signature(self.warehouse_path) == done.get("file") else None

    def _build_warehouse(self, params: dict, result: BuildResult) -> dict:
        current: list = [None, 0.0]

        def step(name: str) -> None:
            now = time.perf_counter()
            if current[0] is not None:
                result.steps.append((current[0], now - current[1]))
            current[:] = [name, now]
            self._emit("step", name)

        try:
            warehouse.build_warehouse(self.warehouse_path, self.data_dir, self.period, params, on_step=step)
        except warehouse.SqlModelError as exc:
            stopped = currency.stopped_by_model(exc)  # several currencies and no fx_rates: say only why
            if stopped is None:
                raise
            raise currency.CurrencyError(stopped) from exc
        step("finish (drop raw tables, checkpoint)")
        result.steps.append((current[0], time.perf_counter() - current[1]))
        with duckdb.connect(str(self.warehouse_path), read_only=True) as con:
            first, last = con.execute(
                "SELECT first_day, last_day FROM export_ranges WHERE export = 'orders'").fetchone()
            set_aside = con.execute("SELECT count(*) FROM set_aside").fetchone()[0]
        check_within_data(self.period, first, last)
        return {"first": str(first), "last": str(last), "set_aside": int(set_aside)}

    def notebook_parameters(self, notebook: str) -> dict:
        return {
            "period": self.period.label,
            "warehouse": str(self.warehouse_path.resolve()),
            "params_file": str((self.build_dir / "params.yaml").resolve()),
            "output_dir": str(self.page_dir(notebook).resolve()),
            "private_dir": str(self.private_dir.resolve()),
        }

    def page_dir(self, notebook: str) -> Path:
        return self.build_dir / "pages" / Path(notebook).stem

    @staticmethod
    def notebook_workers(params: dict) -> int:
        return int(params.get("notebook_workers") or (params.get("duckdb") or {}).get("threads") or os.cpu_count()
                   or 1)

    def run_notebooks(self, notebooks: list[str], warehouse_key: str, params: dict, record: cache.StageRecord,
                      hashes: cache.FileHashes, result: BuildResult, pool: execute.KernelPool | None = None) -> None:
        """The notebooks are independent (each reads marts, writes its own tables), so they run side by side,
        one kernel per core by default (`notebook_workers`, else `duckdb.threads`, in params), on the kernels of
        `pool` (started while the warehouse built; else started here when a notebook is to run)."""
        code = cache.code_version(*sorted(
            p.name for p in cache.PACKAGE_DIR.glob("*.py") if p.name not in NOTEBOOK_CODE_EXCLUDED), hashes=hashes)
        # The summary links the data quality page by the name reports/site.yml gives it.
        code = cache.key(code, hashes.file(render.REPORTS_DIR / "site.yml"))
        private = hashes.tree(self.private_dir)
        keys, todo = {}, []
        for notebook in notebooks:
            started = time.perf_counter()
            source = execute.NOTEBOOKS_DIR / notebook
            keys[notebook] = cache.key("notebook", warehouse_key, hashes.file(source) if source.exists() else "",
                                       self.notebook_parameters(notebook), code)
            done = record.get(f"notebook {notebook}", keys[notebook])
            if (not self.force and done and done.get("private") == private
                    and (self.build_dir / notebook).exists() and self.page_dir(notebook).is_dir()):
                self._reused(f"notebook {notebook}", result, started)
            else:
                record.forget(f"notebook {notebook}")
                todo.append(notebook)
        if todo:
            workers = max(1, min(self.notebook_workers(params), len(todo)))
            for notebook in todo:
                self._emit("start", f"notebook {notebook}")
                shutil.rmtree(self.page_dir(notebook), ignore_errors=True)
            kernels = pool or execute.KernelPool(workers, self.log_dir).start()
            try:
                with ThreadPoolExecutor(max_workers=workers) as threads:
                    futures = [threads.submit(self._timed_notebook, nb, kernels) for nb in todo]
                    outcomes = [future.result() for future in futures]
            finally:
                if pool is None:  # (a pool given by the caller is the caller's to close)
                    kernels.close()
            for notebook, (seconds, error) in zip(todo, outcomes):
                if error is not None:
                    raise StageError(f"notebook {notebook}", error)
                result.timings.append((f"notebook {notebook}", seconds))
            # Recorded only once all ran: their private files are part of each one's validity.
            private = hashes.tree(self.private_dir)
            for notebook in notebooks:
                if notebook in todo or record.get(f"notebook {notebook}", keys[notebook]):
                    record.put(f"notebook {notebook}", keys[notebook], private=private)
        self._assemble_data(notebooks)

    def _timed_notebook(self, notebook: str, pool: execute.KernelPool) -> tuple[float, BaseException | None]:
        started = time.perf_counter()
        try:
            execute.run_notebook(execute.NOTEBOOKS_DIR / notebook, self.build_dir / notebook,
                                 self.notebook_parameters(notebook), log=self.log_dir / f"{notebook}.log", pool=pool)
        except Exception as exc:  # reported per notebook, in declaration order, by the caller
            seconds = time.perf_counter() - started
            self._emit("done", f"notebook {notebook}", seconds)
            return seconds, exc
        seconds = time.perf_counter() - started
        self._emit("done", f"notebook {notebook}", seconds)
        return seconds, None

    def _assemble_data(self, notebooks: list[str]) -> None:
        """`build/<PERIOD>/data/`: every notebook's tables (a later notebook's table of the same name wins)."""
        data_dir = self.build_dir / "data"
        if data_dir.exists():
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True)
        for notebook in notebooks:
            tables = self.page_dir(notebook) / "data"
            if tables.is_dir():
                shutil.copytree(tables, data_dir, dirs_exist_ok=True)

    def render_key(self, notebooks: list[str], params: dict, hashes: cache.FileHashes) -> str:
        use_quarto = render.quarto_available() if self.use_quarto is None else self.use_quarto
        return cache.key(
            "render", self.period.label, use_quarto, cache.code_version(*RENDER_CODE, hashes=hashes),
            [(p.name, hashes.tree(p)) for p in sorted(render.REPORTS_DIR.iterdir())
             if p.name not in ("_site", ".quarto", "private")],
            [hashes.file(self.build_dir / nb) for nb in notebooks], hashes.tree(self.build_dir / "data"),
            definitions(params), render.package_version(),
        )

    def publish_key(self, hashes: cache.FileHashes) -> str:
        """The rendered period and the published site as they are: the same pair was published already when
        this key equals the one recorded after the last publish (no other build changed the site since)."""
        return cache.key("publish", cache.code_version(*RENDER_CODE, hashes=hashes), hashes.tree(self.rendered_dir),
                         hashes.tree(self.site) if self.site.exists() else "no site")

    def run(self) -> BuildResult:
        result = BuildResult(self.period, self.site, self.build_dir)
        params = load_params(self.period.label, self.params_file)
        if self.engine is not None:
            params["engine"] = self.engine
        with locks.hold(self.lock_path, f"{self.period} is being built", wait=self.wait, on_wait=self.on_wait):
            self.build_dir.mkdir(parents=True, exist_ok=True)
            self.log_dir.mkdir(parents=True, exist_ok=True)
            record = cache.StageRecord(self.build_dir / "stages.json")
            hashes = cache.FileHashes(self.build_root / "file_hashes.json")
            try:
                self._run(params, record, hashes, result)
            finally:
                hashes.save()
        return result

    def _run(self, params: dict, record: cache.StageRecord, hashes: cache.FileHashes, result: BuildResult) -> None:
        _, pages = render.site_declaration()
        notebooks = [spec.notebook for spec in pages]
        # A warehouse to build means every notebook runs after it: their kernels start now, beside it.
        pool = None
        try:
            if self._reusable_warehouse(self.warehouse_key(params, hashes), record) is None:
                pool = execute.KernelPool(max(1, min(self.notebook_workers(params), len(notebooks))),
                                          self.log_dir).start()
        except Exception:  # (the warehouse stage says what is wrong with the data folder or params)
            pass
        try:
            warehouse_key = self.run_warehouse(params, record, hashes, result)
            self.run_notebooks(notebooks, warehouse_key, params, record, hashes, result, pool=pool)
        finally:
            if pool is not None:
                pool.close()

        started = time.perf_counter()
        key = self.render_key(notebooks, params, hashes)
        done = record.get("render", key)
        if not self.force and done and (self.rendered_dir / self.period.label / "index.html").exists():
            result.renderer = done.get("renderer", "")
            self._reused("render", result, started)
        else:
            record.forget("render")
            with self.stage("render", result):
                result.renderer = render.render_period(
                    self.build_dir, self.period.label, self.rendered_dir, work=self.build_dir / "quarto",
                    stamp={"definitions": definitions(params)}, use_quarto=self.use_quarto)
            record.put("render", key, renderer=result.renderer)
        self.run_publish(record, hashes, result)

    def run_publish(self, record: cache.StageRecord, hashes: cache.FileHashes, result: BuildResult) -> None:
        """Under the site's lock: the published site plus this period, assembled beside it and swapped in."""
        started = time.perf_counter()
        with locks.hold(publish.lock_path(self.site), f"the site {self.site} is being published",
                        on_wait=self.on_wait):
            publish.recover(self.site)
            done = record.get("publish", self.publish_key(hashes))
            if not self.force and done:
                self._reused("publish", result, started)
                return
            record.forget("publish")
            with self.stage("publish", result):
                staging = publish.staging_dir(self.site)
                render.assemble_site(self.rendered_dir, self.period.label, self.site, staging)
                publish.publish(staging, self.site)
            # Keyed on the site just published: the next build reuses it only if nobody changed it since.
            record.put("publish", self.publish_key(hashes))


def _signature(path: Path) -> list | None:
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return [stat.st_size, stat.st_mtime_ns, stat.st_ino]


def build_report(period: str, data_dir: Path = DEFAULT_DATA, site: Path = DEFAULT_SITE,
                 params_file: Path | None = None, **options) -> BuildResult:
    return Build(parse_period(period), Path(data_dir), Path(site), params_file, **options).run()
