"""The cohort page at the edges of the data and of small groups: cohorts that may include customers from before the
data, average-curve months pooled from too few cohorts, a median lifetime of 0 days, ties among segments, and the
charts' month axes, legend and segment limit."""

from __future__ import annotations

from datetime import date

import nbformat
import pandas as pd
import pytest

from conftest import customer, order
from retention_report import cohorts
from retention_report.coverage import DataSpan

# --- Which cohorts may include customers from before the data ------------------------------------------------


@pytest.mark.parametrize("first_day, flagged", [
    # The real export: data from 2010-12-01; 2011-03-01 is exactly 90 days later, so a customer first seen then
    # was silent for more than 90 days before, if they ever bought: new.
    (date(2010, 12, 1), {"2010-12", "2011-01", "2011-02"}),
    (date(2010, 12, 2), {"2010-12", "2011-01", "2011-02", "2011-03"}),   # one day later: March may too
    (date(2010, 9, 1), {"2010-09", "2010-10", "2010-11"}),               # data starting before the cohorts
    (date(2011, 2, 15), {"2011-02", "2011-03", "2011-04", "2011-05"}),   # starting inside a month
])
def test_cohorts_beginning_within_the_churn_window_of_the_data_start_are_marked(first_day, flagged):
    months = [str(p) for p in pd.period_range(max(first_day, date(2010, 9, 1)), "2011-08", freq="M")]
    cells = pd.DataFrame({"cohort": months, "months_since_first": 0})
    marked = cohorts.mark_data_start(cells, DataSpan(first_day, date(2011, 12, 9)), 90)
    assert set(marked.loc[marked.may_predate_data, "cohort"]) == flagged
    assert marked.may_predate_data.dtype == bool


def test_quarterly_cohorts_use_the_same_rule():
    cells = pd.DataFrame({"cohort": ["2010-Q4", "2011-Q1", "2011-Q2", "2011-Q3"]})
    marked = cohorts.mark_data_start(cells, DataSpan(date(2010, 12, 1), date(2011, 12, 9)), 90)
    assert marked.may_predate_data.tolist() == [True, True, False, False]  # 2011-04-01 is 121 days in


def test_the_cohort_bounds_mart_gives_the_data_start(build_warehouse):
    con = build_warehouse(customers=[customer(c) for c in "abc"],
                          orders=[order("1", "a", "2024-01-03"), order("2", "b", "2024-02-10"),
                                  order("3", "c", "2024-03-20"), order("4", "a", "2024-03-25")],
                          period="2024-Q2")
    span = DataSpan.from_bounds(con.execute("SELECT * FROM cohort_bounds").df())
    cells = cohorts.mark_data_start(con.execute("SELECT * FROM cohort_cells").df(), span, 30)
    # 30 days from 2024-01-03: 2024-01 and 2024-02 (begins 29 days in) may; 2024-03 (58 days in) may not.
    assert dict(cells.groupby("cohort").may_predate_data.first()) == {"2024-01": True, "2024-02": True, "2024-03": False}


def test_the_lifetime_section_says_how_many_lifetimes_may_have_begun_before_the_data(build_warehouse):
    # Data from 2024-01-03, churn window 30 days: a and b first ordered in January and February (may predate the
    # data), c in April; all three first ordered 30 or more days before the data ends (2024-06-20), so all judged.
    con = build_warehouse(customers=[customer(c) for c in "abc"], period="2024-Q2", params_override={"churn_after_days": 30},
                          orders=[order("1", "a", "2024-01-03"), order("2", "b", "2024-02-10"),
                                  order("3", "c", "2024-04-20"), order("4", "a", "2024-06-20")])
    starts = con.execute("SELECT * FROM lifetime_cohorts").df()
    assert starts.values.tolist() == [["2024-01", 1], ["2024-02", 1], ["2024-04", 1]]
    span = DataSpan.from_bounds(con.execute("SELECT * FROM cohort_bounds").df())
    assert cohorts.lifetime_start_words(starts, span, 30).startswith(
        "2 of the 3 customers here placed their first order in the data in 2024-01 and 2024-02, less than 30 days "
        "after it begins")
    assert cohorts.lifetime_start_words(starts[starts.cohort == "2024-04"], span, 30) == ""


