"""Ad platforms' web-UI downloads dropped into spend/ as downloaded: Google Ads ("CSV" and "CSV for Excel",
English and Japanese UI), Microsoft Advertising, through the built-in profiles of schemas/profiles/.

The real files are read in place from ../shared/real-exports (SOURCES.md sections 8 and 9), never copied
into this repository; without them those tests skip and say why. Their check figures are SOURCES.md's, or
recomputed here with the csv module, independently of the pipeline's reader. The hand-made fixtures'
expected sums are worked out by hand in the comments.
"""

import codecs
import csv
import io
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.core.settings import working_database_path
from assets.ingest.load import ingest_source
from schemas import SOURCES
from schemas.config import ConfigError
from schemas.currency import FxRates
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR, SHARED, query, run_funnel_job, write_export

# beside the checkout (as tests/test_real_exports.py reads them), else where the team keeps them
REAL = next((p for p in (SHARED / "real-exports", Path("/work/shared/real-exports")) if p.is_dir()),
            SHARED / "real-exports")
GOOGLE_CAMPAIGNS = REAL / "google_ads_ui_exports/intragoinc_calpreserving/Campaign report.csv"
GOOGLE_AD_GROUPS = REAL / "google_ads_ui_exports/vida_getcprdone/Ad group report.csv"
MICROSOFT = REAL / "microsoft_ads_export/petesbrain_clearprospects/campaign-e0fa0590-4da3-937e-0f49-e6adaa300180.csv"

# SOURCES.md section 9: spend by month of the Microsoft Advertising campaign report.
MICROSOFT_BY_MONTH = {
    date(2025, 1, 1): Decimal("301.22"), date(2025, 2, 1): Decimal("120.56"), date(2025, 3, 1): Decimal("148.25"),
    date(2025, 4, 1): Decimal("589.64"), date(2025, 5, 1): Decimal("357.55"), date(2025, 6, 1): Decimal("511.81"),
    date(2025, 7, 1): Decimal("449.59"), date(2025, 8, 1): Decimal("605.99"), date(2025, 9, 1): Decimal("378.17"),
    date(2025, 10, 1): Decimal("425.24"), date(2025, 11, 1): Decimal("328.20"),
}
SEPTEMBER = "September 1, 2026 - September 30, 2026"


def _real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real export not present at {path} (kept outside the repo)")
    return path


# The real downloads are in US dollars, the hand-made monthly one in pounds: a spend file in a currency
# without a rate for its month is refused (tests/e2e/test_currency.py), so these tests give one.
RATES = FxRates("JPY", {(date(2026, 9, 1), "USD"): Decimal(150), (date(2026, 1, 1), "GBP"): Decimal(190),
                        (date(2026, 2, 1), "GBP"): Decimal(190)})


def _load(tmp_path: Path, name: str, content: bytes, config_dir: Path | None = None):
    """One file loaded into an empty in-memory warehouse: (connection, outcome)."""
    inbox = tmp_path / "inbox"
    (inbox / "spend").mkdir(parents=True, exist_ok=True)
    (inbox / "spend" / name).write_bytes(content)
    con = duckdb.connect()
    result = ingest_source(con, SOURCES["spend"], inbox, load_profiles(config_dir), "Asia/Tokyo", "test", fx=RATES)
    return con, (result.loaded + result.rejected)[0]


def _with_range(path: Path, line: str) -> bytes:
    """The real Google Ads download with its preamble line 2 ("All time") replaced, in its own encoding
    (the "CSV for Excel" one stays UTF-16 LE with BOM) and line ends."""
    raw = path.read_bytes()
    utf16 = raw.startswith(codecs.BOM_UTF16_LE)
    text = raw.decode("utf-16" if utf16 else "utf-8")
    first, second, rest = text.split("\n", 2)
    assert second.rstrip("\r") == "All time"
    text = "\n".join([first, line, rest])
    return codecs.BOM_UTF16_LE + text.encode("utf-16-le") if utf16 else text.encode("utf-8")


