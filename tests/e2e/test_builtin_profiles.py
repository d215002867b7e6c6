"""Every built-in export profile, in English and Japanese, in the encodings the tools
(and Excel) write: a file laid out as the tool writes it is dropped into an empty
inbox and the marts come out as worked out by hand below (CONTRACT sections 2-4).

The same funnel is written in both languages, so one set of expectations serves both:

  GA4, July 2026 (traffic acquisition, no Date column: totals for 20260701-20260731)
      Organic Search 1,000 / Paid Search 500 / Direct 300 sessions; the total row (1,800) is not data.
  HubSpot contacts (4): H1 Organic Search MQL 07-05; H2 Organic Search MQL 07-04, SQL 07-08;
      H3 Paid Search; H4 Offline Sources (records sales entered or imported: -> Outbound).
  HubSpot deals (2): D1 for contact H2 (first of "H2;H9"), custom stage "Contract Signed " but
      Is Closed Won = true, 1,200,000, closed 07-20; D2 no contact, source Paid Search, open.
  Meta Ads: July campaigns 50,000 + 30,000 (the summary row of 80,000 is not data) -> Paid Social.
  Salesforce leads (2): S1 Partner Referral, S2 Web (a web inquiry, no source recorded: -> Direct);
      opportunities (2): O1 Partner Referral Closed Won 2,000,000 closed 07-15, O2 Partner Referral Closed Lost.

Expected channel_funnel for 2026-07:
  Organic Search: 1000 sessions, 2 leads, 2 MQLs, 1 SQL, 1 opportunity, 1 win, revenue 1,200,000
  Paid Search:     500 sessions, 1 lead,  0 MQLs, 0 SQLs, 1 opportunity, 0 wins
  Direct:          300 sessions, 1 lead (S2)
  Partner:           0 sessions, 1 lead, 2 opportunities, 1 win, revenue 2,000,000
  Outbound:          1 lead (H4)
  Paid Social:     spend 80,000
"""

import codecs
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import query, run_funnel_job

GA4 = {
    "en": ("ga4_ui_en", "utf-8", "\n".join([
        "# ----------------------------------------",
        "# Traffic acquisition: Session primary channel group (Default Channel Group)",
        "# Account: Example KK",
        "# Property: example.co.jp - GA4",
        "# ----------------------------------------",
        "# ",
        "# All Users",
        "# Start date: 20260701",
        "# End date: 20260731",
        "Session primary channel group (Default Channel Group),Sessions,Engaged sessions,Engagement rate,"
        "Average engagement time per session,Events per session,Event count,Key events,Session key event rate,"
        "Total revenue",
        ",1800,900,0.5,30.5,3.2,5760,12,0.0066,0",
        "Organic Search,1000,600,0.6,40.1,3.5,3500,8,0.008,0",
        "Paid Search,500,200,0.4,20.2,3.0,1500,3,0.006,0",
        "Direct,300,100,0.3333333333333333,10.0,2.5,760,1,0.0033,0",
    ])),
    "ja": ("ga4_ui_ja", "utf-8-sig", "\r\n".join([
        "# ----------------------------------------",
        "# トラフィック獲得: セッションのメインのチャネル グループ（デフォルト チャネル グループ）",
        "# アカウント: サンプル株式会社",
        "# プロパティ: example.co.jp",
        "# ----------------------------------------",
        "#",
        "# すべてのユーザー",
        "# 開始日: 20260701",
        "# 終了日: 20260731",
        "セッションのメインのチャネル グループ（デフォルト チャネル グループ）,セッション,エンゲージのあったセッション数,"
        "エンゲージメント率,セッションあたりの平均エンゲージメント時間,イベント数,キーイベント,合計収益",
        "Organic Search,\"1,000\",600,0.6,40.1,3500,8,0",
        "Paid Search,500,200,0.4,20.2,1500,3,0",
        "Direct,300,100,0.33,10.0,760,1,0",
        "総計,\"1,800\",900,0.5,30.5,5760,12,0",
    ]) + "\r\n"),
}

