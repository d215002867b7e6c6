"""marts.video_performance and marts.video_funnel on a tiny inbox of YouTube Studio exports, leads, deals and
touches whose every expected number was worked out by hand (below and next to each expectation).

Videos (11-character ids): A = vidAAAAAAA1, B = -vidBBBBBB2 (Studio writes " -vidBBBBBB2"), C = vidCCCCCCC3,
D = vidDDDDDDD4 (only in config/video_costs.csv). Costs: A 500,000, B 200,000, D 100,000.

Studio exports in video/ (Table data: impressions, CTR %, views, watch hours, average view duration, APV %):
  Content 2026-04-01_2026-04-30 Acme/Table data.csv   Total row (left out); A 1000 5.00 80 4.0 0:03:00 60.0;
                                                        B 400 2.50 20 2.0 0:06:00 60.0  -> month 2026-04
  Content 2026-04-01_2026-04-30 Acme/Chart data.csv   views A 04-10 30, A 04-20 50, B 04-20 20: days the April
                                                        table covers -> not counted
  Content 2026-04-01_2026-04-30 Acme/Totals.csv       the channel per day -> not counted
  Content 2026-05-01_2026-06-30 Acme/Table data.csv   A 3000 4.00 240 12.0 0:03:00 60.0 -> a period of its own
  Content 2026-05-01_2026-06-30 Acme/Chart data.csv   views A 05-05 60, A 05-20 40, A 06-10 140, B 05-06 10: the
                                                        range is two months, so the days count in their months
  Chart data 2026-07-02.csv                           impressions A 05-05 1500 (another metric, merged)
  Content 2026-07-01_2026-07-15 Acme/Table data.csv   B 200 10.00 30 1.5 0:03:00 30.0  } both within July,
  Content 2026-07-16_2026-07-31 Acme/Table data.csv   B 800 2.50 20 2.0 0:06:00 60.0   } no overlap: July
  Content 2026-08-01_2026-08-15 Acme/Table data.csv   B 100 1.00 5 0.25 0:03:00 30.0  overlapped by the newer
  Content 2026-08-01_2026-08-20 Acme/Table data.csv   B 300 2.00 9 0.45 0:03:00 30.0  range -> August is this one
  Table data.csv                                      no range: A 10000 3.00 500 25.0 0:03:00 60.0;
                                                        C 200 1.00 4 0.2 0:03:00 50.0, titled as B ("Customer
                                                        story"): that title names neither

Leads, deals and touches (local time; opportunities of known leads per month: April D1, May D2 D3 D4 D6,
June D5 -> 1, 4, 1):
  L1 created 04-12, MQL 04-20; watched A (id) 04-10, before it was created -> inquiry of A in April.
     D1 created 04-25 (A opportunity April), won 05-30, 500,000 (A win May).
  L2 created 04-05, MQL 05-10; watched A (watch?v= URL) 05-01, before its MQL -> inquiry of A in May.
     D2 created 05-20, open (A opportunity May).
  L3 created 04-01, no MQL date; watched A (title "product demo") 04-15. D3 created 05-15 (A opportunity
     May), won 06-20, 300,000 (A win June). Its opportunity makes L3 an SQL and so an MQL at D3's creation
     (staging.lead_funnel): it watched A before that -> inquiry of A in May.
  L4 created 05-03, MQL 05-03; watched B (youtu.be URL) 05-01 -> inquiry of B in May; "Customer story"
     05-02 names no video; watched A 05-25, after its MQL and its deal: nothing for A.
     D4 created 05-20 (B opportunity May), won 06-25, 1,000,000 (B win June).
  L5 created 06-01, MQL 06-10; watched D (shorts URL) 05-30 -> inquiry of D in June.
     D5 created 06-15 (D opportunity June), lost 07-01.
  L6 created 05-10, no touch; D6 created 05-12, open.   D7 no lead (Partner), created 05-05: in no base.
  X9 (no such lead) watched A 04-10: in nothing.
"""

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from assets.checks.reconcile import video_funnel_within_inputs, video_performance_reconciles
from assets.core.resource import FunnelResource
from assets.core.settings import working_database_path
from assets.ingest.asset import INGEST_ASSETS
from assets.plan.target_settings import TARGET_SETTINGS_ASSETS
from assets.transform.step import TRANSFORM_ASSETS
from tests.conftest import CONFIG_DIR, query, write_export

