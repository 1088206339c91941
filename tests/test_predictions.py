"""Who is slipping away, through a real build: orders simulated from the BG/NBD process itself (the holdout
passes, and P(alive) and expected purchases equal lifetimes' computed from the raw orders by its own pipeline),
from strictly periodic buyers (the holdout fails: "not reliable"), from too few customers (no model, no failed
build), and a planted customer who stopped buying since the previous period (valuable and slipping)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from conftest import customer, order

START = date(2022, 1, 3)
PARAMS = {"holdout_weeks": 26, "clv_time_unit": "weeks", "min_sample": 30}


def bgnbd_orders(n: int, seed: int, r=0.6, alpha=6.0, a=0.8, b=2.5, until=date(2024, 12, 31)) -> list[dict]:
    """Customers whose purchases follow BG/NBD: a Poisson rate per week ~ gamma(r, 1/alpha), a dropout chance
    after each purchase ~ beta(a, b); first purchases spread over 2022's first half-year."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(n):
        rate, drop = rng.gamma(r, 1 / alpha), rng.beta(a, b)
        day = START + timedelta(days=int(rng.integers(0, 180)))
        spend = rng.gamma(6.0, 4.0)
        k = 0
        while day <= until:
            rows.append(order(f"o{c}-{k}", f"c{c}", str(day), f"{max(1.0, rng.gamma(8, spend / 8)):.2f}"))
            k += 1
            if rng.random() < drop:
                break
            day += timedelta(days=int(min(5000, max(1, round(7 * rng.exponential(1 / rate))))))
    return rows


def _build(build_warehouse, orders, **params):
    people = sorted({o["customer_id"] for o in orders})
    return build_warehouse("2024-Q2", params_override=dict(PARAMS, **params),
                           customers=[customer(c, "2022-01-01") for c in people], orders=orders)


def _fit(con) -> dict:
    return con.execute("SELECT * FROM clv_fit").df().iloc[0].to_dict()


def test_on_bgnbd_data_the_holdout_passes_and_p_alive_equals_lifetimes_from_the_raw_orders(build_warehouse):
    lifetimes = pytest.importorskip("lifetimes")
    orders = bgnbd_orders(3000, seed=5)
    con = _build(build_warehouse, orders)
    fit = _fit(con)
    assert fit["status"] == "fitted" and fit["holdout_status"] == "checked"
    assert fit["holdout_error"] < 0.10 and fit["reliable"]
    assert fit["sees_leaving"] and fit["dropout_per_purchase"] == pytest.approx(fit["a"] / (fit["a"] + fit["b"]))
    # lifetimes' own pipeline from the raw orders: purchases by day, observed to the period's last day, in weeks.
    frame = pd.DataFrame(orders).assign(ordered_at=lambda f: pd.to_datetime(f.ordered_at),
                                        amount=lambda f: f.amount.astype(float))
    summary = lifetimes.utils.summary_data_from_transaction_data(
        frame[frame.ordered_at <= "2024-06-30"], "customer_id", "ordered_at", monetary_value_col="amount",
        observation_period_end="2024-06-30", freq="D")
    summary[["recency", "T"]] /= 7
    oracle = lifetimes.BetaGeoFitter().fit(summary.frequency, summary.recency, summary["T"])
    assert [fit[k] for k in ("r", "alpha", "a", "b")] == pytest.approx(
        [oracle.params_[k] for k in ("r", "alpha", "a", "b")], rel=1e-3)
    mine = con.execute("SELECT customer_id, p_alive, expected_purchases FROM clv_predictions").df() \
        .set_index("customer_id").loc[summary.index]
    alive = oracle.conditional_probability_alive(summary.frequency, summary.recency, summary["T"])
    horizon = 12 * 365.25 / 12 / 7  # twelve months in weeks
    expected = oracle.conditional_expected_number_of_purchases_up_to_time(horizon, summary.frequency,
                                                                          summary.recency, summary["T"])
    np.testing.assert_allclose(mine.p_alive, alive, rtol=2e-3, atol=1e-4)
    np.testing.assert_allclose(mine.expected_purchases, expected, rtol=2e-3, atol=1e-4)
    # The tracking table's last cumulative prediction is the holdout's predicted total, week by week adding up.
    tracking = con.execute("SELECT * FROM clv_tracking ORDER BY week").df()
    assert len(tracking) == 26 and tracking.predicted.sum() == pytest.approx(fit["holdout_predicted"])
    assert tracking.actual.sum() == fit["holdout_actual"]


