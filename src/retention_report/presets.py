"""Column-mapping presets: read a real tool's export without editing SQL.

Select one per export in params (`exports: {orders: {source: shopify}}`); a free mapping
(`columns: {our_name: their_name}`) given beside it wins over the preset's. Each preset says, for one
export, which of their columns is each of ours (`columns`), which of ours are computed from theirs
(`compute`: a scalar SQL expression over the file's own columns, evaluated on each row as read), how their
values translate to ours (`values`, matched case-insensitively), and whether the file holds one row per line
item (`grain: line`: the lines are grouped into one order per order_id, its amount the sum of its lines'
amounts with blank ones skipped, its ordered_at the earliest line's, every other column the order's first
non-empty value in file order).

Our statuses: `completed` counts as activity and revenue; `refunded` and `cancelled` count as neither (the
cohort page counts them as refunds and cancellations); `pending` is not activity.

What each tool's documentation says, and what the presets take from it:

- `shopify` orders: the Shopify admin's "Export orders" CSV. Shopify's help page "Export orders to a CSV
  file" (help.shopify.com/manual/fulfillment/managing-orders/exporting-orders, section "Order export CSV
  structure") says an order with several line items shows the extra items on separate rows, many fields left
  blank. The column names (Name, Email, Financial Status, Paid at, ..., Currency, Subtotal, Shipping, Taxes,
  Total, ..., Created at, Lineitem quantity, Lineitem name, Lineitem price, ..., Refunded Amount, ...,
  Outstanding Balance, ..., Id, ...) are as listed, in export order, by projects that parse the export
  (trollspank/shopify2woo docs/shopify_columns.txt, jadwro/allegro_csv_parser); docs.xbp.app's "Shopify
  order export format" shows a real export: order-level fields (Financial Status, Currency, the totals,
  Refunded Amount, addresses) on the order's first row only, while Name, Email, Created at and the Lineitem
  columns repeat on every row. Hence `grain: line` with the amount computed from `Total`: summing the lines'
  Totals (blank on all but the first) gives the order's Total. Refunds: `Refunded Amount` (0.00 when none)
  is subtracted, so a partially refunded order counts at what the customer kept paying for; a fully
  refunded order keeps its whole Total, which is what the cohort page reports as refunded. Financial
  statuses (Shopify's OrderDisplayFinancialStatus, shopify.dev/docs/api/admin-graphql: authorized, expired,
  paid, partially_paid, partially_refunded, pending, refunded, voided): paid, partially_paid and
  partially_refunded are purchases; voided and expired ("payment wasn't captured before the deadline") are
  cancelled; pending and authorized are pending. A partially paid order counts at its whole Total (the
  unpaid part is in `Outstanding Balance`, not subtracted). Orders carry the buyer's Email, not a customer
  id: it links to the customer whose `email` (or `customer_id`) it is. Timestamps look like
  `2024-01-05 14:03:11 -0500`.
- `woocommerce` orders: the Customer/Order/Coupon Export extension's "Default CSV format" for orders
  (woocommerce.com/document/ordercustomer-csv-exporter; GoDaddy's "About Customer/Order/Coupon Export's
  export formats" lists it beside "Default CSV format - One row per line item", the XML and the CSV Import
  formats). The default is one row per order, so no grain. Its column keys, which the developer
  documentation (woocommerce.com/document/ordercustomer-csv-export-developer-documentation) says never
  change, are those of the plugin's generator (order_id, order_number, order_date, status, shipping_total,
  ..., order_total, refunded_total, order_currency, payment_method, shipping_method, customer_id,
  billing_first_name, billing_last_name, billing_company, billing_email, ...; as listed by
  CapWebSolutions/natureslawn cws-woocommerce-custom-export.php). `customer_id` is the WordPress user and 0
  for a guest checkout, so the customer is the billing e-mail, which links to the customer whose e-mail it
  is. order_total is the order's total and refunded_total what was refunded of it (both in the order's
  currency): the amount subtracts the refund, except on a fully refunded order (see Shopify above).
  Statuses (WooCommerce's OrderStatus, woocommerce.github.io/code-reference): processing means "payment has
  been received (paid)" and the order awaits fulfilment, a purchase, so completed like `completed`;
  pending ("no payment has been made"), on-hold ("awaiting payment confirmation") and checkout-draft are
  pending; failed ("payment failed or was declined, and no payment has been successfully made") is
  cancelled, as Shopify's expired; cancelled and refunded are ours.
- `stripe` orders: the Stripe Dashboard's invoices CSV (`id`, `Customer`, `Date (UTC)`, `Amount Paid`,
  `Currency`, `Status`), amounts in the currency's main unit; `stripe` customers: the customers CSV (`id`,
  `Email`, `Name`, `Phone`, `Created (UTC)`). Stripe's own documentation does not list these columns:
  "Manage invoices" (stripe.com/docs/invoicing/dashboard/manage-invoices) says only that invoices export
  as CSV from the Invoices page, and Stripe support's export pages say the export dialog asks for a time
  zone, a date range and the columns. The one published column list found is third-party: Cello's guide
  (docs.cello.so/guides/attribution/stripe-reports) names the customers export's `ID` and `Created (UTC)`
  (and the payments export's `Created (UTC)`, `Amount`, `Currency`, `Customer ID`), which agrees with the
  names here (matched case-insensitively). Nothing found confirms `Date (UTC)` or `Amount Paid` for
  invoices; they are kept as the invoice export writes them in our fixture, and a column named after
  another time zone, e.g. `Created (Europe/London)`, is mapped with `columns`. Invoice statuses are
  Stripe's (draft, open, paid, uncollectible, void).
- `survey` nps_responses: a generic survey tool's NPS export (`Response ID`, `Date`, `Score`, `Comment`,
  `Email`); the Email links the answer to a customer, and an answer without one is anonymous.

Subscriptions (subscriptions): one row per stretch of a subscription at one price. Stripe's statuses (incomplete,
incomplete_expired, trialing, active, past_due, canceled, unpaid, paused: the API's Subscription object,
docs.stripe.com/api/subscriptions/object, as the generated clients quote it, e.g. async-stripe's
SubscriptionStatus) are kept as written, in lower case. Stripe's times are UTC: a time without an offset is
marked so (`Z`); 10-digit Unix seconds (the API's form) are read as they are.

- `stripe` subscriptions: the Dashboard's subscriptions CSV (Billing > Subscriptions > Export). It holds each
  subscription as it stands when exported, one row per subscription, so a plan changed before the export shows
  only at its new price, from the subscription's start: `history_note("stripe")` gives the sentence the
  subscriptions page shows ("expansions and contractions before the export cannot be seen"). Stripe's own pages
  found do not list the export's columns (the export dialog lets one choose them, see `stripe` orders above);
  the names are as third-party parsers of the export read them (their repositories are not named by the index
  they were found in, so they are unconfirmed): id, Customer ID, Customer Name, Customer Email, Status, Plan,
  Quantity, Currency, Interval, Amount, Created (UTC), Start (UTC) or Start Date (UTC), Current Period Start
  (UTC), Current Period End (UTC), Trial Start (UTC), Trial End (UTC), Canceled At (UTC), Ended At (UTC),
  Cancellation Reason, `<key> (metadata)`. Two of those parsers say Amount is in the currency's main unit
  ("33.00"), unlike the API's cents, so it is read as it is; that it is per unit (times Quantity) is
  unconfirmed, and so is whether the export has an interval count (without one a price billed every 3 months is
  read as monthly; map a column with `columns: {interval_count: ...}`). Taken: id as the subscription and its
  stretch (one per subscription), `Start Date (UTC)` as valid_from (the API's start_date, "Date when the
  subscription was first created. The date might differ from the created date due to backdating"; an older
  export writes `Start (UTC)`, which the missing-column error then names: map it with `columns`), `Ended At
  (UTC)` as valid_to; a subscription cancelled but not yet ended (Canceled At given, status not canceled) ends
  with its paid period, `Current Period End (UTC)` (the API: with cancel_at_period_end, canceled_at "will still
  reflect the date of the initial cancellation request, not the end of the subscription period"), which is
  when it is scheduled to end unless it was cancelled to end at another date (`cancel_at`, not read). `Canceled
  At (UTC)` is cancelled_at, `Trial End (UTC)` trial_end, Plan (a price id) the plan, `Cancellation Reason` the
  cancel reason (what the export writes there, e.g. the API's cancellation_details feedback such as
  too_expensive, is unconfirmed). `Cancel At Period End` is not read (not found in any parser). The export must
  include the columns the computed ones read: Start Date (UTC), Ended At (UTC), Canceled At (UTC), Current
  Period End (UTC), Trial End (UTC), Status.
- `stripe_invoice_lines` subscriptions: Stripe's invoice line items, one row per line, from which the history is
  rebuilt: each line of a subscription covers one billing period, and consecutive periods abut (a period's end
  is the next one's start), which the marts read as a running subscription; a gap reads as a churn and a
  return. The API's Invoice Line Item object (docs.stripe.com/api/invoice-line-item/object) gives id, amount
  ("The amount, in cents"), currency ("in lowercase"), invoice, period (start and end as Unix timestamps; the
  generated clients quote "The end of the period ... This value is inclusive", yet one period's end is the next
  one's start, so it is read as the exclusive end), quantity, the price, proration and subscription; it names no
  customer. The flat export read is a Stripe Sigma query's result, which "can be downloaded in CSV format"
  (stripe.com/docs/sigma), joining the invoice for the customer (Sigma's billing tables: "the primary tables
  being subscriptions and invoices", stripe.com/docs/sigma/billing):
  `select invoice_line_items.id, invoice_line_items.invoice_id, invoices.customer_id,
  invoice_line_items.subscription, invoice_line_items.amount, invoice_line_items.currency,
  invoice_line_items.period_start, invoice_line_items.period_end, invoice_line_items.price_id,
  invoice_line_items.quantity, invoice_line_items.proration from invoice_line_items join invoices on
  invoices.id = invoice_line_items.invoice_id where invoice_line_items.subscription is not null`.
  The table's column names (id, invoice_id, subscription, subscription_item_id, amount, currency, quantity,
  period_start, period_end, plan_id, price_id, proration, source_type) are as dagster-io/dagster-open-platform
  dbt/models/staging/stripe/stg_stripe__invoice_line_items.sql reads them from Stripe's data pipeline (Sigma's
  schema), and `invoices.customer_id` as Sigma queries found join it (their repositories are not named by the index); that the CSV's headers are the
  selected names without the table, and how it writes times and booleans, are unconfirmed (times are read as
  ISO text or Unix seconds; proration as true/t/1). Taken: id as the stretch (period_id), subscription,
  customer_id, currency, price_id as the plan, period_start and period_end as valid_from and valid_to; amount
  from cents to the main unit (whole units for Stripe's zero-decimal currencies, ZERO_DECIMAL_CURRENCIES, as
  stripe.com/docs/currencies lists them; unconfirmed here), and it is the line's amount for its whole quantity,
  so quantity is 1 (before discounts: a line's amount excludes them, which is unconfirmed for Sigma). The
  interval is the period's length (`epoch`): 1 day, 7 days a week, 28-31 days a month, 89-92 days 3 months,
  181-184 days 6 months, 365-366 days a year; any other length is set aside as not an interval. A 0.00 line is
  taken as a trial (Stripe bills a trial as a 0.00 line for its period; that no other 0.00 line occurs is
  unconfirmed): mrr 0 and trial_end its end. Prorations: the presets cannot drop a row (the export settings
  have no row filter), and setting them aside would count them as problems, so a proration line is kept as a
  stretch with mrr 0, which changes no month's MRR (the marts count only stretches paying above 0) and is not a
  billing period; the change it prorates shows from the next period, at the new price (an upgrade on the 20th
  counts from the next renewal). Better still, leave them out in the query (`and not
  invoice_line_items.proration`). A running subscription's last period ends in the future, when its next line
  is not yet in the export. No status, cancellation time or reason: none is on a line.

Help desks (support_tickets). Our ticket statuses: `open` (the customer waits on us), `pending` (we wait on
the customer), `solved`; a status a preset does not name stays as the tool writes it, in lower case, and so
does a channel (ours: email, chat, phone, web). A ticket counts as resolved only while its status is solved:
Zendesk keeps a reopened ticket's last solve (its `Solved at` is "the final or most recent change to solved
status"), so the resolution minutes are taken only from solved tickets, and Intercom's only from closed
conversations. Resolution is given as
minutes after `created_at`, not as a time: minutes are numbers in any locale, while a second time column of
the file would not be read with the export's `date_format`.

- `zendesk` support_tickets: Zendesk Support's CSV export (Admin Center > Account > Tools > Reports >
  Export > CSV export). Zendesk's help page "Exporting ticket, user, or organization data from your account"
  (support.zendesk.com/hc/en-us/articles/4408886165402, section "CSV export") lists its columns: ID,
  Requester, Requester ID, Requester external id, Requester email, Requester domain, Submitter, Assignee,
  Group, Subject, Tags, Status, Priority, Via, Ticket type, Created at, Updated at, Assigned at, Organization,
  Due date, Initially assigned at, Solved at, Resolution time (hours), Satisfaction Score ("Not Offered,
  Offered, Good or Bad"), Group stations, Assignee stations, Reopens ("changed from Solved to Open"),
  Replies, First reply time in minutes ("between ticket creation time and ... the first public agent
  comment"), First resolution time in minutes, Full resolution time in minutes ("... the final or most recent
  change of status to Solved"), the agent, requester and on-hold wait times, each also "within business
  hours"; custom drop-down fields follow as `<name> [list]` (seen in third-party copies of the export, e.g.
  `Ticket Category [list]`, which also begin with a `Summation column`). The CSV export "does not include
  deleted tickets, ticket comments, or ticket descriptions", so the comment is the `Subject`; and "all date
  and time values are converted to the account's default time zone": the page shows no format, so whether
  the times carry an offset is unconfirmed (set the report's `timezone` to the Zendesk account's if they do
  not). Taken: `Id` (matched case-insensitively, so `ID` too), the requester's e-mail as the customer (linked
  to the customer whose e-mail it is; Zendesk's own Requester ID names no customer of ours, and `Requester
  external id`, set only with single sign-on, can be mapped with `columns` instead), the calendar-time
  first reply and full resolution minutes (the response target counts calendar hours), Reopens, and `Ticket
  type` as the category: Zendesk's one-valued ticket type (question, incident, problem, task), rather than
  the first of `Tags` ("the tags added to the ticket at time of export", several, in no documented order;
  a topic field of the account's own is mapped with `columns: {category: "Contact reason [list]"}`). Statuses are
  Zendesk's (new, open, pending, hold, solved, closed; hold is internal, "the requester sees the status as
  Open", as GitLab's support handbook quotes Zendesk): new, open and hold are open, closed (a solved ticket
  locked) is solved; "Not Offered" (the API's `unoffered`) is `unoffered`. Via: the labels and names of
  Zendesk's via types (as listed by nukosuke/go-zendesk zendesk/via_types.go after Zendesk's trigger
  reference): Web form, Email/Mail, Chat, Web Widget, Help Center post, Voicemail, Phone call (incoming or
  outbound); which of the two spellings the CSV writes is unconfirmed, so both are mapped, and the rest
  (Web service (API), Closed ticket, Twitter, ...) stay as written. Not read: the full JSON export (NDJSON,
  times in UTC; this project reads CSV and Parquet) and Explore or view CSVs, whose columns are the report's
  own (map those with `columns`).
- `intercom` support_tickets: Intercom's CSV export of the Conversations dataset from its reports.
  Intercom's "Reporting metrics & attributes" (intercom.com/help/en/articles/7022438) describes the dataset
  ("the conversation ID, its current state, the communication channel used, and the assignee"; its metrics
  are dated by "Conversation started at"), and "Reporting metrics for REST API and CSV exports" (article
  6762778) says "all durations are in seconds". The Intercom pages found do not list the CSV's column names;
  they are as third-party parsers of the export list them (their repositories are not named by the index
  they were found in, so they are unconfirmed): Conversation ID, Conversation started at
  (America/New_York), Conversation created at (...), Conversation first replied at (...), Conversation last
  closed at (...), Channel, Conversation tag, Current conversation state, Last teammate rating, Title,
  Topics, User ID, User email, First response time (seconds), Time to close (seconds), Time to first close
  (seconds), ...; one of them strips the parenthesised time zone from each date header. So the date headers
  carry the workspace's time zone, and the preset names the UTC one, `Conversation started at (UTC)`,
  itself unconfirmed: another zone is mapped with `columns: {created_at: "Conversation started at
  (Europe/London)"}` and the report's `timezone` set to it. No other time is read: first response and
  resolution are Intercom's seconds made minutes (`compute`), resolution only for a closed conversation;
  that `Time to close` is to the last close (the API's `time_to_last_close`, "Duration until conversation
  was closed last time", developers.intercom.com "conversation_statistics") is unconfirmed; the plain
  columns are taken, not their ", within office hours" twins (the response target counts calendar hours).
  The customer is the `User email` (`User ID` may be Intercom's own); the category is the first of the
  conversation's tags, the text before the first comma (the separator of several tags is unconfirmed, and
  so is whether a conversation with several tags is one row; `Topics` is mapped with `columns` instead);
  satisfaction is the `Last teammate rating`, 1-5 like the API's `conversation_rating.rating` ("1-5 scale",
  maxjackson-lab/intercom-gamma-analyzer INTERCOM_SCHEMA_ANALYSIS.md); the comment is the `Title` (the
  dataset holds no message text). Reopens are left empty: the API's `statistics.count_reopens` was not found
  among the export's columns. States are the API's open, closed, snoozed (snoozed is pending); channels are
  mapped from the API's source types ("conversation, email, facebook, instagram, phone_call, phone_switch,
  push, sms, twitter and whatsapp", developers.intercom.com "conversation source") and from plain Chat,
  Email, Phone (what the export's Channel column writes is unconfirmed).
  The export must include the columns the computed ones read: First response time (seconds), Time to close
  (seconds), Current conversation state, Conversation tag. Not read as they are: the Reporting Data Export
  API's files (developers.intercom.com "Reporting Data Export": `dataset_id` "conversation", attributes
  such as "standard.conversation_id", "timestamp.conversation_started_at"), whose headers are attribute ids
  (conversation_id, conversation_started_at, channel, last_teammate_rating, conversation_tag_ids, as
  XSajolx/CEx-Insights scripts/intercom-sync/download-actions-dataset.js reads them from the conversation
  actions dataset): map those with `columns`.

Product analytics (events). Both tools store times in UTC: a time without an offset is read as UTC (a `Z` is
added), one with an offset as its offset says. Neither gives a duration per event, so duration_seconds is
left empty (a flat duration column of an export is mapped with `columns`).

- `posthog` events: PostHog's events as its S3 batch export or file download export writes them (Parquet
  or JSON lines; posthog.com/docs/data-pipelines/batch-exports/s3 "Events model": uuid, event, distinct_id,
  person_id, properties as JSON text, person_properties, ...), or a CSV of the same columns, e.g. from the
  SQL editor (`SELECT uuid, event, distinct_id, timestamp FROM events`; that such a CSV's headers are the
  selected names is unconfirmed; PostHog/posthog pull request 59418 says its events table's "export all"
  exports the event properties as extra columns, which are not read). PostHog's
  events docs (posthog.com/docs/data/events): a `distinct_id` is "a unique identifier for person", the
  `timestamp` "ISO 8601 ... like 2024-05-22T17:09:29.220Z"; its data model keeps timestamps as
  DateTime64(6, 'UTC'). Taken: uuid as the event id, the distinct_id as the customer (after `identify` it is
  the id the shop gave, or an e-mail address, which links to that customer; before it, an anonymous id that
  names no customer and is set aside as unknown), the event name as written. person_id is PostHog's own
  person UUID and names no customer. Duration: none per event. PostHog's SDKs add a `$session_id` property
  to each event and group events into sessions by it (posthog.com/manual/sessions); how long a session
  lasted belongs to the session, not to any event column, so it is not read.
- `amplitude` events: Amplitude's Export API (amplitude.com/docs/apis/analytics/export: "The Export API
  lets you export your project's event data", and it "returns events timestamped in UTC") writes JSON, a
  ZIP archive of gzipped JSON lines as third-party guides describe it (skills.sh okou-ai/vm0-skills
  amplitude); the preset reads them flattened to CSV or Parquet with the export's top-level names, e.g. by
  DuckDB: `COPY (SELECT * FROM read_json_auto('export/*.json.gz')) TO 'events.parquet'`. The names
  (user_id, device_id, event_type, event_time, uuid, $insert_id, session_id, event_id, amplitude_id,
  event_properties, ...) are those of Amplitude's event schema as the Fivetran Amplitude connector lists
  them (fivetran.com/docs/connectors/applications/amplitude/connector-schema; it writes `_insert_id`).
  Taken: `uuid` as the event id (nothing found says `event_id` is unique on its own, and Fivetran keys an
  event by device_id, id and server_upload_time together; `$insert_id` is the sender's key for dropping
  resent events, amplitude.com/build/send-events-server-side, and may be absent), `user_id` ("a readable
  ID specified by you", Amplitude's HTTP V2 API; an event with only a device_id has no customer and is set
  aside) and `event_type` as written. `session_id` names a session; it is no duration.
"""

