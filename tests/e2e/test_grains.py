"""One cost counted once across grains (CONTRACT section 7, Grains): spend given for a month and by
day for the same channel and campaign counts the days; the month row is kept in
staging.spend_not_counted with its reason and a warning lists it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import dagster as dg

from assets.core.settings import working_database_path
from tests.conftest import query, run_funnel_job, write_export


def test_month_and_daily_spend_of_one_campaign_count_once(tmp_inbox, tmp_path):
    write_export(tmp_inbox, "spend", "spend_sheet_2026-08-01.csv", """
        date,channel,campaign,cost
        2026-06,Paid Search,Brand,300000
        2026-06,Paid Search,Generic,50000
        2026-06,Webinar,,100000
        2026-07,Paid Search,,200000
        """)
    write_export(tmp_inbox, "spend", "google_ads_daily_2026-08-01.csv", """
        date,channel,campaign,cost
        2026-06-01,Paid Search,Brand,10000
        2026-06-02,Paid Search,Brand,10000
        2026-06-03,Paid Search,Brand,10000
        2026-07-01,Paid Search,Brand,7000
        2026-07-02,Paid Search,Generic,8000
        """)
    write_export(tmp_inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-06-01,Webinar\n")
    warehouse = tmp_path / "wh" / "funnel.duckdb"
    result = run_funnel_job(tmp_inbox, warehouse)
    assert result.success

    # by hand: June = Brand by day 30,000 (the 300,000 month row not counted) + Generic's month 50,000;
    # July = the days 7,000 + 8,000 (the channel's month row of 200,000, with no campaign, covers them)
    assert query(warehouse, "SELECT period_start, channel, spend FROM marts.channel_roi WHERE spend > 0 ORDER BY 1, 2") == [
        (dt.date(2026, 6, 1), "Paid Search", Decimal("80000.00")),
        (dt.date(2026, 6, 1), "Webinar", Decimal("100000.00")),
        (dt.date(2026, 7, 1), "Paid Search", Decimal("15000.00"))]
    not_counted = query(working_database_path(warehouse),
                        "SELECT date, campaign, cost, not_counted_because FROM staging.spend_not_counted ORDER BY 1")
    assert [row[:3] for row in not_counted] == [(dt.date(2026, 6, 1), "Brand", Decimal("300000.00")),
                                               (dt.date(2026, 7, 1), None, Decimal("200000.00"))]
    assert all("day rows of the same channel and campaign" in row[3] for row in not_counted)
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "spend_counted_once"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["rows"].value == 2