HUBSPOT_CONTACTS = {
    # English: every field quoted, as HubSpot writes it; UTF-8.
    "en": ("hubspot_en", "utf-8", "contacts.csv", ",", "\n".join([
        '"Record ID","Create Date","Lifecycle Stage","Lead Status","Original Traffic Source",'
        '"Original Traffic Source Drill-Down 1","Email","Job Title",'
        '"Date entered ""Marketing Qualified Lead (Lifecycle Stage Pipeline)""",'
        '"Date entered ""Sales Qualified Lead (Lifecycle Stage Pipeline)""","Last Modified Date"',
        '"H1","2026-07-02 09:00","Marketing Qualified Lead","","Organic Search","google","a@example.com","CMO",'
        '"2026-07-05 10:00","","2026-07-05 10:00"',
        '"H2","2026-07-03 11:30","Sales Qualified Lead","","Organic Search","yahoo","b@example.com","",'
        '"2026-07-04 08:00","2026-07-08 15:00","2026-07-08 15:00"',
        '"H3","2026-07-04 14:00","Lead","NEW","Paid Search","","","","","","2026-07-04 14:00"',
        '"H4","2026-07-06 16:45","Lead","","Offline Sources","IMPORT","","","","","2026-07-06 16:45"',
    ]) + "\n"),
    # Japanese: Excel's "Unicode text" (UTF-16 with BOM, tab separated, .txt), dates as Excel shows them.
    "ja": ("hubspot_ja", "utf-16", "コンタクト.txt", "\t", "\r\n".join([
        "レコードID\t作成日\tライフサイクルステージ\tリードステータス\tオリジナル トラフィック ソース\t"
        "Eメール\tマーケティングクオリファイドリードになった日\tセールスクオリファイドリードになった日\t最終更新日",
        "H1\t2026/07/02 9:00\tマーケティング・クオリファイド・リード\t\tOrganic Search\ta@example.com\t2026/07/05 10:00\t\t2026/07/05 10:00",
        "H2\t2026/07/03 11:30\tセールス・クオリファイド・リード\t\tOrganic Search\tb@example.com\t2026/07/04 8:00\t2026/07/08 15:00\t2026/07/08 15:00",
        "H3\t2026/07/04 14:00\tリード\t新規\tPaid Search\t\t\t\t2026/07/04 14:00",
        "H4\t2026/07/06 16:45\tリード\t\tOffline Sources\t\t\t\t2026/07/06 16:45",
    ]) + "\r\n"),
}

HUBSPOT_DEALS = {
    "en": ("hubspot_en", "utf-8", "deals.csv", "\n".join([
        '"Record ID","Deal Name","Deal Stage","Pipeline","Amount","Close Date","Create Date",'
        '"Original Traffic Source","Associated Contact IDs","Is Closed Won","Is closed lost","Deal owner"',
        '"D1","Example deal","Contract Signed ","Sales Pipeline","1200000.0","2026-07-20 18:00","2026-07-10 10:00",'
        '"Organic Search","H2;H9","true","false","Taro Yamada"',
        '"D2","Second deal","Presentation Scheduled","Sales Pipeline","800000","","2026-07-12 13:00",'
        '"Paid Search","","false","false",""',
    ]) + "\n"),
    "ja": ("hubspot_ja", "utf-8-sig", "取引.csv", "\r\n".join([
        '"レコードID","取引名","取引ステージ","パイプライン","金額","クローズ日","作成日","オリジナル トラフィック ソース",'
        '"関連付けられたコンタクトID","成約済み","取引担当者"',
        '"D1","案件A","契約書締結 ","営業パイプライン","￥1,200,000","2026/07/20","2026/07/10 10:00","Organic Search",'
        '"H2;H9","true","山田 太郎"',
        '"D2","案件B","プレゼン予定済み","営業パイプライン","800,000円","","2026/07/12 13:00","Paid Search","","false",""',
    ]) + "\r\n"),
}

