"""`retention-report validate` and option checks: a clear answer per export, personal data redacted, hostile
input refused before anything runs; presets read real tools' exports."""

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from retention_report.cli import app

runner = CliRunner()
FIXTURES = Path(__file__).parent / "fixtures" / "exports"


def flat(text: str) -> str:
    return " ".join(text.split())


def write(folder: Path, **files: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


GOOD_CUSTOMERS = "customer_id,created_at,email,phone\nc1,2024-01-01,ann@example.com,+44 7700 900123\n"


def test_validate_prints_rows_reasons_date_range_and_redacted_examples(tmp_path):
    data = write(tmp_path, **{
        "customers.csv": GOOD_CUSTOMERS + "c1,2024-01-02,dup@example.com,\n",
        "orders.csv": "order_id,customer_id,ordered_at,amount\no1,c1,2024-01-05,5\n"
                      "o2,eve@example.com,2024-01-06,5\no3,c1,2024-02-01,[bold red]x\x1b[2J\n",
        "nps_responses.csv": "response_id,customer_id,responded_at,score,comment\nr1,c1,2024-01-05,9,\"fine\"\n"
                             "r2,c1,2024-01-05,12,\"call me on +44 7700 900123\"\n",
    })
    result = runner.invoke(app, ["validate", "--data", str(data)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "orders: 3 rows read, 1 staged, 2 set aside; dates 2024-01-05 to 2024-01-05" in out
    assert "customers: 2 rows read, 1 staged, 1 set aside" in out
    assert "orders.csv row 2 (line 3), customer_id = '[email redacted]'" in out
    assert "eve@example.com" not in out and "7700" not in out and "\x1b" not in out
    assert "amount = '[bold red]x" in out  # shown as text, control characters escaped, never interpreted
    assert "nps_responses: 2 rows read, 1 staged, 1 set aside" in out and "score outside 0-10" in out
    assert "touchpoints: absent (optional" in out
    assert "Usable: 4 row(s) would be set aside" in out


def test_validate_exits_1_naming_a_missing_export_or_column(tmp_path):
    data = write(tmp_path / "a", **{"customers.csv": GOOD_CUSTOMERS})
    result = runner.invoke(app, ["validate", "--data", str(data)])
    assert result.exit_code == 1 and "required export 'orders' is missing" in flat(result.stderr)
    data = write(tmp_path / "b", **{"customers.csv": GOOD_CUSTOMERS,
                                    "orders.csv": "Order ID,customer_id,ordered_at,amount\n"})
    result = runner.invoke(app, ["validate", "--data", str(data)])
    text = flat(result.stderr)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1
    assert "orders.csv: required column 'order_id' is missing" in text
    assert "Columns found: Order ID, customer_id, ordered_at, amount" in text
    assert "Did you mean 'Order ID'?" in text


@pytest.mark.parametrize("args, message", [
    (["--period", "../../etc"], "Accepted forms"),
    (["--period", "2024-Q2; rm -rf ~"], "Accepted forms"),
    (["--period", "2024-Q2", "--data", "/nonexistent/$(reboot)"], "no such folder"),
    (["--period", "2024-Q2", "--site", "/"], "refusing to publish"),
    (["--period", "2024-Q2", "--site", "~"], "refusing to publish"),
    (["--period", "2024-Q2", "--renderer", "sh -c id"], "--renderer must be"),
])
def test_hostile_options_are_refused_before_anything_runs(tmp_path, args, message):
    data = write(tmp_path / "data", **{"customers.csv": GOOD_CUSTOMERS})
    full = ["build", "--data", str(data), "--site", str(tmp_path / "site")]
    for i in range(0, len(args), 2):
        if args[i] in full:
            full[full.index(args[i]) + 1] = args[i + 1]
        else:
            full += args[i:i + 2]
    result = runner.invoke(app, full)
    assert result.exit_code == 2 and message in flat(result.stderr)
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("args, message", [
    (["sample-data", "--out", "/"], "refusing to write the sample exports into /;"),
    (["sample-data", "--out", "~"], "refusing to write the sample exports into"),
    (["sample-data", "--out", "out\x1b[2J"], "holds control characters"),
    (["validate", "--data", "/nonexistent/`reboot`"], "no such folder"),
    (["validate", "--params", "{tmp}"], "is a folder"),
    (["build", "--period", "2024-Q1", "--params", "p\x1b.yaml"], "holds control characters"),
    (["bench", "--tmp", "/"], "refusing to work in /;"),
    (["bench", "--json", "{tmp}"], "is a folder"),
    (["bench", "--markdown", "{tmp}"], "is a folder"),
])
def test_hostile_options_of_every_command_are_refused_before_anything_runs(tmp_path, args, message):
    data = write(tmp_path / "data", **{"customers.csv": GOOD_CUSTOMERS})
    before = sorted(p.name for p in tmp_path.iterdir())
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    if args[0] in ("build", "validate") and "--data" not in args:
        args += ["--data", str(data)]
    if args[0] == "build":
        args += ["--site", str(tmp_path / "site")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and message in flat(result.stderr), (result.exit_code, result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_a_site_folder_that_is_not_a_report_or_holds_the_data_is_refused(tmp_path):
    data = write(tmp_path / "data", **{"customers.csv": GOOD_CUSTOMERS})
    precious = write(tmp_path / "precious", **{"thesis.txt": "years of work"})
    for site, message in [(precious, "not a published report site"), (tmp_path, "data folder")]:
        result = runner.invoke(app, ["build", "--period", "2024-Q1", "--data", str(data), "--site", str(site)])
        assert result.exit_code == 2 and message in flat(result.stderr)
    assert (precious / "thesis.txt").read_text() == "years of work"


def test_bad_params_are_refused_with_what_is_accepted(tmp_path):
    data = write(tmp_path / "data", **{"customers.csv": GOOD_CUSTOMERS})
    for text, message in [("timezone: Mars/Olympus\n", "is not a time zone name"),
                          ("exports: {orderz: {}}\n", "orderz is not an export"),
                          ("exports: {orders: {source: oracle}}\n", "presets for orders: shopify, stripe, woocommerce; known presets: amplitude (events)"),
                          ("root:x:0:0:root:/root:/bin/bash\n", "expected a mapping of parameter names"),
                          ("x: !!python/object/apply:os.system ['id']\n", "not valid YAML"),
                          ("notebook_workers: lots\n", "notebook_workers must be a whole number"),
                          ("duckdb: {threads: '1; DROP TABLE x'}\n", "duckdb.threads must be a whole number"),
                          ("duckdb: {memory_limit: \"1GB'; --\"}\n", "memory_limit must be a size")]:
        params = write(tmp_path, **{"p.yaml": text}) / "p.yaml"
        result = runner.invoke(app, ["build", "--period", "2024-Q1", "--data", str(data), "--site",
                                     str(tmp_path / "site"), "--params", str(params)])
        assert result.exit_code == 2 and message in flat(result.stderr), result.stderr
    (tmp_path / "latin.yaml").write_bytes("timezone: M\xfcnchen\n".encode("latin-1"))
    result = runner.invoke(app, ["validate", "--data", str(data), "--params", str(tmp_path / "latin.yaml")])
    assert result.exit_code == 2 and f"{tmp_path / 'latin.yaml'}: is not UTF-8 text" in flat(result.stderr)
    assert not (tmp_path / "site").exists()


def test_no_code_passes_anything_through_a_shell():
    source = Path(__file__).parents[1] / "src" / "retention_report"
    for path in source.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "shell=True" not in text and "os.system" not in text and "os.popen" not in text, path.name


def test_presets_read_shopify_stripe_and_survey_exports(tmp_path):
    shopify = FIXTURES / "shopify"
    result = runner.invoke(app, ["validate", "--data", str(shopify), "--params", str(shopify / "params.yaml")])
    assert result.exit_code == 0, result.output
    # Eleven line items grouped into seven orders; the unknown buyer's is set aside, e-mails redacted.
    assert ("orders: 11 lines read, grouped into 7 orders; 6 orders staged, 1 line(s) set aside; "
            "dates 2024-01-05 to 2024-03-20") in result.stdout
    assert "customer_id = '[email redacted]'" in result.stdout and "nobody@" not in result.stdout

    stripe = FIXTURES / "stripe_survey"
    result = runner.invoke(app, ["validate", "--data", str(stripe), "--params", str(stripe / "params.yaml")])
    assert result.exit_code == 0, result.output
    assert "customers: 40 rows read, 40 staged, 0 set aside" in result.stdout
    assert "nps_responses: 30 rows read, 30 staged, 0 set aside" in result.stdout
    assert "orders: 100 rows read, 100 staged, 0 set aside" in result.stdout


def test_shopify_orders_stage_with_statuses_time_zones_and_customers_by_email(tmp_path):
    import duckdb

    from retention_report import warehouse
    from retention_report.params import load_params
    from retention_report.periods import parse_period

    shopify = FIXTURES / "shopify"
    params = load_params(None, shopify / "params.yaml")
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", shopify, parse_period("2024-Q1"),
                                     dict(params, keep_staging=True),
                                     layers=("staging",))
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("SELECT order_id, customer_id, ordered_at::VARCHAR, amount::VARCHAR, status "
                           "FROM stg_orders ORDER BY order_id").fetchall()
    # One order per Shopify order name, its lines grouped; partial refunds netted (#1003: 40.00 less 12.50).
    assert rows == [("#1001", "C1", "2024-01-05 19:03:11", "45.00", "completed"),
                    ("#1002", "C2", "2024-02-01 04:30:00", "10.00", "refunded"),
                    ("#1003", "C3", "2024-02-03 07:00:00", "27.50", "completed"),
                    ("#1005", "C2", "2024-02-10 14:00:00", "15.00", "cancelled"),
                    ("#1006", "C1", "2024-03-02 15:15:00", "62.00", "completed"),
                    ("#1007", "C3", "2024-03-20 11:00:00", "8.00", "pending")]


# Touchpoints for the Stripe customers: five days after each second paid invoice before July, a thank-you for
# every other customer and a promotion for the rest (so the touchpoints page has both groups to compare).
SECOND_INVOICES = [("cus_P0018xY", "03-11"), ("cus_P0030xY", "03-11"), ("cus_P0031xY", "04-11"),
                   ("cus_P0025xY", "04-11"), ("cus_P0001xY", "04-11"), ("cus_P0037xY", "04-11"),
                   ("cus_P0019xY", "04-11"), ("cus_P0026xY", "05-11"), ("cus_P0002xY", "05-11"),
                   ("cus_P0038xY", "05-11"), ("cus_P0006xY", "05-12")]
THANKS = "touchpoint_id,customer_id,occurred_at,kind\n" + "".join(
    f"t{i},{c},2024-{day[:3]}{int(day[3:]) + 5} 10:00:00,{'promotion' if i % 2 else 'thank_you'}\n"
    for i, (c, day) in enumerate(SECOND_INVOICES))


@pytest.mark.parametrize("fixture, period, touchpoints", [
    ("shopify", "2024-Q1", None),
    ("stripe_survey", "2024-Q2", THANKS),
    # Absent touchpoints only make the touchpoints page say so (README), even though no one was thanked.
    ("stripe_survey", "2024-Q2", None),
])
def test_preset_exports_go_through_the_whole_build(tmp_path, fixture, period, touchpoints):
    """The fixture exports, mapped only by their params.yaml (`source: ...`), build and publish every page."""
    import csv
    from datetime import datetime

    from retention_report import pipeline, render
    from retention_report.periods import parse_period

    folder = FIXTURES / fixture
    data = tmp_path / "data"
    shutil.copytree(folder, data, ignore=shutil.ignore_patterns("params.yaml", "README*"))
    if touchpoints:
        (data / "touchpoints.csv").write_text(touchpoints, encoding="utf-8")
    result = pipeline.Build(parse_period(period), data, tmp_path / "site" / "_site", folder / "params.yaml",
                            build_root=tmp_path / "build", use_quarto=False).run()
    pages = result.site / period
    for spec in render.site_declaration()[1]:
        assert (pages / f"{spec.page}.html").is_file(), spec.page

    def table(name: str) -> list[dict]:
        with (pages / "data" / f"{name}.csv").open(encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    exports = {row["export"]: row for row in table("data_quality_exports")}
    kpis = {row["metric"]: row["value"] for row in table("period_kpis")}
    if fixture == "shopify":
        # Eleven line items group into seven orders; the unknown buyer's is set aside (counted, e-mail not shown).
        assert (exports["orders"]["rows_read"], exports["orders"]["rows_staged"]) == ("11", "6")
        assert exports["orders"]["rows_set_aside"] == "1"
        reasons = [(r["export"], r["column"], r["reason"], r["rows_set_aside"]) for r in table("data_quality_reasons")]
        assert reasons == [("orders", "customer_id", "unknown customer", "1")]
        # #1001 (paid, 45.00), #1003 (partially refunded, 27.50 kept) and #1006 (paid, 62.00) count; #1002 was
        # refunded, #1005 voided, #1007 is pending.
        assert kpis["buying_customers"] == "2" and float(kpis["revenue"]) == 134.5
        shown = (pages / "data-quality.html").read_text(encoding="utf-8")
        assert "nobody@" not in shown and "nobody@" not in (pages / "data" / "data_quality_examples.csv").read_text()
    else:
        assert (exports["customers"]["rows_staged"], exports["orders"]["rows_staged"],
                exports["nps_responses"]["rows_staged"]) == ("40", "100", "30")
        with (folder / "nps_responses.csv").open(encoding="utf-8", newline="") as handle:
            answers = [r for r in csv.DictReader(handle)
                       if datetime.strptime(r["Date"], "%d/%m/%Y %H:%M").date() >= parse_period(period).start
                       and datetime.strptime(r["Date"], "%d/%m/%Y %H:%M").date() <= parse_period(period).end]
        nps = table("nps_summary")[0]
        assert int(nps["responses"]) == len(answers) > 0  # day-first dates read with the export's date_format
        assert int(nps["promoters"]) == sum(int(r["Score"]) >= 9 for r in answers)
        assert int(nps["detractors"]) == sum(int(r["Score"]) <= 6 for r in answers)


def test_params_of_the_first_week_support_and_activity_are_checked():
    from retention_report.exports import ExportError
    from retention_report.params import load_params
    from retention_report.validate import check_params

    check_params(load_params())  # the defaults pass
    for good in ({"activity": "events", "active_events": ["login"]}, {"activity": "both"}):
        check_params({**load_params(), **good})
    for change, message in [({"activity": "sessions"}, "activity must be orders, events, subscriptions or both, or a list"),
                            ({"active_events": "login"}, "active_events must be a list of event names"),
                            ({"onboarding": {"key_events": "app_installed"}}, "onboarding.key_events must be a list"),
                            ({"onboarding": {"window_days": 0}}, "onboarding.window_days must be a positive number"),
                            ({"response_target_hours": "24h"}, "response_target_hours must be a positive number")]:
        with pytest.raises(ExportError, match=message):
            check_params({**load_params(), **change})
