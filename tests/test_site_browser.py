"""The published site in a real browser: Debian's chromium driven by Playwright, served on 127.0.0.1,
with every request to any other host blocked and recorded."""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest

from conftest import SAMPLE_PERIOD
from retention_report.pipeline import Build
from retention_report.periods import parse_period

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).parent / "browser" / "node_modules" / "axe-core" / "axe.min.js"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def two_period_site(sample_site, sample_data, tmp_path_factory):
    """The sample site plus the previous period, so navigation between periods can be followed."""
    root = tmp_path_factory.mktemp("browser")
    site = root / "site" / "_site"
    shutil.copytree(sample_site.site, site)
    Build(parse_period("2024-Q1"), sample_data, site, build_root=root / "build", use_quarto=False).run()
    return site


@pytest.fixture(scope="module")
def server(two_period_site):
    handler = functools.partial(QuietHandler, directory=str(two_period_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


class Visit:
    """A page opened with outside requests blocked, console errors and dialogs recorded."""

    def __init__(self, browser, base: str):
        self.base = base
        self.context = browser.new_context()
        self.blocked: list[str] = []
        self.requested: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", self._dialog)

    def _route(self, route):
        url = route.request.url
        self.requested.append(url)
        if url.startswith(self.base) or url.startswith("data:") or url.startswith("blob:"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, path: str):
        # "load": the page and everything it names (style sheets, the Vega bundle) are in. Charts are drawn after
        # it, so a test that reads them waits for them (_charts_drawn). Waiting for the network to be idle
        # instead added half a second to every page opened.
        response = self.page.goto(f"{self.base}/{path}", wait_until="load")
        assert response is not None and response.status == 200, path
        # The whole document parsed before anything is read: once, on a busy CI machine, the NPS page's text
        # ended in the middle of a table when read (networkidle alone does not promise the parse has finished).
        self.page.wait_for_function("document.readyState === 'complete'")
        return self.page

    def close(self):
        self.context.close()


def site_pages(site: Path) -> list[str]:
    return sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))


def test_every_page_loads_with_no_console_error_no_outside_request_and_every_chart_drawn(browser, server,
                                                                                          two_period_site):
    for path in site_pages(two_period_site):
        visit = Visit(browser, server)
        page = visit.open(path)
        charts = page.locator(".rr-chart-canvas")
        for i in range(charts.count()):
            charts.nth(i).locator("svg g.role-mark > *").first.wait_for(state="attached", timeout=15000)
            assert charts.nth(i).locator("svg g.role-mark > *").count() > 0, f"{path}: chart {i} has no marks"
        assert visit.errors == [], f"{path}: {visit.errors}"
        assert visit.blocked == [], f"{path} asked for {visit.blocked}"
        assert visit.dialogs == [], f"{path} opened {visit.dialogs}"
        # One Vega bundle, the site's own, loaded once per page.
        bundles = [u for u in visit.requested if u.endswith("vega-bundle.js")]
        assert bundles == [f"{server}/vega-bundle.js"], f"{path}: {bundles}"
        visit.close()


def test_the_landing_page_lists_every_period_newest_first_with_its_headline_figures(browser, server,
                                                                                     two_period_site):
    visit = Visit(browser, server)
    page = visit.open("index.html")
    cards = page.locator(".rr-period-card")
    assert [cards.nth(i).locator("h2").inner_text() for i in range(cards.count())] == [SAMPLE_PERIOD, "2024-Q1"]
    for i, period in enumerate([SAMPLE_PERIOD, "2024-Q1"]):
        figures = dict(zip(cards.nth(i).locator("dt").all_inner_texts(), cards.nth(i).locator("dd").all_inner_texts()))
        nps = pd.read_csv(two_period_site / period / "data" / "nps_summary.csv").iloc[0]
        assert figures["NPS"].startswith(f"{nps.nps:+.0f} ({nps.ci_low:+.0f} to {nps.ci_high:+.0f})"), period
        kpis = pd.read_csv(two_period_site / period / "data" / "summary_kpis.csv").set_index("kpi").value
        for name in ["Customer retention rate", "Churn rate", "Would buy again"]:
            assert figures[name] == f"{100 * kpis[name]:.1f}%", (period, name)
    visit.close()


