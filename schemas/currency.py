"""The reporting currency (`reporting_currency` of config/sources.yaml, default JPY) and the monthly
exchange rates of config/fx_rates.csv that convert spend in another currency into it. Two currencies
are never added up: a spend row in a currency without a rate for its month is refused at load."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from schemas.config_csv import config_csv_rows
from schemas.errors import ConfigError

CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
FX_FILE = "fx_rates.csv"
FX_COLUMNS = ("month", "currency", "rate")
MAX_RATE_DIGITS = 12  # DECIMAL(18,6): 12 digits before the point


def currency_code(value: str | None) -> str | None:
    """A currency as exported (` usd `, `JPY`) in the form compared: trimmed, upper case; empty is None."""
    if value is None or not value.strip():
        return None
    return value.strip().upper()


@dataclass(frozen=True)
class FxRates:
    reporting: str = "JPY"
    # (first day of the month, currency) -> how many units of the reporting currency one unit is worth
    rates: dict[tuple[date, str], Decimal] = field(default_factory=dict)

    def missing(self, pairs: Iterable[tuple[date, str | None]]) -> list[tuple[date, str]]:
        """The (month, currency) of `pairs` that need a rate and have none, in order."""
        found = {(month, currency_code(c)) for month, c in pairs}
        return sorted((m, c) for m, c in found if c is not None and c != self.reporting and (m, c) not in self.rates)


def _month(text: str) -> date:
    match = re.fullmatch(r"\s*(\d{4})-(\d{1,2})\s*", text or "")
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{text!r} is not a month written YYYY-MM")
    return date(int(match[1]), int(match[2]), 1)


def _rate(text: str) -> Decimal:
    try:
        rate = Decimal((text or "").strip())
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a number (write it with a point, no thousands marks: 150.25)") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError(f"{text!r} must be a positive number")
    if rate.adjusted() >= MAX_RATE_DIGITS or rate.as_tuple().exponent < -6:
        raise ValueError(f"{text!r} has more than 12 digits before the point or 6 after it")
    return rate


def load_fx_rates(config_dir: str | Path | None, reporting: str) -> FxRates:
    """`<config>/fx_rates.csv` (optional: month,currency,rate, one row per month and currency); a wrong
    value raises ConfigError naming the file, the line and the column."""
    path = Path(config_dir) / FX_FILE if config_dir else None
    if path is None or not path.is_file():
        return FxRates(reporting)
    rates: dict[tuple[date, str], Decimal] = {}
    for where, row in config_csv_rows(path, FX_COLUMNS):
        column = "month"
        try:
            month = _month(row["month"])
            column = "currency"
            currency = currency_code(row["currency"])
            if currency is None or not CURRENCY_CODE.match(currency):
                raise ValueError(f"{row['currency']!r} is not a three-letter currency code (USD, EUR)")
            if currency == reporting:
                raise ValueError(f"{currency} is the reporting currency: it needs no rate")
            column = "rate"
            rate = _rate(row["rate"])
        except ValueError as exc:
            raise ConfigError(f"{where}, column {column}: {exc}") from None
        if (month, currency) in rates:
            raise ConfigError(f"{where}: {currency} for {month:%Y-%m} is given twice")
        rates[(month, currency)] = rate
    return FxRates(reporting, rates)
