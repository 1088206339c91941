"""Every page honest on any data, read as a stakeholder reads it: the visible text of every page in a real browser
(Debian chromium) holds no `nan`, `NaN`, `NaT`, `inf`, `None`, `(blank)` or `-0%` and no share above 100%, on the
sample, on the sample with each optional export removed in turn, on the sample with every segment column removed,
and on the real export (2011-Q2, Q3 and Q4)."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path

import duckdb
import pytest

from conftest import SAMPLE_PERIOD
from retention_report.exports import CONTRACT
from retention_report.periods import parse_period
from retention_report.pipeline import Build
from test_site_browser import CHROMIUM, QuietHandler, _charts_drawn, browser  # noqa: F401 (browser: the fixture)

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")

OPTIONAL = [name for name, export in CONTRACT.items() if not export.required]
SEGMENT_COLUMNS = ["plan", "region", "acquisition_channel"]  # the sample's customer columns that give segments

# What a missing value or a broken number prints as. `None` is an English word too ("None of the 12 orders..."):
# only the bare value counts. Words such as "information" or "finance" do not match (word boundaries).
FORBIDDEN = re.compile(r"\b(?:nan|NaN|NaT|-?inf|Infinity|undefined)\b|\bNone\b(?! of\b)|\(blank\)|(?<![\d.])[-−]0(?:\.0+)?\s?%"
                       r"|(?<![\w.])[-−]0(?:\.0+)?(?![\d.%])")  # a zero with a minus: -0%, "interval -0.0 to"
# Figures that are ratios, not shares, and may pass 100%: revenue retention (net revenue retention 112% is a
# business keeping more than it had) and growth.
NOT_A_SHARE = re.compile(r"revenue retention|NRR|growth|per promotion", re.IGNORECASE)

# For each visible text node: its text, and the text of the row, card, chart or paragraph it sits in.
VISIBLE_TEXTS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !node.textContent.trim() || el.closest('script, style, noscript')) continue;
    if (el.checkVisibility && !el.checkVisibility({checkOpacity: false, checkVisibilityCSS: true})) continue;
    const box = el.closest('tr, .rr-kpi, figure, li, p, h1, h2, h3, h4, dd, dt, caption') || el;
    out.push([node.textContent, box.getAttribute('aria-label') || box.textContent]);
  }
  return out;
}"""


def page_problems(texts: list[list[str]]) -> list[str]:
    """What a stakeholder should never read, with the sentence or row it sits in."""
    problems = []
    for text, context in texts:
        for match in FORBIDDEN.finditer(text):
            problems.append(f"{match.group(0)!r} in {context.strip()[:160]!r}")
        if NOT_A_SHARE.search(context):
            continue
        for number in re.findall(r"(?<![\d.,+])(\d[\d,]*(?:\.\d+)?)\s?%", text):
            if float(number.replace(",", "")) > 100:
                problems.append(f"a share of {number}% in {context.strip()[:160]!r}")
    return problems


def test_the_scan_finds_what_it_must_and_nothing_else():
    bad = ["nan%", "median of nan days", "NaT", "None", "(blank)", "-0%", "−0.0 %", "inf days", "100.7%",
           "(95% interval -0.0 to +10.6)", "moved -0 points"]
    for text in bad:
        assert page_problems([[text, "Customer retention rate"]]), text
    fine = ["None of the 1,707 orders was refunded", "information", "financial", "100.0%", "0.0%", "+0.0 pts",
            "banana", "Nantes", "10-0%", "-0.5 points", "2024-05", "ticket t-0", "-0.04"]
    for text in fine:
        assert page_problems([[text, "Customer retention rate"]]) == [], text
    assert page_problems([["112.0%", "Net revenue retention"]]) == []


def _without(sample: Path, root: Path, name: str) -> Path:
    folder = root / f"without-{name}"
    shutil.copytree(sample, folder)
    for path in folder.glob(f"{name}.*"):
        path.unlink()
    return folder


def _without_segment_columns(sample: Path, root: Path) -> Path:
    folder = root / "without-segments"
    shutil.copytree(sample, folder)
    customers = folder / "customers.csv"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * EXCLUDE ({', '.join(SEGMENT_COLUMNS)}) FROM read_csv($f, all_varchar = true)) "
                    f"TO '{customers}.new' (HEADER)", {"f": str(customers)})
    Path(f"{customers}.new").replace(customers)
    return folder


@pytest.fixture(scope="module")
def variant_sites(sample_site, sample_data, retail_builds, tmp_path_factory) -> dict[str, Path]:
    """{what the data lacks: its built site}."""
    root = tmp_path_factory.mktemp("honest")
    sites = {"the whole sample": sample_site.site,
             "the real export": next(iter(retail_builds.values())).site}
    folders = {f"no {name} export": _without(sample_data, root, name) for name in OPTIONAL}
    folders["no segment column"] = _without_segment_columns(sample_data, root)
    for what, folder in folders.items():
        site = root / what.replace(" ", "-") / "_site"
        Build(parse_period(SAMPLE_PERIOD), folder, site, build_root=root / "build" / what.replace(" ", "-"),
              use_quarto=False).run()
        sites[what] = site
    return sites


def _served(site: Path):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_no_page_shows_a_missing_value_or_a_share_above_100_percent(variant_sites, browser):
    problems = []
    for what, site in variant_sites.items():
        httpd = _served(site)
        base = f"http://127.0.0.1:{httpd.server_address[1]}"
        context = browser.new_context()
        context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base) else route.abort())
        page = context.new_page()
        for path in sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")):
            page.goto(f"{base}/{path}", wait_until="load")
            page.wait_for_function("document.readyState === 'complete'")
            _charts_drawn(page)  # (their axes and labels are text too)
            problems += [f"{what}, {path}: {p}" for p in page_problems(page.evaluate(VISIBLE_TEXTS))]
        context.close()
        httpd.shutdown()
    assert problems == [], "\n".join(problems[:60]) + f"\n({len(problems)} in all)"


# The pages that need each optional export: each says which export is missing instead of a figure.
NEEDED_BY = {"touchpoints": ["index.html", "touchpoints.html"], "nps_responses": ["index.html", "nps.html"],
             "support_tickets": ["index.html", "support.html"], "events": ["index.html", "onboarding.html"],
             "subscriptions": ["index.html", "subscriptions.html"]}


def test_pages_without_an_optional_export_say_which_export_is_missing(variant_sites):
    for name, pages in NEEDED_BY.items():
        for page in pages:
            text = (variant_sites[f"no {name} export"] / SAMPLE_PERIOD / page).read_text(encoding="utf-8")
            assert f"export (<code>{name}</code>) was provided" in text, (name, page)
            whole = (variant_sites["the whole sample"] / SAMPLE_PERIOD / page).read_text(encoding="utf-8")
            assert f"export (<code>{name}</code>) was provided" not in whole, (name, page)
