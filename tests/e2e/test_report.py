"""The funnel report (issue 6, item 2): values worked out by hand on tiny marts, every value
escaped, Japanese or English from config/report.yaml, a real run writes the file and links it
in its metadata, and headless Chromium renders its charts with no console error. The headline
(what each user sees first): target period, revenue against target, pace, forecast, the biggest
bottleneck, freshness and month over month, by hand; the page fits a phone (390 px) and a wide
screen (1400 px) without sideways scrolling; money in whole yen, – where there is no spend."""

import os
import re
import shutil
import subprocess
from datetime import date, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from assets.report.data import current_periods, read_report_data
from assets.report.labels import (Labels, fmt_rate, fmt_signed_count, fmt_signed_percent, fmt_signed_yen,
                                   fmt_yen)
from assets.report.report import funnel_report, load_report_config, render_report
from assets.core.database import prepare_working_database
from assets.plan.reverse import Period
from assets.core import settings
from pipelines.cli import main
from assets.core.resource import FunnelResource
from schemas.config import ConfigError, load_config
from tests.system import apt_install
from tests.conftest import CONFIG_DIR, REPO, run_funnel_job, write_export

EVIL_NAME = "<script>alert(1)</script> & Co"
EVIL_LABEL = '<b>悪</b> & "x"'
CHANNELS_YAML = f"""
fallback_channel: Other
channels:
  - name: Webinar
    label_ja: ウェビナー
    values: [webinar]
  - name: {EVIL_NAME!r}
    label_ja: '{EVIL_LABEL}'
    values: [evil]
  - name: Other
    label_ja: その他
    label_en: Others (EN)
"""
NOW = datetime(2026, 10, 1, 9, 30, tzinfo=ZoneInfo("Asia/Tokyo"))


def config_dir_with(tmp_path: Path, report: str | None = None, targets: str | None = None) -> Path:
    """The project's configuration with CHANNELS_YAML, and report.yaml (absent: None) and targets.yaml as given."""
    d = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, d)
    (d / "channels.yaml").write_text(CHANNELS_YAML, encoding="utf-8")
    if targets is not None:
        (d / "targets.yaml").write_text(targets, encoding="utf-8")
    if report is None:
        (d / "report.yaml").unlink()
    else:
        (d / "report.yaml").write_text(report, encoding="utf-8")
    return d


# --------------------------------------------------------------------------- tiny marts, by hand

