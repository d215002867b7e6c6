"""config/targets.yaml -> staging: what the SQL marts need of it, written with parameters.

- staging.target_settings (one row): the fiscal year start (the fiscal roll-ups) and the unit
  economics of marts.cohort_roi (gross margin, customer lifetime, what a deal amount is), with
  the multipliers the SQL applies as exact fractions (numerator / denominator, HUGEINT).
- staging.target_rates: every rate override of every target period, with the period's first and
  last day and grain (marts.bottlenecks takes its reference rate from here).

Values from the configuration reach SQL only as bound parameters; table and column names are
the constants below.
"""

from fractions import Fraction

import dagster as dg
import duckdb

from assets.core.database import table_metadata, transaction, write_table
from assets.plan.reverse import TargetPlanError, target_periods, to_decimal
from assets.core import settings
from assets.core.resource import FunnelResource
from schemas.config import TargetsConfig

# A target period's grain -> its specificity: the most specific covering a month wins.
SPECIFICITY = {"month": 1, "fiscal_quarter": 2, "fiscal_year": 3}
# Numerators and denominators stay below this, so that money (at most 10^18 cents) times one fits
# a HUGEINT (about 1.7 x 10^38) with room to spare.
MAX_TERM = 10 ** 15

SETTINGS_COLUMNS: list[tuple[str, str, str]] = [
    ("fiscal_year_start_month", "INTEGER",
     "targets.yaml fiscal_year_start_month (1..12, default 4 = April): FY2026 starts on the 1st of this month of 2026."),
    ("lookback_months", "INTEGER", "targets.yaml lookback_months (default 6)."),
    ("gross_margin", "DOUBLE", "targets.yaml gross_margin, a fraction in (0, 1]; NULL when not configured."),
    ("gross_margin_numerator", "HUGEINT", "gross_margin as an exact fraction: its numerator; NULL when not configured."),
    ("gross_margin_denominator", "HUGEINT", "gross_margin as an exact fraction: its denominator."),
    ("customer_lifetime_months", "DOUBLE",
     "targets.yaml customer_lifetime_months: how long a won customer is expected to stay; NULL when not configured."),
    ("deal_amount_basis", "VARCHAR",
     "targets.yaml deal_amount_basis: one_off (default: a deal amount is a contract value paid once), monthly "
     "(paid every month the customer stays) or annual (paid every year)."),
    ("purchases_per_year", "DOUBLE",
     "targets.yaml purchases_per_year (one_off only): purchases of the average deal size a customer makes a year."),
    ("lifetime_factor", "DOUBLE",
     "How many times a customer pays the average revenue per customer over its lifetime: monthly "
     "customer_lifetime_months; annual customer_lifetime_months / 12; one_off purchases_per_year x "
     "customer_lifetime_months / 12. NULL when LTV is not configured."),
    ("ltv_multiplier_numerator", "HUGEINT",
     "gross_margin x lifetime_factor as an exact fraction: its numerator (LTV = revenue per customer x this); "
     "NULL when LTV is not configured."),
    ("ltv_multiplier_denominator", "HUGEINT", "gross_margin x lifetime_factor as an exact fraction: its denominator."),
]

RATES_COLUMNS: list[tuple[str, str, str]] = [
    ("period", "VARCHAR", "Target period as written in targets.yaml (FY2026, 2026-Q3, 2026-07)."),
    ("grain", "VARCHAR", "month, fiscal_quarter or fiscal_year."),
    ("specificity", "INTEGER", "1 month, 2 fiscal_quarter, 3 fiscal_year: where targets overlap, the lowest wins."),
    ("period_start", "DATE", "First day of the period."),
    ("period_end", "DATE", "Last day of the period, inclusive."),
    ("rate_name", "VARCHAR", "The rate override (targets.yaml rates key): win_rate, sql_to_opportunity_rate, "
     "mql_to_sql_rate, lead_to_mql_rate, session_to_lead_rate, ctr."),
    ("rate", "DOUBLE", "The override as written."),
    ("rate_numerator", "HUGEINT", "The override as an exact fraction: its numerator."),
    ("rate_denominator", "HUGEINT", "The override as an exact fraction: its denominator."),
]

SETTINGS_COMMENT = ("The settings of config/targets.yaml the SQL marts read: fiscal year start, lookback and the unit "
                    "economics of marts.cohort_roi. One row.")
