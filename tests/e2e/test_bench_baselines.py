"""The benchmark's baselines (issue 7) compute the same marts as the pipeline, on a tiny
generated inbox with a nightly day of new and changed records; and the generator makes
workloads of exactly the sizes asked for. Correctness only: nothing here is timed."""

from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.dev.baselines.compare import MART_KEYS, compare_marts, floor_marts
from pipelines.dev.baselines.floor import run_floor
from pipelines.dev.baselines.lookups import write_lookups
from pipelines.dev.baselines.pandas_baseline import compute_marts
from pipelines.dev.bench import add_next_day
from pipelines.dev.generate import generate_sample_exports
from tests.conftest import CONFIG_DIR, run_funnel_job


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    inbox = root / "inbox"
    generate_sample_exports(inbox, months=6, seed=3, end_month="2026-09", scale=0.5)
    added = add_next_day(inbox)
    warehouse = root / "warehouse" / "funnel.duckdb"
    result = run_funnel_job(inbox, warehouse)
    assert result.success, [e.event_specific_data for e in result.all_events if e.is_failure]
    write_lookups(inbox, CONFIG_DIR, root / "lookups")
    run_floor(inbox, root / "lookups", root / "floor.duckdb")
    return inbox, warehouse, root, added


def test_the_nightly_day_adds_new_and_changed_records_of_every_source(benched):
    inbox, warehouse, _, added = benched
    assert all(n > 0 for n in added.values()), added
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = dict(con.execute("SELECT file_name, rows_loaded FROM ops.load_log WHERE file_name LIKE '%2026-10-01%'")
                      .fetchall())
        promoted = con.execute("SELECT count(*) FROM marts.channel_funnel WHERE period_start = '2026-10-01' AND mqls > 0"
                               ).fetchone()[0]
    assert loaded == {f"{s}/{name}_2026-10-01.csv": n for s, name, n in (
        ("ga4_sessions", "ga4_sessions", added["ga4_sessions"]), ("leads", "leads", added["leads"]),
        ("deals", "deals", added["deals"]), ("spend", "spend_ads", added["spend"]))}
    assert promoted > 0  # the day's MQLs (changed leads promoted, new leads) count in October


def test_the_floor_computes_the_published_marts(benched):
    _, warehouse, root, _ = benched
    marts = floor_marts(root / "floor.duckdb")
    assert all(marts[t] for t in MART_KEYS)
    assert compare_marts(warehouse, marts, "floor") == []


def test_the_pandas_script_computes_the_published_marts(benched):
    inbox, warehouse, root, _ = benched
    marts = {t: df.to_dict("records") for t, df in compute_marts(inbox, root / "lookups").items()}
    assert compare_marts(warehouse, marts, "pandas") == []


def test_a_baseline_one_cent_or_one_lead_off_is_named_by_table_row_and_column(benched):
    _, warehouse, root, _ = benched
    marts = floor_marts(root / "floor.duckdb")
    roi = next(r for r in marts["channel_roi"] if r["cpa"] is not None)
    roi["cpa"] += Decimal("0.01")
    funnel = marts["channel_funnel"][0]
    funnel["leads"] += 1
    dropped = marts["deal_to_win"].pop()
    problems = compare_marts(warehouse, marts, "floor")
    assert len(problems) == 3
    assert f"channel_roi: row period_start={roi['period_start']}, channel={roi['channel']}, column cpa" in problems[1]
    assert f"channel_funnel: row period_start={funnel['period_start']}, channel={funnel['channel']}, column leads" \
        in problems[0]
    assert f"deal_to_win: row period_start={dropped['period_start']}, channel={dropped['channel']} is published " \
        "but missing" in problems[2]


def test_the_generator_makes_exactly_the_rows_leads_and_deals_asked_for(tmp_path: Path):
    inbox = tmp_path / "inbox"
    generate_sample_exports(inbox, months=3, seed=5, end_month="2026-09", scale=1.0,
                            ga4_rows=2_000, leads=300, deals=120, spend_rows=700)
    with duckdb.connect() as con:
        def count(source: str, what: str = "count(*)") -> int:
            return con.execute(f"SELECT {what} FROM read_csv($f, all_varchar = true)",
                               {"f": str(inbox / source / "*.csv")}).fetchone()[0]

        assert count("ga4_sessions") == 2_000
        assert count("spend") == 700
        assert count("leads", "count(DISTINCT lead_id)") == 300
        assert count("deals", "count(DISTINCT deal_id)") == 120
    with pytest.raises(ValueError, match="raise scale"):
        generate_sample_exports(tmp_path / "too_many", months=3, seed=5, end_month="2026-09", scale=0.1, leads=10_000)


def test_the_dagster_floor_runs_the_jobs_steps_assets_and_checks():
    """The bench's Dagster floor stands for the job: every step of it, every asset materialized and
    every check evaluated, nothing else (it is only a floor if the run has the same shape)."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.dev.baselines.dagster_floor import run_dagster_floor
    from pipelines.jobs import ASSET_CHECKS, ASSETS

    job = defs().resolve_job_def("funnel_job")
    with dg.DagsterInstance.ephemeral() as instance:
        result = run_dagster_floor(instance)
    assert {n.name for n in result.job_def.nodes} == {n.name for n in job.nodes}
    assert ({e.asset_key for e in result.get_asset_materialization_events()}
            == {k for a in ASSETS for k in a.keys})
    assert ({(e.asset_key, e.check_name) for e in result.get_asset_check_evaluations()}
            == {(k.asset_key, k.name) for d in [*ASSETS, *ASSET_CHECKS] for k in d.check_keys})