MARTS_SQL = """
CREATE TABLE marts.channel_funnel (period_start DATE, channel VARCHAR, sessions BIGINT, leads BIGINT, mqls BIGINT,
    sqls BIGINT, opportunities BIGINT, wins BIGINT, revenue DECIMAL(18, 2), impressions BIGINT DEFAULT 0,
    clicks BIGINT DEFAULT 0);
CREATE TABLE marts.channel_roi (period_start DATE, channel VARCHAR, spend DECIMAL(18, 2), leads BIGINT, mqls BIGINT,
    opportunities BIGINT, wins BIGINT, revenue DECIMAL(18, 2));
CREATE TABLE marts.target_plan (period VARCHAR, period_start DATE, period_end DATE, channel VARCHAR, stage VARCHAR,
    stage_order INTEGER, rate_name VARCHAR, rate_used DOUBLE, required DECIMAL(20, 2), actual DECIMAL(20, 2),
    gap DECIMAL(20, 2), pace DOUBLE, as_of DATE, avg_deal_size DECIMAL(18, 2));
CREATE TABLE marts.bottlenecks (cohort_start DATE, channel VARCHAR, transition VARCHAR, from_count BIGINT,
    to_count BIGINT, actual_rate DOUBLE, reference_rate DOUBLE, gap_points DOUBLE, lost_revenue DECIMAL(18, 2),
    is_bottleneck BOOLEAN, significant BOOLEAN, maturity VARCHAR);
CREATE TABLE marts.attributed_revenue (period_start DATE, channel VARCHAR, model VARCHAR,
    attributed_revenue DECIMAL(18, 2));
CREATE TABLE marts.cohort_roi (cohort_start DATE, channel VARCHAR, spend DECIMAL(18, 2), leads BIGINT,
    reached_win BIGINT, revenue DECIMAL(18, 2), payback_month DATE, ltv DECIMAL(18, 2));
CREATE TABLE marts.pipeline_velocity (period_start DATE, channel VARCHAR, open_opportunities BIGINT, win_rate DOUBLE,
    avg_deal_size DECIMAL(18, 2), avg_sales_cycle_days DOUBLE, pipeline_velocity DECIMAL(18, 2));
CREATE TABLE marts.video_funnel (period_start DATE, video_id VARCHAR, video_title VARCHAR, impressions BIGINT,
    views BIGINT, impression_ctr DOUBLE, inquiries BIGINT, opportunities BIGINT, wins BIGINT, revenue DECIMAL(18, 2),
    production_cost DECIMAL(18, 2), roi_to_date DOUBLE);
CREATE OR REPLACE TABLE ops.load_log (load_id BIGINT, source VARCHAR, file_name VARCHAR, status VARCHAR, exported_at TIMESTAMP,
    exported_at_basis VARCHAR, run_id VARCHAR, message VARCHAR);
"""
# period, channel, sessions, leads, mqls, sqls, opportunities, wins, revenue. 2026-07 lies outside a
# two-month report; within it: Webinar 40 leads, 16 MQLs, 8 SQLs, 8 opportunities, 2 wins, 3,500,000.50;
# the evil channel 400 sessions, 6 leads, 3 MQLs and nothing after; Other 2 leads.
FUNNEL = [
    ("2026-07-01", "Webinar", 0, 100, 50, 20, 10, 5, "9000000"),
    ("2026-08-01", "Webinar", 0, 30, 12, 5, 4, 1, "1500000.50"),
    ("2026-09-01", "Webinar", 0, 10, 4, 3, 4, 1, "2000000"),
    ("2026-08-01", EVIL_NAME, 400, 6, 3, 0, 0, 0, "0"),
    ("2026-09-01", EVIL_NAME, 0, 0, 0, 0, 0, 0, "0"),
    ("2026-09-01", "Other", 0, 2, 0, 0, 0, 0, "0"),
]
# period, channel, spend, leads, wins, revenue: Webinar spend 1,000,000 in the window against 3,500,000.50:
# ROAS 3.50, ROI 250.0%, CPA 1,000,000 / 40 = 25,000, CAC 1,000,000 / 2 = 500,000. Evil: 12,345.67 spend,
# 6 leads: CPA 2,057.61 (2,057.611.. rounded half up, shown ¥2,058), no wins: CAC –, ROAS 0.00, ROI -100.0%.
# Other: spend 0 (as channel_roi has it where a channel spent nothing), 2 leads: CPA, CAC, ROAS, ROI all –.
ROI = [
    ("2026-07-01", "Webinar", "999", 100, 5, "9000000"),
    ("2026-08-01", "Webinar", "1000000", 30, 1, "1500000.50"),
    ("2026-09-01", "Webinar", "0", 10, 1, "2000000"),
    ("2026-08-01", EVIL_NAME, "12345.67", 6, 0, "0"),
    ("2026-09-01", EVIL_NAME, "0", 0, 0, "0"),
    ("2026-09-01", "Other", "0", 2, 0, "0"),
]
# FY2026 contains its as_of day (2026-10-01: 184 of 365 days elapsed, 50%); 2025-Q1 ended before.
# Revenue pace as the mart computes it: 10,000,000 / (40,000,000 x 184/365) = 365/736 = 0.4959 (50%).
PLAN = [
    ("FY2026", "2026-04-01", "2027-03-31", "All", "impressions", 1, "ctr", None, None, None, None, None, None),
    ("FY2026", "2026-04-01", "2027-03-31", "All", "opportunities", 6, "win_rate", 0.25, "80", "30", "50", 0.75, None),
    ("FY2026", "2026-04-01", "2027-03-31", "All", "wins", 7, "avg_deal_size", None, "20", "5", "15", 0.5, "2000000"),
    ("FY2026", "2026-04-01", "2027-03-31", "All", "revenue", 8, None, None, "40000000", "10000000", "30000000",
     365 / 736, None),
    ("FY2026", "2026-04-01", "2027-03-31", "Webinar", "wins", 7, "avg_deal_size", None, "6", "3", "3", 1.0, "2000000"),
    ("FY2026", "2026-04-01", "2027-03-31", "Webinar", "revenue", 8, None, None, "12000000", "6000000", "6000000", 1.0,
     None),
    ("2025-Q1", "2025-04-01", "2025-06-30", "All", "revenue", 8, None, None, "777777", "1", "777776", 0.0, None),
]
# Webinar's lead_to_mql was the bottleneck in both months of the window (20,000 + 50,000 lost); the evil
# channel's mql_to_sql in 2026-09 (60,000). Other's opportunity_to_win loses the most (999,999) but is
# not significant, and Webinar's mql_to_sql of 2026-09 is too early: neither is a bottleneck.
BOTTLENECKS = [
    ("2026-07-01", "Webinar", "mql_to_sql", 50, 20, 0.4, 0.5, -10.0, "99999", True, True, "mature"),
    ("2026-08-01", "Webinar", "lead_to_mql", 30, 12, 0.4, 0.5, -10.0, "20000", True, True, "mature"),
    ("2026-09-01", "Webinar", "lead_to_mql", 10, 4, 0.4, 0.5, -10.0, "50000", True, True, "mature"),
    ("2026-09-01", "Webinar", "mql_to_sql", 4, 3, 0.75, 0.5, 25.0, "0", False, False, "too_early"),
    ("2026-09-01", EVIL_NAME, "mql_to_sql", 3, 0, 0.0, 0.5, -50.0, "60000", True, True, "mature"),
    ("2026-09-01", "Other", "opportunity_to_win", 2, 0, 0.0, 0.3, -30.0, "999999", False, False, "mature"),
]
# Won revenue of 2026-08 and 2026-09 under the five models: every model adds up to the month's revenue.
MODELS = ("first_touch", "last_touch", "linear", "u_shaped", "w_shaped")
ATTRIBUTION = (
    [("2026-07-01", "Webinar", m, "9000000") for m in MODELS]
    + [("2026-08-01", "Webinar", m, "1500000.50") for m in MODELS]
    + [("2026-09-01", "Webinar", m, v) for m, v in zip(MODELS, ("2000000", "1500000", "1700000", "1600000", "1650000"))]
    + [("2026-09-01", "Other", m, v) for m, v in zip(MODELS, ("0", "500000", "300000", "400000", "350000"))]
)
# cohort, channel, spend, leads, won, revenue so far, payback month, LTV per won customer. In the window:
# Webinar spend 1,000,000, 40 leads, 2 won, 4,000,000: ROAS 4.00, CAC 500,000, LTV 2,800,000 (only its
# 2026-08 cohort won), LTV:CAC 2,800,000 x 2 / 1,000,000 = 5.60, paid back 1 of 1 month with spend.
# Other: no spend: ROAS, CAC, LTV:CAC –, LTV 700,000. All: CAC 1,000,000 / 3 = 333,333.33 (¥333,333),
# LTV (5,600,000 + 700,000) / 3 = 2,100,000, LTV:CAC 6,300,000 / 1,000,000 = 6.30.
COHORTS = [
    ("2026-07-01", "Webinar", "999", 100, 5, "9000000", "2026-07-01", "1"),
    ("2026-08-01", "Webinar", "1000000", 30, 2, "4000000", "2026-09-01", "2800000"),
    ("2026-09-01", "Webinar", "0", 10, 0, "0", None, None),
    ("2026-08-01", "Other", "0", 2, 1, "500000", None, "700000"),
]
# Webinar's latest month: 4 open x 25% x 2,000,000 / 40 days = 50,000 a day; Other: nothing open, nothing won.
VELOCITY = [
    ("2026-08-01", "Webinar", 5, 0.5, "1500000", 30.0, "125000"),
    ("2026-09-01", "Webinar", 4, 0.25, "2000000", 40.0, "50000"),
    ("2026-09-01", "Other", 0, None, None, None, None),
]
# The newest loaded export is of 2026-09-30, the day before NOW: fresh. The rejected file does not count.
LOAD_LOG = [
    (1, "leads", "leads/leads_2026-09-30.csv", "loaded", "2026-09-30 18:00:00", "file name"),
    (2, "deals", "deals/deals.csv", "loaded", "2026-09-30 09:00:00", "rows"),
    (3, "spend", "spend/spend_2026-09.csv", "loaded", "2026-09-01 00:00:00", "rows"),
    (4, "leads", "leads/leads_broken.csv", "rejected", "2026-10-01 08:00:00", "file name"),
]


@pytest.fixture
def marts(tmp_path) -> Path:
    path = tmp_path / "wh" / "funnel.work.duckdb"
    path.parent.mkdir()
    with duckdb.connect(str(path)) as con:
        prepare_working_database(con)  # schemas, ops tables, the metric macros: as every run leaves it
        con.execute(MARTS_SQL)
        con.executemany("INSERT INTO marts.channel_funnel (period_start, channel, sessions, leads, mqls, sqls, "
                        "opportunities, wins, revenue) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", FUNNEL)
        con.executemany("INSERT INTO marts.channel_roi (period_start, channel, spend, leads, wins, revenue) "
                        "VALUES (?, ?, ?, ?, ?, ?)", ROI)
        con.executemany("INSERT INTO marts.target_plan (period, period_start, period_end, channel, stage, stage_order, "
                        "rate_name, rate_used, required, actual, gap, pace, avg_deal_size, as_of) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-10-01')", PLAN)
        con.executemany("INSERT INTO marts.bottlenecks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", BOTTLENECKS)
        con.executemany("INSERT INTO marts.attributed_revenue VALUES (?, ?, ?, ?)", ATTRIBUTION)
        con.executemany("INSERT INTO marts.cohort_roi VALUES (?, ?, ?, ?, ?, ?, ?, ?)", COHORTS)
        con.executemany("INSERT INTO marts.pipeline_velocity VALUES (?, ?, ?, ?, ?, ?, ?)", VELOCITY)
        con.executemany("INSERT INTO ops.load_log (load_id, source, file_name, status, exported_at, exported_at_basis) VALUES (?, ?, ?, ?, ?, ?)", LOAD_LOG)
    return path


