"""The sample business: deterministic, follows the contract, and carries its planted effects.

The effects are measured here with plain pandas on the written files, independently of the generator's
internals and of the report's SQL.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from retention_report.sample_data import (
    COLUMNS,
    DATA_END,
    DATA_START,
    HOSTILE_COMMENT,
    INVALID_ROWS,
    ACTIVATION_RETENTION_GAP,
    APPRECIATED_CANCEL_FACTOR,
    DETRACTOR_CANCEL_FACTOR,
    KINDS,
    SERVICE_RETENTION_GAP,
    Shape,
    THANK_YOU_RETENTION_LIFT,
    WELCOME_PROGRAMME_START,
    write_sample_data,
)

EFFECT_CUSTOMERS = 60_000  # enough for the effects to stand clear of sampling noise
START, END = pd.Timestamp(DATA_START), pd.Timestamp(DATA_END) + pd.Timedelta(days=1)  # END is exclusive
LAST_FULL_180 = END - pd.Timedelta(days=180)  # anchors before this have 180 days of data after them
APPRECIATION_AFTER_SECOND = ["thank_you", "handwritten_note", "check_in_call"]
# The comment themes of params/default.yaml (copied, so this test does not move when the params do).
THEMES = {
    "price": ["expensive", "price", "cost", "overcharg", "pricey"],
    "staff and rudeness": ["rude", "unfriendly", "staff", "impolite", "attitude"],
    "mistakes and errors": ["wrong", "error", "mistake", "incorrect"],
    "delivery": ["delivery", "courier", "arrived", "shipping", "damaged"],
    "product quality": ["quality", "broke", "broken", "defect", "flimsy"],
    "waiting and response time": ["wait", "waited", "slow", "no response", "reply"],
}
BRIEF_PHRASES = ["too expensive", "price went up", "rude", "unfriendly staff", "wrong item", "billing error",
                 "mistake", "late delivery", "courier", "arrived damaged", "poor quality", "broke after", "waited",
                 "no response", "slow to reply"]


def read_raw(folder: Path) -> dict[str, pd.DataFrame]:
    return {name: pd.read_csv(folder / f"{name}.csv", dtype=str, keep_default_na=False) for name in COLUMNS}


def parse_ts(text: pd.Series, fmt: str = "%Y-%m-%d %H:%M:%S") -> pd.Series:
    return pd.to_datetime(text, format=fmt, errors="coerce")


def clean(raw: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The rows the contract accepts, typed (the same rules as staging, written again in pandas)."""
    c = raw["customers"].copy()
    c["created"] = parse_ts(c.created_at, "%Y-%m-%d")
    c = c[(c.customer_id != "") & c.created.notna()].drop_duplicates("customer_id")
    known = set(c.customer_id)

    o = raw["orders"].copy()
    o["ts"], o["amt"] = parse_ts(o.ordered_at), pd.to_numeric(o.amount, errors="coerce")
    o = o[o.ts.notna() & (o.amt >= 0) & o.customer_id.isin(known)].drop_duplicates("order_id")

    r = raw["nps_responses"].copy()
    r["ts"], r["s"] = parse_ts(r.responded_at), pd.to_numeric(r.score, errors="coerce")
    r = r[r.ts.notna() & r.s.between(0, 10) & (r.s == r.s.round())
          & ((r.customer_id == "") | r.customer_id.isin(known))].drop_duplicates("response_id")

    t = raw["touchpoints"].copy()
    t["ts"] = parse_ts(t.occurred_at)
    t = t[t.ts.notna() & t.customer_id.isin(known)].drop_duplicates("touchpoint_id")

    s = raw["support_tickets"].copy()
    s["ts"], s["answered"], s["resolved"] = (parse_ts(s[c]) for c in ("created_at", "first_response_at", "resolved_at"))
    s = s[s.ts.notna() & s.customer_id.isin(known) & ~(s.answered < s.ts)].drop_duplicates("ticket_id")

    e = raw["events"].copy()
    e["ts"], e["seconds"] = parse_ts(e.occurred_at), pd.to_numeric(e.duration_seconds, errors="coerce")
    e = e[e.ts.notna() & e.customer_id.isin(known) & ~(e.seconds < 0)].drop_duplicates("event_id")

    b = raw["subscriptions"].copy()
    b["from_"], b["to"], b["trial"], b["cancelled"] = (parse_ts(b[c]) for c in ("valid_from", "valid_to", "trial_end",
                                                                                "cancelled_at"))
    b["mrr_"], b["amt"] = pd.to_numeric(b.mrr, errors="coerce"), pd.to_numeric(b.amount, errors="coerce")
    b = b[b.from_.notna() & b.customer_id.isin(known) & ~(b.to < b.from_) & ~(b.mrr_ < 0) & ~(b.amt < 0)
          & (b.mrr_.notna() | b.amt.notna())].drop_duplicates("period_id")
    return {"customers": c, "orders": o, "nps_responses": r, "touchpoints": t, "support_tickets": s, "events": e,
            "subscriptions": b}


