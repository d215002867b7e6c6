"""The sample exports `make run` starts from: dated relative to today, so that its first run is fresh,
and generated at any size without failing."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd

from assets.ingest.inbox import freshness, inbox_files
from pipelines.cli import main
from pipelines.dev.generate import generate_sample_exports
from schemas import SOURCES


def test_the_default_sample_ends_yesterday_and_every_source_is_fresh(tmp_path):
    inbox = tmp_path / "inbox"
    assert main(["generate", "--out", str(inbox), "--months", "2", "--scale", "0.05"]) == 0
    yesterday = datetime.now(ZoneInfo("Asia/Tokyo")).date() - timedelta(days=1)
    for source in SOURCES:
        result = freshness(inbox, source, 36, "fresh", optional=SOURCES[source].optional)
        assert result.passed, (source, result.metadata)
        newest = inbox_files(inbox, source)[-1]
        assert newest.stat().st_mtime <= datetime.now().timestamp()  # exported, never in the future
    # the newest lead snapshot is yesterday's, named by its date
    assert max(p.stem.removeprefix("leads_") for p in inbox_files(inbox, "leads")) == yesterday.isoformat()


def test_a_sample_without_any_deal_is_written(tmp_path):
    """One month at a fifth of the volume with seed 2 draws no deal: the generator failed on the empty ids."""
    written = generate_sample_exports(tmp_path / "inbox", months=1, seed=2, end_month="2025-01", scale=0.2)
    [deals] = written["deals"]
    assert pd.read_csv(deals).empty and list(pd.read_csv(deals).columns)[:3] == ["deal_id", "created_at", "stage"]
    assert date(2025, 1, 31).isoformat() in deals.name
