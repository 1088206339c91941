"""The site layout both renderers promise, checked on the nbconvert fallback; the Quarto path runs
only where `quarto` is on PATH."""

import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml

from conftest import SAMPLE_PERIOD
from retention_report import charts, render

EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
PAGE_NAMES = [spec.page for spec in render.site_declaration()[1]]
CHART_PAGES = ["cohorts", "nps", "touchpoints"]


def test_the_site_has_the_promised_layout(sample_site):
    site = sample_site.site
    assert (site / "index.html").is_file() and (site / "vega-bundle.js").is_file()
    period = site / SAMPLE_PERIOD
    for page in ["index", *PAGE_NAMES]:
        assert (period / f"{page}.html").is_file(), page
    for table in ["cohort_retention", "nps_summary", "touchpoint_coverage"]:
        assert (period / "data" / f"{table}.csv").is_file(), table
    header = (period / "data" / "cohort_retention.csv").read_text().splitlines()[0]
    assert header.startswith("cohort,months_since_first,cohort_customers,active_customers,retention_rate")
    assert (period / "data" / "nps_summary.csv").read_text().splitlines()[0] == \
        "responses,promoters,passives,detractors,nps,ci_low,ci_high"


def test_no_page_loads_anything_from_outside_the_site(sample_site):
    for page in sample_site.site.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(text), f"{page} references an outside URL"
        assert "require.js" not in text and "mathjax" not in text.lower() and "@import" not in text
    assert not EXTERNAL.search((sample_site.site / "site.css").read_text())


def test_every_page_links_the_site_bundle_once_and_every_chart_embeds(sample_site):
    period = sample_site.site / SAMPLE_PERIOD
    for page in PAGE_NAMES:
        text = (period / f"{page}.html").read_text(encoding="utf-8")
        assert text.count('<script src="../vega-bundle.js"></script>') == 1
        divs = re.findall(r'id="(chart-[0-9a-f]{12})"', text)
        assert divs or page not in CHART_PAGES, f"{page} has no chart"
        for chart_id in divs:
            assert f'vegaEmbed("#{chart_id}"' in text
        assert "```{=html}" not in text  # raw blocks were turned into HTML, not shown as code


def test_code_cells_and_papermill_parameters_are_not_on_the_pages(sample_site):
    text = (sample_site.site / SAMPLE_PERIOD / "cohorts.html").read_text(encoding="utf-8")
    assert "read_mart(" not in text and "params_file" not in text and "injected-parameters" not in text


def test_links_between_pages_resolve(sample_site):
    site = sample_site.site
    for page in site.rglob("*.html"):
        for link in re.findall(r'href="(?!data:)([^"#]+)"', page.read_text(encoding="utf-8")):
            target = (page.parent / link).resolve()
            assert target.exists(), f"{page.relative_to(site)} links to missing {link}"


def test_the_summary_lists_every_analysis_of_the_site(sample_site):
    """"The analyses" on the summary links every page reports/site.yml declares, under its title."""
    text = (sample_site.site / SAMPLE_PERIOD / "index.html").read_text(encoding="utf-8")
    listed = text[text.index("The analyses"):]
    for spec in render.site_declaration()[1][1:]:
        assert f'href="{spec.page}.html">{spec.title}</a>' in listed, spec.page


def test_landing_page_lists_the_period_with_its_headline_figures(sample_site):
    landing = (sample_site.site / "index.html").read_text(encoding="utf-8")
    assert f'href="{SAMPLE_PERIOD}/index.html"' in landing
    nps = (sample_site.build_dir / "data" / "nps_summary.csv").read_text().splitlines()[1].split(",")
    assert f"{float(nps[4]):+.0f} ({float(nps[5]):+.0f} to {float(nps[6]):+.0f})" in landing


