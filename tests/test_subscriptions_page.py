"""The subscriptions page on hand histories: its MRR sentence and waterfall against sums worked by hand, the
24 months' table against the mart, and the lines it says when the export is absent or holds the current state
only. The lower sections (lifetimes, trials, reasons, who asked to cancel) are checked in
test_subscription_lives.py and at the end of this module."""

from __future__ import annotations

import pandas as pd

from conftest import customer, order
from test_subscriptions import sub

# One customer per movement in 2024-Q2 (April to June), each worked by hand below.
HISTORIES = [
    sub("s1", "c1", "2024-01-15", "2024-03-10", amount="10.00", interval="month"),
    sub("s1", "c1", "2024-03-10", "", amount="25.00", interval="month", plan="pro"),   # 25 throughout
    sub("s2", "c2", "2024-01-01", "2024-04-01", mrr="30.00", plan="pro"),
    sub("s2", "c2", "2024-04-01", "", mrr="12.00"),                                    # April: contraction 18
    sub("s4", "c4", "2024-01-05", "2024-02-10", mrr="20.00", status="canceled"),
    sub("s4b", "c4", "2024-05-03", "", mrr="20.00"),                                   # May: reactivation 20
    sub("s6", "c6", "2024-02-14", "", amount="240.00", interval="year", quantity="2"),  # 40 throughout
    sub("s7", "c7", "2024-03-25", "", amount="50.00", interval="month", trial_end="2024-04-08"),  # April: new 50
    sub("s8a", "c8", "2024-01-01", "2024-05-15", mrr="10.00"),                          # May: contraction 10
    sub("s8b", "c8", "2024-03-01", "", mrr="5.00"),
    sub("s9", "c9", "2024-01-10", "2024-06-05", mrr="8.00", status="canceled",        # June: churn 8
        cancelled_at="2024-05-20", cancel_reason="too expensive"),
]
CUSTOMERS = [customer(f"c{i}", "2023-01-01") for i in range(1, 10)]
ORDERS = [order("o1", "c1", "2024-12-31")]  # the data runs to the year's end: every month is covered


def _page(run_page, **extra):
    return run_page("45_subscriptions.ipynb", period="2024-Q2", customers=CUSTOMERS, orders=ORDERS,
                    subscriptions=HISTORIES, **extra)


def test_the_period_s_mrr_and_its_movements_are_the_hand_sums(run_page, tmp_path):
    text = _page(run_page)
    # Start (end of March): 25 + 30 + 40 + 15 + 8 = 118 (c4 churned in February, c7 still on trial).
    # End (end of June): 25 + 12 + 20 + 40 + 50 + 5 = 152; 118 + 50 new + 20 reactivation - 28 contraction - 8 churn.
    assert "MRR was **152.00** at the end of 2024-Q2, paid by 6 customers" in text
    assert "against 118.00 at its start: **+34.00** net new MRR: 50.00 new, 0.00 expansion and 20.00 " \
           "reactivation came in; 28.00 contraction and 8.00 churn went out." in text
    steps = pd.read_csv(tmp_path / "page" / "data" / "subscription_waterfall.csv")
    assert list(steps.amount) == [118, 50, 0, 20, 28, 8, 152]
    monthly = pd.read_csv(tmp_path / "page" / "data" / "subscription_mrr_monthly.csv")
    assert list(monthly.month) == [f"2024-0{m}-01" for m in range(1, 7)]  # subscriptions began in January
    # January 10 + 30 + 20 + 10 + 8; February without c4, with c6's 40; April c1 25, c2 12, c7 50, c8 15;
    # May c4 back at 20, c8 down to 5; June without c9.
    assert list(monthly.mrr_end) == [78, 98, 118, 150, 160, 152]
    assert (monthly.mrr_end == monthly.mrr_start + monthly.new_mrr + monthly.expansion_mrr + monthly.reactivation_mrr
            - monthly.contraction_mrr - monthly.churned_mrr).all()


def test_without_the_export_every_section_says_so(run_page):
    text = run_page("45_subscriptions.ipynb", period="2024-Q2", customers=CUSTOMERS, orders=ORDERS)
    assert "No subscription export (`subscriptions`) was provided, so this page has no figures." in text
    assert "so there is no recurring revenue to show" in text and "MRR was" not in text


def test_a_current_state_export_says_earlier_changes_cannot_be_seen(run_page):
    def from_stripe(path, params):  # the build read the hand rows; the page reads which preset named them
        params["exports"] = {"subscriptions": {"source": "stripe"}}

    text = _page(run_page, prepare=from_stripe)
    assert "expansions and contractions before the export cannot be seen" in text
    assert "cannot be seen" not in _page(run_page)


def _wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    centre, half = (k + z * z / 2) / (n + z * z), z * (k * (n - k) / n + z * z / 4) ** 0.5 / (n + z * z)
    return centre - half, centre + half


def test_churn_retention_and_the_cancellations_read_the_hand_histories(run_page):
    text = _page(run_page, params_override={"min_sample": 1})
    # Paying at the start: c1 25, c2 30, c6 40, c8 15, c9 8 (118); at the end c9 pays nothing: 1 of 5 churned.
    low, high = _wilson(1, 5)
    assert (f"Of the 5 customers paying at the start of 2024-Q2, 1 paid nothing at its end: logo churn "
            f"**20.0% ({low:.1%} to {high:.1%})**") in text
    # They pay 25 + 12 + 40 + 5 + 0 = 82 at the end: 82 / 118 kept, net and gross alike (nobody upgraded).
    assert "was 82.00 at the end: net MRR retention **69.5% (" in text and "(gross), 69.5% (" in text
    assert "net MRR churn 30.5% (" in text
    # c9 asked to cancel on 2024-05-20, 8.00 a month, and stopped paying on 2024-06-05.
    assert "**1** customers asked to cancel in 2024-Q2, 8.00 of MRR a month; 0 of them still pay" in text
    assert "**1** cancellations were asked for in 2024-Q2" in text
    # Nine subscriptions paid (s1, s2, s4, s4b, s6, s7 after its trial, s8a, s8b, s9); s4, s8a and s9 ended.
    assert "Of the **9** subscriptions that paid by the end of 2024-Q2, 3 have ended" in text
    assert "nan" not in text and "None" not in text


def test_below_min_sample_the_rates_are_too_few_to_judge(run_page):
    text = _page(run_page)  # the default min_sample is above five customers
    assert "logo churn **too few to judge**" in text and "Fewer than" in text
