"""The executive summary: KPI cards that say what changed, and only call a change a change when it is
beyond its 95% interval and both periods lie wholly inside the data (coverage.DataSpan); a card whose optional
export is absent says which export it needs instead of a number."""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass, replace

from .coverage import COMPLETE, NO_DATA, PARTIAL
from .intervals import Z_95
from .nps import NpsEstimate, nps_difference
from .page import signed as signed_number, signed_points, unsigned_zero
from .validate import absent_export_line


@dataclass(frozen=True)
class Change:
    """A change against a comparison period, with its 95% interval (nan when none can be given). `coverage`
    is that of the comparison (coverage.COMPLETE, PARTIAL or NO_DATA, the worse of the two periods): only a
    complete one is judged, so a change against data that starts or ends inside it is never news."""

    against: str
    difference: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    coverage: str = COMPLETE

    @property
    def beyond_interval(self) -> bool:
        return (self.coverage == COMPLETE and not math.isnan(self.ci_low)
                and (self.ci_low > 0 or self.ci_high < 0))

    @property
    def direction(self) -> int:
        return 0 if not self.beyond_interval else (1 if self.difference > 0 else -1)


@dataclass(frozen=True)
class Kpi:
    name: str
    value: float
    unit: str  # 'percent' (a proportion 0..1), 'nps' (-100..100), 'hours', 'money' or 'ratio'
    changes: tuple[Change, ...]
    history: tuple[float, ...]  # year ago, previous, now: the small trend line
    higher_is_better: bool = True
    detail: str = ""
    # Months from each history point to now (e.g. (12, 3, 0) for a quarter), so the trend line's x axis is
    # time; empty: evenly spaced.
    history_months: tuple[float, ...] = ()
    coverage: str = COMPLETE  # of the period's own figure (coverage.DataSpan)
    coverage_note: str = ""  # the data's real dates, said when the figure is partial or has no data
    missing: str = ""  # the absent optional export the figure needs ("touchpoints"): no number then
    money: object = None  # unit 'money': writes an amount (the page's money, e.g. `lambda a: page.money(a, 0)`)

    def formatted(self, value: float | None = None, signed: bool = False) -> str:
        value = self.value if value is None else value
        if value is None or math.isnan(value):
            return "–"
        if self.unit == "money":
            amount = self.money(abs(value)) if self.money else f"{abs(value):,.0f}"
            return unsigned_zero(("-" if value < 0 else "+" if signed else "") + amount)
        if self.unit == "percent":
            return f"{signed_points(value)} pts" if signed else unsigned_zero(f"{100 * value:.1f}%")
        if self.unit == "nps":
            return signed_number(value, 0) + (" pts" if signed else "")
        if self.unit == "hours":
            return signed_number(value, 1) + " h" if signed else f"{value:.1f} h"
        return signed_number(value, 2) if signed else f"{value:.2f}"


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
    if change.coverage == NO_DATA:
        return f'<li class="rr-change">vs {html.escape(change.against)}: no data</li>'
    if math.isnan(change.difference):
        return f'<li class="rr-change">vs {html.escape(change.against)}: no comparison</li>'
    amount = kpi.formatted(change.difference, signed=True)
    if change.coverage != COMPLETE:
        return (f'<li class="rr-change rr-flat">vs {html.escape(change.against)}: {amount} (partial data, '
                f'not judged)</li>')
    if not change.beyond_interval:
        note = "within noise" if not math.isnan(change.ci_low) else "no interval"
        return f'<li class="rr-change rr-flat">vs {html.escape(change.against)}: {amount} ({note})</li>'
    good = (change.direction > 0) == kpi.higher_is_better
    arrow = "▲" if change.direction > 0 else "▼"
    verdict = "better" if good else "worse"
    return (f'<li class="rr-change rr-{"good" if good else "bad"}">vs {html.escape(change.against)}: '
            f'<span aria-hidden="true">{arrow}</span> {amount} <span class="rr-verdict">({verdict}, beyond '
            f'the 95% interval)</span></li>')


