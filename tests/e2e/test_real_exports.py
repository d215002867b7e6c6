"""Real downloads from public repositories (../shared/real-exports/, see its SOURCES.md):
every file loads with a built-in profile, or with a user profile for a tool we do not
ship, or is refused with a message that says what is missing. The files are read in
place, never copied into this repository; without them these tests skip and say why.

Expected numbers are either read off the files by hand (noted) or recomputed here
with the csv module, independently of the pipeline's reader.
"""

import csv
import shutil
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from assets.ingest.load import ingest_source
from assets.core.settings import working_database_path
from schemas import SOURCES
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR, SHARED, query, run_funnel_job

REAL = SHARED / "real-exports"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason=f"real exports not present at {REAL} (kept outside the repo)")
GA4 = REAL / "ga4_ui_exports"


def _load_one(tmp_path: Path, source: str, file: Path, config_dir: Path = CONFIG_DIR):
    inbox = tmp_path / "inbox"
    (inbox / source).mkdir(parents=True)
    shutil.copy(file, inbox / source / file.name)
    con = duckdb.connect()
    result = ingest_source(con, SOURCES[source], inbox, load_profiles(config_dir), "Asia/Tokyo", "test")
    outcome = (result.loaded + result.rejected)[0]
    return con, outcome


# (file, rows, sessions, header line): sessions per channel summed by hand from each file.
GA4_LOADED = [
    ("h2oplumbers/Traffic_acquisition_Session_primary_channel_group_(Default_Channel_Group).csv", 7, 7262, 10),
    ("h2oplumbers/Traffic_acquisition_Session_primary_channel_group_(Default_Channel_Group) (1).csv", 7, 7541, 10),
    ("burnsedia_blog/Traffic_acquisition_Session_primary_channel_group_(Default_Channel_Group).csv", 4, 242, 10),
    # Grand total row with an empty first cell and its label in an extra 11th column: left out.
    ("burnsedia_blog/download.csv", 4, 242, 7),
    # Several tables: the session-by-channel one (line 83) is read, the others ignored.
    ("burnsedia_blog/Acquisition_overview.csv", 4, 242, 83),
    # A Reports snapshot with ~15 tables, including the 2026 "AI Assistant" channel.
    ("fsidigital/Reports_snapshot (1).csv", 9, 3676, 59),
]


@pytest.mark.parametrize("name, rows, sessions, header_line", GA4_LOADED, ids=[g[0] for g in GA4_LOADED])
def test_ga4_ui_downloads_load_with_their_date_range(tmp_path, name, rows, sessions, header_line):
    con, outcome = _load_one(tmp_path, "ga4_sessions", GA4 / name)

    assert (outcome.status, outcome.profile, outcome.rows) == ("loaded", "ga4_ui_en", rows), outcome.message
    assert con.execute("SELECT sum(sessions), count(DISTINCT date), count(DISTINCT date_end), "
                       "bool_and(session_default_channel_group IS NOT NULL) FROM raw.ga4_sessions").fetchone() \
        == (sessions, 1, 1, True)
    assert con.execute("SELECT header_line FROM ops.load_log").fetchone() == (header_line,)
    # The range is the preamble's, never a guess.
    preamble = [ln for ln in (GA4 / name).read_text(encoding="utf-8").splitlines()[:header_line] if ln.startswith("#")]
    start, end = con.execute("SELECT strftime(date, '%Y%m%d'), strftime(date_end, '%Y%m%d') "
                             "FROM raw.ga4_sessions LIMIT 1").fetchone()
    assert any(start in ln for ln in preamble) and any(end in ln for ln in preamble)


GA4_REFUSED = [
    ("h2oplumbers/Landing_page_Landing_page.csv", "session_source (or session_default_channel_group)"),
    ("teefusion/Landing_page_Landing_page.csv", "session_source (or session_default_channel_group)"),
    ("h2oplumbers/User_acquisition_First_user_primary_channel_group_(Default_Channel_Group).csv", "sessions"),
    ("fsidigital/User_acquisition_First_user_primary_channel_group_(Default_Channel_Group).csv", "sessions"),
    ("teefusion/User_acquisition_First_user_primary_channel_group_(Default_Channel_Group).csv", "sessions"),
    ("teefusion/Events_Event_name.csv", "sessions"),
]