def render(marts: Path, config_dir: Path, language: str = "ja", months: int = 2, now: datetime = NOW) -> str:
    with duckdb.connect(str(marts), read_only=True) as con:
        data = read_report_data(con, months)
    return render_report(data, load_config(config_dir).channels, language, now)


class Tags(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.tags: set[str] = set()
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)


def test_formatting_of_rates_counts_and_yen():
    assert fmt_rate(0.125, 5, 40) == "12.5% (5/40)"
    assert fmt_rate(None, 3, 0) == "–"
    assert fmt_yen(Decimal("1500000")) == "¥1,500,000"
    # whole yen, half up (away from zero) from the exact value: never sen
    assert fmt_yen(Decimal("3500000.50")) == "¥3,500,001"
    assert fmt_yen(Decimal("3500000.49")) == "¥3,500,000"
    assert fmt_yen(Decimal("819575.50")) == "¥819,576"
    assert fmt_yen(Decimal("-20000.00")) == "-¥20,000"
    assert fmt_yen(Decimal("-0.50")) == "-¥1" and fmt_yen(Decimal("-0.49")) == "¥0"
    assert fmt_yen(Decimal("12345678901234567.50")) == "¥12,345,678,901,234,568"  # exact, no float
    assert fmt_yen(None) == "–"
    assert (fmt_signed_yen(Decimal("499999.50")), fmt_signed_yen(Decimal("-1012345.67")), fmt_signed_yen(0)) == (
        "+¥500,000", "-¥1,012,346", "±¥0")
    assert (fmt_signed_count(5), fmt_signed_count(-24), fmt_signed_count(0), fmt_signed_count(None)) == (
        "+5", "-24", "±0", "–")
    assert (fmt_signed_percent(1 / 3), fmt_signed_percent(-2 / 3), fmt_signed_percent(0.0),
            fmt_signed_percent(-0.0001), fmt_signed_percent(None)) == ("+33.3%", "-66.7%", "±0.0%", "±0.0%", "–")


def test_report_reads_the_window_and_computes_rates_from_summed_counts(marts):
    with duckdb.connect(str(marts), read_only=True) as con:
        data = read_report_data(con, 2)
    assert (data.first_month, data.last_month, data.period_label) == (date(2026, 8, 1), date(2026, 9, 1),
                                                                      "2026-08 – 2026-09")
    funnel = {r.channel: r for r in data.funnel}
    webinar, total = funnel["Webinar"], funnel[None]
    assert webinar.counts == {"sessions": 0, "leads": 40, "mqls": 16, "sqls": 8, "opportunities": 8, "wins": 2}
    assert webinar.revenue == Decimal("3500000.50")
    assert webinar.rates == {"session_to_lead_rate": None, "lead_to_mql_rate": 0.4, "mql_to_sql_rate": 0.5,
                             "sql_to_opportunity_rate": 1.0, "opportunity_to_win_rate": 0.25}
    assert total.counts["leads"] == 48 and total.rates["session_to_lead_rate"] == 48 / 400
    roi = {r.channel: r for r in data.roi}
    assert (roi["Webinar"].spend, roi["Webinar"].cpa, roi["Webinar"].cac, roi["Webinar"].roas, roi["Webinar"].roi) == (
        Decimal("1000000.00"), Decimal("25000.00"), Decimal("500000.00"), 3.5000005, 2.5000005)
    assert (roi[EVIL_NAME].cpa, roi[EVIL_NAME].cac, roi[EVIL_NAME].roas) == (Decimal("2057.61"), None, 0.0)
    assert roi[None].spend == Decimal("1012345.67")
    [plan] = data.plans
    assert plan.period.label == "FY2026" and plan.elapsed == 184 / 365
    assert [r.stage for r in plan.stages] == ["impressions", "opportunities", "wins", "revenue"]
    assert [(r.channel, r.required) for r in plan.channels] == [("Webinar", Decimal("12000000.00"))]
    assert data.bottleneck_month == date(2026, 9, 1)
    assert {(s.channel, s.transition): (s.months_flagged, s.lost_revenue) for s in data.bottleneck_summary} == {
        ("Webinar", "lead_to_mql"): (2, Decimal("70000.00")), ("Webinar", "mql_to_sql"): (0, Decimal(0)),
        (EVIL_NAME, "mql_to_sql"): (1, Decimal("60000.00")), ("Other", "opportunity_to_win"): (0, Decimal(0))}
    # 2026-08 and 2026-09: Webinar's lead_to_mql 20,000 + 50,000 beats the evil channel's 60,000; Other's
    # 999,999 is not significant
    top = data.top_bottleneck
    assert (top.channel, top.transition, top.lost_revenue, top.first, top.last) == (
        "Webinar", "lead_to_mql", Decimal("70000.00"), date(2026, 8, 1), date(2026, 9, 1))
    assert [(t.month, t.revenue, t.leads, t.wins, t.spend) for t in data.month_totals] == [
        (date(2026, 7, 1), Decimal("9000000.00"), 100, 5, Decimal("999.00")),
        (date(2026, 8, 1), Decimal("1500000.50"), 36, 1, Decimal("1012345.67")),
        (date(2026, 9, 1), Decimal("2000000.00"), 12, 1, Decimal("0.00"))]
    assert [(f.source, f.exported_at, f.file_name) for f in data.freshness] == [
        ("deals", datetime(2026, 9, 30, 9), "deals/deals.csv"),
        ("leads", datetime(2026, 9, 30, 18), "leads/leads_2026-09-30.csv"),  # the rejected file does not count
        ("spend", datetime(2026, 9, 1), "spend/spend_2026-09.csv")]


def test_report_shows_the_hand_computed_values(marts, tmp_path):
    html = render(marts, config_dir_with(tmp_path))
    for text in ["2026-08 – 2026-09", "40.0% (16/40)", "50.0% (8/16)", "100.0% (8/8)", "25.0% (2/8)",
                 "12.0% (48/400)", "1.5% (6/400)", "50.0% (3/6)", "0.0% (0/3)", "0.0% (0/2)",
                 "¥3,500,001", "¥1,000,000", "¥25,000", "¥500,000", "3.50", "250.0%",
                 "¥2,058", "-100.0%", "¥1,012,346",
                 "¥40,000,000", "¥10,000,000", "¥30,000,000", "¥12,000,000", "50%", "75%",
                 "★ 2 (¥70,000)", "40.0% (4/10)", "75.0% (3/4)"]:
        assert text in html, text
    # 2026-07 lies outside the two months (Other's lost revenue ¥999,999 is not 2026-07's spend ¥999)
    assert "9,000,000" not in html and not re.search(r"¥999(?![,\d])", html)
    assert "2025-Q1" not in html and "777,777" not in html  # not the current target period
    assert "インプレッション" not in html  # no ctr: no impressions row
    # the bottleneck cell of 2026-09 is highlighted, the other one is not
    assert '<td class="num bottleneck">★ 40.0% (4/10)' in html
    assert '<td class="num">75.0% (3/4)' in html
    # five charts: a funnel per channel with data (Webinar, evil, Other), ROAS, the plan
    assert html.count("<svg ") == 5


def headline_of(html: str) -> str:
    return html.split('<section id="headline"', 1)[1].split("</section>", 1)[0]


