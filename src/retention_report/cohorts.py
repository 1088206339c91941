"""Cohort retention page: the arithmetic the notebook runs on the (small) cohort marts.

Definitions used on the page and in the marts (sql/marts/cohort_*.sql, lifetime_*.sql, period_kpis.sql,
segment_retention.sql, revenue_concentration.sql):

- Active in a month: at least one order in that calendar month whose status is in `active_statuses`
  (by default only completed orders: a refunded or cancelled order is not activity). Two orders in one
  month count once. With `activity: events` a product event (of `active_events`; empty: any) counts instead,
  with `activity: subscriptions` every month a subscription of theirs is paid at some moment, with `activity:
  both` the orders and every other activity export given, or a list such as `[orders, subscriptions]`
  (sql/marts/_activity.sql; `activity_definition` words it); the cohort then starts at the first activity, and
  revenue is still the completed orders'.
- Cohort: the month of a customer's first completed order (`cohort_by: first_order`), or of their
  sign-up, `customers.created_at` (`cohort_by: signup`, where customers who never ordered count too).
- Retention in month k: the share of a cohort active in month k after its cohort month
  (`retention_mode: on`), or active in month k or any later month up to the period's end
  (`retention_mode: on_or_after`). A month that had not ended when the data ended is incomplete:
  shown as such, never as a drop.
- Active at a date: a completed order in the `churn_after_days` days before it. Customers at start S
  are active at the period's first day, customers at end E at the day after its last, new customers N
  placed their first completed order ever inside the period. Each customer of S is kept (in E) or churned:
  customer retention rate = kept / S and churn rate = churned / S add up to 100%. The returning customer ratio
  (E - N) / S, N counting only the new customers who are part of E, also counts those who came back after a lapse
  (in E, not in S, not new): no share of S, it can pass 1.
- Cohorts at the data's start: a cohort that began less than `churn_after_days` after the data's first day
  (`may_predate_data`) may include customers from before the data: one whose first order in the data falls
  then may have ordered within the churn window before the data begins, an old customer rather than a new one
  (the real export's first cohort, 2010-12, holds the shop's long-standing customers). Such cohorts are shown,
  marked, and left out of the average curve, the best and worst cohort and the page's sentences.
- Average curve: month k pools the complete cells of the cohorts not so marked; a month pooled from fewer than
  `min_cohorts` cohorts or `min_sample` customers is not drawn as the average (`drawn`).
- Lifetime: days from the first completed order to the last one before the first silence of more than
  `churn_after_days` days. Churned when that silence lies wholly inside the data; otherwise censored at
  the longest lifetime the data could already have confirmed as ended (last day of data minus
  `churn_after_days`, minus the first order day), which keeps the censoring independent of behaviour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .coverage import COMPLETE, DataSpan
from .intervals import Z_95, wilson_interval
from .page import signed_points
from .survival import kaplan_meier_from_counts, median_lifetime, median_lifetime_beyond

MILESTONE_DAYS = (30, 90, 180, 365)
SEGMENT_MONTHS = (1, 3, 6, 12)
TOO_FEW = "too few to judge"
BEFORE_DATA = "may include customers from before the data"

KPI_LABELS = {
    "customers_at_start": ("Customers at start (S)", "active (a completed order) in the churn window before the first day"),
    "new_customers": ("New customers (N)", "first completed order ever inside the period"),
    "customers_at_end": ("Customers at end (E)", "active in the churn window before the day after the last day"),
    "new_customers_at_end": ("New and still active at end (N in E)", "new customers who are part of E"),
    "retained_customers": ("Kept", "in S and still active at the end (in E)"),
    "churned_customers": ("Churned", "in S and not active at the end"),
    "reactivated_customers": ("Came back", "active at the end, not in S and not new: returned after a lapse"),
    "customer_retention_rate": ("Customer retention rate", "kept / S: the share of S still active at the end "
                                "(retention + churn = 100%)"),
    "churn_rate": ("Churn rate", "churned / S: the share of S not active at the end"),
    "returning_customer_ratio": ("Returning customers per customer at start", "(E - N) / S with N counting only "
                                 "new customers in E: kept plus came back, over S. It counts comebacks, customers "
                                 "who were not in S, so it is no share of S and can pass 1"),
    "repeat_purchase_rate": ("Repeat purchase rate", "share of the period's buyers with two or more completed orders in it"),
    "gross_revenue_retention": ("Gross revenue retention", "S's revenue in the period, each customer capped at their "
                                "revenue in the equally long stretch before, over that earlier revenue"),
    "net_revenue_retention": ("Net revenue retention", "revenue in the period of the customers of S who bought in the "
                              "equally long stretch before, over their revenue in that stretch (expansion counts)"),
    "buying_customers": ("Buying customers", "customers with a completed order in the period"),
    "revenue": ("Revenue", "sum of completed orders in the period"),
    "top_20_percent_revenue_share": ("Revenue from the top 20% of buyers", "the Pareto check"),
}


def percent(value: float, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def points(change: float) -> str:
    """A change of two rates in percentage points, with its sign."""
    if change is None or (isinstance(change, float) and math.isnan(change)):
        return "n/a"
    return f"{signed_points(change)} points"


# --- Cohorts at the data's start ------------------------------------------------------------------------


def cohort_start(cohort: str) -> date:
    """The first day of a cohort label: '2010-12' (a month) or '2010-Q4' (a quarter)."""
    return pd.Period(str(cohort)).start_time.date()


def may_predate_data(start: date, span: DataSpan, churn_after_days: int) -> bool:
    """Whether a cohort that began on `start` may include customers from before the data: the data does not hold
    the `churn_after_days` days before it began (DataSpan.coverage of that stretch is not complete), so a customer
    whose first order in the data falls in the cohort may have ordered within the churn window before the data
    begins. With the data from 2010-12-01 and 90 days: 2010-12, 2011-01 and 2011-02 may; 2011-03 may not."""
    if churn_after_days <= 0:
        return span.first_day is None or start < span.first_day
    return span.coverage(start - timedelta(days=int(churn_after_days)), start) != COMPLETE


def mark_data_start(cells: pd.DataFrame, span: DataSpan, churn_after_days: int) -> pd.DataFrame:
    """`cells` (any table with a `cohort` label) with `may_predate_data`, the boolean the CSV downloads keep."""
    flags = {c: may_predate_data(cohort_start(c), span, churn_after_days) for c in cells["cohort"].unique()}
    return cells.assign(may_predate_data=cells["cohort"].map(flags).astype(bool))


def _new_cohorts(cells: pd.DataFrame) -> pd.DataFrame:
    """The cells of cohorts that cannot include customers from before the data (see `mark_data_start`)."""
    return cells[~cells["may_predate_data"].astype(bool)]


def cohort_span(cohorts) -> str:
    """'2010-12', '2010-12 and 2011-01' or '2010-12 to 2011-02' (consecutive labels, as the triangle lists them)."""
    names = sorted(dict.fromkeys(str(c) for c in cohorts))
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} to {names[-1]}"


def left_out_words(cells: pd.DataFrame) -> str:
    """'2010-12 to 2011-02 are left out: they may include customers from before the data.' ('' when none is)."""
    flagged = cells.loc[cells["may_predate_data"].astype(bool), "cohort"].unique()
    if not len(flagged):
        return ""
    verb, pronoun = ("is", "it") if len(flagged) == 1 else ("are", "they")
    return f"{cohort_span(flagged)} {verb} left out: {pronoun} {BEFORE_DATA}."


# --- Triangle and curves ---------------------------------------------------------------------------


def weighted_average_curve(cells: pd.DataFrame, min_cohorts: int, min_sample: int) -> pd.DataFrame:
    """Customer-weighted average retention by month since first order.

    Month k pools only the cohorts whose month k is complete and that cannot include customers from before the
    data: sum of active customers over sum of cohort customers of those cohorts. Cohorts that have not reached
    month k do not pull it down (an unweighted mean over every cohort row would count their missing months as
    zeros, or let a cohort of 20 weigh as much as one of 2,000). `drawn` is False for a month pooled from fewer
    than `min_cohorts` cohorts or `min_sample` customers: there the "average" is one or two cohorts' own figure
    (on the real export, month 9 was the first cohort alone), not drawn as the average.
    """
    done = _new_cohorts(cells[cells["is_complete"].astype(bool)])
    grouped = done.groupby("months_since_first", as_index=False).agg(
        cohorts=("cohort", "nunique"), cohort_customers=("cohort_customers", "sum"),
        active_customers=("active_customers", "sum"))
    grouped["retention_rate"] = grouped["active_customers"] / grouped["cohort_customers"]
    grouped["drawn"] = (grouped["cohorts"] >= min_cohorts) & (grouped["cohort_customers"] >= min_sample)
    return grouped.astype({"months_since_first": int, "drawn": bool})


def best_and_worst_cohorts(cells: pd.DataFrame, month: int, min_sample: int) -> tuple[pd.Series, pd.Series, int]:
    """The cohorts with the highest and lowest retention in `month`, among those with that month complete, at
    least `min_sample` customers and no customer from before the data; also how many cohorts were compared."""
    pool = _new_cohorts(cells[(cells["months_since_first"] == month) & cells["is_complete"].astype(bool)
                              & (cells["cohort_customers"] >= min_sample)])
    if pool.empty:
        raise ValueError(f"no cohort with month {month} complete and at least {min_sample} customers")
    ordered = pool.sort_values(["retention_rate", "cohort"])
    return ordered.iloc[-1], ordered.iloc[0], len(pool)


def split_at(cells: pd.DataFrame, start_month: str, months: tuple[int, ...] = (1, 2, 3, 4, 5, 6)) -> pd.DataFrame:
    """Customer-weighted retention in the given months for cohorts before and from `start_month` (YYYY-MM),
    over complete cells only: a before/after comparison (e.g. of a programme's launch)."""
    done = cells[cells["is_complete"].astype(bool) & cells["months_since_first"].isin(months)].copy()
    done["group"] = np.where(done["cohort"] >= start_month, "from " + start_month, "before " + start_month)
    out = done.groupby(["group", "months_since_first"], as_index=False)[["active_customers", "cohort_customers"]].sum()
    out["retention_rate"] = out["active_customers"] / out["cohort_customers"]
    return out


# --- Customer lifetime (Kaplan-Meier) ----------------------------------------------------------------


def segment_label(column: str, value: str) -> str:
    """'plan: basic'; a missing or blank value reads 'not given' (never '(blank)' or 'nan')."""
    if column == "all":
        return "all"
    missing = value is None or (isinstance(value, float) and math.isnan(value)) or not str(value).strip()
    return f"{column}: {'not given' if missing else value}"


def lifetime_curves(counts: pd.DataFrame) -> pd.DataFrame:
    """Kaplan-Meier curve per segment from `lifetime_counts` (segment_column, segment, day, churned, censored).

    Columns: segment, day, at_risk, churned, survival, ci_low, ci_high (the 95% band, Rothman's: survival.py),
    then segment_column, segment_value, censored and greenwood (Greenwood's sum, Var(log S)).
    """
    frames = []
    for (column, value), group in counts.groupby(["segment_column", "segment"], sort=False):
        curve = kaplan_meier_from_counts(group["day"].to_numpy(), group["churned"].to_numpy(),
                                         group["censored"].to_numpy())
        censored = group.groupby("day")["censored"].sum()
        curve["censored"] = curve["day"].map(censored).fillna(0).astype(int)
        curve.insert(0, "segment", segment_label(column, value))
        curve["segment_column"] = column
        curve["segment_value"] = value
        frames.append(curve)
    columns = ["segment", "day", "at_risk", "churned", "survival", "ci_low", "ci_high",
               "segment_column", "segment_value", "censored", "greenwood"]
    if not frames:
        return pd.DataFrame(columns=columns)
    out = pd.concat(frames, ignore_index=True)[columns]
    order = out["segment"].ne("all")
    return out.assign(_o=order).sort_values(["_o", "segment", "day"], kind="stable").drop(columns="_o").reset_index(drop=True)


def step_values(curve: pd.DataFrame, days, columns=("survival", "ci_low", "ci_high")) -> pd.DataFrame:
    """Values of the step curve on the given days (the latest listed day at or before each; 1 before day 0).
    Days past the longest observed lifetime are nan: the curve says nothing there."""
    wanted = np.asarray(days, dtype=float)
    curve_days = curve["day"].to_numpy(dtype=float)
    index = np.searchsorted(curve_days, wanted, side="right") - 1
    out = {}
    for column in columns:
        values = curve[column].to_numpy(dtype=float)
        got = np.where(index >= 0, values[np.clip(index, 0, None)], 1.0)
        out[column] = np.where(wanted > curve_days.max(), np.nan, got)
    return pd.DataFrame(out, index=pd.Index(list(days), name="day"))


def lifetime_summary(curves: pd.DataFrame, min_sample: int, days=MILESTONE_DAYS) -> pd.DataFrame:
    """One row per segment: customers, churned, censored, median lifetime (inf = not reached yet), the share who
    never ordered again within the churn window (`never_again_share`: lifetime 0, churned), the median lifetime of
    the others (`median_days_again`, `survival.median_lifetime_beyond`), and the share surviving 30/90/180/365
    days with its 95% band; `judged` is False below `min_sample` customers."""
    rows = []
    for segment, curve in curves.groupby("segment", sort=False):
        curve = curve.sort_values("day")
        customers = int(curve["at_risk"].iloc[0])
        row = {"segment": segment, "segment_column": curve["segment_column"].iloc[0],
               "segment_value": curve["segment_value"].iloc[0], "customers": customers,
               "churned": int(curve["churned"].sum()), "censored": int(curve["censored"].sum()),
               "median_days": median_lifetime(curve), "judged": customers >= min_sample}
        first = curve.iloc[0]
        row["never_again_share"] = (float(first["churned"]) / customers
                                    if customers and float(first["day"]) == 0 else 0.0)
        row["median_days_again"] = median_lifetime_beyond(curve, 0)
        at = step_values(curve, days)
        for day in days:
            row[f"survival_{day}d"] = at.loc[day, "survival"]
            row[f"ci_low_{day}d"] = at.loc[day, "ci_low"]
            row[f"ci_high_{day}d"] = at.loc[day, "ci_high"]
        rows.append(row)
    return pd.DataFrame(rows)


def days_words(days: float) -> str:
    return "1 day" if days == 1 else f"{days:,.0f} days"


def lifetime_sentence(row, churn_after_days: int) -> str:
    """What the median lifetime of a `lifetime_summary` row means, in words. A median of 0 days says that more
    than half never ordered again within the churn window; then the sentence says so, and gives the median of
    those who did."""
    median = row["median_days"]
    if median is None or math.isnan(median):
        return "No customer's lifetime can be judged yet"
    if math.isinf(median):
        return "More than half of the customers are still buying"
    if median > 0:
        return f"Half of the customers stop within {days_words(median)} of their first order"
    text = (f"{percent(row['never_again_share'], 0)} of customers never ordered again within {churn_after_days} days "
            f"of their first order")
    again = row["median_days_again"]
    if again is None or math.isnan(again):
        return text
    if math.isinf(again):
        return text + "; more than half of those who did are still buying"
    return text + f"; of those who did, half stopped within {days_words(again)}"


def lifetime_start_words(lifetime_cohorts: pd.DataFrame, span: DataSpan, churn_after_days: int) -> str:
    """A note when some of the customers whose lifetime is judged placed their first order in the data in a month
    that may include customers from before the data (`lifetime_cohorts`: cohort, customers): their lifetime may have
    begun before the data, so the curve may overstate how long a new customer lasts. '' when none did."""
    if lifetime_cohorts.empty:
        return ""
    marked = mark_data_start(lifetime_cohorts, span, churn_after_days)
    early = marked[marked["may_predate_data"]]
    if early.empty:
        return ""
    total, count = int(marked["customers"].sum()), int(early["customers"].sum())
    return (f"{count:,} of the {total:,} customers here placed their first order in the data in "
            f"{cohort_span(early['cohort'])}, less than {churn_after_days} days after it begins: some of them may have "
            f"bought before the data, so their lifetimes may have begun earlier than counted, and the curve may "
            f"overstate how long a new customer lasts.")


def lifetime_extremes_title(lifetimes: pd.DataFrame, day: int = 180) -> str | None:
    """'<segment> keeps customers longest (x% still buying at 180 days), <segment> shortest (y%)', among judged
    segments (not 'all') followed for `day` days; None with fewer than two, or when the two read the same."""
    column = f"survival_{day}d"
    judged = lifetimes[(lifetimes["segment"] != "all") & lifetimes["judged"].astype(bool)].dropna(subset=[column])
    if len(judged) < 2:
        return None
    ordered = judged.sort_values([column, "segment"])
    best, worst = ordered.iloc[-1], ordered.iloc[0]
    if percent(best[column]) == percent(worst[column]):
        return None
    return (f"{best['segment']} keeps customers longest ({percent(best[column])} still buying at {day} days), "
            f"{worst['segment']} shortest ({percent(worst[column])})")


# --- Segments ------------------------------------------------------------------------------------------


def with_wilson(frame: pd.DataFrame, successes: str = "retained", n: str = "customers") -> pd.DataFrame:
    """Adds ci_low and ci_high, the 95% Wilson interval of successes / n (nan where n is 0)."""
    low, high = wilson_interval(frame[successes].to_numpy(), frame[n].to_numpy())
    return frame.assign(ci_low=np.atleast_1d(low), ci_high=np.atleast_1d(high))


def difference_interval(s1, n1, s2, n2, z: float = Z_95) -> tuple[float, float]:
    """95% interval for p1 - p2 from two independent proportions: Newcombe's hybrid score method
    (method 10 of Newcombe 1998), built from the two Wilson intervals; stays inside [-1, 1]."""
    p1, p2 = s1 / n1, s2 / n2
    l1, u1 = wilson_interval(s1, n1, z)
    l2, u2 = wilson_interval(s2, n2, z)
    d = p1 - p2
    return d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def segment_table(segments: pd.DataFrame, min_sample: int) -> pd.DataFrame:
    """segment_retention with Wilson intervals, labels and the "too few to judge" status (never dropped)."""
    out = with_wilson(segments)
    out["segment_label"] = [segment_label(c, v) for c, v in zip(out["segment_column"], out["segment"])]
    out["judged"] = out["customers"] >= min_sample
    out["status"] = np.where(out["judged"], "", TOO_FEW)
    return out


def segment_range_title(now: pd.DataFrame, month: int, period: str, min_sample: int) -> str:
    """The title of the segment chart: the range of month-`month` retention over judged segments (not 'all'), or
    a title that names no range when fewer than two are judged or they read the same."""
    judged = now[now["judged"].astype(bool) & (now["months_since_first"] == month) & (now["segment_column"] != "all")
                 & now["retention_rate"].notna()]
    if judged.empty:
        return f"No segment has {min_sample} customers reaching month {month} in {period}"
    ordered = judged.sort_values(["retention_rate", "segment_label"])
    lo, hi = ordered.iloc[0], ordered.iloc[-1]
    if len(judged) < 2 or percent(lo.retention_rate) == percent(hi.retention_rate):
        return f"Month-{month} retention in {period} by segment"
    return (f"Month-{month} retention in {period} ranged from {percent(lo.retention_rate)} ({lo.segment_label}) "
            f"to {percent(hi.retention_rate)} ({hi.segment_label})")


@dataclass(frozen=True)
class Movement:
    segment: str
    month: int
    against: str
    now: float
    before: float
    change: float
    ci_low: float
    ci_high: float
    customers_now: int
    customers_before: int
    tied: bool = False  # another segment moved as much as shown (0.1 points), or none moved at all

    @property
    def clear(self) -> bool:
        """Whether the 95% interval of the change excludes 0."""
        return self.ci_low > 0 or self.ci_high < 0


def most_moved_segment(table: pd.DataFrame, month: int, against: str, min_sample: int) -> Movement | None:
    """The segment (not 'all') whose retention in `month` changed most, in percentage points, between the
    current period and `against` ('previous' or 'year_ago'), among segments with at least `min_sample`
    customers in both; `tied` when another moved as much as shown, or none moved."""
    rows = table[(table["months_since_first"] == month) & (table["segment_column"] != "all")]
    now = rows[rows["period_role"] == "current"].set_index(["segment_column", "segment"])
    then = rows[rows["period_role"] == against].set_index(["segment_column", "segment"])
    both = now.join(then, lsuffix="_now", rsuffix="_then", how="inner")
    both = both[(both["customers_now"] >= min_sample) & (both["customers_then"] >= min_sample)]
    if both.empty:
        return None
    both = both.assign(change=both["retention_rate_now"] - both["retention_rate_then"])
    shown = (100 * both["change"].abs()).round(1)
    key = shown.sort_values(ascending=False, kind="stable").index[0]
    tied = bool((shown == shown.loc[key]).sum() > 1 or shown.loc[key] == 0)
    best = both.loc[key]
    low, high = difference_interval(int(best["retained_now"]), int(best["customers_now"]),
                                    int(best["retained_then"]), int(best["customers_then"]))
    return Movement(segment_label(*key), month, against, float(best["retention_rate_now"]),
                    float(best["retention_rate_then"]), float(best["change"]), low, high,
                    int(best["customers_now"]), int(best["customers_then"]), tied)


# --- Period figures -----------------------------------------------------------------------------------


def kpi_table(kpis: pd.DataFrame, activity: dict[str, str] | None = None) -> pd.DataFrame:
    """period_kpis with a readable label and its definition; `activity` (activity_definition) words what makes a
    customer active when it is not a completed order."""
    labels = kpis["metric"].map(lambda m: KPI_LABELS.get(m, (m, ""))[0])
    definitions = kpis["metric"].map(lambda m: KPI_LABELS.get(m, (m, ""))[1])
    if activity and activity["start"] != "first completed order":
        active = activity["active"].replace("`", "")  # a table cell: plain text
        definitions = (definitions.str.replace("active (a completed order)", f"active ({active})", regex=False)
                       .str.replace("first completed order ever", f"{activity['start']} ever", regex=False))
    return kpis.assign(label=labels, definition=definitions)


def lorenz_gini(lorenz: pd.DataFrame) -> float:
    """Gini coefficient from Lorenz points (customer_share, revenue_share), by the trapezoid rule;
    nan without buyers (no points)."""
    if len(lorenz) < 2:
        return float("nan")
    x = lorenz["customer_share"].to_numpy(dtype=float)
    y = lorenz["revenue_share"].to_numpy(dtype=float)
    return float(1 - np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1])))