def orders_within(done: pd.DataFrame, anchors: pd.Series, days: int, after_days: float = 0) -> np.ndarray:
    """Per anchor (customer_id -> timestamp): a completed order in (anchor + after_days, anchor + days]?"""
    pairs = done[["customer_id", "ts"]].merge(anchors.rename("anchor").reset_index(), on="customer_id")
    gap = pairs.ts - pairs.anchor
    hit = pairs[(gap > pd.Timedelta(days=after_days)) & (gap <= pd.Timedelta(days=days))].customer_id
    return anchors.index.isin(hit.unique())


def thank_you_lift(data: dict[str, pd.DataFrame]) -> dict:
    """180-day retention after the 2nd completed order, thanked 1-30 days after it or not."""
    done = data["orders"][data["orders"].status == "completed"].sort_values(["customer_id", "ts"])
    nth = done.groupby("customer_id").cumcount()
    anchor = done[nth == 1].set_index("customer_id").ts
    anchor = anchor[anchor < LAST_FULL_180]
    touch = data["touchpoints"]
    pairs = touch[touch.kind.isin(APPRECIATION_AFTER_SECOND)][["customer_id", "ts"]].merge(
        anchor.rename("anchor").reset_index(), on="customer_id")
    days = (pairs.ts.dt.normalize() - pairs.anchor.dt.normalize()).dt.days
    thanked = anchor.index.isin(pairs[days.between(1, 30)].customer_id)
    retained = orders_within(done, anchor, 180)
    # What was known before the anchor: the value of the first two orders and the time between them.
    first_two = done[nth <= 1].groupby("customer_id").agg(value=("amt", "sum"), first=("ts", "min"))
    first_two = first_two.reindex(anchor.index)
    pace = (anchor - first_two["first"]).dt.days
    return {"thanked": retained[thanked].mean(), "others": retained[~thanked].mean(),
            "lift": retained[thanked].mean() - retained[~thanked].mean(), "thanked_share": thanked.mean(),
            "value_ratio": first_two.value[thanked].mean() / first_two.value[~thanked].mean(),
            "pace_ratio": pace[thanked].mean() / pace[~thanked].mean(), "n": len(anchor)}


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def raw(sample_data):
    return read_raw(sample_data)


@pytest.fixture(scope="module")
def data(raw):
    return clean(raw)