def test_headline_answers_are_we_on_track_by_hand(marts, tmp_path):
    html = render(marts, config_dir_with(tmp_path))
    head = headline_of(html)
    # the headline comes first, before every other section
    assert html.index('<section id="headline"') < html.index('<h2 id="funnel">')
    # FY2026 (2026-04-01 .. 2027-03-31, 365 days) on its as_of day 2026-10-01: 184 days elapsed (50%)
    assert '<div class="kpi-value">FY2026</div>' in head
    assert "2026-04-01 – 2027-03-31<br>経過率 184 / 365 日 (50%)" in head
    # revenue of channel All: 10,000,000 of 40,000,000 = 25.0% attained
    assert '<div class="kpi-value">¥10,000,000</div>' in head and "目標 ¥40,000,000 · 達成率 25.0%" in head
    # pace (the mart's): 10,000,000 / (40,000,000 x 184/365) = 0.4959 -> 50%, behind
    assert '<div class="kpi kpi-behind">' in head and '<div class="kpi-value">50%</div>' in head
    assert "計画を下回るペース" in head
    # forecast: 10,000,000 / (184/365) = 19,836,956.52 -> ¥19,836,957; / 40,000,000 = 49.6% -> 50%
    assert '<div class="kpi-value">¥19,836,957</div>' in head and "目標比 50%" in head
    assert "着地見込み = 売上実績 ÷ 期間の経過率（184 / 365 日）" in head
    # the biggest bottleneck of 2026-08 .. 2026-09: Webinar lead -> MQL, 20,000 + 50,000 (the evil channel's
    # 60,000 is less; Other's 999,999 is not significant)
    assert "最大のボトルネック:</strong>" in head
    assert "ウェビナーの MQL化率 (リード → MQL)：機会損失額 ¥70,000（2026-08〜2026-09 のコホート、" in head
    # fresh: the newest export (leads) is of 2026-09-30, the day before 2026-10-01; spend's is 30 days old
    assert "最新のエクスポートは 2026-09-30 時点です。" in head and 'role="alert"' not in head
    assert "<li>リード（MA）: 2026-09-30 (昨日) <span class=\"file\">leads/leads_2026-09-30.csv</span></li>" in head
    assert '<li class="stale">費用: 2026-09-01 (30 日前)' in head
    # month over month: 2026-09 (ended before 2026-10-01, and the exports reach 2026-09-30) against 2026-08
    assert "2026-09（直近の締まった月）と 2026-08 の比較" in head
    # revenue 2,000,000 - 1,500,000.50 = +499,999.50 -> +¥500,000, / 1,500,000.50 = +33.3%
    assert '<div class="kpi-value">¥2,000,000</div>' in head and "前月比 +¥500,000 (+33.3%)" in head
    # leads 12 - 36 = -24 (-66.7%); wins 1 - 1 = ±0; spend 0 - 1,012,345.67 -> -¥1,012,346 (-100.0%)
    assert "前月比 -24 (-66.7%)" in head and "前月比 ±0 (±0.0%)" in head
    assert "前月比 -¥1,012,346 (-100.0%)" in head


def test_headline_bottleneck_follows_the_latest_months(marts, tmp_path):
    config_dir = config_dir_with(tmp_path)
    # three months: 2026-07 .. 2026-09 holds Webinar's mql_to_sql of 2026-07 (99,999 > 70,000)
    assert "ウェビナーの SQL化率 (MQL → SQL)：機会損失額 ¥99,999（2026-07〜2026-09 のコホート" in headline_of(
        render(marts, config_dir, months=3))
    # one month: 2026-09 alone, the evil channel's 60,000 beats Webinar's 50,000; its label is escaped
    head = headline_of(render(marts, config_dir, months=1))
    assert "&lt;b&gt;悪&lt;/b&gt; &amp; &#34;x&#34;の SQL化率 (MQL → SQL)：機会損失額 ¥60,000（2026-09 のコホート" in head
    assert "<b>" not in head
    # no significant and mature bottleneck: none, saying over which months
    with duckdb.connect(str(marts)) as con:
        con.execute("UPDATE marts.bottlenecks SET significant = false WHERE is_bottleneck")
    head = headline_of(render(marts, config_dir))
    assert "最大のボトルネック:</strong>\nなし（2026-08〜2026-09 のコホートに、有意かつ判定可能なボトルネックはありません）" in head


def test_headline_without_targets_still_shows_freshness_and_the_bottleneck(marts, tmp_path):
    with duckdb.connect(str(marts)) as con:
        con.execute("DELETE FROM marts.target_plan")
    head = headline_of(render(marts, config_dir_with(tmp_path)))
    assert "売上目標が設定されていません（config/targets.yaml）" in head
    assert "kpi-value\">FY2026" not in head and "着地見込み" not in head
    assert "機会損失額 ¥70,000" in head and "最新のエクスポートは 2026-09-30 時点です。" in head


@pytest.mark.parametrize("days_old, warned", [(0, False), (1, False), (2, True), (45, True)])
def test_freshness_warning_when_the_data_ends_before_yesterday(marts, tmp_path, days_old, warned):
    """Exports dated relative to the real today in the pipeline time zone: of today or yesterday the data
    is fresh; older than yesterday the headline warns, naming the day the data ends."""
    now = datetime.now(ZoneInfo("Asia/Tokyo"))
    newest = now.date() - timedelta(days=days_old)
    with duckdb.connect(str(marts)) as con:
        con.execute("DELETE FROM ops.load_log")
        con.execute("INSERT INTO ops.load_log (load_id, source, file_name, status, exported_at, exported_at_basis) VALUES (1, 'leads', 'leads/leads.csv', 'loaded', $at, 'rows'), "
                    "(2, 'spend', 'spend/spend.csv', 'loaded', $old, 'rows'), "
                    "(3, 'deals', 'deals/new.csv', 'rejected', $new, 'rows')",
                    {"at": datetime.combine(newest, datetime.min.time()),
                     "old": datetime.combine(newest - timedelta(days=10), datetime.min.time()),
                     "new": now.replace(tzinfo=None)})
    head = headline_of(render(marts, config_dir_with(tmp_path), now=now))
    yesterday = now.date() - timedelta(days=1)
    assert ('<p class="warning" role="alert">' in head) == warned
    if warned:
        assert f"⚠ データが {newest} で止まっています（昨日 {yesterday} より前）" in head
    else:
        assert f"最新のエクスポートは {newest} 時点です。" in head
    en = headline_of(render(marts, config_dir_with(tmp_path / "en"), "en", now=now))
    assert (f"The data ends on {newest}, before yesterday ({yesterday})" in en) == warned


def test_month_over_month_skips_a_month_the_exports_stop_inside(marts, tmp_path):
    """The newest export is of 2026-09-20: September is not full, so August is compared with July."""
    with duckdb.connect(str(marts)) as con:
        con.execute("UPDATE ops.load_log SET exported_at = TIMESTAMP '2026-09-20 12:00' WHERE status = 'loaded'")
    head = headline_of(render(marts, config_dir_with(tmp_path)))
    assert "⚠ データが 2026-09-20 で止まっています（昨日 2026-09-30 より前）" in head
    assert "2026-08（直近の締まった月）と 2026-07 の比較" in head
    # revenue 1,500,000.50 - 9,000,000 = -7,499,999.50 -> -¥7,500,000 (half away from zero), / 9,000,000 = -83.3%
    assert "前月比 -¥7,500,000 (-83.3%)" in head
    # leads 36 - 100 = -64 (-64.0%); wins 1 - 5 = -4 (-80.0%)
    assert "前月比 -64 (-64.0%)" in head and "前月比 -4 (-80.0%)" in head