@pytest.mark.parametrize("name, lacking", GA4_REFUSED, ids=[g[0] for g in GA4_REFUSED])
def test_non_funnel_ga4_reports_are_refused_saying_what_they_lack(tmp_path, name, lacking):
    con, outcome = _load_one(tmp_path, "ga4_sessions", GA4 / name)

    assert outcome.status == "rejected"
    assert outcome.message.startswith(f"ga4_sessions/{Path(name).name}: matches no export profile for ga4_sessions; "
                                      "the closest, 'ga4_ui_en', lacks the required column(s)")
    assert lacking in outcome.message and "headers found:" in outcome.message
    assert con.execute("SELECT count(*) FROM raw.ga4_sessions").fetchone() == (0,)


def test_every_ga4_ui_download_is_either_loaded_or_refused_by_these_tests():
    covered = {g[0] for g in GA4_LOADED} | {g[0] for g in GA4_REFUSED}
    duplicates = {"h2oplumbers/Landing_page_Landing_page (1).csv",
                  "h2oplumbers/User_acquisition_First_user_primary_channel_group_(Default_Channel_Group) (1).csv",
                  "fsidigital/User_acquisition_First_user_primary_channel_group_(Default_Channel_Group) (1).csv"}
    assert {p.relative_to(GA4).as_posix() for p in GA4.rglob("*.csv")} == covered | duplicates


def _csv_rows(path: Path, encoding: str = "utf-8") -> list[dict]:
    with path.open(encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def test_hubspot_meta_and_ga4_real_exports_run_end_to_end(tmp_path):
    contacts = REAL / "hubspot_exports/vertmon_contacts/all-contacts.PII_REMOVED_SUBSET.csv"
    deals = REAL / "hubspot_exports/questnut_deals/all-deals.PII_REMOVED_SUBSET.csv"
    meta = REAL / "meta_ads_export/teefusion/Untitled-report-Feb-1-2025-to-Aug-4-2025_Reach.csv"
    snapshot = GA4 / "fsidigital/Reports_snapshot (1).csv"
    inbox = tmp_path / "inbox"
    for source, f in [("leads", contacts), ("deals", deals), ("spend", meta), ("ga4_sessions", snapshot)]:
        (inbox / source).mkdir(parents=True, exist_ok=True)
        shutil.copy(f, inbox / source / f.name)
    warehouse = tmp_path / "funnel.duckdb"
    # Meta's spend is in rupees: without a rate for its month the file is refused, never added to yen
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)

    refused = run_funnel_job(inbox, tmp_path / "without_rates.duckdb", config)

    # the spend file is held back (its check fails), the rest of the night goes through
    [held] = [e for e in refused.get_asset_check_evaluations() if e.check_name == "spend_no_file_refused"]
    assert not held.passed
    assert query(working_database_path(tmp_path / "without_rates.duckdb"),
                 "SELECT file_name, status, message LIKE '%INR for 2025-02%' FROM ops.load_log WHERE source = 'spend'") == [
        (f"spend/{meta.name}", "rejected", True)]

    (config / "fx_rates.csv").write_text("month,currency,rate\n2025-02,INR,1.75\n", encoding="utf-8")
    result = run_funnel_job(inbox, warehouse, config)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert query(warehouse, "SELECT profile, count(*), sum(rows_read) FROM ops.load_log GROUP BY 1 ORDER BY 1") == [
        ("ga4_ui_en", 1, 9), ("hubspot_en", 2, 1001 + 438), ("meta_ads", 1, 15)]

    # Leads by channel: SOURCES.md's Original Traffic Source counts through channels.yaml.
    assert dict(query(warehouse, "SELECT channel, sum(leads) FROM marts.channel_funnel GROUP BY 1 HAVING sum(leads) > 0")) == {
        "Organic Social": 637, "Direct": 267, "Paid Social": 61, "Referral": 21,
        "Other": 12,  # Other Campaigns
        "Outbound": 2,  # Offline Sources: entered or imported in the CRM
        "Organic Search": 1}

    # Deals: Is Closed Won decides the wins (12) whatever the custom stage label; revenue = their amounts.
    rows = _csv_rows(deals)
    won = [r for r in rows if r["Is Closed Won"] == "true"]
    assert len(won) == 12
    expected_revenue = sum(Decimal(r["Amount"] or "0") for r in won)
    assert query(warehouse, "SELECT sum(opportunities), sum(wins), sum(revenue) FROM marts.channel_funnel") == [
        (438, 12, expected_revenue)]

    # Meta: 15 campaign rows over 2025-02-01..2025-08-04; the summary row is not data, and the
    # multi-month range is loaded but not counted in monthly marts (with a warning), never spread by guess.
    meta_rows = _csv_rows(meta, "utf-8-sig")
    summary, campaigns = meta_rows[0], meta_rows[1:]
    assert summary["Campaign name"] == ""
    # each row converted at 1.75 yen a rupee, rounded to the sen
    assert query(working_database_path(warehouse),
                 "SELECT count(*), sum(cost_in_currency), sum(cost), min(currency) FROM staging.spend_not_counted") == [
        (len(campaigns), sum(Decimal(r["Amount spent (INR)"]) for r in campaigns),
         sum((Decimal(r["Amount spent (INR)"]) * Decimal("1.75")).quantize(Decimal("0.01"), "ROUND_HALF_UP")
             for r in campaigns), "INR")]
    assert query(warehouse, "SELECT coalesce(sum(spend), 0) FROM marts.channel_roi") == [(0,)]
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"}
    assert checks["spend_counted_once"] is False
    assert checks["sessions_counted_once"] is True

    # GA4 Reports snapshot: June 2026 totals fit one month and are counted, AI Assistant as Referral.
    assert dict(query(warehouse, "SELECT channel, sessions FROM marts.channel_funnel "
                                 "WHERE period_start = DATE '2026-06-01' AND sessions > 0")) == {
        "Direct": 2698, "Organic Search": 715, "Referral": 87 + 42, "Unassigned": 87, "Email": 20,
        "Display": 12, "Paid Search": 8, "Organic Social": 7}


