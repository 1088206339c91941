"""The site layout both renderers promise, checked on the nbconvert fallback; the Quarto path runs
only where `quarto` is on PATH."""

import re
import shutil
from pathlib import Path

import pytest

from conftest import SAMPLE_PERIOD
from retention_report import render

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


def test_landing_page_lists_the_period_with_its_headline_figures(sample_site):
    landing = (sample_site.site / "index.html").read_text(encoding="utf-8")
    assert f'href="{SAMPLE_PERIOD}/index.html"' in landing
    nps = (sample_site.build_dir / "data" / "nps_summary.csv").read_text().splitlines()[1].split(",")
    assert f"{float(nps[4]):+.0f} ({float(nps[5]):+.0f} to {float(nps[6]):+.0f})" in landing


@pytest.mark.skipif(shutil.which("quarto") is None, reason="quarto is not on PATH on this machine")
def test_quarto_renders_the_same_layout_offline(sample_site, tmp_path):
    out = tmp_path / "quarto_out"
    renderer = render.assemble_site(sample_site.build_dir, SAMPLE_PERIOD, None, out, work=tmp_path / "quarto_work",
                                    use_quarto=True)
    assert renderer == "quarto"
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
