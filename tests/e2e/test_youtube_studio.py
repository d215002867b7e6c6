"""YouTube Studio exports dropped into video/ as downloaded, through the built-in profiles youtube_studio_en and
youtube_studio_ja.

The real files are read in place from ../shared/real-exports (SOURCES.md section 10), never copied into this
repository; without them those tests skip and say why. Their check figures are SOURCES.md's; the figures of
one video are worked out by hand from its row in the comments.
"""

import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.core.resource import FunnelResource
from assets.core.settings import working_database_path
from assets.ingest.asset import INGEST_ASSETS
from assets.ingest.load import ingest_source
from assets.plan.target_settings import TARGET_SETTINGS_ASSETS
from assets.transform.step import TRANSFORM_ASSETS
from schemas import SOURCES
from schemas.profiles import load_profiles
from tests.conftest import CONFIG_DIR, SHARED, query

REAL = next((p for p in (SHARED / "real-exports", Path("/work/shared/real-exports")) if p.is_dir()),
            SHARED / "real-exports")
STUDIO = REAL / "youtube_studio_exports"
EN_TABLE = STUDIO / "timaghostresonance_en/Table data.csv"
EN_TOTALS = STUDIO / "timaghostresonance_en/Totals.csv"
JA_TABLE = STUDIO / "kusunokicraft_ja/全期間公開済みyoutube動画アナリティクス - 表データ.csv"
SUMS = ("SELECT count(*), sum(views), round(sum(watch_time_hours), 4), sum(subscribers), sum(impressions), "
        "sum(engaged_views) FROM raw.video")


def _real(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"real export not present at {path} (kept outside the repo)")
    return path


def _load(tmp_path: Path, name: str, content: bytes):
    """One file loaded into an empty in-memory warehouse: (connection, outcome)."""
    path = tmp_path / "inbox" / "video" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    con = duckdb.connect()
    result = ingest_source(con, SOURCES["video"], tmp_path / "inbox", load_profiles(None), "Asia/Tokyo", "test")
    return con, (result.loaded + result.rejected)[0]


def test_the_real_english_table_loads_its_check_figures_without_the_total_row(tmp_path):
    con, outcome = _load(tmp_path, "Table data.csv", _real(EN_TABLE).read_bytes())

    assert (outcome.status, outcome.profile, outcome.rows, outcome.quarantined) == (
        "loaded", "youtube_studio_en", 317, 0), outcome.message
    # SOURCES.md: the sums over the 317 rows; the Total row (Views 37,504, 597.3255 h, 56 subscribers,
    # 846,508 impressions, 26,367 engaged views) is left out, never added
    assert con.execute(SUMS).fetchone() == (317, 36_978, 596.3976, 6, 846_287, 26_226)
    assert con.execute("SELECT rows_skipped, exported_at_basis FROM ops.load_log").fetchone() == (1, "rows")
    # the 5 ids Studio wrote with a leading space for Excel
    assert sorted(c for (c,) in con.execute("SELECT content_id FROM raw.video WHERE content_id LIKE '-%'").fetchall()
                  ) == ["-I7StRcDbBg", "-NfxU4MyLNM", "-iTBX-c3ATo", "-mO5c9RqW0Y", "-zMmCkx503Y"]
    assert con.execute("SELECT count(*) FROM raw.video WHERE content_id <> trim(content_id)").fetchone() == (0,)
    # its row: 1geIQxkXYGs,"March 27, 2021","Sep 30, 2023",394,534,2,21.6,1856,4.36,...,534,12.6245,0:01:25
    # (a title that looks like a date stays text; the publish time and H:MM:SS duration are read)
    assert con.execute(
        "SELECT video_title, published_at, duration_seconds, impressions, impression_ctr_percent, views, "
        "watch_time_hours, average_view_duration_seconds, average_percentage_viewed, date, date_end "
        "FROM raw.video WHERE content_id = '1geIQxkXYGs'").fetchone() == (
        "March 27, 2021", date(2023, 9, 30), 394, 1856, 4.36, 534, 12.6245, 85, 21.6, None, None)


