"""The hostile-input corpus, its refused cases (tests/hostile_corpus.py says what each outcome means)."""

import pytest

from tests.hostile_corpus import CASES, run_case
from tests.e2e.test_hostile_corpus_read import baseline  # noqa: F401 (the shared fixture)

REFUSED = [c for c in CASES if c.outcome == "refused"]


@pytest.mark.parametrize("case", REFUSED, ids=[c.name for c in REFUSED])
def test_a_hostile_file_is_refused_by_name_and_the_published_marts_keep_their_data(case, baseline, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.delenv("FUNNEL_PII_SALT", raising=False)
    run_case(case, baseline, tmp_path)
