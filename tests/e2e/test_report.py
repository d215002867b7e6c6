"""The funnel report (issue 6, item 2): values worked out by hand on tiny marts, every value
escaped, Japanese or English from config/report.yaml, a real run writes the file and links it
in its metadata, and headless Chromium renders its charts with no console error."""

import os
import shutil
import subprocess
from datetime import date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb
import pytest

from assets.report.data import current_periods, read_report_data
from assets.report.labels import Labels, fmt_rate, fmt_yen
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
    sqls BIGINT, opportunities BIGINT, wins BIGINT, revenue DECIMAL(18, 2));
CREATE TABLE marts.channel_roi (period_start DATE, channel VARCHAR, spend DECIMAL(18, 2), leads BIGINT, mqls BIGINT,
    opportunities BIGINT, wins BIGINT, revenue DECIMAL(18, 2));
CREATE TABLE marts.target_plan (period VARCHAR, period_start DATE, period_end DATE, channel VARCHAR, stage VARCHAR,
    stage_order INTEGER, rate_name VARCHAR, rate_used DOUBLE, required DECIMAL(20, 2), actual DECIMAL(20, 2),
    gap DECIMAL(20, 2), pace DOUBLE, as_of DATE);
CREATE TABLE marts.bottlenecks (period_start DATE, channel VARCHAR, transition VARCHAR, from_count BIGINT,
    to_count BIGINT, actual_rate DOUBLE, reference_rate DOUBLE, gap_points DOUBLE, lost_revenue DECIMAL(18, 2),
    is_bottleneck BOOLEAN, significant BOOLEAN, maturity VARCHAR);
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
# 6 leads: CPA 2,057.61 (2,057.611.. rounded half up), no wins: CAC –, ROAS 0.00, ROI -100.0%.
ROI = [
    ("2026-07-01", "Webinar", "999", 100, 5, "9000000"),
    ("2026-08-01", "Webinar", "1000000", 30, 1, "1500000.50"),
    ("2026-09-01", "Webinar", "0", 10, 1, "2000000"),
    ("2026-08-01", EVIL_NAME, "12345.67", 6, 0, "0"),
    ("2026-09-01", EVIL_NAME, "0", 0, 0, "0"),
    ("2026-09-01", "Other", "0", 2, 0, "0"),
]
# FY2026 contains its as_of day (2026-10-01: 184 of 365 days elapsed, 50%); 2025-Q1 ended before.
PLAN = [
    ("FY2026", "2026-04-01", "2027-03-31", "All", "impressions", 1, "ctr", None, None, None, None, None),
    ("FY2026", "2026-04-01", "2027-03-31", "All", "opportunities", 6, "win_rate", 0.25, "80", "30", "50", 0.75),
    ("FY2026", "2026-04-01", "2027-03-31", "All", "wins", 7, "avg_deal_size", None, "20", "5", "15", 0.5),
    ("FY2026", "2026-04-01", "2027-03-31", "All", "revenue", 8, None, None, "40000000", "10000000", "30000000", 0.5),
    ("FY2026", "2026-04-01", "2027-03-31", "Webinar", "wins", 7, "avg_deal_size", None, "6", "3", "3", 1.0),
    ("FY2026", "2026-04-01", "2027-03-31", "Webinar", "revenue", 8, None, None, "12000000", "6000000", "6000000", 1.0),
    ("2025-Q1", "2025-04-01", "2025-06-30", "All", "revenue", 8, None, None, "777777", "1", "777776", 0.0),
]
# Webinar's lead_to_mql was the bottleneck in both months of the window (20,000 + 50,000 lost).
BOTTLENECKS = [
    ("2026-07-01", "Webinar", "mql_to_sql", 50, 20, 0.4, 0.5, -10.0, "99999", True, True, "mature"),
    ("2026-08-01", "Webinar", "lead_to_mql", 30, 12, 0.4, 0.5, -10.0, "20000", True, True, "mature"),
    ("2026-09-01", "Webinar", "lead_to_mql", 10, 4, 0.4, 0.5, -10.0, "50000", True, True, "mature"),
    ("2026-09-01", "Webinar", "mql_to_sql", 4, 3, 0.75, 0.5, 25.0, "0", False, False, "too_early"),
]