@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not on PATH on this machine")
def test_quarto_renders_the_same_layout_offline(sample_site, tmp_path):
    out, rendered = tmp_path / "quarto_out", tmp_path / "quarto_rendered"
    renderer = render.render_period(sample_site.build_dir, SAMPLE_PERIOD, rendered, work=tmp_path / "quarto_work",
                                    use_quarto=True)
    assert renderer == "quarto"
    render.assemble_site(rendered, SAMPLE_PERIOD, None, out)
    assert (out / "index.html").is_file() and (out / "vega-bundle.js").is_file()
    for page in PAGE_NAMES:
        assert (out / SAMPLE_PERIOD / f"{page}.html").is_file(), page
    assert (out / SAMPLE_PERIOD / "data" / "nps_summary.csv").is_file()
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(text), f"{page} references an outside URL"
        assert "require.min.js" not in text and "jquery" not in text.lower(), page
    for page in CHART_PAGES:
        text = (out / SAMPLE_PERIOD / f"{page}.html").read_text(encoding="utf-8")
        assert re.findall(r'id="(chart-[0-9a-f]{12})"', text) and "vega-bundle.js" in text, page


def test_page_cells_keep_only_what_a_reader_should_see():
    import nbformat

    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("x")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="a warning"),
        nbformat.v4.new_output("execute_result", data={"text/plain": "PosixPath('/secret/build')"}, execution_count=1),
        nbformat.v4.new_output("display_data", data={"text/markdown": "**42%** stayed", "text/plain": "42"}),
        nbformat.v4.new_output("error", ename="E", evalue="v", traceback=[]),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nIntro."), nbformat.v4.new_code_cell("import x"), code]
    cells = render.page_cells(nb).cells
    assert [c.cell_type for c in cells] == ["markdown", "code"]
    assert cells[0].source == "Intro."
    assert [o.data for o in cells[1].outputs] == [{"text/markdown": "**42%** stayed"}]


# URLs a file of the site may hold although they point outside it, and why no browser ever fetches them.
XML_NAMESPACES = {"http://www.w3.org/2000/svg", "http://www.w3.org/1999/xlink", "http://www.w3.org/2000/xmlns/"}
BUNDLE_STRINGS = {
    "https://vega.github.io/schema/vega/v6.json",  # the `$schema` of a compiled Vega spec: an identifier
    "https://vega.github.io/editor/",  # the 'Open in Vega Editor' action, switched off (charts.EMBED_OPTIONS)
    "https://github.com/vega/vega-lite/issues/2415",  # inside an error message's text
}
ANY_URL = re.compile(r"https?://[^\s\"'`()<>\\]+")


def test_no_file_of_the_site_holds_an_outside_url(sample_site):
    """Not only src/href: fonts, CSS imports, icons and strings in scripts. The only URLs left are XML
    namespaces, and in the Vega bundle three strings that are never requested (listed above)."""
    for path in sorted(p for p in sample_site.site.rglob("*") if p.is_file()):
        found = set(ANY_URL.findall(path.read_text(encoding="utf-8", errors="replace"))) - XML_NAMESPACES
        allowed = BUNDLE_STRINGS if path.name == "vega-bundle.js" else set()
        assert found <= allowed, f"{path.relative_to(sample_site.site)}: {sorted(found - allowed)}"


def test_every_notebook_output_is_markdown_so_quarto_injects_no_cdn_script(sample_site):
    for spec in render.site_declaration()[1]:
        notebook = nbformat.read(sample_site.build_dir / spec.notebook, as_version=4)
        kinds = {kind for cell in notebook.cells if cell.cell_type == "code"
                 for out in cell.get("outputs", []) for kind in out.get("data", {})}
        assert "text/html" not in kinds and "application/javascript" not in kinds, spec.notebook


def test_charts_use_the_renderer_registered_with_altair():
    import altair as alt

    charts.enable()
    assert alt.renderers.active == charts.RENDERER and alt.theme.active == charts.THEME
    chart = alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x", y="y") \
        .properties(description="A rising line")
    bundle = chart._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    assert set(bundle) == {f"application/vnd.vegalite.v{charts.vega_lite_version().split('.')[0]}+json",
                           "text/markdown", "text/plain"}
    block = bundle["text/markdown"]
    assert block.startswith("```{=html}\n<figure") and re.search(r'<div id="chart-[0-9a-f]{12}"', block)
    assert 'vegaEmbed("#chart-' in block and '"mode": "vega-lite"' in block
    assert "$schema" not in block and "http" not in block
    assert 'aria-label="A rising line"' in block and ">A rising line</figcaption>" in block