# --- The three sentences at the top ---------------------------------------------------------------------


def retention_sentence(kpis: pd.DataFrame, period: str, previous: str, year_ago: str) -> str:
    """The period's customer retention (kept / S) against the previous period and the same period a year earlier
    (said once when they are the same period, as for a year), with kept, churned, came back and new as counts.
    Reads the coverage columns of `kpis_with_coverage` when present: a comparison the data does not reach is
    named as such, one it reaches only in part is marked partial."""
    from .coverage import COMPLETE, NO_DATA

    k = kpis.set_index("metric")
    crr, churn, start = k.loc["customer_retention_rate"], k.loc["churn_rate"], k.loc["customers_at_start"]

    def coverage(row, column):
        value = row.get(column, COMPLETE)
        return value if isinstance(value, str) else COMPLETE

    def missing(value) -> bool:
        return value is None or (isinstance(value, float) and math.isnan(value))

    if coverage(crr, "coverage") == NO_DATA:
        return f"The data does not reach the days before {period} began, so {period} has no retention rate."
    if missing(start.value) or not start.value or missing(crr.value):
        return (f"No customer was active in the window before {period} began, so {period} has no retention rate "
                f"(it is a share of those customers).")

    def count(metric: str) -> int:
        value = k.loc[metric, "value"] if metric in k.index else 0
        return 0 if missing(value) else int(value)

    def against(label: str, column: str, change_column: str) -> str:
        value, change, cover = crr[column], crr[change_column], coverage(crr, f"{column}_coverage")
        if cover == NO_DATA:
            return f"no figure for {label} (no data)"
        if missing(value):
            return f"no figure for {label}"
        word = "up" if change > 0 else "down" if change < 0 else "unchanged"
        partial = ", partial data" if cover != COMPLETE else ""
        return f"{word} {abs(100 * change):.1f} points on {label} ({percent(value)}{partial})"

    def churn_then(column: str, label: str) -> str:
        if coverage(churn, f"{column}_coverage") == NO_DATA:
            return f"no data in {label}"
        return f"no figure for {label}" if missing(churn[column]) else f"{percent(churn[column])} in {label}"

    comparisons = [against(previous, "previous", "change")]
    churn_before = [churn_then("previous", previous)]
    if year_ago != previous:
        comparisons.append(against(year_ago, "year_ago", "change_year_ago"))
        churn_before.append(churn_then("year_ago", year_ago))
    partial_now = " (partial: see the note on the data's dates)" if coverage(crr, "coverage") != COMPLETE else ""
    back, new_at_end = count("reactivated_customers"), count("new_customers_at_end")
    figures = " and ".join(c for c in comparisons if not c.startswith("no figure"))
    gaps = " and ".join(c for c in comparisons if c.startswith("no figure"))
    compared = figures + (", with " if figures and gaps else "with " if gaps else "") + gaps
    return (
        f"Customer retention in {period} was **{percent(crr.value)}**{partial_now}, " + compared
        + f": of the {int(start.value):,} customers active at the start, {count('retained_customers'):,} were still "
        f"active at the end and {count('churned_customers'):,} churned (churn {percent(churn.value)}, against "
        + " and ".join(churn_before) + f"). Besides them, {back:,} customer{'s' if back != 1 else ''} came back after "
        f"a lapse and {new_at_end:,} of the {count('new_customers'):,} new customers were active at the end: they "
        f"count in neither rate."
    )


