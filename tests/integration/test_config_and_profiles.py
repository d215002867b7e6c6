"""config/*.yaml and export profiles: a mistake is a ConfigError naming the file and
the key (docs/analyses.md); a user profile in <config>/profiles/ maps another
tool's headers onto the canonical columns without touching Python (section 3)."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from assets.ingest.load import ingest_source
from schemas import SOURCES
from schemas.config import ConfigError, load_config
from schemas.profiles import load_profiles

REPO = Path(__file__).resolve().parents[2]
SHIPPED_CONFIG = REPO / "config"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A copy of the shipped config directory that a test may edit."""
    d = tmp_path / "config"
    shutil.copytree(SHIPPED_CONFIG, d)
    return d


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def channel(data: dict, name: str) -> dict:
    return next(c for c in data["channels"] if c["name"] == name)


# ---------------------------------------------------------------- shipped config


def test_shipped_config_loads_with_the_contract_channels():
    cfg = load_config(SHIPPED_CONFIG)

    assert cfg.channels.channel_names() == [
        "Organic Search", "Paid Search", "Display", "Paid Social", "Organic Social", "Email", "Referral",
        "Direct", "Webinar", "Event", "Partner", "Outbound", "Other", "Unassigned"]
    assert {c.name: c.label_ja for c in cfg.channels.channels} == {
        "Organic Search": "自然検索", "Paid Search": "検索広告", "Display": "ディスプレイ広告",
        "Paid Social": "SNS広告", "Organic Social": "SNS", "Email": "メール", "Referral": "参照サイト",
        "Direct": "ダイレクト", "Webinar": "ウェビナー・セミナー", "Event": "展示会・イベント",
        "Partner": "紹介・パートナー", "Outbound": "アウトバウンド・インサイドセールス", "Other": "その他",
        "Unassigned": "未分類"}
    assert cfg.channels.fallback_channel == "Other"
    assert cfg.targets.fiscal_year_start_month == 4


def test_shipped_stages_map_won_lost_and_open_values():
    stages = load_config(SHIPPED_CONFIG).stages

    assert stages.deal_outcome("Closed Won") == "won"
    assert stages.deal_outcome("受注") == "won"
    assert stages.deal_outcome("成約") == "won"
    assert stages.deal_outcome("Closed Lost") == "lost"
    assert stages.deal_outcome("失注") == "lost"
    assert stages.deal_outcome("提案中") == "open"
    assert stages.deal_outcome("まだ分からない") is None


def test_shipped_profiles_load_and_include_native():
    names = [p.name for p in load_profiles(SHIPPED_CONFIG)]

    assert "native" in names
    assert len(names) == len(set(names))


# ---------------------------------------------------------------- channels.yaml mistakes


