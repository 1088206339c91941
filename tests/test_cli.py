"""The command line refuses bad input with a clear message and the accepted forms."""

from typer.testing import CliRunner

from retention_report.cli import app
from retention_report.periods import ACCEPTED_FORMS

runner = CliRunner()


def test_a_bad_period_fails_listing_the_accepted_forms(tmp_path):
    for bad in ["../../etc", "2024-Q2; rm -rf ~", "2024-Q7"]:
        result = runner.invoke(app, ["build", "--period", bad, "--data", str(tmp_path), "--site", str(tmp_path / "s")])
        assert result.exit_code == 2
        assert ACCEPTED_FORMS in " ".join(result.output.split()) or ACCEPTED_FORMS in " ".join(result.stderr.split())
    assert not (tmp_path / "s").exists()


def test_validate_names_the_missing_required_column(tmp_path):
    (tmp_path / "customers.csv").write_text("customer_id,signup\nc1,2024-01-01\n")
    (tmp_path / "orders.csv").write_text("order_id,customer_id,ordered_at,amount\n")
    result = runner.invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 1
    text = " ".join(result.stderr.split())
    assert "customers.csv" in text and "required column 'created_at'" in text and "customer_id, signup" in text


def test_relative_data_and_site_are_used_as_given_though_notebooks_change_the_working_folder(tmp_path, monkeypatch):
    """Papermill runs each notebook inside os.chdir(notebooks/): a relative --site must still publish under the
    folder the command was run from (it used to land in notebooks/<site>), and the command ends where it began."""
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from conftest import customer, order, write_exports
    from retention_report import execute, pipeline

    write_exports(tmp_path / "exports", customers=[customer(f"c{i}") for i in range(6)],
                  orders=[order(f"o{i}", f"c{i % 6}", f"2024-0{1 + i % 3}-1{i % 9} 10:00:00") for i in range(18)])
    root = _build_root_under(monkeypatch, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["build", "--period", "2024-Q1", "--data", "exports", "--site", "out/_site",
                                 "--renderer", "nbconvert"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "_site" / "2024-Q1" / "index.html").is_file()
    assert (tmp_path / "out" / "private" / "2024-Q1").is_dir()
    assert not (execute.NOTEBOOKS_DIR / "out").exists()
    assert Path(os.getcwd()) == tmp_path


def test_make_passes_period_data_and_site_to_the_command_as_inert_arguments(tmp_path):
    """`make report PERIOD=...`: a value holding backquotes, $(...), quotes or ; reaches the command as one
    argument, never read by the shell."""
    import json
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    if shutil.which("make") is None:
        import pytest

        pytest.skip("make is not installed")
    project = Path(__file__).parents[1]
    marker = tmp_path / "ran"
    argv = tmp_path / "argv.py"
    argv.write_text("import json, sys\nprint('ARGV' + json.dumps(sys.argv[1:]))\n")
    hostile = {"PERIOD": f"`touch {marker}`; $$(touch {marker}) \"x", "DATA": f"a b'$$(touch {marker})",
               "SITE": f"s\"; touch {marker}; echo \""}
    done = subprocess.run(["make", "--no-print-directory", "-s", "-o", "setup", "-C", str(project), "report",
                           f"RR={sys.executable} {argv}", *(f"{k}={v}" for k, v in hostile.items())],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("ARGV"))
    assert json.loads(line[4:]) == ["build", "--period", hostile["PERIOD"].replace("$$", "$"),
                                    "--data", hostile["DATA"].replace("$$", "$"), "--site", hostile["SITE"]]
    assert not marker.exists()


def _build_root_under(monkeypatch, tmp_path):
    """Builds the CLI starts keep their build folders under tmp_path; returns that folder."""
    from retention_report import pipeline

    root = tmp_path / "build-root"

    class IsolatedBuild(pipeline.Build):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("build_root", root)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pipeline, "Build", IsolatedBuild)
    return root


def _isolated(monkeypatch, tmp_path, run):
    """Build with its build folder under tmp_path and `run` in place of the stages; returns the folders."""
    from retention_report import pipeline

    root = _build_root_under(monkeypatch, tmp_path)
    monkeypatch.setattr(pipeline.Build, "run", run)
    (tmp_path / "data").mkdir(exist_ok=True)
    return root, ["--data", str(tmp_path / "data"), "--site", str(tmp_path / "out" / "_site")]


def _finished(build):
    from retention_report import pipeline

    return pipeline.BuildResult(build.period, build.site, build.build_dir, renderer="nbconvert")