def roi_row(html: str, label: str) -> list[str]:
    table = html.split('<table class="roi">', 1)[1].split("</table>", 1)[0]
    row = next(r for r in table.split("<tr") if f"<td>{label}</td>" in r)
    return re.findall(r'<td class="num">([^<]*)</td>', row)


def test_cpa_cac_roas_roi_are_a_dash_without_spend(marts, tmp_path):
    """channel_roi has spend 0 where a channel spent nothing, and money_per(0, 2 leads) is 0: the report
    shows – for CPA, CAC, ROAS and ROI then, never ¥0; and the same when spend is NULL."""
    config_dir = config_dir_with(tmp_path)
    # Other: spend 0, 2 leads, 0 wins, revenue 0 -> spend, leads, wins, revenue, CPA, CAC, ROAS, ROI
    assert roi_row(render(marts, config_dir), "その他") == ["¥0", "2", "0", "¥0", "–", "–", "–", "–"]
    # Webinar has spend: 1,000,000 / 40 leads = ¥25,000, / 2 wins = ¥500,000
    assert roi_row(render(marts, config_dir), "ウェビナー")[4:6] == ["¥25,000", "¥500,000"]
    with duckdb.connect(str(marts)) as con:
        con.execute("UPDATE marts.channel_roi SET spend = NULL WHERE channel = 'Other'")
    assert roi_row(render(marts, config_dir), "その他") == ["¥0", "2", "0", "¥0", "–", "–", "–", "–"]


def test_attribution_cohort_roi_and_velocity_by_hand(marts, tmp_path):
    html = render(marts, config_dir_with(tmp_path))
    attribution = html.split('<table class="attribution">', 1)[1].split("</table>", 1)[0]
    # Webinar: first touch 1,500,000.50 + 2,000,000 = 3,500,000.50 -> ¥3,500,001; last touch 1,500,000.50 +
    # 1,500,000 -> ¥3,000,001; Other's last touch ¥500,000; every model's total is the revenue, ¥3,500,001
    assert "<th>ファーストタッチ</th><th>ラストタッチ</th><th>線形</th><th>U字型</th><th>W字型</th>" in attribution
    assert ('<td>ウェビナー</td><td class="num">¥3,500,001</td><td class="num">¥3,000,001</td>'
            '<td class="num">¥3,200,001</td><td class="num">¥3,100,001</td>'
            '<td class="num">¥3,150,001</td>') in attribution
    assert ('<td>その他</td><td class="num">¥0</td><td class="num">¥500,000</td><td class="num">¥300,000</td>'
            '<td class="num">¥400,000</td><td class="num">¥350,000</td>') in attribution
    assert attribution.count('<td class="num">¥3,500,001</td>') == 6  # Webinar's first touch, five totals
    cohort = html.split('<table class="cohort">', 1)[1].split("</table>", 1)[0]
    # see COHORTS: Webinar ROAS 4.00, CAC ¥500,000, LTV ¥2,800,000, LTV:CAC 5.60, 1 of 1 month paid back
    assert ('<td>ウェビナー</td><td class="num">¥1,000,000</td><td class="num">40</td><td class="num">2</td>'
            '<td class="num">¥4,000,000</td><td class="num">4.00</td><td class="num">¥500,000</td>'
            '<td class="num">¥2,800,000</td><td class="num">5.60</td><td class="num">1 / 1</td>') in cohort
    assert ('<td>その他</td><td class="num">¥0</td><td class="num">2</td><td class="num">1</td>'
            '<td class="num">¥500,000</td><td class="num">–</td><td class="num">–</td><td class="num">¥700,000</td>'
            '<td class="num">–</td><td class="num">–</td>') in cohort
    assert ('<td>合計</td><td class="num">¥1,000,000</td><td class="num">42</td><td class="num">3</td>'
            '<td class="num">¥4,500,000</td><td class="num">4.50</td><td class="num">¥333,333</td>'
            '<td class="num">¥2,100,000</td><td class="num">6.30</td>') in cohort
    velocity = html.split('<table class="velocity">', 1)[1].split("</table>", 1)[0]
    # Webinar's latest month 2026-09: 4 open x 25% x ¥2,000,000 / 40.0 days = ¥50,000 a day
    assert ('<td>ウェビナー</td><td class="num">2026-09</td><td class="num">4</td><td class="num">25.0%</td>'
            '<td class="num">¥2,000,000</td><td class="num">40.0</td><td class="num">¥50,000</td>') in velocity
    assert ('<td>その他</td><td class="num">2026-09</td><td class="num">0</td><td class="num">–</td>'
            '<td class="num">–</td><td class="num">–</td><td class="num">–</td>') in velocity
    # an empty mart leaves its section out
    with duckdb.connect(str(marts)) as con:
        for table in ("attributed_revenue", "cohort_roi", "pipeline_velocity"):
            con.execute(f"DELETE FROM marts.{table}")
    html = render(marts, config_dir_with(tmp_path / "empty"))
    assert not any(f'id="{s}"' in html for s in ("attribution", "cohort", "velocity"))


# Ad data (impressions, clicks) of the funnel's rows: 2026-07 lies outside the window. In it: Webinar 10,000
# impressions, 200 clicks, 0 sessions: CTR 2.0% (200/10,000), session rate 0.0% (0/200); the evil channel
# 50,000, 500 and its 400 sessions: CTR 1.0%, session rate 80.0% (400/500); together 60,000, 700, 400: CTR
# 700 / 60,000 = 1.17% (1.2%), session rate 400 / 700 = 57.1%. Other had no ad data: not listed.
AD_DATA = [("2026-07-01", "Webinar", 999_999, 9_999), ("2026-08-01", "Webinar", 10_000, 200),
           ("2026-08-01", EVIL_NAME, 50_000, 500)]
# period, video, title, impressions, views, CTR, inquiries, opportunities, wins, revenue, cost, ROI to date.
# In the window, vidAAAAAAA1: 4,000 impressions, 180 views, CTR (1,000 x 5% + 3,000 x 2%) / 4,000 = 2.75% (not
# the mean of the months, 3.5%), 3 inquiries, 2 opportunities, 1 win, 600,000 against its 500,000 cost: ROI to
# date at 2026-09 (600,000 - 500,000) / 500,000 = 20.0%. The other video: no Studio figures (–), no cost (–).
VIDEOS = [
    ("2026-07-01", "vidAAAAAAA1", "製品デモ", 99_999, 9_999, 0.5, 9, 9, 9, "9999999", "500000", 9.0),
    ("2026-08-01", "vidAAAAAAA1", "製品デモ", 1_000, 80, 0.05, 2, 1, 0, "0", "500000", -1.0),
    ("2026-09-01", "vidAAAAAAA1", "製品デモ", 3_000, 100, 0.02, 1, 1, 1, "600000", "500000", 0.2),
    ("2026-09-01", "-vidBBBBBB2", EVIL_NAME, None, None, None, 1, 0, 0, "0", None, None),
]