def _sums(con) -> tuple:
    return con.execute("SELECT count(*), sum(impressions), sum(clicks), sum(cost) FROM raw.spend").fetchone()


# ---- the real Google Ads downloads (SOURCES.md section 8), both over "All time"

@pytest.mark.parametrize("path", [GOOGLE_CAMPAIGNS, GOOGLE_AD_GROUPS], ids=["campaigns csv", "ad groups csv for excel"])
def test_a_real_google_ads_download_over_all_time_is_refused_saying_what_to_download(tmp_path, path):
    con, outcome = _load(tmp_path, path.name, _real(path).read_bytes())

    assert outcome.status == "rejected"
    assert outcome.message == (
        f"spend/{path.name}: is a Google Ads report download (English UI) over \"All time\" without a date column "
        "(Day, Month): its rows are totals over no known dates and cannot be counted in any month. Download it "
        "again with the Day segment (Segment > Time > Day, or a Day column in the Report editor), or for a date "
        "range within one month")
    assert con.execute("SELECT count(*) FROM raw.spend").fetchone() == (0,)


# (file, rows, impressions, clicks, cost, total rows left out, raw channels): SOURCES.md's check figures
GOOGLE_COPIES = [
    (GOOGLE_CAMPAIGNS, f'"{SEPTEMBER}"', 12, 14_117_313, 167_739, Decimal("199421.15"), 5,
     {"Search", "Display", "Performance Max"}),
    # the ad-group report has no Campaign type: its rows get the constant channel "Google Ads"
    (GOOGLE_AD_GROUPS, SEPTEMBER, 8, 229_344, 23_098, Decimal("46250.96"), 4, {"Google Ads"}),
]


@pytest.mark.parametrize("path, line, rows, impressions, clicks, cost, totals, channels", GOOGLE_COPIES,
                         ids=["campaigns csv", "ad groups csv for excel"])
def test_a_real_google_ads_download_over_one_month_loads_its_check_figures_as_range_totals(
        tmp_path, path, line, rows, impressions, clicks, cost, totals, channels):
    con, outcome = _load(tmp_path, path.name, _with_range(_real(path), line))

    assert (outcome.status, outcome.profile, outcome.rows, outcome.quarantined) == (
        "loaded", "google_ads_en", rows, 0), outcome.message
    # the Total: rows (Total: Account is larger than the rows' sum) are left out, never added
    assert _sums(con) == (rows, impressions, clicks, cost)
    assert con.execute("SELECT header_line, rows_skipped FROM ops.load_log").fetchone() == (3, totals)
    # every row is a total over the preamble's range; the duplicated Currency code column is read once
    assert con.execute("SELECT DISTINCT date, date_end, currency FROM raw.spend").fetchall() == [
        (date(2026, 9, 1), date(2026, 9, 30), "USD")]
    assert {c for (c,) in con.execute("SELECT DISTINCT channel FROM raw.spend").fetchall()} == channels


def test_a_google_ads_table_without_a_date_column_and_without_a_range_is_refused(tmp_path):
    text = "Campaign report\nCampaign,Campaign type,Impr.,Clicks,Currency code,Cost\nBrand,Search,100,5,JPY,500\n"
    _, outcome = _load(tmp_path, "report.csv", text.encode())

    assert outcome.status == "rejected"
    assert "the closest, 'google_ads_en', lacks the required column(s) date" in outcome.message


def test_a_sheet_that_merely_shares_google_ads_column_names_is_not_read_as_google_ads(tmp_path):
    """Day, Campaign and Cost without Impr., Currency code or Campaign type: no constant channel is given."""
    _, outcome = _load(tmp_path, "sheet.csv", b"Day,Campaign,Cost\n2026-09-01,Brand,500\n")

    assert outcome.status == "rejected" and "matches no export profile for spend" in outcome.message


