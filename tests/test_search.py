"""The archive's search index (retention_report.search): the entries of a page, the index merged across periods,
the files the browser reads, and the fallback's search box in Chromium from file:// (and Quarto's over HTTP
where `quarto` is on PATH)."""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import shutil
import threading
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from retention_report import search
from retention_report.periods import parse_period
from retention_report.pipeline import Build
from test_site_browser import CHROMIUM, QuietHandler, browser  # noqa: F401 (browser: the fixture, shared)

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian chromium is not installed")

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"

PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><title>Cohorts · 2024-Q1 · Retention report</title>
<style>main {{ color: red; }}</style><script>var secret = "in a script";</script></head>
<body>
<header class="rr-navbar"><nav><a href="../index.html">All periods</a></nav></header>
<main id="content">
<h1 class="rr-title">Cohorts · 2024-Q1</h1>
<p>Who   stays
   and who leaves.</p>
<!-- a comment nobody reads -->
<div class="cell"><div class="rendered_html">
<h2 id="Retention-by-cohort">Retention by cohort<a class="anchor-link" href="#Retention-by-cohort">¶</a></h2>
<p>Each row is a <strong>cohort</strong>, each column a month.</p>
</div></div>
<table><tr><th>cohort</th><th>size</th></tr><tr><td>2024-01</td><td>512</td></tr></table>
<script>vegaEmbed("#chart", {{"title": "never indexed"}});</script>
<h2>A heading without an id</h2>
<p>still part of the cohort section</p>
<h2 id="Comments">Comments</h2>
<p>{html.escape(HOSTILE)} &amp; more</p>
<h2 id="Empty">Empty</h2>
</main>
<footer class="rr-footer">Built today.</footer>
</body></html>
"""


def test_page_entries_split_a_page_at_its_linkable_h2_headings():
    entries = search.page_entries(PAGE, "2024-Q1/cohorts.html")
    assert [e["href"] for e in entries] == [
        "2024-Q1/cohorts.html", "2024-Q1/cohorts.html#Retention-by-cohort", "2024-Q1/cohorts.html#Comments",
        "2024-Q1/cohorts.html#Empty"]
    assert all(e["objectID"] == e["href"] for e in entries)
    assert {e["title"] for e in entries} == {"Cohorts · 2024-Q1"}
    assert [e["section"] for e in entries] == ["", "Retention by cohort", "Comments", "Empty"]
    # The leading text, whitespace collapsed; the title is the entries' title, not text.
    assert entries[0]["text"] == "Who stays and who leaves."
    # A section runs to the next linkable h2: an h2 without an id (none to link to) stays text of it. Cells
    # are kept apart, inline markup is not.
    assert entries[1]["text"] == ("Each row is a cohort, each column a month. cohort size 2024-01 512 "
                                  "A heading without an id still part of the cohort section")
    assert entries[3]["text"] == ""  # an empty section is still found by its heading


def test_page_entries_hold_visible_text_only_escaped_as_quarto_escapes_it():
    entries = search.page_entries(PAGE, "2024-Q1/cohorts.html")
    everything = json.dumps(entries, ensure_ascii=False)
    for hidden in ["in a script", "never indexed", "vegaEmbed", "color: red", "a comment nobody reads", "¶",
                   "All periods", "Built today"]:
        assert hidden not in everything, hidden
    # `text` is HTML (Quarto's search shows it as HTML): the customer's markup is escaped, and unescapes to the
    # text the page shows.
    comments = entries[2]["text"]
    assert comments == "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; &amp; more"
    assert html.unescape(comments) == f"{HOSTILE} & more"
    assert "<" not in "".join(e["text"] for e in entries)


def test_page_entries_without_sections_are_one_entry_and_the_title_falls_back():
    entries = search.page_entries("<html><head><title>Plain</title></head><body><main><p>Only text.</p></main>"
                                  "</body></html>", "2024-Q1/plain.html")
    assert entries == [{"objectID": "2024-Q1/plain.html", "href": "2024-Q1/plain.html", "title": "Plain",
                        "section": "", "text": "Only text."}]
    landing = search.page_entries('<main id="content"><section><h1>Retention report</h1><p>Every period.</p>'
                                  '<ul><li><h2><a href="2024-Q1/index.html">2024-Q1</a></h2><dl><dt>NPS</dt>'
                                  '<dd>+24</dd></dl></li></ul></section></main>', "index.html")
    # The landing's period cards have no anchors: one entry, the cards' text in it.
    assert landing == [{"objectID": "index.html", "href": "index.html", "title": "Retention report", "section": "",
                        "text": "Every period. 2024-Q1 NPS +24"}]


def test_page_entries_read_a_page_as_quarto_lays_it_out():
    # Pandoc puts a level-2 section's id on the <section>, Quarto the title in a title block and a table of
    # contents beside the text (the elements Quarto's own indexer looks for).
    page = """<html><body><main class="content" id="quarto-document-content">
    <header id="title-block-header"><h1 class="title">NPS · 2023-Q4</h1><p class="subtitle">by segment</p></header>
    <nav role="doc-toc"><ul><li><a href="#trend">Trend</a></li></ul></nav>
    <p>Opening words.</p>
    <section id="trend" class="level2"><h2 class="anchored" data-anchor-id="trend">Trend</h2><p>Rising.</p></section>
    </main></body></html>"""
    assert search.page_entries(page, "2023-Q4/nps.html") == [
        {"objectID": "2023-Q4/nps.html", "href": "2023-Q4/nps.html", "title": "NPS · 2023-Q4", "section": "",
         "text": "Opening words."},
        {"objectID": "2023-Q4/nps.html#trend", "href": "2023-Q4/nps.html#trend", "title": "NPS · 2023-Q4",
         "section": "Trend", "text": "Rising."}]


# ---------------------------------------------------------------- merging the periods

def _entry(href: str, text: str = "", title: str = "T", section: str = "") -> dict:
    return {"objectID": href, "href": href, "title": title, "section": section, "text": text}


def _write_page(site: Path, path: str, title: str, text: str) -> None:
    target = site / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(f'<html><body><main id="content"><h1 class="rr-title">{title}</h1><p>{text}</p></main>'
                      "</body></html>", encoding="utf-8")


def test_merge_index_takes_the_fresh_period_keeps_the_others_and_drops_removed_ones(tmp_path):
    previous = [_entry("index.html", "old landing"),
                _entry("2024-Q2/index.html", "Q2 as built before"), _entry("2024-Q2/nps.html#Trend", "Q2 trend"),
                _entry("2024-Q1/index.html", "Q1"), _entry("2024-Q1/cohorts.html#Segments", "Q1 segments"),
                _entry("2023-Q4/index.html", "a period since removed")]
    fresh = {"2024-Q2": [_entry("2024-Q2/index.html", "Q2 rebuilt")], "": [_entry("index.html", "new landing")]}
    merged = search.merge_index(tmp_path, ["2024-Q2", "2024-Q1"], previous, fresh)
    assert [(e["href"], e["text"]) for e in merged] == [
        ("index.html", "new landing"),
        ("2024-Q2/index.html", "Q2 rebuilt"),  # fresh beats previous, whole period: the old trend entry is gone
        ("2024-Q1/index.html", "Q1"), ("2024-Q1/cohorts.html#Segments", "Q1 segments")]
    # Without fresh landing entries, the previous ones stay; a period label that prefixes another does not
    # take its entries.
    merged = search.merge_index(tmp_path, ["2024-Q1"], previous + [_entry("2024-Q10/x.html")], {})
    assert [e["href"] for e in merged] == ["index.html", "2024-Q1/index.html", "2024-Q1/cohorts.html#Segments"]


def test_merge_index_reads_the_pages_of_a_period_the_old_index_does_not_hold(tmp_path):
    # An archive built before there was an index: its periods' pages are read, in the site's page order.
    _write_page(tmp_path, "2023-Q4/nps.html", "NPS · 2023-Q4", "Scores of the old quarter.")
    _write_page(tmp_path, "2023-Q4/index.html", "Summary · 2023-Q4", "The old quarter at a glance.")
    _write_page(tmp_path, "2023-Q4/extra.html", "Extra · 2023-Q4", "Not declared.")
    fresh = {"2024-Q1": [_entry("2024-Q1/index.html", "new")]}
    merged = search.merge_index(tmp_path, ["2024-Q1", "2023-Q4"], [], fresh, page_order=["index", "nps"])
    assert [(e["href"], e["title"], e["text"]) for e in merged] == [
        ("2024-Q1/index.html", "T", "new"),
        ("2023-Q4/index.html", "Summary · 2023-Q4", "The old quarter at a glance."),
        ("2023-Q4/nps.html", "NPS · 2023-Q4", "Scores of the old quarter."),
        ("2023-Q4/extra.html", "Extra · 2023-Q4", "Not declared.")]


def test_read_index_of_a_missing_corrupt_or_odd_index_is_empty(tmp_path, capsys):
    assert search.read_index(None) == [] and search.read_index(tmp_path) == []
    (tmp_path / "search.json").write_text("[{", encoding="utf-8")
    assert search.read_index(tmp_path) == []
    assert "unreadable" in capsys.readouterr().err
    (tmp_path / "search.json").write_text('{"href": "x"}', encoding="utf-8")
    assert search.read_index(tmp_path) == []
    (tmp_path / "search.json").write_text('[{"href": "a.html"}, {"href": 3}, "b"]', encoding="utf-8")
    assert search.read_index(tmp_path) == [{"href": "a.html"}]


TRICKY = [_entry("2024-Q1/nps.html#Comments", "&lt;/script&gt; and a raw </script><script>window.pwned = 1;</script>"
                 " <!-- \u2028line\u2029paragraph", title="Title </script>", section="é ü ∑")]


def _index_script_value(site: Path) -> list:
    script = (site / "search-index.js").read_text(encoding="utf-8")
    prefix, suffix = "window.rrSearchIndex = ", ";\n"
    assert script.startswith(prefix) and script.endswith(suffix)
    return json.loads(script[len(prefix):-len(suffix)])


def test_write_index_writes_quartos_json_and_an_inert_script_of_the_same_list(tmp_path):
    search.write_index(tmp_path, TRICKY)
    assert json.loads((tmp_path / "search.json").read_text(encoding="utf-8")) == TRICKY
    assert _index_script_value(tmp_path) == TRICKY
    script = (tmp_path / "search-index.js").read_text(encoding="utf-8")
    for unsafe in ["</", "<!--", "\u2028", "\u2029"]:
        assert unsafe not in script, unsafe


def _site_with_pages(site: Path, period: str, pages: dict[str, str]) -> None:
    for page, text in pages.items():
        _write_page(site, f"{period}/{page}.html", f"{page} · {period}", text)
    _write_page(site, "index.html", "Retention report", f"landing listing {period}")


def test_update_site_index_on_the_fallback_indexes_the_rendered_period_and_keeps_the_old_sites(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    _site_with_pages(old, "2024-Q1", {"index": "first quarter"})
    search.write_index(old, search.period_entries(old, "2024-Q1"))
    _site_with_pages(new, "2024-Q2", {"index": "second quarter", "nps": "scores"})
    shutil.copytree(old / "2024-Q1", new / "2024-Q1")
    (new / "2024-Q1" / "index.html").write_text("<main>changed by hand, not re-read</main>", encoding="utf-8")
    search.update_site_index(new, old, "2024-Q2", ["2024-Q2", "2024-Q1"], "nbconvert", ["index", "nps"])
    merged = search.read_index(new)
    assert [(e["href"], e["text"]) for e in merged] == [
        ("index.html", "landing listing 2024-Q2"), ("2024-Q2/index.html", "second quarter"),
        ("2024-Q2/nps.html", "scores"), ("2024-Q1/index.html", "first quarter")]
    assert _index_script_value(new) == merged
    assert (new / "search.js").read_text(encoding="utf-8") == \
        (Path(search.__file__).parent / "templates" / "search.js").read_text(encoding="utf-8")


def test_update_site_index_on_quarto_merges_quartos_entries_of_the_period_into_the_old_index(tmp_path):
    old, new = tmp_path / "old", tmp_path / "new"
    old.mkdir()
    search.write_index(old, [_entry("index.html", "old landing"), _entry("2024-Q2/index.html#Trend", "Q2"),
                             _entry("2024-Q1/index.html", "Q1 as Quarto indexed it")])
    new.mkdir()
    # What Quarto wrote for the one period it rendered: that period and the landing page.
    search.write_index(new, [_entry("index.html", "new landing"), _entry("2024-Q1/index.html", "Q1 again"),
                             _entry("2024-Q1/nps.html#Trend", "Q1 trend")])
    search.update_site_index(new, old, "2024-Q1", ["2024-Q2", "2024-Q1"], "quarto")
    assert [(e["href"], e["text"]) for e in search.read_index(new)] == [
        ("index.html", "new landing"), ("2024-Q2/index.html#Trend", "Q2"),
        ("2024-Q1/index.html", "Q1 again"), ("2024-Q1/nps.html#Trend", "Q1 trend")]


# ---------------------------------------------------------------- a real site: 2024-Q1, then 2024-Q2

FIRST, SECOND = "2024-Q1", "2024-Q2"


def _build_two_periods(sample_data: Path, root: Path, use_quarto: bool) -> Path:
    site = root / "site" / "_site"
    for period in (FIRST, SECOND):
        Build(parse_period(period), sample_data, site, build_root=root / "build", use_quarto=use_quarto).run()
    return site


@pytest.fixture(scope="module")
def archive(sample_data, tmp_path_factory) -> Path:
    """2024-Q1 built with the fallback, then 2024-Q2 into the same site."""
    return _build_two_periods(sample_data, tmp_path_factory.mktemp("search"), use_quarto=False)


def _haystack(entry: dict) -> str:
    return f"{entry['title']}\n{entry['section']}\n{html.unescape(entry['text'])}".lower()


def unique_word(entries: list[dict], period: str) -> str:
    """A word of the text of a page of `period` that no other entry of the index holds, even inside a word
    (the search box matches substrings): a figure, usually."""
    others = [_haystack(e) for e in entries if not e["href"].startswith(f"{period}/")]
    for entry in entries:
        if entry["href"].startswith(f"{period}/"):
            for word in html.unescape(entry["text"]).split():
                if re.fullmatch(r"[\w.%+-]{4,}", word) and not any(word.lower() in other for other in others):
                    return word
    raise AssertionError(f"no word is on {period}'s pages only")


def _site_pages(site: Path) -> set[str]:
    return {p.relative_to(site).as_posix() for p in site.rglob("*.html")}


def test_the_index_covers_every_page_of_both_periods(archive):
    entries = search.read_index(archive)
    assert {e["href"].split("#")[0] for e in entries} == _site_pages(archive)
    assert len({e["objectID"] for e in entries}) == len(entries)
    assert _index_script_value(archive) == entries
    assert (archive / "search.js").exists()


def test_page_entries_of_a_built_page_follow_its_headings(archive):
    for page in sorted((archive / SECOND).glob("*.html")):
        text = page.read_text(encoding="utf-8")
        soup = BeautifulSoup(text, "html.parser")
        entries = search.page_entries(text, f"{SECOND}/{page.name}")
        ids = [h2["id"] for h2 in soup.select("main h2[id]")]
        assert ids, page.name  # nbconvert gives every heading an id
        assert [e["href"] for e in entries] == [f"{SECOND}/{page.name}"] + [f"{SECOND}/{page.name}#{i}" for i in ids]
        title = soup.select_one("h1.rr-title").get_text()
        assert {e["title"] for e in entries} == {title} and SECOND in title
        assert [e["section"] for e in entries[1:]] == [soup.find(id=i).get_text().rstrip("¶") for i in ids]
        joined = " ".join(html.unescape(e["text"]) for e in entries)
        assert "vegaEmbed" not in joined and "¶" not in joined
        # Every paragraph a reader sees is in the index.
        for paragraph in soup.select("main p"):
            assert re.sub(r"\s+", " ", paragraph.get_text()).strip() in joined, (page.name, paragraph.get_text()[:80])
    nps = search.page_entries((archive / SECOND / "nps.html").read_text(encoding="utf-8"), f"{SECOND}/nps.html")
    assert any(html.escape(HOSTILE, quote=False) in e["text"] for e in nps)


# ---------------------------------------------------------------- the search box in Chromium

class FileVisit:
    """A page of the site opened from disk; console errors and dialogs recorded, any request that is not
    for the site's own files refused and recorded."""

    def __init__(self, browser, site: Path, width: int = 1280):
        self.site = site.resolve()
        self.context = browser.new_context(viewport={"width": width, "height": 900})
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.outside: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.site.as_uri()) or url.startswith("data:"):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def open(self, path: str):
        self.page.goto(f"{self.site.as_uri()}/{path}")
        self.page.wait_for_load_state("load")
        return self.page

    def close(self):
        self.context.close()