def test_every_table_has_header_cells_and_every_chart_a_description(sample_site):
    for page in sorted((sample_site.site / SAMPLE_PERIOD).glob("*.html")):
        text = page.read_text(encoding="utf-8")
        for table in re.findall(r"<table.*?</table>", text, re.DOTALL):
            assert re.search(r"<thead>.*?<th", table, re.DOTALL), f"{page.name}: a table without header cells"
        # (nbconvert writes attributes in its own order)
        figures = re.findall(r'<figure(?=[^>]*class="rr-chart")[^>]*aria-label="([^"]*)"[^>]*>.*?'
                             r'<figcaption[^>]*>(.*?)</figcaption>', text, re.DOTALL)
        assert len(figures) == text.count("vegaEmbed("), page.name
        for label, caption in figures:
            assert len(label) > 20 and label != "Chart" and caption == label, f"{page.name}: {label!r}"


def test_the_methodology_page_states_the_params_in_force_and_the_data_range(sample_site):
    params = yaml.safe_load((sample_site.build_dir / "params.yaml").read_text())
    text = (sample_site.site / SAMPLE_PERIOD / "methodology.html").read_text(encoding="utf-8")
    table = pd.read_csv(sample_site.site / SAMPLE_PERIOD / "data" / "methodology_parameters.csv").set_index("parameter")
    for name in ["churn_after_days", "min_sample", "welcome_within_days", "nps_ci_method", "cohort_by",
                 "retention_mode", "timezone"]:
        assert str(table.loc[name, "value"]) == str(params[name]), name
        assert name in text
    assert table.loc["confidence level", "value"] == "95%"
    assert f"from {params['data_first_day']} to {params['data_last_day']}" in text
    assert "2024-04-01 to 2024-06-30" in text
    for category, kinds in params["touchpoint_categories"].items():
        assert category in text and ", ".join(kinds) in text
    for heading in ["Definitions", "Caveats", "Summary cards", "observational, not an experiment"]:
        assert heading in text, heading


def test_the_data_quality_page_counts_every_export_and_names_each_check(sample_site, sample_data):
    data = sample_site.site / SAMPLE_PERIOD / "data"
    text = (sample_site.site / SAMPLE_PERIOD / "data-quality.html").read_text(encoding="utf-8")
    exports = pd.read_csv(data / "data_quality_exports.csv").set_index("export")
    for export in ["customers", "orders", "nps_responses", "touchpoints", "support_tickets", "events"]:
        lines = sum(1 for _ in (sample_data / f"{export}.csv").open(encoding="utf-8")) - 1
        row = exports.loc[export]
        assert row.rows_read == lines and row.rows_staged + row.rows_set_aside == row.rows_read, export
        assert f"{row.rows_read:,}" in text
    checks = pd.read_csv(data / "data_quality_checks.csv").set_index("check")
    reasons = pd.read_csv(data / "data_quality_reasons.csv")
    assert checks.loc["duplicate ids", "rows_set_aside"] == \
        reasons[reasons.reason.str.startswith("duplicate")].rows_set_aside.sum() > 0
    assert checks.loc["orders of unknown customers", "rows_set_aside"] == \
        reasons[(reasons.export == "orders") & (reasons.reason == "unknown customer")].rows_set_aside.sum() > 0
    assert checks.loc["NPS scores outside 0-10", "rows_set_aside"] == \
        reasons[reasons.reason == "score outside 0-10"].rows_set_aside.sum() > 0
    assert checks.loc["tickets and events of unknown customers", "rows_set_aside"] == 2
    assert checks.loc["tickets answered or resolved before they were raised", "rows_set_aside"] == 1
    assert "0.00%" not in text  # a non-zero count is never rounded away
    assert "personal data redacted" in text and "first day" in text and "last day" in text  # plain headers
    assert "first_day" not in text and "rows_set_aside" not in text


def test_each_period_page_links_the_other_pages_of_its_period(sample_site):
    pages = render.site_declaration()[1]
    for spec in pages:
        text = (sample_site.site / SAMPLE_PERIOD / f"{spec.page}.html").read_text(encoding="utf-8")
        nav = re.search(r'<nav aria-label="Pages of this period" class="rr-pages">(.*?)</nav>', text, re.DOTALL)
        assert nav, spec.page
        assert re.findall(r'href="([^"]+)"', nav[1]) == [f"{other.page}.html" for other in pages]
        assert re.findall(r'href="([^"]+)" aria-current="page"', nav[1]) == [f"{spec.page}.html"]


