"""Spend in a currency other than the reporting one is loaded only where a rate converts it."""

import duckdb

from assets.ingest.table_layout import FileRejected
from schemas.currency import FxRates
from schemas.spec import SourceSpec


def refuse_without_rates(con: duckdb.DuckDBPyConnection, spec: SourceSpec, fx: FxRates) -> None:
    """Money in a currency other than the reporting one needs a rate for its month: without one the file is
    refused, never summed with the reporting currency."""
    if spec.currency_of is None:
        return
    money, currency, when = spec.currency_of
    if currency not in {d[0] for d in con.execute("SELECT * FROM parsed LIMIT 0").description}:
        return
    pairs = con.execute(f"SELECT DISTINCT month_start({when}), {currency} FROM parsed "
                        f"WHERE {currency} IS NOT NULL AND {when} IS NOT NULL").fetchall()
    missing = fx.missing(pairs)
    if missing:
        needed = "; ".join(f"{c} for {', '.join(f'{m:%Y-%m}' for m, c2 in missing if c2 == c)}"
                           for c in dict.fromkeys(c for _, c in missing))
        raise FileRejected(
            f"has {money} in a currency other than {fx.reporting} with no exchange rate: {needed}. Two currencies are "
            f"never added up: add the rates to config/fx_rates.csv (month,currency,rate: how many {fx.reporting} one "
            "unit is worth that month) and the next run loads the file")
