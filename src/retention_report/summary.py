"""The executive summary: KPI cards that say what changed, and only call a change a change when it is
beyond its 95% interval."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass

from .intervals import Z_95
from .nps import NpsEstimate, nps_difference


@dataclass(frozen=True)
class Change:
    """A change against a comparison period, with its 95% interval (nan when none can be given)."""

    against: str
    difference: float
    ci_low: float = math.nan
    ci_high: float = math.nan

    @property
    def beyond_interval(self) -> bool:
        return not math.isnan(self.ci_low) and (self.ci_low > 0 or self.ci_high < 0)

    @property
    def direction(self) -> int:
        return 0 if not self.beyond_interval else (1 if self.difference > 0 else -1)


@dataclass(frozen=True)
class Kpi:
    name: str
    value: float
    unit: str  # 'percent' (a proportion 0..1), 'nps' (-100..100) or 'ratio'
    changes: tuple[Change, ...]
    history: tuple[float, ...]  # year ago, previous, now: the small trend line
    higher_is_better: bool = True
    detail: str = ""
    # Months from each history point to now (e.g. (12, 3, 0) for a quarter), so the trend line's x axis is
    # time; empty: evenly spaced.
    history_months: tuple[float, ...] = ()

    def formatted(self, value: float | None = None, signed: bool = False) -> str:
        value = self.value if value is None else value
        if value is None or math.isnan(value):
            return "–"
        if self.unit == "percent":
            return f"{100 * value:+.1f} pts" if signed else f"{100 * value:.1f}%"
        if self.unit == "nps":
            return f"{value:+.0f}" if not signed else f"{value:+.0f} pts"
        return f"{value:+.2f}" if signed else f"{value:.2f}"


def proportion_change(successes: int, n: int, base_successes: int, base_n: int, against: str,
                      z: float = Z_95) -> Change:
    """Difference of two independent proportions with its Wald interval (nan when either n is 0)."""
    if not n or not base_n:
        return Change(against, math.nan)
    p, q = successes / n, base_successes / base_n
    se = math.sqrt(p * (1 - p) / n + q * (1 - q) / base_n)
    return Change(against, p - q, p - q - z * se, p - q + z * se)


def ratio_change(value: float, se: float, base_value: float, base_se: float, against: str,
                 z: float = Z_95) -> Change:
    """Difference of two ratios (net revenue retention) estimated with standard errors `se` and `base_se`,
    taken as independent, as for the shares (nan interval when either is unknown)."""
    difference = value - base_value
    if any(math.isnan(x) for x in (value, se, base_value, base_se)):
        return Change(against, difference)
    half = z * math.sqrt(se ** 2 + base_se ** 2)
    return Change(against, difference, difference - half, difference + half)


def nps_change(now: NpsEstimate, base: NpsEstimate, against: str) -> Change:
    if not now.responses or not base.responses:
        return Change(against, math.nan)
    diff = nps_difference(now, base)
    return Change(against, diff.difference, diff.ci_low, diff.ci_high)


def _sparkline(kpi: Kpi) -> str:
    ages = kpi.history_months if len(kpi.history_months) == len(kpi.history) else \
        tuple(float(len(kpi.history) - 1 - i) for i in range(len(kpi.history)))
    names = ("a year ago", "last period", "now") if len(kpi.history) == 3 else \
        tuple(f"{age:g} months ago" if age else "now" for age in ages)
    kept = [(age, v, name) for age, v, name in zip(ages, kpi.history, names) if v is not None and not math.isnan(v)]
    if len(kept) < 2:
        return ""
    points = [v for _, v, _ in kept]
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    oldest = max(age for age, _, _ in kept) or 1.0
    xs = [4 + (oldest - age) / oldest * 52 for age, _, _ in kept]
    ys = [20 - (v - low) / span * 16 for v in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs, ys))
    label = "Trend: " + ", ".join(f"{name} {kpi.formatted(v)}" for _, v, name in kept)
    return (f'<svg class="rr-spark" width="60" height="24" viewBox="0 0 60 24" role="img" '
            f'aria-label="{html.escape(label)}"><polyline points="{path}" fill="none" stroke="currentColor" '
            f'stroke-width="1.5"/><circle cx="{xs[-1]:.1f}" cy="{ys[-1]:.1f}" r="2.2" fill="currentColor"/></svg>')


def _change_line(kpi: Kpi, change: Change) -> str:
    if math.isnan(change.difference):
        return f'<li class="rr-change">vs {html.escape(change.against)}: no comparison</li>'
    amount = kpi.formatted(change.difference, signed=True)
    if not change.beyond_interval:
        note = "within noise" if not math.isnan(change.ci_low) else "no interval"
        return f'<li class="rr-change rr-flat">vs {html.escape(change.against)}: {amount} ({note})</li>'
    good = (change.direction > 0) == kpi.higher_is_better
    arrow = "▲" if change.direction > 0 else "▼"
    verdict = "better" if good else "worse"
    return (f'<li class="rr-change rr-{"good" if good else "bad"}">vs {html.escape(change.against)}: '
            f'<span aria-hidden="true">{arrow}</span> {amount} <span class="rr-verdict">({verdict}, beyond '
            f'the 95% interval)</span></li>')


def kpi_cards_html(kpis: list[Kpi]) -> str:
    """KPI cards as HTML: the value, a small trend line, and each change in words (colour and arrow only
    when the change is beyond its interval; the words carry the meaning too)."""
    cards = []
    for kpi in kpis:
        detail = f'<p class="rr-kpi-detail">{html.escape(kpi.detail)}</p>' if kpi.detail else ""
        changes = "".join(_change_line(kpi, c) for c in kpi.changes)
        cards.append(
            f'<div class="rr-kpi" role="group" aria-label="{html.escape(kpi.name)}">'
            f'<h3 class="rr-kpi-name">{html.escape(kpi.name)}</h3>'
            f'<p class="rr-kpi-value"><span class="rr-kpi-number">{kpi.formatted()}</span> {_sparkline(kpi)}</p>'
            f'{detail}<ul class="rr-kpi-changes">{changes}</ul></div>'
        )
    return '<div class="rr-kpis">' + "".join(cards) + "</div>"


def notable_changes(kpis: list[Kpi], count: int = 3) -> list[str]:
    """The changes furthest beyond their intervals (difference over the interval's half-width), written out,
    largest first; at most one per figure, so the three notable changes are about three figures."""
    scored = []
    for kpi in kpis:
        best = None
        for change in kpi.changes:
            if not change.beyond_interval:
                continue
            half = (change.ci_high - change.ci_low) / 2
            strength = abs(change.difference) / half if half > 0 else math.inf
            good = (change.direction > 0) == kpi.higher_is_better
            if best is not None and best[0] >= strength:
                continue
            best = (strength, f"{kpi.name} {'rose' if change.direction > 0 else 'fell'} by "
                              f"{kpi.formatted(abs(change.difference), signed=True).lstrip('+')} against "
                              f"{change.against}, to {kpi.formatted()} ({'good news' if good else 'a warning'}; "
                              f"95% interval of the change {kpi.formatted(change.ci_low, signed=True)} to "
                              f"{kpi.formatted(change.ci_high, signed=True)}).")
        if best is not None:
            scored.append(best)
    scored.sort(key=lambda pair: -pair[0])
    return [text for _, text in scored[:count]]


def data_quality_notice_html(problems: list[str], link: str) -> str:
    """The notice a summary page opens with when much of an export was set aside: each problem in words and a
    link to the data quality page (`link`, as reports/site.yml names it)."""
    items = "".join(f"<li>{html.escape(text)}.</li>" for text in problems)
    return (f'<div class="rr-notice" role="note"><p><strong>Data quality notice.</strong> Some figures below rest '
            f'on only part of the exports: rows that broke the data contract were set aside and are in none of '
            f'them.</p><ul>{items}</ul><p>See <a href="{html.escape(link)}">the data quality page</a> for what '
            f'was set aside and why.</p></div>')