def _marked_page(title: str, body: str = "") -> str:
    # What Quarto writes for a page: the include-before-body marker at the top of the body and the
    # include-after-body footer at its end (reports/_quarto.yml).
    return (f"<html><body>\n{render.marker('periods')}\n<h1>{title}</h1>{body}"
            f"<footer class=\"rr-footer\">{render.marker('built')}</footer></body></html>")


def test_navigation_fills_quarto_pages_the_same_way(tmp_path):
    """Quarto's pages get their navigation from the same marker block as the fallback's: the other pages of
    the period, the same page of every period, and previous / next."""
    periods = ["2024-Q3", "2024-Q2", "2024-Q1"]
    for period in periods:
        (tmp_path / period).mkdir()
        for spec in render.site_declaration()[1]:
            (tmp_path / period / f"{spec.page}.html").write_text(_marked_page(spec.title), encoding="utf-8")
    render.refresh_period_navigation(tmp_path, periods)
    middle = (tmp_path / "2024-Q2" / "nps.html").read_text(encoding="utf-8")
    assert 'href="../2024-Q1/nps.html" rel="prev"' in middle and 'href="../2024-Q3/nps.html" rel="next"' in middle
    assert 'href="cohorts.html"' in middle and 'href="nps.html" aria-current="page"' in middle
    assert '<strong aria-current="true">2024-Q2</strong>' in middle
    oldest = (tmp_path / "2024-Q1" / "index.html").read_text(encoding="utf-8")
    assert 'rel="prev"' not in oldest and 'href="../2024-Q2/index.html" rel="next"' in oldest
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.html")}
    render.refresh_period_navigation(tmp_path, periods)  # idempotent: a second pass changes nothing
    assert before == {p: p.read_bytes() for p in tmp_path.rglob("*.html")}


def test_the_quarto_project_is_configured_for_an_offline_site():
    """What reports/_quarto.yml must hold (Quarto is not installed here: checked against QUARTO.md and the
    Quarto documentation, not by rendering)."""
    config = yaml.safe_load((render.REPORTS_DIR / "_quarto.yml").read_text(encoding="utf-8"))
    project, html = config["project"], config["format"]["html"]
    assert project["type"] == "website" and project["output-dir"] == "_site"
    assert project["render"] == ["index.qmd", "*/*.ipynb"] and project["resources"] == ["vega-bundle.js"]
    assert html["theme"] in {"default", "cerulean", "litera", "pulse", "quartz", "slate"}  # no web fonts
    assert html["html-math-method"] == "mathml"  # no MathJax from a CDN
    assert not html.get("embed-resources") and not html.get("self-contained")
    assert [item["text"].strip() for item in html["include-in-header"]] == ['<script src="/vega-bundle.js"></script>']
    assert [item["text"].strip() for item in html["include-before-body"]] == [render.marker("periods")]
    assert [item["text"].strip() for item in html["include-after-body"]] == [
        f'<footer class="rr-footer">{render.marker("built")}</footer>']
    assert config["website"]["search"] is True  # Quarto's own offline index, not Algolia
    for third_party in ["google-analytics", "comments", "cookie-consent", "twitter-card", "open-graph"]:
        assert third_party not in config["website"], third_party
    assert "ipynb-filters" not in config.get("execute", {}) and config["execute"]["echo"] is False