def cohort_sentence(cells: pd.DataFrame, month: int, min_sample: int) -> str:
    """The best and worst cohort in `month` (see `best_and_worst_cohorts`), and which cohorts were left out."""
    left_out = left_out_words(cells)
    try:
        best, worst, compared = best_and_worst_cohorts(cells, month, min_sample)
    except ValueError:
        text = f"No cohort has a complete month {month} with {min_sample} or more customers yet."
        return f"{text} {left_out}" if left_out else text

    def counts(row) -> str:
        return f"{int(row.active_customers):,} of {int(row.cohort_customers):,}"

    if compared == 1:
        text = (f"Only one monthly cohort has month {month} complete with {min_sample} or more customers: "
                f"**{best.cohort}** ({percent(best.retention_rate)} active in month {month}, {counts(best)}).")
    elif percent(best.retention_rate) == percent(worst.retention_rate):  # a tie as shown: no best to name
        text = (f"The {compared} monthly cohorts with month {month} complete all had "
                f"{percent(best.retention_rate)} active in month {month}.")
    else:
        text = (f"Of the {compared} monthly cohorts with month {month} complete, the best was **{best.cohort}** "
                f"({percent(best.retention_rate)} active in month {month}, {counts(best)}) and the worst "
                f"**{worst.cohort}** ({percent(worst.retention_rate)}, {counts(worst)}).")
    return f"{text} {left_out}" if left_out else text