# --- Averages, best and worst, sentences -----------------------------------------------------------------------


def real_export_like_cells() -> pd.DataFrame:
    """The shape of the real export's triangle up to 2011-09: a large first cohort of long-standing customers
    (high retention) reaching month 9, then smaller cohorts of new customers reaching fewer months."""
    rows = []
    sizes = {"2010-12": (885, 0.37), "2011-01": (417, 0.24), "2011-02": (380, 0.22), "2011-03": (452, 0.20),
             "2011-04": (300, 0.21), "2011-05": (284, 0.17), "2011-06": (242, 0.26), "2011-07": (188, 0.20),
             "2011-08": (169, 0.21)}
    for i, (cohort, (size, rate)) in enumerate(sizes.items()):
        for k in range(0, 10 - i):
            active = size if k == 0 else round(size * rate)
            rows.append({"cohort": cohort, "months_since_first": k, "cohort_customers": size,
                         "active_customers": active, "retention_rate": active / size,
                         "is_complete": k < 9 - i, "in_period": cohort >= "2011-07"})
    cells = pd.DataFrame(rows)
    return cohorts.mark_data_start(cells, DataSpan(date(2010, 12, 1), date(2011, 12, 9)), 90)


def test_the_average_curve_leaves_out_cohorts_from_before_the_data_and_thin_months():
    cells = real_export_like_cells()
    curve = cohorts.weighted_average_curve(cells, min_cohorts=3, min_sample=30).set_index("months_since_first")
    # Pooled by hand from 2011-03 on: month 1 has 2011-03..2011-07 complete (5 cohorts).
    month1 = cells[(cells.months_since_first == 1) & cells.is_complete & (cells.cohort >= "2011-03")]
    assert curve.loc[1, "cohorts"] == 5 == len(month1)
    assert curve.loc[1, "retention_rate"] == pytest.approx(month1.active_customers.sum() / month1.cohort_customers.sum())
    # Month 5: 2011-03 only (the earlier ones may include customers from before the data): not drawn.
    assert curve.loc[3, "cohorts"] == 3 and curve.loc[3, "drawn"]
    assert curve.loc[4, "cohorts"] == 2 and not curve.loc[4, "drawn"]
    assert 9 not in curve.index and 6 not in curve.index  # reached only by cohorts that may include old customers
    assert curve.loc[curve.drawn, "retention_rate"].max() == 1.0 and curve.drawn.sum() == 4  # months 0 to 3
    # min_sample too: six cohorts of 10 customers are fewer than 61.
    small = cells.assign(cohort_customers=10, active_customers=lambda f: (f.retention_rate * 10).round())
    assert not cohorts.weighted_average_curve(small, min_cohorts=3, min_sample=61).drawn.any()


def test_best_worst_and_the_sentence_skip_cohorts_from_before_the_data():
    cells = real_export_like_cells()
    best, worst, compared = cohorts.best_and_worst_cohorts(cells, 3, 30)
    assert (best.cohort, worst.cohort, compared) == ("2011-04", "2011-05", 3)  # not 2010-12 (37%)
    text = cohorts.cohort_sentence(cells, 3, 30)
    assert text.startswith("Of the 3 monthly cohorts with month 3 complete, the best was **2011-04**")
    assert text.endswith("2010-12 to 2011-02 are left out: they may include customers from before the data.")
    recent = cohorts.recent_against_earlier(cells, 3)
    assert recent["recent_first"] == "2011-03" and recent["earlier_first"] is None


