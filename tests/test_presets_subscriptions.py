"""The Stripe subscriptions presets: the Dashboard's subscriptions CSV (`stripe`: one row per subscription as it
stands when exported) and the invoice line items (`stripe_invoice_lines`: one row per billing period, from which
the history is rebuilt). Their fixtures are staged with nothing but their params.yaml and every staged row is
compared with values written out here by hand; the set-aside rows are named by file, row and column."""

import csv
import shutil
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from retention_report import warehouse
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.presets import CURRENT_STATE_ONLY, HISTORY_NOTE, PRESETS, history_note

FIXTURES = Path(__file__).parent / "fixtures" / "exports"
COLUMNS = ("period_id", "subscription_id", "customer_id", "valid_from", "valid_to", "mrr", "amount", "interval",
           "interval_count", "quantity", "plan", "status", "trial_end", "cancelled_at", "cancel_reason", "currency")


def stage(folder: Path, tmp_path: Path, params_folder: Path | None = None) -> duckdb.DuckDBPyConnection:
    params = load_params(None, (params_folder or folder) / "params.yaml")
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", folder, parse_period("2024-Q1"),
                                     dict(params, keep_staging=True),
                                     layers=("staging",))
    return duckdb.connect(str(path), read_only=True)


def staged(con) -> dict[str, dict]:
    rows = con.execute(f"SELECT {', '.join(COLUMNS)} FROM stg_subscriptions ORDER BY _row").fetchall()
    return {r[0]: dict(zip(COLUMNS[1:], r[1:])) for r in rows}


def set_aside(con) -> list[tuple]:
    return con.execute("SELECT file, row, \"column\", reason FROM set_aside WHERE export = 'subscriptions' "
                       "ORDER BY row").fetchall()


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


def row(subscription, customer, valid_from, valid_to=None, *, mrr=None, amount=None, interval=None,
        interval_count=None, quantity=1, plan=None, status=None, trial_end=None, cancelled_at=None,
        cancel_reason=None, currency="EUR") -> dict:
    return {"subscription_id": subscription, "customer_id": customer, "valid_from": t(valid_from),
            "valid_to": valid_to and t(valid_to), "mrr": mrr and Decimal(mrr),
            "amount": amount and Decimal(amount), "interval": interval, "interval_count": interval_count,
            "quantity": quantity, "plan": plan, "status": status, "trial_end": trial_end and t(trial_end),
            "cancelled_at": cancelled_at and t(cancelled_at), "cancel_reason": cancel_reason, "currency": currency}


# --- the Dashboard's subscriptions CSV: current state only ----------------------------------------------------

CURRENT = {
    # upgraded from basic (10.00) to pro before the export: only the pro price shows, from the start
    "sub_A1": row("sub_A1", "cus_A1xY", "2024-01-05 10:00", amount="20.00", interval="month", plan="price_pro",
                  status="active"),
    # downgraded from pro to basic before the export: only basic shows
    "sub_B1": row("sub_B1", "cus_B1xY", "2024-01-10 12:00", amount="10.00", interval="month", plan="price_basic",
                  status="active"),
    # cancellation scheduled at the period's end: still active, it ends with its paid period
    "sub_C1": row("sub_C1", "cus_C1xY", "2024-01-01 08:00", "2024-04-01 08:00", amount="10.00", interval="month",
                  plan="price_basic", status="active", cancelled_at="2024-03-10 12:00", cancel_reason="too_expensive"),
    # on trial until 3 April
    "sub_D1": row("sub_D1", "cus_D1xY", "2024-03-20 09:00", amount="15.00", interval="month", plan="price_plus",
                  status="trialing", trial_end="2024-04-03 09:00"),
    # a yearly price for two seats
    "sub_E1": row("sub_E1", "cus_E1xY", "2024-01-20 15:00", amount="120.00", interval="year", quantity=2,
                  plan="price_team_year", status="active"),
    # Ann's second subscription
    "sub_A2": row("sub_A2", "cus_A1xY", "2024-02-01 00:00", amount="5.00", interval="month", quantity=3,
                  plan="price_addon", status="active"),
    # cancelled at once: ended
    "sub_B2": row("sub_B2", "cus_B1xY", "2024-01-15 00:00", "2024-02-15 00:00", amount="5.00", interval="month",
                  plan="price_addon", status="canceled", cancelled_at="2024-02-15 00:00",
                  cancel_reason="missing_features"),
}


