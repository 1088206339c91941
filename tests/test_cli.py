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
    root = tmp_path / "build-root"

    class IsolatedBuild(pipeline.Build):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("build_root", root)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(pipeline, "Build", IsolatedBuild)
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