def segment_sentence(movement: Movement | None, period: str, against_label: str, min_sample: int) -> str:
    """The segment that moved most; '' (nothing to say) when segments tie for it."""
    if movement is not None and movement.tied:
        return ""
    if movement is None:
        return (f"No segment had {min_sample} or more customers in both {period} and {against_label}, "
                f"so no segment's change can be judged.")
    verdict = ("more than chance would explain" if movement.clear
               else "within what chance alone could produce")
    return (
        f"The segment that moved most was **{movement.segment}**: month-{movement.month} retention "
        f"{percent(movement.now)} in {period} against {percent(movement.before)} in {against_label} "
        f"({points(movement.change)}, 95% interval {points(movement.ci_low)} to {points(movement.ci_high)}, "
        f"{verdict})."
    )


def recent_against_earlier(cells: pd.DataFrame, month: int, cohorts_each: int = 12) -> dict:
    """Pooled retention in `month` of the latest `cohorts_each` cohorts with that month complete, against the
    `cohorts_each` cohorts before them (fewer when the data is shorter); cohorts that may include customers from
    before the data count in neither."""
    done = _new_cohorts(cells[(cells["months_since_first"] == month) & cells["is_complete"].astype(bool)]).sort_values("cohort")
    recent, earlier = done.tail(cohorts_each), done.iloc[:-cohorts_each].tail(cohorts_each) if len(done) > cohorts_each else done.iloc[:0]

    def pooled(frame):
        n = frame["cohort_customers"].sum()
        return (frame["active_customers"].sum() / n) if n else float("nan")

    return {"recent": pooled(recent), "earlier": pooled(earlier),
            "recent_first": recent["cohort"].iloc[0] if len(recent) else None,
            "recent_last": recent["cohort"].iloc[-1] if len(recent) else None,
            "earlier_first": earlier["cohort"].iloc[0] if len(earlier) else None,
            "earlier_last": earlier["cohort"].iloc[-1] if len(earlier) else None,
            "recent_customers": int(recent["cohort_customers"].sum()),
            "earlier_customers": int(earlier["cohort_customers"].sum()),
            "recent_active": int(recent["active_customers"].sum()),
            "earlier_active": int(earlier["active_customers"].sum())}