def test_top_of_funnel_and_videos_by_hand(marts, tmp_path):
    html = render(marts, config_dir_with(tmp_path))
    assert 'id="top-funnel"' not in html and 'id="video"' not in html  # no ad or video data: left out
    with duckdb.connect(str(marts)) as con:
        con.executemany("UPDATE marts.channel_funnel SET impressions = ?3, clicks = ?4 "
                        "WHERE period_start = ?1 AND channel = ?2", AD_DATA)
        con.executemany("INSERT INTO marts.video_funnel VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", VIDEOS)
    html = render(marts, config_dir_with(tmp_path / "again"))
    top = html.split('<table class="top-funnel">', 1)[1].split("</table>", 1)[0]
    assert ('<td>ウェビナー</td><td class="num">10,000</td><td class="num">200</td><td class="num">0</td>'
            '<td class="num">2.0% (200/10,000)</td><td class="num">0.0% (0/200)</td>') in top
    assert ('<td class="num">50,000</td><td class="num">500</td><td class="num">400</td>'
            '<td class="num">1.0% (500/50,000)</td><td class="num">80.0% (400/500)</td>') in top
    assert ('<td>合計</td><td class="num">60,000</td><td class="num">700</td><td class="num">400</td>'
            '<td class="num">1.2% (700/60,000)</td><td class="num">57.1% (400/700)</td>') in top
    assert "その他" not in top
    video = html.split('<table class="video">', 1)[1].split("</table>", 1)[0]
    assert ('<td>製品デモ<br><span class="sub">vidAAAAAAA1</span></td><td class="num">4,000</td>'
            '<td class="num">180</td><td class="num">2.75%</td><td class="num">3</td><td class="num">2</td>'
            '<td class="num">1</td><td class="num">¥600,000</td><td class="num">¥500,000</td>'
            '<td class="num">20.0%</td>') in video
    assert ('<span class="sub">-vidBBBBBB2</span></td><td class="num">–</td><td class="num">–</td>'
            '<td class="num">–</td><td class="num">1</td><td class="num">0</td><td class="num">0</td>'
            '<td class="num">¥0</td><td class="num">–</td><td class="num">–</td>') in video
    assert video.index("vidAAAAAAA1") < video.index("-vidBBBBBB2")  # most revenue first
    assert EVIL_NAME not in html and "&lt;script&gt;" in video
    english = render(marts, config_dir_with(tmp_path / "en"), language="en")
    assert "<th>Video</th><th>Impressions</th><th>Views</th><th>CTR</th><th>Inquiries</th>" in english
    assert "From ad impressions to sessions (per channel)" in english


def test_reverse_plan_names_its_assumptions(marts, tmp_path):
    """The reverse plan reads as the 逆算表: revenue / average deal size = wins, wins / win rate = opportunities."""
    plan = render(marts, config_dir_with(tmp_path)).split('<table class="plan">', 1)[1].split("</table>", 1)[0]
    assert "<th>逆算の前提</th>" in plan and "使用した率" not in plan
    assert "受注率 25.00%" in plan and "平均受注単価 ¥2,000,000" in plan


def test_rates_are_named_as_japanese_b2b_marketers_name_them(marts, tmp_path):
    html = render(marts, config_dir_with(tmp_path))
    rates = html.split('<table class="rates">', 1)[1].split("</table>", 1)[0]
    for name, stages in (("CV率", "セッション → リード"), ("MQL化率", "リード → MQL"), ("SQL化率", "MQL → SQL"),
                         ("商談化率", "SQL → 商談"), ("受注率", "商談 → 受注")):
        assert f'<th>{name}<span class="sub">{stages}</span></th>' in rates, name
    assert "機会損失額" in html and "逸失売上" not in html and "有意差なし" in html


def test_every_value_from_the_data_and_the_configuration_is_escaped(marts, tmp_path):
    config_dir = config_dir_with(tmp_path)
    for language, shown in (("ja", EVIL_LABEL), ("en", EVIL_NAME)):
        html = render(marts, config_dir, language)
        assert Tags(html).tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div",
                                   "section", "strong", "ul", "li", "table", "tr", "th", "td", "span", "br", "svg",
                                   "text", "rect", "line"}
        assert "script" not in Tags(html).tags and "<b>" not in html and EVIL_NAME not in html
        escaped = (shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
                   .replace('"', "&#34;"))
        assert html.count(escaped) >= 6, language  # card title, chart label and title, 3 tables, ROAS chart


def test_labels_are_japanese_by_default_and_english_by_setting(marts, tmp_path):
    config_dir = config_dir_with(tmp_path)
    ja, en = render(marts, config_dir), render(marts, config_dir, "en")
    assert '<html lang="ja">' in ja and "ファネルレポート" in ja and "ウェビナー" in ja and "その他" in ja
    assert "リード → MQL" in ja and "目標期間 FY2026" in ja
    assert '<html lang="en">' in en and "Funnel report" in en and "Leads → MQLs" in en
    assert "Webinar" in en and "Others (EN)" in en  # label_en when given, else the channel name
    # the headline and the other analyses in English, with the same numbers
    head = headline_of(en)
    for text in ["At a glance: are we on track?", "Target period", '<div class="kpi-value">FY2026</div>',
                 "elapsed 184 / 365 days (50%)", "Revenue: actual / target", "Target ¥40,000,000 · attained 25.0%",
                 "Pace", "behind plan", "Forecast at the current pace", '<div class="kpi-value">¥19,836,957</div>',
                 "(184 of 365 days)", "Biggest bottleneck:</strong>",
                 "Webinar, MQL rate (Leads → MQLs): ¥70,000 of lost revenue (cohorts of 2026-08 to 2026-09",
                 "Data freshness:", "The newest export is of 2026-09-30.", "Leads: 2026-09-30 (yesterday)",
                 "Spend: 2026-09-01 (30 days ago)",
                 "Month over month", "2026-09 (the latest full month) against 2026-08",
                 "MoM +¥500,000 (+33.3%)"]:
        assert text in head, text
    for text in ["Attribution (revenue credit by model)", "<th>First touch</th>", "Cohort ROI and LTV:CAC",
                 "<th>LTV/CAC</th>", "Pipeline velocity (latest month)", "<th>Win rate</th>", "<th>Assumption</th>",
                 "Win rate 25.00%", "Avg deal size ¥2,000,000", "Opportunity rate"]:
        assert text in en, text
    assert not any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in en)  # no Japanese left
    labels = Labels("ja", load_config(config_dir).channels)
    assert (labels.channel("All"), labels.channel("Unattributed"), labels.channel("Mystery")) == (
        "全体", "流入元不明", "Mystery")


def test_report_yaml_is_optional_and_wrong_values_name_file_and_key(tmp_path):
    assert load_report_config(config_dir_with(tmp_path / "a")).language == "ja"
    assert load_report_config(config_dir_with(tmp_path / "b", report="language: en\nmonths: 3\n")).months == 3
    for text, key in (("language: fr\n", "key language"), ("months: 0\n", "key months"),
                      ("lang: en\n", "key lang")):
        config_dir = config_dir_with(tmp_path / key.replace(" ", "_"), report=text)
        with pytest.raises(ConfigError) as err:
            load_report_config(config_dir)
        assert str(config_dir / "report.yaml") in str(err.value) and key in str(err.value)