def test_the_real_totals_load_as_the_channels_days(tmp_path):
    con, outcome = _load(tmp_path, "Totals.csv", _real(EN_TOTALS).read_bytes())

    assert (outcome.status, outcome.profile, outcome.rows) == ("loaded", "youtube_studio_en", 6_802), outcome.message
    # SOURCES.md: 6,802 days from 2007-04-01 to 2025-11-13, engaged views summing to the table's Total row
    assert con.execute("SELECT count(*), count(content_id), min(date), max(date), sum(engaged_views) "
                       "FROM raw.video").fetchone() == (6_802, 0, date(2007, 4, 1), date(2025, 11, 13), 26_367)


def test_the_real_japanese_table_loads_its_check_figures_without_the_total_row(tmp_path):
    con, outcome = _load(tmp_path, JA_TABLE.name, _real(JA_TABLE).read_bytes())

    assert (outcome.status, outcome.profile, outcome.rows, outcome.quarantined) == (
        "loaded", "youtube_studio_ja", 41, 0), outcome.message
    # SOURCES.md: the 41-row sums (合計 equals them but for the rounding of 総再生時間, 1,499,922.538)
    assert con.execute(SUMS).fetchone() == (41, 8_090_412, 1_499_922.5376, 8_708, 129_776_873, 8_061_757)
    assert con.execute("SELECT rows_skipped FROM ops.load_log").fetchone() == (1,)
    # its first row: bv2iwq17LVY,...,"Feb 22, 2024",3643,1395062,0:16:50,27.75,...
    assert con.execute("SELECT published_at, duration_seconds, engaged_views, average_view_duration_seconds, "
                       "average_percentage_viewed FROM raw.video WHERE content_id = 'bv2iwq17LVY'").fetchone() == (
        date(2024, 2, 22), 3643, 1_395_062, 16 * 60 + 50, 27.75)


def test_a_real_table_in_studios_export_folder_is_dated_by_its_range(tmp_path):
    con, outcome = _load(tmp_path, "コンテンツ 2025-10-01_2025-10-31 kusunokicraft/表データ.csv",
                         _real(JA_TABLE).read_bytes())

    assert outcome.status == "loaded", outcome.message
    assert con.execute("SELECT DISTINCT date, date_end FROM raw.video").fetchall() == [
        (date(2025, 10, 1), date(2025, 10, 31))]


def test_studios_zip_as_downloaded_is_unpacked_and_its_table_dated_by_the_zips_name(tmp_path):
    table = ("Content,Video title,Video publish time,Duration,Views,Watch time (hours),Average view duration\n"
             "Total,,,,120,2.0000,0:01:00\nvidAAAAAAA1,Demo,\"Jul 2, 2026\",300,100,1.5000,0:00:54\n")
    inbox = tmp_path / "inbox"
    (inbox / "video").mkdir(parents=True)
    with zipfile.ZipFile(inbox / "video" / "Content 2026-07-01_2026-07-31 Acme.zip", "w") as zf:
        zf.writestr("Table data.csv", table)
        zf.writestr("Totals.csv", "Date,Views\n2026-07-02,120\n")
    con = duckdb.connect()
    result = ingest_source(con, SOURCES["video"], inbox, load_profiles(None), "Asia/Tokyo", "test")

    assert [(o.file_name, o.status) for o in result.loaded] == [
        ("video/Content 2026-07-01_2026-07-31 Acme.zip.unzipped/Table data.csv", "loaded"),
        ("video/Content 2026-07-01_2026-07-31 Acme.zip.unzipped/Totals.csv", "loaded")]
    assert con.execute("SELECT content_id, date, date_end, views FROM raw.video ORDER BY content_id NULLS FIRST"
                       ).fetchall() == [(None, date(2026, 7, 2), None, 120),
                                        ("vidAAAAAAA1", date(2026, 7, 1), date(2026, 7, 31), 100)]
    # the range's last day is when the table was exported at the earliest
    assert con.execute("SELECT exported_at, exported_at_basis FROM ops.load_log WHERE file_name LIKE '%Table%'"
                       ).fetchone() == (datetime(2026, 7, 31), "file name")


