"""Every mart on a tiny inbox whose answers were worked out by hand.

The fixture (dates are local Asia/Tokyo):

leads snapshot 1 (older file)            leads snapshot 2 (newer file; L1 absent: kept)
  L1 2026-07-03 Webinar   mql 07-05        L3 now SQL: sql_at 2026-09-05, updated 09-05 12:00
  L2 2026-07-04 展示会     sql 07-20 (no mql date -> MQL at 07-20)
  L3 2026-07-05 (no source, utm google/cpc -> Paid Search)
  L4 2026-08-01 Webinar   mql 08-02, sql 08-03
  L5 2026-08-10 Webinar   lifecycle MQL, no dates, updated 08-15 (-> MQL seen 08-15)
  L6 2026-08-11 Webinar   score 120 >= 100 (-> MQL at creation, 08-11)
  L7 2026-09-01 社長の知り合い (no rule -> Other, listed in ops.unmapped_values)
deals
  D1 2026-07-25 Closed Won  L2              ¥1,500,000  close 08-30
  D2 2026-08-05 Closed Lost L4              2,000,000   close 09-10
  D3 2026-08-06 受注        (Partner)        1000000     close 09-15
  D4 2026-08-07 Negotiation (no source)     500000      open -> Unattributed
  D5 2026-07-10 Closed Won  L1              3,000,000   close 09-20 (L1 becomes SQL at 07-10)
ga4: 07-01 google/cpc 100, google/organic 200; 08-01 (direct)/(none) 50; 08-02 site/referral 30
spend: 2026-07 Webinar 300,000; 07-15 Google Ads 100,000; 2026-08 Webinar 200,000; 2026-09 セミナー 500,000
"""

from datetime import date
from decimal import Decimal

import pytest

from tests.conftest import query, run_funnel_job, write_export

T0 = 1_790_000_000  # an mtime; snapshot 2 is one day later


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    root = tmp_path_factory.mktemp("metrics")
    inbox = root / "inbox"
    write_export(inbox, "leads", "leads_1.csv", """
        lead_id,created_at,lead_source,utm_source,utm_medium,lifecycle_stage,lead_score,mql_at,sql_at,updated_at,email
        L1,2026-07-03 10:00,Webinar,,,marketingqualifiedlead,,2026-07-05,,,a@example.com
        L2,2026-07-04 10:00,展示会,,,salesqualifiedlead,,,2026-07-20,,b@example.com
        L3,2026-07-05 10:00,,google,cpc,lead,,,,,c@example.com
        L4,2026-08-01 10:00,Webinar,,,salesqualifiedlead,,2026-08-02,2026-08-03,,d@example.com
        L5,2026-08-10 10:00,ウェビナー,,,marketingqualifiedlead,,,,2026-08-15,e@example.com
        L6,2026-08-11 10:00,ＷＥＢＩＮＡＲ,,,lead,120,,,,f@example.com
        L7,2026-09-01 10:00,社長の知り合い,,,lead,,,,,g@example.com
        """, mtime=T0)
    write_export(inbox, "leads", "leads_2.csv", """
        lead_id,created_at,lead_source,utm_source,utm_medium,lifecycle_stage,lead_score,mql_at,sql_at,updated_at
        L2,2026-07-04 10:00,展示会,,,salesqualifiedlead,,,2026-07-20,
        L3,2026-07-05 10:00,,google,cpc,salesqualifiedlead,,,2026-09-05,2026-09-05 12:00
        L4,2026-08-01 10:00,Webinar,,,salesqualifiedlead,,2026-08-02,2026-08-03,
        L5,2026-08-10 10:00,ウェビナー,,,marketingqualifiedlead,,,,2026-08-15
        L6,2026-08-11 10:00,ＷＥＢＩＮＡＲ,,,lead,120,,,
        L7,2026-09-01 10:00,社長の知り合い,,,lead,,,,
        """, mtime=T0 + 86400)
    write_export(inbox, "deals", "deals.csv", """
        deal_id,created_at,stage,lead_id,deal_source,amount,close_date
        D1,2026-07-25 10:00,Closed Won,L2,,"¥1,500,000",2026-08-30
        D2,2026-08-05,Closed Lost,L4,,"2,000,000",2026-09-10
        D3,2026-08-06,受注,,Partner,1000000,2026/09/15
        D4,2026-08-07,Negotiation,,,500000,
        D5,2026-07-10,Closed Won,L1,,"3,000,000円",2026-09-20
        """)
    write_export(inbox, "ga4_sessions", "ga4.csv", """
        date,session_source,session_medium,session_default_channel_group,sessions
        2026-07-01,google,cpc,,100
        2026-07-01,google,organic,,200
        2026-08-01,(direct),(none),,50
        2026-08-02,webinar-platform.example,referral,Referral,30
        """)
    write_export(inbox, "spend", "spend.csv", """
        date,channel,cost
        2026-07,Webinar,"300,000"
        2026-07-15,Google Ads,100000
        2026-08,Webinar,¥200000
        2026-09,セミナー,500000
        """)
    wh = root / "warehouse" / "funnel.duckdb"
    result = run_funnel_job(inbox, wh)
    assert result.success
    return wh