META = {
    "en": ("utf-8-sig", "\n".join([
        '"Campaign name",Reach,Impressions,Frequency,Currency,"Amount spent (JPY)","Link clicks",'
        '"CPC (cost per link click)","Reporting starts","Reporting ends"',
        ",90000,120000,1.33,JPY,80000,900,88.9,2026-07-01,2026-07-31",
        '"Webinar promo_July",60000,80000,1.33,JPY,50000,600,83.3,2026-07-01,2026-07-31',
        '"Whitepaper_July",30000,40000,1.33,JPY,30000,300,100,2026-07-01,2026-07-31',
    ]) + "\n"),
    "ja": ("utf-8-sig", "\n".join([
        '"キャンペーン名",リーチ,インプレッション,通貨,"消化金額 (JPY)","リンクのクリック","レポート開始日","レポート終了日"',
        ",90000,120000,JPY,80000,900,2026-07-01,2026-07-31",
        '"ウェビナー告知_7月",60000,80000,JPY,50000,600,2026-07-01,2026-07-31',
        '"ホワイトペーパー_7月",30000,40000,JPY,30000,300,2026-07-01,2026-07-31',
    ]) + "\n"),
}

SF_LEADS = {
    "en": ("salesforce_en", "utf-8", "\n".join([
        '"Lead ID","Lead Owner","First Name","Last Name","Title","Company / Account","Lead Source","Lead Status",'
        '"Create Date","Email"',
        '"00Q5g00000AbCdE","Hanako Sato","Ichiro","Suzuki","Manager","Acme KK","Partner Referral",'
        '"Working - Contacted","7/2/2026","i.suzuki@example.com"',
        '"00Q5g00000AbCdF","Hanako Sato","Jiro","Tanaka","","Beta KK","Web","Open - Not Contacted",'
        '"7/9/2026","j.tanaka@example.com"',
        "",
        "",
        '"Leads report"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
        '"Confidential Information - Do Not Distribute"',
        '"Generated By:  Hanako Sato  7/31/2026 11:22 AM"',
        '"Example KK"',
    ]) + "\n"),
    "ja": ("salesforce_ja", "cp932", "\r\n".join([
        '"リード ID","リード所有者","姓","名","役職","会社名","リードソース","状況","作成日","メール"',
        '"00Q5g00000AbCdE","佐藤 花子","鈴木","一郎","部長","株式会社エー","パートナー紹介","対応中","2026/07/02","i.suzuki@example.com"',
        '"00Q5g00000AbCdF","佐藤 花子","田中","次郎","","株式会社ビー","Web","未対応","2026/07/09","j.tanaka@example.com"',
        "",
        '"総計 (2 件のレコード)"',
        "",
        '"リードレポート"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
        '"機密情報 - 配布禁止"',
        '"作成者:  佐藤 花子  2026/07/31 11:22"',
        '"サンプル株式会社"',
    ]) + "\r\n"),
}

SF_OPPS = {
    "en": ("salesforce_en", "utf-8", "\n".join([
        '"Opportunity Owner","Account Name","Opportunity Name","Stage","Fiscal Period","Amount","Probability (%)",'
        '"Close Date","Created Date","Type","Lead Source","Opportunity ID"',
        '"Hanako Sato","Acme KK","Acme renewal","Closed Won","Q2-2026","JPY 2,000,000","100","7/15/2026",'
        '"7/1/2026","New Business","Partner Referral","0065g00000XyZaB"',
        '"Hanako Sato","Gamma KK","Gamma pilot","Closed Lost","Q2-2026","JPY 700,000","0","7/25/2026",'
        '"7/3/2026","New Business","Partner Referral","0065g00000XyZaC"',
        "",
        "",
        '"Opportunities report"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
        '"Confidential Information - Do Not Distribute"',
        '"Generated By:  Hanako Sato  7/31/2026 11:22 AM"',
        '"Example KK"',
    ]) + "\n"),
    "ja": ("salesforce_ja", "cp932", "\r\n".join([
        '"商談 所有者","取引先名","商談名","フェーズ","会計期間","金額","確度(%)","完了予定日","作成日","種別",'
        '"リードソース","商談 ID"',
        '"佐藤 花子","株式会社エー","エー更新","成立","Q2-2026","JPY 2,000,000","100","2026/07/15","2026/07/01",'
        '"新規","パートナー紹介","0065g00000XyZaB"',
        '"佐藤 花子","株式会社ガンマ","ガンマ試行","不成立","Q2-2026","JPY 700,000","0","2026/07/25","2026/07/03",'
        '"新規","パートナー紹介","0065g00000XyZaC"',
        "",
        '"総計 (2 件のレコード)"',
        "",
        '"商談レポート"',
        '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."',
        '"機密情報 - 配布禁止"',
        '"作成者:  佐藤 花子  2026/07/31 11:22"',
        '"サンプル株式会社"',
    ]) + "\r\n"),
}


