"""Atomic publish: a build that fails at any stage leaves the published site byte-identical."""

import hashlib
import re
from pathlib import Path

import nbformat
import pytest

from conftest import customer, order, write_exports
from retention_report import execute, pipeline, publish, render
from retention_report.params import load_params
from retention_report.periods import parse_period


def snapshot(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture
def small_build(tmp_path):
    data = write_exports(
        tmp_path / "data",
        customers=[customer(f"c{i}", "2024-01-01") for i in range(6)],
        orders=[order(f"o{i}", f"c{i % 6}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(18)],
    )

    def _build(period="2024-Q1", data_dir=data, force=False, params_file=None):
        return pipeline.Build(parse_period(period), data_dir, tmp_path / "out" / "_site", params_file,
                              build_root=tmp_path / "build", use_quarto=False, force=force).run()

    return _build


def test_publish_swaps_in_a_complete_site_and_recovers_from_a_kill_between_renames(tmp_path):
    site, new = tmp_path / "_site", tmp_path / "new"
    site.mkdir(); (site / "index.html").write_text("old")
    new.mkdir(); (new / "index.html").write_text("new")
    publish.publish(new, site)
    assert (site / "index.html").read_text() == "new" and not new.exists()
    # Killed after moving the old site aside but before moving the new one in: the old one comes back.
    aside = tmp_path / "._site.previous"
    site.rename(aside)
    publish.recover(site)
    assert (site / "index.html").read_text() == "new" and not aside.exists()


def test_failures_at_every_stage_leave_the_published_site_byte_identical(small_build, tmp_path, monkeypatch):
    first = small_build()
    before = snapshot(first.site)
    assert "2024-Q1/cohorts.html" in before

    # Warehouse stage: an export missing a required column.
    broken = write_exports(tmp_path / "broken", customers=[{"customer_id": "c1"}], orders=[])
    with pytest.raises(pipeline.StageError, match="stage 'warehouse' failed: .*required column 'created_at'"):
        small_build(data_dir=broken)
    assert snapshot(first.site) == before

    # Notebook stage: a notebook that raises.
    bad_notebooks = tmp_path / "notebooks"
    bad_notebooks.mkdir()
    for spec in render.site_declaration()[1]:
        text = (execute.NOTEBOOKS_DIR / spec.notebook).read_text()
        (bad_notebooks / spec.notebook).write_text(text)
    broken_nb = nbformat.read(bad_notebooks / "20_nps.ipynb", as_version=4)
    broken_nb.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("injected failure")'))
    nbformat.write(broken_nb, bad_notebooks / "20_nps.ipynb")
    monkeypatch.setattr(execute, "NOTEBOOKS_DIR", bad_notebooks)
    with pytest.raises(pipeline.StageError, match=r"notebook 20_nps.ipynb.*20_nps.ipynb failed in cell .*RuntimeError: injected failure"):
        small_build()
    assert snapshot(first.site) == before
    monkeypatch.undo()

    # Render stage: the renderer dies half-way through writing the new site.
    real = render.render_fallback

    def dies_half_way(build_dir, period, out, reports_dir=render.REPORTS_DIR):
        (out / period / "cohorts.html").write_text("half a page")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(render, "render_fallback", dies_half_way)
    with pytest.raises(pipeline.StageError, match="stage 'render' failed: renderer crashed"):
        small_build()
    assert snapshot(first.site) == before
    monkeypatch.setattr(render, "render_fallback", real)

    # And a good build still swaps a new site in (the same content: builds are deterministic up to the minute).
    inode = first.site.stat().st_ino
    small_build(force=True)
    assert first.site.stat().st_ino != inode


def test_periods_accumulate_and_a_rebuild_replaces_only_its_period(small_build):
    small_build("2024-Q1")
    result = small_build("2024-02")
    site = result.site
    assert (site / "2024-Q1" / "cohorts.html").exists() and (site / "2024-02" / "cohorts.html").exists()
    q1_before = snapshot(site / "2024-Q1")
    small_build("2024-02")
    assert snapshot(site / "2024-Q1") == q1_before
    landing = (site / "index.html").read_text()
    assert landing.index('href="2024-Q1/index.html"') < landing.index('href="2024-02/index.html"')


def test_each_period_names_its_definitions_and_the_landing_page_marks_those_that_differ(small_build, tmp_path):
    def footer(site, period):
        text = (site / period / "nps.html").read_text(encoding="utf-8")
        return re.search(r"by retention-report (\S+) with the nbconvert renderer · definitions ([0-9a-f]{7})", text)

    def card(site, period):
        landing = (site / "index.html").read_text(encoding="utf-8")
        return re.search(rf'<li class="rr-period-card">\s*<h2><a href="{period}/index.html">.*?</li>', landing, re.S)[0]

    site = small_build("2024-01").site
    longer = tmp_path / "longer.yaml"
    longer.write_text("churn_after_days: 120\n")
    small_build("2024-02", params_file=longer)
    january, february = footer(site, "2024-01"), footer(site, "2024-02")
    assert january and february and january[1] == february[1] == render.package_version()
    assert january[2] != february[2]  # one param changed: another short hash
    assert january[2] == pipeline.definitions(load_params("2024-01"))
    assert (f"Built with other definitions than 2024-02 (definitions {january[2]}, against {february[2]}): its "
            f"figures may not compare.") in card(site, "2024-01")
    assert "rr-definitions-changed" not in card(site, "2024-02")  # the newest is the reference
    # Runtime params change how fast, not what: same definitions.
    faster = tmp_path / "faster.yaml"
    faster.write_text("churn_after_days: 120\nnotebook_workers: 1\n")
    small_build("2024-01", params_file=faster)
    assert footer(site, "2024-01")[2] == february[2]
    assert "rr-definitions-changed" not in card(site, "2024-01")
    # The methodology page states the same hash.
    assert f"<code>{february[2]}</code>" in (site / "2024-01" / "methodology.html").read_text(encoding="utf-8")