def test_previous_and_next_link_the_same_page_of_the_neighbouring_period(browser, server):
    visit = Visit(browser, server)
    for page_name in ["index", "cohorts", "methodology"]:
        page = visit.open(f"{SAMPLE_PERIOD}/{page_name}.html")
        assert page.locator('a[rel="next"]').count() == 0  # the newest period has no next
        page.click('a[rel="prev"]')
        page.wait_for_load_state("networkidle")
        assert page.url.endswith(f"/2024-Q1/{page_name}.html")
        assert page.locator('a[rel="prev"]').count() == 0  # nor the oldest a previous
        page.click('a[rel="next"]')
        page.wait_for_load_state("networkidle")
        assert page.url.endswith(f"/{SAMPLE_PERIOD}/{page_name}.html")
    assert visit.errors == [] and visit.blocked == []
    visit.close()


def test_navigation_from_landing_to_every_analysis_and_the_previous_period(browser, server):
    visit = Visit(browser, server)
    page = visit.open("index.html")
    hrefs = [a.get_attribute("href") for a in page.locator("a").all()]
    assert f"{SAMPLE_PERIOD}/index.html" in hrefs and "2024-Q1/index.html" in hrefs
    page.click(f'a[href="{SAMPLE_PERIOD}/index.html"]')
    page.wait_for_load_state("networkidle")
    for title in ["Cohort retention", "Net Promoter Score", "Appreciation touchpoints", "Data quality", "Methodology"]:
        page.get_by_role("navigation", name="Pages of this period").get_by_role("link", name=title).click()
        page.wait_for_load_state("networkidle")
        assert title in page.title()
        # The same page of the other period is one click away.
        page.get_by_role("navigation", name="Periods").get_by_role("link", name="2024-Q1", exact=True).click()
        page.wait_for_load_state("networkidle")
        assert "2024-Q1" in page.url and title in page.title()
        page.go_back()
        page.wait_for_load_state("networkidle")
    assert visit.errors == [] and visit.blocked == []
    visit.close()


def test_every_link_resolves_and_every_table_downloads_as_csv(browser, server, two_period_site):
    visit = Visit(browser, server)
    seen: set[str] = set()
    for path in site_pages(two_period_site):
        page = visit.open(path)
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            if href in seen or not href.startswith(server):
                continue
            seen.add(href)
            response = visit.context.request.get(href.split("#")[0])
            assert response.status == 200, f"{path} links to {href}: {response.status}"
            if href.endswith(".csv"):
                body = response.text()
                assert body.count("\n") >= 2 and "," in body.splitlines()[0], href
    assert any(h.endswith(".csv") for h in seen)
    visit.close()


def test_every_chart_can_be_saved_as_png_and_svg(browser, server, two_period_site):
    visit = Visit(browser, server)
    for path in site_pages(two_period_site):
        if not path.startswith(SAMPLE_PERIOD):
            continue
        page = visit.open(path)
        charts = page.locator(".rr-chart-canvas")
        for i in range(charts.count()):
            chart = charts.nth(i)
            chart.locator("svg g.role-mark > *").first.wait_for(state="attached")
            chart.locator("details summary").click()
            for label, magic in [("Save as SVG", b"<svg"), ("Save as PNG", b"\x89PNG")]:
                with page.expect_download() as download:
                    chart.get_by_text(label).click()
                data = Path(download.value.path()).read_bytes()
                assert data.startswith(magic) and len(data) > 1000, f"{path} chart {i}: {label}"
            chart.locator("details summary").click()
    visit.close()