# --- The period figures at the edges of the data (coverage.DataSpan) ---------------------------------------

# How far before its period each figure reads: "churn" = the churn_after_days window (S, E, and whether a
# customer is new, by the same rule as the cohort months); "revenue" = that window and the equally long stretch
# before the period (revenue retention); none = the period's own days.
PERIOD_LOOK_BACK = {
    "customers_at_start": "churn", "new_customers": "churn", "customers_at_end": "churn",
    "new_customers_at_end": "churn", "retained_customers": "churn", "churned_customers": "churn",
    "reactivated_customers": "churn", "customer_retention_rate": "churn", "churn_rate": "churn",
    "returning_customer_ratio": "churn", "gross_revenue_retention": "revenue", "net_revenue_retention": "revenue",
}
ROLE_COLUMNS = {"current": "value", "previous": "previous", "year_ago": "year_ago"}


def look_back_days(metric: str, period, churn_after_days: int) -> int:
    """Days before `period` (a periods.Period) that `metric` reads."""
    kind = PERIOD_LOOK_BACK.get(metric)
    if kind == "churn":
        return int(churn_after_days)
    if kind == "revenue":
        return max(int(churn_after_days), (period.start - period.previous.start).days)
    return 0


# The figures made of S (customers active in the churn_after_days before the start): when the data holds none of
# those days there is no S, so they have no data at all, even when the period itself is partly covered.
OF_S = {"customers_at_start", "retained_customers", "churned_customers", "reactivated_customers",
        "customer_retention_rate", "churn_rate", "returning_customer_ratio", "gross_revenue_retention",
        "net_revenue_retention"}