def _search(page, query: str):
    box = page.get_by_role("search").get_by_label("Search all periods")
    box.click()
    box.fill(query)
    page.locator(".rr-search-status").filter(has_text=re.compile("result")).wait_for()
    return page.locator(".rr-search-results a")


@needs_chromium
def test_from_disk_the_search_finds_a_page_of_the_first_period_after_the_second_was_built(browser, archive):
    word = unique_word(search.read_index(archive), FIRST)
    visit = FileVisit(browser, archive)
    page = visit.open(f"{SECOND}/index.html")
    assert page.evaluate("typeof window.rrSearchIndex") == "undefined"  # loaded on first use only
    # Every word must match, in any field and any case: the word in the text, the period in the title.
    results = _search(page, f"{word.upper()}   {FIRST.lower()}")
    hrefs = [results.nth(i).get_attribute("href") for i in range(results.count())]
    assert hrefs and all(h.startswith(f"../{FIRST}/") for h in hrefs), hrefs
    first = results.first
    assert FIRST in first.locator(".rr-search-hit").inner_text()
    assert word.lower() in [m.lower() for m in first.locator(".rr-search-snippet mark").all_inner_texts()]
    first.click()
    page.wait_for_load_state("load")
    assert page.url.startswith((archive / FIRST).resolve().as_uri() + "/"), page.url
    assert FIRST in page.title() and word.lower() in page.inner_text("main").lower()
    assert visit.errors == [] and visit.dialogs == [] and visit.outside == []
    visit.close()