def test_strictly_periodic_buyers_are_not_reliable(build_warehouse):
    # Everyone buys every 28 days, eight times, then stops: no Poisson purchases, no random dropout.
    orders = [order(f"o{c}-{k}", f"c{c}", str(START + timedelta(days=3 * c + 28 * k)))
              for c in range(200) for k in range(8)]
    fit = _fit(_build(build_warehouse, orders + [order("last", "c0", "2024-12-31")]))
    assert fit["status"] == "fitted" and fit["holdout_error"] > 0.15 and not fit["reliable"]


def test_too_few_customers_give_no_model_and_a_reason_not_a_failed_build(build_warehouse):
    con = _build(build_warehouse, [order("o1", "c1", "2024-01-05"), order("o2", "c1", "2024-02-05")])
    fit = _fit(con)
    assert fit["status"] == "not enough data" and "30" in fit["reason"] and not fit["reliable"]
    assert con.execute("SELECT count(*) FROM clv_predictions").fetchone()[0] == 0


def test_a_holdout_the_data_does_not_reach_is_not_checked(build_warehouse):
    orders = bgnbd_orders(1500, seed=2, until=date(2024, 6, 10))  # the data ends before the period does
    fit = _fit(_build(build_warehouse, orders))
    assert fit["holdout_status"] == "the data ends before the period does" and not fit["reliable"]


def test_a_valuable_customer_who_stopped_since_the_previous_period_is_slipping(build_warehouse):
    orders = bgnbd_orders(2500, seed=9)
    # Weekly buyers of large baskets through 2023 up to the previous period's end; one stops on 2024-03-25, the
    # other goes on.
    for who, last in (("stopped", date(2024, 3, 25)), ("goes_on", date(2024, 6, 24))):
        day = date(2023, 1, 2)
        while day <= last:
            orders.append(order(f"{who}-{day}", who, str(day), "400.00"))
            day += timedelta(days=7)
    con = _build(build_warehouse, orders)
    rows = con.execute("SELECT customer_id, p_alive, p_alive_previous, valuable_and_slipping, value_lost "
                       "FROM clv_predictions WHERE customer_id IN ('stopped', 'goes_on')").df().set_index("customer_id")
    assert rows.loc["stopped", "p_alive_previous"] > 0.9 and rows.loc["stopped", "p_alive"] < 0.1
    assert rows.loc["stopped", "valuable_and_slipping"] and rows.loc["stopped", "value_lost"] > 0
    assert not rows.loc["goes_on", "valuable_and_slipping"] and rows.loc["goes_on", "p_alive"] > 0.9


def test_params_the_models_cannot_use_are_refused():
    from retention_report.exports import ExportError
    from retention_report.validate import check_clv_params

    for bad, words in (({"clv_time_unit": "months"}, "weeks or days"), ({"holdout_weeks": 0}, "whole number"),
                       ({"alive_threshold": 1.5}, "between 0 and 1"), ({"max_holdout_error": 0}, "above 0"),
                       ({"discount_rate": -0.1}, "0 or more")):
        with pytest.raises(ExportError, match=words):
            check_clv_params(bad)
    check_clv_params({})


def test_the_call_list_names_the_slipping_customer_only_when_the_predictions_are_reliable(build_warehouse):
    orders = bgnbd_orders(2500, seed=9)
    day = date(2023, 1, 2)
    while day <= date(2024, 3, 25):
        orders.append(order(f"stopped-{day}", "stopped", str(day), "400.00"))
        day += timedelta(days=7)
    reliable = _build(build_warehouse, orders)
    reasons = dict(reliable.execute("SELECT customer_id, reasons FROM reach_out").fetchall())
    assert "valuable and slipping: P(alive) 9" in reasons["stopped"] and " at 2024-03-31, 0% now" in reasons["stopped"]
    assert _fit(reliable)["reliable"]
    # The same data with a holdout limit no prediction meets: nobody is called for slipping.
    strict = _build(build_warehouse, orders, max_holdout_error=1e-9)
    assert not _fit(strict)["reliable"]
    assert not any("slipping" in r for (r,) in strict.execute("SELECT reasons FROM reach_out").fetchall())