def period_figure_coverage(metric: str, period, span, churn_after_days: int) -> str:
    """COMPLETE, PARTIAL or NO_DATA for `metric` in `period`, by the one rule of coverage.DataSpan: the period and
    the days before it that the figure reads (NO_DATA for a figure of S when the data holds none of S's window,
    or for revenue retention none of the stretch it compares with)."""
    from datetime import timedelta

    from .coverage import NO_DATA

    start = period.start
    s_window = span.coverage(start - timedelta(days=int(churn_after_days)), start)
    if metric == "customers_at_start":  # S reads only the days before the period
        return s_window
    if metric in OF_S and s_window == NO_DATA:
        return NO_DATA
    if PERIOD_LOOK_BACK.get(metric) == "revenue" and span.coverage(period.previous.start, start) == NO_DATA:
        return NO_DATA
    return span.needs(start, period.end_exclusive, look_back_days(metric, period, churn_after_days))


def combined_coverage(*coverages: str) -> str:
    """The coverage of a figure made of others (a change: both sides): no data if any has none, else partial
    if any is partial."""
    from .coverage import COMPLETE, NO_DATA, PARTIAL

    if NO_DATA in coverages:
        return NO_DATA
    return PARTIAL if PARTIAL in coverages else COMPLETE


def kpis_with_coverage(kpis: pd.DataFrame, span, periods: dict, churn_after_days: int) -> pd.DataFrame:
    """period_kpis with each value's coverage (`coverage`, `previous_coverage`, `year_ago_coverage`); a value the
    data does not reach at all is blank (never 0), and so is every change against it. `periods` maps
    current / previous / year_ago to periods.Period."""
    from .coverage import NO_DATA

    frame = kpis.copy()
    names = {"current": "coverage", "previous": "previous_coverage", "year_ago": "year_ago_coverage"}
    for role, column in names.items():
        frame[column] = [period_figure_coverage(m, periods[role], span, churn_after_days) for m in frame["metric"]]
        frame.loc[frame[column] == NO_DATA, ROLE_COLUMNS[role]] = np.nan
    for change, other in (("change", "previous_coverage"), ("change_year_ago", "year_ago_coverage")):
        frame.loc[(frame["coverage"] == NO_DATA) | (frame[other] == NO_DATA), change] = np.nan
    return frame