# ---- the real Microsoft Advertising download (SOURCES.md section 9)

def test_the_real_microsoft_ads_download_loads_its_spend_by_month(tmp_path):
    path = _real(MICROSOFT)
    con, outcome = _load(tmp_path, path.name, path.read_bytes())

    assert (outcome.status, outcome.profile, outcome.quarantined) == ("loaded", "microsoft_ads", 0), outcome.message
    # 158 data rows: the 38 with a month load; the 120 with Month "-" and nothing but zeros carry nothing and
    # are left out with the 5 total rows (Search total ... Overall total)
    assert _sums(con) == (38, 329_005, 4_258, Decimal("4216.22"))
    assert con.execute("SELECT header_line, rows_read, rows_skipped FROM ops.load_log").fetchone() == (4, 38, 125)
    assert dict(con.execute("SELECT date, sum(cost) FROM raw.spend GROUP BY 1").fetchall()) == MICROSOFT_BY_MONTH
    # months, not days; no currency in the file: NULL, the reporting currency assumed
    assert con.execute("SELECT DISTINCT date_grain, currency, date_end FROM raw.spend").fetchall() == [
        ("month", None, None)]
    # recomputed with the csv module: the rows with a month, their Campaign Type as the raw channel; the rows
    # left out are exactly the Month "-" rows, all zeros
    with path.open(encoding="utf-8-sig", newline="") as f:
        rows = [r for r in csv.DictReader(io.StringIO("".join(f.readlines()[3:]))) if not r["Month"].endswith("total")]
    dated, idle = [r for r in rows if r["Month"] != "-"], [r for r in rows if r["Month"] == "-"]
    channels: dict[str, int] = {}
    for r in dated:
        channels[r["Campaign Type"]] = channels.get(r["Campaign Type"], 0) + 1
    assert dict(con.execute("SELECT channel, count(*) FROM raw.spend GROUP BY 1").fetchall()) == channels
    assert len(idle) == 120 and all(r["Spend"] == r["Clicks"] == r["Impr."] == "0" for r in idle)


def test_a_microsoft_ads_row_without_a_month_but_with_spend_is_quarantined_not_dropped(tmp_path):
    path = _real(MICROSOFT)
    text = path.read_bytes().decode("utf-8-sig")
    idle = "-,[181350135],Paused,CPL | BMPM | Cushions | Broad,30,DailyBudgetStandard,Campaign paused,Search,0,0,0%,0,0,"
    assert text.count(idle) == 1
    spent = idle.replace("Search,0,0,0%,0,0,", "Search,3,120,2.5%,1.5,4.50,")
    con, outcome = _load(tmp_path, path.name, codecs.BOM_UTF8 + text.replace(idle, spent).encode("utf-8"))

    assert (outcome.status, outcome.rows, outcome.quarantined) == ("loaded", 38, 1), outcome.message
    problem = con.execute("SELECT column_name, problem FROM quarantine.spend").fetchone()
    assert problem[0] == "date" and "empty" in problem[1]
    assert con.execute("SELECT rows_skipped FROM ops.load_log").fetchone() == (124,)


# ---- end to end: the real files through the job, into marts.channel_roi

def _base_inbox(root: Path) -> Path:
    """The other sources' smallest files, so that the job runs; no spend among them."""
    inbox = root / "inbox"
    write_export(inbox, "leads", "leads.csv", "lead_id,created_at,lead_source\nL1,2026-07-05 10:00,Webinar\n")
    write_export(inbox, "deals", "deals.csv", "deal_id,created_at,stage,lead_id,amount\n"
                 "D1,2026-07-06,Closed Won,L1,1000000\n")
    write_export(inbox, "ga4_sessions", "ga4.csv", "date,session_source,session_medium,sessions\n"
                 "2026-07-01,google,organic,100\n")
    return inbox


