"""The command line: `retention-report build | validate | sample-data | serve | bench`."""

from __future__ import annotations

import errno
import re
import tempfile
import time
import traceback
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Optional

import duckdb
import typer
from rich.console import Console
from rich.text import Text
from rich.table import Table

from . import pipeline, warehouse
from .currency import check_currency_params
from .exports import CONTRACT, ExportError
from .params import load_params
from .periods import PeriodError, is_relative, resolve_period
from .validate import (OptionError, check_data_dir, check_file_option, check_out_dir, check_params,
                       check_served_site, check_site_dir, check_work_dir, report_lines, validate_exports,
                       warning_share)

app = typer.Typer(add_completion=False, help="Build the retention report site from raw exports.")
console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    # The message is text (it may quote a path or a value with brackets), never Rich markup.
    console.print(Text("error: ", style="bold red") + Text(message), highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _params_file(params: Optional[Path]) -> Optional[Path]:
    """--params: an existing file, given as a plain path; returned absolute."""
    if params is None:
        return None
    try:
        check_file_option("--params", params)
    except OptionError as exc:
        _fail(str(exc), 2)
    if not params.expanduser().is_file():
        _fail(f"--params {params}: no such file", 2)
    return params.expanduser().resolve()


def _today(text: Optional[str]) -> date:
    """--today: a calendar date written YYYY-MM-DD (date.fromisoformat alone would also take 20261202 or
    2026-W49-3); default the real date."""
    if text is None:
        return date.today()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text.strip()):
            raise ValueError
        return date.fromisoformat(text.strip())
    except ValueError:
        _fail(f"--today {text!r} is not a date: give it as YYYY-MM-DD (e.g. 2026-12-02).", 2)


def _load_params(label: Optional[str], params: Optional[Path]) -> dict:
    try:
        return load_params(label, params)
    except UnicodeDecodeError as exc:
        raise ValueError(f"params file {params or 'params/'}: is not UTF-8 text ({exc.reason}).") from exc


@app.command()
def build(
    period: str = typer.Option(..., help="2024-Q2, 2024-06, 2024-H1 or 2024; or last-month, last-quarter, "
                                         "last-half or last-year (the last complete one before today)."),
    data: Path = typer.Option(pipeline.DEFAULT_DATA, help="Folder of raw exports."),
    site: Path = typer.Option(pipeline.DEFAULT_SITE, help="Folder of the published site."),
    params: Optional[Path] = typer.Option(None, help="YAML file overriding params/default.yaml."),
    strict: bool = typer.Option(False, help="Fail when any row of the exports is set aside."),
    renderer: str = typer.Option("auto", help="auto (Quarto when on PATH), quarto or nbconvert."),
    force: bool = typer.Option(False, help="Re-run every stage, even those whose inputs did not change."),
    profile: bool = typer.Option(False, help="Print every stage's (and SQL model's) time at the end."),
    today: Optional[str] = typer.Option(None, help="The day last-quarter etc. count back from, YYYY-MM-DD "
                                                   "(default: today's date)."),
    no_wait: bool = typer.Option(False, "--no-wait", help="Fail at once (exit 3) when another process is "
                                                          "building this period, instead of waiting for it."),
    engine: Optional[str] = typer.Option(None, help="Where the marts are computed: duckdb or spark (default: the "
                                                    "params' engine, duckdb). Spark needs pip install -e '.[spark]'."),
) -> None:
    """Build the report for PERIOD and publish it into SITE (the previous site stays until the new one is complete)."""
    day = _today(today)
    try:
        parsed = resolve_period(period, day)
    except PeriodError as exc:
        _fail(str(exc), 2)
    if is_relative(period):  # what a scheduler's log should show: which period this run built
        console.print(f"{period.strip().lower()} is {parsed} (today is {day.isoformat()})", markup=False,
                      highlight=False)
    if renderer not in ("auto", "quarto", "nbconvert"):
        _fail(f"--renderer must be auto, quarto or nbconvert, not {renderer!r}", 2)
    params = _params_file(params)
    try:
        data = check_data_dir(data)
        site = check_site_dir(site, data)
        loaded = _load_params(parsed.label, params)
        if engine is not None:
            loaded["engine"] = engine
        check_params(loaded)
        check_currency_params(loaded)
        share = warning_share(loaded)
    except (OptionError, ExportError, ValueError) as exc:
        _fail(str(exc).splitlines()[0], 2)
    use_quarto = {"auto": None, "quarto": True, "nbconvert": False}[renderer]
    builder = pipeline.Build(parsed, data, site, params, use_quarto=use_quarto, strict=strict)
    builder.force = force
    builder.engine = engine
    builder.wait = not no_wait
    builder.on_wait = lambda message: console.print(Text(message), highlight=False, soft_wrap=True)
    log = builder.build_dir / "build.log"
    started = time.perf_counter()
    failure: str | None = None
    code = 1
    with stage_progress(builder, f"{parsed}"):
        try:
            result = builder.run()
        except pipeline.BuildLocked as exc:
            failure, code = _locked(exc), 3
        except pipeline.StageError as exc:
            if isinstance(exc.cause, pipeline.BuildLocked):
                failure, code = _locked(exc.cause), 3
            else:
                log.parent.mkdir(parents=True, exist_ok=True)
                log.write_text("".join(traceback.format_exception(exc.cause)), encoding="utf-8")
                failure = f"{str(exc).splitlines()[0]} (full log: {log}; the published site was left as it was)"
        except Exception as exc:  # outside any stage (params, recovery): still one line and a log
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(traceback.format_exception(exc)), encoding="utf-8")
            failure = (f"build failed before its stages: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__} "
                       f"(full log: {log}; the published site was left as it was)")
    if failure:  # after the progress display has closed, so the error is the last line printed
        _fail(failure, code)
    if profile:
        console.print(profile_table(result, f"{parsed} built with {result.renderer}"))
    if result.reused:
        console.print(f"Reused (inputs unchanged): {', '.join(result.reused)}. --force re-runs every stage.",
                      highlight=False)
    console.print(f"Site: {result.site / 'index.html'} ({time.perf_counter() - started:.1f} s)", markup=False,
                  highlight=False)
    # Last, so it is what the user reads: what each export held and what was set aside (as `validate` says it).
    for line in report_lines(result.exports, data, examples=False, warning_share=share, built=True,
                             params_file=params):
        console.print(Text(line, style="bold yellow" if line.startswith("warning:") else ""), highlight=False,
                      soft_wrap=True)