RATES_COMMENT = ("Every rate override of every target period of config/targets.yaml: one row per period and rate.")


def _fraction(value: object, where: str) -> Fraction:
    exact = Fraction(to_decimal(value))
    if max(abs(exact.numerator), exact.denominator) >= MAX_TERM:
        raise TargetPlanError(f"{where}: {value!r} has too many digits for exact arithmetic (at most 15)")
    return exact


def lifetime_factor(targets: TargetsConfig) -> Fraction | None:
    """How many times a won customer pays the average revenue per customer over its lifetime, or None
    when no LTV is configured (schemas.config has checked which keys go together)."""
    if targets.customer_lifetime_months is None:
        return None
    months = _fraction(targets.customer_lifetime_months, "targets.yaml: key customer_lifetime_months")
    if targets.deal_amount_basis == "monthly":
        return months
    if targets.deal_amount_basis == "annual":
        return months / 12
    return _fraction(targets.purchases_per_year, "targets.yaml: key purchases_per_year") * months / 12


def settings_row(targets: TargetsConfig) -> list:
    """The one row of staging.target_settings, in SETTINGS_COLUMNS order (HUGEINTs as text)."""
    margin = None if targets.gross_margin is None else _fraction(targets.gross_margin, "targets.yaml: key gross_margin")
    factor = lifetime_factor(targets)
    multiplier = None if margin is None or factor is None else margin * factor
    if multiplier is not None and max(multiplier.numerator, multiplier.denominator) >= MAX_TERM:
        raise TargetPlanError("targets.yaml: keys gross_margin, customer_lifetime_months, purchases_per_year: "
                              "too many digits together for exact arithmetic; round them")

    def terms(f: Fraction | None) -> list[str | None]:
        return [None, None] if f is None else [str(f.numerator), str(f.denominator)]

    return [targets.fiscal_year_start_month, targets.lookback_months,
            None if margin is None else float(margin), *terms(margin),
            targets.customer_lifetime_months, targets.deal_amount_basis, targets.purchases_per_year,
            None if factor is None else float(factor), *terms(multiplier)]


def rate_rows(targets: TargetsConfig) -> list[list]:
    """Rows of staging.target_rates, in RATES_COLUMNS order (HUGEINTs as text)."""
    rows = []
    for where, target, period in target_periods(targets):
        for name, value in sorted(target.rates.items()):
            rate = _fraction(value, f"{where}: key rates.{name}")
            rows.append([period.label, period.grain, SPECIFICITY[period.grain], period.start, period.end, name,
                         float(rate), str(rate.numerator), str(rate.denominator)])
    return rows


def write_target_settings(con: duckdb.DuckDBPyConnection, targets: TargetsConfig) -> None:
    """(Re)create staging.target_settings and staging.target_rates, in one transaction."""
    settings_values, rates = settings_row(targets), rate_rows(targets)  # validate before writing
    with transaction(con):
        con.execute("CREATE SCHEMA IF NOT EXISTS staging")
        write_table(con, "staging.target_settings", SETTINGS_COMMENT, SETTINGS_COLUMNS, [settings_values])
        write_table(con, "staging.target_rates", RATES_COMMENT, RATES_COLUMNS, rates)


@dg.asset(
    key=["staging", "target_settings"],
    group_name="staging",
    kinds={"duckdb", "python"},
    owners=settings.owners(),
    description="The settings of config/targets.yaml the SQL marts read: fiscal year start (fiscal roll-ups), "
    "gross margin and customer lifetime (cohort LTV, gross profit, ROMI). Also writes staging.target_rates: the "
    "rate overrides of every target period (the reference rates of marts.bottlenecks).\n\n"
    "Python: `assets/plan/target_settings.py`",
)
def target_settings_asset(funnel: FunnelResource) -> dg.MaterializeResult:
    targets = funnel.load_config().targets
    with funnel.connect() as con:
        write_target_settings(con, targets)
        rates = con.execute("SELECT count(*) FROM staging.target_rates").fetchone()[0]
        return dg.MaterializeResult(metadata={**table_metadata(con, "staging", "target_settings"),
                                              "target_rate_overrides": rates})


TARGET_SETTINGS_ASSETS = [target_settings_asset]
# What the asset writes: a SQL model reading either depends on it.
WRITES = ("staging.target_settings", "staging.target_rates")