def test_the_excel_resaved_hubspot_deals_without_a_create_date_are_refused(tmp_path):
    _, outcome = _load_one(tmp_path, "deals", REAL / "hubspot_exports/questnut_deals/all-deals-no PII.csv")

    assert outcome.status == "rejected"
    assert "the closest, 'hubspot_en', lacks the required column(s) created_at" in outcome.message


OLIST_PROFILE = r"""
# Olist's "Marketing Funnel" data set: every row of the MQL file is an MQL
# (first contact date), every row of the closed-deals file a won deal.
name: olist
description: Olist marketing funnel (Kaggle)
sources:
  leads:
    aliases:
      lead_id: [mql_id]
      created_at: [first_contact_date]
      mql_at: [first_contact_date]
      lead_source: [origin]
      campaign: [landing_page_id]
    formats:
      created_at: ['%d-%m-%Y']
      mql_at: ['%d-%m-%Y']
  deals:
    aliases:
      deal_id: [seller_id]
      lead_id: [mql_id]
      created_at: [won_date]
      close_date: [won_date]
      amount: [declared_monthly_revenue]
    constants:
      stage: Closed Won
    formats:
      created_at: ['%d-%m-%Y %H:%M']
      close_date: ['%d-%m-%Y %H:%M']
"""


@pytest.mark.parametrize("variant", ["olist_marketing_funnel", "olist_marketing_funnel_excel_resaved"])
def test_a_user_profile_loads_olist_pristine_and_excel_resaved_alike(tmp_path, variant):
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "profiles").mkdir(exist_ok=True)
    (config / "profiles" / "olist.yaml").write_text(OLIST_PROFILE, encoding="utf-8")
    inbox = tmp_path / "inbox"
    for source, name in [("leads", "olist_marketing_qualified_leads_dataset.csv"),
                         ("deals", "olist_closed_deals_dataset.csv")]:
        (inbox / source).mkdir(parents=True)
        shutil.copy(REAL / variant / name, inbox / source / name)
    warehouse = tmp_path / "funnel.duckdb"

    result = run_funnel_job(inbox, warehouse, config)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert query(warehouse, "SELECT DISTINCT profile FROM ops.load_log") == [("olist",)]
    # SOURCES.md: 8,000 MQLs, 842 closed deals, declared revenue 61,784,006; origin counts by hand.
    assert query(warehouse, "SELECT sum(leads), sum(mqls), sum(opportunities), sum(wins), sum(revenue) "
                            "FROM marts.channel_funnel") == [(8000, 8000, 842, 842, Decimal("61784006"))]
    assert dict(query(warehouse, "SELECT channel, sum(leads) FROM marts.channel_funnel GROUP BY 1 HAVING sum(leads) > 0")) == {
        "Organic Search": 2296, "Paid Search": 1586, "Organic Social": 1350, "Direct": 499, "Email": 493,
        "Referral": 284, "Display": 118,
        "Unassigned": 1099 + 60,  # 'unknown' and empty origin
        "Other": 150 + 65}  # 'other' and the unmapped 'other_publicities'
    assert query(warehouse, "SELECT min(period_start), max(period_start) FROM marts.channel_funnel WHERE leads > 0") == [
        (__import__("datetime").date(2017, 6, 1), __import__("datetime").date(2018, 5, 1))]


