"""What a user must map when their data folder does not hold the exports under our names: `validate` looks at
the files that are there and prints a params file that may read them (a starting point to check, not a
guess taken as fact: it says which column it took for which, and why).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import duckdb

from .exports import CONTRACT, SUFFIXES

# Names tools give our columns (lower case, spaces and underscores removed when compared).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "order_id": ("invoiceno", "invoice", "invoiceid", "invoicenumber", "orderid", "ordernumber", "orderno", "order",
                 "name", "id", "transactionid"),
    "customer_id": ("customerid", "customer", "clientid", "client", "buyerid", "userid", "email", "customeremail",
                    "billingemail"),
    "ordered_at": ("invoicedate", "orderdate", "date", "createdat", "created", "paidat", "transactiondate",
                   "datetime", "timestamp"),
    "amount": ("amount", "total", "ordertotal", "revenue", "amountpaid", "totalprice", "value", "sales"),
    "currency": ("currency", "currencycode"),
    "status": ("status", "financialstatus", "orderstatus", "state"),
}
QUANTITY = ("quantity", "qty", "units", "lineitemquantity")
UNIT_PRICE = ("unitprice", "price", "lineitemprice", "itemprice")


def _plain(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def _candidates(data_dir: Path) -> list[tuple[str, list[Path]]]:
    """Data files and folders of data files directly in the data folder: (path as params would name it, files)."""
    found = []
    for entry in sorted(Path(data_dir).iterdir()):
        if entry.is_file() and entry.name.lower().endswith(SUFFIXES):
            found.append((entry.name, [entry]))
        elif entry.is_dir():
            files = sorted(p for p in entry.iterdir() if p.is_file() and p.name.lower().endswith(SUFFIXES))
            if files:
                found.append((entry.name, files))
    return found


def _header(path: Path) -> tuple[list[str], bool]:
    """The file's columns, and whether its first column repeats within the first rows (one row per line)."""
    reader = ("read_parquet($p)" if path.name.lower().endswith(".parquet")
              else "read_csv($p, all_varchar = true, header = true, quote = '\"', escape = '\"')")
    with duckdb.connect() as con:
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {reader}", {"p": str(path)}).fetchall()]
        first = '"' + columns[0].replace('"', '""') + '"'
        rows, distinct = con.execute(f"SELECT count(*), count(DISTINCT {first}) FROM (SELECT * FROM {reader} LIMIT 2000)",
                                     {"p": str(path)}).fetchone()
    return columns, distinct < rows


def _match(columns: list[str], names: tuple[str, ...]) -> str | None:
    plain = {_plain(c): c for c in columns}
    for name in names:
        if name in plain:
            return plain[name]
    close = difflib.get_close_matches(names[0], list(plain), n=1, cutoff=0.85)
    return plain[close[0]] if close else None


def orders_mapping_hint(data_dir: Path) -> list[str]:
    """Lines telling what the folder holds and a params file that may read its orders; [] when it holds no
    data file at all."""
    lines = []
    best: tuple[int, str, list[Path], list[str], bool] | None = None
    for name, files in _candidates(data_dir):
        try:
            columns, repeats = _header(files[0])
        except duckdb.Error:
            continue
        what = f"{name}/ ({len(files)} files)" if len(files) > 1 or files[0].name != name else name
        lines.append(f"  {what}: columns {', '.join(columns)}")
        score = sum(_match(columns, SYNONYMS[c]) is not None for c in CONTRACT["orders"].columns)
        if best is None or score > best[0]:
            best = (score, name, files, columns, repeats)
    if not lines:
        return []
    out = [f"Found in {data_dir}:"] + lines
    if best is None or best[0] < 2:
        return out + ["Map its columns to ours in a params file: exports: {orders: {path: FILE, columns: "
                      "{order_id: ..., customer_id: ..., ordered_at: ..., amount: ...}}}"]
    _, name, files, columns, repeats = best
    mapping = {ours: _match(columns, SYNONYMS[ours]) for ours in SYNONYMS}
    compute = {}
    quantity, price = _match(columns, QUANTITY), _match(columns, UNIT_PRICE)
    if quantity and price and (mapping["amount"] in (None, price)):
        mapping["amount"] = None
        compute["amount"] = f"{quantity} * {price}"
    out += ["A params file that may read it (check each column; pass it with --params):", "exports:", "  orders:",
            f"    path: {name}"]
    if repeats:
        out.append(f"    grain: line        # {mapping['order_id'] or columns[0]} repeats: one row per line of an order")
    mapped = {ours: theirs for ours, theirs in mapping.items() if theirs and theirs != ours}
    if mapped:
        out.append("    columns: {" + ", ".join(f"{ours}: {theirs}" for ours, theirs in mapped.items()) + "}")
    if compute:
        out.append("    compute: {" + ", ".join(f'{ours}: "{sql}"' for ours, sql in compute.items()) + "}")
    missing = [c for c in CONTRACT["orders"].columns if not mapping.get(c) and c not in compute]
    if missing:
        out.append(f"    # not found, map or compute: {', '.join(missing)}")
    out.append("    # cancellations or refunds: compute status, e.g. status: \"CASE WHEN ... THEN 'cancelled' "
               "ELSE 'completed' END\"")
    return out
