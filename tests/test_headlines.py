"""Headlines that hold on a real business (issue 15, items 1-3 for the period figures and the summary):
retention is a share of S, figures and comparisons at the edges of the data are "no data" or "partial" and never
judged, and a card whose optional export is absent says which export it needs.

Unit tests on cohorts.kpis_with_coverage / data_edge_notes and summary.summary_cards for data that starts after,
inside and before the period; then the real export (2011-Q2, Q3, Q4) built and read back from its pages and CSVs."""

from __future__ import annotations

import csv
import math
import re
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import LINES
from retention_report import cohorts
from retention_report.coverage import COMPLETE, NO_DATA, PARTIAL, DataSpan
from retention_report.params import load_params
from retention_report.periods import parse_period
from retention_report.summary import Change, Kpi, kpi_cards_html, notable_changes, summary_cards

RETAIL_SPAN = DataSpan(date(2010, 12, 1), date(2011, 12, 9))  # the real export's first and last orders


def periods_of(label: str) -> dict:
    p = parse_period(label)
    return {"current": p, "previous": p.previous, "year_ago": p.year_ago}


def period_kpis(values: dict[str, tuple[float, float, float]]) -> pd.DataFrame:
    rows = [{"metric": m, "value": v, "previous": p, "year_ago": y, "change": v - p, "change_year_ago": v - y,
             "kind": "rate" if m.endswith(("_rate", "_retention", "_ratio")) else "count"}
            for m, (v, p, y) in values.items()]
    return pd.DataFrame(rows)


# The shape of the SQL's answer for 2011-Q3 on the real export: 2010-Q3 holds no order, so every count is 0.
Q3_KPIS = {
    "customers_at_start": (1969.0, 1776.0, 0.0), "retained_customers": (1195.0, 1035.0, 0.0),
    "churned_customers": (774.0, 741.0, 0.0), "reactivated_customers": (302.0, 250.0, 0.0),
    "new_customers": (1000.0, 826.0, 0.0), "new_customers_at_end": (900.0, 700.0, 0.0),
    "customer_retention_rate": (1195 / 1969, 1035 / 1776, math.nan), "churn_rate": (774 / 1969, 741 / 1776, math.nan),
    "net_revenue_retention": (0.9, 0.8, math.nan), "buying_customers": (2161.0, 2000.0, 0.0),
    "revenue": (2198273.29, 1900000.0, 0.0),
}


# --- The period table at the edges of the data -------------------------------------------------------------


def test_a_comparison_period_before_the_data_is_no_data_never_zero():
    table = cohorts.kpis_with_coverage(period_kpis(Q3_KPIS), RETAIL_SPAN, periods_of("2011-Q3"), 90).set_index("metric")
    assert (table.year_ago_coverage == NO_DATA).all()
    assert table.year_ago.isna().all() and table.change_year_ago.isna().all()  # not 0 customers, not "+1,969"
    assert (table.coverage == COMPLETE).all() and (table.previous_coverage == COMPLETE).all()
    assert table.loc["customers_at_start", "change"] == 1969 - 1776


def test_data_starting_inside_the_look_back_makes_the_figures_that_read_it_partial():
    # 2011-Q2 against 2011-Q1: the 90 days before 2011-01-01 start on 2010-10-03, before the data's 2010-12-01.
    table = cohorts.kpis_with_coverage(period_kpis(Q3_KPIS), RETAIL_SPAN, periods_of("2011-Q2"), 90).set_index("metric")
    assert table.loc["customers_at_start", "previous_coverage"] == PARTIAL
    assert table.loc["net_revenue_retention", "previous_coverage"] == PARTIAL  # reads 2010-Q4 too
    assert table.loc["buying_customers", "previous_coverage"] == COMPLETE  # 2011-Q1's own days are all there
    assert table.loc["customers_at_start", "change"] == pytest.approx(1969 - 1776)  # a partial change is kept, marked


def test_data_starting_inside_the_period_and_ending_inside_it():
    span = DataSpan(date(2024, 5, 10), date(2024, 6, 20))
    table = cohorts.kpis_with_coverage(period_kpis(Q3_KPIS), span, periods_of("2024-Q2"), 90).set_index("metric")
    of_s = table.index.isin(cohorts.OF_S)
    assert (table.coverage[of_s] == NO_DATA).all() and table.value[of_s].isna().all()  # no order before the start
    assert cohorts.period_figure_coverage("customers_at_start", parse_period("2024-Q3"), span, 90) == PARTIAL
    assert (table.coverage[~of_s] == PARTIAL).all() and table.loc["buying_customers", "value"] == 2161
    assert (table.previous_coverage == NO_DATA).all() and table.previous.isna().all()
    assert cohorts.retention_sentence(table.reset_index(), "2024-Q2", "2024-Q1", "2023-Q2").startswith(
        "The data does not reach the days before 2024-Q2 began, so 2024-Q2 has no retention rate")