def _locked(exc: BaseException) -> str:
    # No build.log is written: the build folder, and its log, belong to the process holding the lock.
    message = str(exc).splitlines()[0] if str(exc) else "another build of this period is running"
    return f"{message} (the published site was left as it was)"


@app.command()
def validate(
    data: Path = typer.Option(pipeline.DEFAULT_DATA, help="Folder of raw exports."),
    params: Optional[Path] = typer.Option(None, help="YAML file overriding params/default.yaml (exports settings)."),
) -> None:
    """Check the exports against the contract without building: rows read and set aside by reason, date ranges,
    redacted examples. Exit 0 when the exports are usable, 1 when a required export or column is missing."""
    params = _params_file(params)
    try:
        data = check_data_dir(data)
        loaded = _load_params(None, params)
        check_currency_params(loaded)
        share = warning_share(loaded)
    except (OptionError, ValueError) as exc:
        _fail(str(exc).splitlines()[0], 2)
    try:
        summaries = validate_exports(data, loaded)
    except ExportError as exc:
        if "required export 'orders' is missing" in str(exc):
            from .suggest import orders_mapping_hint

            console.print(Text("error: ", style="bold red") + Text(str(exc).splitlines()[0]), highlight=False,
                          soft_wrap=True)
            for line in orders_mapping_hint(data):  # what the folder holds, and what to map
                console.print(Text(line), highlight=False, soft_wrap=True)
            raise typer.Exit(1)
        _fail(str(exc).splitlines()[0])
    except warehouse.SqlModelError as exc:
        _fail(str(exc).splitlines()[0])
    for line in report_lines(summaries, data, warning_share=share):
        typer.echo(line)


@app.command("sample-data")
def sample_data(
    out: Path = typer.Option(pipeline.DEFAULT_DATA, help="Folder to write the sample exports into."),
    seed: int = typer.Option(7, help="Random seed (same seed, same files)."),
    customers: int = typer.Option(20_000, min=10, help="Number of customers."),
) -> None:
    """Generate the deterministic sample business (three years ending 2024-12-31)."""
    from .sample_data import write_sample_data

    try:
        out = check_out_dir(out)
    except OptionError as exc:
        _fail(str(exc), 2)

    counts = write_sample_data(out, seed=seed, customers=customers)
    for name, rows in counts.items():
        console.print(f"{name}: {rows:,} rows")
    console.print(f"Sample exports written to {out}", markup=False, highlight=False)