def test_the_quarto_path_assembles_the_project_quarto_renders(sample_site, tmp_path, monkeypatch):
    """Everything up to `quarto render` (which cannot run here): the project Quarto is given, and what is
    done with its output. A stand-in for Quarto writes the pages where Quarto would."""
    seen = {}

    def fake_quarto(args, **kwargs):
        work = Path(args[-1])
        assert args[:2] == ["quarto", "render"]
        seen["files"] = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
        seen["notebooks"] = {p.stem: nbformat.read(p, as_version=4) for p in (work / SAMPLE_PERIOD).glob("*.ipynb")}
        seen["index"] = (work / "index.qmd").read_text(encoding="utf-8")
        for page in ["index.html", *(f"{SAMPLE_PERIOD}/{p}.html" for p in seen["notebooks"])]:
            (work / "_site" / page).parent.mkdir(parents=True, exist_ok=True)
            landing = render.marker("landing") if page == "index.html" else ""  # index.qmd's raw block
            (work / "_site" / page).write_text(_marked_page(page, landing), encoding="utf-8")
        (work / "_site" / "vega-bundle.js").write_text((work / "vega-bundle.js").read_text())
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(render.subprocess, "run", fake_quarto)
    out, rendered = tmp_path / "out", tmp_path / "rendered"
    renderer = render.render_period(sample_site.build_dir, SAMPLE_PERIOD, rendered, work=tmp_path / "work",
                                    use_quarto=True)
    assert renderer == "quarto"
    render.assemble_site(rendered, SAMPLE_PERIOD, sample_site.site, out)
    assert {"_quarto.yml", "site.css", "vega-bundle.js", "index.qmd"} <= set(seen["files"])
    assert not any(f.endswith(".md") or f.startswith("_site/") for f in seen["files"])
    assert set(seen["notebooks"]) == set(PAGE_NAMES)
    for page, notebook in seen["notebooks"].items():
        first = notebook.cells[0]
        assert first.cell_type == "raw" and first.source.startswith("---\ntitle: ") and SAMPLE_PERIOD in first.source
        kinds = {k for c in notebook.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})}
        assert kinds <= {"text/markdown"}, page  # nothing that would make Quarto inject require.js / jQuery
    assert seen["index"].startswith("---\ntitle: Retention report\n---") and "<h1>" not in seen["index"]
    # The landing page's list is filled in once the site is assembled, from the periods then present.
    assert render.marker("landing") in seen["index"]
    assert f'href="{SAMPLE_PERIOD}/index.html"' in (out / "index.html").read_text(encoding="utf-8")
    footer = (out / SAMPLE_PERIOD / "nps.html").read_text(encoding="utf-8")
    assert re.search(r"Built \d{4}-\d\d-\d\d \d\d:\d\d UTC by retention-report \S+ with the quarto renderer", footer)
    # The same layout as the fallback: pages, CSV downloads, one bundle, navigation filled in.
    for page in ["index", *PAGE_NAMES]:
        text = (out / SAMPLE_PERIOD / f"{page}.html").read_text(encoding="utf-8")
        assert 'aria-label="Pages of this period"' in text, page
    assert (out / SAMPLE_PERIOD / "data" / "nps_summary.csv").is_file() and (out / "vega-bundle.js").is_file()


def test_the_summary_cards_mark_only_changes_beyond_their_interval(sample_site):
    """Thirteen cards (three of them the subscriptions'), each with its change against the previous period and a
    year earlier as in summary_kpis.csv; arrow and colour exactly where the CSV says the change is beyond its
    interval."""
    text = (sample_site.site / SAMPLE_PERIOD / "index.html").read_text(encoding="utf-8")
    summary = pd.read_csv(sample_site.site / SAMPLE_PERIOD / "data" / "summary_kpis.csv")
    assert len(summary) == 13
    marked = 0
    for row in summary.itertuples():
        card = re.search(r'<div(?=[^>]*class="rr-kpi")[^>]*aria-label="' + re.escape(row.kpi) +
                         r'"[^>]*>(.*?)<ul class="rr-kpi-changes">(.*?)</ul>', text, re.DOTALL)
        assert card and re.search(r'<svg[^>]*class="rr-spark"', card[1]), row.kpi  # a trend line
        lines = re.findall(r'<li class="rr-change([^"]*)">(.*?)</li>', card[2], re.DOTALL)
        assert len(lines) == 2, row.kpi
        for (classes, words), key in zip(lines, ["previous", "year_ago"]):
            beyond = bool(getattr(row, f"beyond_interval_vs_{key}"))
            coloured = "rr-good" in classes or "rr-bad" in classes
            arrow = "▲" in words or "▼" in words
            assert coloured == arrow == beyond, (row.kpi, key, classes, words)
            assert ("beyond the 95% interval" in words) == beyond  # said in words too, not only by colour
            marked += beyond
    assert marked > 0
    # Every card's changes have an interval on the sample, net revenue retention's included (a ratio of sums), but
    # MRR's: a total, whose two changes carry none and say so.
    total = summary.kpi == "MRR"
    assert summary[~total][["ci_low_vs_previous", "ci_low_vs_year_ago"]].notna().all().all()
    assert summary[total][["ci_low_vs_previous", "ci_low_vs_year_ago"]].isna().all().all()
    assert text.count("no interval") == 2
    changes = re.search(r"<h2[^>]*>What changed most.*?<ol>(.*?)</ol>", text, re.DOTALL)
    items = re.findall(r"<li>(.*?)</li>", changes[1], re.DOTALL)
    assert len(items) == min(3, summary[["beyond_interval_vs_previous", "beyond_interval_vs_year_ago"]]
                             .any(axis=1).sum())
    assert len({item.split(" rose")[0].split(" fell")[0] for item in items}) == len(items)  # three figures