def test_the_summary_cards_show_the_numbers_of_the_csvs(browser, server, two_period_site):
    visit = Visit(browser, server)
    page = visit.open(f"{SAMPLE_PERIOD}/index.html")
    data = two_period_site / SAMPLE_PERIOD / "data"
    cards = {page.locator(".rr-kpi").nth(i).locator(".rr-kpi-name").inner_text():
             page.locator(".rr-kpi").nth(i).locator(".rr-kpi-number").inner_text()
             for i in range(page.locator(".rr-kpi").count())}
    summary = pd.read_csv(data / "summary_kpis.csv")
    assert len(cards) == len(summary) == 13
    for row in summary.itertuples():
        if row.kpi == "MRR":  # an amount: the currency's sign before whole units with thousands separators
            assert re.fullmatch(r"[^\d\s]+" + re.escape(f"{row.value:,.0f}"), cards[row.kpi]), cards[row.kpi]
            continue
        expected = (f"{row.value:+.0f}" if row.kpi == "NPS" else f"{row.value:.1f} h" if row.kpi.startswith("Median")
                    else f"{100 * row.value:.1f}%")
        assert cards[row.kpi] == expected, row.kpi
    nps = pd.read_csv(data / "nps_summary.csv").iloc[0]
    assert cards["NPS"] == f"{nps.nps:+.0f}"
    kpis = pd.read_csv(data / "period_kpis.csv").set_index("metric")
    assert cards["Customer retention rate"] == f"{100 * kpis.loc['customer_retention_rate', 'value']:.1f}%"
    visit.close()


def test_hostile_comment_shows_as_text_and_no_dialog_opens(browser, server, two_period_site):
    pages = [p for p in site_pages(two_period_site) if "alert(1)" in (two_period_site / p).read_text()]
    assert pages, "the planted hostile comment is on no page"
    for path in pages:
        visit = Visit(browser, server)
        page = visit.open(path)
        page.wait_for_timeout(300)
        assert "<script>alert(1)</script>" in page.inner_text("main")
        assert page.locator("main img[src='x']").count() == 0
        assert visit.dialogs == []
        visit.close()


def test_no_file_of_the_site_holds_personal_data_of_the_input(two_period_site, sample_data):
    customers = pd.read_csv(sample_data / "customers.csv", dtype=str, keep_default_na=False)
    emails = {e.lower() for e in customers.email if e}
    phones = {re.sub(r"\D", "", p) for p in customers.phone if p}
    names = {n for n in customers.name if n}
    email_re = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
    phone_re = re.compile(r"\+?\d[\d ()-]{7,}\d")
    name_re = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b")
    for path in two_period_site.rglob("*"):
        if not path.is_file() or path.name == "vega-bundle.js":
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert not emails & {m.lower() for m in email_re.findall(text)}, path
        assert not phones & {re.sub(r"\D", "", m) for m in phone_re.findall(text)}, path
        assert not names & set(name_re.findall(text)), path


@pytest.mark.skipif(not AXE.exists(), reason="axe-core not installed: npm install --prefix tests/browser")
def test_axe_finds_no_serious_or_critical_violation(browser, server, two_period_site):
    script = AXE.read_text(encoding="utf-8")
    for path in site_pages(two_period_site):
        if not path.startswith(SAMPLE_PERIOD) and path != "index.html":
            continue
        visit = Visit(browser, server)
        page = visit.open(path)
        _charts_drawn(page)  # (the charts' drawing is checked too)
        page.add_script_tag(content=script)
        result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
        serious = [(v["id"], v["help"], len(v["nodes"])) for v in result["violations"]
                   if v["impact"] in ("serious", "critical")]
        assert serious == [], f"{path}: {serious}"
        visit.close()


# A4 (210 mm) and Letter (8.5 in) less the print stylesheet's 12 mm side margins, at 96 px per inch.
PRINT_WIDTHS = {"A4": round((210 - 24) / 25.4 * 96), "Letter": round((8.5 * 25.4 - 24) / 25.4 * 96)}


