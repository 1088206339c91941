"""A deterministic sample business: three years of customers, orders, NPS answers and touchpoints.

The data runs from 2022-01-01 to 2024-12-31. Each customer has a hidden satisfaction that drives both
how likely they are to leave after each order and the score they give when surveyed. Planted effects,
which the analyses must recover:

1. **Welcome programme.** From 2023-07-01 (`WELCOME_PROGRAMME_START`) new customers get a `welcome`
   touchpoint 0-6 days after their first order with probability 0.85 (before: 0.10, 0-30 days later).
   A welcomed customer's odds of leaving after an order are multiplied by `WELCOME_CHURN_ODDS` (0.6), so
   cohorts from mid-2023 on retain visibly better.
2. **Thanked after the second order.** Of the customers who reach a second completed order, a random 40%
   (`THANKED_SHARE`, independent of satisfaction and value) get a thank-you, handwritten note or check-in
   call 1-30 days later. With `thank_you_effect=True` their odds of leaving after each later order are
   multiplied by `THANK_YOU_CHURN_ODDS` (0.55): about +10 points of 180-day retention after the anchor.
   With `thank_you_effect=False` being thanked changes nothing.
3. **Detractors churn more.** Score = 7.4 + 2.0 x satisfaction + noise, rounded and clipped to 0-10,
   while satisfaction lowers the odds of leaving: promoters stay clearly longer than detractors.
4. **Invalid rows.** With `invalid_rows=True` each export gets a few rows that break the contract
   (`INVALID_ROWS`): duplicate and empty ids, unparseable dates, negative and non-numeric amounts, scores
   of 11, "seven" and -1, rows of unknown customers.

Everything is vectorised by "round" of orders, so a million customers take about a minute.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

DATA_START = date(2022, 1, 1)
DATA_END = date(2024, 12, 31)
WELCOME_PROGRAMME_START = date(2023, 7, 1)
THANKED_SHARE = 0.40
THANK_YOU_CHURN_ODDS = 0.55
WELCOME_CHURN_ODDS = 0.6
HOSTILE_COMMENT = "<script>alert(1)</script><img src=x onerror=alert(2)> contact me at hostile@example.com"
INVALID_ROWS = {"customers": 3, "orders": 6, "nps_responses": 3, "touchpoints": 2}

_DAY0 = np.datetime64(DATA_START.isoformat(), "D")
_END = np.datetime64(DATA_END.isoformat(), "D")
_DAYS = int((_END - _DAY0).astype(int)) + 1
_PROGRAMME = int((np.datetime64(WELCOME_PROGRAMME_START.isoformat(), "D") - _DAY0).astype(int))

FIRST_NAMES = ["Ann", "Ben", "Chloe", "David", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kara",
               "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera",
               "Wes", "Xenia", "Yusuf", "Zoe"]
LAST_NAMES = ["Lee", "Martin", "Novak", "Okafor", "Peters", "Quist", "Rossi", "Schmidt", "Tanaka", "Usman",
              "Varga", "Walsh", "Young", "Zimmer", "Adams", "Brown", "Costa", "Dubois", "Evans", "Fischer"]
CHANNELS = (["organic", "paid_search", "referral", "social", "email_campaign"], [0.35, 0.25, 0.15, 0.15, 0.10])
PLANS = (["basic", "plus", "premium"], [0.55, 0.30, 0.15])
PLAN_MEAN_AMOUNT = {"basic": 30.0, "plus": 60.0, "premium": 120.0}
REGIONS = ["north", "south", "east", "west"]

PRAISE = ["Great service, will order again", "Fast delivery and friendly staff", "Love the products",
          "Always reliable", "Best shop I know", "Easy to order, good value"]
THEMES = {
    "price": ["Too expensive for what it is", "The price went up again", "Shipping costs too much"],
    "staff": ["The staff were rude on the phone", "Unfriendly staff at the counter"],
    "mistakes": ["I received the wrong item", "There was a billing error on my invoice", "Another mistake with my order"],
    "delivery": ["Late delivery, twice", "The courier never rang", "It arrived damaged"],
    "quality": ["Poor quality materials", "It broke after a week"],
    "waiting": ["I waited 40 minutes on hold", "No response to my emails", "Slow to reply to my complaint"],
}
PASSIVE = ["It was fine", "OK but nothing special", "Decent, could be cheaper"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _timestamps(days: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Day offsets -> 'YYYY-MM-DD HH:MM:SS' between 08:00 and 22:00."""
    seconds = rng.integers(8 * 3600, 22 * 3600, size=len(days))
    stamps = _DAY0 + days.astype("timedelta64[D]") + seconds.astype("timedelta64[s]")
    return np.char.replace(np.datetime_as_string(stamps, unit="s"), "T", " ").astype(object)