@pytest.fixture(scope="module")
def effect_on(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effect_on")
    write_sample_data(folder, customers=EFFECT_CUSTOMERS)
    return clean(read_raw(folder))


@pytest.fixture(scope="module")
def effect_off(tmp_path_factory):
    folder = tmp_path_factory.mktemp("effect_off")
    write_sample_data(folder, customers=EFFECT_CUSTOMERS, thank_you_effect=False, service_effect=False,
                      activation_effect=False, appreciation_effect=False)
    return clean(read_raw(folder))


# --- Determinism and the contract ----------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    first = write_sample_data(tmp_path / "a", seed=7, customers=3_000)
    again = write_sample_data(tmp_path / "b", seed=7, customers=3_000)
    other = write_sample_data(tmp_path / "c", seed=8, customers=3_000)
    assert first == again
    assert digest(tmp_path / "a") == digest(tmp_path / "b")
    changed = digest(tmp_path / "c")
    assert all(changed[name] != digest_ for name, digest_ in digest(tmp_path / "a").items())
    assert other["customers"] == first["customers"]
    # The returned counts are the data rows of each file.
    for name, rows in first.items():
        assert rows == len((tmp_path / "a" / f"{name}.csv").read_text(encoding="utf-8").splitlines()) - 1


def test_the_bench_shape_makes_a_busier_business_and_the_default_shape_changes_nothing(tmp_path):
    from retention_report.bench import WORKLOAD

    default = write_sample_data(tmp_path / "a", customers=5_000)
    explicit = write_sample_data(tmp_path / "b", customers=5_000, shape=Shape())
    assert default == explicit and digest(tmp_path / "a") == digest(tmp_path / "b")
    busy = write_sample_data(tmp_path / "c", customers=5_000, shape=Shape(**WORKLOAD))
    per_customer = {name: busy[name] / busy["customers"] for name in busy}
    # The workload: about 10 orders, 0.5 answers and 5 touchpoints per customer (docs/performance.md).
    assert 9 <= per_customer["orders"] <= 12 and busy["orders"] > 2 * default["orders"]
    assert 0.3 <= per_customer["nps_responses"] <= 0.6
    assert per_customer["touchpoints"] <= 8 and busy["touchpoints"] < default["touchpoints"] / 2
    # Issue 17's: about 0.3 support tickets and 20 product events per customer; issue 18's: 0.5 subscriptions.
    assert 0.25 <= per_customer["support_tickets"] <= 0.35 and 17 <= per_customer["events"] <= 23
    subscriptions = pd.read_csv(tmp_path / "c" / "subscriptions.csv", dtype=str).subscription_id.nunique()
    assert 0.4 <= subscriptions / busy["customers"] <= 0.6


def test_headers_ids_and_values_follow_the_contract(raw, data):
    for name, columns in COLUMNS.items():
        assert tuple(raw[name].columns) == columns
    c, o, r, t = (data[name] for name in ("customers", "orders", "nps_responses", "touchpoints"))
    assert len(raw["customers"]) == 20_000 + INVALID_ROWS["customers"]
    assert c.customer_id.str.fullmatch(r"C\d{7}").all() and o.order_id.str.fullmatch(r"O\d{8}").all()
    assert r.response_id.str.fullmatch(r"R\d{7}").all() and t.touchpoint_id.str.fullmatch(r"T\d{8}").all()
    assert c.email.str.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.(com|org|net)").all()
    assert c.phone.str.fullmatch(r"\+44 7700 900\d{3}").all()
    assert (c.name.str.split(" ").str.len() >= 2).all() and c.name.str.contains("[éöüñłá]", regex=True).any()
    assert set(c.acquisition_channel) == {"organic", "paid_search", "referral", "social", "email_campaign"}
    assert set(c.plan) == {"basic", "plus", "premium"} and set(c.region) == {"north", "south", "east", "west"}
    assert o.amount.str.fullmatch(r"\d+\.\d\d").all() and (o.amt > 0).all() and set(o.currency) == {"EUR"}
    by_plan = o.merge(c[["customer_id", "plan"]], on="customer_id").groupby("plan").amt.median()
    assert by_plan["basic"] < by_plan["plus"] < by_plan["premium"]
    status = o.status.value_counts(normalize=True)
    assert abs(status["completed"] - 0.92) < 0.01 and abs(status["refunded"] - 0.05) < 0.01
    assert abs(status["cancelled"] - 0.03) < 0.01
    assert set(r.score) == {str(s) for s in range(11)} and set(r.would_buy_again) == {"yes", "no", "unsure"}
    assert set(t.kind) == set(KINDS) and set(t.personalized) == {"true", "false"}
    assert set(t.channel) == {"email", "phone", "sms", "mail", "social", "in_app"}
    assert 12 <= (t.kind == "partner_offer").sum() <= 60


def test_sizes_and_shapes_are_roughly_as_described(data):
    c, o, r, t = (data[name] for name in ("customers", "orders", "nps_responses", "touchpoints"))
    assert 3.5 < len(o) / len(c) < 6.5
    assert 0.06 < 1 - o.customer_id.nunique() / len(c) < 0.10  # ~8% never order
    customer_years = ((END - c.created).dt.days / 365.25).sum()
    assert 0.18 < len(r) / customer_years < 0.35  # ~1 answer per 4 customers per year
    assert 0.02 < (r.customer_id == "").mean() < 0.04  # anonymous
    assert 0.35 < (r.comment == "").mean() < 0.50
    promotional = t.kind.isin(["promotion", "newsletter"]).sum()
    appreciation = t.kind.isin(["welcome", "thank_you", "check_in_call", "loyalty_reward", "anniversary", "birthday",
                                "handwritten_note"]).sum()
    assert promotional > 5 * appreciation and promotional / len(c) > 8
    # Acquisition grows, and December is the busiest month of each year.
    per_year = c.created.dt.year.value_counts()
    assert per_year[2024] > 1.5 * per_year[2022]
    per_day = o.groupby([o.ts.dt.year, o.ts.dt.month]).size() / o.groupby([o.ts.dt.year, o.ts.dt.month]).ts.apply(
        lambda s: s.dt.day.max())
    for year in (2022, 2023, 2024):
        assert per_day[(year, 12)] > 1.3 * per_day[(year, 10)]
    # First orders on the day of sign-up or within 14 days.
    first = o.groupby("customer_id").ts.min().dt.normalize()
    lag = (first - c.set_index("customer_id").created.reindex(first.index)).dt.days
    assert lag.between(0, 14).all() and (lag == 0).mean() > 0.4


def test_every_date_is_within_the_data(raw, data):
    for name, column in [("orders", "ts"), ("nps_responses", "ts"), ("touchpoints", "ts"), ("customers", "created")]:
        values = data[name][column]
        assert values.min() >= START and values.max() < END, name
    # Exactly the planted unparseable dates fail to parse.
    assert parse_ts(raw["customers"].created_at, "%Y-%m-%d").isna().sum() == 1
    assert parse_ts(raw["orders"].ordered_at).isna().sum() == 1
    assert parse_ts(raw["touchpoints"].occurred_at).isna().sum() == 1
    assert parse_ts(raw["nps_responses"].responded_at).isna().sum() == 0


def test_invalid_rows_are_exactly_those_promised(raw, data, tmp_path):
    for name in COLUMNS:
        assert len(raw[name]) - len(data[name]) == INVALID_ROWS[name], name
    scores = raw["nps_responses"].score
    assert {"11", "seven", "-1"} <= set(scores)
    orders = raw["orders"]
    assert (orders.amount == "abc").sum() == 1 and (pd.to_numeric(orders.amount, errors="coerce") < 0).sum() == 1
    assert orders.order_id.duplicated().sum() == 1 and (orders.customer_id == "C9999999").sum() == 1
    assert raw["customers"].customer_id.duplicated(keep=False).sum() == 2  # one duplicated id
    assert (raw["customers"].customer_id == "").sum() == 1
    assert (raw["touchpoints"].customer_id == "C9999999").sum() == 1
    assert (raw["support_tickets"].customer_id == "C9999999").sum() == 1
    assert (raw["events"].customer_id == "C9999999").sum() == 1
    subscriptions = raw["subscriptions"]
    assert (parse_ts(subscriptions.valid_to) < parse_ts(subscriptions.valid_from)).sum() == 1
    assert (pd.to_numeric(subscriptions.mrr, errors="coerce") < 0).sum() == 1
    # Without invalid rows, nothing is set aside.
    write_sample_data(tmp_path / "valid", customers=2_000, invalid_rows=False)
    clean_raw = read_raw(tmp_path / "valid")
    for name, frame in clean(clean_raw).items():
        assert len(frame) == len(clean_raw[name]), name


def test_comments_hostile_personal_data_and_themes(raw, data):
    comments = raw["nps_responses"].comment
    assert (comments == HOSTILE_COMMENT).sum() == 1
    hostile = raw["nps_responses"][comments == HOSTILE_COMMENT].iloc[0]
    assert int(hostile.score) <= 6 and "2024-04-01" <= hostile.responded_at < "2024-07-01"

    r = data["nps_responses"]
    names = data["customers"].set_index("customer_id").name
    own_name = [bool(cid) and names[cid] in text for cid, text in zip(r.customer_id, r.comment)]
    personal = (r.comment.str.contains(r"[\w.]+@example\.", regex=True)
                | r.comment.str.contains("+44 7700", regex=False) | np.array(own_name)) & (r.comment != HOSTILE_COMMENT)
    written = (r.comment != "").sum()
    assert 0.002 < personal.sum() / written < 0.01

    def themes(text: str) -> list[str]:
        return [theme for theme, words in THEMES.items() if any(w in text.lower() for w in words)]

    said = r[(r.comment != "") & ~personal & (r.comment != HOSTILE_COMMENT)]
    detractors = said[said.s <= 6].comment
    assert detractors.map(themes).map(len).gt(0).all()  # every detractor names a theme
    found = set().union(*detractors.map(themes))
    assert found == set(THEMES)
    assert all(detractors.str.lower().str.contains(phrase, regex=False).any() for phrase in BRIEF_PHRASES)
    assert said[said.s >= 9].comment.map(themes).map(len).eq(0).all()  # promoters praise
    assert said[said.s.between(7, 8)].comment.map(themes).map(len).gt(0).mean() > 0.5


def test_a_survey_touchpoint_precedes_every_answer(data):
    r = data["nps_responses"]
    known = r[r.customer_id != ""].sort_values("ts")
    surveys = data["touchpoints"].query("kind == 'survey'").sort_values("ts")[["customer_id", "ts"]]
    matched = pd.merge_asof(known[["customer_id", "ts"]], surveys.rename(columns={"ts": "survey_ts"}),
                            left_on="ts", right_on="survey_ts", by="customer_id", direction="backward",
                            allow_exact_matches=False)
    gap = matched.ts - matched.survey_ts
    assert matched.survey_ts.notna().all() and (gap <= pd.Timedelta(days=3, minutes=2)).all()


# --- The planted effects --------------------------------------------------------------------------------------
def test_welcome_programme_covers_new_customers_and_they_retain_better(effect_on):
    o, t = effect_on["orders"], effect_on["touchpoints"]
    done = o[o.status == "completed"]
    first = done.groupby("customer_id").ts.min()
    welcome = t[t.kind == "welcome"][["customer_id", "ts"]].merge(first.rename("first").reset_index(), on="customer_id")
    days = (welcome.ts.dt.normalize() - welcome["first"].dt.normalize()).dt.days
    within_6 = first.index.isin(welcome[days.between(0, 6)].customer_id)
    within_30 = first.index.isin(welcome[days.between(0, 30)].customer_id)
    after = (first >= pd.Timestamp(WELCOME_PROGRAMME_START)).to_numpy()
    assert 0.80 < within_6[after].mean() < 0.88  # 0.85, less those whose welcome would fall after the data
    assert within_30[~after].mean() == pytest.approx(0.10, abs=0.02) and within_6[~after].mean() < 0.05
    assert set(welcome.customer_id) <= set(first.index) and (welcome.ts > welcome["first"]).all()

    # Cohorts: another completed order within 90 days of the first, 2023-H1 against 2023-H2.
    h1 = first[(first >= "2023-01-01") & (first < "2023-07-01")]
    h2 = first[(first >= "2023-07-01") & (first < "2024-01-01")]
    before = orders_within(done, h1, 90, after_days=0.5).mean()
    since = orders_within(done, h2, 90, after_days=0.5).mean()
    print(f"\nrepeat within 90 days: 2023-H1 {before:.3f}, 2023-H2 {since:.3f}")
    assert since - before > 0.06


def test_thanked_customers_stay_longer_only_when_the_effect_is_on(effect_on, effect_off):
    on, off = thank_you_lift(effect_on), thank_you_lift(effect_off)
    print(f"\nthank-you lift: on {on}, off {off}")
    low, high = THANK_YOU_RETENTION_LIFT
    assert low <= on["lift"] <= high
    assert abs(off["lift"]) < 0.02
    for measured in (on, off):
        assert measured["thanked_share"] == pytest.approx(0.40, abs=0.02)
        # Who is thanked does not depend on anything known before: value and pace of the first two orders.
        assert measured["value_ratio"] == pytest.approx(1.0, abs=0.03)
        assert measured["pace_ratio"] == pytest.approx(1.0, abs=0.04)


def test_promoters_stay_longer_than_detractors(effect_on):
    r, o = effect_on["nps_responses"], effect_on["orders"]
    done = o[o.status == "completed"]
    answers = r[(r.customer_id != "") & (r.ts < LAST_FULL_180)].reset_index(drop=True)
    pairs = answers[["response_id", "customer_id", "ts"]].merge(done[["customer_id", "ts"]], on="customer_id",
                                                               suffixes=("", "_order"))
    gap = pairs.ts_order - pairs.ts
    stayed = set(pairs[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta(days=180))].response_id)
    answers["stayed"] = answers.response_id.isin(stayed)
    promoters, detractors = answers[answers.s >= 9].stayed.mean(), answers[answers.s <= 6].stayed.mean()
    passives = answers[answers.s.between(7, 8)].stayed.mean()
    print(f"\n180-day retention after answering: promoters {promoters:.3f}, passives {passives:.3f}, "
          f"detractors {detractors:.3f}")
    assert promoters > passives > detractors
    assert promoters - detractors > 0.15


