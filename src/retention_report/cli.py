"""The command line: `retention-report build | validate | sample-data`."""

from __future__ import annotations

import tempfile
import time
import traceback
from pathlib import Path
from typing import Optional

import duckdb
import typer
from rich.console import Console
from rich.table import Table

from . import pipeline, warehouse
from .exports import CONTRACT, ExportError
from .params import load_params
from .periods import PeriodError, parse_period

app = typer.Typer(add_completion=False, help="Build the retention report site from raw exports.")
console = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def build(
    period: str = typer.Option(..., help="2024-Q2, 2024-06, 2024-H1 or 2024."),
    data: Path = typer.Option(pipeline.DEFAULT_DATA, help="Folder of raw exports."),
    site: Path = typer.Option(pipeline.DEFAULT_SITE, help="Folder of the published site."),
    params: Optional[Path] = typer.Option(None, help="YAML file overriding params/default.yaml."),
    strict: bool = typer.Option(False, help="Fail when any row of the exports is set aside."),
    renderer: str = typer.Option("auto", help="auto (Quarto when on PATH), quarto or nbconvert."),
) -> None:
    """Build the report for PERIOD and publish it into SITE (the previous site stays until the new one is complete)."""
    try:
        parsed = parse_period(period)
    except PeriodError as exc:
        _fail(str(exc), 2)
    if renderer not in ("auto", "quarto", "nbconvert"):
        _fail(f"--renderer must be auto, quarto or nbconvert, not {renderer!r}", 2)
    if params is not None and not params.is_file():
        _fail(f"--params {params}: no such file", 2)
    use_quarto = {"auto": None, "quarto": True, "nbconvert": False}[renderer]
    builder = pipeline.Build(parsed, data, site, params, use_quarto=use_quarto, strict=strict)
    log = builder.build_dir / "build.log"
    started = time.perf_counter()
    with console.status(f"Building {parsed}…") as status:
        builder.on_stage = lambda name: status.update(f"Building {parsed}: {name}…")
        try:
            result = builder.run()
        except pipeline.StageError as exc:
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text("".join(traceback.format_exception(exc.cause)), encoding="utf-8")
            _fail(f"{exc} (full log: {log}; the published site was left as it was)")
    table = Table("stage", "seconds", title=f"{parsed} built with {result.renderer}")
    for name, seconds in result.timings:
        table.add_row(name, f"{seconds:.1f}")
    console.print(table)
    console.print(f"Site: {result.site / 'index.html'} ({time.perf_counter() - started:.1f} s)")


@app.command()
def validate(data: Path = typer.Option(pipeline.DEFAULT_DATA, help="Folder of raw exports.")) -> None:
    """Check the exports against the contract without building: rows read and set aside, by reason."""
    if not data.is_dir():
        _fail(f"data folder {data} does not exist")
    params = load_params()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "validate.duckdb"
        try:
            warehouse.build_warehouse(path, data, parse_period("2000"), params, layers=("staging",))
        except ExportError as exc:
            _fail(str(exc))
        with duckdb.connect(str(path), read_only=True) as con:
            summary = con.execute(
                "SELECT e.export, e.present, e.rows_read, count(s.export) AS set_aside "
                "FROM export_files e LEFT JOIN set_aside s USING (export) GROUP BY ALL ORDER BY e.export"
            ).fetchall()
            reasons = con.execute(
                "SELECT export, \"column\", reason, count(*), min(file || ' row ' || row) "
                "FROM set_aside GROUP BY ALL ORDER BY export, count(*) DESC"
            ).fetchall()
    table = Table("export", "rows read", "set aside", title=f"Exports in {data}")
    for export, present, rows, aside in summary:
        table.add_row(export, f"{rows:,}" if present else "absent", f"{aside:,}")
    console.print(table)
    for export, column, reason, count, example in reasons:
        console.print(f"  {export}.{column}: {reason} × {count} (first: {example})", highlight=False)


@app.command("sample-data")
def sample_data(
    out: Path = typer.Option(pipeline.DEFAULT_DATA, help="Folder to write the sample exports into."),
    seed: int = typer.Option(7, help="Random seed (same seed, same files)."),
    customers: int = typer.Option(20_000, min=10, help="Number of customers."),
) -> None:
    """Generate the deterministic sample business (three years ending 2024-12-31)."""
    from .sample_data import write_sample_data

    counts = write_sample_data(out, seed=seed, customers=customers)
    for name, rows in counts.items():
        console.print(f"{name}: {rows:,} rows")
    console.print(f"Sample exports written to {out}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
