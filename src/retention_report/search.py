"""One search index for the whole archive, on both renderers.

Quarto writes `<site>/search.json` for the pages it renders, and it renders only the period being built, so
after each build the index is merged here: the period just rendered, the other periods' entries from the old
site's index (or, for an archive built before there was one, read from their pages), the landing page. The
entries are Quarto's own format (Quarto's search reads the file from the site root):

    {"objectID": "2024-Q2/cohorts.html#Segments", "href": "2024-Q2/cohorts.html#Segments",
     "title": "Cohort retention · 2024-Q2", "section": "Segments", "text": "..."}

`href` is relative to the site root; a page has one entry per level-2 section and one, without an anchor, for
the text before its first section (or for the whole page when it has none). As in Quarto's index, `text` is
HTML with `<`, `>` (and here `&`) escaped, because Quarto's search puts it into its result list as HTML;
`title` and `section` are plain text. No `crumbs`: Quarto writes them only for sites with a sidebar.

The fallback pages search the same entries with `search.js`, loaded from `search-index.js` (a classic script,
since a browser refuses `fetch()` of a file from `file://`).
"""

from __future__ import annotations

import html
import json
import re
import shutil
import sys
from importlib import resources
from pathlib import Path
from typing import Sequence

from bs4 import BeautifulSoup, NavigableString, Tag
from bs4.element import PreformattedString

INDEX_JSON = "search.json"
INDEX_SCRIPT = "search-index.js"
SEARCH_SCRIPT = "search.js"

# Elements whose text a reader never sees as text.
_INVISIBLE = {"script", "style", "template", "noscript"}
# Elements that break a line: their text is kept apart from the neighbours' (a table's cells, a list's items).
_BLOCKS = {"address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "div", "dl", "dt",
           "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main",
           "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
           "ul"}
_SPACE = re.compile(r"\s+")