def test_unknown_key_in_a_channel_is_refused_naming_file_and_key(config_dir):
    edit_yaml(config_dir / "channels.yaml", lambda d: channel(d, "Webinar").update(colour="red"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    message = str(err.value)
    assert str(config_dir / "channels.yaml") in message
    assert "key channels.8.colour" in message  # Webinar is the 9th channel


def test_unknown_top_level_key_is_refused_naming_file_and_key(config_dir):
    edit_yaml(config_dir / "channels.yaml", lambda d: d.update(fallback="Other"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    assert str(config_dir / "channels.yaml") in str(err.value)
    assert "key fallback" in str(err.value)


def test_duplicate_channel_name_is_refused_naming_file_and_the_name(config_dir):
    def dup(d):
        d["channels"].append({"name": "Webinar", "label_ja": "ウェビナー2", "values": ["webinar2"]})

    edit_yaml(config_dir / "channels.yaml", dup)

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    message = str(err.value)
    assert str(config_dir / "channels.yaml") in message
    assert "channel names must be unique" in message
    assert "'Webinar'" in message


def test_reserved_channel_name_unattributed_is_refused(config_dir):
    edit_yaml(config_dir / "channels.yaml", lambda d: channel(d, "Other").update(name="Unattributed"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    message = str(err.value)
    assert str(config_dir / "channels.yaml") in message
    assert "key channels.12.name" in message  # Other is the 13th channel
    assert "'Unattributed' is reserved" in message


def test_fallback_channel_not_in_the_list_is_refused(config_dir):
    edit_yaml(config_dir / "channels.yaml", lambda d: d.update(fallback_channel="Misc"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    message = str(err.value)
    assert str(config_dir / "channels.yaml") in message
    assert "fallback_channel 'Misc' is not one of the channels" in message


def test_a_pattern_that_is_not_a_regular_expression_is_refused(config_dir):
    edit_yaml(config_dir / "channels.yaml", lambda d: channel(d, "Event")["patterns"].append("(unclosed"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    message = str(err.value)
    assert str(config_dir / "channels.yaml") in message
    assert "key channels.9.patterns" in message  # Event is the 10th channel
    assert "'(unclosed' is not a valid regular expression" in message


def test_channels_yaml_that_is_not_yaml_is_refused(config_dir):
    (config_dir / "channels.yaml").write_text("channels: [\n  - name: x\n", encoding="utf-8")

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    assert str(config_dir / "channels.yaml") in str(err.value)
    assert "not valid YAML" in str(err.value)
    assert "line 2, column 3:\n      - name: x\n      ^" in str(err.value)  # the pure-Python parser quotes the line


def test_the_fast_yaml_loader_reads_every_shipped_file_as_pyyamls_safe_loader_does():
    from schemas.config import FAST_YAML_LOADER

    root = Path(__file__).parents[2]
    files = sorted([*(root / "config").glob("*.yaml"), *(root / "schemas" / "profiles").glob("*.yaml")])
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert yaml.load(text, Loader=FAST_YAML_LOADER) == yaml.safe_load(text), path


def test_missing_config_file_is_refused_naming_it(config_dir):
    (config_dir / "stages.yaml").unlink()

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    assert str(config_dir / "stages.yaml") in str(err.value)
    assert "not found" in str(err.value)


# ---------------------------------------------------------------- stages.yaml mistakes


def test_a_stage_under_both_won_and_lost_is_refused(config_dir):
    edit_yaml(config_dir / "stages.yaml", lambda d: d["deal_stages"]["lost"].append("受注"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    message = str(err.value)
    assert str(config_dir / "stages.yaml") in message
    assert "key deal_stages" in message
    assert "'受注' is listed under both won and lost" in message


def test_a_stage_under_both_won_and_lost_is_found_after_normalisation(config_dir):
    # "ＣＬＯＳＥＤ　ＷＯＮ" (full width) is the same value as the won stage "closed won"
    edit_yaml(config_dir / "stages.yaml", lambda d: d["deal_stages"]["lost"].append("ＣＬＯＳＥＤ　ＷＯＮ"))

    with pytest.raises(ConfigError) as err:
        load_config(config_dir)

    assert "is listed under both won and lost" in str(err.value)


# ---------------------------------------------------------------- user export profiles

SATORI_PROFILE = """\
name: satori
description: SATORI lead export (Japanese headers)
sources:
  leads:
    aliases:
      lead_id: ["リードID"]
      created_at: ["登録日時"]
      lead_source: ["流入元"]
"""


def test_user_profile_maps_japanese_headers_and_is_recorded_in_load_log(config_dir, tmp_path):
    (config_dir / "profiles").mkdir()
    (config_dir / "profiles" / "satori.yaml").write_text(SATORI_PROFILE, encoding="utf-8")
    inbox = tmp_path / "inbox"
    (inbox / "leads").mkdir(parents=True)
    (inbox / "leads" / "satori_export.csv").write_text(
        "リードID,登録日時,流入元,会社名\n"
        "S-001,2026/07/03 10:00,展示会,株式会社テスト\n"
        "S-002,2026/07/04 11:30,ウェビナー,サンプル商事\n",
        encoding="utf-8")
    con = duckdb.connect()

    result = ingest_source(con, SOURCES["leads"], inbox, load_profiles(config_dir), "Asia/Tokyo", "test-run")

    assert [(o.file_name, o.status, o.rows, o.profile) for o in result.loaded] == [
        ("leads/satori_export.csv", "loaded", 2, "satori")]
    assert con.execute("SELECT profile, status FROM ops.load_log").fetchall() == [("satori", "loaded")]
    assert con.execute("SELECT lead_id, created_at, lead_source FROM raw.leads ORDER BY lead_id").fetchall() == [
        ("S-001", dt.datetime(2026, 7, 3, 10, 0), "展示会"),
        ("S-002", dt.datetime(2026, 7, 4, 11, 30), "ウェビナー"),
    ]


def test_user_profiles_come_before_the_builtin_ones(config_dir):
    (config_dir / "profiles").mkdir()
    (config_dir / "profiles" / "satori.yaml").write_text(SATORI_PROFILE, encoding="utf-8")

    names = [p.name for p in load_profiles(config_dir)]

    assert names[0] == "satori"
    assert "native" in names[1:]


@pytest.mark.parametrize(
    "text, key",
    [
        ("name: bad\nsources:\n  leads:\n    aliases:\n      lead_identifier: [ID]\n",
         "key sources.leads.aliases.lead_identifier: 'lead_identifier' is not a column of leads"),
        ("name: bad\nsources:\n  opportunities:\n    aliases:\n      deal_id: [ID]\n",
         "key sources.opportunities: unknown source"),
        ("name: bad\nsources:\n  leads:\n    alias:\n      lead_id: [ID]\n",
         "key sources.leads.alias"),
        ("sources:\n  leads: {}\n",
         "key name"),
    ],
    ids=["alias_for_unknown_column", "unknown_source", "misspelt_aliases_key", "no_name"],
)
def test_a_malformed_user_profile_is_refused_naming_file_and_key(config_dir, text, key):
    (config_dir / "profiles").mkdir()
    (config_dir / "profiles" / "bad.yaml").write_text(text, encoding="utf-8")

    with pytest.raises(ConfigError) as err:
        load_profiles(config_dir)

    assert str(config_dir / "profiles" / "bad.yaml") in str(err.value)
    assert key in str(err.value)


def test_a_user_profile_reusing_a_builtin_name_is_refused(config_dir):
    (config_dir / "profiles").mkdir()
    (config_dir / "profiles" / "mine.yaml").write_text("name: native\nsources:\n  leads: {}\n", encoding="utf-8")

    with pytest.raises(ConfigError) as err:
        load_profiles(config_dir)

    assert "key name" in str(err.value)
    assert "'native' is used by more than one file" in str(err.value)


def test_a_malformed_source_category_file_names_file_line_and_column(tmp_path):
    from schemas.config import load_source_categories

    (tmp_path / "ga4_source_categories.csv").write_text(
        "source,source_category\nqwant,SOURCE_CATEGORY_SEARCH\nfoo,SEARCH\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_source_categories(tmp_path)
    assert "ga4_source_categories.csv: line 3, column source_category: 'SEARCH' is not one of" in str(err.value)


# ---------------------------------------------------------------- sources.yaml


def test_sources_yaml_gives_per_source_limits_over_the_defaults(config_dir):
    (config_dir / "sources.yaml").write_text(
        "defaults:\n  max_age_hours: 48\nsources:\n  leads:\n    max_rejected_share: 0.2\n", encoding="utf-8")
    cfg = load_config(config_dir).sources
    assert (cfg.settings("leads").max_rejected_share, cfg.settings("leads").max_age_hours) == (0.2, 48)
    assert (cfg.settings("deals").max_rejected_share, cfg.settings("deals").max_age_hours) == (0.05, 48)


def test_sources_yaml_is_optional(config_dir):
    (config_dir / "sources.yaml").unlink()
    settings = load_config(config_dir).sources.settings("spend")
    assert (settings.max_rejected_share, settings.max_age_hours) == (0.05, 36)


@pytest.mark.parametrize("text, words", [
    ("sources:\n  lead:\n    max_rejected_share: 0.1\n", "key sources.lead: unknown source (known: deals, ga4_sessions, leads, spend, touchpoints, video)"),
    ("sources:\n  leads:\n    max_rejected_share: 1.5\n", "key sources.leads.max_rejected_share: Input should be less than or equal to 1"),
    ("defaults:\n  max_age_hours: 0\n", "key defaults.max_age_hours: Input should be greater than 0"),
])
def test_a_bad_sources_yaml_is_refused_naming_the_key(config_dir, text, words):
    (config_dir / "sources.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(config_dir)
    assert str(config_dir / "sources.yaml") in str(err.value) and words in str(err.value)