from __future__ import annotations

from typing import Any


def _utc_moment(column: str) -> str:
    """A time column as text, marked UTC (`Z`) when it carries no offset of its own; NULL when blank. Cast to
    text first: a Parquet export gives the column typed (TIMESTAMP or TIMESTAMPTZ), a CSV as text."""
    text = f'trim(CAST("{column}" AS VARCHAR))'
    return (f"CASE WHEN {text} = '' THEN NULL "
            f"WHEN regexp_matches({text}, '([Zz]|[+-][0-9][0-9](:?[0-9][0-9])?)$') THEN {text} "
            f"ELSE {text} || 'Z' END")


def _utc(column: str) -> str:
    """A time column of Stripe's, all UTC, as text marked UTC (`Z`) unless it carries an offset already or is
    10-digit Unix seconds (the API's form); NULL when blank. Shorter than _utc_moment, so that a computed
    column can use it twice within the 1000 characters an expression may have."""
    text = f'trim(CAST("{column}" AS VARCHAR))'
    return (f"nullif({text}, '') || CASE WHEN regexp_matches({text}, "
            f"'(^[0-9]{{10}}|[Zz]|[+-][0-9][0-9](:?[0-9][0-9])?)$') THEN '' ELSE 'Z' END")


def _seconds(column: str) -> str:
    """A time column as seconds since 1970: Unix seconds as they are, an ISO time through epoch()."""
    text = f'trim(CAST("{column}" AS VARCHAR))'
    return f"coalesce(TRY_CAST({text} AS DOUBLE), epoch(TRY_CAST({text} AS TIMESTAMP)))"


