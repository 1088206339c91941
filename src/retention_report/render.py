"""Render executed notebooks into the report site: Quarto when it is on PATH, else nbconvert.

Both paths produce the same layout:

    <site>/index.html                      landing page, every period newest first
    <site>/vega-bundle.js, site.css        one copy for the whole site
    <site>/<PERIOD>/index.html             the period's summary
    <site>/<PERIOD>/<page>.html            one page per analysis (reports/site.yml)
    <site>/<PERIOD>/data/<table>.csv       every table a page shows
    <site>/<PERIOD>/build.json             version, definitions and renderer the period was built with
    <site>/search.json                     the search index of every period (Quarto's format; Quarto reads it)
    <site>/search-index.js, search.js      the same index as a script, and the fallback's search box

A build renders only its own period (`render_period`, into the build folder, outside any lock); publishing
then assembles the next site (`assemble_site`) from the published one and that period, under the site's lock:
other periods are carried over untouched, and the parts every period shares are filled in from the periods
actually present, after all are in place: the landing page, each page's period navigation and footer (who
built it, with which definitions) and the search index over the whole archive.
"""

from __future__ import annotations

import csv
import ctypes
import gc
import html
import importlib.metadata
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import jinja2
import nbformat
import yaml
from nbconvert import HTMLExporter
from nbconvert.preprocessors import Preprocessor

from . import charts, search
from .params import PROJECT_ROOT
from .periods import PeriodError, parse_period

REPORTS_DIR = PROJECT_ROOT / "reports"
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("retention_report", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    keep_trailing_newline=True,
)
_PR_SET_PDEATHSIG = 1  # prctl(2)
BUILD_RECORD = "build.json"  # <site>/<PERIOD>/build.json: which version and definitions built the period
_RAW_HTML_BLOCK = re.compile(r"\A\s*```\{=html\}\n(?P<html>.*)\n```\s*\Z", re.DOTALL)
_RAW_HTML_FENCE = re.compile(r"^```\{=html\}\n(?P<html>.*?)\n```$", re.DOTALL | re.MULTILINE)


class RenderError(RuntimeError):
    """The renderer failed: names the page."""


@dataclass(frozen=True)
class PageSpec:
    page: str
    notebook: str
    title: str


def site_declaration(reports_dir: Path = REPORTS_DIR) -> tuple[str, list[PageSpec]]:
    declared = yaml.safe_load((reports_dir / "site.yml").read_text(encoding="utf-8"))
    return declared["title"], [PageSpec(**page) for page in declared["pages"]]


def quarto_available() -> bool:
    return shutil.which("quarto") is not None


def package_version() -> str:
    try:
        return importlib.metadata.version("retention-report")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


# ---------------------------------------------------------------- blocks filled once the site is assembled

def marker(name: str, content: str = "") -> str:
    """An HTML block the renderers leave empty and `fill` completes: `<!-- rr:name -->...<!-- /rr:name -->`."""
    return f"<!-- rr:{name} -->{content}<!-- /rr:{name} -->"


def fill(text: str, name: str, content: str) -> str:
    """`text` with its `name` block(s) holding `content` (HTML, escaped by the caller)."""
    block = re.compile(re.escape(f"<!-- rr:{name} -->") + ".*?" + re.escape(f"<!-- /rr:{name} -->"), re.DOTALL)
    return block.sub(lambda _: marker(name, content), text)


def periods_in(site: Path) -> list[str]:
    """Period folders of a site, newest first."""
    if not site or not Path(site).is_dir():
        return []
    found = []
    for child in Path(site).iterdir():
        try:
            if child.is_dir() and (child / "index.html").exists():
                found.append((parse_period(child.name), child.name))
        except PeriodError:
            continue
    return [label for _, label in sorted(found, key=lambda pair: (pair[0].end, pair[0].months), reverse=True)]


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def headline_figures(period_dir: Path) -> dict[str, str]:
    """The figures the landing page lists for a period, read from its published CSVs."""
    figures: dict[str, str] = {}
    nps = _read_csv(period_dir / "data" / "nps_summary.csv")
    if nps and nps[0].get("nps") not in ("", None):
        row = nps[0]
        figures["NPS"] = f"{float(row['nps']):+.0f} ({float(row['ci_low']):+.0f} to {float(row['ci_high']):+.0f}), n={row['responses']}"
    # The other headline figures are the summary's own cards (summary_kpis.csv).
    for row in _read_csv(period_dir / "data" / "summary_kpis.csv"):
        if row["kpi"] in ("Customer retention rate", "Churn rate", "Would buy again") and row["value"]:
            figures[row["kpi"]] = f"{100 * float(row['value']):.1f}%"
    return figures