def _collapse(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _page_title(soup: BeautifulSoup) -> tuple[str, Tag | None]:
    """The page's title and the element holding it: the fallback's heading, Quarto's title block, the first
    heading of the content, else the document's <title>."""
    for found in (soup.select_one("h1.rr-title"), soup.select_one("h1.title"), soup.select_one("main h1"),
                  soup.title):
        if found is not None and found.get_text(strip=True):
            return _collapse(found.get_text()), found
    return "", None


def _anchor(heading: Tag) -> str | None:
    """nbconvert puts the id on the h2; Pandoc (Quarto) on the `section.level2` around it."""
    if heading.get("id"):
        return heading["id"]
    parent = heading.parent
    if parent is not None and parent.name == "section" and parent.get("id") and \
            parent.find("h2") is heading:
        return parent["id"]
    return None


def page_entries(page_html: str, href: str) -> list[dict]:
    """The search entries of one page (`href`: its path from the site root, e.g. "2024-Q2/nps.html")."""
    soup = BeautifulSoup(page_html, "html.parser")
    title, title_element = _page_title(soup)
    main = soup.select_one("main#content") or soup.find("main") or soup.body or soup
    # Not content: the title (it is the entries' title), Quarto's title block and table of contents, the
    # pilcrow link nbconvert adds to headings.
    if title_element is not None and title_element.name != "title":
        title_element.decompose()
    for junk in main.select("#title-block-header, nav[role=doc-toc], a.anchor-link"):
        junk.decompose()

    sections: list[dict] = [{"anchor": None, "section": "", "parts": []}]

    def walk(node: Tag) -> None:
        for child in node.children:
            if isinstance(child, PreformattedString):
                continue  # comments, CDATA, doctype, processing instructions
            if isinstance(child, NavigableString):
                sections[-1]["parts"].append(str(child))
                continue
            if not isinstance(child, Tag) or child.name in _INVISIBLE:
                continue
            # A section starts at an h2 one can link to; one without an anchor (the landing page's period
            # cards) stays text of the section it is in, so every entry has its own href.
            anchor = _anchor(child) if child.name == "h2" else None
            if anchor:
                sections.append({"anchor": anchor, "section": _collapse(child.get_text()), "parts": []})
                continue
            block = child.name in _BLOCKS
            if block:
                sections[-1]["parts"].append(" ")
            walk(child)
            if block:
                sections[-1]["parts"].append(" ")

    walk(main)
    entries = []
    for position, part in enumerate(sections):
        text = _collapse("".join(part["parts"]))
        # The text before the first section is indexed only if there is some; a section even if empty,
        # since its heading can be searched.
        if position == 0 and not text and len(sections) > 1:
            continue
        target = f"{href}#{part['anchor']}" if part["anchor"] else href
        entries.append({"objectID": target, "href": target, "title": title, "section": part["section"],
                        "text": html.escape(text, quote=False)})
    return entries


def _page_sort_key(page_order: Sequence[str]):
    order = {name: i for i, name in enumerate(page_order)}
    return lambda path: (order.get(path.stem, len(order)), path.name)


def period_entries(site: Path, period: str, page_order: Sequence[str] = ()) -> list[dict]:
    """Entries of every page of one period's folder, read from its HTML (pages in `page_order`, by page name,
    then the rest by file name)."""
    folder = Path(site) / period
    pages = sorted(folder.glob("*.html"), key=_page_sort_key(page_order))
    return [entry for page in pages
            for entry in page_entries(page.read_text(encoding="utf-8"), f"{period}/{page.name}")]


def _path(entry: dict) -> str:
    return entry["href"].split("#", 1)[0]


def _is_root(entry: dict) -> bool:
    return "/" not in _path(entry)


def _in_period(entry: dict, period: str) -> bool:
    return entry["href"].startswith(f"{period}/")


def read_index(site: Path | None) -> list[dict]:
    """The entries of a site's `search.json`: none if the site, or the file, is missing or unreadable (then
    the pages are read again), and only entries with a string `href`."""
    if site is None:
        return []
    path = Path(site) / INDEX_JSON
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:
        print(f"retention-report: {path} is unreadable ({exc}); its periods are indexed from their pages",
              file=sys.stderr)
        return []
    if not isinstance(loaded, list):
        return []
    return [e for e in loaded if isinstance(e, dict) and isinstance(e.get("href"), str)]


def merge_index(site: Path, periods: list[str], previous: list[dict], fresh: dict[str, list[dict]],
                page_order: Sequence[str] = ()) -> list[dict]:
    """The site-wide index: the landing page's entries (`fresh[""]`, else the root-level ones of `previous`),
    then, for each of `periods` in its order, `fresh[period]`, else the entries of `previous` under
    `<period>/`, else the period's pages read from `site`. Entries of any other period are dropped."""
    merged: list[dict] = list(fresh[""]) if "" in fresh else [e for e in previous if _is_root(e)]
    for period in periods:
        if period in fresh:
            merged += fresh[period]
            continue
        kept = [e for e in previous if _in_period(e, period)]
        merged += kept if kept else period_entries(site, period, page_order)
    return merged


def _script_safe(text: str) -> str:
    # Inert as a script's content wherever it is put: no `</script>` or `<!--` can form, and U+2028/2029 (line
    # ends to older JavaScript parsers) are escaped. Every replacement is still valid JSON.
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def write_index(site: Path, entries: list[dict]) -> None:
    """`search.json` (Quarto's search reads it) and `search-index.js` (the fallback's, as a classic script)."""
    site = Path(site)
    (site / INDEX_JSON).write_text(json.dumps(entries, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (site / INDEX_SCRIPT).write_text(
        "window.rrSearchIndex = " + _script_safe(json.dumps(entries, ensure_ascii=False)) + ";\n", encoding="utf-8")


def write_assets(site: Path) -> None:
    """The fallback's search box script, beside the index."""
    source = resources.files("retention_report") / "templates" / SEARCH_SCRIPT
    with resources.as_file(source) as path:
        shutil.copyfile(path, Path(site) / SEARCH_SCRIPT)


def update_site_index(site: Path, old_site: Path | None, period: str, periods: list[str], renderer: str,
                      page_order: Sequence[str] = ()) -> None:
    """After `period` was rendered into `site`: write the index of every period in `periods`. On Quarto the
    fresh entries are those of the `search.json` Quarto just wrote (this period and the landing page), on the
    fallback those of the rendered pages; the other periods' come from `old_site`'s index."""
    site = Path(site)
    if renderer == "quarto":
        rendered = read_index(site)
        fresh = {period: [e for e in rendered if _in_period(e, period)], "": [e for e in rendered if _is_root(e)]}
    else:
        landing = site / "index.html"
        fresh = {period: period_entries(site, period, page_order),
                 "": page_entries(landing.read_text(encoding="utf-8"), "index.html") if landing.exists() else []}
    write_index(site, merge_index(site, periods, read_index(old_site), fresh, page_order))
    write_assets(site)