def _write(path: Path, text: str, encoding: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))


def _inbox(root: Path, lang: str) -> Path:
    inbox = root / "inbox"
    _, enc, text = GA4[lang]
    _write(inbox / "ga4_sessions" / "Traffic_acquisition.csv", text, enc)
    _, enc, name, _, text = HUBSPOT_CONTACTS[lang]
    _write(inbox / "leads" / name, text, enc)
    _, enc, name, text = HUBSPOT_DEALS[lang]
    _write(inbox / "deals" / name, text, enc)
    enc, text = META[lang]
    _write(inbox / "spend" / "meta_ads_july.csv", text, enc)
    _, enc, text = SF_LEADS[lang]
    _write(inbox / "leads" / "salesforce_leads.csv", text, enc)
    _, enc, text = SF_OPPS[lang]
    _write(inbox / "deals" / "salesforce_opportunities.csv", text, enc)
    return inbox


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_builtin_profile_fixtures_produce_the_hand_computed_marts(tmp_path, lang):
    inbox = _inbox(tmp_path, lang)
    warehouse = tmp_path / "funnel.duckdb"

    result = run_funnel_job(inbox, warehouse)

    assert result.success, [e.message for e in result.all_events if e.is_failure]
    log = query(warehouse, "SELECT file_name, profile, encoding, status, rows_read, rows_skipped "
                           "FROM ops.load_log ORDER BY file_name")
    expected_profiles = {
        "ga4_sessions/Traffic_acquisition.csv": (GA4[lang][0], GA4[lang][1], 3, 1),
        f"leads/{HUBSPOT_CONTACTS[lang][2]}": (HUBSPOT_CONTACTS[lang][0], HUBSPOT_CONTACTS[lang][1], 4, 0),
        f"deals/{HUBSPOT_DEALS[lang][2]}": (HUBSPOT_DEALS[lang][0], HUBSPOT_DEALS[lang][1], 2, 0),
        "spend/meta_ads_july.csv": ("meta_ads", "utf-8-sig", 2, 1),
        "leads/salesforce_leads.csv": (SF_LEADS[lang][0], SF_LEADS[lang][1], 2, 5 if lang == "en" else 6),
        "deals/salesforce_opportunities.csv": (SF_OPPS[lang][0], SF_OPPS[lang][1], 2, 5 if lang == "en" else 6),
    }
    assert {f: (p, e, r, s) for f, p, e, st, r, s in log} == expected_profiles
    assert {st for *_, st, _, _ in log} == {"loaded"}

    funnel = query(warehouse, """
        SELECT channel, sessions, leads, mqls, sqls, opportunities, wins, revenue
        FROM marts.channel_funnel WHERE period_start = DATE '2026-07-01'
          AND (sessions + leads + opportunities + wins) > 0 ORDER BY channel""")
    assert funnel == [
        ("Direct", 300, 1, 0, 0, 0, 0, Decimal("0")),
        ("Organic Search", 1000, 2, 2, 1, 1, 1, Decimal("1200000")),
        ("Outbound", 0, 1, 0, 0, 0, 0, Decimal("0")),
        ("Paid Search", 500, 1, 0, 0, 1, 0, Decimal("0")),
        ("Partner", 0, 1, 0, 0, 2, 1, Decimal("2000000")),
    ]
    spend = query(warehouse, "SELECT channel, spend FROM marts.channel_roi "
                             "WHERE period_start = DATE '2026-07-01' AND spend > 0")
    assert spend == [("Paid Social", Decimal("80000"))]
    # Nothing personal reached the published file: e-mails, owners and footer names are read, never stored.
    tables = query(warehouse, "SELECT schema_name || '.' || table_name FROM duckdb_tables()")
    for (table,) in tables:
        for needle in ("example.com", "Hanako", "佐藤", "Yamada", "山田"):
            hits = query(warehouse, f"SELECT count(*) FROM {table} t WHERE CAST(t AS VARCHAR) LIKE $n",
                         {"n": f"%{needle}%"})
            assert hits == [(0,)], (table, needle)