def _days(n: int) -> str:
    return f"{n:,} day{'s' if n != 1 else ''}"


def data_edge_notes(span, periods: list, churn_after_days: int) -> list[str]:
    """One sentence per period (the report's and its comparisons, each once) that the data does not wholly cover,
    written from the data's real first and last days: no data, a start or end inside the period, or a start
    inside the days before it that its figures read."""
    from datetime import timedelta

    from .coverage import NO_DATA

    notes = []
    for period in dict.fromkeys(periods):
        start, end = period.start, period.end_exclusive
        own = span.coverage(start, end)
        if span.first_day is None:
            notes.append(f"{period} has no data: {span.words()}.")
            continue
        if own == NO_DATA:
            if span.first_day >= end:
                gap = (span.first_day - period.end).days
                notes.append(f"{period} ({start} to {period.end}) has no data: the data starts on {span.first_day}, "
                             f"{_days(gap)} after {period} ended, so its figures are shown as no data, not as 0.")
            else:
                gap = (start - span.last_day).days
                notes.append(f"{period} ({start} to {period.end}) has no data: the data ends on {span.last_day}, "
                             f"{_days(gap)} before {period} began, so its figures are shown as no data, not as 0.")
            continue
        if span.first_day > start:
            notes.append(f"The data starts on {span.first_day}, {_days((span.first_day - start).days)} after {period} "
                         f"began ({start}): {period}'s figures are partial.")
        elif span.first_day > start - timedelta(days=int(churn_after_days)):
            notes.append(f"The data starts on {span.first_day}, {_days((start - span.first_day).days)} before "
                         f"{period} began, less than the {churn_after_days} days its customers at start (S) are read "
                         f"from: S, retention and churn for {period} are partial (customers active only before the "
                         f"data are missing).")
        elif span.first_day > period.previous.start:
            notes.append(f"The data starts on {span.first_day}, less than one period before {period} began "
                         f"({period.previous.start}): {period}'s revenue retention compares with a stretch the data "
                         f"covers only in part, so it is partial.")
        if span.last_day < period.end:
            notes.append(f"The data ends on {span.last_day}, before {period} does ({period.end}): months not over by "
                         f"then are incomplete, customers at end (E) are those active in the {churn_after_days} days "
                         f"before the data ends, and {period}'s counts and revenue cover only part of it.")
    return notes


