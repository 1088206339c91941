"""A deterministic sample business: three years of customers, orders, NPS answers, touchpoints, support
tickets, product events and subscriptions.

The data runs from 2022-01-01 (`DATA_START`) to 2024-12-31 (`DATA_END`); nothing is dated after it but the
scheduled end (valid_to) of a subscription cancelled near the end of the data. The same
seed writes byte-identical files. New customers arrive at a rate that grows 2.4-fold over the three years,
with more sign-ups around New Year and in November/December and fewer in summer. 92% of customers place a
first order on the day they sign up or within 14 days; the rest never order. After each order a customer
either leaves or orders again after a gap of about 45 days on average (gamma distributed, per-customer
pace), and buys 1.25 times as often in December (1.1 times in the last week of November). Of the orders
92% are completed, 5% refunded and 3% cancelled; amounts are lognormal around 32 (basic plan),
58 (plus) or 105 (premium) EUR, 6% higher from 2024 on (a price rise that also shows in the comments).

How that relates to BG/NBD (Fader, Hardie and Lee 2005; the lifetime-value page's model): as in BG/NBD, a
customer buys at a pace of their own until they leave for good, and leaves only right after a purchase; unlike
it, the gaps are gamma(2) rather than exponential (more regular), the chance of leaving falls with each order
instead of staying fixed per customer, and the pace follows the seasons. The seasons are mild (December x1.25,
January x0.95, July and August x0.9) because the model knows none: so it passes its 26-week holdout check on
2024-Q2 (holdout error 8.5%, within the 15% allowed), while a December twice as strong (x1.7) made the holdout,
which starts right after it, 26% short of its prediction.

Each customer has a hidden satisfaction (normal, higher for referred customers, lower for those from
social and paid search). It drives both the chance of leaving after each order and the NPS score, and
is never written out. The chance of leaving after an order is 40% after the first order and falls with
each further order (27%, 20%, 16%, ... down to 10%) for a customer of average satisfaction; one standard
deviation of satisfaction moves its log-odds by 0.9, and a refunded or cancelled order raises it by 0.7.

Planted effects, which the analyses must recover:

1. Welcome programme. From 2023-07-01 (`WELCOME_PROGRAMME_START`) customers whose first completed order
   falls on or after that day get a `welcome` touchpoint 0-6 days after it with probability 0.85
   (`WELCOME_SHARE_AFTER`). Before the programme only 0.10 (`WELCOME_SHARE_BEFORE`) are welcomed, at a
   random 0-30 days. A welcomed customer's chance of leaving after every order is cut by 30%
   (`WELCOME_CHURN_REDUCTION`), so cohorts from mid-2023 on retain visibly better in months 1-6: about
   61% instead of 53% of new customers place another completed order within 90 days (+8 to +10 points).
   The welcome follows the first *completed* order, the report's cohort anchor.
2. Thanked after the second order. Of the customers who reach a second completed order, a random 40%
   (`THANKED_SHARE`, drawn independently of satisfaction, plan, value and everything else) get one
   appreciation touchpoint 1-30 days after that order: `thank_you` (70%), `handwritten_note` (15%) or
   `check_in_call` (15%). With `thank_you_effect=True` a thanked customer's chance of leaving after
   that order and every later one is halved (`THANK_YOU_CHURN_REDUCTION` = 0.5). Measured as the share
   of customers who place another completed order within 180 days of their second completed order
   (second orders up to 2024-07-04, so all 180 days are in the data), that is about 88% of the thanked
   against 78% of the others: +10 percentage points (+10.3 on average over seeds with 200,000 customers;
   between +8 and +12, `THANK_YOU_RETENTION_LIFT`). Because being thanked is random, the plain comparison
   and any stratified one recover it. With `thank_you_effect=False` the same share is thanked, but it
   changes nothing (a difference of about 0).
3. Detractors leave more than promoters. The score of an answer is 7.6 + 1.8 x (satisfaction + noise),
   minus 3 for an answer about a refunded or cancelled order, rounded and clipped to 0-10 (noise:
   standard deviation 0.8). About 48% of answers are promoters and 22% detractors (NPS about +27). As
   satisfaction also lowers the chance of leaving, about 90% of the customers who answer 9-10 place
   another completed order within 180 days of answering, against about 69% of those who answer 0-6
   (about 20 points).
4. Invalid rows. With `invalid_rows=True` each export gets a few rows that break the contract, mixed in
   among the last rows of the file (`INVALID_ROWS`): customers: a duplicate customer_id, an empty
   customer_id, created_at "31/02/2023x"; orders: a negative amount, amount "abc", an unparseable
   ordered_at, a duplicate order_id, an order of an unknown customer (C9999999); NPS: scores 11,
   "seven" and -1; touchpoints: an unparseable occurred_at and a touchpoint of an unknown customer.

5. Slow answers lose customers. About 0.3 support tickets per customer, raised 0-10 days after an order
   (4.5% of completed orders, 30% of refunded or cancelled ones); 30% (`TICKET_LATE_SHARE`) are first
   answered later than 24 hours (the report's default `response_target_hours`), the others within it.
   Customers whose ticket was answered late place another completed order within 180 days of it 12 points
   (`SERVICE_RETENTION_GAP`) less often than those answered on time: measured over tickets whose 180 days
   are in the data, about 73% against 85% (a customer's first ticket only: about -14 points). The orders are
   simulated first and lateness is then drawn given whether the customer orders again within 180 days
   (Bayes' rule, `_planted_flag`), so the joint distribution is that of a business where lateness costs those
   12 points, while the other exports stay exactly as they were without tickets. Late answers are rated
   good less often (60% against 88%) and half of their comments add "Still waiting for a reply". With
   `service_effect=False` lateness is drawn independently (a difference of about 0).
6. A good first week keeps customers. Events follow the first completed order: 45% (`ACTIVATED_SHARE`) do
   both key steps, `app_installed` then `profile_completed`, within 7 days (`ONBOARDING_WINDOW_DAYS`);
   the others do one of them, none, or the profile only after the first week. Activated customers place
   another completed order between day 8 and day 90 after their first one 15 points
   (`ACTIVATION_RETENTION_GAP`) more often: about 65% against 50%. Planted as lateness is (drawn given
   that outcome); `wishlist_created` (30% of new customers, in their first week) is unrelated to it. With
   `activation_effect=False` activation is drawn independently.
7. Appreciated subscribers stay, detractors leave. A subscriber asks to cancel with a monthly hazard of 4%
   (`CANCEL_HAZARD`), checked at the start of each month of the subscription (months of 30.4375 days from its
   first paid moment): x0.7 (`APPRECIATED_CANCEL_FACTOR`) once the customer has had an appreciation
   touchpoint (any kind of params' appreciation category, `APPRECIATION_KINDS`: welcome, thank_you, ...),
   x2 (`DETRACTOR_CANCEL_FACTOR`) while their latest identified NPS answer scored 0-6. Over the sample that is
   about 3.5% a month: about 4.0% for the not yet appreciated and 2.8% for the appreciated (non-detractor
   months, about 58% of them appreciated), about 8% and 6% for detractors (4% of the months). With
   `appreciation_effect=False` appreciation changes nothing (detractors still cancel twice as often).
8. Invalid rows (continued): subscriptions get a stretch that ends before it starts and one with a negative
   mrr.

Subscriptions: half (`SUBSCRIBER_SHARE`) of the customers with a completed order subscribe at one of their
completed orders (the first for half of them) and 12% of those take a second subscription 7-365 days later:
about 0.5 subscriptions per customer, from January 2022 on, each row a stretch at one price (`period_id`
SP..., `subscription_id` SUB...). Plans basic, plus and pro at 9, 19 and 39 EUR a month
(`SUBSCRIPTION_PRICES`; the orders' currency, so no conversion), 1-3 seats; billed monthly (60%), quarterly
(interval_count 3), yearly (ten months' price) or weekly as amount + interval, or given as mrr directly (17%).
30% start on a 14-day trial (trial_end), a quarter of which are cancelled during it and end with it. Each month
1.2% upgrade and 0.8% downgrade: the stretch closes (valid_to) where the next opens. A cancellation
(cancelled_at, status canceled) ends the stretch at the end of the billing period it was asked in; its
cancel_reason is blank (35%) or a phrase naming a theme of params' comment_themes (`CANCEL_REASONS`). 30%
(`RETURN_SHARE`) of those who cancel after paying subscribe again, half 1-11 months after the end (within
subscriptions.reactivation_window_months), half 13-24 months after it. Running stretches have an empty
valid_to (status active, or trialing during a trial at the end of the data). Subscriptions draw from a random
stream of their own, so the other exports are exactly as they were without them.

Tickets: channel email, chat, phone or web; category delivery, billing, product, account or returns (returns
and billing more often after a refunded or cancelled order), with comments that name a theme of the comment
map; 3% are never resolved and a few recent ones are not yet answered; 65% of resolved tickets are offered
a rating (good, bad, or `offered` when the customer did not answer); 0.5% of comments carry a phone number.
Product events: `session` (with `duration_seconds`, median 4 minutes) about every 23 days from the first
order to 30 days after the last one, each with about 1.6 `product_viewed`; 30% of sign-ups who never order
install the app. About 20 events per customer in all. Tickets and events draw from random streams of their
own. With `invalid_rows=True` they get two invalid rows each: a ticket of an unknown customer and one
answered before it was created; an event with a negative duration and one of an unknown customer.

NPS: 1-5 days after an order a `survey` touchpoint goes out (30% of orders) and 24% of those surveyed
answer up to 72 hours later: about one answer per four customers per year (each answer follows its
survey touchpoint). 3% of answers are anonymous
(empty customer_id). would_buy_again mostly follows the score. About 40% of comments are empty;
promoters praise, detractors and most passives name one theme (sometimes two): price, staff and
rudeness, mistakes and errors, delivery, product quality, waiting and response time (price more often in
2024, mistakes and quality after refunds, delivery and waiting after cancellations). About 0.5% of the
comments carry personal data to be redacted (the customer's email address, phone number or name), and
exactly one detractor's comment is `HOSTILE_COMMENT` (markup and an email address), on an answer given
in 2024-Q2 (`HOSTILE_COMMENT_PERIOD`, the sample report's default period) whenever there is one.

Other touchpoints carry no planted effect: promotions (about monthly while a customer is active, and
to new sign-ups who have not ordered), a newsletter on the first Thursday of each month to the 55% who
subscribe, upsells, renewal notices for plus and premium plans, a product recall on 2023-03-14 to recent
buyers, a policy change on 2024-05-02 to everyone, billing after refunds, support replies after
cancellations and to about half of the identified detractors (within 0-10 days), occasional loyalty
rewards, anniversaries and birthdays, and a few dozen rows of a kind the contract does not know
(`partner_offer`).

Everything is vectorised: orders are simulated one "round" (the n-th order of every customer still
active) at a time, subscriptions one month of every running subscription at a time, and customers are
processed in chunks of 25,000 whose rows are written straight to the CSV files, so memory stays bounded
(about 0.6 GB). 20,000 customers take about a second, a million (4.6 million orders, 18 million
touchpoints, 0.55 million subscription stretches) about 15 seconds (the subscriptions add about 2). Within
each chunk rows are in time order; ids count up through the files. The files are UTF-8 (some names have
accents) with a header and `\n` line ends; text is quoted only where CSV needs it, and a missing value is an
empty field.
"""

