"""The first week (onboarding): hand-computed fixtures for every onboarding mart, the activation effect wrapper and
the event split's intervals against independent computations, the planted activation effect (on and off) on the
generated sample, and the page without an events export or without key events."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from conftest import customer, event, order
from retention_report import warehouse
from retention_report.intervals import newcombe_difference, wilson_interval
from retention_report.onboarding import (activation_effect, activation_share, best_event, bonferroni_z, event_split,
                                         funnel_steps, monthly_shares)
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.touchpoints import stratified_difference

KEYS = ["app_installed", "profile_completed"]


def rows(con, sql):
    return con.execute(sql).fetchall()


# --- Activation, monthly, time, funnel, period counts -------------------------------------------------------------
@pytest.fixture
def first_week(build_warehouse):
    """2024-Q2, window 7 days from the first completed order's moment, key events app_installed then profile_completed.
    a: 04-01 10:00; install 04-01 12:00, profile 04-02, sessions of 100 s and 200 s -> activated, both funnel steps,
       300 s in week 1 (a session on day 9 does not count).
    b: 04-02 10:00; profile 04-03, install 04-04 -> activated (any order), funnel step 1 only (no profile after install).
    c: 04-10 10:00; install 04-17 09:59 (inside), profile 04-17 10:00 (the window's end: outside), a 60 s session ->
       not activated, funnel step 1.
    d: a refunded order 05-01, install 05-03 (before the first completed order), first completed order 05-05 -> nothing.
    g: 06-30 23:00; install 07-03, profile 07-04 (after the period, inside the window) -> activated, both steps.
    e: 2023-12-01, activated (not new in the period).  h: 2024-02-10, no events (previous period).
    f: only a refunded order, and key events (never a customer of ours: counted nowhere)."""
    return build_warehouse(
        period="2024-Q2",
        customers=[customer(c) for c in "abcdefgh"],
        orders=[order("o1", "a", "2024-04-01 10:00:00"), order("o2", "b", "2024-04-02 10:00:00"),
                order("o3", "c", "2024-04-10 10:00:00"), order("o4", "d", "2024-05-01 10:00:00", status="refunded"),
                order("o5", "d", "2024-05-05 10:00:00"), order("o6", "g", "2024-06-30 23:00:00"),
                order("o7", "e", "2023-12-01 10:00:00"), order("o8", "h", "2024-02-10 10:00:00"),
                order("o9", "f", "2024-04-01 10:00:00", status="refunded")],
        events=[
            event("e1", "a", "2024-04-01 12:00:00", "app_installed"), event("e2", "a", "2024-04-02 09:00:00", "profile_completed"),
            event("e3", "a", "2024-04-03 09:00:00", "session", "100"), event("e4", "a", "2024-04-05 09:00:00", "session", "200"),
            event("e5", "a", "2024-04-10 09:00:00", "session", "999"),
            event("e6", "b", "2024-04-03 09:00:00", "profile_completed"), event("e7", "b", "2024-04-04 09:00:00", "app_installed"),
            event("e8", "c", "2024-04-17 09:59:00", "app_installed"), event("e9", "c", "2024-04-17 10:00:00", "profile_completed"),
            event("e10", "c", "2024-04-11 09:00:00", "session", "60"),
            event("e11", "d", "2024-05-03 09:00:00", "app_installed"),
            event("e12", "g", "2024-07-03 09:00:00", "app_installed"), event("e13", "g", "2024-07-04 09:00:00", "profile_completed"),
            event("e14", "e", "2023-12-02 09:00:00", "app_installed"), event("e15", "e", "2023-12-03 09:00:00", "profile_completed"),
            event("e16", "f", "2024-04-01 11:00:00", "app_installed"), event("e17", "f", "2024-04-01 12:00:00", "profile_completed"),
        ],
    )


def test_period_counts_by_hand(first_week):
    assert rows(first_week, "SELECT * FROM onboarding_period_counts") == [
        ("current", 5, 3), ("previous", 1, 0), ("year_ago", 0, 0)]  # a b c d g (a b g activated); h


def test_monthly_activation_by_hand(first_week):
    got = {(m, e): (n, a, k) for m, n, a, s, e, k in rows(first_week, "SELECT * FROM onboarding_monthly")}
    assert len(got) == 48 and min(m for m, _ in got) == "2022-07" and max(m for m, _ in got) == "2024-06"
    assert got["2024-04", "app_installed"] == (3, 2, 3)      # a b c; activated a b; installed a b c
    assert got["2024-04", "profile_completed"] == (3, 2, 2)  # a b (c's profile is on the window's end)
    assert got["2024-05", "app_installed"] == (1, 0, 0)      # d installed before the first completed order
    assert got["2024-06", "profile_completed"] == (1, 1, 1)  # g, after the period but inside the window
    assert got["2023-12", "app_installed"] == (1, 1, 1) and got["2024-02", "app_installed"] == (1, 0, 0)
    assert sum(n for (m, e), (n, _, _) in got.items() if e == "app_installed") == 7  # f never counted
    wide = monthly_shares(first_week.execute("SELECT * FROM onboarding_monthly").df()).set_index("month")
    assert list(wide.columns) == ["new_customers", "activated"] + [
        f"{name}_{part}" for name in ("activation", "app_installed", "profile_completed")
        for part in ("share", "ci_low", "ci_high")]
    assert wide.loc["2024-04", "activation_share"] == pytest.approx(2 / 3)
    assert wide.loc["2024-04", "profile_completed_share"] == pytest.approx(2 / 3)
    # each month's share carries its Wilson interval: 2 of 3, by the closed form (2s + z^2 -/+ z sqrt(z^2 +
    # 4 s (n - s) / n)) / (2 (n + z^2)); 3 of 3 installed: the upper bound is 1
    z = 1.959963984540054
    spread = z * math.sqrt(z * z + 4 * 2 * 1 / 3)
    assert (wide.loc["2024-04", "activation_ci_low"], wide.loc["2024-04", "activation_ci_high"]) == pytest.approx(
        ((4 + z * z - spread) / (2 * (3 + z * z)), (4 + z * z + spread) / (2 * (3 + z * z))))
    assert wide.loc["2024-04", "app_installed_ci_high"] == 1.0
    assert math.isnan(wide.loc["2023-01", "activation_share"])  # no new customers: no share, never 0%
    assert math.isnan(wide.loc["2023-01", "activation_ci_low"])


def test_week_time_by_hand(first_week):
    got = {m: r for m, *r in rows(first_week, "SELECT * FROM onboarding_week_time")}
    assert len(got) == 24
    # a: 100 + 200 (the day-9 session is outside); c: 60; b has no duration: median of [60, 300], 75th percentile
    assert got["2024-04"] == [3, 2, 180.0, 60 + 0.75 * 240]
    assert got["2024-06"] == [1, 0, None, None]


def test_funnel_by_hand(first_week):
    funnel = rows(first_week, "SELECT * FROM onboarding_funnel")
    # step 1: a b c g (d installed before its first completed order); step 2: a g (b's profile came before its install)
    assert funnel == [(1, "app_installed", 4, 5), (2, "profile_completed", 2, 5)]
    steps = funnel_steps(first_week.execute("SELECT * FROM onboarding_funnel").df())
    assert steps.share_of_new.tolist() == pytest.approx([0.8, 0.4])
    assert steps.share_of_step_before.tolist() == pytest.approx([0.8, 0.5])


def test_funnel_order_follows_the_params(build_warehouse):
    """With the steps reversed, b (profile, then install) goes through and a (install, then profile) stops."""
    con = build_warehouse(
        period="2024-Q2", params_override={"onboarding": {"key_events": ["profile_completed", "app_installed"],
                                                          "window_days": 7}},
        customers=[customer("a"), customer("b")],
        orders=[order("o1", "a", "2024-04-01 10:00:00"), order("o2", "b", "2024-04-02 10:00:00")],
        events=[event("e1", "a", "2024-04-01 12:00:00", "app_installed"), event("e2", "a", "2024-04-02 09:00:00", "profile_completed"),
                event("e3", "b", "2024-04-03 09:00:00", "profile_completed"), event("e4", "b", "2024-04-04 09:00:00", "app_installed")])
    assert rows(con, "SELECT step, event, customers FROM onboarding_funnel") == [
        (1, "profile_completed", 2), (2, "app_installed", 1)]


def test_activation_share_carries_the_wilson_interval(first_week):
    share = activation_share(first_week.execute("SELECT * FROM onboarding_period_counts").df())
    assert (share["new_customers"], share["activated"], share["share"]) == (5, 3, 0.6)
    assert (share["ci_low"], share["ci_high"]) == pytest.approx(wilson_interval(3, 5))
    none = activation_share(first_week.execute("SELECT * FROM onboarding_period_counts").df(), "year_ago")
    assert math.isnan(none["share"]) and math.isnan(none["ci_low"])


def test_no_key_events_means_no_one_is_activated(build_warehouse):
    con = build_warehouse(period="2024-Q2", params_override={"onboarding": {"key_events": [], "window_days": 7}},
                          customers=[customer("a")], orders=[order("o1", "a", "2024-04-01 10:00:00")],
                          events=[event("e1", "a", "2024-04-01 12:00:00", "app_installed")])
    assert rows(con, "SELECT * FROM onboarding_period_counts WHERE period_role = 'current'") == [("current", 1, 0)]
    assert rows(con, "SELECT count(*) FROM onboarding_funnel") == [(0,)]
    assert rows(con, "SELECT count(*), count(key_step) FROM onboarding_monthly") == [(24, 0)]


# --- Does activation pay; which event separates -------------------------------------------------------------------
@pytest.fixture
def followup(build_warehouse):
    """2024-Q2; the data's last order day is 2024-09-01 (x's first order, after the period: not compared).
    p1 2024-01-10 £10 activated: orders on day 5 (inside the week: counts for nothing) and day 51 -> retained 90, 180.
    p2 2024-01-11 £20 not activated: an order on day 8 (the first day after the week) -> retained 90, 180.
    p3 2024-01-12 £30 activated: an order on day 100 -> retained at 180 only.
    p4 2024-01-13 £40 not activated: no other order.
    p5 2024-05-01 £50 activated: no other order; day 90 (07-30) is in the data, day 180 (10-28) is not.
    Quartiles of the first order's amount over the five: p1 p2 -> 1, p3 -> 2, p4 -> 3, p5 -> 4.
    Wishlists for p2 and p4; a session for p2 on day 9 (outside the week)."""
    activated = [("p1", "2024-01-10"), ("p3", "2024-01-12"), ("p5", "2024-05-01")]
    events = []
    for cid, day in activated:
        events += [event(f"{cid}i", cid, f"{day} 12:00:00", "app_installed"),
                   event(f"{cid}p", cid, f"{day} 13:00:00", "profile_completed")]
    events += [event("w2", "p2", "2024-01-12 09:00:00", "wishlist_created"),
               event("w4", "p4", "2024-01-14 09:00:00", "wishlist_created"),
               event("s2", "p2", "2024-01-20 09:00:00", "session", "100")]

    def build(min_sample=1):
        return build_warehouse(
            period="2024-Q2", params_override={"min_sample": min_sample},
            customers=[customer(c) for c in ["p1", "p2", "p3", "p4", "p5", "x"]],
            orders=[order("o1", "p1", "2024-01-10 10:00:00", "10.00"), order("o1b", "p1", "2024-01-15 10:00:00"),
                    order("o1c", "p1", "2024-03-01 10:00:00"),
                    order("o2", "p2", "2024-01-11 10:00:00", "20.00"), order("o2b", "p2", "2024-01-19 08:00:00"),
                    order("o3", "p3", "2024-01-12 10:00:00", "30.00"), order("o3b", "p3", "2024-04-21 10:00:00"),
                    order("o4", "p4", "2024-01-13 10:00:00", "40.00"),
                    order("o5", "p5", "2024-05-01 10:00:00", "50.00"),
                    order("o6", "x", "2024-09-01 10:00:00", "60.00")],
            events=events)

    return build


def test_effect_strata_by_hand(followup):
    got = rows(followup(), "SELECT * FROM onboarding_effect_strata")
    q1, q2 = "2024-Q1 / first order quartile ", "2024-Q2 / first order quartile "
    assert got == [
        (90, q1 + "1", "activated", 1, 1), (90, q1 + "1", "not_activated", 1, 1),  # p1 day 51; p2 day 8
        (90, q1 + "2", "activated", 1, 0),                                          # p3: day 100 is too late
        (90, q1 + "3", "not_activated", 1, 0),                                      # p4
        (90, q2 + "4", "activated", 1, 0),                                          # p5
        (90, "left out: follow-up not over", "all", 0, 0),
        (180, q1 + "1", "activated", 1, 1), (180, q1 + "1", "not_activated", 1, 1),
        (180, q1 + "2", "activated", 1, 1), (180, q1 + "3", "not_activated", 1, 0),
        (180, "left out: follow-up not over", "all", 1, 0),                         # p5
    ]


def test_activation_effect_is_the_touchpoint_comparison_of_activated_and_not():
    """Against an independent computation: two strata, weights by size, variance sum w^2 (p1 q1/n1 + p0 q0/n0)."""
    strata = pd.DataFrame({
        "horizon_days": [90] * 5, "stratum": ["s1", "s1", "s2", "s2", "s3"],
        "group": ["activated", "not_activated", "activated", "not_activated", "activated"],
        "customers": [100, 300, 50, 50, 10], "retained": [60, 120, 30, 20, 9]})
    effect = activation_effect(strata)
    assert set(effect.group) == {"activated", "not_activated", "difference"}
    d = effect[effect.group == "difference"].iloc[0]
    w1, w2 = 400 / 500, 100 / 500  # s3 has no not-activated customers: left out of the difference
    estimate = w1 * (0.6 - 0.4) + w2 * (0.6 - 0.4)
    se = math.sqrt(w1 ** 2 * (0.6 * 0.4 / 100 + 0.4 * 0.6 / 300) + w2 ** 2 * (0.6 * 0.4 / 50 + 0.4 * 0.6 / 50))
    assert (d.retention_rate, d.customers) == (pytest.approx(estimate), 500)
    assert (d.ci_low, d.ci_high) == pytest.approx((estimate - 1.959964 * se, estimate + 1.959964 * se), abs=1e-6)
    renamed = strata.assign(group=strata.group.map({"activated": "thanked", "not_activated": "not_thanked"}))
    same = stratified_difference(renamed).replace({"group": {"thanked": "activated", "not_thanked": "not_activated"}})
    pd.testing.assert_frame_equal(effect.set_index(["stratum", "group"]).sort_index(),
                                  same.set_index(["stratum", "group"]).sort_index())


def test_event_split_by_hand(followup):
    # 90-day follow-up over: p1..p5; retained at 90: p1, p2. Doers in the first week: app/profile p1 p3 p5 (1 kept);
    # wishlist p2 p4 (1 kept); p2's session is on day 9 (outside the week).
    assert rows(followup(), "SELECT * FROM onboarding_event_split") == [
        ("app_installed", 90, 3, 1, 2, 1), ("profile_completed", 90, 3, 1, 2, 1), ("wishlist_created", 90, 2, 1, 3, 1)]
    assert [r[0] for r in rows(followup(min_sample=3), "SELECT * FROM onboarding_event_split")] == [
        "app_installed", "profile_completed"]  # wishlist_created: 2 doers, fewer than min_sample


def test_newcombe_interval_against_the_published_example():
    """Newcombe (1998) Statistics in Medicine 17:873-890, table II, example (a): 56/70 - 48/80, method 10."""
    d, low, high = newcombe_difference(56, 70, 48, 80)
    assert float(d) == pytest.approx(0.2)
    assert (float(low), float(high)) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_event_split_intervals_and_the_bonferroni_adjustment():
    split = pd.DataFrame({"event": ["a", "b", "c"], "horizon_days": 90, "customers_did": [200, 100, 50],
                          "retained_did": [120, 50, 20], "customers_not": [300, 400, 450], "retained_not": [150, 220, 250]})
    out = event_split(split)
    assert out.event.tolist() == ["c", "a", "b"]  # by the size of the difference: -0.156, +0.1, -0.05
    assert bonferroni_z(3) == pytest.approx(norm.ppf(1 - 0.05 / 6)) and bonferroni_z(1) == pytest.approx(norm.ppf(0.975))
    a = out.set_index("event").loc["a"]
    # Newcombe by hand from the Wilson bounds, at z = 1.96 and at the Bonferroni z for 3 comparisons
    for z, (lo, hi) in ((norm.ppf(0.975), ("ci_low", "ci_high")), (norm.ppf(1 - 0.05 / 6), ("adjusted_low", "adjusted_high"))):
        (l1, u1), (l0, u0) = wilson_interval(120, 200, z), wilson_interval(150, 300, z)
        assert a[lo] == pytest.approx(0.1 - math.sqrt((0.6 - l1) ** 2 + (u0 - 0.5) ** 2))
        assert a[hi] == pytest.approx(0.1 + math.sqrt((u1 - 0.6) ** 2 + (0.5 - l0) ** 2))
    assert (out.adjusted_low < out.ci_low).all() and (out.adjusted_high > out.ci_high).all()
    assert best_event(out).event == "c"
    assert best_event(event_split(split.iloc[0:0])) is None


# --- The planted effect on the generated sample ------------------------------------------------------------------
def _effect_and_best(folder, tmp_path, name):
    path = warehouse.build_warehouse(tmp_path / f"{name}.duckdb", folder, parse_period("2024-Q2"), load_params(),
                                     layers=("staging", "marts"))
    import duckdb
    with duckdb.connect(str(path), read_only=True) as con:
        strata = con.execute("SELECT * FROM onboarding_effect_strata WHERE \"group\" != 'all'").df()
        split = event_split(con.execute("SELECT * FROM onboarding_event_split").df())
    return activation_effect(strata), split


def _came_back_after_day_90_of_those_not_back_by_it(folder, period_end: str, window: int = 7) -> float:
    """Of the customers (first completed order before `period_end`) with no completed order on days window + 1
    to 90 after their first, the share with one on days 91 to 180: from orders.csv, not from the warehouse."""
    orders = pd.read_csv(folder / "orders.csv", dtype=str, keep_default_na=False)
    orders["day"] = pd.to_datetime(orders.ordered_at, errors="coerce").dt.normalize()
    orders = orders[(orders.status == "completed") & orders.day.notna()]
    first = orders.groupby("customer_id").day.min()
    first = first[first < period_end]
    later = orders.join(first.rename("first"), on="customer_id", how="inner")
    later = later[later.day > later["first"] + pd.Timedelta(days=window)]
    days = (later.groupby("customer_id").day.min() - first).dt.days.reindex(first.index)  # NaN: never again
    not_back = days.isna() | (days > 90)
    return float((not_back & (days <= 180)).sum() / not_back.sum())


def test_the_planted_activation_effect_is_found(sample_data, tmp_path):
    """Activation is planted on days 8-90 (+15 points). By day 180 a customer not back by day 90 comes back with
    chance q whatever their first week (sample_data), so the gap at 180 days is +15 x (1 - q)."""
    from retention_report.sample_data import ACTIVATION_RETENTION_GAP

    effect, split = _effect_and_best(sample_data, tmp_path, "planted")
    diffs = effect[effect.group == "difference"].set_index("horizon_days")
    d = diffs.loc[90]
    assert d.ci_low > 0 and 0.10 < d.retention_rate < 0.20  # planted: +15 points on days 8-90
    q = _came_back_after_day_90_of_those_not_back_by_it(sample_data, "2024-07-01")
    assert 0 < q < 0.5
    d = diffs.loc[180]
    assert d.ci_low > 0 and 0.10 * (1 - q) < d.retention_rate < 0.20 * (1 - q)
    assert d.ci_low < ACTIVATION_RETENTION_GAP * (1 - q) < d.ci_high
    assert best_event(split).event in ("profile_completed", "app_installed")
    wishlist = split.set_index("event").loc["wishlist_created"]
    assert wishlist.adjusted_low < 0 < wishlist.adjusted_high  # planted as unrelated


def test_without_the_planted_effect_the_interval_holds_zero(tmp_path):
    from retention_report.sample_data import write_sample_data

    folder = tmp_path / "null"
    write_sample_data(folder, customers=20_000, activation_effect=False)
    effect, _ = _effect_and_best(folder, tmp_path, "null")
    diffs = effect[effect.group == "difference"].set_index("horizon_days")
    assert sorted(diffs.index) == [90, 180]
    for horizon, d in diffs.iterrows():  # 3 and 6 months
        assert d.ci_low < 0 < d.ci_high, horizon


# --- The page ---------------------------------------------------------------------------------------------------
def test_the_page_without_an_events_export_says_so_in_every_section(run_page):
    text = run_page("15_onboarding.ipynb", customers=[customer("a")], orders=[order("o1", "a", "2024-02-01 10:00:00")])
    absent = "No product event export (`events`) was provided"
    assert text.count(absent) == 7  # the page's opening line and each of its six sections
    for word in ("nan", "None", "NaN", "(blank)"):
        assert word not in text


def test_the_page_without_key_events_says_so(run_page):
    text = run_page("15_onboarding.ipynb", params_override={"onboarding": {"key_events": [], "window_days": 7}},
                    customers=[customer("a")], orders=[order("o1", "a", "2024-02-01 10:00:00")],
                    events=[event("e1", "a", "2024-02-01 12:00:00", "session", "120")])
    assert text.count("No key events are configured (`onboarding.key_events`") == 5
    assert "minutes" in text  # time in the product needs no key event
    for word in ("nan", "None", "NaN"):
        assert word not in text


def _visible_text(page: str) -> str:
    """A page's words as a reader sees them: scripts (the charts' data) and tags dropped, entities read."""
    import html
    import re

    page = re.sub(r"<script\b.*?</script>", " ", page, flags=re.S)
    page = re.sub(r"</?(?:em|strong|code|a|span)\b[^>]*>", "", page)  # inside a sentence: no space
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def _funnel_rows(page: str) -> list[list[str]]:
    """The cells of the funnel table's body rows (the table after the funnel's caption)."""
    import html
    import re

    table = page[page.index("key events done in order within"):]
    body = table[table.index("<tbody>"):table.index("</tbody>")]
    return [[html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_page_with_events_shows_the_funnel_verdicts_and_cautions(sample_site, sample_data):
    """The sample's onboarding page (events, key events app_installed then profile_completed, the effect planted):
    the funnel against the new customers and steps counted here from orders.csv and events.csv, its shares
    shares; a verdict for each horizon; the multiple-comparison caution and the association caveats."""
    import re

    from conftest import SAMPLE_PERIOD

    page = (sample_site.site / SAMPLE_PERIOD / "onboarding.html").read_text(encoding="utf-8")
    text = _visible_text(page)
    # New customers of 2024-Q2 (first completed order in it) and the funnel, counted here: step 1 an install in
    # the first 7 days, step 2 a completed profile after that install, in the same 7 days.
    orders = pd.read_csv(sample_data / "orders.csv", dtype=str, keep_default_na=False)
    orders["at"] = pd.to_datetime(orders.ordered_at, errors="coerce")
    first = orders[(orders.status == "completed") & orders["at"].notna()].groupby("customer_id")["at"].min()
    new = first[(first >= "2024-04-01") & (first < "2024-07-01")]
    events = pd.read_csv(sample_data / "events.csv", dtype=str, keep_default_na=False)
    events["at"] = pd.to_datetime(events.occurred_at, errors="coerce")
    events = events.join(new.rename("day0"), on="customer_id", how="inner")
    week = events[(events["at"] >= events.day0) & (events["at"] < events.day0 + pd.Timedelta(days=7))]
    installed = week[week.event == "app_installed"].groupby("customer_id")["at"].min()
    profiles = week[week.event == "profile_completed"].join(installed.rename("installed_at"), on="customer_id",
                                                              how="inner")
    steps = [len(installed), profiles[profiles["at"] > profiles.installed_at].customer_id.nunique()]
    assert len(new) > 1000 and steps[0] > steps[1] > 0
    assert f"The funnel of 2024-Q2's {len(new):,} new customers" in text
    rows = _funnel_rows(page)
    assert [r[:3] for r in rows] == [["1", "app_installed", f"{steps[0]:,}"], ["2", "profile_completed", f"{steps[1]:,}"]]
    for row, share_of_new, share_of_before in zip(rows, [s / len(new) for s in steps],
                                                  [steps[0] / len(new), steps[1] / steps[0]]):
        for cell, share in zip(row[3:], (share_of_new, share_of_before)):
            assert cell.endswith("%") and 0 <= float(cell[:-1]) <= 100, row
            assert cell == f"{share:.1%}", row
    worst = min(range(2), key=lambda i: [steps[0] / len(new), steps[1] / steps[0]][i])
    assert (f"The largest drop is before step {worst + 1} ({['app_installed', 'profile_completed'][worst]}): "
            f"{[steps[0] / len(new), steps[1] / steps[0]][worst]:.1%} of those who reached the step before took it."
            in text)
    # A verdict at each horizon: planted, so beyond the interval at 3 and 6 months.
    for horizon in (90, 180):
        assert re.search(rf"{horizon} days: the share of activated customers who ordered again between day 8 and "
                         rf"day {horizon} differed by \+\d+\.\d points .*?: activated customers ordered again more "
                         r"often, beyond the 95% interval\.", text), horizon
    # The multiple-comparison caution (Bonferroni) and the association caveats.
    assert re.search(r"With (\d+) events compared, the best-looking one is partly picked by chance: adjusted for "
                     r"the \1 comparisons \(Bonferroni\), its interval is [+-]\d+\.\d to [+-]\d+\.\d points, which "
                     r"(still excludes 0|includes 0, so it may be chance)\.", text)
    assert "This is an association, not proof that activation causes retention" in text
    assert "An association, not an experiment: it does not show that getting more customers" in text
    assert "this is an association: doing the event may only mark a keener customer" in text
    for word in ("nan", "None", "NaN", "NaT", "(blank)", "nan%"):
        assert word not in text.split(), word


# --- Activity from product events: day 0 is the first activity, coming back is any activity ----------------------
@pytest.fixture
def usage_followup(build_warehouse):
    """2024-Q1, activity from events (any event), key events app_installed then profile_completed, 7 days.
    u1 never orders: installs 01-10, completes the profile 01-11 (activated), a session on 02-01 (day 22) and one on
       12-01 (the data's last event: every follow-up is over).
    u2 never orders: installs 01-12 (not activated), a session on day 3 (inside the week), nothing after.
    u3 orders on 01-05 (20.00); first event a session on 01-20: with events day 0 is 01-20 and nothing follows; with
       orders, day 0 is 01-05 and no order follows (and the last order's day, 01-05, ends every follow-up at once);
       with both, day 0 is 01-05 and the session of 01-20 (day 15) is coming back."""
    events = [event("a", "u1", "2024-01-10 12:00:00", "app_installed"), event("b", "u1", "2024-01-11 12:00:00", "profile_completed"),
              event("c", "u1", "2024-02-01 12:00:00", "session", "60"), event("d", "u1", "2024-12-01 12:00:00", "session"),
              event("e", "u2", "2024-01-12 12:00:00", "app_installed"), event("f", "u2", "2024-01-15 12:00:00", "session"),
              event("g", "u3", "2024-01-20 12:00:00", "session")]

    def build(activity):
        return build_warehouse(period="2024-Q1", params_override={"activity": activity, "min_sample": 1},
                               customers=[customer(c, "2023-12-01") for c in ("u1", "u2", "u3")],
                               orders=[order("o1", "u3", "2024-01-05 10:00:00", "20.00")], events=events)

    return build


def test_with_activity_from_events_day_0_is_the_first_activity_and_any_activity_is_coming_back(usage_followup):
    con = usage_followup("events")
    assert rows(con, "SELECT * FROM onboarding_period_counts") == [
        ("current", 3, 1), ("previous", 0, 0), ("year_ago", 0, 0)]  # u1 u2 u3 are new; u1 activated
    q1 = "2024-Q1 / "
    expected = [(q1 + "first order quartile 1", "not_activated", 1, 0),  # u3: nothing after 01-20
                (q1 + "no completed order", "activated", 1, 1),         # u1: the session on day 22
                (q1 + "no completed order", "not_activated", 1, 0),     # u2: only inside the week
                ("left out: follow-up not over", "all", 0, 0)]
    assert rows(con, "SELECT * FROM onboarding_effect_strata") == [(h, *r) for h in (90, 180) for r in expected]
    # the event split reads the same follow-up: app_installed done by u1 (kept) and u2 (not), against u3
    assert rows(con, "SELECT * FROM onboarding_event_split WHERE event = 'app_installed'") == [
        ("app_installed", 90, 2, 1, 1, 0)]


def test_with_orders_or_both_the_same_usage_counts_as_the_activity_says(usage_followup):
    # orders: u3 alone is a customer; the data ends with its only order, so no follow-up is over
    assert rows(usage_followup("orders"), "SELECT horizon_days, stratum, customers FROM onboarding_effect_strata") == [
        (90, "left out: follow-up not over", 1), (180, "left out: follow-up not over", 1)]
    # both: u3's day 0 is its order and its session on day 15 is coming back
    got = rows(usage_followup("both"), "SELECT * FROM onboarding_effect_strata WHERE horizon_days = 90")
    assert (90, "2024-Q1 / first order quartile 1", "not_activated", 1, 1) in got


def test_the_page_with_activity_from_events_speaks_of_activity(run_page):
    events = [event(f"i{c}", c, f"2024-01-{d:02d} 12:00:00", "app_installed") for c, d in (("u1", 3), ("u2", 4))]
    events += [event("p1", "u1", "2024-01-04 12:00:00", "profile_completed"),
               event("s1", "u1", "2024-02-20 12:00:00", "session", "30"), event("s2", "u2", "2024-06-30 12:00:00", "session")]
    # u3 orders and never uses the product: with activity from events no customer of this page
    text = run_page("15_onboarding.ipynb", params_override={"activity": "events", "min_sample": 1},
                    customers=[customer(c) for c in ("u1", "u2", "u3")], orders=[order("o1", "u3", "2024-02-01 10:00:00")],
                    events=events)
    assert "The first week: from the first activity to 7 days after it." in text
    assert "customers whose first activity fell in 2024-Q1" in text
    assert "were active again" in text and "ordered again" not in text
    for word in ("nan", "None", "NaN", "(blank)"):
        assert word not in text