def test_funnel_run_refuses_a_wrong_report_yaml_before_running(tmp_path, tmp_inbox, capsys):
    config_dir = config_dir_with(tmp_path, report="language: fr\n")
    assert main(["run", "--inbox", str(tmp_inbox), "--warehouse", str(tmp_path / "wh" / "f.duckdb"),
                 "--config", str(config_dir)]) == 2
    assert "report.yaml: key language" in capsys.readouterr().err
    assert not (tmp_path / "wh").exists()


def test_current_target_periods():
    fy = (Period("FY2026", date(2026, 4, 1), date(2027, 3, 31)), date(2026, 11, 1))
    q3 = (Period("2026-Q3", date(2026, 10, 1), date(2026, 12, 31)), date(2026, 11, 1))
    q1 = (Period("2026-Q1", date(2026, 4, 1), date(2026, 6, 30)), date(2026, 11, 1))
    q2 = (Period("2026-Q2", date(2026, 7, 1), date(2026, 9, 30)), date(2026, 11, 1))
    fy27 = (Period("FY2027", date(2027, 4, 1), date(2028, 3, 31)), date(2026, 11, 1))
    fy28 = (Period("FY2028", date(2028, 4, 1), date(2029, 3, 31)), date(2026, 11, 1))
    assert current_periods([q3, fy27, fy, q1]) == [fy, q3]  # every period containing the day
    assert current_periods([q1, q2, fy27]) == [q2]  # else the one that ended last
    assert current_periods([fy28, fy27]) == [fy27]  # else the one that starts first
    assert current_periods([]) == []


def test_report_asset_fails_on_a_wrong_report_yaml_and_links_its_file_otherwise(marts, tmp_path):
    def materialize(config_dir: Path) -> dg.ExecuteInProcessResult:
        resource = FunnelResource(inbox_dir=str(tmp_path / "inbox"), config_dir=str(config_dir),
                                  warehouse_path=str(marts.parent / "funnel.duckdb"))
        return dg.materialize([funnel_report], resources={"funnel": resource}, raise_on_error=False)

    bad = materialize(config_dir_with(tmp_path / "bad", report="months: many\n"))
    assert not bad.success
    failure = next(e for e in bad.all_events if e.event_type_value == "STEP_FAILURE")
    assert "report.yaml: key months" in failure.event_specific_data.user_failure_data.description

    good = materialize(config_dir_with(tmp_path / "good", report="language: en\nmonths: 2\n"))
    assert good.success
    path = settings.report_path(marts.parent / "funnel.duckdb").resolve()
    [event] = good.get_asset_materialization_events()
    meta = event.materialization.metadata
    assert (meta["path"].value, meta["url"].value, meta["size_bytes"].value, meta["period"].value,
            meta["language"].value, meta["target_periods"].value, meta["held_back"].value) == (
        str(path), path.as_uri(), path.stat().st_size, "2026-08 – 2026-09", "en", "FY2026", "none")
    assert "Funnel report" in path.read_text(encoding="utf-8")
    assert os.listdir(path.parent) == [path.name]  # the temp file was renamed, not left


# --------------------------------------------------------------------------- a real run

LEADS = """
    lead_id,created_at,lead_source,mql_at,sql_at
    L1,2026-07-03 10:00,Webinar,2026-07-05,2026-07-09
    L2,2026-07-04 10:00,webinar,2026-07-08,
    L3,2026-07-05 10:00,webinar,,
    L4,2026-07-06 10:00,webinar,,
    E1,2026-07-07 10:00,evil,2026-08-02,
    E2,2026-08-07 10:00,evil,,
    E3,2026-08-08 10:00,evil,,
    """
DEALS = """
    deal_id,created_at,stage,lead_id,amount,close_date
    D1,2026-07-10,受注,L1,1500000,2026-08-03
    D2,2026-08-11,失注,E1,300000,2026-08-20
    """
SPEND = """
    date,channel,cost
    2026-07,webinar,500000
    2026-08,evil,"12,345"
    """


@pytest.fixture(scope="module")
def report_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_run")
    inbox = root / "inbox"
    write_export(inbox, "leads", "leads.csv", LEADS)
    write_export(inbox, "deals", "deals.csv", DEALS)
    write_export(inbox, "spend", "spend.csv", SPEND)
    warehouse = root / "wh" / "funnel.duckdb"
    # one target period, shown whatever the day: 2026-08, 3,000,000 of revenue
    result = run_funnel_job(inbox, warehouse, config_dir_with(root, targets="targets:\n  - period: 2026-08\n"
                                                                           "    revenue: 3000000\n"))
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    return result, settings.report_path(warehouse).resolve()


def test_a_run_writes_the_report_and_links_it_in_its_metadata(report_run):
    result, path = report_run
    [event] = [e for e in result.get_asset_materialization_events()
               if e.asset_key == dg.AssetKey(["report", "funnel_report"])]
    meta = event.materialization.metadata
    assert meta["path"] == dg.MetadataValue.path(str(path))
    assert meta["url"] == dg.MetadataValue.url(path.as_uri())
    assert meta["size_bytes"].value == path.stat().st_size > 10_000
    assert meta["period"].value == "2026-07 – 2026-08"
    html = path.read_text(encoding="utf-8")
    assert "ファネルレポート" in html and "ウェビナー" in html
    # Webinar: 4 leads, 2 MQLs, 1 SQL, 1 opportunity, 1 win of 1,500,000 against 500,000 of spend
    for text in ["50.0% (2/4)", "50.0% (1/2)", "100.0% (1/1)", "¥1,500,000", "¥500,000", "3.00", "200.0%",
                 "¥125,000"]:
        assert text in html, text
    assert EVIL_NAME not in html and "&lt;b&gt;悪&lt;/b&gt; &amp; &#34;x&#34;" in html
    # the target of 2026-08 (over by now: the whole period elapsed) against its 1,500,000 won
    assert "目標期間 2026-08" in html and "¥3,000,000" in html and "¥1,500,000" in html
    # its headline: the period is over, so the forecast is the final 1,500,000 (50% of 3,000,000); the exports
    # end in 2026-08, long before yesterday: the freshness warning
    head = headline_of(html)
    assert '<div class="kpi-value">2026-08</div>' in head and "着地（期間終了）" in head and "着地見込み =" not in head
    assert '<div class="kpi-value">¥1,500,000</div>' in head and "目標比 50%" in head
    assert '<p class="warning" role="alert">⚠ データが 2026-08-' in head
    # and the run's report was written after the publish it reads
    keys = [e.asset_key.to_user_string() for e in result.get_asset_materialization_events()]
    assert keys.index("report/funnel_report") > keys.index("published/funnel_duckdb")


# --------------------------------------------------------------------------- headless Chromium


