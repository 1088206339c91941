"""Summary cards: a change is called a change only beyond its 95% interval."""

import math
import re

import pytest

from retention_report.nps import net_promoter_score
from retention_report.summary import Change, Kpi, kpi_cards_html, notable_changes, nps_change, proportion_change


def test_proportion_change_is_the_wald_interval_of_the_difference():
    change = proportion_change(60, 100, 45, 150, "2024-Q1")
    p, q = 0.6, 0.3
    se = math.sqrt(p * (1 - p) / 100 + q * (1 - q) / 150)
    assert math.isclose(change.difference, 0.3)
    assert math.isclose(change.ci_low, 0.3 - 1.959963984540054 * se)
    assert change.beyond_interval and change.direction == 1
    small = proportion_change(50, 100, 48, 100, "2024-Q1")
    assert not small.beyond_interval and small.direction == 0
    assert math.isnan(proportion_change(1, 0, 1, 10, "x").difference)


def test_nps_change_uses_the_interval_of_the_difference():
    a, b = net_promoter_score(60, 20, 20), net_promoter_score(30, 30, 40)
    change = nps_change(a, b, "2023-Q2")
    assert math.isclose(change.difference, 40 - (-10))
    assert change.beyond_interval
    assert not nps_change(a, net_promoter_score(0, 0, 0), "x").beyond_interval


def test_cards_show_arrow_and_colour_only_beyond_the_interval():
    kpi = Kpi("Churn rate", 0.2, "percent",
              (Change("2024-Q1", -0.05, -0.08, -0.02), Change("2023-Q2", 0.01, -0.02, 0.04), Change("x", 0.1)),
              (0.3, 0.25, 0.2), higher_is_better=False)
    html = kpi_cards_html([kpi])
    assert "20.0%" in html
    assert html.count("▼") == 1 and "▲" not in html  # only the change beyond its interval gets an arrow
    assert "rr-good" in html and "better" in html  # lower churn is good news
    assert "within noise" in html and "no interval" in html
    assert 'role="img"' in html and "Trend: a year ago 30.0%, last period 25.0%, now 20.0%" in html  # described


def test_the_trend_line_spaces_its_points_by_time():
    def xs(kpi):
        return [float(p.split(",")[0]) for p in re.search(r'points="([^"]+)"', kpi_cards_html([kpi]))[1].split()]

    even = xs(Kpi("A", 0.5, "percent", (), (0.4, 0.45, 0.5)))
    quarter = xs(Kpi("A", 0.5, "percent", (), (0.4, 0.45, 0.5), history_months=(12, 3, 0)))
    assert even == [4.0, 30.0, 56.0]
    assert quarter == [4.0, 43.0, 56.0]  # the previous quarter is 3 of the 12 months from now
    missing = Kpi("A", 0.5, "percent", (), (math.nan, 0.45, 0.5), history_months=(12, 3, 0))
    assert "Trend: last period 45.0%, now 50.0%" in kpi_cards_html([missing])
    assert "<svg" not in kpi_cards_html([Kpi("A", 0.5, "percent", (), (math.nan, math.nan, 0.5))])


def test_notable_changes_are_written_from_the_numbers_strongest_first():
    kpis = [
        Kpi("A", 0.5, "percent", (Change("2024-Q1", 0.10, 0.08, 0.12),), (0.4, 0.4, 0.5)),
        Kpi("B", 0.5, "percent", (Change("2024-Q1", -0.10, -0.19, -0.01),), (0.6, 0.6, 0.5)),
        Kpi("C", 0.5, "percent", (Change("2024-Q1", 0.01, -0.01, 0.03),), (0.5, 0.5, 0.5)),
    ]
    texts = notable_changes(kpis)
    assert len(texts) == 2
    assert texts[0].startswith("A rose by 10.0 pts against 2024-Q1, to 50.0%")
    assert texts[1].startswith("B fell by 10.0 pts") and "a warning" in texts[1]


def test_notable_changes_name_three_different_figures():
    def kpi(name, *changes):
        return Kpi(name, 0.5, "percent", tuple(Change(*c) for c in changes), (0.5, 0.5, 0.5))

    kpis = [
        kpi("A", ("2024-Q1", 0.30, 0.29, 0.31), ("2023-Q2", 0.20, 0.19, 0.21)),  # A's two changes are the strongest
        kpi("B", ("2024-Q1", 0.10, 0.05, 0.15)),
        kpi("C", ("2023-Q2", -0.10, -0.16, -0.04)),
        kpi("D", ("2024-Q1", 0.10, 0.01, 0.19)),
    ]
    texts = notable_changes(kpis)
    assert [t.split()[0] for t in texts] == ["A", "B", "C"]
    assert "against 2024-Q1" in texts[0]  # A's strongest change


def test_a_ratio_change_is_called_only_beyond_its_interval():
    from retention_report.summary import ratio_change

    beyond = ratio_change(0.90, 0.02, 0.80, 0.02, "2024-Q1")
    half = 1.959963984540054 * math.sqrt(0.02 ** 2 + 0.02 ** 2)
    assert beyond.difference == pytest.approx(0.10) and beyond.ci_low == pytest.approx(0.10 - half)
    assert beyond.beyond_interval and beyond.direction == 1
    within = ratio_change(0.82, 0.02, 0.80, 0.02, "2024-Q1")
    assert not within.beyond_interval and not math.isnan(within.ci_low)
    unknown = ratio_change(0.82, float("nan"), 0.80, 0.02, "2024-Q1")
    assert math.isnan(unknown.ci_low) and unknown.difference == pytest.approx(0.02)



def test_a_card_change_that_rounds_to_zero_carries_no_sign():
    from retention_report.summary import Kpi

    def shown(unit, value, **kw):
        return Kpi("x", value, unit, (), (), **kw).formatted(value, signed=True)

    assert shown("nps", -0.4) == "0 pts" and shown("nps", 3.2) == "+3 pts"
    assert shown("percent", -0.0004) == "0.0 pts" and shown("percent", -0.012) == "-1.2 pts"
    assert shown("hours", -0.04) == "0.0 h" and shown("hours", 2.26) == "+2.3 h"
    assert shown("money", -0.3, money=lambda a: f"€{a:,.0f}") == "€0"
    assert shown("money", -12.0, money=lambda a: f"€{a:,.0f}") == "-€12"
    assert Kpi("NPS", -0.4, "nps", (), ()).formatted() == "0"