def test_the_real_downloads_reach_channel_roi_by_month_and_campaign_type(tmp_path):
    inbox = _base_inbox(tmp_path)
    (inbox / "spend").mkdir()
    shutil.copy(_real(MICROSOFT), inbox / "spend" / MICROSOFT.name)
    (inbox / "spend" / "google_campaigns_september.csv").write_bytes(
        _with_range(_real(GOOGLE_CAMPAIGNS), f'"{SEPTEMBER}"'))
    (inbox / "spend" / "google_ad_groups_september.csv").write_bytes(_with_range(_real(GOOGLE_AD_GROUPS), SEPTEMBER))
    warehouse = tmp_path / "funnel.duckdb"
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "fx_rates.csv").write_text("month,currency,rate\n2026-09,USD,150\n", encoding="utf-8")

    result = run_funnel_job(inbox, warehouse, config)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    roi = query(warehouse, "SELECT period_start, channel, spend FROM marts.channel_roi WHERE spend > 0")
    # Microsoft: Search campaigns are Paid Search, Audience ones Display; by month as SOURCES.md says
    by_month: dict[date, Decimal] = {}
    for period, _, spend in roi:
        by_month[period] = by_month.get(period, Decimal(0)) + spend
    assert {m: s for m, s in by_month.items() if m.year == 2025} == MICROSOFT_BY_MONTH
    # Google Ads, September 2026 range totals: Campaign type decides (Search -> Paid Search; Display and
    # Performance Max -> Display), summed per type from the file with the csv module; the ad-group rows
    # (no Campaign type: "Google Ads") are Paid Search
    with GOOGLE_CAMPAIGNS.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(io.StringIO("".join(f.readlines()[2:])))
                if not r["Campaign status"].startswith("Total: ")]
    by_type: dict[str, Decimal] = {}
    for r in rows:
        by_type[r["Campaign type"]] = by_type.get(r["Campaign type"], Decimal(0)) + Decimal(r["Cost"])
    september = {c: s for p, c, s in roi if p == date(2026, 9, 1)}
    # in dollars at 150 yen each (a cent is 1.50 yen: exact, nothing to round); Microsoft's file has no
    # currency, so it is in the reporting currency
    assert september == {"Paid Search": (by_type["Search"] + Decimal("46250.96")) * 150,
                         "Display": (by_type["Display"] + by_type["Performance Max"]) * 150}
    counted = query(working_database_path(warehouse), "SELECT date_grain, count(*) FROM staging.spend GROUP BY 1")
    assert dict(counted) == {"month": 38, "range": 12 + 8}


# ---- a hand-made Google Ads daily download: one channel (Search), August and September 2026

GOOGLE_DAILY_EN = ["Campaign report", "August 30, 2026 - September 2, 2026",
                   "Day\tCampaign status\tCampaign\tBudget name\tCampaign type\tCurrency code\tImpr.\tClicks\tCost\t"
                   "Search impr. share"]
GOOGLE_DAILY_JA = ["キャンペーン レポート", "2026年8月30日 - 2026年9月2日",
                   "日\tキャンペーンのステータス\tキャンペーン\t予算名\tキャンペーン タイプ\t通貨コード\t表示回数\tクリック数\t"
                   "費用\t検索インプレッション シェア"]
# Day, status, campaign, budget name, impressions, clicks, cost. Worked out by hand:
#   August 2026:    impressions 1,200 + 800 + 12,500 = 14,500; clicks 30 + 20 + 210 = 260;
#                   cost 4,500 + 3,000 + 25,000 = 32,500
#   September 2026: impressions 900 + 10,000 + 11,000 = 21,900; clicks 25 + (" --", no value) + 190 = 215;
#                   cost 3,600 + 18,000.75 + 21,000 = 42,600.75
DAILY = [
    ("2026-08-30", "Brand", '"1,200"', "30", "4500"),
    ("2026-08-31", "Brand", "800", "20", "3000"),
    ("2026-08-31", "Generic", '"12,500"', "210", '"25,000"'),
    ("2026-09-01", "Brand", "900", "25", "3600"),
    ("2026-09-01", "Generic", '"10,000"', " --", "18000.75"),
    ("2026-09-02", "Generic", '"11,000"', "190", "21000"),
]


