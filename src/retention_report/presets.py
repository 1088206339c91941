"""Column-mapping presets: read a real tool's export without editing SQL.

Select one per export in params (`exports: {orders: {source: shopify}}`); a free mapping
(`columns: {our_name: their_name}`) given beside it wins over the preset's. Each preset says, for one
export, which of their columns is each of ours (`columns`), how their values translate to ours (`values`,
matched case-insensitively), and whether their file holds several rows per record (`group_by`: the rows
after the first of a record are folded into it, counted in `_group_rows`).

The column names follow each tool's public export documentation:

- `shopify` orders: the Shopify admin's "Export orders" CSV, one row per line item; order-level fields
  (Financial Status, Total, Created at) are filled on the first row of each order only. Orders carry the
  buyer's Email, not a customer id: it links to the customer whose `email` (or `customer_id`) it is.
  Timestamps look like `2024-01-05 14:03:11 -0500`.
- `stripe` orders: the Stripe Dashboard's invoices CSV (`id`, `Customer`, `Date (UTC)`, `Amount Paid`,
  `Currency`, `Status`); amounts in the currency's main unit. `stripe` customers: the customers CSV
  (`id`, `Email`, `Name`, `Phone`, `Created (UTC)`).
- `survey` nps_responses: a generic survey tool's NPS export (`Response ID`, `Date`, `Score`, `Comment`,
  `Email`); the Email links the answer to a customer, and an answer without one is anonymous.
"""

from __future__ import annotations

from typing import Any

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "shopify": {
        "orders": {
            "columns": {"order_id": "Name", "customer_id": "Email", "ordered_at": "Created at",
                        "amount": "Total", "currency": "Currency", "status": "Financial Status"},
            "values": {"status": {"paid": "completed", "partially_paid": "completed",
                                  "partially_refunded": "completed", "refunded": "refunded",
                                  "voided": "cancelled", "pending": "pending", "authorized": "pending",
                                  "expired": "cancelled"}},
            "group_by": "order_id",
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