def test_the_sentence_says_so_when_one_cohort_is_compared_or_all_tie():
    cells = real_export_like_cells()
    one = cohorts.cohort_sentence(cells, 5, 30)
    assert one.startswith("Only one monthly cohort has month 5 complete with 30 or more customers: **2011-03**")
    tie = cells.assign(cohort_customers=100, active_customers=lambda f: f.months_since_first.gt(0).map({True: 20, False: 100}))
    tie = tie.assign(retention_rate=lambda f: f.active_customers / f.cohort_customers)
    text = cohorts.cohort_sentence(tie, 2, 30)
    assert text.startswith("The 4 monthly cohorts with month 2 complete all had 20.0% active in month 2.")
    none = cohorts.cohort_sentence(cells, 9, 30)
    assert none == ("No cohort has a complete month 9 with 30 or more customers yet. 2010-12 to 2011-02 are left "
                    "out: they may include customers from before the data.")


# --- Lifetimes --------------------------------------------------------------------------------------------------


def lifetime_counts(rows):
    return pd.DataFrame(rows, columns=["segment_column", "segment", "day", "churned", "censored"])


def test_a_median_lifetime_of_zero_days_reads_as_what_it_means():
    # 100 customers: 54 never ordered again within 90 days (lifetime 0, churned); of the 46 who did, churns on
    # days 10 (x10), 30 (x13), 60 (x10) and 13 censored on day 200. Of the 46: 36/46 past day 10, 23/46 past 30.
    counts = lifetime_counts([("all", "all", 0, 54, 0), ("all", "all", 10, 10, 0), ("all", "all", 30, 13, 0),
                              ("all", "all", 60, 10, 0), ("all", "all", 200, 0, 13)])
    summary = cohorts.lifetime_summary(cohorts.lifetime_curves(counts), 30).set_index("segment")
    row = summary.loc["all"]
    assert row.median_days == 0 and row.never_again_share == pytest.approx(0.54)
    assert row.median_days_again == 30  # 23 of 46 is exactly half
    assert cohorts.lifetime_sentence(row, 90) == ("54% of customers never ordered again within 90 days of their first "
                                                  "order; of those who did, half stopped within 30 days")
    longer = lifetime_counts([("all", "all", 0, 10, 0), ("all", "all", 40, 60, 0), ("all", "all", 200, 0, 30)])
    row = cohorts.lifetime_summary(cohorts.lifetime_curves(longer), 30).iloc[0]
    assert cohorts.lifetime_sentence(row, 90) == "Half of the customers stop within 40 days of their first order"


def test_the_lifetime_table_band_for_one_to_three_customers_is_not_certainty():
    counts = lifetime_counts([("all", "all", 300, 0, 3), ("plan", "solo", 300, 0, 1), ("plan", "trio", 300, 0, 3)])
    summary = cohorts.lifetime_summary(cohorts.lifetime_curves(counts), 30).set_index("segment")
    z2 = 1.959963984540054 ** 2
    assert summary.loc["plan: solo", "survival_180d"] == 1.0
    assert summary.loc["plan: solo", "ci_low_180d"] == pytest.approx(1 / (1 + z2))   # 20.7%, not 100.0%
    assert summary.loc["plan: trio", "ci_low_180d"] == pytest.approx(3 / (3 + z2))   # 43.9%


def test_best_and_worst_lifetime_segments_are_judged_and_say_nothing_on_a_tie():
    frame = pd.DataFrame({"segment": ["all", "plan: a", "plan: b", "plan: c"], "judged": [True, True, True, False],
                          "survival_180d": [0.5, 0.213, 0.2134, 0.9]})
    assert cohorts.lifetime_extremes_title(frame) is None  # 21.3% and 21.3%; plan: c is too small to judge
    frame.loc[2, "survival_180d"] = 0.25
    assert cohorts.lifetime_extremes_title(frame) == ("plan: b keeps customers longest (25.0% still buying at 180 days), "
                                                      "plan: a shortest (21.3%)")
    assert cohorts.lifetime_extremes_title(frame[frame.segment.isin(["all", "plan: a"])]) is None