def _dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string(_DAY0 + days.astype("timedelta64[D]"), unit="D").astype(object)


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object)


def _customers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    # Acquisition grows over time, with a pre-Christmas bump.
    day = np.arange(_DAYS)
    month = (_DAY0 + day.astype("timedelta64[D]")).astype("datetime64[M]").astype(int) % 12 + 1
    weight = (1.0 + day / _DAYS) * np.where(np.isin(month, [11, 12]), 1.3, 1.0)
    created = np.sort(rng.choice(_DAYS, size=n, p=weight / weight.sum()))
    first = rng.choice(FIRST_NAMES, n).astype(object)
    last = rng.choice(LAST_NAMES, n).astype(object)
    ids = _ids("C", n, 7)
    numbers = np.char.zfill(np.arange(n).astype(str), 6)
    return pd.DataFrame({
        "customer_id": ids,
        "created_day": created,
        "email": (np.char.lower(first.astype(str)) + "." + np.char.lower(last.astype(str)) + "."
                  + numbers + "@example.com").astype(object),
        "name": (first + " " + last),
        "phone": np.char.add("+44 7700 ", numbers).astype(object),
        "acquisition_channel": rng.choice(CHANNELS[0], n, p=CHANNELS[1]).astype(object),
        "plan": rng.choice(PLANS[0], n, p=PLANS[1]).astype(object),
        "region": rng.choice(REGIONS, n).astype(object),
        "satisfaction": rng.normal(0.0, 1.0, n),
    })


def _orders(rng: np.random.Generator, customers: pd.DataFrame, thank_you_effect: bool):
    """Orders round by round: each alive customer orders, may leave, and otherwise orders again later."""
    n = len(customers)
    buys = rng.random(n) < 0.92
    day = customers.created_day.to_numpy() + rng.geometric(0.25, n) - 1
    alive = buys & (day <= _DAYS - 1)

    first_day = np.where(alive, day, -1)
    programme = first_day >= _PROGRAMME
    welcomed = alive & (rng.random(n) < np.where(programme, 0.85, 0.10))
    welcome_day = first_day + np.where(programme, rng.integers(0, 7, n), rng.integers(0, 31, n))

    satisfaction = customers.satisfaction.to_numpy()
    thanked_draw = rng.random(n) < THANKED_SHARE
    thanked = np.zeros(n, bool)
    thank_day = np.full(n, -1)
    completed = np.zeros(n, int)
    plan_mean = customers.plan.map(PLAN_MEAN_AMOUNT).to_numpy()

    chunks = []
    orders_so_far = np.zeros(n, int)
    while alive.any():
        idx = np.flatnonzero(alive)
        status = rng.choice(["completed", "refunded", "cancelled"], len(idx), p=[0.92, 0.05, 0.03])
        amount = np.round(rng.lognormal(np.log(plan_mean[idx]) - 0.08, 0.4), 2)
        chunks.append((idx, day[idx].copy(), amount, status))
        is_completed = status == "completed"
        completed[idx] += is_completed
        orders_so_far[idx] += 1
        # The anchor: a customer's second completed order.
        anchor = idx[is_completed & (completed[idx] == 2)]
        newly = anchor[thanked_draw[anchor]]
        thanked[newly] = True
        thank_day[newly] = day[newly] + rng.integers(1, 31, len(newly))

        log_odds = (-0.35 - 0.9 * satisfaction[idx] - 0.12 * np.minimum(orders_so_far[idx], 8)
                    + np.log(WELCOME_CHURN_ODDS) * welcomed[idx])
        if thank_you_effect:
            log_odds += np.log(THANK_YOU_CHURN_ODDS) * thanked[idx]
        leaves = rng.random(len(idx)) < _sigmoid(log_odds)
        gap = np.ceil(rng.gamma(1.6, 45.0 / 1.6, len(idx))).astype(int)
        next_day = day[idx] + gap
        # Christmas shopping: a gap that lands in November or December comes a little sooner.
        next_month = (_DAY0 + next_day.astype("timedelta64[D]")).astype("datetime64[M]").astype(int) % 12 + 1
        next_day = np.where(np.isin(next_month, [11, 12]), day[idx] + np.ceil(gap * 0.8).astype(int), next_day)
        day[idx] = next_day
        alive[idx] = ~leaves & (next_day <= _DAYS - 1)

    who = np.concatenate([c[0] for c in chunks])
    orders = pd.DataFrame({
        "customer_index": who,
        "day": np.concatenate([c[1] for c in chunks]),
        "amount": np.concatenate([c[2] for c in chunks]),
        "status": np.concatenate([c[3] for c in chunks]).astype(object),
    }).sort_values(["day", "customer_index"], kind="stable").reset_index(drop=True)
    state = {"first_day": first_day, "welcomed": welcomed, "welcome_day": welcome_day, "thanked": thanked,
             "thank_day": thank_day}
    return orders, state