@needs_chromium
def test_at_most_20_results_enter_opens_the_first_and_escape_clears(browser, archive):
    entries = search.read_index(archive)
    visit = FileVisit(browser, archive)
    page = visit.open("index.html")  # the landing page: the index is beside it, not one folder up
    matching = sum("the" in _haystack(e) for e in entries)
    assert matching > 20
    results = _search(page, "THE")
    assert results.count() == 20
    assert page.locator(".rr-search-status").inner_text() == f"The first 20 of {matching} results."
    page.keyboard.press("Escape")
    assert page.get_by_label("Search all periods").input_value() == ""
    assert results.count() == 0 and page.locator(".rr-search-status").inner_text() == ""
    # A word in the title ranks the page that is about it first; of equals, the newest period's first.
    results = _search(page, "methodology")
    assert results.count() == sum("methodology" in _haystack(e) for e in entries)
    expected = results.first.get_attribute("href")
    assert expected == f"{SECOND}/methodology.html", expected
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{archive.resolve().as_uri()}/{expected}"
    assert visit.errors == [] and visit.outside == []
    visit.close()


@needs_chromium
def test_customer_text_in_results_stays_text(browser, archive):
    visit = FileVisit(browser, archive)
    page = visit.open(f"{FIRST}/nps.html")
    results = _search(page, "onerror=alert")
    assert results.count() >= 1
    snippets = page.locator(".rr-search-results").inner_text()
    assert "<script>alert(1)</script><img src=x onerror=alert(2)>" in snippets
    assert page.locator(".rr-search-results img, .rr-search-results script").count() == 0
    page.wait_for_timeout(200)
    assert visit.dialogs == [] and visit.errors == []
    visit.close()