from __future__ import annotations

import functools
import math
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# --- The business and its planted effects ----------------------------------------------------------------
DATA_START = date(2022, 1, 1)
DATA_END = date(2024, 12, 31)
WELCOME_PROGRAMME_START = date(2023, 7, 1)

NEVER_ORDER_SHARE = 0.08
ORDER_STATUS_SHARES = {"completed": 0.92, "refunded": 0.05, "cancelled": 0.03}
MEAN_GAP_DAYS = 45.0
DECEMBER_BOOST = 1.25  # mild enough for BG/NBD, which knows no seasons (below)
CHURN_AFTER_ORDER = (0.40, 0.27, 0.20, 0.16, 0.14, 0.12, 0.11, 0.10)  # after the 1st, 2nd, ... order
SATISFACTION_CHURN_LOG_ODDS = 0.9  # per standard deviation of satisfaction
FAILED_ORDER_CHURN_LOG_ODDS = 0.7  # a refunded or cancelled order

WELCOME_SHARE_AFTER = 0.85
WELCOME_SHARE_BEFORE = 0.10
WELCOME_DELAY_DAYS_AFTER = (0, 6)
WELCOME_DELAY_DAYS_BEFORE = (0, 30)
WELCOME_CHURN_REDUCTION = 0.30  # relative cut of the chance of leaving after each order

THANKED_SHARE = 0.40
THANK_YOU_DELAY_DAYS = (1, 30)
THANK_YOU_KINDS = {"thank_you": 0.70, "handwritten_note": 0.15, "check_in_call": 0.15}
THANK_YOU_CHURN_REDUCTION = 0.50  # relative cut of the chance of leaving after each later order
THANK_YOU_RETENTION_LIFT = (0.08, 0.12)  # expected lift of 180-day retention after the 2nd completed order

SCORE_CENTRE, SCORE_SCALE, SCORE_NOISE = 7.6, 1.8, 0.8  # score = centre + scale x (satisfaction + noise)
FAILED_ORDER_SCORE_DROP = 3.0  # an answer about a refunded or cancelled order
SURVEY_SHARE = 0.30
ANSWER_SHARE = 0.24
ANONYMOUS_SHARE = 0.03
PERSONAL_DATA_COMMENT_SHARE = 0.005
DETRACTOR_FOLLOWUP_SHARE = 0.45
PARTNER_OFFER_ROWS = 36
PRICE_RISE = (date(2024, 1, 1), 1.06)
RECALL_DAY = date(2023, 3, 14)
POLICY_CHANGE_DAY = date(2024, 5, 2)

HOSTILE_COMMENT_PERIOD = (date(2024, 4, 1), date(2024, 6, 30))  # answered then when possible (2024-Q2)
HOSTILE_COMMENT = "<script>alert(1)</script><img src=x onerror=alert(2)> contact me at hostile@example.com"
UNKNOWN_CUSTOMER_ID = "C9999999"
INVALID_ROWS = {"customers": 3, "orders": 5, "nps_responses": 3, "touchpoints": 2, "support_tickets": 2, "events": 2,
                "subscriptions": 2}

COLUMNS = {
    "customers": ("customer_id", "created_at", "email", "name", "phone", "acquisition_channel", "plan", "region"),
    "orders": ("order_id", "customer_id", "ordered_at", "amount", "currency", "status"),
    "nps_responses": ("response_id", "customer_id", "responded_at", "score", "would_buy_again", "comment"),
    "touchpoints": ("touchpoint_id", "customer_id", "occurred_at", "kind", "channel", "personalized"),
    "support_tickets": ("ticket_id", "customer_id", "created_at", "first_response_at", "resolved_at", "channel",
                        "category", "satisfaction", "reopens", "comment"),
    "events": ("event_id", "customer_id", "occurred_at", "event", "duration_seconds"),
    "subscriptions": ("period_id", "subscription_id", "customer_id", "plan", "status", "valid_from", "valid_to",
                      "trial_end", "mrr", "amount", "currency", "interval", "interval_count", "quantity",
                      "cancelled_at", "cancel_reason"),
}
CHUNK_CUSTOMERS = 25_000

# Support tickets and product events.
TICKET_SHARE_COMPLETED, TICKET_SHARE_FAILED = 0.045, 0.30  # share of orders followed by a ticket
TICKET_DELAY_DAYS = 10
TICKET_LATE_SHARE = 0.30  # first answered later than 24 hours
SERVICE_RETENTION_GAP = 0.12  # 180-day retention, answered late minus answered on time
UNRESOLVED_SHARE = 0.03
CSAT_OFFERED_SHARE, CSAT_ANSWER_SHARE = 0.65, 0.70
CSAT_GOOD_PROMPT, CSAT_GOOD_LATE = 0.88, 0.60
TICKET_CHANNELS = ["email", "chat", "phone", "web"]
TICKET_CHANNEL_SHARES = [0.45, 0.30, 0.15, 0.10]
TICKET_CATEGORIES = ["delivery", "billing", "product", "account", "returns"]
TICKET_CATEGORY_SHARES = [0.30, 0.20, 0.25, 0.10, 0.15]
TICKET_CATEGORY_SHARES_FAILED = [0.15, 0.30, 0.10, 0.05, 0.40]  # after a refunded or cancelled order
TICKET_COMMENTS = [
    ["Where is my delivery? The courier never came.", "Parcel arrived damaged.", "The shipping is taking weeks."],
    ["I was charged twice, looks like an error.", "The price on my invoice is wrong.", "Why did the cost go up?"],
    ["The product broke after a week, poor quality.", "It looks flimsy, is this a defect?", "How do I use this?"],
    ["I cannot log in to my account.", "Please update my address.", "How do I change my plan?"],
    ["I got the wrong item and want to return it.", "How do I send this back?", "The refund has not arrived."],
]
EVENTS = ["app_installed", "profile_completed", "wishlist_created", "session", "product_viewed"]
ONBOARDING_WINDOW_DAYS = 7
ACTIVATED_SHARE = 0.45  # both key steps within the first week
ACTIVATION_RETENTION_GAP = 0.15  # orders again on days 8-90: activated minus not activated
WISHLIST_SHARE = 0.30
SESSION_EVERY_DAYS = 23.0
SESSION_MEDIAN_SECONDS = 240.0
VIEWS_PER_SESSION = 1.6

# Subscriptions: a line of business beside the orders (their own random stream, like tickets and events).
SUBSCRIBER_SHARE = 0.50  # of the customers with a completed order
SECOND_SUBSCRIPTION_SHARE = 0.12  # subscribers who take a second subscription beside the first
SUBSCRIPTION_PLANS = ["basic", "plus", "pro"]
SUBSCRIPTION_PLAN_SHARES = [0.50, 0.35, 0.15]
SUBSCRIPTION_PRICES = [9.0, 19.0, 39.0]  # EUR a month
# Billing: share, interval, interval_count, the amount billed per interval in months of the monthly price (a
# year costs ten months), the billing period in days; "mrr": the row gives its monthly revenue directly.
SUBSCRIPTION_BILLING = {"monthly": (0.60, "month", 1, 1.0, 30.4375), "quarterly": (0.05, "month", 3, 3.0, 91.3125),
                        "yearly": (0.12, "year", 1, 10.0, 365.25), "weekly": (0.06, "week", 1, 12 / 52, 7.0),
                        "mrr": (0.17, None, 1, 1.0, 30.4375)}
SUBSCRIPTION_QUANTITY_SHARES = [0.85, 0.10, 0.05]  # 1, 2 or 3 seats
TRIAL_SHARE, TRIAL_DAYS, TRIAL_CONVERSION = 0.30, 14, 0.75
SUBSCRIPTION_MONTH_SECONDS = 2_629_800  # 30.4375 days: a subscription's months run from its first paid moment
CANCEL_HAZARD = 0.04  # a month, for a subscriber neither appreciated nor a detractor
APPRECIATED_CANCEL_FACTOR = 0.7  # from the first appreciation touchpoint on (appreciation_effect=True)
DETRACTOR_CANCEL_FACTOR = 2.0  # while the customer's latest answer is a detractor's
APPRECIATION_KINDS = ["welcome", "thank_you", "check_in_call", "loyalty_reward", "anniversary", "birthday",
                      "handwritten_note"]  # params' touchpoint_categories.appreciation
UPGRADE_HAZARD, DOWNGRADE_HAZARD = 0.012, 0.008  # a month
RETURN_SHARE = 0.30  # of the cancelled subscriptions that had paid: the customer subscribes again later,
RETURN_WITHIN_SHARE = 0.5  # half of them 1-11 months after the end (a reactivation), the others 13-24 months
CANCEL_REASON_BLANK_SHARE = 0.35
CANCEL_REASONS = ["Too expensive for what I use.", "The price went up again.", "It costs more than I can spend now.",
                  "The staff were rude when I called.", "Unfriendly staff on the phone.",
                  "There was a billing error on my account.", "I was charged the wrong amount, another mistake.",
                  "The delivery of my box was always late.", "The courier kept leaving it outside.",
                  "The quality has gone down.", "It broke and nobody replaced it.",
                  "I waited weeks for an answer.", "No response to my emails.", "Support is slow to reply."]

# --- Vocabularies ------------------------------------------------------------------------------------------
FIRST_NAMES = ["Olivia", "Liam", "Amelia", "Noah", "Isla", "Oliver", "Ava", "George", "Mia", "Harry", "Sophia",
               "Jack", "Grace", "Leo", "Freya", "Oscar", "Chloé", "Arthur", "Zoë", "Mohammed", "Aisha", "Raj",
               "Priya", "Wei", "Mei", "José", "Lucía", "Łukasz", "Siobhán", "Seán", "Niamh", "Kwame", "Ama",
               "Yusuf", "Fatima", "Emma", "Lars", "Ingrid", "Marta", "Tomás"]
LAST_NAMES = ["Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel", "Wright",
              "Walker", "Evans", "Khan", "Roberts", "Thompson", "Murphy", "O'Brien", "Nowak", "García", "Müller",
              "Rossi", "Chen", "Nguyen", "Okafor", "Mensah", "Kowalski", "Andersson", "Fernández", "Byrne", "Kelly"]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]
CHANNELS = ["organic", "paid_search", "referral", "social", "email_campaign"]
CHANNEL_SHARES_BY_YEAR = {2022: [0.40, 0.22, 0.15, 0.10, 0.13], 2023: [0.36, 0.25, 0.15, 0.13, 0.11],
                          2024: [0.32, 0.27, 0.14, 0.17, 0.10]}
CHANNEL_SATISFACTION = [0.10, -0.10, 0.35, -0.20, 0.0]
PLANS = ["basic", "plus", "premium"]
PLAN_SHARES = [0.55, 0.30, 0.15]
PLAN_MEDIAN_AMOUNT = [32.0, 58.0, 105.0]
PLAN_SATISFACTION = [0.0, 0.05, 0.15]
PLAN_PACE = [1.05, 0.95, 0.85]  # multiplies the mean gap between orders
REGIONS = ["north", "south", "east", "west"]
REGION_SHARES = [0.22, 0.33, 0.20, 0.25]
STATUSES = list(ORDER_STATUS_SHARES)

