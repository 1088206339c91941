"""Nothing lost: --strict, a build killed mid-run, determinism of two builds, and a build failing in any stage
(or for a period outside the data) telling which in one line with its log, the published site untouched."""

import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest
from typer.testing import CliRunner

from conftest import SAMPLE_PERIOD, customer, order, write_exports
from retention_report import cli, execute, pipeline, publish, render
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


# ------------------------------------------------------------------ failures through the command line
#
# After a good build has published a site, a build that fails in the warehouse (a SQL model raising), in a
# notebook (a cell raising) or in the render, or asks for a period outside the data, exits non-zero with ONE
# line naming the stage and the full log, the log holds the traceback, and the published site is
# byte-identical. The command runs in-process (CliRunner) so a notebook or the renderer can be broken for the
# test, with its build folder redirected into the test's own (the command has no --build-root). The good
# build is made once for these tests; each takes its own snapshot of the site before failing.

ERROR_LINE = re.compile(r"^error: stage '(?P<stage>[^']+)' failed: (?P<why>.*) \(full log: (?P<log>\S+build\.log); "
                        r"the published site was left as it was\)$")


class CliBuild:
    """`retention-report build` of `data` into `site`, its build folder under `root`."""

    def __init__(self, data: Path, site: Path, root: Path):
        self.data, self.site, self.root = data, site, root
        self.runner = CliRunner()

    def __call__(self, *options: str, period: str = "2024-Q1"):
        return self.runner.invoke(cli.app, ["build", "--period", period, "--data", str(self.data), "--site",
                                            str(self.site), "--renderer", "nbconvert", *options])

    @contextmanager
    def isolated(self, monkeypatch: pytest.MonkeyPatch):
        root = self.root

        class IsolatedBuild(pipeline.Build):
            def __init__(self, *args, **kwargs):
                kwargs.setdefault("build_root", root)
                super().__init__(*args, **kwargs)

        monkeypatch.setattr(pipeline, "Build", IsolatedBuild)
        yield self