@needs_chromium
def test_results_link_only_inside_the_site(browser, archive, tmp_path):
    for name in ["index.html", "search.js", "site.css", "vega-bundle.js"]:
        shutil.copyfile(archive / name, tmp_path / name)
    hostile = ["javascript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "\x01javascript:alert(1)",
               "JavaScript:alert(1)#x", "https://example.org/x.html", "//example.org/x.html", "/etc/passwd",
               "..\\x.html", ""]
    search.write_index(tmp_path, [_entry(href, "needle", title=f"bad {i}") for i, href in enumerate(hostile)] +
                       [_entry("2024-Q1/nps.html#Why:-the-reasons", "needle", title="good")])
    visit = FileVisit(browser, tmp_path)
    page = visit.open("index.html")  # the landing page: no "../" before the href to make it relative
    results = _search(page, "needle")
    assert [results.nth(i).get_attribute("href") for i in range(results.count())] == ["2024-Q1/nps.html#Why:-the-reasons"]
    assert visit.dialogs == []
    visit.close()


@needs_chromium
def test_no_results_and_results_fit_a_phone(browser, archive):
    visit = FileVisit(browser, archive, width=390)
    page = visit.open(f"{SECOND}/cohorts.html")
    _search(page, "zzqx-nothing-like-this")
    assert page.locator(".rr-search-status").inner_text() == "No results."
    _search(page, "retention")
    layout = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, width: window.innerWidth,"
                           " list: document.querySelector('.rr-search-results').getBoundingClientRect().right})")
    assert layout["scroll"] <= layout["width"] and layout["list"] <= layout["width"], layout
    visit.close()