def test_every_page_prints_to_a4_and_letter_without_navigation_or_overflow(browser, server, two_period_site):
    for path in site_pages(two_period_site / SAMPLE_PERIOD):
        for paper, width in PRINT_WIDTHS.items():
            visit = Visit(browser, server)
            page = visit.page
            page.set_viewport_size({"width": width, "height": 1000})
            page.emulate_media(media="print")
            visit.open(f"{SAMPLE_PERIOD}/{path}")
            charts = page.locator(".rr-chart-canvas svg")
            if charts.count():
                charts.first.wait_for(state="attached", timeout=15000)
            layout = page.evaluate("""() => ({
                scroll: document.documentElement.scrollWidth,
                navShown: [...document.querySelectorAll('nav')].filter(n => n.offsetParent !== null).length,
                widest: Math.max(0, ...[...document.querySelectorAll('.rr-chart svg, table, img')]
                                     .map(e => e.getBoundingClientRect().right)),
            })""")
            assert layout["navShown"] == 0, f"{path} ({paper}): navigation printed"
            assert layout["scroll"] <= width + 1 and layout["widest"] <= width + 1, f"{path} ({paper}): {layout}"
            pdf = page.pdf(format=paper, print_background=False)
            assert pdf.startswith(b"%PDF") and pdf.count(b"/Type /Page") >= 1, f"{path} ({paper})"
            assert visit.blocked == [], f"{path} asked for {visit.blocked}"
            visit.close()


# --- no page wider than the window; one look on both renderers ------------------------------------------------

WINDOWS = {"desktop": 1280, "phone": 390}


def _charts_drawn(page):
    charts = page.locator(".rr-chart-canvas")
    for i in range(charts.count()):
        charts.nth(i).locator("svg g.role-mark > *").first.wait_for(state="attached", timeout=15000)


@pytest.mark.parametrize("window", WINDOWS)
def test_no_page_is_wider_than_the_window(browser, server, two_period_site, window):
    """At 1,280 px and on a phone (390 px) the page never scrolls sideways: wide tables and fixed-width charts
    scroll inside their own box (it was 1,334 px for the touchpoints page at 1,280, 1,260 on a phone)."""
    width = WINDOWS[window]
    too_wide = {}
    visit = Visit(browser, server)
    visit.page.set_viewport_size({"width": width, "height": 900})
    for path in site_pages(two_period_site):
        page = visit.open(path)
        _charts_drawn(page)
        layout = page.evaluate("""() => ({scroll: document.documentElement.scrollWidth, window: window.innerWidth,
            widest: [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
                      .slice(0, 3).map(e => e.tagName + '.' + e.className)})""")
        assert layout["window"] == width
        if layout["scroll"] > layout["window"]:
            too_wide[path] = layout
        if AXE.exists():  # a box that scrolls can be reached and scrolled by keyboard
            page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
            result = page.evaluate("async () => await axe.run(document, {runOnly: ['scrollable-region-focusable']})")
            assert result["violations"] == [], (path, [n["target"] for v in result["violations"] for n in v["nodes"]])
    assert too_wide == {}, too_wide
    # The wide things are still all there: a table or chart wider than the phone scrolls inside its own box.
    if width < 500:
        page = visit.open(f"{SAMPLE_PERIOD}/touchpoints.html")
        _charts_drawn(page)
        boxes = page.evaluate("""() => [...document.querySelectorAll('main .rr-table-scroll, main .rr-chart-canvas')]
            .map(e => ({scrolls: e.scrollWidth > e.clientWidth + 1, overflow: getComputedStyle(e).overflowX}))""")
        assert any(b["scrolls"] for b in boxes) and all(b["overflow"] == "auto" for b in boxes if b["scrolls"])
    visit.close()


def _font(css_value: str) -> str:
    return ", ".join(part.strip().strip("'\"") for part in css_value.split(","))