# --- Support tickets and product events ------------------------------------------------------------------------
def late_answer_gap(data: dict[str, pd.DataFrame]) -> dict:
    """180-day retention after a ticket (whose 180 days are in the data): answered later than 24 hours or not."""
    tickets = data["support_tickets"].reset_index(drop=True)
    tickets = tickets[tickets.ts < LAST_FULL_180]
    done = data["orders"][data["orders"].status == "completed"]
    pairs = tickets[["ticket_id", "customer_id", "ts"]].merge(done[["customer_id", "ts"]], on="customer_id",
                                                                suffixes=("", "_order"))
    gap = pairs.ts_order - pairs.ts
    again = tickets.ticket_id.isin(pairs[(gap > pd.Timedelta(0)) & (gap <= pd.Timedelta(days=180))].ticket_id)
    late = ~((tickets.answered - tickets.ts) <= pd.Timedelta(hours=24))
    return {"late": again[late].mean(), "on_time": again[~late].mean(),
            "gap": again[late].mean() - again[~late].mean(), "late_share": late.mean()}


def activation_gap(data: dict[str, pd.DataFrame]) -> dict:
    """A completed order on days 8-90 after the first completed one: both key steps in the first 7 days or not."""
    done = data["orders"][data["orders"].status == "completed"]
    first = done.groupby("customer_id").ts.min()
    first = first[first < END - pd.Timedelta(days=90)]
    events = data["events"].merge(first.rename("first").reset_index(), on="customer_id")
    week = events[(events.ts >= events["first"]) & (events.ts < events["first"] + pd.Timedelta(days=7))]
    did = {name: set(week[week.event == name].customer_id) for name in ("app_installed", "profile_completed")}
    activated = first.index.isin(did["app_installed"] & did["profile_completed"])
    pairs = done[["customer_id", "ts"]].merge(first.rename("first").reset_index(), on="customer_id")
    day = (pairs.ts.dt.normalize() - pairs["first"].dt.normalize()).dt.days
    again = first.index.isin(pairs[day.between(8, 90)].customer_id)
    wish = first.index.isin(week[week.event == "wishlist_created"].customer_id)
    return {"gap": again[activated].mean() - again[~activated].mean(), "share": activated.mean(),
            "wishlist_gap": again[wish].mean() - again[~wish].mean()}