def _spec(chart) -> dict:
    charts.enable()
    bundle = chart._repr_mimebundle_()
    bundle = bundle[0] if isinstance(bundle, tuple) else bundle
    return next(v for k, v in bundle.items() if k.startswith("application/vnd.vegalite"))


def test_the_theme_never_cuts_a_legend_label():
    import altair as alt

    frame = pd.DataFrame({"x": [1, 2], "y": [3, 4], "g": ["average of all cohorts (customer-weighted)", "b"]})
    spec = _spec(alt.Chart(frame).mark_line().encode(x="x", y="y", color="g"))
    assert spec["config"]["legend"]["labelLimit"] == 0 and spec["config"]["legend"]["titleLimit"] == 0


def test_month_and_quarter_axes_tick_on_whole_numbers_in_layers_and_facets():
    import altair as alt

    frame = pd.DataFrame({"months_since_first": [0, 1, 2], "quarters_since_first": [0, 1, 2], "y": [1, .5, .4],
                          "f": ["a", "a", "b"]})
    line = alt.Chart(frame).mark_line().encode(x=alt.X("months_since_first:Q", title="Months"), y="y:Q")
    spec = _spec((line + line.mark_point()).properties(width=200))
    for layer in spec["layer"]:
        assert layer["encoding"]["x"]["axis"] == {"tickMinStep": 1, "format": "d"}
        assert "axis" not in layer["encoding"]["y"]  # a share's axis keeps its fractions
    kept = _spec(alt.Chart(frame).mark_line().encode(
        x=alt.X("quarters_since_first:Q", axis=alt.Axis(title="Q", format=".1f")), y="y:Q").facet(column="f:N"))
    assert kept["spec"]["encoding"]["x"]["axis"] == {"tickMinStep": 1, "format": ".1f", "title": "Q"}
    off = _spec(alt.Chart(frame).mark_line().encode(x=alt.X("months_since_first:Q", axis=None), y="y:Q"))
    assert off["encoding"]["x"]["axis"] is None
    axis = charts.month_axis(title="Months").to_dict()
    assert axis == {"tickMinStep": 1, "format": "d", "title": "Months"}


def test_one_stylesheet_with_the_charts_font_serves_both_renderers(sample_site):
    """Quarto (after its theme) and the fallback read the same site.css, whose font stack is the charts' font."""
    css = (render.REPORTS_DIR / "site.css").read_text(encoding="utf-8")
    declared = re.search(r"--rr-font:\s*([^;]+);", css)[1]

    def font(value):
        return [part.strip().strip("'\"") for part in value.split(",")]

    assert font(declared) == font(charts.FONT)
    assert "font-family: var(--rr-font)" in css and "font-family: system-ui" not in css  # declared once
    quarto = yaml.safe_load((render.REPORTS_DIR / "_quarto.yml").read_text(encoding="utf-8"))
    assert quarto["format"]["html"]["css"] == "site.css"
    assert (sample_site.site / "site.css").read_text(encoding="utf-8") == css
    page = (sample_site.site / SAMPLE_PERIOD / "cohorts.html").read_text(encoding="utf-8")
    assert page.count('<link rel="stylesheet" href="../site.css">') == 1 and "<style" not in page