@pytest.fixture(scope="module")
def good_build(tmp_path_factory):
    """The small exports built and published once through the command line: (command, its result)."""
    folder = tmp_path_factory.mktemp("cli")
    data = write_exports(
        folder / "data",
        customers=[customer(f"c{i}") for i in range(6)],
        orders=[order(f"o{i}", f"c{i % 6}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(18)],
    )
    build = CliBuild(data, folder / "site" / "_site", folder / "build-root")
    with pytest.MonkeyPatch.context() as patch, build.isolated(patch):
        result = build()
    assert result.exit_code == 0, result.output
    assert (build.site / "2024-Q1" / "index.html").is_file()
    return build, result


@pytest.fixture
def published(good_build, monkeypatch):
    """The command (builds redirected as for the good build) and a snapshot of the site as published now."""
    build, _ = good_build
    with build.isolated(monkeypatch):
        yield build, snapshot(build.site)


def progress_line(line: str, period: str) -> bool:
    """A line of the per-stage progress display (a spinner or blank, then `<PERIOD>: <stage>`)."""
    return re.match(rf"^(\S )?\s*{re.escape(period)}: ", line) is not None


def assert_failed_in(result, stage: str, build: CliBuild, *in_log: str, period: str = "2024-Q1") -> re.Match:
    """Exit 1; one error line, the last one printed, naming the stage and the log; the log holds the
    traceback and each of `in_log`."""
    assert result.exit_code == 1, (result.exit_code, result.output)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [i for i, line in enumerate(lines) if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    match = ERROR_LINE.match(lines[errors[0]])
    assert match, f"the error is not one line naming the stage and the log: {result.stderr!r}"
    assert match["stage"] == stage
    assert errors[0] == len(lines) - 1, result.stderr
    log = Path(match["log"])
    assert log == build.root / period / "build.log" and log.is_file()
    text = log.read_text(encoding="utf-8")
    assert text.startswith("Traceback (most recent call last)"), text[:500]
    for fragment in in_log:
        assert fragment in text, (fragment, text[-2000:])
    assert "Traceback" not in result.stderr
    return match


def test_a_sql_model_that_fails_exits_non_zero_naming_the_warehouse_and_its_log(published, tmp_path):
    build, before = published
    # cohort_by is checked by the SQL model that uses it (cohort_assignments.sql raises through error()):
    # a real model failing on the real code path, brought about by a params file as a user would.
    params = tmp_path / "bad.yaml"
    params.write_text("cohort_by: zodiac\n", encoding="utf-8")
    result = build("--params", str(params))
    match = assert_failed_in(result, "warehouse", build, "SqlModelError", "cohort_assignments.sql",
                             "cohort_by must be first_order or signup, not zodiac")
    assert "cohort_assignments.sql" in match["why"] and "not zodiac" in match["why"]
    assert snapshot(build.site) == before


def test_a_notebook_that_raises_exits_non_zero_naming_the_notebook_and_its_log(published, tmp_path, monkeypatch):
    build, before = published
    notebooks = tmp_path / "notebooks"
    shutil.copytree(execute.NOTEBOOKS_DIR, notebooks)
    broken = nbformat.read(notebooks / "20_nps.ipynb", as_version=4)
    broken.cells.append(nbformat.v4.new_code_cell('raise RuntimeError("injected failure")'))
    nbformat.write(broken, notebooks / "20_nps.ipynb")
    monkeypatch.setattr(execute, "NOTEBOOKS_DIR", notebooks)
    # No --force needed: the changed notebook's key changed, so it re-runs (and fails).
    result = build()
    match = assert_failed_in(result, "notebook 20_nps.ipynb", build, "NotebookError", "PapermillExecutionError",
                             "RuntimeError: injected failure")
    assert "20_nps.ipynb failed in cell" in match["why"] and "injected failure" in match["why"]
    assert snapshot(build.site) == before


def test_a_render_that_fails_exits_non_zero_naming_the_render_and_its_log(published, monkeypatch):
    build, before = published

    def dies_half_way(build_dir, period, out, *args, **kwargs):
        (out / period / "cohorts.html").write_text("half a page")
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(render, "render_fallback", dies_half_way)
    # --force: the render's inputs are unchanged since the good build, so it would otherwise be reused.
    result = build("--force")
    match = assert_failed_in(result, "render", build, "RuntimeError: renderer crashed", "dies_half_way")
    assert match["why"] == "renderer crashed"
    assert snapshot(build.site) == before


def test_a_period_with_no_data_fails_naming_the_data_range_and_leaves_the_site(published):
    build, before = published
    result = build(period="2019-Q1")  # the small exports hold orders from 2024-01-10 to 2024-03-18 only
    match = assert_failed_in(result, "warehouse", build, "PeriodError", period="2019-Q1")
    assert match["why"] == ("PERIOD 2019-Q1 (2019-01-01 to 2019-03-31) lies outside the data, which runs from "
                            "2024-01-10 to 2024-03-18.")
    assert snapshot(build.site) == before and not (build.site / "2019-Q1").exists()


# The command's output: the error line last, each stage shown once, messages printed as they are.

def test_the_error_line_is_the_last_output_of_a_failed_build(published, tmp_path):
    build, before = published
    params = tmp_path / "bad.yaml"
    params.write_text("cohort_by: zodiac\n", encoding="utf-8")
    result = build("--params", str(params))
    assert result.exit_code == 1
    last = [line for line in result.stderr.splitlines() if line.strip()][-1]
    assert ERROR_LINE.match(last), result.stderr


def test_the_progress_display_shows_each_stage_once_and_all_finished(good_build):
    _, result = good_build
    lines = [line for line in result.stderr.splitlines() if progress_line(line, "2024-Q1")]
    stages = [re.sub(r" \(.*", "", line.split(": ", 1)[1]) for line in lines]
    assert len(stages) == len(set(stages)), lines
    assert all(line.startswith("  ") for line in lines), lines  # no spinner left


def test_a_failure_message_holding_square_brackets_is_printed_as_is(published, monkeypatch):
    build, before = published

    def fails(*args, **kwargs):
        raise RuntimeError("template [/] and [bold]markup[/bold] in an error")

    monkeypatch.setattr(render, "render_fallback", fails)
    result = build("--force")
    match = assert_failed_in(result, "render", build)
    assert match["why"] == "template [/] and [bold]markup[/bold] in an error"
    assert snapshot(build.site) == before


# ------------------------------------------------------------------ kill -9 at every stage
#
# A child process runs the build (or the publish step) and kills itself with SIGKILL at a chosen point of a
# chosen stage, as `kill -9` would: nothing of the build gets to clean up. The published site must then be
# exactly as before (or, once the swap is done, exactly the new site): never missing, never half of each.

BUILD_KILLED_IN = r'''
import os, signal, sys
from pathlib import Path
from retention_report import cli, execute, pipeline, render, warehouse

stage, root = sys.argv[1], Path(sys.argv[2])

def die():
    os.killpg(0, signal.SIGKILL)  # the build and the processes it forked (render workers): kill -9 -PGID

class Isolated(pipeline.Build):  # the build folder under the test's own, as the CLI tests do
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("build_root", root)
        super().__init__(*args, **kwargs)

pipeline.Build = Isolated
if stage == "warehouse":  # staging done, the first mart about to run: the partial warehouse file is open
    real_run_sql = warehouse.run_sql
    def run_sql(con, sql, values, source="<sql>"):
        if "marts" in Path(source).parts:
            die()
        return real_run_sql(con, sql, values, source)
    warehouse.run_sql = run_sql
elif stage == "notebook":  # a notebook starting while others run
    real_run_notebook = execute.run_notebook
    def run_notebook(source, *args, **kwargs):
        if Path(source).name == "20_nps.ipynb":
            die()
        return real_run_notebook(source, *args, **kwargs)
    execute.run_notebook = run_notebook
elif stage == "render":  # the period's pages rendered into its build folder, its landing page not yet
    render.write_landing_fallback = lambda *args, **kwargs: die()
elif stage == "publish":  # the next site assembled beside the published one, its navigation half filled
    real_fill = render.fill
    def fill(text, name, content):
        if name == "periods":
            die()
        return real_fill(text, name, content)
    render.fill = fill
cli.app(sys.argv[3:])
'''


@pytest.mark.parametrize("stage", ["warehouse", "notebook", "render", "publish"])
def test_kill_9_in_any_stage_leaves_the_site_byte_identical(published, tmp_path, stage):
    build, before = published
    command = [sys.executable, "-c", BUILD_KILLED_IN, stage, str(tmp_path / "build-root"), "build", "--period",
               "2024-Q1", "--data", str(build.data), "--site", str(build.site), "--renderer", "nbconvert", "--force"]
    process = subprocess.run(command, capture_output=True, text=True, start_new_session=True, timeout=300)
    assert process.returncode == -signal.SIGKILL, process.stderr[-2000:]
    # It was killed in that stage, not before it: the stage's own work is there, half done.
    work = tmp_path / "build-root" / "2024-Q1"
    staged = publish.staging_dir(build.site)
    if stage == "warehouse":
        assert (work / "warehouse.duckdb.partial").is_file() and not (work / "warehouse.duckdb").exists()
    elif stage == "notebook":
        assert (work / "warehouse.duckdb").is_file() and not (work / "20_nps.ipynb").exists()
    elif stage == "render":
        assert (work / "site" / "2024-Q1" / "cohorts.html").is_file() and not (work / "site" / "index.html").exists()
    else:
        assert (staged / "2024-Q1" / "cohorts.html").is_file() and (staged / "index.html").is_file()
    assert snapshot(build.site) == before
    # The kill left no lock behind (the kernel released them): the same build, not killed this time, runs at once
    # (--no-wait would stop it at a held lock) and publishes a site holding the period whole.
    rerun = [sys.executable, "-c", BUILD_KILLED_IN, "none", *command[4:-1], "--no-wait"]
    again = subprocess.run(rerun, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-2000:]
    assert {p.name for p in (build.site / "2024-Q1").glob("*.html")} == {f"{s.page}.html" for s in render.site_declaration()[1]}


PUBLISH_KILLED_AT = r'''
import os, signal, sys
from pathlib import Path
from retention_report import publish

new, site, kill_at = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
changes = 0

def hook(event, args):  # runs just before each file-system change
    global changes
    if event in ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree", "shutil.copytree",
                 "ctypes.call_function"):
        changes += 1
        if changes == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
publish.publish(new, site)
'''


def test_kill_9_at_every_step_of_publishing_leaves_the_old_or_the_new_site_never_neither(tmp_path):
    def tree(root: Path, text: str) -> None:
        for name in ("index.html", "site.json", "2024-Q1/index.html", "2024-Q1/data/kpis.csv"):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(f"{text} {name}")

    site = tmp_path / "site" / "_site"
    old, new = None, None
    for kill_at in range(1, 100):
        shutil.rmtree(tmp_path / "site", ignore_errors=True)
        tree(site, "old")
        staged = publish.staging_dir(site)
        tree(staged, "new")
        old, new = snapshot(site), snapshot(staged)
        done = subprocess.run([sys.executable, "-c", PUBLISH_KILLED_AT, str(staged), str(site), str(kill_at)],
                              capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            break
        assert done.returncode == -signal.SIGKILL, done.stderr
        assert snapshot(site) in (old, new), f"killed before file-system change {kill_at}: the site is half or gone"
        # The next build recovers whatever the kill left behind, and publishes.
        publish.recover(site)
        assert snapshot(site) in (old, new)
        render_dir = publish.staging_dir(site)
        shutil.rmtree(render_dir, ignore_errors=True)  # what the next render does first
        tree(render_dir, "new")
        publish.publish(render_dir, site)
        assert snapshot(site) == new and not render_dir.exists()
    assert done.returncode == 0 and kill_at > 2, kill_at
    assert snapshot(site) == new and not staged.exists()
    assert not any(p.name.startswith("._site") for p in site.parent.iterdir())


def test_exports_without_a_valid_order_fail_in_one_line_and_leave_the_site(published, tmp_path):
    build, before = published
    data = tmp_path / "header-only"
    data.mkdir()
    (data / "customers.csv").write_text("customer_id,created_at\nc1,2024-01-01\n", encoding="utf-8")
    (data / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\n", encoding="utf-8")  # header only
    empty = CliBuild(data, build.site, build.root)
    match = assert_failed_in(empty(), "warehouse", build, "PeriodError")
    assert match["why"] == "PERIOD 2024-Q1 cannot be reported: the orders export holds no valid order."
    assert snapshot(build.site) == before


def test_a_period_inside_the_data_without_any_order_builds_with_zero_activity(tmp_path):
    """Orders in 2023-Q1 and 2024-Q1 only: 2023-Q3 has no data at all, yet lies inside the data's range."""
    customers = [customer(f"c{i}", "2023-01-01") for i in range(8)]
    orders = ([order(f"a{i}", f"c{i % 8}", f"2023-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(24)]
              + [order(f"b{i}", f"c{i % 8}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(24)])
    # A thank-you (even customers) or a promotion (odd) three days after each customer's second order, so the
    # touchpoints page has both groups (without them it fails on its own: see test_validate's preset xfail).
    second = {}
    for o in sorted(orders, key=lambda o: o["ordered_at"]):
        second.setdefault(o["customer_id"], []).append(o["ordered_at"][:10])
    touchpoints = [{"touchpoint_id": f"t{i}", "customer_id": f"c{i}",
                    "occurred_at": f"{second[f'c{i}'][1][:8]}{int(second[f'c{i}'][1][8:]) + 3:02d} 10:00:00",
                    "kind": "promotion" if i % 2 else "thank_you"} for i in range(8)]
    data = write_exports(tmp_path / "data", customers=customers, orders=orders, touchpoints=touchpoints)
    result = pipeline.Build(parse_period("2023-Q3"), data, tmp_path / "site" / "_site", build_root=tmp_path / "b",
                            use_quarto=False).run()
    pages = result.site / "2023-Q3"
    kpis = {row.split(",")[0]: row.split(",")[1] for row in
            (pages / "data" / "period_kpis.csv").read_text(encoding="utf-8").splitlines()[1:]}
    assert (kpis["buying_customers"], kpis["new_customers"]) == ("0", "0")
    assert float(kpis["revenue"]) == 0.0
    assert (pages / "index.html").is_file() and (pages / "cohorts.html").is_file()
