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
