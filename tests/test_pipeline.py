"""The whole build on the sample data: each notebook's headline against an independent pandas computation."""

import math

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLE_PERIOD

START, END = pd.Timestamp("2024-04-01"), pd.Timestamp("2024-07-01")


@pytest.fixture(scope="module")
def raw(sample_data):
    read = lambda name: pd.read_csv(sample_data / f"{name}.csv", dtype=str, keep_default_na=False)
    return {name: read(name) for name in ("customers", "orders", "nps_responses", "touchpoints")}


def valid_orders(raw):
    orders = raw["orders"].copy()
    known = set(raw["customers"].customer_id) - {""}
    orders["ts"] = pd.to_datetime(orders.ordered_at, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    orders["amount_n"] = pd.to_numeric(orders.amount, errors="coerce")
    orders = orders[orders.ts.notna() & (orders.amount_n >= 0) & orders.customer_id.isin(known)]
    return orders.drop_duplicates("order_id", keep="first")


def test_cohort_triangle_equals_an_independent_pandas_computation(sample_site, raw):
    orders = valid_orders(raw)
    orders = orders[(orders.status == "completed") & (orders.ts < END)]
    month = orders.ts.dt.to_period("M")
    first = month.groupby(orders.customer_id).transform("min")
    frame = pd.DataFrame({"customer": orders.customer_id, "cohort": first, "k": (month - first).apply(lambda d: d.n)})
    active = frame.drop_duplicates().groupby(["cohort", "k"]).size()
    sizes = frame.drop_duplicates("customer").groupby("cohort").size()
    ours = pd.read_csv(sample_site.build_dir / "data" / "cohort_retention.csv", dtype={"cohort": str})
    assert set(ours.cohort) == {str(c) for c in sizes.index}
    last = pd.Period("2024-06", "M")
    assert len(ours) == sum((last - c).n + 1 for c in sizes.index)  # every cohort, every month, nothing after
    for row in ours.itertuples():
        cohort = pd.Period(row.cohort, "M")
        assert row.cohort_customers == sizes[cohort]
        assert row.active_customers == active.get((cohort, row.months_since_first), 0)
        assert math.isclose(row.retention_rate, row.active_customers / row.cohort_customers)


def test_nps_summary_equals_the_formula_on_the_raw_answers(sample_site, raw):
    answers = raw["nps_responses"]
    score = pd.to_numeric(answers.score, errors="coerce")
    at = pd.to_datetime(answers.responded_at, format="%Y-%m-%d %H:%M:%S", errors="coerce")
    known = set(raw["customers"].customer_id)
    ok = score.between(0, 10) & (score == score.round()) & ((answers.customer_id == "") | answers.customer_id.isin(known))
    in_period = score[ok & (at >= START) & (at < END)]
    n, p, d = len(in_period), int((in_period >= 9).sum()), int((in_period <= 6).sum())
    # Adjusted Wald (Rocks 2016): +0.75 detractors, +1.5 passives, +0.75 promoters, then Wald.
    pp, pd_ = (p + 0.75) / (n + 3), (d + 0.75) / (n + 3)
    half = 1.96 * math.sqrt(((pp + pd_) - (pp - pd_) ** 2) / (n + 3))
    summary = pd.read_csv(sample_site.build_dir / "data" / "nps_summary.csv").iloc[0]
    assert (summary.responses, summary.promoters, summary.detractors) == (n, p, d)
    assert summary.passives == n - p - d
    assert math.isclose(summary.nps, 100 * (p - d) / n)
    assert math.isclose(summary.ci_low, 100 * (pp - pd_ - half), abs_tol=1e-6)
    assert math.isclose(summary.ci_high, 100 * (pp - pd_ + half), abs_tol=1e-6)


def test_welcome_share_of_new_customers_equals_an_independent_computation(sample_site, raw):
    orders = valid_orders(raw)
    completed = orders[orders.status == "completed"]
    first = completed.groupby("customer_id").ts.min()
    new = first[(first >= START) & (first < END)]
    touch = raw["touchpoints"]
    welcome = touch[touch.kind.str.lower() == "welcome"].copy()
    welcome["day"] = pd.to_datetime(welcome.occurred_at, errors="coerce").dt.normalize()
    days = (welcome.set_index("customer_id").day - new.dt.normalize().reindex(welcome.customer_id).values).dt.days
    days = days[days >= 0]
    covered = sum(1 for c in new.index if c in days.index and (np.atleast_1d(days.loc[c]) <= 7).any())
    coverage = pd.read_csv(sample_site.build_dir / "data" / "touchpoint_coverage.csv")
    row = coverage[(coverage.segment == "all") & coverage.metric.str.startswith("welcomed")].iloc[0]
    assert (row.customers, row.covered) == (len(new), covered)
    assert row.rate > 0.6  # the welcome programme runs in 2024


def test_the_build_records_each_stage(sample_site):
    stages = [name for name, _ in sample_site.timings]
    assert stages[0] == "warehouse" and stages[-2:] == ["render", "publish"]
    assert any(name.startswith("notebook 10_cohort_retention") for name in stages)
    assert sample_site.renderer == "nbconvert"
    assert (sample_site.site / SAMPLE_PERIOD / "index.html").exists()