def test_a_salesforce_report_with_a_truncated_last_row_is_refused_naming_the_line(tmp_path):
    from assets.ingest.load import ingest_source
    from schemas import SOURCES
    from schemas.profiles import load_profiles
    import duckdb

    _, enc, text = SF_OPPS["en"]
    lines = text.split("\n")
    truncated = "\n".join(lines[:2] + [lines[2][:40]])  # the second row cut mid-field, no footer
    _write(tmp_path / "inbox" / "deals" / "opps.csv", truncated, enc)
    con = duckdb.connect()
    result = ingest_source(con, SOURCES["deals"], tmp_path / "inbox", load_profiles(None), "Asia/Tokyo", "t")

    assert [o.status for o in result.rejected] == ["rejected"]
    message = result.rejected[0].message
    # Salesforce quotes every field: the cut leaves the quote of line 3 open
    assert message == ("deals/opps.csv: has a quoted value opened on line 3 that never closes: the file is truncated "
                       "or a quote is unbalanced; export it again")
    assert con.execute("SELECT count(*) FROM raw.deals").fetchone() == (0,)


@pytest.mark.parametrize("text, encoding", [
    ("lead_id,created_at,lead_source\nL1,2026-07-01,SEO\n", "utf-8"),
    ("lead_id,created_at,lead_source\nL1,2026-07-01,SEO\n", "utf-8-sig"),
    ("lead_id\tcreated_at\tlead_source\r\nL1\t2026-07-01\t自然検索\r\n", "utf-16"),
    ("lead_id,created_at,lead_source\nL1,2026年7月1日,自然検索\n", "cp932"),
])
def test_each_encoding_is_detected(tmp_path, text, encoding):
    from assets.ingest.csv_tables import detect_encoding

    path = tmp_path / "f.csv"
    _write(path, text, encoding)
    assert codecs.lookup(detect_encoding(path)).name == codecs.lookup(encoding).name


def test_excel_serial_dates_and_day_first_formats_from_a_user_profile(tmp_path):
    """45839 is 2025-07-01 in Excel's day numbers (from 1899-12-30); .75 is 18:00."""
    import duckdb

    from assets.ingest.load import ingest_source
    from schemas import SOURCES
    from schemas.profiles import load_profiles

    config = tmp_path / "config"
    (config / "profiles").mkdir(parents=True)
    (config / "profiles" / "sheet.yaml").write_text(
        "name: sheet\nsources:\n  leads:\n    aliases:\n      lead_id: [ID]\n      created_at: [登録日]\n"
        "      lead_source: [流入元]\n    formats:\n      created_at: [excel_serial, '%d.%m.%Y']\n", encoding="utf-8")
    _write(tmp_path / "inbox" / "leads" / "sheet.csv",
           "ID,登録日,流入元\nA,45839,展示会\nB,45839.75,紹介\nC,03.07.2025,ウェビナー\nD,2025/7/4,セミナー\n", "cp932")
    con = duckdb.connect()
    result = ingest_source(con, SOURCES["leads"], tmp_path / "inbox", load_profiles(config), "Asia/Tokyo", "t")

    assert [o.status for o in result.loaded] == ["loaded"], [o.message for o in result.rejected]
    assert con.execute("SELECT lead_id, strftime(created_at, '%Y-%m-%d %H:%M') FROM raw.leads ORDER BY 1").fetchall() == [
        ("A", "2025-07-01 00:00"), ("B", "2025-07-01 18:00"), ("C", "2025-07-03 00:00"), ("D", "2025-07-04 00:00")]