# ---------------------------------------------------------------- shared page fragments

def build_record(period_dir: Path) -> dict | None:
    """What `render_period` recorded about a period's build; None for periods built before it did."""
    try:
        return json.loads((Path(period_dir) / BUILD_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def definitions_words(record: dict) -> str:
    return f"retention-report {record.get('version', 'unknown')}, definitions {record.get('definitions', 'unknown')}"


def definitions_note(period: str, record: dict | None, newest: str, newest_record: dict | None) -> str | None:
    """Said on the landing page of a period built with other rules than the newest period, else None."""
    if period == newest or newest_record is None:
        return None
    if record is None:
        return (f"Built before builds recorded their definitions: its figures may not compare with {newest}'s "
                f"({definitions_words(newest_record)}).")
    differences = [f"{words} {record.get(key, 'unknown')}, against {newest_record.get(key, 'unknown')}"
                   for key, words in (("definitions", "definitions"), ("version", "retention-report"))
                   if record.get(key) != newest_record.get(key)]
    if not differences:
        return None
    return f"Built with other definitions than {newest} ({'; '.join(differences)}): its figures may not compare."


def landing_fragment(site: Path, periods: list[str]) -> str:
    """The landing page's list of periods (the page around it carries the title)."""
    records = {p: build_record(site / p) for p in periods}
    newest = periods[0] if periods else None
    rows = [{"period": p, "figures": headline_figures(site / p),
             "note": definitions_note(p, records[p], newest, records.get(newest))} for p in periods]
    return TEMPLATES.get_template("landing.html.j2").render(periods=rows)


def footer_words(record: dict | None) -> str:
    """A period page's footer: when, by which version, with which definitions (the params' short hash)."""
    if record is None:
        return ""
    return (f"Built {record['built_at']} by retention-report {record.get('version', 'unknown')} with the "
            f"{record.get('renderer', '')} renderer · definitions {record.get('definitions', 'unknown')} "
            f"(a hash of the params in force; the methodology page lists them).")


# ---------------------------------------------------------------- fallback: nbconvert

def page_cells(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """What a reader sees of an executed notebook, for either renderer: markdown cells, and the
    `text/markdown` outputs of code cells (narrative, tables, charts as raw HTML blocks). Streams, errors,
    bare reprs (a returned path, a number) and code cells with nothing to show are left out, and the
    leading `# Title` goes, since the page's title already says it."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type == "code":
            kept = []
            for output in cell.get("outputs", []):
                markdown = output.get("data", {}).get("text/markdown") \
                    if output.output_type in ("display_data", "execute_result") else None
                if isinstance(markdown, list):
                    markdown = "".join(markdown)
                if markdown is not None:
                    output.data = {"text/markdown": markdown}
                    output.metadata = {}
                    kept.append(output)
            cell.outputs = kept
            if not kept:
                continue
        cells.append(cell)
    if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# "):
        rest = cells[0].source.split("\n", 1)
        cells[0].source = rest[1].lstrip("\n") if len(rest) > 1 else ""
    notebook.cells = cells
    return notebook


class RawHtmlOutputs(Preprocessor):
    """A `text/markdown` output holding only a raw HTML block becomes that HTML, as Pandoc (Quarto) passes
    it through; nbconvert's markdown renderer would show it as code."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            markdown = output.get("data", {}).get("text/markdown") or ""
            match = _RAW_HTML_BLOCK.match(markdown)
            if match:
                output.data = {"text/html": match["html"]}
            elif "```{=html}" in markdown:  # raw blocks among markdown (a table's scrolling box): HTML blocks
                output.data = {"text/markdown": _RAW_HTML_FENCE.sub(lambda m: f"\n\n{m['html']}\n\n", markdown)}
        return cell, resources


_EXPORTERS = threading.local()


def _exporter() -> HTMLExporter:
    """One exporter per thread, kept: making one compiles nbconvert's templates (0.2 s a page when each page made
    its own). Its settings never change; a conversion re-registers its filters on the exporter, hence not shared
    between threads."""
    exporter = getattr(_EXPORTERS, "exporter", None)
    if exporter is None:
        exporter = HTMLExporter(template_name="basic")
        exporter.exclude_input = True
        exporter.exclude_input_prompt = True
        exporter.exclude_output_prompt = True
        exporter.register_preprocessor(RawHtmlOutputs(), enabled=True)
        _EXPORTERS.exporter = exporter
    return exporter


def _page(title: str, site_title: str, body: str, depth: int, period: str | None,
          heading: str | None = None) -> str:
    return TEMPLATES.get_template("page.html.j2").render(
        title=title, heading=heading, site_title=site_title, body=body, root="../" * depth, period=period,
    )


def _render_body(source: Path) -> str:
    """One page's HTML body from its executed notebook (run in a worker process)."""
    notebook = page_cells(nbformat.read(source, as_version=4))
    body, _ = _exporter().from_notebook_node(notebook)
    return body


def _die_with_the_build() -> None:
    """In a render worker: end when the build that forked it ends, even by `kill -9` (Linux), rather than wait
    forever for pages that will never come."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the worker ends when its queue closes, as before
        return
    if os.getppid() == 1:  # the build died before the line above ran
        os._exit(1)


# A forked render worker never finalises what it inherited: the build's open sockets (notebook kernels' zeromq
# sockets) and the rest belong to the build, and finalising one without the threads that served it crashed a worker.
# (Frozen objects are kept out of the collector; the worker's own are collected as usual.)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=gc.freeze)


def _pool(workers: int) -> ProcessPoolExecutor:
    # nbconvert is pure Python, so pages render side by side only in processes; forking reuses the imports.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_the_build)


def render_fallback(build_dir: Path, period: str, out: Path, reports_dir: Path = REPORTS_DIR,
                    workers: int | None = None) -> None:
    site_title, pages = site_declaration(reports_dir)
    period_out = out / period
    period_out.mkdir(parents=True, exist_ok=True)
    workers = max(1, min(workers or os.cpu_count() or 1, len(pages)))
    sources = [build_dir / spec.notebook for spec in pages]
    if workers == 1:
        futures = None
    else:
        pool = _pool(workers)
        futures = [pool.submit(_render_body, source) for source in sources]
    try:
        for index, (spec, source) in enumerate(zip(pages, sources)):
            try:
                body = futures[index].result() if futures else _render_body(source)
            except Exception as exc:  # nbconvert raises many kinds
                raise RenderError(f"rendering {source} into {spec.page}.html failed: {exc}") from exc
            page = _page(f"{spec.title} · {period}", site_title, body, 1, period, heading=f"{spec.title} · {period}")
            (period_out / f"{spec.page}.html").write_text(page, encoding="utf-8")
    finally:
        if futures:
            pool.shutdown(cancel_futures=True)


def write_landing_fallback(out: Path, reports_dir: Path = REPORTS_DIR) -> None:
    site_title, _ = site_declaration(reports_dir)
    (out / "index.html").write_text(_page(site_title, site_title, marker("landing"), 0, None, heading=site_title),
                                    encoding="utf-8")


# ---------------------------------------------------------------- Quarto

def _front_matter(title: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(yaml.safe_dump({"title": title}, sort_keys=False).join(["---\n", "---"]))


def _qmd(title: str, fragment: str) -> str:
    # The fragment is HTML we generated (an empty marker block); a raw block passes it through Pandoc as is.
    return f"---\n{yaml.safe_dump({'title': title}, sort_keys=False)}---\n\n```{{=html}}\n{fragment}\n```\n"


def render_quarto(build_dir: Path, period: str, out: Path, work: Path, reports_dir: Path = REPORTS_DIR) -> None:
    """Assemble a Quarto project in `work` (reports/ plus this period's executed notebooks) and render it."""
    site_title, pages = site_declaration(reports_dir)
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(reports_dir, work, ignore=shutil.ignore_patterns("_site", ".quarto", "private", "*.md"))
    charts.write_vega_bundle(work)
    period_src = work / period
    period_src.mkdir(parents=True, exist_ok=True)
    for spec in pages:
        notebook = page_cells(nbformat.read(build_dir / spec.notebook, as_version=4))
        notebook.cells.insert(0, _front_matter(f"{spec.title} · {period}"))
        nbformat.write(notebook, period_src / f"{spec.page}.ipynb")
    shutil.copytree(build_dir / "data", period_src / "data", dirs_exist_ok=True)
    (work / "index.qmd").write_text(_qmd(site_title, marker("landing")), encoding="utf-8")
    result = subprocess.run(["quarto", "render", str(work)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RenderError(f"quarto render {work} failed:\n{result.stderr[-4000:]}")
    rendered = work / "_site"
    shutil.copytree(rendered, out, dirs_exist_ok=True)
    # CSV downloads are not pages: copy them beside the pages whatever Quarto chose to copy.
    shutil.copytree(build_dir / "data", out / period / "data", dirs_exist_ok=True)


# ---------------------------------------------------------------- the whole site

def render_period(build_dir: Path, period: str, out: Path, work: Path, stamp: dict | None = None,
                  use_quarto: bool | None = None, reports_dir: Path = REPORTS_DIR) -> str:
    """Render one period into `out` (its pages, tables and the site-wide files its renderer writes), with the
    record of its build (`build.json`: version, definitions, renderer, time). Returns the renderer used
    ('quarto' or 'nbconvert')."""
    use_quarto = quarto_available() if use_quarto is None else use_quarto
    if out.exists():
        shutil.rmtree(out)
    (out / period / "data").mkdir(parents=True)
    shutil.copytree(build_dir / "data", out / period / "data", dirs_exist_ok=True)
    shutil.copyfile(reports_dir / "site.css", out / "site.css")
    charts.write_vega_bundle(out)
    if use_quarto:
        render_quarto(build_dir, period, out, work, reports_dir)
        renderer = "quarto"
    else:
        render_fallback(build_dir, period, out, reports_dir)
        write_landing_fallback(out, reports_dir)
        renderer = "nbconvert"
    record = {"period": period, "version": package_version(), "renderer": renderer,
              "built_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), **(stamp or {})}
    (out / period / BUILD_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return renderer


def refresh_period_navigation(site: Path, periods: list[str], reports_dir: Path = REPORTS_DIR) -> None:
    """Every page of every period links to the other pages of its period, to the same page of the other
    periods, and to the previous and next one; its footer says who built it with which definitions. Pages carry
    empty marker blocks (both renderers put them there: the page template, Quarto's `include-before-body` and
    `include-after-body`); they are filled here, after all periods are in place, so pages of older periods
    learn about newer ones, and both renderers get the same navigation."""
    _, pages = site_declaration(reports_dir)
    template = TEMPLATES.get_template("periods_nav.html.j2")
    chronological = list(reversed(periods))
    for period in periods:
        position = chronological.index(period)
        previous = chronological[position - 1] if position > 0 else None
        following = chronological[position + 1] if position + 1 < len(chronological) else None
        footer = html.escape(footer_words(build_record(site / period)), quote=False)
        for page in sorted((site / period).glob("*.html")):
            text = page.read_text(encoding="utf-8")
            block = template.render(period=period, periods=periods, page=page.stem, pages=pages,
                                    previous=previous, next=following).strip()
            updated = fill(fill(text, "periods", block), "built", footer)
            if updated != text:
                page.write_text(updated, encoding="utf-8")


def assemble_site(rendered: Path, period: str, old_site: Path | None, out: Path,
                  reports_dir: Path = REPORTS_DIR) -> list[str]:
    """The next site in `out`: the published site (`old_site`, if any) with this period's rendered folder in
    place of its own, then the landing page, navigation, footers and search index filled in from the periods
    present. Returns those periods, newest first."""
    rendered, out = Path(rendered), Path(out)
    old_site = Path(old_site) if old_site and Path(old_site).is_dir() else None
    if out.exists():
        shutil.rmtree(out)
    if old_site:
        shutil.copytree(old_site, out, ignore=lambda folder, names: [period] if Path(folder) == old_site else [])
    shutil.copytree(rendered, out, dirs_exist_ok=True)
    periods = periods_in(out)
    landing = out / "index.html"
    updated = f"Updated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by retention-report {package_version()}."
    text = fill(landing.read_text(encoding="utf-8"), "landing", landing_fragment(out, periods))
    landing.write_text(fill(text, "built", html.escape(updated, quote=False)), encoding="utf-8")
    refresh_period_navigation(out, periods, reports_dir)
    renderer = (build_record(out / period) or {}).get("renderer", "")
    search.update_site_index(out, old_site, period, periods, renderer,
                             [spec.page for spec in site_declaration(reports_dir)[1]])
    (out / "site.json").write_text(json.dumps({"periods": periods, "renderer": renderer}, indent=2) + "\n",
                                   encoding="utf-8")
    return periods