def activity_definition(params: dict, present: set[str] | None = None) -> dict[str, str]:
    """What makes a customer active (params `activity`, `active_events`, `active_statuses`), in the page's words
    (markdown): `active` (what counts, e.g. "a completed order"), `month` (the "Active in a month" definition) and
    `start` (what a first-order cohort starts with: "first completed order", or "first activity"). `present`
    (validate.present_exports) says which exports `activity: both` reads; without it, both events and
    subscriptions (validate.activity_sources)."""
    from .validate import activity_sources

    activity = params.get("activity") or "orders"
    sources = activity_sources(params, present)
    label = activity if isinstance(activity, str) else "[" + ", ".join(activity) + "]"
    statuses = ", ".join(params.get("active_statuses") or ["completed"])
    named = ", ".join(f"`{e}`" for e in params.get("active_events") or [])
    event = f"product event ({named})" if named else "product event of any kind"
    if sources == ("orders",):
        return {"active": "a completed order", "start": "first completed order",
                "month": f"at least one order that month whose status is {statuses}. Refunded and cancelled orders "
                         f"are not activity; two orders in one month count once."}
    words = {"orders": f"an order whose status is {statuses}", "events": f"a {event}",
             "subscriptions": "a paid subscription"}
    active = " or ".join(words[s] for s in sources)
    counted = [words[s].split(" ", 1)[1] for s in sources if s != "subscriptions"]
    month = [f"at least one {' or '.join(counted)} that month"] if counted else []
    if "subscriptions" in sources:
        month.append("a subscription of theirs paid at some moment of that month (from its first paid day, after "
                     "any trial, up to its end)")
    exports = [f"the {s} export" if s != "orders" else "the orders" for s in sources]
    source = exports[0] if len(exports) == 1 else ", ".join(exports[:-1]) + " and " + exports[-1]
    if activity == "both" and present is None:  # not told which were given
        source = "the orders and the events or subscriptions export, whichever were given"
    who = []
    if "events" in sources:
        who.append("customers who use the product count as active, not only those who buy")
    if "subscriptions" in sources:
        who.append("a subscriber counts as active in every month they pay, whether or not they order")
    if "orders" in sources:
        rest = ("Refunded and cancelled orders are not activity; two in one month count once. Revenue is still that "
                "of the completed orders.")
    else:
        rest = "Orders are not activity here (revenue is still that of the completed orders)" + (
            "; two events in one month count once." if "events" in sources else ".")
    return {"active": active, "start": "first activity",
            "month": f"{' or '.join(month)}, from {source} (`activity: {label}`: {'; '.join(who)}). {rest}"}