def test_tickets_and_events_follow_the_contract_and_their_shapes(raw, data):
    c, s, e = data["customers"], data["support_tickets"], data["events"]
    assert s.ticket_id.str.fullmatch(r"S\d{7}").all() and e.event_id.str.fullmatch(r"E\d{9}").all()
    assert 0.25 < len(s) / len(c) < 0.35 and 17 < len(e) / len(c) < 23
    assert set(s.channel) == {"email", "chat", "phone", "web"}
    assert set(s.category) == {"delivery", "billing", "product", "account", "returns"}
    assert set(s.satisfaction) == {"", "good", "bad", "offered"}
    hours = (s.answered - s.ts).dt.total_seconds() / 3600
    assert 0.65 < (hours <= 24).mean() < 0.75 and (hours.dropna() > 0).all()
    assert (s.resolved.isna()).mean() < 0.06 and ~(s.resolved < s.answered).any()
    assert set(e.event) == {"app_installed", "profile_completed", "wishlist_created", "session", "product_viewed"}
    sessions = e[e.event == "session"]
    assert sessions.seconds.notna().all() and e[e.event != "session"].seconds.isna().all()
    assert 150 < sessions.seconds.median() < 330
    for frame in (s, e):
        assert frame.ts.min() >= START and frame.ts.max() < END
    assert s.answered.max() < END and s.resolved.max() < END