def funnel_row(wh, period, channel):
    return query(wh, "SELECT sessions, leads, mqls, sqls, opportunities, wins, revenue FROM marts.channel_funnel "
                     "WHERE period_start = ? AND channel = ?", [period, channel])[0]


@pytest.mark.parametrize("period, channel, expected", [
    (date(2026, 7, 1), "Webinar", (0, 1, 1, 1, 1, 0, Decimal("0"))),
    (date(2026, 8, 1), "Webinar", (0, 3, 3, 1, 1, 0, Decimal("0"))),
    (date(2026, 9, 1), "Webinar", (0, 0, 0, 0, 0, 1, Decimal("3000000"))),
    (date(2026, 7, 1), "Event", (0, 1, 1, 1, 1, 0, Decimal("0"))),
    (date(2026, 8, 1), "Event", (0, 0, 0, 0, 0, 1, Decimal("1500000"))),
    (date(2026, 7, 1), "Paid Search", (100, 1, 0, 0, 0, 0, Decimal("0"))),
    (date(2026, 9, 1), "Paid Search", (0, 0, 1, 1, 0, 0, Decimal("0"))),
    (date(2026, 7, 1), "Organic Search", (200, 0, 0, 0, 0, 0, Decimal("0"))),
    (date(2026, 8, 1), "Direct", (50, 0, 0, 0, 0, 0, Decimal("0"))),
    (date(2026, 8, 1), "Referral", (30, 0, 0, 0, 0, 0, Decimal("0"))),
    (date(2026, 8, 1), "Partner", (0, 0, 0, 0, 1, 0, Decimal("0"))),
    (date(2026, 9, 1), "Partner", (0, 0, 0, 0, 0, 1, Decimal("1000000"))),
    (date(2026, 8, 1), "Unattributed", (0, 0, 0, 0, 1, 0, Decimal("0"))),
    (date(2026, 9, 1), "Other", (0, 1, 0, 0, 0, 0, Decimal("0"))),
])
def test_channel_funnel_counts_each_stage_in_the_month_it_happened(warehouse, period, channel, expected):
    assert funnel_row(warehouse, period, channel) == expected


def test_channel_funnel_is_dense_over_months_and_channels_with_data(warehouse):
    periods = query(warehouse, "SELECT DISTINCT period_start FROM marts.channel_funnel ORDER BY 1")
    assert [p for (p,) in periods] == [date(2026, 7, 1), date(2026, 8, 1), date(2026, 9, 1)]
    channels = {c for (c,) in query(warehouse, "SELECT DISTINCT channel FROM marts.channel_funnel")}
    assert channels == {"Webinar", "Event", "Paid Search", "Organic Search", "Direct", "Referral", "Partner",
                        "Unattributed", "Other"}
    assert query(warehouse, "SELECT count(*) FROM marts.channel_funnel") == [(27,)]