def test_a_relative_period_is_resolved_against_today_and_said_before_the_build(tmp_path, monkeypatch):
    built = []

    def run(self):
        built.append((self.period.label, self.wait))
        return _finished(self)

    _, folders = _isolated(monkeypatch, tmp_path, run)
    for period, today, label in [("last-quarter", "2026-12-02", "2026-Q3"), ("LAST-MONTH", "2027-01-01", "2026-12"),
                                 ("last-half", "2026-07-01", "2026-H1"), ("last-year", "2026-12-02", "2025")]:
        result = runner.invoke(app, ["build", "--period", period, "--today", today, *folders])
        assert result.exit_code == 0, result.output
        assert f"{period.lower()} is {label} (today is {today})" in result.stderr
        assert result.stderr.index(f"{period.lower()} is") < result.stderr.index("Site:")  # said before building
        assert built[-1] == (label, True)  # waits for a lock unless --no-wait
    # A label is built as given, whatever --today says, and is not announced.
    result = runner.invoke(app, ["build", "--period", "2024-Q2", "--today", "2026-12-02", *folders])
    assert result.exit_code == 0 and built[-1] == ("2024-Q2", True) and " is 2024-Q2" not in result.stderr


def test_a_bad_today_fails_with_exit_2_before_building(tmp_path, monkeypatch):
    def run(self):
        raise AssertionError("built")

    _, folders = _isolated(monkeypatch, tmp_path, run)
    for bad in ["2026-13-01", "2026-02-30", "20261202", "2026-W49-3", "yesterday", "2026-12-02T06:00", ""]:
        result = runner.invoke(app, ["build", "--period", "last-quarter", "--today", bad, *folders])
        assert result.exit_code == 2, (bad, result.output)
        text = " ".join(result.stderr.split())
        assert f"--today {bad!r} is not a date" in text and "YYYY-MM-DD" in text, bad


def test_a_relative_period_names_every_accepted_form_when_mistyped(tmp_path, monkeypatch):
    from retention_report.periods import RELATIVE_FORMS

    _, folders = _isolated(monkeypatch, tmp_path, lambda self: _finished(self))
    result = runner.invoke(app, ["build", "--period", "last_quarter", *folders])
    assert result.exit_code == 2
    text = " ".join(result.stderr.split())
    assert ACCEPTED_FORMS in text and RELATIVE_FORMS in text


def test_no_wait_fails_at_once_with_exit_3_when_the_period_is_being_built(tmp_path, monkeypatch):
    from retention_report import pipeline

    message = "2024-Q2 is being built by process 1234 since 14:02:11"
    seen = []

    def raise_locked(self):
        seen.append(self.wait)
        raise pipeline.BuildLocked(message)

    def raise_wrapped(self):
        seen.append(self.wait)
        raise pipeline.StageError("publish", pipeline.BuildLocked(message))

    for run in (raise_locked, raise_wrapped):
        root, folders = _isolated(monkeypatch, tmp_path, run)
        result = runner.invoke(app, ["build", "--period", "2024-Q2", "--no-wait", *folders])
        assert result.exit_code == 3, result.output
        text = " ".join(result.stderr.split())
        assert f"error: {message} (the published site was left as it was)" in text
        assert "stage 'publish' failed" not in text
        assert seen[-1] is False
        # The build folder belongs to the build that holds the lock: its log is not overwritten.
        assert not (root / "2024-Q2" / "build.log").exists()
        assert not (tmp_path / "out").exists()


def test_a_stage_that_fails_otherwise_still_exits_1_with_its_log(tmp_path, monkeypatch):
    from retention_report import pipeline

    def run(self):
        raise pipeline.StageError("render", RuntimeError("quarto exploded"))

    root, folders = _isolated(monkeypatch, tmp_path, run)
    result = runner.invoke(app, ["build", "--period", "2024-Q2", "--no-wait", *folders])
    assert result.exit_code == 1
    assert "stage 'render' failed: quarto exploded" in " ".join(result.stderr.split())
    assert "quarto exploded" in (root / "2024-Q2" / "build.log").read_text()


def test_a_build_that_waits_says_who_holds_the_lock_as_plain_text(tmp_path, monkeypatch):
    notice = "2024-Q2 is being built by process 1234 since 14:02:11; waiting (--no-wait fails at once instead) [red]x"

    def run(self):
        assert self.wait is True
        self.on_wait(notice)
        return _finished(self)

    _, folders = _isolated(monkeypatch, tmp_path, run)
    result = runner.invoke(app, ["build", "--period", "2024-Q2", *folders])
    assert result.exit_code == 0, result.output
    assert notice in result.stderr  # verbatim: brackets are not read as markup