A, B, C, D = "vidAAAAAAA1", "-vidBBBBBB2", "vidCCCCCCC3", "vidDDDDDDD4"
TABLE = ("Content,Video title,Video publish time,Duration,Impressions,Impressions click-through rate (%),Views,"
         "Watch time (hours),Average view duration,Average percentage viewed (%)\n"
         "Total,,,,99999,9.99,9999,999.0000,0:09:59,99.9\n")
CHART = "Date,Content,Video title,Video publish time,Duration,{metric}\n"


def studio(inbox: Path, folder: str, name: str, text: str) -> None:
    write_export(inbox, "video", f"{folder}/{name}" if folder else name, text)


@pytest.fixture(scope="module")
def work_db(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("video")
    inbox = root / "inbox"
    april, may_june = "Content 2026-04-01_2026-04-30 Acme", "Content 2026-05-01_2026-06-30 Acme"
    studio(inbox, april, "Table data.csv", TABLE
           + f'{A},Product demo,"Mar 2, 2026",300,1000,5.00,80,4.0000,0:03:00,60.0\n'
           + f' {B},Customer story,"Mar 20, 2026",600,400,2.50,20,2.0000,0:06:00,60.0\n')
    studio(inbox, april, "Chart data.csv", CHART.format(metric="Views")
           + f'2026-04-10,{A},Product demo,"Mar 2, 2026",300,30\n2026-04-20,{A},Product demo,"Mar 2, 2026",300,50\n'
           + f'2026-04-20, {B},Customer story,"Mar 20, 2026",600,20\n')
    studio(inbox, april, "Totals.csv", "Date,Views\n2026-04-10,30\n2026-04-20,70\n")
    studio(inbox, may_june, "Table data.csv", TABLE
           + f'{A},Product demo (2026),"Mar 2, 2026",300,3000,4.00,240,12.0000,0:03:00,60.0\n')
    studio(inbox, may_june, "Chart data.csv", CHART.format(metric="Views")
           + f'2026-05-05,{A},Product demo (2026),"Mar 2, 2026",300,60\n'
           + f'2026-05-20,{A},Product demo (2026),"Mar 2, 2026",300,40\n'
           + f'2026-06-10,{A},Product demo (2026),"Mar 2, 2026",300,140\n'
           + f'2026-05-06, {B},Customer story,"Mar 20, 2026",600,10\n')
    studio(inbox, "", "Chart data 2026-07-02.csv", CHART.format(metric="Impressions")
           + f'2026-05-05,{A},Product demo (2026),"Mar 2, 2026",300,1500\n')
    for folder, row in (("Content 2026-07-01_2026-07-15 Acme", "200,10.00,30,1.5000,0:03:00,30.0"),
                        ("Content 2026-07-16_2026-07-31 Acme", "800,2.50,20,2.0000,0:06:00,60.0"),
                        ("Content 2026-08-01_2026-08-15 Acme", "100,1.00,5,0.2500,0:03:00,30.0"),
                        ("Content 2026-08-01_2026-08-20 Acme", "300,2.00,9,0.4500,0:03:00,30.0")):
        studio(inbox, folder, "Table data.csv", TABLE + f' {B},Customer story,"Mar 20, 2026",600,{row}\n')
    studio(inbox, "", "Table data.csv", TABLE
           + f'{A},Product demo,"Mar 2, 2026",300,10000,3.00,500,25.0000,0:03:00,60.0\n'
           + f'{C},Customer story,"Mar 25, 2026",120,200,1.00,4,0.2000,0:03:00,50.0\n')
    write_export(inbox, "leads", "leads.csv", """
        lead_id,created_at,lead_source,mql_at
        L1,2026-04-12 10:00,Webinar,2026-04-20 10:00
        L2,2026-04-05 10:00,seo,2026-05-10 10:00
        L3,2026-04-01 10:00,seo,
        L4,2026-05-03 10:00,Webinar,2026-05-03 10:00
        L5,2026-06-01 10:00,seo,2026-06-10 10:00
        L6,2026-05-10 10:00,seo,
        """)
    write_export(inbox, "deals", "deals.csv", """
        deal_id,created_at,stage,lead_id,deal_source,amount,close_date
        D1,2026-04-25,Closed Won,L1,,500000,2026-05-30
        D2,2026-05-20,Proposal,L2,,800000,
        D3,2026-05-15,Closed Won,L3,,300000,2026-06-20
        D4,2026-05-20,Closed Won,L4,,1000000,2026-06-25
        D5,2026-06-15,Closed Lost,L5,,400000,2026-07-01
        D6,2026-05-12,Proposal,L6,,100000,
        D7,2026-05-05,Closed Won,,Partner,700000,2026-05-25
        """)
    write_export(inbox, "touchpoints", "touches.csv", f"""
        lead_id,touched_at,touch_type,content_id
        L1,2026-04-10 09:00,video_view,{A}
        L2,2026-05-01 09:00,page_view,https://www.youtube.com/watch?v={A}&t=42
        L3,2026-04-15 09:00,video_view,product demo
        L4,2026-05-01 09:00,video_view,https://youtu.be/{B}
        L4,2026-05-02 09:00,video_view,Customer story
        L4,2026-05-25 09:00,video_view,{A}
        L5,2026-05-30 09:00,video_view,https://youtube.com/shorts/{D}
        X9,2026-04-10 09:00,video_view,{A}
        """)
    config = shutil.copytree(CONFIG_DIR, root / "config")
    (config / "video_costs.csv").write_text(f"video_id,cost\n{A},500000\n {B},200000\n{D},100000.00\n")
    warehouse = root / "warehouse" / "funnel.duckdb"
    result = dg.materialize(
        [*INGEST_ASSETS, *TARGET_SETTINGS_ASSETS, *TRANSFORM_ASSETS],
        resources={"funnel": FunnelResource(inbox_dir=str(inbox), config_dir=str(config),
                                            warehouse_path=str(warehouse), timezone="Asia/Tokyo")},
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    failed = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed
              and e.asset_key.path[-1] in ("video_performance", "video_funnel")]
    assert not failed
    return working_database_path(warehouse)


def assert_rows(got: dict, expected: dict) -> None:
    """The same keys, and per key the same values (floats to 1e-9 relative: a rate computed in DOUBLE)."""
    assert sorted(got, key=repr) == sorted(expected, key=repr)
    for key, values in expected.items():
        assert len(got[key]) == len(values), key
        for name, a, b in zip(range(len(values)), got[key], values):
            assert a == (pytest.approx(b, rel=1e-9) if isinstance(b, float) else b), (key, name)


def test_studio_rows_counted_once_and_the_rest_kept_apart_with_the_reason(work_db):
    assert query(work_db, "SELECT count(*), sum(rows_skipped) FROM ops.load_log WHERE source = 'video' "
                          "AND status = 'loaded'") == [(11, 7)]  # 7 tables, one Total row each
    kept_apart = query(work_db, "SELECT content_id, date, not_counted_because FROM staging.video_not_counted "
                                "ORDER BY content_id NULLS FIRST, date")
    assert [(c, d) for c, d, _ in kept_apart] == [
        (None, date(2026, 4, 10)), (None, date(2026, 4, 20)),  # Totals.csv
        (B, date(2026, 4, 20)), (B, date(2026, 8, 1)),  # a day the April table covers; the overlapped range
        (A, date(2026, 4, 10)), (A, date(2026, 4, 20))]
    assert kept_apart[0][2].startswith("a total of the whole channel")
    assert kept_apart[3][2].startswith("a newer export's range")
    assert kept_apart[4][2].startswith("a table export of the same video over a range covering the day")


D_ = Decimal
COLUMNS = ("impressions", "impression_ctr", "views", "watch_time_hours", "average_view_duration_seconds",
           "average_percentage_viewed")
EXPORT = "export video/Table data.csv"
# (video, period) -> (grain, start, end, impressions, CTR, views, watch hours, view duration s, share viewed)
EXPECTED_PERFORMANCE = {
    # the April table: 50 of 1000 impressions became views (5%); 4 h x 3600 / 80 views = 180 s
    (A, "2026-04"): ("month", date(2026, 4, 1), date(2026, 4, 30), 1000, 0.05, 80, 4.0, 180.0, 0.6),
    # days of the two-month chart: 60 + 40 views; impressions 1500 from the impressions chart of 05-05
    (A, "2026-05"): ("month", date(2026, 5, 1), date(2026, 5, 31), 1500, None, 100, None, None, None),
    (A, "2026-06"): ("month", date(2026, 6, 1), date(2026, 6, 30), None, None, 140, None, None, None),
    (A, "2026-05-01..2026-06-30"): ("range", date(2026, 5, 1), date(2026, 6, 30), 3000, 0.04, 240, 12.0, 180.0, 0.6),
    (A, EXPORT): ("export", None, None, 10000, 0.03, 500, 25.0, 180.0, 0.6),
    (B, "2026-04"): ("month", date(2026, 4, 1), date(2026, 4, 30), 400, 0.025, 20, 2.0, 360.0, 0.6),
    (B, "2026-05"): ("month", date(2026, 5, 1), date(2026, 5, 31), None, None, 10, None, None, None),
    # two half-month tables: impressions 200 + 800; CTR (200 x 10% + 800 x 2.5%) / 1000 = 40 / 1000 = 4%
    # (not the mean of 10% and 2.5%, 6.25%); views 30 + 20; watch 1.5 + 2.0 h = 12,600 s / 50 = 252 s (not the
    # mean of 180 and 360 s, 270); percentage viewed (30 x 30% + 20 x 60%) / 50 = 21 / 50 = 42% (not 45%)
    (B, "2026-07"): ("month", date(2026, 7, 1), date(2026, 7, 31), 1000, 0.04, 50, 3.5, 252.0, 0.42),
    # 08-01..08-15 is overlapped by the newer 08-01..08-20: August is the newer one alone
    (B, "2026-08"): ("month", date(2026, 8, 1), date(2026, 8, 31), 300, 0.02, 9, 0.45, 180.0, 0.3),
    (C, EXPORT): ("export", None, None, 200, 0.01, 4, 0.2, 180.0, 0.5),
}


def test_video_performance_by_hand(work_db):
    rows = query(work_db, f"SELECT video_id, period, period_grain, period_start, period_end, {', '.join(COLUMNS)} "
                          "FROM marts.video_performance")
    assert_rows({(r[0], r[1]): r[2:] for r in rows}, EXPECTED_PERFORMANCE)
    titles = dict(query(work_db, "SELECT DISTINCT video_id, video_title FROM marts.video_performance"))
    # A's newest export (the impressions chart, named 2026-07-02) calls it "Product demo (2026)"
    assert titles == {A: "Product demo (2026)", B: "Customer story", C: "Customer story"}


# (month, video) -> impressions, views, CTR, inquiries, opportunities, wins, revenue, views->inquiry,
# inquiry->opportunity, opportunity->win, opportunities in the month, 商談前視聴率, cost, revenue to date, ROI
EXPECTED_FUNNEL = {
    # A April: L1 inquiry; D1 opportunity; 1 of the month's 1 opportunity watched A: 100%;
    # ROI (0 - 500,000) / 500,000 = -1
    (date(2026, 4, 1), A): (1000, 80, 0.05, 1, 1, 0, D_(0), 1 / 80, 1.0, 0.0, 1, 1.0, D_(500000), D_(0), -1.0),
    # A May: L2 and L3 (each before its MQL), 2 / 100 views; D2, D3 opportunities: 2 of the month's 4 = 50%;
    # D1 won 500,000: ROI (500,000 - 500,000) / 500,000 = 0
    (date(2026, 5, 1), A): (1500, 100, None, 2, 2, 1, D_(500000), 2 / 100, 1.0, 0.5, 4, 0.5, D_(500000),
                            D_(500000), 0.0),
    # A June: D3 won 300,000; to date 800,000: ROI 300,000 / 500,000 = 0.6; June's one opportunity (D5) did
    # not watch A: 0%
    (date(2026, 6, 1), A): (None, 140, None, 0, 0, 1, D_(300000), 0.0, None, None, 1, 0.0, D_(500000),
                            D_(800000), 0.6),
    (date(2026, 4, 1), B): (400, 20, 0.025, 0, 0, 0, D_(0), 0.0, None, None, 1, 0.0, D_(200000), D_(0), -1.0),
    # B May: L4 inquiry (watched 05-01, created 05-03); D4 opportunity: 1 of 4 = 25%
    (date(2026, 5, 1), B): (None, 10, None, 1, 1, 0, D_(0), 0.1, 1.0, 0.0, 4, 0.25, D_(200000), D_(0), -1.0),
    # B June: D4 won 1,000,000: ROI (1,000,000 - 200,000) / 200,000 = 4
    (date(2026, 6, 1), B): (None, None, None, 0, 0, 1, D_(1000000), None, None, None, 1, 0.0, D_(200000),
                            D_(1000000), 4.0),
    # July and August: no opportunity in the month at all, so no 商談前視聴率
    (date(2026, 7, 1), B): (1000, 50, 0.04, 0, 0, 0, D_(0), 0.0, None, None, 0, None, D_(200000), D_(1000000), 4.0),
    (date(2026, 8, 1), B): (300, 9, 0.02, 0, 0, 0, D_(0), 0.0, None, None, 0, None, D_(200000), D_(1000000), 4.0),
    # D, named only by config/video_costs.csv and a shorts URL: L5 inquiry, D5 opportunity (lost in July)
    (date(2026, 6, 1), D): (None, None, None, 1, 1, 0, D_(0), None, 1.0, 0.0, 1, 1.0, D_(100000), D_(0), -1.0),
}
FUNNEL_COLUMNS = ("impressions", "views", "impression_ctr", "inquiries", "opportunities", "wins", "revenue",
                  "view_to_inquiry_rate", "inquiry_to_opportunity_rate", "opportunity_to_win_rate",
                  "opportunities_in_month", "pre_meeting_view_rate", "production_cost", "revenue_to_date", "roi_to_date")


def test_video_funnel_by_hand(work_db):
    rows = query(work_db, f"SELECT period_start, video_id, {', '.join(FUNNEL_COLUMNS)} FROM marts.video_funnel")
    assert_rows({(r[0], r[1]): r[2:] for r in rows}, EXPECTED_FUNNEL)
    assert query(work_db, "SELECT video_title FROM marts.video_funnel WHERE video_id = $d", {"d": D}) == [(None,)]


def test_the_video_checks_pass_and_catch_a_view_counted_twice(work_db, tmp_path):
    resource = FunnelResource(inbox_dir=str(tmp_path), config_dir=str(CONFIG_DIR),
                              warehouse_path=str(tmp_path / "w" / "funnel.duckdb"), timezone="Asia/Tokyo")
    copy = working_database_path(Path(resource.warehouse_path))
    copy.parent.mkdir(parents=True)
    copy.write_bytes(work_db.read_bytes())
    with resource.connect() as con:
        assert video_performance_reconciles(con).passed and video_funnel_within_inputs(con).passed
        con.execute("UPDATE marts.video_performance SET views = views + 1 WHERE video_id = $a AND period = '2026-05'",
                    {"a": A})
        assert not video_performance_reconciles(con).passed
        assert not video_funnel_within_inputs(con).passed  # its May views no longer equal the month's
        con.execute("UPDATE marts.video_funnel SET views = views + 1 WHERE video_id = $a AND period_start = "
                    "DATE '2026-05-01'", {"a": A})
        assert video_funnel_within_inputs(con).passed
        con.execute("UPDATE marts.video_funnel SET revenue = revenue + 1000001 WHERE video_id = $a AND period_start = "
                    "DATE '2026-06-01'", {"a": A})  # 1,300,001: more than June's won deals (D3, D4: 1,300,000)
        assert not video_funnel_within_inputs(con).passed
