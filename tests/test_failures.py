"""Nothing lost: --strict, a build killed mid-run, and determinism of two builds."""

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SAMPLE_PERIOD, customer, order, write_exports
from retention_report import pipeline
from retention_report.periods import parse_period


def snapshot(site: Path) -> dict[str, str]:
    return {str(p.relative_to(site)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture
def small_data(tmp_path):
    return write_exports(
        tmp_path / "data",
        customers=[customer(f"c{i}") for i in range(6)] + [customer("c0")],  # one duplicate: set aside
        orders=[order(f"o{i}", f"c{i % 6}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(18)],
    )


def test_strict_fails_before_publishing_when_rows_were_set_aside(small_data, tmp_path):
    site = tmp_path / "site" / "_site"
    build = lambda strict: pipeline.Build(parse_period("2024-Q1"), small_data, site, build_root=tmp_path / "b",
                                          use_quarto=False, strict=strict)
    build(False).run()
    before = snapshot(site)
    with pytest.raises(pipeline.StageError, match=r"--strict: 1 row\(s\) of the exports were set aside"):
        build(True).run()
    assert snapshot(site) == before


def test_a_build_killed_mid_run_leaves_the_site_byte_identical(small_data, tmp_path):
    site = tmp_path / "site" / "_site"
    pipeline.Build(parse_period("2024-Q1"), small_data, site, build_root=tmp_path / "b", use_quarto=False).run()
    before = snapshot(site)
    command = [sys.executable, "-m", "retention_report.cli", "build", "--period", "2024-Q1", "--data", str(small_data),
               "--site", str(site), "--renderer", "nbconvert"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    build_dir = pipeline.BUILD_ROOT / "2024-Q1"
    deadline = time.time() + 60
    # Wait until the notebooks are running, then kill the whole process group at once.
    while time.time() < deadline and process.poll() is None:
        if (build_dir / "params.yaml").exists() and time.time() - (build_dir / "params.yaml").stat().st_mtime < 30:
            break
        time.sleep(0.05)
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert snapshot(site) == before
    # The next build recovers and publishes.
    pipeline.Build(parse_period("2024-Q1"), small_data, site, build_root=tmp_path / "b", use_quarto=False).run()
    assert (site / "2024-Q1" / "index.html").exists()


def test_two_builds_give_identical_tables_and_pages_but_for_the_build_stamp(sample_site, sample_data, tmp_path):
    again = pipeline.Build(parse_period(SAMPLE_PERIOD), sample_data, tmp_path / "site" / "_site",
                           build_root=tmp_path / "build", use_quarto=False).run()
    first, second = sample_site.site / SAMPLE_PERIOD, again.site / SAMPLE_PERIOD
    assert snapshot(first / "data") == snapshot(second / "data")
    stamp = re.compile(r"Built \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC")
    for page in sorted(first.glob("*.html")):
        one, two = (stamp.sub("", p.read_text(encoding="utf-8")) for p in (page, second / page.name))
        assert one == two, page.name