@pytest.fixture
def marts(tmp_path) -> Path:
    path = tmp_path / "wh" / "funnel.work.duckdb"
    path.parent.mkdir()
    with duckdb.connect(str(path)) as con:
        prepare_working_database(con)  # schemas, ops tables, the metric macros: as every run leaves it
        con.execute(MARTS_SQL)
        con.executemany("INSERT INTO marts.channel_funnel VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", FUNNEL)
        con.executemany("INSERT INTO marts.channel_roi (period_start, channel, spend, leads, wins, revenue) "
                        "VALUES (?, ?, ?, ?, ?, ?)", ROI)
        con.executemany("INSERT INTO marts.target_plan VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '2026-10-01')",
                        PLAN)
        con.executemany("INSERT INTO marts.bottlenecks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", BOTTLENECKS)
    return path


def render(marts: Path, config_dir: Path, language: str = "ja", months: int = 2) -> str:
    with duckdb.connect(str(marts), read_only=True) as con:
        data = read_report_data(con, months)
    return render_report(data, load_config(config_dir).channels, language, NOW)


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
    assert fmt_yen(Decimal("3500000.50")) == "¥3,500,000.50"
    assert fmt_yen(Decimal("-20000.00")) == "-¥20,000"
    assert fmt_yen(Decimal("12345678901234567.89")) == "¥12,345,678,901,234,567.89"  # exact, no float
    assert fmt_yen(None) == "–"


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
        ("Webinar", "lead_to_mql"): (2, Decimal("70000.00")), ("Webinar", "mql_to_sql"): (0, Decimal(0))}


def test_report_shows_the_hand_computed_values(marts, tmp_path):
    html = render(marts, config_dir_with(tmp_path))
    for text in ["2026-08 – 2026-09", "40.0% (16/40)", "50.0% (8/16)", "100.0% (8/8)", "25.0% (2/8)",
                 "12.0% (48/400)", "1.5% (6/400)", "50.0% (3/6)", "0.0% (0/3)", "0.0% (0/2)",
                 "¥3,500,000.50", "¥1,000,000", "¥25,000", "¥500,000", "3.50", "250.0%",
                 "¥2,057.61", "-100.0%", "¥1,012,345.67",
                 "¥40,000,000", "¥10,000,000", "¥30,000,000", "¥12,000,000", "50%", "75%",
                 "★ 2 (¥70,000)", "40.0% (4/10)", "75.0% (3/4)"]:
        assert text in html, text
    assert "9,000,000" not in html and "¥999" not in html  # 2026-07 lies outside the two months
    assert "2025-Q1" not in html and "777,777" not in html  # not the current target period
    assert "インプレッション" not in html  # no ctr: no impressions row
    # the bottleneck cell of 2026-09 is highlighted, the other one is not
    assert '<td class="num bottleneck">★ 40.0% (4/10)' in html
    assert '<td class="num">75.0% (3/4)' in html
    # five charts: a funnel per channel with data (Webinar, evil, Other), ROAS, the plan
    assert html.count("<svg ") == 5


def test_every_value_from_the_data_and_the_configuration_is_escaped(marts, tmp_path):
    config_dir = config_dir_with(tmp_path)
    for language, shown in (("ja", EVIL_LABEL), ("en", EVIL_NAME)):
        html = render(marts, config_dir, language)
        assert Tags(html).tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "div",
                                   "table", "tr", "th", "td", "span", "br", "svg", "text", "rect", "line"}
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
    assert not any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in en)  # no Japanese left
    labels = Labels("ja", load_config(config_dir).channels)
    assert (labels.channel("All"), labels.channel("Unattributed"), labels.channel("Mystery")) == (
        "全体", "流入元なし", "Mystery")


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


def open_in_chromium(chromium: str, url: str, screenshot: Path | None = None) -> dict:
    """Load `url` in headless Chromium; returns console errors, page errors, requests made and the
    rendered size of every chart."""
    from playwright.sync_api import sync_playwright

    seen: dict = {"errors": [], "requests": []}
    with sync_playwright() as p:
        # --no-sandbox: Chromium refuses to run as root (CI, containers) with its sandbox
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
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
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
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