PRAISE = [
    "Great service, will definitely order again.",
    "Love the products, excellent value.",
    "Always a pleasure - friendly and helpful team.",
    "Really happy with my order, thank you!",
    "Best shop I have used, highly recommend.",
    "Everything was perfect as usual.",
    "Fantastic customer service.",
    "Quick and easy, exactly what I needed.",
    "The team went above and beyond for me.",
    "Brilliant as always.",
]
NEUTRAL = ["It was ok.", "Nothing special.", "Does the job.", "Average experience overall.", "Fine."]
THEME_NAMES = ["price", "staff and rudeness", "mistakes and errors", "delivery", "product quality",
               "waiting and response time"]
THEME_COMMENTS = [
    ["Too expensive for what you get.", "The price went up again.", "Far too expensive compared to other shops.",
     "Price went up twice this year.", "Way too pricey now.", "The cost keeps creeping up."],
    ["The person on the phone was rude.", "Unfriendly staff when I called.", "Staff were rude when I complained.",
     "Really unfriendly staff, I felt like a nuisance.", "Rude and dismissive attitude."],
    ["I got the wrong item.", "There was a billing error on my invoice.", "Another mistake with my order.",
     "Wrong item sent, and then a billing error on top.", "Charged twice - clearly an error."],
    ["Late delivery, again.", "The courier left my parcel in the rain.", "My parcel arrived damaged.",
     "Late delivery and the courier never rang.", "Package arrived damaged and two days late."],
    ["Poor quality, it broke after a week.", "Poor quality materials.", "Broke after two uses.",
     "Feels flimsy, poor quality.", "The product broke after a month."],
    ["Waited three weeks for an answer.", "No response to my emails.", "Slow to reply to any question.",
     "I waited on hold for 40 minutes.", 'They said "we will call you back" - still no response.',
     "Support is slow to reply."],
]
THEME_SHARES = [0.24, 0.12, 0.15, 0.22, 0.15, 0.12]
DETRACTOR_LEADS = ["", "", "", "Disappointed. ", "Not impressed: ", "Never again. "]
PASSIVE_LEADS = ["Good overall, but ", "Fine, though ", "Mostly happy, but ", "OK, however "]
PERSONAL_DATA_TEMPLATES = ["{comment} Please mail me at {email}", "{comment} Call me on {phone}",
                           "{comment} - {name}", "This is {name}. {comment}"]

KINDS = ["welcome", "thank_you", "check_in_call", "loyalty_reward", "anniversary", "birthday", "handwritten_note",
         "promotion", "upsell", "newsletter", "renewal_notice", "recall_notice", "billing", "policy_change",
         "support_reply", "survey", "partner_offer"]