def _has_japanese_font() -> bool:
    try:
        return bool(subprocess.run(["fc-list", ":lang=ja"], capture_output=True, text=True).stdout.strip())
    except OSError:
        return False


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium, installed when missing (with a Japanese font, so that screenshots show the labels);
    the test is skipped, saying why, only where it cannot be installed."""
    found = shutil.which("chromium")
    if found and _has_japanese_font():
        return found
    packages = (["chromium"] if not found else []) + (["fonts-ipafont-gothic"] if not _has_japanese_font() else [])
    try:
        done = apt_install(*packages)
    except (OSError, subprocess.SubprocessError) as exc:
        done = exc
    found = shutil.which("chromium")
    if not found:
        why = done if isinstance(done, Exception) else (done.stderr or done.stdout).strip()[-500:]
        pytest.skip(f"headless Chromium is not installed and `apt-get install -y chromium` failed: {why}")
    return found


# --no-sandbox: Chromium refuses to run as root (CI, containers) with its sandbox; the other two keep its
# frames out of a container's small /dev/shm and off a GPU it does not have
CHROMIUM_ARGS = ["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]


def launch_chromium(playwright, chromium: str):
    return playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)


def capture(page, screenshot: Path) -> None:
    """A full-page screenshot for a person to look at. Chromium's capture can fail once on a loaded CI
    machine ("Unable to capture screenshot", seen in CI); a second failure is raised."""
    from playwright.sync_api import Error

    screenshot.parent.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(screenshot), full_page=True)
    except Error:
        page.wait_for_timeout(500)
        page.screenshot(path=str(screenshot), full_page=True)


def open_in_chromium(chromium: str, url: str, screenshot: Path | None = None) -> dict:
    """Load `url` in headless Chromium; returns console errors, page errors, requests made and the
    rendered size of every chart."""
    from playwright.sync_api import sync_playwright

    seen: dict = {"errors": [], "requests": []}
    with sync_playwright() as p:
        browser = launch_chromium(p, chromium)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.goto(url, wait_until="load")
            seen["charts"] = page.evaluate("""() => [...document.querySelectorAll('svg.chart')].map(svg => {
                const box = svg.getBoundingClientRect();
                const bars = [...svg.querySelectorAll('rect.bar')].map(r => r.getBoundingClientRect().width);
                return {label: svg.getAttribute('aria-label'), width: box.width, height: box.height,
                        drawn_bars: bars.filter(w => w > 0).length};
            })""")
            seen["scripts"] = page.evaluate("document.querySelectorAll('script').length")
            seen["titles"] = page.evaluate("[...document.querySelectorAll('.card h3')].map(h => h.textContent)")
            if screenshot is not None:
                capture(page, screenshot)
        finally:
            browser.close()
    return seen


def test_console_errors_are_caught(chromium, tmp_path):
    """The check below can fail: a malformed chart and a blocked fetch both reach the console."""
    bad = tmp_path / "bad.html"
    bad.write_text('<meta http-equiv="Content-Security-Policy" content="default-src \'none\'">'
                   '<svg class="chart"><rect class="bar" width="wide"/></svg><img src="https://example.invalid/x.png">')
    seen = open_in_chromium(chromium, bad.as_uri())
    assert any("attribute width" in e for e in seen["errors"]), seen["errors"]
    assert any("Content Security Policy" in e for e in seen["errors"]), seen["errors"]


def test_report_renders_its_charts_in_headless_chromium_without_console_errors(report_run, chromium):
    _, path = report_run
    shot = REPO / "data" / "report_screenshot.png"
    shot.unlink(missing_ok=True)
    seen = open_in_chromium(chromium, path.as_uri(), shot)
    assert seen["errors"] == []
    assert seen["requests"] == [path.as_uri()]  # the page alone: nothing fetched
    assert seen["scripts"] == 0
    # a funnel per channel with data (Webinar, the evil one), ROAS, and one plan per current target period
    charts = seen["charts"]
    assert [c["label"] for c in charts[:2]] == ["ウェビナー", EVIL_LABEL]
    assert "ROAS" in [c["label"] for c in charts]
    assert len(charts) >= 4
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 20, chart
        assert chart["drawn_bars"] >= 1, chart
    assert seen["titles"][:2] == ["ウェビナー", EVIL_LABEL]  # the label shows as text, not as markup
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------- phone and wide screen

SEN = re.compile(r"¥\d[\d,]*\.\d")  # an amount with sen: ¥1,234.5


def layout_in_chromium(chromium: str, url: str, width: int, height: int, screenshot: Path | None = None) -> dict:
    """Open `url` at width x height: how wide the document is, where the headline is and what it says, the
    elements sticking out of the screen (outside a table's own scroll box), and the page's text."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch_chromium(p, chromium)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url, wait_until="load")
            seen = page.evaluate("""() => {
                const h = document.getElementById('headline');
                const box = h.getBoundingClientRect();
                const out = [...document.body.querySelectorAll('*')]
                    .filter(e => !e.closest('.scroll') && e.getBoundingClientRect().right > window.innerWidth + 0.5)
                    .map(e => e.tagName + '.' + (e.getAttribute('class') || ''));
                return {scroll_width: document.documentElement.scrollWidth, inner_width: window.innerWidth,
                        inner_height: window.innerHeight, headline_top: box.top, headline_text: h.innerText,
                        pace_top: h.querySelector('.kpis .kpi:nth-child(3)')?.getBoundingClientRect().top,
                        out: out.slice(0, 10), text: document.body.innerText,
                        tables: document.querySelectorAll('table').length,
                        scrolling_tables: document.querySelectorAll('div.scroll > table').length,
                        chart_widths: [...document.querySelectorAll('svg.chart')]
                            .map(s => s.getBoundingClientRect().width)};
            }""")
            seen["html"] = page.content()
            seen["errors"] = errors
            if screenshot is not None:
                capture(page, screenshot)
        finally:
            browser.close()
    return seen


@pytest.mark.parametrize("width, height", [(390, 844), (1400, 900)])
def test_the_page_fits_a_phone_and_a_wide_screen_in_chromium(marts, tmp_path, report_run, chromium, width, height):
    """At 390 px (a phone) and 1400 px: no sideways scrolling of the page (tables scroll in their own box,
    charts shrink), the headline is on the first screen and names the target period and the pace, and no
    amount shows sen. Both the hand-made marts (every section, a long hostile label) and a real run."""
    fixture = tmp_path / "fixture_report.html"
    fixture.write_text(render(marts, config_dir_with(tmp_path)), encoding="utf-8")
    _, real = report_run
    for name, path, period in (("fixture", fixture, "FY2026"), ("run", real, "2026-08")):
        seen = layout_in_chromium(chromium, path.as_uri(), width, height,
                                  REPO / "data" / f"report_screenshot_{name}_{width}.png")
        assert seen["errors"] == [], (name, seen["errors"])
        assert seen["inner_width"] == width
        assert seen["scroll_width"] <= seen["inner_width"], (name, seen["scroll_width"], seen["out"])
        assert seen["out"] == [], (name, seen["out"])
        assert seen["tables"] == seen["scrolling_tables"] > 0, name  # every table in its own scroll box
        assert all(0 < w <= width for w in seen["chart_widths"]), (name, seen["chart_widths"])
        assert seen["headline_top"] < seen["inner_height"], name
        assert seen["pace_top"] is not None and seen["pace_top"] < seen["inner_height"], name  # the pace too
        assert period in seen["headline_text"] and "進捗ペース" in seen["headline_text"], seen["headline_text"]
        assert not SEN.search(seen["text"]) and not SEN.search(seen["html"]), SEN.findall(seen["html"])[:5]