# A Stripe invoice line's billing period in whole days, and the interval (and count) a period that long is.
_PERIOD_DAYS = f"round(({_seconds('period_end')} - {_seconds('period_start')}) / 86400)"
_MONTH_DAYS = (28, 29, 30, 31)
_QUARTER_DAYS = (89, 90, 91, 92)
_HALF_YEAR_DAYS = (181, 182, 183, 184)
_LINE_INTERVAL = (f"CASE {_PERIOD_DAYS} WHEN 1 THEN 'day' WHEN 7 THEN 'week' "
                  + " ".join(f"WHEN {d} THEN 'month'" for d in _MONTH_DAYS + _QUARTER_DAYS + _HALF_YEAR_DAYS)
                  + " WHEN 365 THEN 'year' WHEN 366 THEN 'year' END")
_LINE_INTERVAL_COUNT = (f"CASE {_PERIOD_DAYS} "
                        + " ".join(f"WHEN {d} THEN 3" for d in _QUARTER_DAYS) + " "
                        + " ".join(f"WHEN {d} THEN 6" for d in _HALF_YEAR_DAYS) + " END")
_PRORATION = "lower(trim(CAST(proration AS VARCHAR))) IN ('true', 't', '1')"
# Stripe's zero-decimal currencies: their amounts are whole units already (stripe.com/docs/currencies).
ZERO_DECIMAL_CURRENCIES = ("bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                           "vuv", "xaf", "xof", "xpf")
_LINE_AMOUNT = (f"CASE WHEN {_PRORATION} THEN NULL "
                f"WHEN lower(trim(currency)) IN ({', '.join(repr(c) for c in ZERO_DECIMAL_CURRENCIES)}) "
                f"THEN round(amount, 0) ELSE round(amount / 100, 2) END")
_ENDED, _CANCELED = "Ended At (UTC)", "Canceled At (UTC)"
# The Dashboard's subscriptions CSV: ended, else (cancelled but not yet ended) the end of the paid period.
_SUBSCRIPTION_END = (f"CASE WHEN nullif(trim(\"{_ENDED}\"), '') IS NOT NULL THEN {_utc(_ENDED)} "
                     f"WHEN nullif(trim(\"{_CANCELED}\"), '') IS NOT NULL "
                     f"AND lower(trim(\"Status\")) NOT IN ('canceled', 'incomplete_expired') "
                     f"THEN {_utc('Current Period End (UTC)')} END")


PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "shopify": {
        "orders": {
            "grain": "line",
            "columns": {"order_id": "Name", "customer_id": "Email", "ordered_at": "Created at",
                        "currency": "Currency", "status": "Financial Status"},
            # Per line: the order's Total less its refund on its first line, blank (skipped) on the others.
            "compute": {"amount": 'CASE WHEN lower("Financial Status") = \'refunded\' THEN "Total" + 0 '
                                  'ELSE "Total" - "Refunded Amount" END'},
            "values": {"status": {"paid": "completed", "partially_paid": "completed",
                                  "partially_refunded": "completed", "refunded": "refunded",
                                  "voided": "cancelled", "expired": "cancelled", "pending": "pending",
                                  "authorized": "pending"}},
        },
    },
    "woocommerce": {
        "orders": {
            "columns": {"order_id": "order_id", "customer_id": "billing_email", "ordered_at": "order_date",
                        "currency": "order_currency", "status": "status"},
            "compute": {"amount": "CASE WHEN lower(status) = 'refunded' THEN order_total + 0 "
                                  "ELSE order_total - refunded_total END"},
            "values": {"status": {"completed": "completed", "processing": "completed", "pending": "pending",
                                  "on-hold": "pending", "checkout-draft": "pending", "failed": "cancelled",
                                  "cancelled": "cancelled", "refunded": "refunded"}},
        },
    },
    "stripe": {
        "orders": {
            "columns": {"order_id": "id", "customer_id": "Customer", "ordered_at": "Date (UTC)",
                        "amount": "Amount Paid", "currency": "Currency", "status": "Status"},
            "values": {"status": {"paid": "completed", "void": "cancelled", "uncollectible": "cancelled",
                                  "open": "pending", "draft": "pending"}},
        },
        "customers": {
            "columns": {"customer_id": "id", "created_at": "Created (UTC)", "email": "Email", "name": "Name",
                        "phone": "Phone"},
        },
        # The Dashboard's subscriptions CSV: one row per subscription, as it stands when exported.
        "subscriptions": {
            "columns": {"period_id": "id", "subscription_id": "id", "customer_id": "Customer ID", "status": "Status",
                        "plan": "Plan", "quantity": "Quantity", "currency": "Currency", "interval": "Interval",
                        "amount": "Amount", "cancel_reason": "Cancellation Reason"},
            "compute": {"valid_from": _utc("Start Date (UTC)"), "valid_to": _SUBSCRIPTION_END,
                        "trial_end": _utc("Trial End (UTC)"), "cancelled_at": _utc(_CANCELED)},
        },
    },
    # Stripe's invoice line items (Sigma's invoice_line_items with the invoice's customer): one row per line.
    "stripe_invoice_lines": {
        "subscriptions": {
            "columns": {"period_id": "id", "subscription_id": "subscription", "customer_id": "customer_id",
                        "currency": "currency", "plan": "price_id"},
            "compute": {"valid_from": _utc("period_start"), "valid_to": _utc("period_end"),
                        "amount": _LINE_AMOUNT, "interval": _LINE_INTERVAL, "interval_count": _LINE_INTERVAL_COUNT,
                        # a line's amount is for its whole quantity already: not multiplied again
                        "quantity": "1",
                        # a proration or a 0.00 (trial) line: a stretch that changes no month's MRR
                        "mrr": f"CASE WHEN {_PRORATION} OR amount = 0 THEN 0 END",
                        "trial_end": f"CASE WHEN amount = 0 AND NOT {_PRORATION} THEN {_utc('period_end')} END"},
        },
    },
    "survey": {
        "nps_responses": {
            "columns": {"response_id": "Response ID", "customer_id": "Email", "responded_at": "Date",
                        "score": "Score", "comment": "Comment"},
        },
    },
    "zendesk": {
        "support_tickets": {
            "columns": {"ticket_id": "Id", "customer_id": "Requester email", "created_at": "Created at",
                        "first_response_minutes": "First reply time in minutes", "status": "Status",
                        "channel": "Via", "category": "Ticket type", "satisfaction": "Satisfaction Score",
                        "reopens": "Reopens", "comment": "Subject"},
            # A reopened ticket keeps its last solve's minutes: resolved only while solved (or closed).
            "compute": {"resolution_minutes": "CASE WHEN lower(trim(Status)) IN ('solved', 'closed') "
                                              "THEN \"Full resolution time in minutes\" END"},
            "values": {
                "status": {"new": "open", "open": "open", "hold": "open", "on-hold": "open",
                           "pending": "pending", "solved": "solved", "closed": "solved"},
                "satisfaction": {"good": "good", "bad": "bad", "offered": "offered",
                                 "not offered": "unoffered", "unoffered": "unoffered"},
                # Zendesk's via types, by label and by name (which one the CSV writes is unconfirmed).
                "channel": {"email": "email", "mail": "email", "web form": "web", "web_form": "web",
                            "web widget": "web", "web_widget": "web", "help center post": "web",
                            "helpcenter": "web", "chat": "chat", "voicemail": "phone",
                            "phone call (incoming)": "phone", "phone_call_inbound": "phone",
                            "phone call (outbound)": "phone", "phone_call_outbound": "phone"},
            },
        },
    },
    "intercom": {
        "support_tickets": {
            "columns": {"ticket_id": "Conversation ID", "customer_id": "User email",
                        "created_at": "Conversation started at (UTC)", "status": "Current conversation state",
                        "channel": "Channel", "satisfaction": "Last teammate rating", "comment": "Title"},
            "compute": {
                "first_response_minutes": '"First response time (seconds)" / 60',
                "resolution_minutes": "CASE WHEN lower(trim(\"Current conversation state\")) = 'closed' "
                                      "THEN \"Time to close (seconds)\" / 60 END",
                # The first tag: the text before the first comma.
                "category": "nullif(trim(regexp_replace(\"Conversation tag\", ',.*$', '')), '')",
            },
            "values": {
                "status": {"open": "open", "snoozed": "pending", "closed": "solved"},
                "channel": {"chat": "chat", "conversation": "chat", "email": "email", "phone": "phone",
                            "phone_call": "phone", "phone_switch": "phone"},
            },
        },
    },
    "posthog": {
        "events": {
            "columns": {"event_id": "uuid", "customer_id": "distinct_id", "event": "event"},
            "compute": {"occurred_at": _utc_moment("timestamp")},
        },
    },
    "amplitude": {
        "events": {
            "columns": {"event_id": "uuid", "customer_id": "user_id", "event": "event_type"},
            "compute": {"occurred_at": _utc_moment("event_time")},
        },
    },
}