TOUCH_CHANNELS = ["email", "phone", "sms", "mail", "social", "in_app"]
_K = {kind: i for i, kind in enumerate(KINDS)}
# kind -> (channel shares in TOUCH_CHANNELS order, share personalized, working hours)
_TOUCH_STYLE = {
    "welcome": ([0.60, 0.10, 0.10, 0.0, 0.0, 0.20], 0.70, (8, 20)),
    "thank_you": ([0.60, 0.0, 0.20, 0.0, 0.0, 0.20], 0.80, (8, 20)),
    "check_in_call": ([0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 1.0, (9, 18)),
    "handwritten_note": ([0.0, 0.0, 0.0, 1.0, 0.0, 0.0], 1.0, (9, 13)),
    "loyalty_reward": ([0.50, 0.0, 0.0, 0.20, 0.0, 0.30], 0.60, (8, 20)),
    "anniversary": ([0.70, 0.0, 0.10, 0.0, 0.0, 0.20], 0.70, (8, 20)),
    "birthday": ([0.60, 0.0, 0.30, 0.0, 0.0, 0.10], 0.90, (7, 12)),
    "promotion": ([0.60, 0.0, 0.20, 0.0, 0.10, 0.10], 0.25, (8, 21)),
    "upsell": ([0.60, 0.10, 0.0, 0.0, 0.0, 0.30], 0.40, (8, 20)),
    "newsletter": ([1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 0.0, (10, 11)),
    "renewal_notice": ([0.70, 0.0, 0.0, 0.30, 0.0, 0.0], 0.20, (6, 9)),
    "recall_notice": ([0.50, 0.0, 0.0, 0.50, 0.0, 0.0], 0.10, (9, 17)),
    "billing": ([0.90, 0.0, 0.0, 0.10, 0.0, 0.0], 0.10, (0, 24)),
    "policy_change": ([1.0, 0.0, 0.0, 0.0, 0.0, 0.0], 0.0, (9, 12)),
    "support_reply": ([0.60, 0.40, 0.0, 0.0, 0.0, 0.0], 0.90, (8, 19)),
    "survey": ([0.80, 0.0, 0.10, 0.0, 0.0, 0.10], 0.10, (9, 18)),
    "partner_offer": ([0.70, 0.0, 0.0, 0.0, 0.30, 0.0], 0.0, (9, 18)),
}
_ORDER_HOUR_WEIGHTS = np.array([2, 1, 0.6, 0.4, 0.3, 0.4, 1, 2, 3, 4, 4.5, 5, 6, 5.5, 4.5, 4.5, 5, 5.5, 6.5, 8, 9,
                                8, 6, 3.5])

# --- Calendar (day index 0 = DATA_START) -------------------------------------------------------------------
_EPOCH_DAY = (DATA_START - date(1970, 1, 1)).days
_N_DAYS = (DATA_END - DATA_START).days + 1
_LAST = _N_DAYS - 1
_END_SECOND = _N_DAYS * 86_400  # first second after the data


def _day(day: date) -> int:
    return (day - DATA_START).days


_CAL = np.arange(_N_DAYS, dtype=np.int64) + _EPOCH_DAY
_MONTH = (_CAL.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1)
_YEAR = _CAL.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970
_MDAY = (_CAL - _CAL.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)) + 1
_WEEKDAY = (_CAL + 3) % 7  # 0 = Monday (1970-01-01 was a Thursday)
_PROGRAMME_DAY = _day(WELCOME_PROGRAMME_START)
_PRICE_RISE_DAY = _day(PRICE_RISE[0])



@functools.lru_cache(maxsize=4)
def _shopping_time(december: float, late_november: float, january: float, summer: float) -> np.ndarray:
    """Purchase pace over the calendar: gaps are drawn in "shopping time", which runs faster in December (and
    the last week of November) and slower in January and in July and August; the cumulative pace per day."""
    pace = np.ones(_N_DAYS)
    pace[_MONTH == 12] = december
    pace[(_MONTH == 11) & (_MDAY >= 24)] = late_november
    pace[_MONTH == 1] = january
    pace[(_MONTH == 7) | (_MONTH == 8)] = summer
    return np.cumsum(pace)

# Acquisition: 2.4-fold growth over the three years, seasonality by month, fewer sign-ups at weekends.
_MONTH_SEASON = np.array([1.15, 0.95, 1.0, 1.0, 0.95, 0.9, 0.85, 0.85, 1.0, 1.05, 1.25, 1.3])
_WEEKDAY_SEASON = np.array([1.05, 1.05, 1.05, 1.05, 1.0, 0.95, 0.85])
_ACQUISITION = (np.exp(math.log(2.4) * np.arange(_N_DAYS) / _N_DAYS) * _MONTH_SEASON[_MONTH - 1]
                * _WEEKDAY_SEASON[_WEEKDAY])

# The newsletter goes out on the first Thursday of each month.
_NEWSLETTER_DAYS = np.flatnonzero((_WEEKDAY == 3) & (_MDAY <= 7))


def _ascii(text: str) -> str:
    text = text.replace("Ł", "L").replace("ł", "l")
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


_FIRST_ASCII = [_ascii(n) for n in FIRST_NAMES]
_LAST_ASCII = [_ascii(n) for n in LAST_NAMES]


# --- Small vectorised helpers ------------------------------------------------------------------------------
def _pick(rng: np.random.Generator, n: int, shares) -> np.ndarray:
    """n category indices drawn with the given shares."""
    cumulative = np.cumsum(np.asarray(shares, dtype=float))
    return np.searchsorted(cumulative / cumulative[-1], rng.random(n), side="right").astype(np.int64)


def _pick_rows(rng: np.random.Generator, shares: np.ndarray) -> np.ndarray:
    """One category index per row of a (rows x categories) share matrix."""
    cumulative = np.cumsum(shares, axis=1)
    u = rng.random(len(shares)) * cumulative[:, -1]
    return (cumulative <= u[:, None]).sum(axis=1).astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For per-row counts: (row index repeated count times, 0..count-1 within each row)."""
    counts = counts.astype(np.int64)
    rows = np.repeat(np.arange(len(counts)), counts)
    within = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, within


def _strings(values) -> pa.Array:
    return pa.array(values, type=pa.string())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    digits = pc.utf8_lpad(pa.array(np.asarray(numbers, dtype=np.int64)).cast(pa.string()), width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _timestamps(seconds: np.ndarray) -> pa.Array:
    """Seconds since DATA_START -> 'YYYY-MM-DD HH:MM:SS'."""
    return pa.array(np.asarray(seconds, dtype=np.int64) + _EPOCH_DAY * 86_400, type=pa.timestamp("s")).cast(pa.string())


def _optional_timestamps(seconds: np.ndarray) -> pa.Array:
    """As _timestamps, empty where the second is -1 (not yet happened)."""
    text = _timestamps(np.maximum(seconds, 0))
    return pc.if_else(pa.array(np.asarray(seconds) >= 0), text, pa.nulls(len(text), pa.string()))


def _planted_flag(rng: np.random.Generator, outcome: np.ndarray, known: np.ndarray, share: float,
                  gap: float) -> np.ndarray:
    """A flag (answered late, activated) on `share` of the rows whose outcome rate is `gap` higher with it
    than without, drawn given the outcome: P(flag | outcome) by Bayes' rule, so that the flagged rows' rate is
    s + gap (1 - share) and the others' s - gap x share, s the rate over the rows whose outcome is `known`.
    Rows whose outcome is not known yet are flagged with plain `share`."""
    flag = rng.random(outcome.size) < share
    if gap == 0 or not known.any():
        return flag
    s = float(outcome[known].mean())
    if not 0 < s < 1:
        return flag
    with_flag = min(max(s + gap * (1 - share), 0.01), 0.99)
    p_yes, p_no = share * with_flag / s, share * (1 - with_flag) / (1 - s)
    draw = rng.random(outcome.size) < np.where(outcome, min(p_yes, 1.0), min(p_no, 1.0))
    return np.where(known, draw, flag)


def _dates(days: np.ndarray) -> pa.Array:
    epoch_days = (np.asarray(days, dtype=np.int64) + _EPOCH_DAY).astype(np.int32)
    return pa.array(epoch_days, type=pa.date32()).cast(pa.string())


def _amounts(cents: np.ndarray) -> pa.Array:
    cents = np.asarray(cents, dtype=np.int64)
    whole = pa.array(cents // 100).cast(pa.string())
    fraction = pc.utf8_lpad(pa.array(cents % 100).cast(pa.string()), 2, padding="0")
    return pc.binary_join_element_wise(whole, fraction, ".")


def _csv_field(values: pa.Array) -> pa.Array:
    """Quote a text column where CSV needs it (comma, quote or line break), as pandas and csv do."""
    needs = pc.fill_null(pc.match_substring_regex(values, r'[",\r\n]'), False)
    if not pc.any(needs).as_py():
        return values
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


class _CsvFile:
    """A CSV export written chunk by chunk: a header, then comma-joined rows; empty text for missing values."""

    def __init__(self, path: Path, columns: tuple[str, ...], quoted: tuple[str, ...]):
        self.columns, self.quoted, self.rows = columns, quoted, 0
        self.handle = open(path, "wb")
        self.handle.write((",".join(columns) + "\n").encode("utf-8"))

    def write(self, table: dict[str, pa.Array]) -> None:
        cols = [_csv_field(table[c]) if c in self.quoted else table[c] for c in self.columns]
        n = len(cols[0])
        if n == 0:
            return
        joined = pc.binary_join_element_wise(*cols, ",", null_handling="replace", null_replacement="")
        lines = pc.binary_join_element_wise(joined, "", "\n")
        offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32, count=n + 1, offset=lines.offset * 4)
        data = lines.buffers()[2]
        self.handle.write(memoryview(data)[offsets[0]:offsets[-1]])
        self.rows += n

    def close(self) -> None:
        self.handle.close()


def _mix_in(table: dict[str, pa.Array], extra: list[dict], rng: np.random.Generator,
            after: list[int | None]) -> dict[str, pa.Array]:
    """Insert extra rows among the last rows of a chunk; a row with `after=i` lands after valid row i."""
    n = len(next(iter(table.values())))
    keys = np.concatenate([np.arange(n, dtype=float),
                           [rng.uniform(max(n * 0.8, (a if a is not None else -1) + 0.5), n)
                            if n else float(i) for i, a in enumerate(after)]])
    order = pa.array(np.argsort(keys, kind="stable"))
    return {column: pa.concat_arrays([values, _strings([row.get(column) for row in extra])]).take(order)
            for column, values in table.items()}


# --- The simulation of one chunk of customers --------------------------------------------------------------
class _Chunk:
    def __init__(self, rng: np.random.Generator, created: np.ndarray, first_number: int, thank_you_effect: bool,
                 shape: "Shape"):
        self.rng, self.created, self.first_number, self.shape = rng, created, first_number, shape
        self.shopping_time = _shopping_time(shape.december, shape.late_november, shape.january, shape.summer)
        self.n = n = len(created)
        self.number = np.arange(first_number, first_number + n)
        year = _YEAR[created]
        channel_shares = np.array([CHANNEL_SHARES_BY_YEAR[int(y)] for y in range(2022, 2025)])
        self.channel = _pick_rows(rng, channel_shares[np.clip(year - 2022, 0, 2)])
        self.plan = _pick(rng, n, PLAN_SHARES)
        self.region = _pick(rng, n, REGION_SHARES)
        self.first_name = rng.integers(0, len(FIRST_NAMES), n)
        self.last_name = rng.integers(0, len(LAST_NAMES), n)
        self.domain = _pick(rng, n, [0.6, 0.25, 0.15])
        self.phone = rng.integers(0, 1000, n)
        self.satisfaction = (rng.standard_normal(n) + np.array(CHANNEL_SATISFACTION)[self.channel]
                             + np.array(PLAN_SATISFACTION)[self.plan])
        self.mean_gap = (MEAN_GAP_DAYS * np.exp(0.35 * rng.standard_normal(n) - 0.0612)
                         * np.array(PLAN_PACE)[self.plan] / shape.order_frequency)
        self.thank_you_effect = thank_you_effect
        self.customer_ids = _ids("C", self.number, 7)

    # Personal details as plain strings (for the few comments that quote them).
    def email(self, i: int) -> str:
        return (f"{_FIRST_ASCII[self.first_name[i]]}.{_LAST_ASCII[self.last_name[i]]}{self.number[i]}"
                f"@{EMAIL_DOMAINS[self.domain[i]]}")

    def name(self, i: int) -> str:
        return f"{FIRST_NAMES[self.first_name[i]]} {LAST_NAMES[self.last_name[i]]}"

    def phone_number(self, i: int) -> str:
        return f"+44 7700 900{self.phone[i]:03d}"

    def customers_table(self) -> dict[str, pa.Array]:
        first = _strings(FIRST_NAMES).take(pa.array(self.first_name))
        last = _strings(LAST_NAMES).take(pa.array(self.last_name))
        email = pc.binary_join_element_wise(
            _strings(_FIRST_ASCII).take(pa.array(self.first_name)), ".",
            _strings(_LAST_ASCII).take(pa.array(self.last_name)), pa.array(self.number).cast(pa.string()), "@",
            _strings(EMAIL_DOMAINS).take(pa.array(self.domain)), "")
        phone = pc.binary_join_element_wise(
            "+44 7700 900", pc.utf8_lpad(pa.array(self.phone).cast(pa.string()), 3, padding="0"), "")
        return {
            "customer_id": self.customer_ids,
            "created_at": _dates(self.created),
            "email": email,
            "name": pc.binary_join_element_wise(first, last, " "),
            "phone": phone,
            "acquisition_channel": _strings(CHANNELS).take(pa.array(self.channel)),
            "plan": _strings(PLANS).take(pa.array(self.plan)),
            "region": _strings(REGIONS).take(pa.array(self.region)),
        }

    # --- orders, round by round
    def simulate_orders(self) -> None:
        rng, n = self.rng, self.n
        orders_at_all = rng.random(n) >= NEVER_ORDER_SHARE
        delay = np.where(rng.random(n) < 0.55, 0, rng.integers(1, 15, n))
        day = self.created + delay
        active = np.flatnonzero(orders_at_all & (day <= _LAST))
        day = day[active]

        self.welcome_day = np.full(n, -1)
        self.thank_day = np.full(n, -1)
        self.fifth_completed_day = np.full(n, -1)
        churn_factor = np.ones(n)
        completed = np.zeros(n, dtype=np.int64)
        base = np.array([_logit(p) for p in CHURN_AFTER_ORDER])
        who, when, status = [], [], []
        k = 0
        while active.size:
            st = _pick(rng, active.size, list(ORDER_STATUS_SHARES.values()))
            who.append(active)
            when.append(day)
            status.append(st)
            ok = st == 0
            completed[active] += ok
            count = completed[active]

            # Welcome: decided at the first completed order.
            first = ok & (count == 1)
            if first.any():
                c, d = active[first], day[first]
                programme = d >= _PROGRAMME_DAY
                welcomed = rng.random(c.size) < np.where(programme, WELCOME_SHARE_AFTER, WELCOME_SHARE_BEFORE)
                (a0, a1), (b0, b1) = WELCOME_DELAY_DAYS_AFTER, WELCOME_DELAY_DAYS_BEFORE
                lag = np.where(programme, rng.integers(a0, a1 + 1, c.size), rng.integers(b0, b1 + 1, c.size))
                welcomed &= d + lag <= _LAST
                self.welcome_day[c[welcomed]] = (d + lag)[welcomed]
                churn_factor[c[welcomed]] *= 1 - WELCOME_CHURN_REDUCTION

            # Thank-you: a random 40% at the second completed order, whatever else is known about them.
            second = ok & (count == 2)
            if second.any():
                c, d = active[second], day[second]
                thanked = rng.random(c.size) < THANKED_SHARE
                lag = rng.integers(THANK_YOU_DELAY_DAYS[0], THANK_YOU_DELAY_DAYS[1] + 1, c.size)
                thanked &= d + lag <= _LAST
                self.thank_day[c[thanked]] = (d + lag)[thanked]
                if self.thank_you_effect:
                    churn_factor[c[thanked]] *= 1 - THANK_YOU_CHURN_REDUCTION
            fifth = ok & (count == 5)
            self.fifth_completed_day[active[fifth]] = day[fifth]

            log_odds = (base[min(k, len(base) - 1)] - SATISFACTION_CHURN_LOG_ODDS * self.satisfaction[active]
                        + FAILED_ORDER_CHURN_LOG_ODDS * ~ok)
            stays = rng.random(active.size) >= _sigmoid(log_odds) * churn_factor[active] * self.shape.churn
            active, day = active[stays], day[stays]
            gap = rng.gamma(2.0, self.mean_gap[active] / 2.0)
            day = np.searchsorted(self.shopping_time, self.shopping_time[day] + gap)
            within = day <= _LAST
            active, day = active[within], day[within]
            k += 1

        who = np.concatenate(who) if who else np.zeros(0, np.int64)
        when = np.concatenate(when) if when else np.zeros(0, np.int64)
        status = np.concatenate(status) if status else np.zeros(0, np.int64)
        m = who.size
        hour = _pick(rng, m, _ORDER_HOUR_WEIGHTS)
        seconds = when * 86_400 + hour * 3600 + rng.integers(0, 3600, m)
        order = np.lexsort((who, seconds))
        self.o_who, self.o_day, self.o_sec, self.o_status = who[order], when[order], seconds[order], status[order]
        price = np.array(PLAN_MEDIAN_AMOUNT)[self.plan[self.o_who]]
        price = price * np.where(self.o_day >= _PRICE_RISE_DAY, PRICE_RISE[1], 1.0)
        price = price * np.where(_MONTH[self.o_day] == 12, 1.12, 1.0)
        self.o_cents = np.maximum(np.rint(price * np.exp(0.45 * rng.standard_normal(m)) * 100), 199).astype(np.int64)
        # Per customer: first and last order day (-1 without orders).
        self.first_order_day = np.full(n, -1)
        self.last_order_day = np.full(n, -1)
        if m:
            self.first_order_day[self.o_who[::-1]] = self.o_day[::-1]
            self.last_order_day[self.o_who] = self.o_day
            self.first_completed_second = np.full(n, -1)
            done = self.o_status == 0
            self.first_completed_second[self.o_who[done][::-1]] = self.o_sec[done][::-1]
        else:
            self.first_completed_second = np.full(n, -1)

    def orders_table(self, first_number: int) -> dict[str, pa.Array]:
        m = self.o_who.size
        return {
            "order_id": _ids("O", np.arange(first_number, first_number + m), 8),
            "customer_id": self.customer_ids.take(pa.array(self.o_who)),
            "ordered_at": _timestamps(self.o_sec),
            "amount": _amounts(self.o_cents),
            "currency": _strings(["EUR"]).take(pa.array(np.zeros(m, dtype=np.int64))),
            "status": _strings(STATUSES).take(pa.array(self.o_status)),
        }

    # --- NPS
    def simulate_nps(self) -> None:
        rng = self.rng
        m = self.o_who.size
        surveyed = np.flatnonzero(rng.random(m) < SURVEY_SHARE * self.shape.surveys)
        lo, hi = _TOUCH_STYLE["survey"][2]
        survey_sec = ((self.o_day[surveyed] + rng.integers(1, 6, surveyed.size)) * 86_400
                      + rng.integers(lo * 3600, hi * 3600, surveyed.size))
        keep = survey_sec < _END_SECOND
        surveyed, survey_sec = surveyed[keep], survey_sec[keep]
        self.survey_who, self.survey_sec = self.o_who[surveyed], survey_sec
        answer_sec = survey_sec + np.minimum(rng.exponential(10 * 3600, surveyed.size), 72 * 3600).astype(np.int64) + 60
        answered = (rng.random(surveyed.size) < ANSWER_SHARE) & (answer_sec < _END_SECOND)
        order, sec = surveyed[answered], answer_sec[answered]
        by_time = np.argsort(sec, kind="stable")
        order, sec = order[by_time], sec[by_time]
        who = self.o_who[order]
        failed = self.o_status[order] != 0
        r = who.size
        z = self.satisfaction[who] + SCORE_NOISE * rng.standard_normal(r)
        score = np.rint(SCORE_CENTRE + SCORE_SCALE * z - FAILED_ORDER_SCORE_DROP * failed)
        score = np.clip(score, 0, 10).astype(np.int64)
        promoter, detractor = score >= 9, score <= 6
        passive = ~promoter & ~detractor
        # would_buy_again: mostly follows the score.
        wba_shares = np.where(promoter[:, None], [0.85, 0.03, 0.12],
                              np.where(passive[:, None], [0.55, 0.10, 0.35], [0.12, 0.50, 0.38]))
        wba = _pick_rows(rng, wba_shares)

        # Comments.
        has = rng.random(r) < np.where(promoter, 0.50, np.where(passive, 0.55, 0.75))
        comment = np.full(r, None, dtype=object)
        praise = has & promoter
        comment[praise] = np.array(PRAISE, dtype=object)[rng.integers(0, len(PRAISE), praise.sum())]
        neutral = has & passive & (rng.random(r) < 0.3)
        comment[neutral] = np.array(NEUTRAL, dtype=object)[rng.integers(0, len(NEUTRAL), neutral.sum())]
        themed = has & ~promoter & ~neutral
        if themed.any():
            t = np.flatnonzero(themed)
            shares = np.tile(np.array(THEME_SHARES), (t.size, 1))
            shares[:, 0] *= np.where(self.o_day[order[t]] >= _PRICE_RISE_DAY, 1.8, 1.0)
            refunded, cancelled = self.o_status[order[t]] == 1, self.o_status[order[t]] == 2
            shares[:, 2] *= np.where(refunded, 3.0, 1.0)
            shares[:, 4] *= np.where(refunded, 2.0, 1.0)
            shares[:, 3] *= np.where(cancelled, 2.5, 1.0)
            shares[:, 5] *= np.where(cancelled, 2.0, 1.0)
            theme = _pick_rows(rng, shares)
            body = np.empty(t.size, dtype=object)
            for i, texts in enumerate(THEME_COMMENTS):
                mine = theme == i
                body[mine] = np.array(texts, dtype=object)[rng.integers(0, len(texts), mine.sum())]
            # Some detractors name a second theme.
            second = detractor[t] & (rng.random(t.size) < 0.15)
            other = (theme + rng.integers(1, len(THEME_COMMENTS), t.size)) % len(THEME_COMMENTS)
            for i, texts in enumerate(THEME_COMMENTS):
                mine = second & (other == i)
                extra = np.array(texts, dtype=object)[rng.integers(0, len(texts), mine.sum())]
                body[mine] = body[mine] + " Also: " + extra
            lead_d = np.array(DETRACTOR_LEADS, dtype=object)[rng.integers(0, len(DETRACTOR_LEADS), t.size)]
            lead_p = np.array(PASSIVE_LEADS, dtype=object)[rng.integers(0, len(PASSIVE_LEADS), t.size)]
            lowered = np.array([b if b.startswith("I ") else b[0].lower() + b[1:] for b in body], dtype=object)
            comment[t] = np.where(detractor[t], lead_d + body, lead_p + lowered)
        anonymous = rng.random(r) < ANONYMOUS_SHARE
        # A few comments quote personal data.
        personal = np.flatnonzero(has & (rng.random(r) < PERSONAL_DATA_COMMENT_SHARE))
        template = rng.integers(0, len(PERSONAL_DATA_TEMPLATES), personal.size)
        for i, k in zip(personal, template):
            c = who[i]
            comment[i] = PERSONAL_DATA_TEMPLATES[k].format(comment=comment[i], email=self.email(c),
                                                           phone=self.phone_number(c), name=self.name(c))
        self.r_who, self.r_sec, self.r_score, self.r_wba = who, sec, score, wba
        self.r_comment, self.r_anonymous = comment, anonymous

    def plant_hostile(self) -> bool:
        """Give one detractor's answer HOSTILE_COMMENT; False when this chunk has no answer at all."""
        if self.r_who.size == 0:
            return False
        detractors = np.flatnonzero(self.r_score <= 6)
        lo, hi = (_day(d) * 86_400 for d in HOSTILE_COMMENT_PERIOD)
        in_period = detractors[(self.r_sec[detractors] >= lo) & (self.r_sec[detractors] < hi + 86_400)]
        if in_period.size:  # in the default report period, so a page of the sample report shows it
            detractors = in_period
        if detractors.size:
            i = detractors[self.rng.integers(0, detractors.size)]
        else:
            i = self.rng.integers(0, self.r_who.size)
            self.r_score[i] = 2
            self.r_wba[i] = 1
        self.r_comment[i] = HOSTILE_COMMENT
        return True

    def add_answer(self) -> None:
        """An answer for a chunk that has none (only in tiny samples), so the hostile comment has a home."""
        who = int(self.o_who[-1]) if self.o_who.size else 0
        day = min(int(self.o_day[-1]) + 2 if self.o_who.size else int(self.created[who]), _LAST)
        self.survey_who = np.append(self.survey_who, who)
        self.survey_sec = np.append(self.survey_sec, day * 86_400 + 9 * 3600)
        self.r_who, self.r_sec = np.array([who]), np.array([day * 86_400 + 12 * 3600])
        self.r_score, self.r_wba = np.array([2]), np.array([1])
        self.r_comment, self.r_anonymous = np.array([None], dtype=object), np.array([False])

    def nps_table(self, first_number: int) -> dict[str, pa.Array]:
        r = self.r_who.size
        customer = self.customer_ids.take(pa.array(self.r_who, type=pa.int64()))
        customer = pc.if_else(pa.array(self.r_anonymous, type=pa.bool_()), pa.scalar(None, pa.string()), customer)
        return {
            "response_id": _ids("R", np.arange(first_number, first_number + r), 7),
            "customer_id": customer,
            "responded_at": _timestamps(self.r_sec),
            "score": pa.array(self.r_score, type=pa.int64()).cast(pa.string()),
            "would_buy_again": _strings(["yes", "no", "unsure"]).take(pa.array(self.r_wba, type=pa.int64())),
            "comment": pa.array(self.r_comment, type=pa.string()),
        }

    # --- touchpoints
    def simulate_touchpoints(self, partner_offers: int) -> None:
        rng, n = self.rng, self.n
        parts: list[tuple[str, np.ndarray, np.ndarray]] = []  # kind, customer index, second

        def at(kind: str, who: np.ndarray, days: np.ndarray) -> None:
            lo, hi = _TOUCH_STYLE[kind][2]
            seconds = days * 86_400 + rng.integers(lo * 3600, hi * 3600, who.size)
            parts.append((kind, who, seconds))

        def spread(kind: str, start: np.ndarray, end: np.ndarray, every: float, who: np.ndarray) -> None:
            """About one contact per `every` days between start and end (inclusive)."""
            length = np.maximum(end - start + 1, 0)
            rows, _ = _expand(rng.poisson(length / every))
            at(kind, who[rows], start[rows] + (rng.random(rows.size) * length[rows]).astype(np.int64))

        everyone = np.arange(n)
        ordered = self.first_order_day >= 0
        first_completed_day = np.where(self.first_completed_second >= 0, self.first_completed_second // 86_400, -1)

        # Welcome: 0-6 days after the first completed order (same day: after the order itself).
        w = np.flatnonzero(self.welcome_day >= 0)
        same_day = self.welcome_day[w] == first_completed_day[w]
        seconds = self.welcome_day[w] * 86_400 + rng.integers(8 * 3600, 20 * 3600, w.size)
        order_second = self.first_completed_second[w]
        rest_of_day = np.maximum(86_340 - order_second % 86_400, 0)
        later = order_second + 60 + (rng.random(w.size) * rest_of_day).astype(np.int64)
        parts.append(("welcome", w, np.where(same_day, np.minimum(later, (self.welcome_day[w] + 1) * 86_400 - 1),
                                              seconds)))

        # Thanked after the second completed order.
        t = np.flatnonzero(self.thank_day >= 0)
        kind = _pick(rng, t.size, list(THANK_YOU_KINDS.values()))
        for i, name in enumerate(THANK_YOU_KINDS):
            at(name, t[kind == i], self.thank_day[t[kind == i]])

        # Loyalty reward after the fifth completed order, anniversaries of the first order, birthdays.
        f = np.flatnonzero((self.fifth_completed_day >= 0) & (rng.random(n) < 0.5))
        at("loyalty_reward", f, self.fifth_completed_day[f] + rng.integers(0, 15, f.size))
        for years in (1, 2):
            day = self.first_order_day + 365 * years
            a = np.flatnonzero(ordered & (day <= _LAST) & (self.last_order_day >= day - 180) & (rng.random(n) < 0.6))
            at("anniversary", a, day[a])
        known = rng.random(n) < 0.15
        birthday = rng.integers(0, 365, n)
        for year in (2022, 2023, 2024):
            day = _day(date(year, 1, 1)) + birthday
            b = np.flatnonzero(known & ordered & (day >= self.created) & (day <= self.last_order_day + 365)
                               & (day <= _LAST) & (rng.random(n) < 0.9))
            at("birthday", b, day[b])

        # Promotions while active (and to sign-ups who have not ordered yet), upsells on basic and plus.
        active_end = np.where(ordered, self.last_order_day + 120, self.created + 60).clip(max=_LAST)
        spread("promotion", self.created, active_end, 30.0 / self.shape.marketing, everyone)
        up = np.flatnonzero(ordered & (self.plan < 2))
        spread("upsell", self.first_order_day[up] + 14, active_end[up], 150.0 / self.shape.marketing, up)

        # Newsletter to subscribers, on the first Thursday of each month, until some months after the last order.
        s = np.flatnonzero(rng.random(n) < 0.55 * min(self.shape.marketing, 1.0))
        until = np.where(ordered[s], self.last_order_day[s] + 240, self.created[s] + 240).clip(max=_LAST)
        lo = np.searchsorted(_NEWSLETTER_DAYS, self.created[s], side="left")
        hi = np.searchsorted(_NEWSLETTER_DAYS, until, side="right")
        rows, within = _expand(np.maximum(hi - lo, 0))
        at("newsletter", s[rows], _NEWSLETTER_DAYS[lo[rows] + within])

        # Renewal notices for plus and premium, two weeks before each yearly renewal while still a customer.
        for years in (1, 2):
            day = self.created + 365 * years - 14
            still = self.last_order_day >= self.created + 365 * (years - 1)
            r = np.flatnonzero((self.plan > 0) & (day <= _LAST) & still)
            at("renewal_notice", r, day[r])

        # Recall: everyone with a completed order in the 120 days before the recall.
        recall = _day(RECALL_DAY)
        recent = (self.o_status == 0) & (self.o_day >= recall - 120) & (self.o_day < recall)
        rc = np.unique(self.o_who[recent])
        at("recall_notice", rc, recall + rng.integers(0, 4, rc.size))

        # Policy change to every customer signed up before it.
        policy = _day(POLICY_CHANGE_DAY)
        p = np.flatnonzero((self.created < policy) & (rng.random(n) < 0.95))
        at("policy_change", p, policy + rng.integers(0, 2, p.size))

        # Billing after refunds; support replies after cancellations, to detractors, and now and then.
        refunds = np.flatnonzero((self.o_status == 1) & (rng.random(self.o_who.size) < 0.9))
        at("billing", self.o_who[refunds], self.o_day[refunds] + rng.integers(1, 6, refunds.size))
        odd = np.flatnonzero(rng.random(self.o_who.size) < 0.01)
        at("billing", self.o_who[odd], self.o_day[odd] + rng.integers(0, 30, odd.size))
        cancels = np.flatnonzero((self.o_status == 2) & (rng.random(self.o_who.size) < 0.6))
        at("support_reply", self.o_who[cancels], self.o_day[cancels] + rng.integers(0, 3, cancels.size))
        followed = np.flatnonzero((self.r_score <= 6) & ~self.r_anonymous
                                  & (rng.random(self.r_who.size) < DETRACTOR_FOLLOWUP_SHARE))
        at("support_reply", self.r_who[followed], self.r_sec[followed] // 86_400 + rng.integers(0, 11, followed.size))
        spread("support_reply", self.first_order_day[ordered], active_end[ordered], 365.0, np.flatnonzero(ordered))

        # Surveys (one before every answer) and a few dozen partner offers.
        parts.append(("survey", self.survey_who, self.survey_sec))
        if partner_offers:
            po = rng.integers(0, n, partner_offers)
            span = _LAST - self.created[po] + 1
            at("partner_offer", po, self.created[po] + (rng.random(po.size) * span).astype(np.int64))

        who = np.concatenate([p[1] for p in parts]).astype(np.int64)
        sec = np.concatenate([p[2] for p in parts]).astype(np.int64)
        kind = np.concatenate([np.full(p[1].size, _K[p[0]]) for p in parts])
        keep = sec < _END_SECOND
        who, sec, kind = who[keep], sec[keep], kind[keep]
        channel = np.zeros(who.size, dtype=np.int64)
        personalized = np.zeros(who.size, dtype=bool)
        for name, (shares, share_personal, _) in _TOUCH_STYLE.items():
            mine = np.flatnonzero(kind == _K[name])
            channel[mine] = _pick(rng, mine.size, shares)
            personalized[mine] = rng.random(mine.size) < share_personal
        order = np.lexsort((kind, who, sec))
        self.t_who, self.t_sec, self.t_kind = who[order], sec[order], kind[order]
        self.t_channel, self.t_personalized = channel[order], personalized[order]

    def touchpoints_table(self, first_number: int) -> dict[str, pa.Array]:
        m = self.t_who.size
        return {
            "touchpoint_id": _ids("T", np.arange(first_number, first_number + m), 8),
            "customer_id": self.customer_ids.take(pa.array(self.t_who)),
            "occurred_at": _timestamps(self.t_sec),
            "kind": _strings(KINDS).take(pa.array(self.t_kind)),
            "channel": _strings(TOUCH_CHANNELS).take(pa.array(self.t_channel)),
            "personalized": _strings(["false", "true"]).take(pa.array(self.t_personalized.astype(np.int64))),
        }

    # --- support tickets and product events (their own random stream: the other exports stay as they were)
    def simulate_service(self, rng: np.random.Generator, service_effect: bool) -> None:
        """Tickets raised after orders. Lateness is drawn given whether the customer goes on to order within
        180 days (see the module docstring): the orders stay exactly as simulated, and the joint distribution
        is that of a business where a late answer costs SERVICE_RETENTION_GAP of 180-day retention."""
        m = self.o_who.size
        failed = self.o_status != 0
        raised = rng.random(m) < np.where(failed, TICKET_SHARE_FAILED, TICKET_SHARE_COMPLETED) * self.shape.tickets
        idx = np.flatnonzero(raised)
        sec = self.o_sec[idx] + rng.integers(600, TICKET_DELAY_DAYS * 86_400, idx.size)
        keep = sec < _END_SECOND
        idx, sec = idx[keep], sec[keep]
        who, k = self.o_who[idx], idx.size
        stays, complete = self._orders_again(who, sec, 180 * 86_400)
        late = _planted_flag(rng, stays, complete, TICKET_LATE_SHARE,
                             -SERVICE_RETENTION_GAP if service_effect else 0.0)
        hours = np.where(late, 24.0 + rng.exponential(30.0, k),
                         np.exp(rng.uniform(math.log(0.1), math.log(23.5), k)))
        answered = sec + np.rint(hours * 3600).astype(np.int64)
        resolve_hours = np.where(rng.random(k) < UNRESOLVED_SHARE, np.inf, rng.exponential(20.0, k))
        resolved = np.where(np.isfinite(resolve_hours), answered + np.rint(np.nan_to_num(resolve_hours, posinf=0)
                                                                             * 3600).astype(np.int64), -1)
        resolved = np.where((resolved >= 0) & (resolved < _END_SECOND), resolved, -1)
        answered = np.where(answered < _END_SECOND, answered, -1)
        category = np.where(failed[idx], _pick(rng, k, TICKET_CATEGORY_SHARES_FAILED),
                            _pick(rng, k, TICKET_CATEGORY_SHARES))
        rated = (resolved >= 0) & (rng.random(k) < CSAT_OFFERED_SHARE)
        answered_rating = rated & (rng.random(k) < CSAT_ANSWER_SHARE)
        good = rng.random(k) < np.where(late, CSAT_GOOD_LATE, CSAT_GOOD_PROMPT)
        satisfaction = np.where(answered_rating, np.where(good, 1, 2), np.where(rated, 3, 0))  # "", good, bad, offered
        reopens = _pick(rng, k, [0.90, 0.08, 0.02])
        comment = np.array([TICKET_COMMENTS[c][j] for c, j in
                            zip(category, rng.integers(0, 1 << 30, k) % np.array([len(TICKET_COMMENTS[c]) for c in category]))]
                           if k else [], dtype=object)
        still_waiting = late & (rng.random(k) < 0.5)
        comment = np.where(still_waiting, comment + " Still waiting for a reply.", comment)
        personal = np.flatnonzero(rng.random(k) < PERSONAL_DATA_COMMENT_SHARE)
        for i in personal:
            comment[i] = f"{comment[i]} Call me on {self.phone_number(int(who[i]))}"
        order = np.lexsort((who, sec))
        self.s_who, self.s_sec, self.s_answered, self.s_resolved = who[order], sec[order], answered[order], resolved[order]
        self.s_channel, self.s_category = _pick(rng, k, TICKET_CHANNEL_SHARES)[order], category[order]
        self.s_satisfaction, self.s_reopens, self.s_comment = satisfaction[order], reopens[order], comment[order]
        self.s_late = late[order]

    def _orders_again(self, who: np.ndarray, sec: np.ndarray, within: int) -> tuple[np.ndarray, np.ndarray]:
        """For moments (customer, second): a completed order in the `within` seconds after it? And is all of that
        time inside the data (else the answer is not known yet)?"""
        done = self.o_status == 0
        keys = self.o_who[done] * (1 << 32) + self.o_sec[done]
        keys.sort()
        at = np.searchsorted(keys, who * (1 << 32) + sec, side="right")
        following = np.where(at < keys.size, keys[np.minimum(at, keys.size - 1)], -1)
        again = (following >= 0) & (following // (1 << 32) == who) & (following % (1 << 32) <= sec + within)
        return again, sec + within < _END_SECOND

    def tickets_table(self, first_number: int) -> dict[str, pa.Array]:
        m = self.s_who.size
        return {
            "ticket_id": _ids("S", np.arange(first_number, first_number + m), 7),
            "customer_id": self.customer_ids.take(pa.array(self.s_who)),
            "created_at": _timestamps(self.s_sec),
            "first_response_at": _optional_timestamps(self.s_answered),
            "resolved_at": _optional_timestamps(self.s_resolved),
            "channel": _strings(TICKET_CHANNELS).take(pa.array(self.s_channel)),
            "category": _strings(TICKET_CATEGORIES).take(pa.array(self.s_category)),
            "satisfaction": _strings([None, "good", "bad", "offered"]).take(pa.array(self.s_satisfaction)),
            "reopens": pa.array(self.s_reopens).cast(pa.string()),
            "comment": _strings(list(self.s_comment)),
        }

    def simulate_usage(self, rng: np.random.Generator, activation_effect: bool) -> None:
        """Product events: the first-week steps after the first completed order (activation planted like
        lateness: drawn given whether the customer orders again on days 8-90), sessions and product views
        while a customer is active, an app install for some who never order."""
        n = self.n
        first = self.first_completed_second
        buyers = np.flatnonzero(first >= 0)
        parts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # event, customer, second, duration

        def add(event: str, who: np.ndarray, sec: np.ndarray, duration: np.ndarray | None = None) -> None:
            keep = sec < _END_SECOND
            parts.append((EVENTS.index(event), who[keep], sec[keep],
                          (duration if duration is not None else np.full(who.size, -1))[keep]))

        f_sec = first[buyers]
        f_day = f_sec // 86_400
        window = ONBOARDING_WINDOW_DAYS
        again, complete = self._orders_again(buyers, (f_day + window + 1) * 86_400 - 1, (90 - window) * 86_400)
        activated = _planted_flag(rng, again, complete, ACTIVATED_SHARE,
                                  ACTIVATION_RETENTION_GAP if activation_effect else 0.0)
        # Activated: both key steps inside the window (the second after the first). Not: one, none, or late.
        install = f_sec + rng.integers(60, 3 * 86_400, buyers.size)
        profile = install + rng.integers(60, 3 * 86_400, buyers.size)
        kind = _pick(rng, buyers.size, [0.40, 0.35, 0.10, 0.15])  # none, install only, profile only, both but late
        late_profile = (f_day + window + 1) * 86_400 + rng.integers(0, 14 * 86_400, buyers.size)
        did_install = activated | (kind == 1) | (kind == 3)
        did_profile = activated | (kind == 2) | (kind == 3)
        profile = np.where(activated | (kind == 2), profile, late_profile)
        add("app_installed", buyers[did_install], install[did_install])
        add("profile_completed", buyers[did_profile], profile[did_profile])
        wish = rng.random(buyers.size) < WISHLIST_SHARE
        add("wishlist_created", buyers[wish], (f_sec + rng.integers(0, window * 86_400, buyers.size))[wish])
        # Sessions while active: from the first order to 30 days after the last one.
        start = f_sec
        end = np.minimum((self.last_order_day[buyers] + 31) * 86_400, _END_SECOND)
        span_days = np.maximum(end - start, 0) / 86_400
        rows, _ = _expand(rng.poisson(span_days * self.shape.usage / SESSION_EVERY_DAYS))
        sessions = start[rows] + (rng.random(rows.size) * (end - start)[rows]).astype(np.int64)
        duration = np.rint(np.exp(math.log(SESSION_MEDIAN_SECONDS) + 0.8 * rng.standard_normal(rows.size)))
        add("session", buyers[rows], sessions, duration.astype(np.int64))
        views, _ = _expand(rng.poisson(VIEWS_PER_SESSION, rows.size))
        add("product_viewed", buyers[rows][views], sessions[views] + rng.integers(5, 600, views.size))
        # Some who sign up but never order install the app and look around.
        browsers = np.flatnonzero((first < 0) & (rng.random(n) < 0.3))
        add("app_installed", browsers, self.created[browsers] * 86_400 + rng.integers(8 * 3600, 22 * 3600, browsers.size))
        event = np.concatenate([np.full(w.size, e) for e, w, _, _ in parts])
        who = np.concatenate([w for _, w, _, _ in parts])
        sec = np.concatenate([s for _, _, s, _ in parts])
        dur = np.concatenate([d for _, _, _, d in parts])
        order = np.lexsort((event, who, sec))
        self.e_who, self.e_sec, self.e_event, self.e_duration = who[order], sec[order], event[order], dur[order]
        self.activated = np.zeros(n, dtype=bool)
        self.activated[buyers[activated]] = True

    def events_table(self, first_number: int) -> dict[str, pa.Array]:
        m = self.e_who.size
        duration = pa.array(self.e_duration).cast(pa.string())
        return {
            "event_id": _ids("E", np.arange(first_number, first_number + m), 9),
            "customer_id": self.customer_ids.take(pa.array(self.e_who)),
            "occurred_at": _timestamps(self.e_sec),
            "event": _strings(EVENTS).take(pa.array(self.e_event)),
            "duration_seconds": pc.if_else(pa.array(self.e_duration >= 0), duration, pa.nulls(m, pa.string())),
        }

    # --- subscriptions (their own random stream as well)
    def simulate_subscriptions(self, rng: np.random.Generator, appreciation_effect: bool) -> None:
        """Subscriptions taken out at a completed order, month by month from the first paid moment: a cancel
        hazard cut by APPRECIATED_CANCEL_FACTOR once the customer was appreciated (with `appreciation_effect`) and
        raised by DETRACTOR_CANCEL_FACTOR while their latest answer is a detractor's; upgrades and downgrades
        close one stretch and open the next; some who cancel come back. Waves: the subscriptions taken out at
        orders, then those of customers who came back, then those who came back again."""
        month = SUBSCRIPTION_MONTH_SECONDS
        billing = list(SUBSCRIPTION_BILLING.values())
        period_seconds = np.rint(np.array([b[4] for b in billing]) * 86_400).astype(np.int64)
        # What the hazard reads, as the files show it: the first appreciation touchpoint (touchpoints are in time
        # order) and each identified customer's answers, keyed by (customer, second).
        appreciation = np.isin(self.t_kind, [_K[k] for k in APPRECIATION_KINDS])
        appreciated_at = np.full(self.n, np.iinfo(np.int64).max)
        appreciated_at[self.t_who[appreciation][::-1]] = self.t_sec[appreciation][::-1]
        identified = ~self.r_anonymous
        answer_keys = self.r_who[identified] * (1 << 32) + self.r_sec[identified]
        by_key = np.argsort(answer_keys, kind="stable")
        answer_keys, answer_scores = answer_keys[by_key], self.r_score[identified][by_key]

        def detractor_now(who: np.ndarray, sec: np.ndarray) -> np.ndarray:
            """Is the customer's latest answer before `sec` a detractor's (0-6)?"""
            if not answer_keys.size:
                return np.zeros(who.size, dtype=bool)
            at = np.maximum(np.searchsorted(answer_keys, who * (1 << 32) + sec, side="left") - 1, 0)
            return (answer_keys[at] // (1 << 32) == who) & (answer_keys[at] < who * (1 << 32) + sec) \
                & (answer_scores[at] <= 6)

        # Who subscribes: at their first completed order (half of them) or at another completed order of theirs.
        done = np.flatnonzero(self.o_status == 0)
        done = done[np.lexsort((self.o_sec[done], self.o_who[done]))]  # by customer, then time
        count = np.bincount(self.o_who[done], minlength=self.n)
        first_at = np.cumsum(count) - count
        buyers = np.flatnonzero(count > 0)
        takers = buyers[rng.random(buyers.size) < SUBSCRIBER_SHARE * self.shape.subscriptions]
        nth = np.where(rng.random(takers.size) < 0.5, 0, (rng.random(takers.size) * count[takers]).astype(np.int64))
        start = self.o_sec[done[first_at[takers] + nth]] + rng.integers(60, 1800, takers.size)
        second = rng.random(takers.size) < SECOND_SUBSCRIPTION_SHARE
        second_start = start[second] + rng.integers(7 * 86_400, 365 * 86_400, second.sum())
        cust = np.concatenate([takers, takers[second]])
        start = np.concatenate([start, second_start])
        keep = start < _END_SECOND
        cust, start = cust[keep], start[keep]

        subs: list[tuple[np.ndarray, ...]] = []  # per wave: customer, start, billing form, quantity
        rows: list[tuple[np.ndarray, ...]] = []  # subscription, from, to, plan, trial_end, cancelled_at, reason, status
        first_sub = 0

        def reason(k: int) -> np.ndarray:
            return np.where(rng.random(k) < CANCEL_REASON_BLANK_SHARE, -1, rng.integers(0, len(CANCEL_REASONS), k))

        def stretch(sub, frm, to, plan, trial, cancelled, why, status) -> None:
            rows.append(tuple(np.broadcast_to(np.asarray(v, dtype=np.int64), np.shape(sub)).copy()
                              for v in (sub, frm, to, plan, trial, cancelled, why, status)))

        for _wave in range(3):
            k = cust.size
            if not k:
                break
            sub = first_sub + np.arange(k)
            form = _pick(rng, k, [b[0] for b in billing])
            quantity = _pick(rng, k, SUBSCRIPTION_QUANTITY_SHARES) + 1
            subs.append((cust, start, form, quantity))
            first_sub += k
            plan = np.where(rng.random(k) < 0.7, self.plan[cust], _pick(rng, k, SUBSCRIPTION_PLAN_SHARES))
            trial = rng.random(k) < TRIAL_SHARE
            trial_end = np.where(trial, start + TRIAL_DAYS * 86_400, -1)
            # Trials that do not convert: cancelled during the trial, ending with it (still running at the end
            # of the data when the cancellation would come later).
            lost = trial & (rng.random(k) >= TRIAL_CONVERSION)
            asked = start + (rng.random(k) * TRIAL_DAYS * 86_400).astype(np.int64)
            gone = lost & (asked < _END_SECOND)
            stretch(sub[gone], start[gone], trial_end[gone], plan[gone], trial_end[gone], asked[gone],
                    reason(int(gone.sum())), 1)
            paid = np.where(trial, trial_end, start)
            row_from, row_trial, current = start.copy(), trial_end.copy(), plan.copy()
            tick = paid.copy()
            ended = np.zeros(k, dtype=bool)
            ended[lost] = True
            ends = np.full(k, -1)
            active = np.flatnonzero(~lost)
            while active.size:
                active = active[tick[active] < _END_SECOND]
                if not active.size:
                    break
                t, who = tick[active], cust[active]
                hazard = (CANCEL_HAZARD
                          * np.where(appreciation_effect & (appreciated_at[who] < t), APPRECIATED_CANCEL_FACTOR, 1.0)
                          * np.where(detractor_now(who, t), DETRACTOR_CANCEL_FACTOR, 1.0))
                u = rng.random(active.size)
                moment = t + rng.integers(3600, month - 3600, active.size)
                inside = moment < _END_SECOND
                cancel = (u < hazard) & inside
                up = (u >= hazard) & (u < hazard + UPGRADE_HAZARD) & (current[active] < 2) & inside
                down = ((u >= hazard + UPGRADE_HAZARD) & (u < hazard + UPGRADE_HAZARD + DOWNGRADE_HAZARD)
                        & (current[active] > 0) & inside)
                change = up | down
                c = active[change]
                stretch(sub[c], row_from[c], moment[change], current[c], row_trial[c], -1, -1, 0)
                row_from[c], row_trial[c] = moment[change], -1
                current[c] += np.where(up[change], 1, -1)
                # A cancellation ends the stretch at the end of the billing period it was asked in.
                c, asked_at = active[cancel], moment[cancel]
                length = period_seconds[form[c]]
                ends[c] = paid[c] + (asked_at - paid[c] + length - 1) // length * length
                stretch(sub[c], row_from[c], ends[c], current[c], row_trial[c], asked_at, reason(c.size), 1)
                ended[c] = True
                active = active[~cancel]
                tick[active] += month
            running = np.flatnonzero(~ended | (lost & ~gone))
            stretch(sub[running], row_from[running], -1, current[running], row_trial[running], -1, -1,
                    np.where(row_trial[running] >= _END_SECOND, 2, 0))
            # Some who cancelled after paying subscribe again: within the reactivation window or after it.
            back = np.flatnonzero((ends >= 0) & (rng.random(k) < RETURN_SHARE))
            gap = np.where(rng.random(back.size) < RETURN_WITHIN_SHARE, rng.integers(1, 12, back.size),
                           rng.integers(13, 25, back.size))
            again = ends[back] + gap * month + rng.integers(0, month, back.size)
            keep = again < _END_SECOND
            cust, start = cust[back][keep], again[keep]

        empty = np.zeros(0, np.int64)
        sub, frm, to, plan, trial, cancelled, why, status = map(np.concatenate, zip(*rows)) if rows else [empty] * 8
        s_cust, s_start, s_form, s_quantity = map(np.concatenate, zip(*subs)) if subs else [empty] * 4
        # Subscription numbers count up in order of their start; stretches are in time order.
        number = np.empty(s_start.size, dtype=np.int64)
        number[np.argsort(s_start, kind="stable")] = np.arange(s_start.size)
        order = np.lexsort((number[sub], frm))
        self.b_number, self.b_from, self.b_to = number[sub[order]], frm[order], to[order]
        self.b_who, self.b_plan, self.b_trial = s_cust[sub[order]], plan[order], trial[order]
        self.b_cancelled, self.b_reason, self.b_status = cancelled[order], why[order], status[order]
        self.b_form, self.b_quantity = s_form[sub[order]], s_quantity[sub[order]]
        self.b_subscriptions = s_start.size

    def subscriptions_table(self, first_number: int, first_subscription: int) -> dict[str, pa.Array]:
        m = self.b_number.size
        billing = list(SUBSCRIPTION_BILLING.values())
        direct = self.b_form == list(SUBSCRIPTION_BILLING).index("mrr")
        monthly = np.array(SUBSCRIPTION_PRICES)[self.b_plan]
        per_interval = np.rint(monthly * np.array([b[3] for b in billing])[self.b_form] * 100).astype(np.int64)
        mrr_cents = np.rint(monthly * 100).astype(np.int64) * self.b_quantity
        none = pa.nulls(m, pa.string())
        interval = _strings([b[1] for b in billing]).take(pa.array(self.b_form))
        count = pa.array(np.array([b[2] for b in billing])[self.b_form]).cast(pa.string())
        given = pa.array(~direct)
        return {
            "period_id": _ids("SP", np.arange(first_number, first_number + m), 8),
            "subscription_id": _ids("SUB", first_subscription + self.b_number, 7),
            "customer_id": self.customer_ids.take(pa.array(self.b_who)),
            "plan": _strings(SUBSCRIPTION_PLANS).take(pa.array(self.b_plan)),
            "status": _strings(["active", "canceled", "trialing"]).take(pa.array(self.b_status)),
            "valid_from": _timestamps(self.b_from),
            "valid_to": _optional_timestamps(self.b_to),
            "trial_end": _optional_timestamps(self.b_trial),
            "mrr": pc.if_else(pa.array(direct), _amounts(mrr_cents), none),
            "amount": pc.if_else(given, _amounts(per_interval), none),
            "currency": _strings(["EUR"]).take(pa.array(np.zeros(m, dtype=np.int64))),
            "interval": pc.if_else(given, interval, none),
            "interval_count": pc.if_else(given, count, none),
            "quantity": pc.if_else(given, pa.array(self.b_quantity).cast(pa.string()), none),
            "cancelled_at": _optional_timestamps(self.b_cancelled),
            "cancel_reason": _strings(CANCEL_REASONS + [None]).take(
                pa.array(np.where(self.b_reason >= 0, self.b_reason, len(CANCEL_REASONS)))),
        }


def _invalid_rows(chunk: _Chunk, tables: dict, next_numbers: dict, customers: int) -> dict:
    """Mix INVALID_ROWS into the last chunk's tables."""
    rng = chunk.rng

    def row(table: dict, i: int) -> dict:
        return {column: values[i].as_py() for column, values in table.items()}

    c_tab, o_tab, r_tab, t_tab = (tables[k] for k in ("customers", "orders", "nps_responses", "touchpoints"))
    someone = chunk.customer_ids[int(rng.integers(0, chunk.n))].as_py()
    plain = {"email": "", "name": "", "phone": "", "acquisition_channel": "organic", "plan": "basic", "region": "north"}
    dup_c = int(rng.integers(0, chunk.n))
    tables["customers"] = _mix_in(c_tab, [
        row(c_tab, dup_c),
        {**plain, "customer_id": "", "created_at": "2024-11-05", "name": "Walk-in Customer"},
        {**plain, "customer_id": f"C{customers + 1:07d}", "created_at": "31/02/2023x"},
    ], rng, [dup_c, None, None])

    base = {"customer_id": someone, "currency": "EUR", "status": "completed"}
    number = next_numbers["orders"]
    extra = [
        {**base, "order_id": f"O{number:08d}", "ordered_at": "2024-10-02 14:21:09", "amount": "-19.99"},
        {**base, "order_id": f"O{number + 1:08d}", "ordered_at": "2024-10-03 09:02:45", "amount": "abc"},
        {**base, "order_id": f"O{number + 2:08d}", "ordered_at": "30/02/2024 25:61", "amount": "24.50"},
        {**base, "order_id": f"O{number + 3:08d}", "customer_id": UNKNOWN_CUSTOMER_ID,
         "ordered_at": "2024-10-05 18:44:00", "amount": "42.00"},
    ]
    after: list[int | None] = [None] * 4
    m = len(o_tab["order_id"])
    if m:
        dup_o = int(rng.integers(0, m))
        extra.append(row(o_tab, dup_o))
        after.append(dup_o)
    else:  # a tiny sample without orders in its last chunk: duplicate one of the new ids instead
        extra.append({**base, "order_id": f"O{number + 4:08d}", "ordered_at": "2024-10-06 10:00:00", "amount": "9.99"})
        extra.append({**base, "order_id": f"O{number + 4:08d}", "ordered_at": "2024-10-06 10:00:00", "amount": "9.99"})
        after += [None, None]
    tables["orders"] = _mix_in(o_tab, extra, rng, after)

    number = next_numbers["nps_responses"]
    tables["nps_responses"] = _mix_in(r_tab, [
        {"response_id": f"R{number + i:07d}", "customer_id": someone, "responded_at": f"2024-10-1{i} 10:15:00",
         "score": score, "would_buy_again": wba, "comment": comment}
        for i, (score, wba, comment) in enumerate([("11", "yes", "Eleven out of ten!"), ("seven", "unsure", None),
                                                   ("-1", "no", None)])
    ], rng, [None] * 3)

    number = next_numbers["touchpoints"]
    tables["touchpoints"] = _mix_in(t_tab, [
        {"touchpoint_id": f"T{number:08d}", "customer_id": someone, "occurred_at": "2024-02-30 25:00:00",
         "kind": "promotion", "channel": "email", "personalized": "false"},
        {"touchpoint_id": f"T{number + 1:08d}", "customer_id": UNKNOWN_CUSTOMER_ID,
         "occurred_at": "2024-10-07 11:30:00", "kind": "newsletter", "channel": "email", "personalized": "false"},
    ], rng, [None] * 2)

    number = next_numbers["support_tickets"]
    tables["support_tickets"] = _mix_in(tables["support_tickets"], [
        {"ticket_id": f"S{number:07d}", "customer_id": UNKNOWN_CUSTOMER_ID, "created_at": "2024-10-08 09:00:00",
         "channel": "email", "category": "billing", "reopens": "0"},
        {"ticket_id": f"S{number + 1:07d}", "customer_id": someone, "created_at": "2024-10-09 09:00:00",
         "first_response_at": "2024-10-08 09:00:00", "channel": "chat", "category": "account", "reopens": "0"},
    ], rng, [None] * 2)
    number = next_numbers["events"]
    tables["events"] = _mix_in(tables["events"], [
        {"event_id": f"E{number:09d}", "customer_id": someone, "occurred_at": "2024-10-10 10:00:00",
         "event": "session", "duration_seconds": "-5"},
        {"event_id": f"E{number + 1:09d}", "customer_id": UNKNOWN_CUSTOMER_ID, "occurred_at": "2024-10-10 11:00:00",
         "event": "session", "duration_seconds": "60"},
    ], rng, [None] * 2)
    number, subscription = next_numbers["subscriptions"], next_numbers["subscription"]
    monthly = {"customer_id": someone, "plan": "basic", "currency": "EUR", "amount": "9.00", "interval": "month",
               "interval_count": "1", "quantity": "1"}
    tables["subscriptions"] = _mix_in(tables["subscriptions"], [
        {**monthly, "period_id": f"SP{number:08d}", "subscription_id": f"SUB{subscription:07d}", "status": "canceled",
         "valid_from": "2024-10-12 10:00:00", "valid_to": "2024-09-12 10:00:00", "cancelled_at": "2024-09-01 10:00:00"},
        {"customer_id": someone, "plan": "plus", "currency": "EUR", "period_id": f"SP{number + 1:08d}",
         "subscription_id": f"SUB{subscription + 1:07d}", "status": "active", "valid_from": "2024-10-13 10:00:00",
         "mrr": "-19.00"},
    ], rng, [None] * 2)
    return tables


@dataclass(frozen=True)
class Shape:
    """How busy the business is, relative to the sample's (all 1.0): `order_frequency` divides the gap between
    orders, `churn` multiplies the chance of leaving after each order, `marketing` multiplies how often
    promotions and upsells go out (and, up to 1, the newsletter's share of subscribers), `surveys` the share
    of orders followed by a survey (and so the NPS answers), `tickets` the share followed by a support ticket,
    `usage` how often active customers use the product, `subscriptions` the share of customers who subscribe;
    `december`, `late_november`, `january` and `summer` (July and August) the purchase pace in those seasons
    (the sample's until the lifetime-value page: 1.7, 1.3, 0.85 and 0.9). The bench uses it to shape a workload
    like the one it is asked to measure; the planted effects are sized for the default."""

    order_frequency: float = 1.0
    churn: float = 1.0
    marketing: float = 1.0
    surveys: float = 1.0
    tickets: float = 1.0  # multiplies the share of orders followed by a ticket
    usage: float = 1.0  # multiplies how often an active customer opens the product (sessions, views)
    subscriptions: float = 1.0  # multiplies the share of customers who take out a subscription
    december: float = DECEMBER_BOOST
    late_november: float = 1.1
    january: float = 0.95
    summer: float = 0.9


def write_sample_data(out: Path, seed: int = 7, customers: int = 20_000, thank_you_effect: bool = True,
                      invalid_rows: bool = True, shape: Shape = Shape(), service_effect: bool = True,
                      activation_effect: bool = True, appreciation_effect: bool = True) -> dict[str, int]:
    """Writes customers.csv, orders.csv, nps_responses.csv, touchpoints.csv, support_tickets.csv, events.csv and
    subscriptions.csv into `out` (created if missing); returns rows written per export (invalid rows included)."""
    if not 1 <= customers < 9_999_998:
        raise ValueError(f"customers must be between 1 and 9,999,997 (C9999999 is the unknown customer), "
                         f"not {customers}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    chunks = max(1, math.ceil(customers / CHUNK_CUSTOMERS))
    streams = np.random.SeedSequence([int(seed), 20221231]).spawn(chunks + 1)
    acquisition = np.random.default_rng(streams[0])
    created = np.sort(np.searchsorted(np.cumsum(_ACQUISITION) / _ACQUISITION.sum(), acquisition.random(customers),
                                      side="right")).astype(np.int64)
    bounds = np.linspace(0, customers, chunks + 1).round().astype(np.int64)
    # Tickets and events draw from streams of their own, so adding them left the other exports as they were.
    service_streams = np.random.SeedSequence([int(seed), 20250101]).spawn(chunks)
    subscription_streams = np.random.SeedSequence([int(seed), 20250301]).spawn(chunks)

    quoted = {"customers": ("name", "email"), "orders": (), "nps_responses": ("comment",), "touchpoints": (),
              "support_tickets": ("comment",), "events": (), "subscriptions": ("cancel_reason",)}
    files = {name: _CsvFile(out / f"{name}.csv", columns, quoted[name]) for name, columns in COLUMNS.items()}
    next_numbers = {"orders": 1, "nps_responses": 1, "touchpoints": 1, "support_tickets": 1, "events": 1,
                    "subscriptions": 1}
    next_subscription = 1
    hostile_planted = False
    try:
        for index in range(chunks):
            lo, hi = int(bounds[index]), int(bounds[index + 1])
            last = index == chunks - 1
            chunk = _Chunk(np.random.default_rng(streams[index + 1]), created[lo:hi], lo + 1, thank_you_effect, shape)
            chunk.simulate_orders()
            chunk.simulate_nps()
            if not hostile_planted:
                if last and chunk.r_who.size == 0:
                    chunk.add_answer()
                hostile_planted = chunk.plant_hostile()
            chunk.simulate_touchpoints(PARTNER_OFFER_ROWS if index == 0 else 0)
            service_rng = np.random.default_rng(service_streams[index])
            chunk.simulate_service(service_rng, service_effect)
            chunk.simulate_usage(service_rng, activation_effect)
            chunk.simulate_subscriptions(np.random.default_rng(subscription_streams[index]), appreciation_effect)
            tables = {
                "customers": chunk.customers_table(),
                "orders": chunk.orders_table(next_numbers["orders"]),
                "nps_responses": chunk.nps_table(next_numbers["nps_responses"]),
                "touchpoints": chunk.touchpoints_table(next_numbers["touchpoints"]),
                "support_tickets": chunk.tickets_table(next_numbers["support_tickets"]),
                "events": chunk.events_table(next_numbers["events"]),
                "subscriptions": chunk.subscriptions_table(next_numbers["subscriptions"], next_subscription),
            }
            for name in next_numbers:
                next_numbers[name] += len(tables[name][COLUMNS[name][0]])
            next_subscription += chunk.b_subscriptions
            if last and invalid_rows:
                tables = _invalid_rows(chunk, tables, dict(next_numbers, subscription=next_subscription), customers)
            for name, table in tables.items():
                files[name].write(table)
            del chunk, tables
    finally:
        for file in files.values():
            file.close()
    return {name: file.rows for name, file in files.items()}
