"""Two currencies are never added up: spend in a currency other than the reporting one (JPY) is converted
at its month's rate of config/fx_rates.csv, and a spend file with a currency and month that has no rate
is refused naming both. Ad impressions and clicks reach channel_funnel and channel_roi.

The fixture, worked out by hand (rates: JPY per unit):

    date        channel   cost     currency  impressions  clicks    rate       cost in JPY
    2026-07-03  Google    100.00   USD       10,000       200       150.25      15,025.00
    2026-07-04  Google     33.33   usd        5,000       100       150.25       5,007.83  (5,007.8325)
    2026-08-05  Google     33.33   USD        4,000        50       151.5        5,049.50  (5,049.495, half up)
    2026-07-10  Google  1,000      JPY        1,000        10       1            1,000.00
    2026-07     Webinar 50,000     (none)         -         -       1           50,000.00

The raw channel "Google Ads" maps to Paid Search (channels.yaml).
July Paid Search: cost 15,025.00 + 5,007.83 + 1,000.00 = 21,032.83; impressions 16,000; clicks 310;
CTR 310 / 16,000 = 0.019375; cpc 21,032.83 / 310 = 67.8478... -> 67.85; cpm 21,032.83 x 1000 / 16,000
= 1,314.551875 -> 1,314.55. August Paid Search: 5,049.50; 4,000; 50; cpc 100.99; cpm 1,262.375 -> 1,262.38.
"""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from assets.core import settings
from schemas.config import ConfigError
from schemas.currency import load_fx_rates
from tests.conftest import CONFIG_DIR, query, refused_text, run_funnel_job, write_export

SPEND = """
    date,channel,campaign,cost,currency,impressions,clicks
    2026-07-03,Google Ads,brand,100.00,USD,"10,000",200
    2026-07-04,Google Ads,generic,33.33,usd,5000,100
    2026-08-05,Google Ads,brand,33.33,USD,4000,50
    2026-07-10,Google Ads,jp,1000,JPY,1000,10
    2026-07,Webinar,,50000,,,
    """
RATES = "month,currency,rate\n2026-07,USD,150.25\n2026-08,USD,151.5\n2026-08,EUR,160\n"
LEADS = "lead_id,created_at,lead_source\nL1,2026-07-03 10:00,Webinar\nL2,2026-07-05 10:00,google / cpc\n"


def config_with(root: Path, rates: str | None) -> Path:
    config = root / "config"
    shutil.copytree(CONFIG_DIR, config)
    if rates is not None:
        (config / "fx_rates.csv").write_text(rates, encoding="utf-8")
    return config


def inbox_of(root: Path) -> Path:
    inbox = root / "inbox"
    write_export(inbox, "spend", "spend_2026-08.csv", SPEND)
    write_export(inbox, "leads", "leads.csv", LEADS)
    return inbox


def test_spend_in_dollars_is_converted_at_the_months_rate(tmp_path):
    wh = tmp_path / "wh" / "funnel.duckdb"
    result = run_funnel_job(inbox_of(tmp_path), wh, config_with(tmp_path, RATES))
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    rows = query(wh, "SELECT period_start::VARCHAR, channel, spend, impressions, clicks, round(impression_to_click_rate, 6), cpc, cpm "
                     "FROM marts.channel_roi WHERE spend > 0 ORDER BY 1, 2")
    assert rows == [
        ("2026-07-01", "Paid Search", Decimal("21032.83"), 16000, 310, 0.019375, Decimal("67.85"), Decimal("1314.55")),
        ("2026-07-01", "Webinar", Decimal("50000.00"), 0, 0, None, None, None),
        ("2026-08-01", "Paid Search", Decimal("5049.50"), 4000, 50, 0.0125, Decimal("100.99"), Decimal("1262.38")),
    ]
    assert query(wh, "SELECT impressions, clicks, round(impression_to_click_rate, 6) FROM marts.channel_funnel "
                     "WHERE channel = 'Paid Search' ORDER BY period_start") == [(16000, 310, 0.019375),
                                                                                (4000, 50, 0.0125)]
    # staging keeps what was exported beside what is counted
    assert query(settings.working_database_path(wh), "SELECT currency, cost_in_currency, fx_rate, cost FROM staging.spend "
                 "WHERE date = '2026-07-04'") == [("USD", Decimal("33.33"), Decimal("150.250000"), Decimal("5007.83"))]


def test_a_spend_file_in_dollars_without_a_rate_is_refused_naming_the_currency_and_months(tmp_path):
    wh = tmp_path / "wh" / "funnel.duckdb"
    result = run_funnel_job(inbox_of(tmp_path), wh, config_with(tmp_path, "month,currency,rate\n2026-07,USD,150\n"))
    assert "USD for 2026-08" in refused_text(result)  # spend is held back, the run goes on
    work = settings.working_database_path(wh)
    [(status, message)] = query(work, "SELECT status, message FROM ops.load_log WHERE source = 'spend'")
    assert status == "rejected"
    assert "USD for 2026-08" in message and "USD for 2026-07" not in message and "config/fx_rates.csv" in message
    assert query(work, "SELECT count(*) FROM raw.spend") == [(0,)]


def test_a_rate_removed_after_the_load_leaves_its_rows_out_with_the_reason(tmp_path):
    inbox, wh = inbox_of(tmp_path), tmp_path / "wh" / "funnel.duckdb"
    config = config_with(tmp_path, RATES)
    assert run_funnel_job(inbox, wh, config).success
    (config / "fx_rates.csv").write_text("month,currency,rate\n2026-07,USD,150.25\n", encoding="utf-8")
    result = run_funnel_job(inbox, wh, config)
    assert result.success
    work = settings.working_database_path(wh)
    assert query(work, "SELECT date::VARCHAR, cost_in_currency, not_counted_because FROM staging.spend_not_counted") == [
        ("2026-08-05", Decimal("33.33"), "no exchange rate for USD in 2026-08: add it to config/fx_rates.csv")]
    # nothing of August is counted: no spend (no row, or a row of 0)
    assert query(wh, "SELECT coalesce(sum(spend), 0) FROM marts.channel_roi WHERE period_start = '2026-08-01'") == [
        (Decimal("0.00"),)]
    [check] = [e for e in result.get_asset_check_evaluations() if e.check_name == "spend_counted_once"]
    assert not check.passed


@pytest.mark.parametrize("text, problem", [
    ("month,currency,rate\n2026-13,USD,150\n", "line 2, column month: '2026-13' is not a month written YYYY-MM"),
    ("month,currency,rate\n2026-07,US,150\n", "line 2, column currency: 'US' is not a three-letter currency code"),
    ("month,currency,rate\n2026-07,USD,-1\n", "line 2, column rate: '-1' must be a positive number"),
    ("month,currency,rate\n2026-07,USD,\"1,234\"\n", "line 2, column rate: '1,234' is not a number"),
    ("month,currency,rate\n2026-07,JPY,1\n", "line 2, column currency: JPY is the reporting currency"),
    ("month,currency,rate\n2026-07,USD,150\n2026-07,usd,151\n", "line 3: USD for 2026-07 is given twice"),
    ("month,rate\n2026-07,150\n", "needs the header month,currency,rate"),
    ("month,currency,rate\n2026-07,USD\n", "line 2: has 2 cells, the header 3"),
])
def test_a_wrong_rate_table_names_the_file_line_and_column(tmp_path, text, problem):
    (tmp_path / "fx_rates.csv").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_fx_rates(tmp_path, "JPY")
    assert str(err.value).startswith(str(tmp_path / "fx_rates.csv")) and problem in str(err.value)
