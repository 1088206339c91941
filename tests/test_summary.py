"""Summary cards: a change is called a change only beyond its 95% interval."""

import math

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
    assert 'role="img"' in html and "a year ago, last period, now" in html  # the trend line is described


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