def test_a_studio_table_of_another_tab_is_refused_saying_what_it_lacks(tmp_path):
    text = ("Traffic source,Views,Watch time (hours),Average view duration\nTotal,120,4.5,0:02:15\n"
            "YouTube search,100,4.0,0:02:24\nExternal,20,0.5,0:01:30\n")
    _, outcome = _load(tmp_path, "Table data.csv", text.encode())

    assert outcome.status == "rejected"
    assert outcome.message == (
        "video/Table data.csv: matches no export profile for video; the closest, 'youtube_studio_en', lacks the "
        "required column(s) content_id (or date) (headers found: Traffic source, Views, Watch time (hours), "
        "Average view duration). Export those columns, or add their header names as aliases in a profile in "
        "config/profiles/")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory) -> Path:
    """The three real files in one inbox, run through the load and transform steps (no leads or deals)."""
    for path in (EN_TABLE, EN_TOTALS, JA_TABLE):
        _real(path)
    root = tmp_path_factory.mktemp("studio")
    inbox = root / "inbox"
    (inbox / "video" / "en").mkdir(parents=True)
    for path in (EN_TABLE, EN_TOTALS):
        shutil.copy(path, inbox / "video" / "en" / path.name)
    shutil.copy(JA_TABLE, inbox / "video" / JA_TABLE.name)
    warehouse = root / "warehouse" / "funnel.duckdb"
    result = dg.materialize(
        [*INGEST_ASSETS, *TARGET_SETTINGS_ASSETS, *TRANSFORM_ASSETS],
        resources={"funnel": FunnelResource(inbox_dir=str(inbox), config_dir=str(CONFIG_DIR),
                                            warehouse_path=str(warehouse), timezone="Asia/Tokyo")},
        selection=dg.AssetSelection.assets(dg.AssetKey(["raw", "video"]))
        | dg.AssetSelection.assets(dg.AssetKey(["marts", "video_performance"])).upstream(),
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False,
    )
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    assert all(e.passed for e in result.get_asset_check_evaluations() if e.asset_key.path[0] == "marts")
    return working_database_path(warehouse)


def test_real_tables_without_a_range_are_kept_per_export_with_their_check_figures(real_run):
    rows = query(real_run, "SELECT period, count(*), sum(views), round(sum(watch_time_hours), 4), sum(impressions), "
                           "sum(engaged_views) FROM marts.video_performance GROUP BY period ORDER BY period")
    assert rows == [("export video/en/Table data.csv", 317, 36_978, 596.3976, 846_287, 26_226),
                    (f"export video/{JA_TABLE.name}", 41, 8_090_412, 1_499_922.5376, 129_776_873, 8_061_757)]
    # 1geIQxkXYGs: CTR 4.36% -> 0.0436; 12.6245 h x 3,600 / 534 views = 85.108 s (Studio rounds it to 0:01:25);
    # 21.6% viewed -> 0.216
    (ctr, seconds, viewed), = query(real_run, "SELECT impression_ctr, average_view_duration_seconds, "
                                              "average_percentage_viewed FROM marts.video_performance "
                                              "WHERE video_id = '1geIQxkXYGs'")
    assert (ctr, seconds, viewed) == (pytest.approx(0.0436), pytest.approx(12.6245 * 3600 / 534), pytest.approx(0.216))
    # the channel's days of Totals.csv are kept apart, never added to the videos
    assert query(real_run, "SELECT count(*), sum(engaged_views) FROM staging.video_not_counted") == [(6_802, 26_367)]
