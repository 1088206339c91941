"""The currency amounts are reported in: the params that convert several into one, and what the pages read.

Orders in one currency are reported in it. Orders in several stop the build (sql/marts/_00_reporting_currency.sql
names them) unless `reporting_currency` and `fx_rates` (units of the reporting currency per unit of each other
currency) say how to convert them; the conversion runs before every other mart, so every figure is in one
currency. Orders that give no currency are taken to be in the reporting currency.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import duckdb

_CODE = re.compile(r"[A-Za-z]{3}")
# What DuckDB puts before the text of `error(...)`: a SQL model that stops the build says why after it.
_STOPPED = "Invalid Input Error: "
MODEL = "_00_reporting_currency.sql"


class CurrencyError(ValueError):
    """Params that cannot say how to convert, or orders the params do not cover: one line, naming them."""


def check_currency_params(params: dict[str, Any]) -> None:
    """`reporting_currency`: empty or a three-letter code; `fx_rates`: empty or {code: rate > 0}."""
    reporting = params.get("reporting_currency")
    if reporting is not None and not (isinstance(reporting, str) and _CODE.fullmatch(reporting.strip())):
        raise CurrencyError(f"params: reporting_currency must be a three-letter currency code such as EUR "
                            f"(or empty), not {reporting!r}.")
    rates = params.get("fx_rates")
    if rates is None:
        return
    if not isinstance(rates, dict):
        raise CurrencyError(f"params: fx_rates must map currency codes to rates, e.g. {{GBP: 1.17, USD: 0.92}}, "
                            f"not {rates!r}.")
    if rates and reporting is None:
        raise CurrencyError("params: fx_rates needs reporting_currency, the currency its rates convert into.")
    for code, rate in rates.items():
        if not (isinstance(code, str) and _CODE.fullmatch(code.strip())):
            raise CurrencyError(f"params: fx_rates: {code!r} is not a three-letter currency code.")
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise CurrencyError(f"params: fx_rates: the rate of {code} must be a number above 0 (units of "
                                f"{reporting} per {code.strip().upper()}), not {rate!r}.")


def fx_rates(params: dict[str, Any]) -> dict[str, float]:
    """The rates of params, by upper-case code (after `check_currency_params`)."""
    return {code.strip().upper(): float(rate) for code, rate in (params.get("fx_rates") or {}).items()}


def reporting_code(params: dict[str, Any]) -> str | None:
    reporting = params.get("reporting_currency")
    return reporting.strip().upper() if reporting else None


def stopped_by_model(exc: BaseException) -> str | None:
    """Why the reporting-currency model stopped the build (its `error('...')`: the currencies it cannot convert),
    else None. Other models' failures keep naming their file and statement."""
    cause = exc.__cause__
    if (isinstance(cause, duckdb.InvalidInputException) and str(cause).startswith(_STOPPED)
            and str(exc).split(": ", 1)[0].endswith(MODEL)):
        return str(cause)[len(_STOPPED):].splitlines()[0]
    return None


def reporting_currency(warehouse: str | Path) -> str | None:
    """The currency every amount of the warehouse is in (the `reporting_currency` mart); None when not given."""
    from .warehouse import read_query  # (warehouse.py imports this module)

    row = read_query(warehouse, "SELECT currency FROM reporting_currency").fetchone()
    return row[0] if row else None