def test_channel_funnel_period_rates(warehouse):
    rows = query(warehouse, "SELECT session_to_lead_rate, lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, "
                            "opportunity_to_win_rate FROM marts.channel_funnel WHERE period_start = ? AND channel = ?",
                 [date(2026, 7, 1), "Paid Search"])
    assert rows == [(0.01, 0.0, None, None, None)]
    rows = query(warehouse, "SELECT lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, opportunity_to_win_rate "
                            "FROM marts.channel_funnel WHERE period_start = ? AND channel = ?",
                 [date(2026, 8, 1), "Webinar"])
    assert rows == [(1.0, pytest.approx(1 / 3), 1.0, 0.0)]


def test_channel_roi_matches_the_contract_examples(warehouse):
    # September Webinar: spend 500,000, revenue 3,000,000, one win: ROAS 6.0, ROI 5.0, CAC 500,000.
    sep = query(warehouse, "SELECT spend, wins, revenue, cac, roas, roi, cpa FROM marts.channel_roi "
                           "WHERE period_start = DATE '2026-09-01' AND channel = 'Webinar'")
    assert sep == [(Decimal("500000.00"), 1, Decimal("3000000.00"), Decimal("500000.00"), 6.0, 5.0, None)]
    # August Webinar: 200,000 over 3 leads = 66,666.67 exactly rounded; no wins -> CAC NULL; ROI -1.
    aug = query(warehouse, "SELECT spend, cpa, cost_per_mql, cost_per_opportunity, cac, roas, roi FROM marts.channel_roi "
                           "WHERE period_start = DATE '2026-08-01' AND channel = 'Webinar'")
    assert aug == [(Decimal("200000.00"), Decimal("66666.67"), Decimal("66666.67"), Decimal("200000.00"), None, 0.0, -1.0)]
    jul = query(warehouse, "SELECT spend, cpa FROM marts.channel_roi WHERE period_start = DATE '2026-07-01' "
                           "AND channel = 'Paid Search'")
    assert jul == [(Decimal("100000.00"), Decimal("100000.00"))]
    # A channel without spend has NULL ratios, never a division by zero.
    event = query(warehouse, "SELECT spend, cpa, roas, roi FROM marts.channel_roi WHERE period_start = DATE '2026-08-01' "
                             "AND channel = 'Event'")
    assert event == [(Decimal("0.00"), None, None, None)]
    assert query(warehouse, "SELECT sum(spend) FROM marts.channel_roi") == [(Decimal("1100000.00"),)]


def test_deal_to_win_by_close_month(warehouse):
    rows = query(warehouse, "SELECT period_start, channel, wins, losses, win_rate, revenue, avg_deal_size, "
                            "round(median_days_opportunity_to_win, 4) FROM marts.deal_to_win ORDER BY 1, 2")
    assert rows == [
        (date(2026, 8, 1), "Event", 1, 0, 1.0, Decimal("1500000.00"), Decimal("1500000.00"), round(35 + 14 / 24, 4)),  # 07-25 10:00 -> 08-30
        (date(2026, 9, 1), "Partner", 1, 0, 1.0, Decimal("1000000.00"), Decimal("1000000.00"), 40.0),
        (date(2026, 9, 1), "Webinar", 1, 1, 0.5, Decimal("3000000.00"), Decimal("3000000.00"), 72.0),
    ]