def test_late_answers_cost_retention_only_when_the_effect_is_on(effect_on, effect_off):
    on, off = late_answer_gap(effect_on), late_answer_gap(effect_off)
    print(f"\nlate answers: on {on}, off {off}")
    assert on["gap"] == pytest.approx(-SERVICE_RETENTION_GAP, abs=0.03)
    assert abs(off["gap"]) < 0.025
    assert on["late_share"] == pytest.approx(0.30, abs=0.02) and off["late_share"] == pytest.approx(0.30, abs=0.02)


def test_activated_customers_stay_longer_only_when_the_effect_is_on(effect_on, effect_off):
    on, off = activation_gap(effect_on), activation_gap(effect_off)
    print(f"\nactivation: on {on}, off {off}")
    assert on["gap"] == pytest.approx(ACTIVATION_RETENTION_GAP, abs=0.03)
    assert abs(off["gap"]) < 0.025 and abs(on["wishlist_gap"]) < 0.03
    assert on["share"] == pytest.approx(0.45, abs=0.02)


# --- Subscriptions -------------------------------------------------------------------------------------------
MONTH = pd.Timedelta(days=30.4375)  # a subscription's months run from its first paid moment
# params/default.yaml's touchpoint_categories.appreciation (copied, as THEMES are).
APPRECIATION = ["welcome", "thank_you", "check_in_call", "loyalty_reward", "anniversary", "birthday", "handwritten_note"]