def _markdown_code_as_html(text: str) -> str:
    """Our own sentence (`absent_export_line`) for a raw HTML card: escaped, its `code` spans as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def kpi_cards_html(kpis: list[Kpi]) -> str:
    """KPI cards as HTML: the value, a small trend line, and each change in words (colour and arrow only
    when the change is beyond its interval; the words carry the meaning too)."""
    cards = []
    for kpi in kpis:
        if kpi.missing:  # no number, no trend, no change: the card says what it needs
            cards.append(
                f'<div class="rr-kpi rr-kpi-missing" role="group" aria-label="{html.escape(kpi.name)}">'
                f'<h3 class="rr-kpi-name">{html.escape(kpi.name)}</h3>'
                f'<p class="rr-kpi-value"><span class="rr-kpi-number">needs the {html.escape(kpi.missing)} export'
                f'</span></p><p class="rr-kpi-detail">'
                f'{_markdown_code_as_html(absent_export_line(kpi.missing, "this figure cannot be computed"))}</p></div>')
            continue
        if kpi.coverage == NO_DATA:
            number, spark = "no data", ""
        else:
            number, spark = kpi.formatted(), _sparkline(kpi)
        note = kpi.coverage_note or "the data covers only part of the days this figure reads"
        words = kpi.detail + (f"; partial: {note}" if kpi.coverage == PARTIAL else
                              f"; {note}" if kpi.coverage == NO_DATA and kpi.coverage_note else "")
        detail = f'<p class="rr-kpi-detail">{html.escape(words)}</p>' if words else ""
        changes = "".join(_change_line(kpi, c) for c in kpi.changes)
        cards.append(
            f'<div class="rr-kpi" role="group" aria-label="{html.escape(kpi.name)}">'
            f'<h3 class="rr-kpi-name">{html.escape(kpi.name)}</h3>'
            f'<p class="rr-kpi-value"><span class="rr-kpi-number">{number}</span> {spark}</p>'
            f'{detail}<ul class="rr-kpi-changes">{changes}</ul></div>'
        )
    return '<div class="rr-kpis">' + "".join(cards) + "</div>"


def notable_changes(kpis: list[Kpi], count: int = 3) -> list[str]:
    """The changes furthest beyond their intervals (difference over the interval's half-width), written out,
    largest first; at most one per figure, so the three notable changes are about three figures. Only complete
    comparisons count: a figure the data does not wholly cover, or a change against such a period, is never news."""
    scored = []
    for kpi in kpis:
        if kpi.missing or kpi.coverage != COMPLETE:
            continue
        best = None
        for change in kpi.changes:
            if change.coverage != COMPLETE or not change.beyond_interval:
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


# --- The cards of the summary page, from the marts --------------------------------------------------------

ROLES = ("year_ago", "previous", "current")  # the trend line's order
COMPARED = ("previous", "year_ago")
TOUCHPOINTS, SURVEY, SUPPORT, EVENTS = "touchpoints", "nps_responses", "support_tickets", "events"
SUBSCRIPTIONS = "subscriptions"
# subscription_period_kpis.coverage in the cards' words
SUBSCRIPTION_COVERAGE = {"full": COMPLETE, "partial": PARTIAL, "no data": NO_DATA}


def _as_shares(counts, kpi: str, successes: str, n: str):
    """Per-period counts (indexed by period_role) as summary_kpis rows (indexed by kpi, period_role)."""
    import pandas as pd

    frame = pd.DataFrame({"kpi": kpi, "period_role": counts.index, "successes": counts[successes].fillna(0).to_numpy(),
                          "n": counts[n].fillna(0).to_numpy()})
    return frame.set_index(["kpi", "period_role"])


def _role_values(row) -> dict[str, float]:
    return {"current": row.value, "previous": row.previous, "year_ago": row.year_ago}


def _nan(value) -> float:
    return math.nan if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _changes(coverage: dict[str, str], labels: dict[str, str], make) -> tuple[Change, ...]:
    """The change against each comparison period: `make(role)` computes it; its coverage is the worse of the two
    periods', and against no data there is no difference at all."""
    from .cohorts import combined_coverage

    changes = []
    for role in COMPARED:
        both = combined_coverage(coverage["current"], coverage[role])
        change = Change(labels[role], math.nan) if both == NO_DATA else make(role)
        changes.append(replace(change, coverage=both))
    return tuple(changes)


def rate_kpi(kpis_table, metric: str, name: str, labels: dict[str, str], coverage: dict[str, str],
             higher_is_better: bool = True) -> Kpi:
    """A period_kpis share whose base is the customers at the period's start (S), with the Wald interval of
    each change."""
    row, base = kpis_table.loc[metric], kpis_table.loc["customers_at_start"]
    values = {r: (_nan(v) if coverage[r] != NO_DATA else math.nan) for r, v in _role_values(row).items()}
    bases = {r: (0 if math.isnan(_nan(v)) or coverage[r] == NO_DATA else int(v)) for r, v in _role_values(base).items()}

    def make(role: str) -> Change:
        n, n0, p, p0 = bases["current"], bases[role], values["current"], values[role]
        if n and n0 and not math.isnan(p) and not math.isnan(p0) and 0 <= p <= 1 and 0 <= p0 <= 1:
            return proportion_change(round(p * n), n, round(p0 * n0), n0, labels[role])
        return Change(labels[role], p - p0)

    detail = f"of {bases['current']:,} customers active at the start" if coverage["current"] != NO_DATA else \
        "the data does not reach the customers active at the start"
    if metric == "customer_retention_rate" and coverage["current"] != NO_DATA:  # the counts it is made of
        counts = {m: int(kpis_table.loc[m].value) if m in kpis_table.index and not math.isnan(_nan(
            kpis_table.loc[m].value)) else 0 for m in ("retained_customers", "churned_customers",
                                                        "reactivated_customers", "new_customers")}
        detail = (f"{counts['retained_customers']:,} kept and {counts['churned_customers']:,} churned of the "
                  f"{bases['current']:,} customers active at the start; {counts['reactivated_customers']:,} came back "
                  f"and {counts['new_customers']:,} were new (in neither rate)")
    return Kpi(name, values["current"], "percent", _changes(coverage, labels, make),
               tuple(values[r] for r in ROLES), higher_is_better, detail=detail, coverage=coverage["current"])


def share_kpi(shares, kpi: str, name: str, detail: str, labels: dict[str, str], coverage: dict[str, str],
              missing: str = "") -> Kpi:
    """A summary_kpis share (successes of n); a period with nobody to count has no row: 0 of 0, no figure."""
    if missing:
        return Kpi(name, math.nan, "percent", (), (), missing=missing)
    counts = {role: (int(shares.loc[(kpi, role)].successes), int(shares.loc[(kpi, role)].n))
              if (kpi, role) in shares.index and coverage[role] != NO_DATA else (0, 0) for role in ROLES}
    share = {role: (k / m if m else math.nan) for role, (k, m) in counts.items()}
    hits, n = counts["current"]
    changes = _changes(coverage, labels, lambda role: proportion_change(hits, n, *counts[role], labels[role]))
    return Kpi(name, share["current"], "percent", changes, tuple(share[r] for r in ROLES),
               detail=detail.format(n=n), coverage=coverage["current"])


def nps_kpi(nps_counts, labels: dict[str, str], coverage: dict[str, str], method: str, min_sample: int,
            missing: str = "") -> Kpi:
    from .nps import net_promoter_score

    if missing:
        return Kpi("NPS", math.nan, "nps", (), (), missing=missing)
    scores = {role: net_promoter_score(0, 0, 0, method=method) for role in ROLES}
    for role, r in nps_counts.iterrows():
        if role in scores and coverage[role] != NO_DATA:
            scores[role] = net_promoter_score(int(r.promoters), int(r.passives), int(r.detractors), method=method)
    now = scores["current"]
    detail = (f"95% interval {now.ci_low:+.0f} to {now.ci_high:+.0f}, {now.responses:,} answers"
              + (" (too few answers to judge)" if now.responses < min_sample else "")) if now.responses \
        else "no answers in the period"
    return Kpi("NPS", now.nps, "nps", _changes(coverage, labels, lambda role: nps_change(now, scores[role], labels[role])),
               tuple(scores[r].nps for r in ROLES), detail=detail, coverage=coverage["current"])


def nrr_kpi(kpis_table, nrr_terms, labels: dict[str, str], coverage: dict[str, str], money) -> Kpi:
    """Net revenue retention with its ratio standard error per period (revenue_retention_terms); `money(amount)`
    writes an amount as the page does."""
    from .intervals import ratio_of_sums_se

    row = kpis_table.loc["net_revenue_retention"]
    values = {r: (_nan(v) if coverage[r] != NO_DATA else math.nan) for r, v in _role_values(row).items()}
    se = {role: ratio_of_sums_se(t.residual_sum_of_squares, t.revenue_before, int(t.customers))
          for role, t in nrr_terms.iterrows()}
    now = nrr_terms.loc["current"] if "current" in nrr_terms.index else None
    detail = ("revenue of the customers active at the start, vs the stretch before"
              + (f": {money(now.revenue_kept)} against {money(now.revenue_before)}"
                 if now is not None and not math.isnan(_nan(now.revenue_before)) and coverage["current"] != NO_DATA
                 else ""))
    changes = _changes(coverage, labels, lambda role: ratio_change(
        values["current"], se.get("current", math.nan), values[role], se.get(role, math.nan), labels[role]))
    return Kpi("Net revenue retention", values["current"], "percent", changes, tuple(values[r] for r in ROLES),
               detail=detail, coverage=coverage["current"])


def median_hours_kpi(counts, name: str, detail: str, labels: dict[str, str], coverage: dict[str, str],
                     missing: str = "") -> Kpi:
    """A median in hours per period (`counts` indexed by period_role: `median_hours`, its 95% interval
    `median_ci_low` / `median_ci_high` and `n`); a change's interval takes each median's standard error as
    its interval's half-width over 1.96, the two periods as independent (as for the shares)."""
    if missing:
        return Kpi(name, math.nan, "hours", (), (), higher_is_better=False, missing=missing)

    def value(role: str, column: str) -> float:
        if role not in counts.index or coverage[role] == NO_DATA or not int(_nan(counts.loc[role].n) or 0):
            return math.nan
        return _nan(counts.loc[role][column])

    medians = {role: value(role, "median_hours") for role in ROLES}
    se = {role: (value(role, "median_ci_high") - value(role, "median_ci_low")) / (2 * Z_95) for role in ROLES}
    n = int(_nan(counts.loc["current"].n)) if "current" in counts.index and coverage["current"] != NO_DATA else 0
    changes = _changes(coverage, labels, lambda role: ratio_change(medians["current"], se["current"],
                                                                   medians[role], se[role], labels[role]))
    return Kpi(name, medians["current"], "hours", changes, tuple(medians[r] for r in ROLES), higher_is_better=False,
               detail=detail.format(n=n) if n else "no ticket answered in the period", coverage=coverage["current"])


def subscription_kpis(periods, labels: dict[str, str], money, missing: str = "", min_sample: int = 0) -> list[Kpi]:
    """The subscription cards from subscription_period_kpis (indexed by period_role): MRR at the period's end
    (a total, so its changes carry no interval), net MRR retention (the MRR the customers paying at the start pay
    at the end over what they paid then, a ratio of sums with intervals.ratio_of_sums_se from
    net_residual_sum_of_squares, as nrr_kpi) and logo churn (customers paying at the start who pay nothing at the
    end: a share with its Wilson interval, changes as the other shares'). Each period's coverage is the mart's
    (full, partial: the period begins before the first paid month or ends after the data; no data: nobody paid at
    its start), but MRR at the end is known when someone pays at the end: then partial, not no data. `missing`:
    the absent subscriptions export, named by every card instead of a number. Fewer than `min_sample` customers
    paying at the start: retention and churn say they are too few to judge (their interval says how little is
    known). Net MRR retention's interval is cut at 0, below which no ratio of MRRs can fall."""
    from .intervals import wilson_interval
    from .subscriptions import mrr_retention

    names = ("MRR", "Net MRR retention", "Logo churn")
    if missing:
        return [Kpi(names[0], math.nan, "money", (), (), missing=missing, money=money),
                Kpi(names[1], math.nan, "percent", (), (), missing=missing),
                Kpi(names[2], math.nan, "percent", (), (), higher_is_better=False, missing=missing)]

    def row(role: str):
        return periods.loc[role] if role in periods.index else None

    coverage = {role: SUBSCRIPTION_COVERAGE.get(str(row(role).coverage), NO_DATA) if row(role) is not None
                else NO_DATA for role in ROLES}
    # MRR at the end: known when anyone pays at the end, even with no one paying at the start
    mrr_coverage = {role: (PARTIAL if coverage[role] == NO_DATA and row(role) is not None
                           and int(row(role).customers_end or 0) > 0 else coverage[role]) for role in ROLES}
    mrr = {role: _nan(row(role).mrr_end) if mrr_coverage[role] != NO_DATA else math.nan for role in ROLES}
    now = row("current")
    mrr_detail = (f"{int(now.customers_end):,} paying customer{'' if int(now.customers_end) == 1 else 's'} at "
                  f"the end of {labels['current']}"
                  + (f", {money(now.arpa)} a month each on average" if not math.isnan(_nan(now.arpa))
                     else "")) if now is not None and \
        mrr_coverage["current"] != NO_DATA else "no subscription paid in the period"
    mrr_card = Kpi(names[0], mrr["current"], "money",
                   _changes(mrr_coverage, labels, lambda role: Change(labels[role], mrr["current"] - mrr[role])),
                   tuple(mrr[r] for r in ROLES), detail=mrr_detail, coverage=mrr_coverage["current"], money=money)

    nrr = {role: _nan(row(role).net_mrr_retention) if coverage[role] != NO_DATA else math.nan for role in ROLES}
    retention = {role: mrr_retention(row(role), "net") if coverage[role] != NO_DATA else None for role in ROLES}
    se = {role: retention[role].se if retention[role] else math.nan for role in ROLES}
    if coverage["current"] != NO_DATA:
        low, high = retention["current"].ci_low, retention["current"].ci_high
        few = int(now.customers_start) < min_sample
        interval = f"95% interval {100 * low:.1f}% to {100 * high:.1f}%; " if not math.isnan(se["current"]) else ""
        nrr_detail = (f"{interval}MRR of the {int(now.customers_start):,} customers paying at the start: "
                      f"{money(now.retained_net)} at the end against {money(now.retained_base)}"
                      + (" (too few to judge)" if few else ""))
    else:
        nrr_detail = "no customer paid a subscription at the start of the period"
    nrr_card = Kpi(names[1], nrr["current"], "percent", _changes(coverage, labels, lambda role: ratio_change(
        nrr["current"], se["current"], nrr[role], se[role], labels[role])), tuple(nrr[r] for r in ROLES),
        detail=nrr_detail, coverage=coverage["current"])

    counts = {role: (int(row(role).churned_logos), int(row(role).customers_start))
              if coverage[role] != NO_DATA else (0, 0) for role in ROLES}
    churn = {role: (k / n if n else math.nan) for role, (k, n) in counts.items()}
    lost, base = counts["current"]
    if base:
        low, high = wilson_interval(lost, base)
        churn_detail = (f"{lost:,} of {base:,} customers paying at the start paid nothing at the end (95% interval "
                        f"{100 * low:.1f}% to {100 * high:.1f}%)" + (" (too few to judge)" if base < min_sample else ""))
    else:
        churn_detail = "no customer paid a subscription at the start of the period"
    churn_card = Kpi(names[2], churn["current"], "percent", _changes(coverage, labels, lambda role: proportion_change(
        lost, base, *counts[role], labels[role])), tuple(churn[r] for r in ROLES), higher_is_better=False,
        detail=churn_detail, coverage=coverage["current"])
    return [mrr_card, nrr_card, churn_card]


def _year_before(day):
    return day.replace(year=day.year - 1)


def summary_cards(kpis_table, shares, nps_counts, nrr_terms, params: dict, period, span, exports: dict,
                  money, support=None, onboarding=None, subscriptions=None) -> list[Kpi]:
    """Every card of the summary, for `period` (periods.Period) against its previous period and a year earlier.
    `span` is the orders' coverage.DataSpan (cohort_bounds); `exports` maps an export's name to its
    validate.ExportSummary (present, first_day, last_day): a card needing an absent optional export says so, and
    the survey, touchpoint, support and first-week cards are also bounded by their own export's dates.
    `support` (support_period_counts) and `onboarding` (onboarding_period_counts), indexed by period_role, give
    the support and first-week cards; without them those cards are left out. `subscriptions`
    (subscription_period_kpis, indexed by period_role) gives the MRR, net MRR retention and logo churn cards
    (subscription_kpis; "needs the subscriptions export" when it is absent)."""
    from .cohorts import combined_coverage, period_figure_coverage
    from .coverage import DataSpan

    periods = {"current": period, "previous": period.previous, "year_ago": period.year_ago}
    labels = {role: str(p) for role, p in periods.items()}
    churn = int(params["churn_after_days"])

    def present(name: str) -> bool:
        return name in exports and bool(exports[name].present)

    def export_span(name: str) -> DataSpan:
        s = exports[name]
        return DataSpan(s.first_day, s.last_day)

    def figure(metric: str) -> dict[str, str]:
        return {role: period_figure_coverage(metric, p, span, churn) for role, p in periods.items()}

    def within(name: str, twelve_months: bool = False, look_back: int = 0) -> dict[str, str]:
        """Orders over the period (or the 12 months to its end) with `look_back` days, and the export's own dates."""
        out = {}
        for role, p in periods.items():
            start = _year_before(p.end_exclusive) if twelve_months else p.start
            orders = span.needs(start, p.end_exclusive, look_back)
            out[role] = combined_coverage(orders, export_span(name).coverage(start, p.end_exclusive)) \
                if present(name) else orders
        return out

    def survey() -> dict[str, str]:
        return {role: export_span(SURVEY).coverage(p.start, p.end_exclusive) if present(SURVEY) else NO_DATA
                for role, p in periods.items()}

    no_survey = "" if present(SURVEY) else SURVEY
    no_touchpoints = "" if present(TOUCHPOINTS) else TOUCHPOINTS
    welcome_days = params["welcome_within_days"]
    kpis = [
        rate_kpi(kpis_table, "customer_retention_rate", "Customer retention rate", labels,
                 figure("customer_retention_rate")),
        rate_kpi(kpis_table, "churn_rate", "Churn rate", labels, figure("churn_rate"), higher_is_better=False),
        nrr_kpi(kpis_table, nrr_terms, labels, figure("net_revenue_retention"), money),
        nps_kpi(nps_counts, labels, survey(), params["nps_ci_method"], int(params["min_sample"]), missing=no_survey),
        share_kpi(shares, "would_buy_again", "Would buy again", "of {n:,} answers to the question", labels, survey(),
                  missing=no_survey),
        share_kpi(shares, "welcome_coverage", f"Welcomed within {welcome_days} days", "of {n:,} new customers", labels,
                  within(TOUCHPOINTS, look_back=churn), missing=no_touchpoints),
        share_kpi(shares, "appreciation_coverage", "Appreciated in the last 12 months",
                  "of {n:,} customers active in 12 months", labels, within(TOUCHPOINTS, twelve_months=True),
                  missing=no_touchpoints),
    ]
    notes = {"NPS": SURVEY, "Would buy again": SURVEY, f"Welcomed within {welcome_days} days": TOUCHPOINTS,
             "Appreciated in the last 12 months": TOUCHPOINTS}  # the cards bounded by their own export's dates

    def own_export(name: str) -> dict[str, str]:
        return {role: export_span(name).coverage(p.start, p.end_exclusive) if present(name) else NO_DATA
                for role, p in periods.items()}

    if support is not None:
        target = params.get("response_target_hours", 24)
        no_tickets = "" if present(SUPPORT) else SUPPORT
        kpis += [
            median_hours_kpi(support.rename(columns={"median_first_response_hours": "median_hours",
                                                     "answered": "n"}),
                             "Median first response", "of {n:,} tickets answered", labels, own_export(SUPPORT),
                             missing=no_tickets),
            share_kpi(_as_shares(support, "answered_within_target", "answered_within_target", "eligible_for_target"),
                      "answered_within_target", f"Answered within {target:g} hours",
                      "of {n:,} tickets due an answer", labels, own_export(SUPPORT), missing=no_tickets),
        ]
        notes.update({"Median first response": SUPPORT, f"Answered within {target:g} hours": SUPPORT})
    if onboarding is not None:
        window = (params.get("onboarding") or {}).get("window_days", 7)
        no_events = "" if present(EVENTS) else EVENTS
        kpis.append(share_kpi(_as_shares(onboarding, "activated", "activated", "new_customers"), "activated",
                              f"Activated in the first {window:g} days", "of {n:,} new customers", labels,
                              within(EVENTS), missing=no_events))
        notes[f"Activated in the first {window:g} days"] = EVENTS

    if subscriptions is not None:
        cards = subscription_kpis(subscriptions, labels, money, missing="" if present(SUBSCRIPTIONS) else SUBSCRIPTIONS,
                                  min_sample=int(params["min_sample"]))
        kpis += cards
        notes.update({card.name: SUBSCRIPTIONS for card in cards})

    def note(kpi: Kpi) -> str:
        """The real dates behind a partial figure: the orders', and its own export's when it has one."""
        words = span.words()
        name = notes.get(kpi.name)
        if name and present(name):
            own = export_span(name).words().replace("the data", f"the {name} export")
            words = own if name in (SURVEY, SUPPORT) else f"{words}; {own}"
        return words

    # The trend line's x axis is time: a year ago, the previous period, now.
    return [replace(kpi, history_months=(12, period.months, 0),
                    coverage_note=note(kpi) if kpi.coverage != COMPLETE else "") for kpi in kpis]


def summary_rows(kpis: list[Kpi]):
    """The cards as the summary_kpis download: value, coverage, and per comparison its change, interval,
    verdict and coverage (blank where the card has no number)."""
    import pandas as pd

    rows = []
    for kpi in kpis:
        row = {"kpi": kpi.name, "value": kpi.value, "coverage": "missing export" if kpi.missing else kpi.coverage}
        for key, change in zip(COMPARED, kpi.changes):
            row.update({f"change_vs_{key}": change.difference, f"ci_low_vs_{key}": change.ci_low,
                        f"ci_high_vs_{key}": change.ci_high, f"beyond_interval_vs_{key}": change.beyond_interval,
                        f"coverage_vs_{key}": change.coverage})
        rows.append(row)
    return pd.DataFrame(rows)