def test_lead_cohort_funnel_follows_each_cohort_to_the_end(warehouse):
    rows = query(warehouse, "SELECT cohort_start, channel, leads, reached_mql, reached_sql, reached_opportunity, reached_win, "
                            "revenue FROM marts.lead_cohort_funnel ORDER BY 1, 2")
    assert rows == [
        (date(2026, 7, 1), "Event", 1, 1, 1, 1, 1, Decimal("1500000.00")),
        (date(2026, 7, 1), "Paid Search", 1, 1, 1, 0, 0, Decimal("0.00")),
        (date(2026, 7, 1), "Webinar", 1, 1, 1, 1, 1, Decimal("3000000.00")),
        (date(2026, 8, 1), "Webinar", 3, 3, 1, 1, 0, Decimal("0.00")),
        (date(2026, 9, 1), "Other", 1, 0, 0, 0, 0, Decimal("0.00")),
    ]
    rates = query(warehouse, "SELECT lead_to_mql_rate, mql_to_sql_rate, sql_to_opportunity_rate, opportunity_to_win_rate, "
                             "lead_to_win_rate FROM marts.lead_cohort_funnel WHERE cohort_start = DATE '2026-08-01'")
    assert rates == [(1.0, pytest.approx(1 / 3), 1.0, 0.0, 0.0)]


def test_mql_to_sql_counts_mqls_of_the_month_that_ever_became_sql(warehouse):
    rows = query(warehouse, "SELECT period_start, channel, mqls, reached_sql, mql_to_sql_rate, median_days_mql_to_sql "
                            "FROM marts.mql_to_sql ORDER BY 1, 2")
    assert rows == [
        (date(2026, 7, 1), "Event", 1, 1, 1.0, 0.0),  # SQL without MQL date: MQL at its SQL date
        (date(2026, 7, 1), "Webinar", 1, 1, 1.0, 5.0),  # MQL 07-05, SQL at its deal 07-10
        (date(2026, 8, 1), "Webinar", 3, 1, pytest.approx(1 / 3), 1.0),
        (date(2026, 9, 1), "Paid Search", 1, 1, 1.0, 0.0),  # seen as SQL in snapshot 2
    ]


def test_stage_velocity_per_transition(warehouse):
    rows = query(warehouse, "SELECT transition, n, median_days, p75_days FROM marts.stage_velocity "
                            "WHERE channel = 'Webinar' ORDER BY transition")
    by = {t: (n, m, p) for t, n, m, p in rows}
    assert by["opportunity_to_win"] == (1, 72.0, 72.0)
    assert by["sql_to_opportunity"][0] == 2  # L1 (0 days) and L4 (08-03 -> 08-05, 2 days)
    assert by["sql_to_opportunity"][1] == 1.0
    assert by["lead_to_win"] == (1, pytest.approx(78 + 14 / 24), pytest.approx(78 + 14 / 24))
    assert by["lead_to_mql"][0] == 4


def test_unmapped_values_are_kept_in_other_and_listed(warehouse):
    assert query(warehouse, "SELECT kind, raw_value, mapped_to, records FROM ops.unmapped_values") == [
        ("lead_source", "社長の知り合い", "Other", 1)]


def test_every_table_and_column_of_the_marts_has_a_comment(warehouse):
    tables = query(warehouse, "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'")
    assert {t for t, _ in tables} == {"channel_funnel", "lead_cohort_funnel", "mql_to_sql", "deal_to_win",
                                      "channel_roi", "stage_velocity", "bottlenecks", "cohort_roi",
                                      "pipeline_velocity", "target_plan", "stage_history",
                                      "attributed_revenue", "content_influence", "video_performance", "video_funnel",
                                      *(f"{m}_fiscal" for m in ("channel_funnel", "lead_cohort_funnel", "mql_to_sql",
                                                                "deal_to_win", "channel_roi", "cohort_roi",
                                                                "attributed_revenue"))}
    assert all(c for _, c in tables)
    missing = query(warehouse, "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'marts' "
                               "AND (comment IS NULL OR comment = '')")
    assert missing == []


def test_published_file_holds_no_email_addresses(warehouse):
    for schema, table, column in query(warehouse, "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                                                  "WHERE data_type = 'VARCHAR' AND schema_name IN ('marts', 'ops')"):
        hits = query(warehouse, f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}" LIKE \'%@%\'')
        assert hits == [(0,)], (schema, table, column)