# --- Segments ---------------------------------------------------------------------------------------------------


def test_segment_range_uses_judged_segments_and_names_no_range_on_a_tie():
    now = pd.DataFrame({"segment_column": ["all", "plan", "plan", "plan"], "segment_label": ["all", "plan: a", "plan: b", "plan: c"],
                        "months_since_first": 3, "judged": [True, True, True, False],
                        "retention_rate": [0.213, 0.2131, 0.2129, 0.9]})
    assert cohorts.segment_range_title(now, 3, "2024-Q2", 30) == "Month-3 retention in 2024-Q2 by segment"
    now.loc[2, "retention_rate"] = 0.1
    assert cohorts.segment_range_title(now, 3, "2024-Q2", 30) == (
        "Month-3 retention in 2024-Q2 ranged from 10.0% (plan: b) to 21.3% (plan: a)")


def test_the_segment_that_moved_most_says_nothing_when_two_tie_and_never_blank():
    rows = []
    for role, data in {"current": [("a", 50, 25), ("b", 50, 15)], "year_ago": [("a", 50, 20), ("b", 50, 20)]}.items():
        rows += [{"period_role": role, "segment_column": "plan", "segment": s, "months_since_first": 3,
                  "customers": n, "retained": r, "retention_rate": r / n} for s, n, r in data]
    move = cohorts.most_moved_segment(pd.DataFrame(rows), 3, "year_ago", 30)
    assert move.tied and cohorts.segment_sentence(move, "2024-Q2", "2023-Q2", 30) == ""  # +10 and -10 points
    assert cohorts.segment_label("acquisition_channel", "") == "acquisition_channel: not given"
    assert cohorts.segment_label("acquisition_channel", float("nan")) == "acquisition_channel: not given"


# --- The page -----------------------------------------------------------------------------------------------------


def chart_specs(notebook_path):
    """Every Vega-Lite spec the executed notebook shows (the output the site's vegaEmbed call draws)."""
    return [value for cell in nbformat.read(notebook_path, as_version=4).cells for out in cell.get("outputs", [])
            for key, value in out.get("data", {}).items() if key.startswith("application/vnd.vegalite")]


def walk(spec):
    yield spec
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for part in spec.get(key, []):
            yield from walk(part)
    if "spec" in spec:
        yield from walk(spec["spec"])


def run_page(tmp_path, people, orders, period, params_override):
    import yaml

    from conftest import write_exports
    from retention_report import execute, warehouse
    from retention_report.params import load_params
    from retention_report.periods import parse_period

    data = write_exports(tmp_path / "data", customers=people, orders=orders)
    params = dict(load_params(), **params_override)
    path = warehouse.build_warehouse(tmp_path / "wh.duckdb", data, parse_period(period), params)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    out = tmp_path / "page"
    execute.run_notebook(execute.NOTEBOOKS_DIR / "10_cohort_retention.ipynb", tmp_path / "cohorts.ipynb",
                         {"period": period, "warehouse": str(path), "params_file": str(tmp_path / "params.yaml"),
                          "output_dir": str(out), "private_dir": str(tmp_path / "private")})
    shown = "\n".join(o["data"]["text/markdown"] for cell in nbformat.read(tmp_path / "cohorts.ipynb", as_version=4).cells
                      if cell.cell_type == "code" for o in cell.get("outputs", []) if "text/markdown" in o.get("data", {}))
    return shown, out, tmp_path / "cohorts.ipynb"