def test_data_starting_long_before_covers_everything():
    span = DataSpan(date(2005, 1, 1), date(2020, 1, 1))
    table = cohorts.kpis_with_coverage(period_kpis(Q3_KPIS), span, periods_of("2011-Q3"), 90)
    assert (table[["coverage", "previous_coverage", "year_ago_coverage"]] == COMPLETE).all(axis=None)
    assert cohorts.data_edge_notes(span, list(periods_of("2011-Q3").values()), 90) == []


def test_edge_notes_are_written_from_the_real_dates():
    p = periods_of("2011-Q3")
    notes = " ".join(cohorts.data_edge_notes(RETAIL_SPAN, [p["current"], p["previous"], p["year_ago"]], 90))
    # 2010-Q3 ended on 2010-09-30; the data starts 62 days later. Not "less than 90 days before 2010-Q3 began".
    assert "2010-Q3 (2010-07-01 to 2010-09-30) has no data: the data starts on 2010-12-01, 62 days after 2010-Q3 ended" \
        in notes
    assert "before 2010-Q3 began" not in notes and "2011-Q3" not in notes.replace("2010-Q3", "")
    q1 = " ".join(cohorts.data_edge_notes(RETAIL_SPAN, [parse_period("2011-Q1")], 90))
    assert "The data starts on 2010-12-01, 31 days before 2011-Q1 began, less than the 90 days" in q1
    inside = " ".join(cohorts.data_edge_notes(DataSpan(date(2024, 5, 10), date(2024, 6, 20)), [parse_period("2024-Q2")], 90))
    assert "The data starts on 2024-05-10, 39 days after 2024-Q2 began (2024-04-01)" in inside
    assert "The data ends on 2024-06-20, before 2024-Q2 does (2024-06-30)" in inside
    after = " ".join(cohorts.data_edge_notes(DataSpan(date(2020, 1, 1), date(2024, 2, 10)), [parse_period("2024-Q2")], 90))
    assert "the data ends on 2024-02-10, 51 days before 2024-Q2 began" in after


def test_a_period_the_data_ends_inside_is_partial_without_blaming_its_start():
    # 2011-Q4: the data ends on 2011-12-09 and starts 304 days before the quarter: only its end is short. Its year-ago
    # quarter 2010-Q4 holds data from 2010-12-01, but none of the 90 days before it: there is no S to count.
    p = periods_of("2011-Q4")
    notes = " ".join(cohorts.data_edge_notes(RETAIL_SPAN, list(p.values()), 90))
    assert "before 2011-Q4 began, less than" not in notes
    assert "The data ends on 2011-12-09, before 2011-Q4 does (2011-12-31)" in notes
    assert "The data starts on 2010-12-01, 61 days after 2010-Q4 began (2010-10-01): 2010-Q4's figures are partial" in notes
    table = cohorts.kpis_with_coverage(period_kpis(Q3_KPIS), RETAIL_SPAN, p, 90).set_index("metric")
    assert table.loc["customers_at_start", "coverage"] == COMPLETE  # S reads only the 90 days before October
    assert (table.coverage.drop("customers_at_start") == PARTIAL).all()
    assert table.loc["customers_at_start", "year_ago_coverage"] == NO_DATA  # not "0 (partial)"
    assert table.loc["net_revenue_retention", "year_ago_coverage"] == NO_DATA
    assert table.loc["buying_customers", "year_ago_coverage"] == PARTIAL  # December 2010's buyers are there


def test_retention_sentence_names_a_comparison_without_data_and_adds_up():
    table = cohorts.kpis_with_coverage(period_kpis(Q3_KPIS), RETAIL_SPAN, periods_of("2011-Q3"), 90)
    text = cohorts.retention_sentence(table, "2011-Q3", "2011-Q2", "2010-Q3")
    assert "Customer retention in 2011-Q3 was **60.7%**" in text
    assert "1,195 were still active at the end and 774 churned (churn 39.3%" in text  # 60.7 + 39.3 = 100
    assert "up 2.4 points on 2011-Q2 (58.3%), with no figure for 2010-Q3 (no data): of the 1,969" in text
    assert "no data in 2010-Q3" in text
    assert "302 customers came back after a lapse" in text