def test_every_shown_table_has_plain_words_headers(sample_site):
    """No header reads like a machine column (`median_days_to_welcome`, `months_since_first`); a column that
    held one value on every row (`metric`) is said once, in the caption; days are whole numbers."""
    headers = {}
    for page in sorted((sample_site.site / SAMPLE_PERIOD).glob("*.html")):
        text = page.read_text(encoding="utf-8")
        for head in re.findall(r"<thead>(.*?)</thead>", text, re.DOTALL):
            for cell in re.findall(r"<th[^>]*>(.*?)</th>", head, re.DOTALL):
                headers.setdefault(page.name, set()).add(re.sub(r"<[^>]+>", "", cell).strip())
    machine = {page: sorted(h for h in found if "_" in h) for page, found in headers.items()}
    assert not any(machine.values()), machine
    assert "median time to first welcome (days)" in headers["touchpoints.html"]
    assert "metric" not in headers["touchpoints.html"] and "month since first order" in headers["cohorts.html"]
    touchpoints = (sample_site.site / SAMPLE_PERIOD / "touchpoints.html").read_text(encoding="utf-8")
    assert "metric: welcomed within 7 days" in touchpoints
    table = re.search(r"median time to first welcome \(days\).*?</table>", touchpoints, re.DOTALL)[0]
    assert not re.search(r">\s*\d+\.\d\d\s*<", table)  # 3, not 3.00
    # The downloads keep the machine names and every column.
    header = (sample_site.site / SAMPLE_PERIOD / "data" / "touchpoint_coverage.csv").read_text().splitlines()[0]
    assert header.startswith("metric,segment,customers,covered,rate,ci_low,ci_high")


def test_the_landing_page_says_what_differs_from_the_newest_periods_definitions():
    newest = {"version": "0.2.0", "definitions": "aaaaaaa"}
    note = render.definitions_note
    assert note("2024-Q3", newest, "2024-Q3", newest) is None  # the newest is the reference
    assert note("2024-Q2", dict(newest), "2024-Q3", newest) is None
    assert note("2024-Q2", {"version": "0.2.0", "definitions": "bbbbbbb"}, "2024-Q3", newest) == (
        "Built with other definitions than 2024-Q3 (definitions bbbbbbb, against aaaaaaa): its figures may not compare.")
    assert "retention-report 0.1.0, against 0.2.0" in note("2024-Q2", {"version": "0.1.0", "definitions": "aaaaaaa"},
                                                             "2024-Q3", newest)
    assert note("2024-Q2", None, "2024-Q3", newest).startswith("Built before builds recorded their definitions")
    assert note("2024-Q2", newest, "2024-Q3", None) is None  # nothing to compare with


def test_the_vega_bundle_is_made_once_per_installation_and_kept_whole(tmp_path, monkeypatch):
    """vl-convert's bundle for these versions is kept in the user's cache: the second site gets the same bytes
    without vl-convert making it again; a cache that cannot be written still gives the bundle."""
    import vl_convert

    made = vl_convert.javascript_bundle(vl_version=charts.vega_lite_version())
    calls = []
    monkeypatch.setattr(vl_convert, "javascript_bundle", lambda **kw: calls.append(kw) or made)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = charts.write_vega_bundle(tmp_path).read_bytes()
    assert len(calls) == 1 and first == made.encode("utf-8")
    kept = list((tmp_path / "cache" / "retention-report").iterdir())
    assert [p.name for p in kept] == [f"vega-bundle-vlc{vl_convert.__version__}-vl{charts.vega_lite_version()}.js"]
    (tmp_path / "again").mkdir()
    assert charts.write_vega_bundle(tmp_path / "again").read_bytes() == first and len(calls) == 1
    # Not writable (a file where the folder would be): made each time, never failing the render.
    (tmp_path / "blocked").write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "blocked"))
    assert charts.vega_bundle() == made and len(calls) == 2


def test_pages_render_the_same_with_the_exporter_kept_between_them(sample_site, tmp_path):
    """One exporter serves every page of a process: rendering the pages twice over, serially, gives each page
    what rendering it alone does."""
    _, pages = render.site_declaration()
    sources = [sample_site.build_dir / spec.notebook for spec in pages]
    once = [render._render_body(source) for source in sources]
    assert [render._render_body(source) for source in reversed(sources)] == once[::-1]
    assert len(set(once)) == len(once) and all("<" in body for body in once)