def _google_daily(lang: str) -> bytes:
    """The download as "CSV for Excel" writes it: UTF-16 LE with BOM, tab-separated, the two preamble lines,
    " --" for no value, quoted thousands, and total rows whose label is in the second cell (the Day segment
    comes first) that repeat the sums and must never be added."""
    head, search, label, enabled = ((GOOGLE_DAILY_EN, "Search", "Total: ", "Enabled") if lang == "en" else
                                    (GOOGLE_DAILY_JA, "検索", "合計: ", "有効"))
    lines = list(head)
    for day, campaign, impressions, clicks, cost in DAILY:
        lines.append("\t".join([day, enabled, campaign, " --", search, "JPY", impressions, clicks, cost, "< 10%"]))
    what = ("Campaigns", "Account", "Search") if lang == "en" else ("キャンペーン", "アカウント", "検索")
    lines.append("\t".join([" --", label + what[0], " --", " --", " --", "JPY", '"36,400"', "475", "75100.75", " --"]))
    lines.append("\t".join(["", label + what[1], "", "", "", "JPY", '"36,400"', "475", "75100.75", ""]))
    lines.append("\t".join(["2026-08-31", label + what[2], "", "", search, "JPY", '"13,300"', "230", "28000", ""]))
    return codecs.BOM_UTF16_LE + ("\r\n".join(lines) + "\r\n").encode("utf-16-le")


# the same costs as funnel sync's own rows
NATIVE_DAILY = """date,channel,campaign,cost,impressions,clicks,currency
2026-08-30,Search,Brand,4500,1200,30,JPY
2026-08-31,Search,Brand,3000,800,20,JPY
2026-08-31,Search,Generic,25000,12500,210,JPY
2026-09-01,Search,Brand,3600,900,25,JPY
2026-09-01,Search,Generic,18000.75,10000,,JPY
2026-09-02,Search,Generic,21000,11000,190,JPY
"""


def test_a_google_ads_daily_download_gives_the_spend_of_the_same_costs_given_as_native_rows(tmp_path):
    runs = {}
    for name, content in [("google", _google_daily("en")), ("native", NATIVE_DAILY.encode())]:
        inbox = _base_inbox(tmp_path / name)
        (inbox / "spend").mkdir()
        (inbox / "spend" / f"{name}.csv").write_bytes(content)
        warehouse = tmp_path / name / "funnel.duckdb"
        result = run_funnel_job(inbox, warehouse)
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        runs[name] = warehouse

    google, native = runs["google"], runs["native"]
    assert query(google, "SELECT profile, rows_read, rows_skipped FROM ops.load_log WHERE source = 'spend'") == [
        ("google_ads_en", 6, 3)]
    spend = "SELECT period_start, channel, spend FROM marts.channel_roi WHERE spend > 0 ORDER BY 1"
    assert query(google, spend) == query(native, spend) == [
        (date(2026, 8, 1), "Paid Search", Decimal("32500")), (date(2026, 9, 1), "Paid Search", Decimal("42600.75"))]
    by_month = ("SELECT month_start(date), sum(impressions), sum(clicks), sum(cost) FROM {} GROUP BY 1 ORDER BY 1")
    expected = [(date(2026, 8, 1), 14_500, 260, Decimal("32500")), (date(2026, 9, 1), 21_900, 215, Decimal("42600.75"))]
    for warehouse in (google, native):
        work = working_database_path(warehouse)
        assert query(work, by_month.format("raw.spend")) == expected
        assert query(work, by_month.format("staging.spend")) == expected
    # " --" is no value: that row's clicks are empty, not zero
    assert query(working_database_path(google), "SELECT count(*) FROM raw.spend WHERE clicks IS NULL") == [(1,)]


