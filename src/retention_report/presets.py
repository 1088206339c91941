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
"""

from __future__ import annotations

from typing import Any

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
    },
    "survey": {
        "nps_responses": {
            "columns": {"response_id": "Response ID", "customer_id": "Email", "responded_at": "Date",
                        "score": "Score", "comment": "Comment"},
        },
    },
}


class PresetError(ValueError):
    """An unknown preset, or one that has no mapping for the export it was selected for."""


def preset_for(source: str | None, export: str) -> dict[str, Any]:
    """The preset mapping of `source` for one export; {} when no source is selected."""
    if source in (None, ""):
        return {}
    if not isinstance(source, str) or source.lower() not in PRESETS:
        known = ", ".join(sorted(PRESETS))
        raise PresetError(f"exports.{export}.source {source!r} is not a known preset; known presets: {known}.")
    by_export = PRESETS[source.lower()]
    if export not in by_export:
        exports = ", ".join(sorted(by_export))
        raise PresetError(f"exports.{export}.source {source!r} has no mapping for {export}; it maps: {exports}.")
    return by_export[export]
