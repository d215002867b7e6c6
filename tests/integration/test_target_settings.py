"""staging.target_settings and staging.target_rates from config/targets.yaml: the unit-economics keys are
validated with the file and key named, the LTV multiplier is an exact fraction, every rate override lands
with its period and grain, and the fiscal calendar macro agrees with the target periods."""

from datetime import date
from fractions import Fraction
from pathlib import Path

import duckdb
import pytest

from assets.core.database import SQL_DIR
from assets.plan.reverse import TargetPlanError, parse_period
from assets.plan.target_settings import lifetime_factor, rate_rows, write_target_settings
from schemas.config import ConfigError, TargetsConfig, load_yaml_model


def load(tmp_path: Path, text: str) -> TargetsConfig:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return load_yaml_model(path, TargetsConfig)


@pytest.mark.parametrize("text, key, message", [
    ("gross_margin: 1.2\n", "gross_margin", "less than or equal to 1"),
    ("gross_margin: 0\n", "gross_margin", "greater than 0"),
    ("customer_lifetime_months: 36\n", "customer_lifetime_months", "needs gross_margin too"),
    ("gross_margin: 0.7\ncustomer_lifetime_months: 36\n", "purchases_per_year", "needed for the LTV"),
    ("gross_margin: 0.7\ncustomer_lifetime_months: 36\ndeal_amount_basis: monthly\npurchases_per_year: 1\n",
     "purchases_per_year", "applies only to deal_amount_basis one_off"),
    ("gross_margin: 0.7\npurchases_per_year: 1\n", "purchases_per_year", "needs customer_lifetime_months"),
    ("deal_amount_basis: yearly\n", "deal_amount_basis", "'one_off', 'monthly' or 'annual'"),
    ("gross_margn: 0.7\n", "gross_margn", "Extra inputs are not permitted"),
])
def test_bad_unit_economics_name_the_file_and_key(tmp_path, text, key, message):
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text)
    assert str(raised.value).startswith(f"{tmp_path / 'targets.yaml'}: key {key}: ")
    assert message in str(raised.value)


@pytest.mark.parametrize("text, factor", [
    ("", None),
    ("gross_margin: 0.7\n", None),  # gross profit and ROMI only
    ("gross_margin: 0.7\ncustomer_lifetime_months: 36\ndeal_amount_basis: monthly\n", Fraction(36)),
    ("gross_margin: 0.7\ncustomer_lifetime_months: 36\ndeal_amount_basis: annual\n", Fraction(3)),
    ("gross_margin: 0.7\ncustomer_lifetime_months: 36\npurchases_per_year: 0.5\n", Fraction(3, 2)),
    ("gross_margin: 0.7\ncustomer_lifetime_months: 35\npurchases_per_year: 1\n", Fraction(35, 12)),
])
def test_lifetime_factor_by_deal_amount_basis(tmp_path, text, factor):
    assert lifetime_factor(load(tmp_path, text)) == factor


def test_settings_hold_exact_fractions(tmp_path):
    targets = load(tmp_path, "fiscal_year_start_month: 1\ngross_margin: 0.7\ncustomer_lifetime_months: 35\n"
                             "purchases_per_year: 1\n")
    with duckdb.connect() as con:
        write_target_settings(con, targets)
        row = con.execute("SELECT fiscal_year_start_month, lookback_months, gross_margin_numerator, "
                          "gross_margin_denominator, lifetime_factor, ltv_multiplier_numerator, "
                          "ltv_multiplier_denominator, deal_amount_basis FROM staging.target_settings").fetchall()
        # 0.7 = 7/10; 0.7 x 35/12 = 245/120 = 49/24
        assert row == [(1, 6, 7, 10, pytest.approx(35 / 12), 49, 24, "one_off")]
    with duckdb.connect() as con:
        write_target_settings(con, TargetsConfig())
        assert con.execute("SELECT fiscal_year_start_month, gross_margin, gross_margin_numerator, "
                           "ltv_multiplier_numerator FROM staging.target_settings").fetchall() == [(4, None, None, None)]
        assert con.execute("SELECT count(*) FROM staging.target_rates").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'staging' "
                           "AND coalesce(comment, '') = ''").fetchone() == (0,)


def test_too_many_digits_for_exact_arithmetic_are_refused():
    with pytest.raises(TargetPlanError, match="key gross_margin: .* too many digits"):
        with duckdb.connect() as con:
            write_target_settings(con, TargetsConfig(gross_margin=0.7000000000000001))


def test_every_rate_override_with_its_period_and_grain():
    targets = TargetsConfig(fiscal_year_start_month=4, targets=[
        {"period": "FY2026", "revenue": 1, "rates": {"win_rate": 0.25, "mql_to_sql_rate": 0.3}},
        {"period": "2026-Q3", "revenue": 1, "rates": {"mql_to_sql_rate": 0.5}},
        {"period": "2026-07", "revenue": 1},
    ])
    assert rate_rows(targets) == [
        ["FY2026", "fiscal_year", 3, date(2026, 4, 1), date(2027, 3, 31), "mql_to_sql_rate", 0.3, "3", "10"],
        ["FY2026", "fiscal_year", 3, date(2026, 4, 1), date(2027, 3, 31), "win_rate", 0.25, "1", "4"],
        ["2026-Q3", "fiscal_quarter", 2, date(2026, 10, 1), date(2026, 12, 31), "mql_to_sql_rate", 0.5, "1", "2"],
    ]
    with pytest.raises(TargetPlanError, match="already targeted"):
        rate_rows(TargetsConfig(targets=[{"period": "2026-07", "revenue": 1}, {"period": "2026-07", "revenue": 2}]))


@pytest.mark.parametrize("start_month", [1, 4, 10])
def test_the_fiscal_calendar_macro_agrees_with_the_target_periods(start_month):
    months = [date(2025 + (m - 1) // 12, (m - 1) % 12 + 1, 1) for m in range(1, 37)]  # 2025-01 .. 2027-12
    with duckdb.connect() as con:
        con.execute((SQL_DIR / "metric_macros.sql").read_text(encoding="utf-8"))
        for month in months:
            rows = con.execute("SELECT grain, period, period_start, period_end FROM fiscal_periods(?, ?) "
                               "ORDER BY grain", [month, start_month]).fetchall()
            assert [g for g, *_ in rows] == ["fiscal_quarter", "fiscal_year"]
            for grain, label, start, end in rows:
                period = parse_period(label, start_month)
                assert (period.grain, period.start, period.end) == (grain, start, end), (month, label)
                assert start <= month <= end


def test_march_and_april_fall_in_different_fiscal_years_from_april():
    with duckdb.connect() as con:
        con.execute((SQL_DIR / "metric_macros.sql").read_text(encoding="utf-8"))

        def labels(d: date) -> list[str]:
            return [p for (p,) in con.execute("SELECT period FROM fiscal_periods(?, 4) ORDER BY grain", [d]).fetchall()]

        assert labels(date(2026, 3, 1)) == ["2025-Q4", "FY2025"]
        assert labels(date(2026, 4, 1)) == ["2026-Q1", "FY2026"]
        assert labels(date(2027, 3, 1)) == ["2026-Q4", "FY2026"]
        assert labels(date(2026, 12, 1)) == ["2026-Q3", "FY2026"]