def test_japanese_google_ads_headers_load_the_same_as_english(tmp_path):
    loaded = {}
    for lang in ("en", "ja"):
        con, outcome = _load(tmp_path / lang, f"{lang}.csv", _google_daily(lang))
        assert (outcome.status, outcome.profile, outcome.rows) == ("loaded", f"google_ads_{lang}", 6), outcome.message
        assert con.execute("SELECT rows_skipped FROM ops.load_log").fetchone() == (3,)
        loaded[lang] = con.execute("SELECT date, date_grain, date_end, campaign, cost, impressions, clicks, currency "
                                   "FROM raw.spend ORDER BY _source_row").fetchall()
        assert {c for (c,) in con.execute("SELECT DISTINCT channel FROM raw.spend").fetchall()} == {
            "en": {"Search"}, "ja": {"検索"}}[lang]  # both Paid Search through channels.yaml

    assert loaded["ja"] == loaded["en"]
    assert sum(r[4] for r in loaded["en"]) == Decimal("75100.75")


def test_a_japanese_google_ads_report_over_a_month_is_a_range_total_and_all_time_is_refused(tmp_path):
    header = "キャンペーン\tキャンペーン タイプ\t表示回数\tクリック数\t通貨コード\t費用"
    rows = ["ブランド\tP-MAX\t\"1,000\"\t10\tJPY\t5000", "合計: アカウント\t\t\"1,000\"\t10\tJPY\t5000"]

    def report(period: str) -> bytes:
        return codecs.BOM_UTF16_LE + "\n".join(["キャンペーン レポート", period, header, *rows, ""]).encode("utf-16-le")

    con, outcome = _load(tmp_path / "month", "report.csv", report("2026年9月1日 - 2026年9月30日"))
    assert (outcome.status, outcome.profile, outcome.rows) == ("loaded", "google_ads_ja", 1), outcome.message
    assert con.execute("SELECT date, date_end, channel, cost FROM raw.spend").fetchall() == [
        (date(2026, 9, 1), date(2026, 9, 30), "P-MAX", Decimal("5000"))]

    _, outcome = _load(tmp_path / "all", "report.csv", report("全期間"))
    assert outcome.status == "rejected"
    assert 'is a Google 広告 report download (Japanese UI) over "全期間" without a date column (日, 日付, 月)' in outcome.message


def test_a_google_ads_month_column_is_stored_as_months(tmp_path):
    text = ("Campaign report\n\"1 January 2026 - 31 May 2026\"\n"
            "Month,Campaign,Campaign type,Currency code,Impr.,Clicks,Cost\n"
            "January 2026,Brand,Search,GBP,\"1,547\",78,1593.47\n"
            "2026-02-01,Brand,Search,GBP,100,5,50\n"
            " --,Total: Campaigns, --,GBP,\"1,647\",83,1643.47\n")
    con, outcome = _load(tmp_path, "monthly.csv", text.encode())

    assert (outcome.status, outcome.rows) == ("loaded", 2), outcome.message
    assert con.execute("SELECT date, date_grain, date_end FROM raw.spend ORDER BY 1").fetchall() == [
        (date(2026, 1, 1), "month", None), (date(2026, 2, 1), "month", None)]


def test_a_range_pattern_without_its_groups_is_refused_at_start_up(tmp_path):
    config = tmp_path / "config"
    (config / "profiles").mkdir(parents=True)
    (config / "profiles" / "mine.yaml").write_text(
        "name: mine\nlayout:\n  header_within: 3\n  range: ['^(\\d{8})$']\n"
        "sources:\n  spend:\n    aliases:\n      cost: [Cost]\n", encoding="utf-8")

    with pytest.raises(ConfigError, match="needs two groups"):
        load_profiles(config)