def never_leaving_orders() -> list[dict]:
    """BG/NBD buyers who (almost) never drop out, and one weekly big buyer who stopped on 2024-03-25."""
    orders = bgnbd_orders(2000, seed=3, a=0.01, b=200.0)
    day = date(2023, 1, 2)
    while day <= date(2024, 3, 25):
        orders.append(order(f"stopped-{day}", "stopped", str(day), "400.00"))
        day += timedelta(days=7)
    return orders


def test_a_fit_that_sees_no_one_leave_says_so_and_calls_nobody_for_slipping(build_warehouse):
    con = _build(build_warehouse, never_leaving_orders())
    fit = _fit(con)
    # The purchase predictions may pass their check; the chances of still being active tell nobody apart.
    assert fit["status"] == "fitted" and fit["dropout_per_purchase"] < 0.01 and not fit["sees_leaving"]
    assert not any("slipping" in r for (r,) in con.execute("SELECT reasons FROM reach_out").fetchall())


def test_groups_and_the_alive_distribution_add_up_to_the_predictions(build_warehouse):
    con = _build(build_warehouse, bgnbd_orders(1200, seed=4))
    predictions = con.execute("SELECT * FROM clv_predictions").df()
    groups = con.execute("SELECT * FROM clv_groups").df()
    everyone = groups[groups.breakdown == "all"].iloc[0]
    assert everyone.customers == len(predictions)
    assert everyone.mean_p_alive == pytest.approx(predictions.p_alive.mean())
    assert everyone.predicted_value == pytest.approx(predictions.predicted_value.sum())
    years = groups[groups.breakdown == "first purchase year"]
    assert years.customers.sum() == len(predictions) and set(years.group) == {"2022"}
    # Active in the last year: last purchase day within 365 days of the period's last day (weeks x 7).
    active = predictions[(predictions.age - predictions.recency) * 7 <= 365]
    assert everyone.active_last_year == len(active) and everyone.at_risk == (active.p_alive < 0.5).sum()
    bins = con.execute("SELECT bin, customers FROM clv_alive_distribution ORDER BY bin").fetchall()
    assert [b for b, _ in bins] == list(range(10)) and sum(n for _, n in bins) == len(active)
    assert dict(bins)[9] == ((active.p_alive >= 0.9)).sum()


def test_the_page_marks_predictions_that_fail_their_check_and_shows_those_that_pass(run_page):
    periodic = [order(f"o{c}-{k}", f"c{c}", str(START + timedelta(days=3 * c + 28 * k)))
                for c in range(200) for k in range(8)] + [order("last", "c0", "2024-12-31")]
    people = [customer(f"c{c}", "2022-01-01") for c in range(200)]
    text = run_page("50_lifetime_value.ipynb", period="2024-Q2", params_override=PARAMS, customers=people,
                    orders=periodic)
    assert "**Not reliable for this business:** Fitted on the data up to 26 weeks before" in text
    assert "beyond the 15% allowed (`max_holdout_error`)" in text
    assert text.count("**Not reliable for this business** (the check above)") >= 2


def test_the_page_on_data_the_model_fits(run_page):
    orders = bgnbd_orders(1500, seed=5)
    people = [customer(c, "2022-01-01") for c in sorted({o["customer_id"] for o in orders})]
    text = run_page("50_lifetime_value.ipynb", period="2024-Q2", params_override=PARAMS, customers=people,
                    orders=orders)
    assert "**Reliable for this business:** Fitted on the data up to 26 weeks before" in text
    assert "within the 15% allowed" in text and "Not reliable" not in text and "almost no one leave" not in text
    assert "customers who bought in the 12 months to the end of 2024-Q2" in text and "nan" not in text


def test_the_page_says_when_the_fit_sees_no_one_leave(run_page):
    orders = never_leaving_orders()
    people = [customer(c, "2022-01-01") for c in sorted({o["customer_id"] for o in orders})]
    text = run_page("50_lifetime_value.ipynb", period="2024-Q2", params_override=PARAMS, customers=people,
                    orders=orders)
    assert text.count("But the model sees almost no one leave: it puts the chance of leaving after a purchase at") == 2
    assert "so no customer can be seen slipping" in text and "nan" not in text


def test_the_page_without_enough_customers_says_so(run_page):
    text = run_page("50_lifetime_value.ipynb", period="2024-Q2", params_override=PARAMS,
                    customers=[customer("c1")], orders=[order("o1", "c1", "2024-01-05")])
    assert "No model could be fitted on the orders up to the end of 2024-Q2" in text and "nan" not in text