def test_a_user_profile_for_maven_crm_names_the_rows_without_a_created_date(tmp_path):
    config = tmp_path / "config"
    (config / "profiles").mkdir(parents=True)
    (config / "profiles" / "maven.yaml").write_text(
        "name: maven_crm\nsources:\n  deals:\n    aliases:\n      deal_id: [opportunity_id]\n"
        "      stage: [deal_stage]\n      created_at: [engage_date]\n      close_date: [close_date]\n"
        "      amount: [close_value]\n      company: [account]\n", encoding="utf-8")
    con, outcome = _load_one(tmp_path, "deals", REAL / "maven_crm_sales_opportunities/sales_pipeline.csv", config)

    # The 500 Prospecting rows have no engage_date: the file is refused and each row is named.
    assert outcome.status == "rejected" and outcome.profile == "maven_crm"
    assert "column created_at: is empty but required" in outcome.message
    assert con.execute("SELECT count(*) FROM ops.load_errors WHERE column_name = 'created_at'").fetchone() == (500,)
    assert con.execute("SELECT count(*) FROM raw.deals").fetchone() == (0,)


def test_googles_source_category_list_is_the_shipped_default(tmp_path):
    """The sites of Google's list (820 rows, MIT, in ../shared) are classified out of the box; the same
    list dropped into config/ as ga4_source_categories.csv changes nothing, and a user's file overrides."""
    from assets.transform.ga4_channel_group import default_channel_group
    from schemas.config import load_source_categories

    shutil.copy(REAL / "ga4_channel_rules/ga4_source_categories.csv", tmp_path / "ga4_source_categories.csv")
    assert load_source_categories(tmp_path) == load_source_categories(None)
    # (source, medium, group), per GA4's documented rules, with the shipped categories
    cases = [("qwant", "organic", "Organic Search"), ("qwant", "referral", "Organic Search"),
             ("tuenti", "referral", "Organic Social"), ("crackle", "referral", "Organic Video"),
             ("alibaba", "cpc", "Paid Shopping"), ("tuenti", "cpc", "Paid Social")]
    for source, medium, group in cases:
        assert default_channel_group(source, medium) == group, (source, medium)
    (tmp_path / "ga4_source_categories.csv").write_text("source,source_category\nqwant,SOURCE_CATEGORY_SOCIAL\n",
                                                        encoding="utf-8")
    assert default_channel_group("qwant", "referral", None, load_source_categories(tmp_path)) == "Organic Social"