def test_stripe_subscriptions_csv_stages_one_row_per_subscription(tmp_path):
    folder = FIXTURES / "stripe_subscriptions"
    con = stage(folder, tmp_path)
    assert staged(con) == CURRENT
    assert set_aside(con) == [(str(folder / "subscriptions.csv"), 8, "amount", "negative amount"),
                              (str(folder / "subscriptions.csv"), 9, "customer_id", "unknown customer")]
    # One row per subscription: the upgrade and the downgrade cannot be seen, which is what the page must say.
    with (folder / "subscriptions.csv").open(encoding="utf-8", newline="") as handle:
        ids = [r["id"] for r in csv.DictReader(handle)]
    assert len(ids) == len(set(ids)) == len(CURRENT) + 2


def test_history_note_is_given_for_the_current_state_preset_only():
    assert CURRENT_STATE_ONLY == {"stripe"}
    assert history_note("stripe") == history_note("Stripe") == HISTORY_NOTE
    assert "expansions and contractions before the export cannot be seen" in HISTORY_NOTE
    for source in ("stripe_invoice_lines", None, "", "zendesk"):
        assert history_note(source) is None


# --- the invoice line items: one row per billing period ---------------------------------------------------------

LINES = {
    # upgrade: two basic months, the prorations of the change on 20 February (kept, changing no month's MRR),
    # then pro from the next period
    "il_A101": row("sub_A1", "cus_A1xY", "2024-01-05 10:00", "2024-02-05 10:00", amount="10.00", interval="month",
                   plan="price_basic"),
    "il_A102": row("sub_A1", "cus_A1xY", "2024-02-05 10:00", "2024-03-05 10:00", amount="10.00", interval="month",
                   plan="price_basic"),
    "il_A103": row("sub_A1", "cus_A1xY", "2024-02-20 10:00", "2024-03-05 10:00", mrr="0.00", plan="price_basic"),
    "il_A104": row("sub_A1", "cus_A1xY", "2024-02-20 10:00", "2024-03-05 10:00", mrr="0.00", plan="price_pro"),
    "il_A105": row("sub_A1", "cus_A1xY", "2024-03-05 10:00", "2024-04-05 10:00", amount="20.00", interval="month",
                   plan="price_pro"),
    # downgrade at the renewal; the last period ends on 10 March (a cancellation at the period's end)
    "il_B101": row("sub_B1", "cus_B1xY", "2024-01-10 12:00", "2024-02-10 12:00", amount="20.00", interval="month",
                   plan="price_pro"),
    "il_B102": row("sub_B1", "cus_B1xY", "2024-02-10 12:00", "2024-03-10 12:00", amount="10.00", interval="month",
                   plan="price_basic"),
    # a gap (February) and a return
    "il_C101": row("sub_C1", "cus_C1xY", "2024-01-01 08:00", "2024-02-01 08:00", amount="10.00", interval="month",
                   plan="price_basic"),
    "il_C102": row("sub_C1", "cus_C1xY", "2024-03-01 08:00", "2024-04-01 08:00", amount="10.00", interval="month",
                   plan="price_basic"),
    # a quarterly price: 91 days are 3 months
    "il_C201": row("sub_C2", "cus_C1xY", "2024-01-01 00:00", "2024-04-01 00:00", amount="30.00", interval="month",
                   interval_count=3, plan="price_quarter"),
    # a 14-day trial (0.00, all trial), then 31 and 29 days (February 2024) paid monthly
    "il_D101": row("sub_D1", "cus_D1xY", "2024-01-15 09:00", "2024-01-29 09:00", mrr="0.00", amount="0.00",
                   plan="price_plus", trial_end="2024-01-29 09:00"),
    "il_D102": row("sub_D1", "cus_D1xY", "2024-01-29 09:00", "2024-02-29 09:00", amount="15.00", interval="month",
                   plan="price_plus"),
    "il_D103": row("sub_D1", "cus_D1xY", "2024-02-29 09:00", "2024-03-29 09:00", amount="15.00", interval="month",
                   plan="price_plus"),
    # a yearly price (366 days in 2024) for two seats: the line's 240.00 is for both, so quantity stays 1
    "il_E101": row("sub_E1", "cus_E1xY", "2024-01-20 15:00", "2025-01-20 15:00", amount="240.00", interval="year",
                   plan="price_team_year"),
    # Ann's second subscription, 3 seats at 5.00 on one line
    "il_A201": row("sub_A2", "cus_A1xY", "2024-02-01 00:00", "2024-03-01 00:00", amount="15.00", interval="month",
                   plan="price_addon"),
    "il_A202": row("sub_A2", "cus_A1xY", "2024-03-01 00:00", "2024-04-01 00:00", amount="15.00", interval="month",
                   plan="price_addon"),
}