# --- Summary cards -----------------------------------------------------------------------------------------


def test_a_change_against_partial_or_missing_data_is_never_news():
    kpi = Kpi("Net revenue retention", 0.803, "percent",
              (Change("2011-Q1", -0.617, -0.951, -0.284, coverage=PARTIAL), Change("2010-Q2", math.nan, coverage=NO_DATA)),
              (math.nan, 1.42, 0.803))
    html = kpi_cards_html([kpi])
    assert "partial data, not judged" in html and "vs 2010-Q2: no data" in html
    assert "▼" not in html and "worse" not in html and "rr-bad" not in html
    assert notable_changes([kpi]) == []
    assert not kpi.changes[0].beyond_interval
    partial_now = Kpi("A", 0.5, "percent", (Change("2024-Q1", 0.3, 0.2, 0.4),), (0.5, 0.2, 0.5), coverage=PARTIAL)
    assert notable_changes([partial_now]) == []  # the period itself is partial: its changes are not news


def _summary_inputs(present: set[str], first_day=date(2022, 1, 1)):
    """Marts for three periods as a build writes them, with every export's dates from 2022."""
    kpis = period_kpis({**Q3_KPIS, "customers_at_start": (1000.0, 1000.0, 1000.0),
                        "customer_retention_rate": (0.6, 0.5, 0.5), "churn_rate": (0.4, 0.5, 0.5)}).set_index("metric")
    shares = pd.DataFrame([{"kpi": k, "period_role": r, "successes": 0, "n": 500}
                           for k in ("welcome_coverage", "appreciation_coverage", "would_buy_again")
                           for r in ("current", "previous", "year_ago")]).set_index(["kpi", "period_role"])
    nps = pd.DataFrame({"period_role": ["current", "previous", "year_ago"], "promoters": [0] * 3, "passives": [0] * 3,
                        "detractors": [0] * 3}).set_index("period_role")
    terms = pd.DataFrame({"period_role": ["current", "previous", "year_ago"], "customers": [1000] * 3,
                          "revenue_before": [100.0] * 3, "revenue_kept": [90.0] * 3,
                          "residual_sum_of_squares": [1.0] * 3}).set_index("period_role")
    exports = {name: SimpleNamespace(present=name in present, first_day=first_day if name in present else None,
                                     last_day=date(2024, 12, 31) if name in present else None)
               for name in ("orders", "touchpoints", "nps_responses")}
    return kpis, shares, nps, terms, exports


def _cards(present, span=DataSpan(date(2022, 1, 1), date(2024, 12, 31)), period="2024-Q2", first_day=date(2022, 1, 1)):
    kpis, shares, nps, terms, exports = _summary_inputs(present, first_day)
    cards = summary_cards(kpis, shares, nps, terms, load_params(), parse_period(period), span, exports,
                          money=lambda amount: f"£{amount:,.0f}")
    return {kpi.name: kpi for kpi in cards}, kpi_cards_html(cards)


def test_cards_that_need_an_absent_export_say_which_and_claim_nothing():
    cards, html = _cards(present={"orders"})
    for name in ("Welcomed within 7 days", "Appreciated in the last 12 months"):
        assert cards[name].missing == "touchpoints" and cards[name].changes == ()
    for name in ("NPS", "Would buy again"):
        assert cards[name].missing == "nps_responses" and cards[name].changes == ()
    text = re.sub(r"<[^>]+>", " ", html)
    assert text.count("needs the touchpoints export") == 2 and text.count("needs the nps_responses export") == 2
    assert "of 0 answers" not in text and "NPS –" not in " ".join(text.split())
    absent = [card for card in html.split('<div class="rr-kpi')[1:] if "needs the" in card]
    assert len(absent) == 4
    for card in absent:  # no number, no trend line, no change line
        assert "%" not in card and "rr-change" not in card and "<svg" not in card and "within noise" not in card
    with_all, _ = _cards(present={"orders", "touchpoints", "nps_responses"})
    assert not with_all["Welcomed within 7 days"].missing and with_all["Welcomed within 7 days"].value == 0.0