@pytest.fixture(scope="module")
def shop_page(tmp_path_factory):
    """A shop whose data starts on 2023-01-01, with twelve countries: 12 monthly cohorts to 2023-12, each customer
    buying in their first month and, for some, every month after."""
    tmp_path = tmp_path_factory.mktemp("shop")
    people, orders = [], []
    countries = [f"country{i:02d}" for i in range(12)]
    for m in range(1, 13):
        for j in range(25):
            cid = f"c{m:02d}{j:02d}"
            people.append(customer(cid, f"2023-{m:02d}-01", country=countries[(m * 7 + j) % 12]))
            orders.append(order(f"o{cid}-0", cid, f"2023-{m:02d}-01"))
            stays = (j % 3 == 0) or (m == 1 and j % 2 == 0)  # the first cohort keeps more (old customers)
            if stays:
                for k in range(m + 1, 13):
                    orders.append(order(f"o{cid}-{k}", cid, f"2023-{k:02d}-10"))
    shown, out, notebook = run_page(tmp_path, people, orders, "2023-Q4",
                                    {"segment_columns": ["country"], "max_segment_values": 3, "min_sample": 20})
    return shown, out, notebook


def test_the_page_marks_cohorts_from_before_the_data_and_downloads_the_flag(shop_page):
    shown, out, _ = shop_page
    triangle = pd.read_csv(out / "data" / "cohort_retention.csv", dtype={"cohort": str})
    assert set(triangle.loc[triangle.may_predate_data, "cohort"]) == {"2023-01", "2023-02", "2023-03"}
    assert list(triangle.columns[:5]) == ["cohort", "months_since_first", "cohort_customers", "active_customers",
                                          "retention_rate"]
    assert "2023-01 to 2023-03 are left out: they may include customers from before the data." in shown
    rows = [line for line in shown.splitlines() if line.startswith(("| 2023\\-03", "| 2023\\-04"))]
    assert len(rows) == 4  # the triangle and the cumulative revenue tables
    assert [cohorts.BEFORE_DATA in row for row in rows] == [True, False, True, False]
    average = pd.read_csv(out / "data" / "retention_average_curve.csv")
    assert average.cohorts.max() <= 9 and "drawn" in average.columns  # 2023-04 .. 2023-12 only


def test_the_page_charts_whole_months_a_full_legend_and_few_segments(shop_page):
    shown, out, notebook = shop_page
    specs = chart_specs(notebook)
    month_axes = [part["encoding"]["x"] for spec in specs for part in walk(spec)
                  if part.get("encoding", {}).get("x", {}).get("field") == "months_since_first"
                  and part["encoding"]["x"].get("type") == "quantitative"]
    assert len(month_axes) >= 2  # the retention curves and the cumulative revenue
    for x in month_axes:
        assert x["axis"]["tickMinStep"] == 1 and x["axis"]["format"] == "d", x
    legends = [part["encoding"]["color"]["legend"] for spec in specs for part in walk(spec)
               if part.get("encoding", {}).get("color", {}).get("field") == "group"]
    assert legends and all(legend.get("labelLimit", 0) == 0 or legend["labelLimit"] >= 300 for legend in legends)
    lifetime = next(s for s in specs if "Kaplan-Meier curves per segment" in s.get("description", ""))
    values = {row["segment_value"] for row in lifetime["datasets"][next(iter(lifetime["datasets"]))]}
    assert len(values) <= 3 + 2 and "other" in values  # the 3 largest, `other` and perhaps `not given`
    for bad in ["nan", "NaN", "None", "(blank)", "inf"]:
        assert f" {bad} " not in shown and f"({bad})" not in shown


def test_no_segment_column_gives_one_lifetime_chart_at_most(tmp_path):
    people = [customer(f"c{i}", "2023-01-01") for i in range(40)]
    orders = [order(f"o{i}", f"c{i}", f"2023-0{1 + i % 6}-05") for i in range(40)]
    shown, _, notebook = run_page(tmp_path, people, orders, "2023-Q4", {"segment_columns": "auto"})
    descriptions = [s.get("description", "") for s in chart_specs(notebook)]
    assert not any("per segment" in d for d in descriptions)
    assert "keeps customers longest" not in shown and "ranged from" not in shown