def test_stripe_invoice_lines_stage_one_row_per_billing_period(tmp_path):
    folder = FIXTURES / "stripe_invoice_lines"
    con = stage(folder, tmp_path)
    assert staged(con) == LINES
    lines = str(folder / "invoice_line_items.csv")
    # a negative line that is no proration (a credit), and a 45-day period that is no interval
    assert set_aside(con) == [(lines, 17, "amount", "negative amount"),
                              (lines, 18, "interval", "not day, week, month or year")]


def test_consecutive_invoice_periods_abut_and_a_gap_shows(tmp_path):
    con = stage(FIXTURES / "stripe_invoice_lines", tmp_path)
    periods = con.execute("""SELECT subscription_id, valid_from, valid_to FROM stg_subscriptions
                             WHERE mrr IS NULL ORDER BY subscription_id, valid_from""").fetchall()
    gaps = {}
    for (sub, _, end), (next_sub, start, _) in zip(periods, periods[1:]):
        if sub == next_sub:
            gaps.setdefault(sub, []).append(start - end)
    assert {sub: {g.days for g in found} for sub, found in gaps.items()} == {
        "sub_A1": {0}, "sub_B1": {0}, "sub_C1": {29}, "sub_D1": {0}, "sub_A2": {0}}


def test_invoice_lines_in_unix_seconds_stage_alike(tmp_path):
    """The API's line items give periods as Unix seconds; a Sigma CSV as times. Both read the same."""
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "stripe_invoice_lines", data)
    lines = data / "invoice_line_items.csv"
    with lines.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for r in rows:
        for column in ("period_start", "period_end"):
            r[column] = str(int(t(r[column]).replace(tzinfo=timezone.utc).timestamp()))
    with lines.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert rows[0]["period_start"] == "1704448800"  # 2024-01-05 10:00 UTC
    con = stage(data, tmp_path)
    assert staged(con) == LINES


def test_invoice_lines_of_a_zero_decimal_currency_are_whole_units(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(FIXTURES / "stripe_invoice_lines", data)
    lines = data / "invoice_line_items.csv"
    text = lines.read_text(encoding="utf-8").splitlines()
    lines.write_text("\n".join([text[0], text[1].replace(",1000,eur,", ",1000,jpy,")]) + "\n", encoding="utf-8")
    con = stage(data, tmp_path)
    assert con.execute("SELECT amount, currency FROM stg_subscriptions").fetchall() == [(Decimal("1000.00"), "JPY")]


@pytest.mark.parametrize("source", ["stripe", "stripe_invoice_lines"])
def test_subscription_presets_name_the_documented_columns(source):
    preset = PRESETS[source]["subscriptions"]
    assert set(preset) <= {"columns", "compute"}  # row grain, no value map: Stripe's statuses are kept
    if source == "stripe":
        assert preset["columns"] == {
            "period_id": "id", "subscription_id": "id", "customer_id": "Customer ID", "status": "Status",
            "plan": "Plan", "quantity": "Quantity", "currency": "Currency", "interval": "Interval",
            "amount": "Amount", "cancel_reason": "Cancellation Reason"}
    else:
        assert preset["columns"] == {"period_id": "id", "subscription_id": "subscription",
                                     "customer_id": "customer_id", "currency": "currency", "plan": "price_id"}
        assert "status" not in preset["columns"] and "quantity" not in preset["columns"]
