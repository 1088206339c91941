"""Builds at the same time, as real processes: the same period (one waits, or with --no-wait stops at once), different
periods into one site (both land, one after the other), and one killed with SIGKILL while the other publishes.
Throughout, a watcher reads the published site as a reader would: every state it sees holds only whole periods,
and once the builds are done the landing page, site.json and every page's navigation list exactly the periods
present."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import customer, order, write_exports
from retention_report import publish, render

PAGES = {f"{spec.page}.html" for spec in render.site_declaration()[1]}

# The CLI, with the build folders under the test's own (as test_failures does).
CLI = r'''
import sys
from pathlib import Path
from retention_report import cli, pipeline

root = Path(sys.argv[1])

class Isolated(pipeline.Build):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("build_root", root)
        super().__init__(*args, **kwargs)

pipeline.Build = Isolated
cli.app(sys.argv[2:], prog_name="retention-report")
'''


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """Tiny exports covering January to March 2024, and one build folder for the module: the first test pays for
    each period's warehouse and notebooks, later ones reuse them and render and publish again."""
    root = tmp_path_factory.mktemp("concurrent")
    data = write_exports(
        root / "data",
        customers=[customer(f"c{i}", "2024-01-01") for i in range(8)],
        orders=[order(f"o{i}", f"c{i % 8}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(24)],
    )
    return root, data


class Builds:
    """Start `retention-report build` processes against one site; each one's output is kept for the asserts."""

    def __init__(self, root: Path, data: Path, site: Path):
        self.root, self.data, self.site = root / "build", data, site

    def start(self, period: str, *options: str) -> subprocess.Popen:
        # Rendered anew (its warehouse and notebooks may be reused): the render and the publish are what collide.
        shutil.rmtree(self.root / period / "site", ignore_errors=True)
        command = [sys.executable, "-c", CLI, str(self.root), "build", "--period", period, "--data", str(self.data),
                   "--site", str(self.site), "--renderer", "nbconvert", *options]
        return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self, process: subprocess.Popen, timeout: float = 600) -> tuple[int, str]:
        _, err = process.communicate(timeout=timeout)
        return process.returncode, err

    def run(self, period: str, *options: str) -> tuple[int, str]:
        return self.finish(self.start(period, *options))


def whole_periods(site: Path) -> list[str]:
    """The periods a reader finds in the site, each checked whole (every page of site.yml)."""
    found = render.periods_in(site)
    for period in found:
        pages = {p.name for p in (site / period).glob("*.html")}
        assert pages == PAGES, f"{period} is not whole in the published site: {sorted(pages)}"
        assert (site / period / "data" / "summary_kpis.csv").is_file(), period
    return found


def assert_lists_exactly_its_periods(site: Path) -> list[str]:
    periods = whole_periods(site)
    landing = (site / "index.html").read_text(encoding="utf-8")
    assert re.findall(r'<h2><a href="([^"/]+)/index.html">', landing) == periods
    assert json.loads((site / "site.json").read_text(encoding="utf-8"))["periods"] == periods
    for period in periods:
        for page in PAGES:
            text = (site / period / page).read_text(encoding="utf-8")
            links = re.search(r'<span class="rr-period-links">(.*?)</span>', text, re.DOTALL)
            listed = re.findall(r">([0-9]{4}(?:-[0-9A-Z]{2})?)<", links[1]) if links else [period]
            assert listed == periods, (period, page, listed)
    return periods


class Watcher(threading.Thread):
    """Reads the published site over and over while builds run; keeps every state that was not whole."""

    def __init__(self, site: Path):
        super().__init__(daemon=True)
        self.site, self.stop, self.seen, self.broken = site, threading.Event(), 0, []

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                if self.site.exists():
                    whole_periods(self.site)
                    self.seen += 1
            except (FileNotFoundError, NotADirectoryError):  # the old site swapped out between two reads
                pass
            except AssertionError as exc:
                self.broken.append(str(exc))
            time.sleep(0.002)

    def __enter__(self) -> "Watcher":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.join()


def lock_holder(lock: Path) -> int | None:
    """The process holding a lock, as the lock file says (empty while nobody holds it)."""
    try:
        return int(json.loads(lock.read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError):
        return None


def wait_for_holder(lock: Path, among: list[subprocess.Popen], timeout: float = 300) -> subprocess.Popen:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = lock_holder(lock)
        for process in among:
            if process.pid == pid:
                return process
        assert all(p.poll() is None for p in among), "a build ended before any took the lock"
        time.sleep(0.0005)
    raise AssertionError(f"no build took {lock} within {timeout} s")


def test_two_builds_of_one_period_one_waits_for_the_other(workspace, tmp_path):
    builds = Builds(*workspace, tmp_path / "site" / "_site")
    with Watcher(builds.site) as watcher:
        first = builds.start("2024-Q1")
        wait_for_holder(builds.root / "2024-Q1.lock", [first])
        second = builds.start("2024-Q1")
        (code_1, err_1), (code_2, err_2) = builds.finish(first), builds.finish(second)
    assert (code_1, code_2) == (0, 0), err_1[-2000:] + err_2[-2000:]
    assert f"2024-Q1 is being built by process {first.pid} since" in err_2 and "waiting" in err_2
    assert not watcher.broken and watcher.seen
    assert assert_lists_exactly_its_periods(builds.site) == ["2024-Q1"]


def test_no_wait_stops_at_once_naming_the_build_that_holds_the_period(workspace, tmp_path):
    builds = Builds(*workspace, tmp_path / "site" / "_site")
    first = builds.start("2024-Q1", "--force")
    wait_for_holder(builds.root / "2024-Q1.lock", [first])
    started = time.monotonic()
    code, err = builds.run("2024-Q1", "--no-wait")
    waited = time.monotonic() - started
    assert code == 3, err[-2000:]
    assert f"2024-Q1 is being built by process {first.pid}" in err and "--no-wait" in err
    assert first.poll() is None, "the second build stopped only after the first had finished"
    assert waited < 60  # it did not wait for the first build's render and publish
    code, err = builds.finish(first)
    assert code == 0, err[-2000:]
    assert assert_lists_exactly_its_periods(builds.site) == ["2024-Q1"]


def test_builds_of_different_periods_run_side_by_side_and_both_land(workspace, tmp_path):
    builds = Builds(*workspace, tmp_path / "site" / "_site")
    assert builds.run("2024-01")[0] == 0
    with Watcher(builds.site) as watcher:
        processes = [builds.start("2024-02"), builds.start("2024-03")]
        results = [builds.finish(p) for p in processes]
    assert [code for code, _ in results] == [0, 0], "".join(err[-2000:] for _, err in results)
    assert not watcher.broken and watcher.seen
    assert assert_lists_exactly_its_periods(builds.site) == ["2024-03", "2024-02", "2024-01"]
    assert not publish.staging_dir(builds.site).exists()


@pytest.mark.parametrize("victim", ["the other build", "the publishing build"])
def test_a_build_killed_while_another_publishes_leaves_the_site_whole(workspace, tmp_path, victim):
    builds = Builds(*workspace, tmp_path / "site" / "_site")
    assert builds.run("2024-01")[0] == 0
    periods = {"2024-02": None, "2024-03": None}
    with Watcher(builds.site) as watcher:
        processes = {period: builds.start(period) for period in periods}
        publisher = wait_for_holder(publish.lock_path(builds.site), list(processes.values()))
        other = next(p for p in processes.values() if p is not publisher)
        killed = publisher if victim == "the publishing build" else other
        os.kill(killed.pid, signal.SIGKILL)
        survivor = other if killed is publisher else publisher
        code, err = builds.finish(survivor)
        killed.wait()
    assert code == 0, err[-2000:]
    assert killed.returncode == -signal.SIGKILL
    assert not watcher.broken and watcher.seen
    survivor_period = next(period for period, p in processes.items() if p is survivor)
    killed_period = next(period for period, p in processes.items() if p is killed)
    present = assert_lists_exactly_its_periods(builds.site)
    assert survivor_period in present and "2024-01" in present  # the killed one: whole if it got in, else absent
    # Nothing stale: the killed period builds again at once (--no-wait stops at a held lock) and lands.
    code, err = builds.run(killed_period, "--no-wait")
    assert code == 0, err[-2000:]
    assert assert_lists_exactly_its_periods(builds.site) == ["2024-03", "2024-02", "2024-01"]