def _spans(rng, starts: np.ndarray, ends: np.ndarray, every: float) -> tuple[np.ndarray, np.ndarray]:
    """Repeated contacts every ~`every` days between start and end, per customer: (customer, day)."""
    counts = np.maximum(((ends - starts) / every).astype(int), 0)
    who = np.repeat(np.arange(len(starts)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    days = starts[who] + ((offsets + rng.random(len(who))) * every).astype(int)
    return who, days


def write_sample_data(out: Path, seed: int = 7, customers: int = 20_000, thank_you_effect: bool = True,
                      invalid_rows: bool = True) -> dict[str, int]:
    """Writes customers.csv, orders.csv, nps_responses.csv, touchpoints.csv into `out` (created if missing);
    returns rows written per export."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    people = _customers(rng, customers)
    orders, state = _orders(rng, people, thank_you_effect)
    n = len(people)
    cid = people.customer_id.to_numpy()

    # --- NPS: a survey some days after ~30% of completed orders; ~40% of those surveyed answer.
    done = orders[orders.status == "completed"]
    surveyed = done[rng.random(len(done)) < 0.30]
    survey_day = surveyed.day.to_numpy() + rng.integers(3, 11, len(surveyed))
    keep = survey_day <= _DAYS - 1
    surveyed, survey_day = surveyed[keep], survey_day[keep]
    answers = rng.random(len(surveyed)) < 0.40
    answer_day = survey_day + rng.integers(0, 4, len(surveyed))
    answers &= answer_day <= _DAYS - 1
    who = surveyed.customer_index.to_numpy()[answers]
    a_day = answer_day[answers]
    sat = people.satisfaction.to_numpy()[who]
    score = np.clip(np.rint(7.4 + 2.0 * sat + rng.normal(0, 1.1, len(who))), 0, 10).astype(int)
    wba = np.where(score >= 8, "yes", np.where(score <= 4, "no", "unsure")).astype(object)
    flip = rng.random(len(who)) < 0.15
    wba[flip] = rng.choice(["yes", "no", "unsure"], flip.sum())
    comment = np.full(len(who), "", dtype=object)
    has = rng.random(len(who)) < 0.6
    promoters, passives = score >= 9, (score >= 7) & (score <= 8)
    praise = has & promoters
    comment[praise] = rng.choice(PRAISE, praise.sum())
    neutral = has & passives
    comment[neutral] = rng.choice(PASSIVE + sum(THEMES.values(), []), neutral.sum())
    unhappy = has & (score <= 6)
    theme_texts = sum(THEMES.values(), [])
    comment[unhappy] = rng.choice(theme_texts, unhappy.sum())
    # A few comments carry personal data that must be redacted before publishing.
    pii = np.flatnonzero(has & (rng.random(len(who)) < 0.005))
    for k, i in enumerate(pii):
        person = people.iloc[who[i]]
        comment[i] = [f"{comment[i]}. Mail me at {person.email}", f"{comment[i]}. Call me on {person.phone}",
                      f"{comment[i]}. Regards, {person['name']}"][k % 3]
    hostile = np.flatnonzero(unhappy)
    if len(hostile):
        comment[hostile[0]] = HOSTILE_COMMENT
    customer_ref = cid[who].copy()
    customer_ref[rng.random(len(who)) < 0.03] = ""
    order_idx = np.argsort(a_day, kind="stable")
    nps = pd.DataFrame({
        "response_id": _ids("R", len(who), 7),
        "customer_id": customer_ref[order_idx],
        "responded_at": _timestamps(a_day[order_idx], rng),
        "score": score[order_idx].astype(object),
        "would_buy_again": wba[order_idx],
        "comment": comment[order_idx],
    })

    # --- Touchpoints.
    parts = []

    def add(who_idx, days, kind, channel, personalized):
        keep = (days >= 0) & (days <= _DAYS - 1)
        who_idx, days = who_idx[keep], days[keep]
        if isinstance(channel, tuple):
            channel = rng.choice(channel[0], len(who_idx), p=channel[1]).astype(object)
        if isinstance(kind, list):
            kind = rng.choice(kind, len(who_idx)).astype(object)
        parts.append(pd.DataFrame({"customer_index": who_idx, "day": days, "kind": kind, "channel": channel,
                                   "personalized": rng.random(len(who_idx)) < personalized}))

    w = np.flatnonzero(state["welcomed"])
    add(w, state["welcome_day"][w], "welcome", (["email", "phone"], [0.8, 0.2]), 0.9)
    t = np.flatnonzero(state["thanked"])
    add(t, state["thank_day"][t], ["thank_you", "thank_you", "handwritten_note", "check_in_call"], "phone", 0.95)
    add(surveyed.customer_index.to_numpy(), survey_day, "survey", "email", 0.3)
    first = state["first_day"]
    buyers = np.flatnonzero(first >= 0)
    last_order = orders.groupby("customer_index").day.max().reindex(range(n)).to_numpy()
    span_end = np.minimum(np.nan_to_num(last_order, nan=0).astype(int) + 120, _DAYS - 1)
    who_n, days_n = _spans(rng, first[buyers], span_end[buyers], 75.0)
    add(buyers[who_n], days_n, "newsletter", "email", 0.1)
    who_p, days_p = _spans(rng, first[buyers] + 20, span_end[buyers], 110.0)
    add(buyers[who_p], days_p, ["promotion", "promotion", "upsell"],
        (["email", "sms", "social", "in_app"], [0.5, 0.2, 0.15, 0.15]), 0.2)
    loyal = buyers[rng.random(len(buyers)) < 0.08]
    add(loyal, first[loyal] + rng.integers(60, 700, len(loyal)), ["loyalty_reward", "anniversary", "birthday"],
        (["email", "mail"], [0.7, 0.3]), 0.8)
    billing = buyers[rng.random(len(buyers)) < 0.25]
    add(billing, first[billing] + rng.integers(10, 400, len(billing)),
        ["billing", "renewal_notice", "policy_change"], "email", 0.05)
    recall = buyers[(first[buyers] < 600) & (rng.random(len(buyers)) < 0.05)]
    add(recall, np.full(len(recall), 620), "recall_notice", (["email", "mail"], [0.5, 0.5]), 0.0)
    support = orders[rng.random(len(orders)) < 0.08]
    add(support.customer_index.to_numpy(), support.day.to_numpy() + rng.integers(1, 15, len(support)),
        "support_reply", (["email", "phone"], [0.7, 0.3]), 0.7)
    partner = buyers[:: max(len(buyers) // 40, 1)][:40]
    add(partner, first[partner] + 30, "partner_offer", "email", 0.0)
    touch = pd.concat(parts, ignore_index=True).sort_values(["day", "customer_index"], kind="stable")
    touchpoints = pd.DataFrame({
        "touchpoint_id": _ids("T", len(touch), 8),
        "customer_id": cid[touch.customer_index.to_numpy()],
        "occurred_at": _timestamps(touch.day.to_numpy(), rng),
        "kind": touch.kind.to_numpy(),
        "channel": touch.channel.to_numpy(),
        "personalized": np.where(touch.personalized.to_numpy(), "true", "false").astype(object),
    })

    customers_out = pd.DataFrame({
        "customer_id": cid,
        "created_at": _dates(people.created_day.to_numpy()),
        "email": people.email, "name": people.name, "phone": people.phone,
        "acquisition_channel": people.acquisition_channel, "plan": people.plan, "region": people.region,
    })
    orders_out = pd.DataFrame({
        "order_id": _ids("O", len(orders), 8),
        "customer_id": cid[orders.customer_index.to_numpy()],
        "ordered_at": _timestamps(orders.day.to_numpy(), rng),
        "amount": np.char.mod("%.2f", orders.amount.to_numpy()).astype(object),
        "currency": "EUR",
        "status": orders.status.to_numpy(),
    })

    if invalid_rows:
        customers_out, orders_out, nps, touchpoints = _with_invalid_rows(customers_out, orders_out, nps, touchpoints)

    frames = {"customers": customers_out, "orders": orders_out, "nps_responses": nps, "touchpoints": touchpoints}
    for name, frame in frames.items():
        frame.to_csv(out / f"{name}.csv", index=False, lineterminator="\n")
    return {name: len(frame) for name, frame in frames.items()}


def _with_invalid_rows(customers, orders, nps, touchpoints):
    """A few rows per export that break the contract, mixed in near the middle of each file."""
    def insert(frame, rows):
        middle = len(frame) // 2
        return pd.concat([frame.iloc[:middle], pd.DataFrame(rows, columns=frame.columns), frame.iloc[middle:]],
                         ignore_index=True)

    c0 = customers.iloc[0]
    customers = insert(customers, [
        list(c0),  # duplicate customer_id
        ["", "2023-05-01", "", "", "", "organic", "basic", "north"],
        ["C9000001", "31/02/2023x", "", "", "", "organic", "basic", "south"],
    ])
    o = orders.iloc[0]
    orders = insert(orders, [
        ["O90000001", o.customer_id, "2023-03-01 10:00:00", "-12.50", "EUR", "completed"],
        ["O90000002", o.customer_id, "2023-03-02 10:00:00", "abc", "EUR", "completed"],
        ["O90000003", o.customer_id, "2023-13-45 10:00:00", "10.00", "EUR", "completed"],
        list(o),  # duplicate order_id
        ["O90000004", "C9999999", "2023-03-04 10:00:00", "10.00", "EUR", "completed"],
        ["O90000005", "", "2023-03-05 10:00:00", "10.00", "EUR", "completed"],
    ])
    r = nps.iloc[0]
    nps = insert(nps, [
        ["R9000001", r.customer_id, "2023-03-01 10:00:00", "11", "yes", ""],
        ["R9000002", r.customer_id, "2023-03-01 10:00:00", "seven", "yes", ""],
        ["R9000003", r.customer_id, "2023-03-01 10:00:00", "-1", "no", ""],
    ])
    t = touchpoints.iloc[0]
    touchpoints = insert(touchpoints, [
        ["T90000001", t.customer_id, "yesterday", "promotion", "email", "false"],
        ["T90000002", "C9999999", "2023-03-01 10:00:00", "promotion", "email", "false"],
    ])
    return customers, orders, nps, touchpoints
