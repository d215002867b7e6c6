"""The hostile-input corpus, the cases that load, quarantine rows or are not read at all
(tests/hostile_corpus.py says what each outcome means)."""

import pytest

from tests.conftest import run_funnel_job, write_export
from tests.hostile_corpus import CASES, DEALS, LEADS, leads, run_case

READ = [c for c in CASES if c.outcome != "refused"]


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """A good inbox, run and published once: every case starts from a copy of it."""
    root = tmp_path_factory.mktemp("corpus")
    inbox = root / "inbox"
    write_export(inbox, "leads", "leads_2026-07-05.csv", LEADS + leads(5, 1))
    write_export(inbox, "deals", "deals_2026-07-05.csv", DEALS + "D1,2026-07-04,Closed Won,L1,1000000\n")
    write_export(inbox, "ga4_sessions", "ga4_2026-07.csv", "date,session_source,session_medium,sessions\n"
                 "2026-07-01,google,organic,100\n")
    assert run_funnel_job(inbox, root / "wh" / "funnel.duckdb").success
    return root


def test_the_corpus_holds_at_least_forty_cases_of_every_outcome():
    outcomes = {c.outcome for c in CASES}
    assert len(CASES) >= 40 and outcomes == {"loaded", "quarantined", "refused", "not read"}
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", READ, ids=[c.name for c in READ])
def test_a_hostile_file_loads_quarantines_or_is_listed_as_not_read(case, baseline, tmp_path, monkeypatch):
    monkeypatch.delenv("FUNNEL_PII_SALT", raising=False)
    run_case(case, baseline, tmp_path)