def test_summary_cards_judge_only_complete_comparisons():
    # Data from 2010-12-01: 2011-Q2 is complete, but its previous quarter's S and its stretch before are partial.
    cards, html = _cards(present={"orders"}, span=RETAIL_SPAN, period="2011-Q2")
    retention = cards["Customer retention rate"]
    assert retention.coverage == COMPLETE
    assert [c.coverage for c in retention.changes] == [PARTIAL, NO_DATA]
    assert not any(c.beyond_interval for c in retention.changes)  # +10 pts of 1,000 would be beyond, but partial
    assert notable_changes(list(cards.values())) == []
    three, _ = _cards(present={"orders"}, span=RETAIL_SPAN, period="2011-Q3")
    assert [c.coverage for c in three["Customer retention rate"].changes] == [COMPLETE, NO_DATA]
    against = {t.split(" against ")[1].split(",")[0] for t in notable_changes(list(three.values()))}
    assert against == {"2011-Q2"}  # picked from the complete comparison only, never 2010-Q3


# --- The real export, built ---------------------------------------------------------------------------------

retail = pytest.mark.skipif(not LINES.is_dir(),
                            reason="../shared/data/online-retail is not beside the project")


class _Text(HTMLParser):
    def __init__(self):
        super().__init__()
        self.out, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("script", "style")
        if tag in ("p", "div", "tr", "li", "h1", "h2", "h3", "td", "th", "br"):
            self.out.append("\n")

    def handle_endtag(self, tag):
        self.skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def visible(path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return re.sub(r"[ \t]+", " ", "".join(parser.out))


@pytest.fixture(scope="module")
def retail_folders(retail_builds):
    """{period: its folder in the one site conftest builds 2011-Q2, Q3 and Q4 into}."""
    return {label: build.site / label for label, build in retail_builds.items()}


def rows(folder, name) -> list[dict]:
    with (folder / "data" / f"{name}.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@retail
def test_real_export_retention_is_a_share_that_adds_up(retail_folders):
    for label, folder in retail_folders.items():
        k = {r["metric"]: r for r in rows(folder, "period_kpis")}
        retention, churn = float(k["customer_retention_rate"]["value"]), float(k["churn_rate"]["value"])
        assert 0 <= retention <= 1 and retention + churn == pytest.approx(1, abs=1e-12), label
        assert float(k["retained_customers"]["value"]) + float(k["churned_customers"]["value"]) == \
            float(k["customers_at_start"]["value"]), label
        cards = visible(folder / "index.html")
        assert re.search(r"Customer retention rate\s+" + re.escape(f"{100 * retention:.1f}%"), cards), label
        assert f"{int(float(k['retained_customers']['value'])):,} kept and" in cards, label
    q3 = {r["metric"]: float(r["value"]) for r in rows(retail_folders["2011-Q3"], "period_kpis")}
    assert q3["customers_at_start"] == 1969 and f"{q3['customer_retention_rate']:.3f}" == "0.607"  # not 76.0%
    assert f"{q3['returning_customer_ratio']:.3f}" == "0.760"  # (E - N) / S: kept, under its own name
    q4 = {r["metric"]: float(r["value"]) for r in rows(retail_folders["2011-Q4"], "period_kpis")}
    assert q4["returning_customer_ratio"] > 1 and q4["customer_retention_rate"] < 1  # 100.7% was the old headline


@retail
def test_real_export_2011_q3_shows_2010_q3_as_no_data(retail_folders):
    folder = retail_folders["2011-Q3"]
    k = {r["metric"]: r for r in rows(folder, "period_kpis")}
    assert k["customers_at_start"]["year_ago"] == "" and k["customers_at_start"]["change_year_ago"] == ""
    assert k["revenue"]["year_ago_coverage"] == NO_DATA and k["revenue"]["change_year_ago"] == ""
    page = visible(folder / "cohorts.html")
    assert "+1,969" not in page and "+£2,198,273" not in page
    assert "less than 90 days (or one period) before" not in page and "before 2010-Q3 began" not in page
    assert "the data starts on 2010-12-01, 62 days after 2010-Q3 ended" in page
    table = page[page.index("Period figures for 2011-Q3"):page.index("Refunds and cancellations")]
    cells = " ".join(table.split())
    # The 2010-Q3 columns say "no data" on every row: the table formatter says it once, in the caption.
    assert "2010-Q3: no data; change on 2010-Q3: no data" in cells
    assert "Customers at start (S) 1,969 1,776 +193" in cells
    assert "Revenue £2,198,273 £1,809,009 +£389,265" in cells


@retail
def test_real_export_2011_q2_headlines_no_artefact_of_the_data_start(retail_folders):
    folder = retail_folders["2011-Q2"]
    summary = visible(folder / "index.html")
    assert "Net revenue retention fell by 61.7 pts" not in summary and "a warning" not in summary
    assert "good news" not in summary  # every comparison of 2011-Q2 reads days before the data's start
    cards = {r["kpi"]: r for r in rows(folder, "summary_kpis")}
    assert cards["Net revenue retention"]["coverage_vs_previous"] == PARTIAL
    assert cards["Net revenue retention"]["beyond_interval_vs_previous"] == "False"
    # Neither optional export was given: the four cards that need one say so, with no number and no change line.
    assert summary.count("needs the touchpoints export") == 2 and summary.count("needs the nps_responses export") == 2
    assert "Welcomed within 7 days\n0.0%" not in summary and "of 0 answers" not in summary
    assert not re.search(r"Welcomed within 7 days[^\n]*\n[^\n]*\d%", summary)


@retail
def test_real_export_2011_q4_is_partial_and_never_judged(retail_folders):
    folder = retail_folders["2011-Q4"]
    summary = visible(folder / "index.html")
    assert "good news" not in summary and "a warning" not in summary  # the data ends on 2011-12-09
    assert "partial" in summary
    page = visible(folder / "cohorts.html")
    assert "The data ends on 2011-12-09, before 2011-Q4 does (2011-12-31)" in page
    assert "100.7%" not in page  # the old headline; (E - N) / S is now a ratio, shown as 1.01


def _service_cards(present: set[str], support_first_day=date(2022, 1, 1)):
    kpis, shares, nps, terms, exports = _summary_inputs(present)
    for name in ("support_tickets", "events"):
        exports[name] = SimpleNamespace(present=name in present, first_day=support_first_day if name in present else None,
                                        last_day=date(2024, 12, 31) if name in present else None)
    roles = ["current", "previous", "year_ago"]
    support = pd.DataFrame({"period_role": roles, "tickets": [400, 400, 400], "answered": [380, 390, 300],
                            "answered_within_target": [300, 200, 290], "eligible_for_target": [400, 400, 400],
                            "median_first_response_hours": [5.0, 9.0, 5.2], "median_ci_low": [4.5, 8.0, 4.6],
                            "median_ci_high": [5.5, 10.0, 5.8]}).set_index("period_role")
    onboarding = pd.DataFrame({"period_role": roles, "new_customers": [200, 200, 0],
                               "activated": [90, 60, 0]}).set_index("period_role")
    cards = summary_cards(kpis, shares, nps, terms, load_params(), parse_period("2024-Q2"),
                          DataSpan(date(2022, 1, 1), date(2024, 12, 31)), exports,
                          money=lambda amount: f"£{amount:,.0f}", support=support, onboarding=onboarding)
    return {kpi.name: kpi for kpi in cards}, kpi_cards_html(cards)


def test_support_and_first_week_cards_compare_with_intervals_computed_independently():
    cards, html = _service_cards({"orders", "support_tickets", "events"})
    median = cards["Median first response"]
    assert median.value == 5.0 and median.unit == "hours" and not median.higher_is_better
    previous = median.changes[0]
    se = [(5.5 - 4.5) / (2 * 1.959964), (10.0 - 8.0) / (2 * 1.959964)]
    half = 1.959964 * math.hypot(*se)
    assert previous.difference == pytest.approx(-4.0)
    assert (previous.ci_low, previous.ci_high) == pytest.approx((-4.0 - half, -4.0 + half), rel=1e-4)
    assert previous.beyond_interval and not median.changes[1].beyond_interval  # 5.0 h against 5.2 h: noise
    within = cards["Answered within 24 hours"]
    assert within.value == pytest.approx(300 / 400) and within.detail == "of 400 tickets due an answer"
    p, q = 300 / 400, 200 / 400
    se_share = math.sqrt(p * (1 - p) / 400 + q * (1 - q) / 400)
    assert within.changes[0].ci_low == pytest.approx(p - q - 1.959964 * se_share, rel=1e-4)
    activated = cards["Activated in the first 7 days"]
    assert activated.value == pytest.approx(0.45) and math.isnan(activated.changes[1].difference)  # 0 of 0 a year ago
    card = html.split('aria-label="Median first response"')[1].split("</ul>")[0]
    assert "▼</span> -4.0 h" in card and "better, beyond the 95% interval" in card  # a shorter wait is better
    assert "nan" not in html.lower()


def test_support_and_first_week_cards_without_their_exports_name_them():
    cards, html = _service_cards({"orders"})
    assert cards["Median first response"].missing == "support_tickets"
    assert cards["Answered within 24 hours"].missing == "support_tickets"
    assert cards["Activated in the first 7 days"].missing == "events"
    text = re.sub(r"<[^>]+>", " ", html)
    assert text.count("needs the support_tickets export") == 2 and "needs the events export" in text
    assert "nan" not in text.lower() and " h " not in text