def _months_between(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later.dt.year - earlier.dt.year) * 12 + later.dt.month - earlier.dt.month


def subscription_months(data: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per subscription and whole month of it in the data, counted from its first paid moment (after any
    trial; never-paid trials have none) to the month it was cancelled in: was the customer appreciated before
    the month began (an appreciation touchpoint), a detractor then (their latest identified answer before it
    scored 0-6), and did they ask to cancel during it?"""
    b = data["subscriptions"].sort_values(["subscription_id", "from_"])
    subs = b.groupby("subscription_id").agg(customer_id=("customer_id", "first"), start=("from_", "first"),
                                            trial_end=("trial", "first"), cancelled=("cancelled", "max"),
                                            ends=("to", "last"))
    subs["paid"] = subs.trial_end.where(subs.trial_end > subs.start, subs.start)
    subs = subs[subs.ends.isna() | (subs.ends > subs.paid)]
    whole = ((END - subs.paid) // MONTH).clip(lower=0)
    asked = (subs.cancelled - subs.paid) // MONTH
    months = np.where(asked.notna() & (asked < whole), asked + 1, whole).astype(int)
    rows = subs.loc[subs.index.repeat(months)].reset_index()
    rows["tick"] = rows.paid + rows.groupby("subscription_id").cumcount() * MONTH
    rows["cancel"] = (rows.cancelled >= rows.tick) & (rows.cancelled < rows.tick + MONTH)
    t = data["touchpoints"]
    rows["appreciated"] = rows.customer_id.map(t[t.kind.isin(APPRECIATION)].groupby("customer_id").ts.min()) < rows.tick
    r = data["nps_responses"]
    answers = r[r.customer_id != ""][["customer_id", "ts", "s"]].sort_values("ts")
    rows = pd.merge_asof(rows.sort_values("tick"), answers, left_on="tick", right_on="ts", by="customer_id",
                         direction="backward", allow_exact_matches=False)
    rows["detractor"] = rows.s <= 6
    return rows


def cancel_hazards(data: dict[str, pd.DataFrame]) -> dict:
    m = subscription_months(data)
    h = m.groupby(["detractor", "appreciated"]).cancel.mean()
    return {"overall": m.cancel.mean(), "appreciated": h[(False, True)], "not_appreciated": h[(False, False)],
            "appreciated_ratio": h[(False, True)] / h[(False, False)],
            "detractor_ratio": m[m.detractor].cancel.mean() / m[~m.detractor].cancel.mean(),
            # still subscribed a year on at these monthly hazards (non-detractor months)
            "survival_12_gap": (1 - h[(False, True)]) ** 12 - (1 - h[(False, False)]) ** 12}


def test_subscriptions_follow_the_contract_and_their_shapes(raw, data):
    b, customers = data["subscriptions"], len(data["customers"])
    assert b.period_id.str.fullmatch(r"SP\d{8}").all() and b.subscription_id.str.fullmatch(r"SUB\d{7}").all()
    assert not b.duplicated(["subscription_id", "valid_from"]).any()
    subs = b.sort_values(["subscription_id", "from_"]).groupby("subscription_id")
    first = subs.head(1)
    assert 0.4 <= len(first) / customers <= 0.6
    assert first.trial.notna().mean() == pytest.approx(0.30, abs=0.03)
    assert set(b.plan) == {"basic", "plus", "pro"} and set(b.currency) == {"EUR"}
    assert set(b.status) == {"active", "canceled", "trialing"}
    # Prices: monthly, quarterly, yearly and weekly amounts, or the mrr itself; never both, never neither.
    assert (b.mrr_.isna() != b.amt.isna()).all() and 0.1 < b.mrr_.notna().mean() < 0.25
    assert set(zip(b.interval, b.interval_count)) == {("month", "1"), ("month", "3"), ("year", "1"), ("week", "1"),
                                                      ("", "")}
    assert (b.interval == "month").mean() > 0.5 and set(b.quantity) == {"", "1", "2", "3"}
    monthly = b[(b.interval == "month") & (b.interval_count == "1")]
    assert set(zip(monthly.plan, monthly.amount)) == {("basic", "9.00"), ("plus", "19.00"), ("pro", "39.00")}
    # Every stretch ends after it starts; running ones have no end; a plan change closes one where the next opens.
    assert (b.to.isna() | (b.to > b.from_)).all()
    assert (b.status[b.to.isna()] != "canceled").all() and b.to.isna().sum() > 0.3 * len(first)
    ordered = b.sort_values(["subscription_id", "from_"])
    following = ordered.groupby("subscription_id").shift(-1)
    changed = following.from_.notna()
    assert (following.from_[changed] == ordered.to[changed]).all()
    rank = {"basic": 0, "plus": 1, "pro": 2}
    step = following.plan[changed].map(rank) - ordered.plan[changed].map(rank)
    assert (step == 1).sum() > 50 and (step == -1).sum() > 30 and (step.abs() == 1).all()  # upgrades, downgrades
    # Some hold two subscriptions at once.
    spans = first[["subscription_id", "customer_id", "from_"]].merge(subs.to.last().rename("ends"),
                                                                     left_on="subscription_id", right_index=True)
    pairs = spans.merge(spans, on="customer_id")
    assert ((pairs.from__x < pairs.from__y) & (pairs.ends_x.isna() | (pairs.ends_x > pairs.from__y))).any()
    # Cancellations: asked for within the data, by the end; reasons blank or naming a comment theme.
    cancelled = b[b.cancelled.notna()]
    assert (cancelled.status == "canceled").all() and (cancelled.cancelled < cancelled.to).all()
    assert cancelled.cancelled.max() < END and b.from_.min() >= START and b.from_.max() < END
    reasons = cancelled.cancel_reason
    assert 0.25 < (reasons == "").mean() < 0.45
    named = reasons[reasons != ""].map(lambda text: [t for t, words in THEMES.items()
                                                      if any(w in text.lower() for w in words)])
    assert named.map(len).gt(0).all() and set().union(*named) == set(THEMES)
    # Customers who cancel and come back: some within subscriptions.reactivation_window_months (12), some later.
    ended = subs.to.last().dropna()
    ends = first[["subscription_id", "customer_id", "from_"]].merge(ended.rename("ends"), left_on="subscription_id",
                                                                    right_index=True)
    back = ends.merge(first[["customer_id", "from_"]], on="customer_id", suffixes=("", "_again"))
    back = back[back.from__again >= back.ends]
    gap = _months_between(back.from__again, back.ends - pd.Timedelta(seconds=1))
    assert (gap <= 12).sum() > 50 and (gap > 12).sum() > 20
    # Subscription activity in 2024-Q2 and each quarter of the 24 months before it.
    for quarter in pd.period_range("2022Q2", "2024Q2", freq="Q"):
        begun = (first.from_.dt.to_period("Q") == quarter).sum()
        paying = (b.from_ < quarter.start_time) & (b.to.isna() | (b.to > quarter.start_time))
        assert begun > 50 and paying.sum() > 50, quarter


def test_appreciated_subscribers_cancel_less_only_when_the_effect_is_on(effect_on, effect_off):
    on, off = cancel_hazards(effect_on), cancel_hazards(effect_off)
    print(f"\nsubscription cancel hazards: on {on}, off {off}")
    assert 0.03 <= on["overall"] <= 0.04 and 0.035 <= off["overall"] <= 0.045  # a month
    for measured in (on, off):
        assert measured["detractor_ratio"] == pytest.approx(DETRACTOR_CANCEL_FACTOR, abs=0.4)
    assert on["appreciated_ratio"] == pytest.approx(APPRECIATED_CANCEL_FACTOR, abs=0.07)
    assert 0.06 <= on["survival_12_gap"] <= 0.15  # about 10 points more still subscribed a year on
    assert off["appreciated_ratio"] == pytest.approx(1.0, abs=0.08) and abs(off["survival_12_gap"]) < 0.04