LOOK_JS = """() => {
  const pick = (selector, props) => { const e = document.querySelector(selector); if (!e) return null;
    const s = getComputedStyle(e); return Object.fromEntries(props.map(p => [p, s.getPropertyValue(p)])); };
  const text = ['font-family', 'font-size', 'color', 'line-height'];
  return {
    body: pick('body', text),
    paragraph: pick('main p:not([class])', text),
    card: pick('.rr-kpi', [...text, 'border-top-width', 'border-top-style', 'border-top-color', 'border-top-left-radius',
                          'padding-top', 'padding-left']),
    card_name: pick('.rr-kpi .rr-kpi-name', text),
    card_number: pick('.rr-kpi .rr-kpi-number', [...text, 'font-weight']),
    header_cell: pick('main table th', [...text, 'font-weight', 'padding-left', 'background-color', 'border-bottom-width']),
    cell: pick('main table td', [...text, 'padding-top', 'padding-left', 'border-bottom-width', 'border-bottom-color',
                                 'background-color']),
  };
}"""


def site_look(browser, base: str) -> dict:
    """The computed styles of body text, a KPI card and table cells (the summary and the cohorts page)."""
    visit = Visit(browser, base)
    look = visit.open(f"{SAMPLE_PERIOD}/index.html").evaluate(LOOK_JS)
    tables = visit.open(f"{SAMPLE_PERIOD}/cohorts.html").evaluate(LOOK_JS)
    visit.close()
    look.update(header_cell=tables["header_cell"], cell=tables["cell"])
    return look


def test_body_text_cards_and_tables_have_the_house_look(browser, server):
    """The fallback half of 'one look on both renderers': the values the stylesheet promises, asserted here,
    so the comparison with Quarto below compares against a known look."""
    from retention_report import charts

    look = site_look(browser, server)
    font = _font(charts.FONT)
    for part in ["body", "paragraph", "card", "card_name", "card_number", "header_cell", "cell"]:
        assert look[part] is not None, part
        assert _font(look[part]["font-family"]) == font, (part, look[part]["font-family"])  # the charts' font too
    assert look["body"]["font-size"] == look["paragraph"]["font-size"] == look["card"]["font-size"] == "16px"
    assert look["body"]["color"] == look["paragraph"]["color"] == look["cell"]["color"] == "rgb(27, 27, 27)"
    assert look["cell"]["font-size"] == look["header_cell"]["font-size"] == "14.4px"
    assert (look["cell"]["padding-top"], look["cell"]["padding-left"]) == ("4px", "9.6px")
    assert look["cell"]["border-bottom-color"] == "rgb(221, 221, 221)" and look["cell"]["border-bottom-width"] == "1px"
    assert look["header_cell"]["background-color"] == "rgb(245, 247, 250)" and look["header_cell"]["font-weight"] == "600"
    assert (look["card"]["border-top-width"], look["card"]["border-top-style"], look["card"]["border-top-left-radius"]) \
        == ("1px", "solid", "8px")
    assert look["card_number"]["font-size"] == "27.2px" and look["card_number"]["font-weight"] == "700"
    # Line heights set, not left to the theme (Bootstrap gives headings 1.2): the same on both renderers.
    assert (look["body"]["line-height"], look["paragraph"]["line-height"], look["cell"]["line-height"]) \
        == ("24px", "24px", "20.16px")
    assert (look["card_name"]["line-height"], look["card_number"]["line-height"]) == ("18.72px", "32.64px")


@pytest.fixture(scope="module")
def quarto_site(sample_data, tmp_path_factory):
    from retention_report import render

    if not render.quarto_available():
        pytest.skip("quarto is not on PATH: the Quarto half of the comparison runs where it is installed")
    root = tmp_path_factory.mktemp("quarto")
    site = root / "site" / "_site"
    Build(parse_period(SAMPLE_PERIOD), sample_data, site, build_root=root / "build", use_quarto=True).run()
    return site


def test_quarto_pages_look_like_the_fallback_pages(browser, server, quarto_site):
    handler = functools.partial(QuietHandler, directory=str(quarto_site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        quarto = site_look(browser, f"http://127.0.0.1:{httpd.server_address[1]}")
    finally:
        httpd.shutdown()
    fallback = site_look(browser, server)
    for part, styles in fallback.items():
        for prop, value in styles.items():
            if prop == "font-family":
                assert _font(quarto[part][prop]) == _font(value), (part, prop)
            else:
                assert quarto[part][prop] == value, (part, prop, quarto[part][prop], value)