class PresetError(ValueError):
    """An unknown preset, or one that has no mapping for the export it was selected for."""


def maps(export: str) -> list[str]:
    """The presets that have a mapping for `export`, by name."""
    return sorted(source for source, by_export in PRESETS.items() if export in by_export)


def preset_for(source: str | None, export: str) -> dict[str, Any]:
    """The preset mapping of `source` for one export; {} when no source is selected."""
    if source in (None, ""):
        return {}
    for_export = ", ".join(maps(export)) or "none"
    if not isinstance(source, str) or source.lower() not in PRESETS:
        known = ", ".join(f"{name} ({', '.join(sorted(by_export))})" for name, by_export in sorted(PRESETS.items()))
        raise PresetError(f"exports.{export}.source {source!r} is not a known preset; presets for {export}: "
                          f"{for_export}; known presets: {known}.")
    by_export = PRESETS[source.lower()]
    if export not in by_export:
        exports = ", ".join(sorted(by_export))
        raise PresetError(f"exports.{export}.source {source!r} has no mapping for {export}; it maps: {exports}. "
                          f"Presets for {export}: {for_export}.")
    return by_export[export]


# Presets whose export holds each subscription as it stands when exported, not its history.
CURRENT_STATE_ONLY = frozenset({"stripe"})
HISTORY_NOTE = ("Stripe's subscriptions export holds each subscription as it stands today: expansions and "
                "contractions before the export cannot be seen.")


def history_note(source: str | None) -> str | None:
    """The sentence the subscriptions page shows when its export's preset holds the current state only (Stripe's
    subscriptions CSV: a plan changed before the export shows only at its new price, from the subscription's
    start); None for a preset or a mapping that gives the history (e.g. `stripe_invoice_lines`)."""
    if isinstance(source, str) and source.lower() in CURRENT_STATE_ONLY and "subscriptions" in PRESETS[source.lower()]:
        return HISTORY_NOTE
    return None