@app.command()
def serve(
    site: Path = typer.Option(pipeline.DEFAULT_SITE, help="Folder of the published site."),
    port: int = typer.Option(8000, min=0, max=65535, help="Port on 127.0.0.1; 0 picks a free one."),
) -> None:
    """Serve the published site at http://127.0.0.1:PORT/ for viewing it in a browser (Ctrl+C stops). Only this
    machine can connect; to host the site, hand the folder to any web server or static host."""
    from .serve import serve as serve_site

    try:
        folder = check_served_site(site)
    except OptionError as exc:
        _fail(str(exc), 2)

    def ready(url: str) -> None:
        console.print(f"Serving {site} at {url} (Ctrl+C stops)", markup=False, highlight=False, soft_wrap=True)

    try:
        serve_site(folder, port, on_ready=ready)
    except KeyboardInterrupt:
        console.print("Stopped.", highlight=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            _fail(f"port {port} on 127.0.0.1 is in use; give another with --port (--port 0 picks a free one).", 2)
        _fail(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}", 2)


@contextmanager
def stage_progress(builder: pipeline.Build, label: str):
    """One line per stage with its elapsed time, a spinner while it runs and a tick (or 'reused') when done."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console,
                        transient=False)
    tasks: dict[str, int] = {}

    def on_event(kind: str, name: str, seconds: float | None) -> None:
        if kind == "start" and name not in tasks:
            tasks[name] = progress.add_task(f"{label}: {name}", total=1)
        elif kind == "step" and "warehouse" in tasks:
            progress.update(tasks["warehouse"], description=f"{label}: warehouse ({name})")
        elif kind in ("done", "reused"):
            note = "reused" if kind == "reused" else f"{seconds:.1f} s"
            if name not in tasks:  # (task ids start at 0: test membership, not truth)
                tasks[name] = progress.add_task("", total=1)
            task = tasks[name]
            progress.update(task, description=f"{label}: {name} ({note})", completed=1)
            progress.stop_task(task)

    builder.on_event = on_event
    with progress:
        yield progress


def profile_table(result: pipeline.BuildResult, title: str) -> Table:
    table = Table("stage", "seconds", title=title)
    for name, seconds in result.timings:
        table.add_row(name + (" (reused)" if name in result.reused else ""), f"{seconds:.2f}")
        if name == "warehouse":
            for step, step_seconds in result.steps:
                table.add_row(f"  {step}", f"{step_seconds:.2f}")
    return table


@app.command()
def bench(
    customers: int = typer.Option(1_000_000, min=1000, help="Customers in the generated workload."),
    small: int = typer.Option(20_000, min=1000, help="Customers in the small workload (the fixed cost)."),
    curve: int = typer.Option(3_000_000, min=0, help="Customers of one more build (CSV, run once), for the cost per "
                                                      "order as the data grows; 0 skips it."),
    tmp: Optional[Path] = typer.Option(None, help="Folder for the workload (default: the system's temp folder)."),
    keep: bool = typer.Option(False, help="Keep the generated workload and builds."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the measurements to this JSON file."),
    markdown: Optional[Path] = typer.Option(None, help="Also write the tables as Markdown (docs/performance.md)."),
    engine: str = typer.Option("duckdb", help="duckdb: the build beside a hand-written query, pandas and the floor; "
                                              "spark: the build with its marts on DuckDB and on Spark (local mode)."),
) -> None:
    """Measure a build on a scaled-up sample business beside a hand-written DuckDB query and pandas."""
    import json

    from . import bench as benchmark

    try:
        tmp = check_work_dir("--tmp", tmp) if tmp is not None else None
        json_out = check_file_option("--json", json_out) if json_out is not None else None
        markdown = check_file_option("--markdown", markdown) if markdown is not None else None
    except OptionError as exc:
        _fail(str(exc), 2)
    if engine not in ("duckdb", "spark"):
        _fail(f"--engine must be duckdb or spark, not {engine!r}", 2)
    if engine == "spark":
        from .spark import missing

        if missing():
            _fail(f"--engine spark cannot run here: {missing()}", 2)
        report = benchmark.run_engine_bench(customers, small, tmp, keep,
                                            print_fn=lambda line: console.print(line, highlight=False))
        console.print(benchmark.engine_markdown(report), markup=False, highlight=False)
        if json_out:
            json_out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
        if markdown:
            markdown.write_text(benchmark.engine_markdown(report), encoding="utf-8")
        return
    report = benchmark.run_bench(customers, small, tmp, keep, print_fn=lambda line: console.print(line, highlight=False),
                                 curve=curve)
    benchmark.print_report(report, Console(width=160))
    if json_out:
        json_out.write_text(json.dumps(report, indent=2, default=str) + "\n", encoding="utf-8")
    if markdown:
        markdown.write_text(benchmark.markdown_report(report), encoding="utf-8")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
