"""Incremental builds: an unchanged rebuild reuses every stage and leaves identical outputs; a changed notebook
re-runs alone with the render; a changed export re-runs everything; --force re-runs all."""

import hashlib
import shutil
from pathlib import Path

import nbformat
import pytest

from conftest import customer, order, write_exports
from retention_report import cache, execute, pipeline, render
from retention_report.periods import parse_period


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def project(tmp_path, monkeypatch):
    data = write_exports(
        tmp_path / "data",
        customers=[customer(f"c{i}", "2024-01-01") for i in range(6)],
        orders=[order(f"o{i}", f"c{i % 6}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(18)],
    )
    notebooks = tmp_path / "notebooks"
    shutil.copytree(execute.NOTEBOOKS_DIR, notebooks)
    monkeypatch.setattr(execute, "NOTEBOOKS_DIR", notebooks)

    def build(period="2024-Q1", **options):
        return pipeline.Build(parse_period(period), data, tmp_path / "out" / "_site", build_root=tmp_path / "build",
                              use_quarto=False, **options).run()

    return build, data, notebooks


def all_stages() -> list[str]:
    return ["warehouse"] + [f"notebook {spec.notebook}" for spec in render.site_declaration()[1]] + ["render", "publish"]


def test_an_unchanged_rebuild_reuses_every_stage_and_leaves_identical_outputs(project):
    build, _, _ = project
    first = build()
    assert first.reused == []
    assert [name for name, _ in first.timings] == all_stages()
    site, outputs = snapshot(first.site), snapshot(first.build_dir)

    second = build()
    assert second.reused == all_stages()
    assert [name for name, _ in second.timings] == all_stages()
    assert second.renderer == first.renderer == "nbconvert"
    assert snapshot(second.site) == site
    # The build folder is unchanged too, but for the records of what was reused.
    changed = {name for name, digest in snapshot(second.build_dir).items() if outputs.get(name) != digest}
    assert changed <= {"stages.json", "params.yaml"}


def test_a_changed_notebook_reruns_only_itself_and_the_render(project):
    build, _, notebooks = project
    first = build()
    tables = snapshot(first.build_dir / "data")
    nb = nbformat.read(notebooks / "40_data_quality.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("A note added by an analyst."))
    nbformat.write(nb, notebooks / "40_data_quality.ipynb")

    second = build()
    ran = [name for name in all_stages() if name not in second.reused]
    assert ran == ["notebook 40_data_quality.ipynb", "render", "publish"]
    assert "A note added by an analyst." in (second.site / "2024-Q1" / "data-quality.html").read_text()
    # Every notebook's tables are still there (the reused ones' included).
    assert snapshot(second.build_dir / "data") == tables


def test_a_changed_export_reruns_everything_and_force_reruns_all(project):
    build, data, _ = project
    build()
    write_exports(data, orders=[order(f"o{i}", f"c{i % 6}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00")
                                for i in range(18)] + [order("o99", "c1", "2024-03-20 10:00:00")])
    assert build().reused == []
    assert build().reused == all_stages()
    forced = build(force=True)
    assert forced.reused == []
    assert [name for name, _ in forced.timings] == all_stages()


def test_the_publish_reruns_when_the_site_is_missing_or_another_period_changed_it(project):
    """A period's pages are rendered once; publishing puts them into the site as it is then (so it reruns when
    the site changed), and fills in the navigation of every period from the periods present."""
    build, _, _ = project
    first = build("2024-Q1")
    shutil.rmtree(first.site)
    again = build("2024-Q1")
    assert [name for name in all_stages() if name not in again.reused] == ["publish"]
    assert (again.site / "2024-Q1" / "cohorts.html").exists()

    build("2024-02")  # publishes a site that now lists 2024-02 too, 2024-Q1's pages linking to it
    assert 'href="../2024-02/' in (first.site / "2024-Q1" / "cohorts.html").read_text()
    third = build("2024-Q1")
    assert [name for name in all_stages() if name not in third.reused] == ["publish"]
    assert 'href="../2024-02/' in (third.site / "2024-Q1" / "cohorts.html").read_text()
    assert "publish" in build("2024-Q1").reused  # and nothing changed since: nothing to publish


def test_a_code_change_changes_the_key(tmp_path, monkeypatch):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "render.py").write_text("A = 1\n")
    monkeypatch.setattr(cache, "PACKAGE_DIR", package)
    before = cache.code_version("render.py")
    (package / "render.py").write_text("A = 2\n")
    assert cache.code_version("render.py") != before


def test_file_hashes_follow_content_and_are_remembered(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    memo = tmp_path / "hashes.json"
    hashes = cache.FileHashes(memo)
    first = hashes.file(path)
    hashes.save()
    assert cache.FileHashes(memo).file(path) == first
    path.write_text("a\n2\n")
    assert cache.FileHashes(memo).file(path) != first