@needs_chromium
def test_the_index_script_evaluates_to_the_same_list_and_stays_inert_inline(browser, tmp_path):
    search.write_index(tmp_path, TRICKY)
    script = (tmp_path / "search-index.js").read_text(encoding="utf-8")
    page = browser.new_page()
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    # Even pasted inside an inline <script>, the index cannot close it.
    page.set_content(f"<!DOCTYPE html><html><head><script>{script}</script></head><body></body></html>")
    assert page.evaluate("window.rrSearchIndex") == TRICKY
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.scripts.length") == 1 and dialogs == []
    page.close()


# ---------------------------------------------------------------- Quarto, where it is installed

@pytest.fixture
def http_site():
    servers = []

    def _serve(site: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(site))
        httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        servers.append(httpd)
        return f"http://127.0.0.1:{httpd.server_address[1]}"

    yield _serve
    for httpd in servers:
        httpd.shutdown()


@needs_chromium
@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not on PATH")
def test_quartos_search_finds_a_page_of_the_first_period_after_the_second_was_built(browser, sample_data,
                                                                                      tmp_path, http_site):
    site = _build_two_periods(sample_data, tmp_path, use_quarto=True)
    entries = search.read_index(site)
    assert {e["href"].split("#")[0] for e in entries} >= {
        p for p in _site_pages(site) if p.split("/")[0] in (FIRST, SECOND) or p == "index.html"}
    assert any(e["href"].startswith(f"{FIRST}/") for e in entries)
    word = unique_word(entries, FIRST)
    base = http_site(site)
    page = browser.new_page()
    page.goto(f"{base}/{SECOND}/index.html", wait_until="networkidle")
    # Quarto's search (quarto-search.js): its window.quartoOpenSearch opens the box, `.aa-Input` is its input
    # and each result a `.search-result-link`.
    page.evaluate("window.quartoOpenSearch()")
    page.locator(".aa-Input").fill(word)
    link = page.locator(f'a.search-result-link[href*="{FIRST}/"]').first
    link.wait_for(timeout=15000)
    link.click()
    page.wait_for_load_state("load")
    assert f"/{FIRST}/" in page.url and word.lower() in page.inner_text("main").lower()
    page.close()
