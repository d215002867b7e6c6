"""Every mart keeps to the one-name-per-concept list of assets/core/names.py (issue 23): no column carries
an old or forbidden name of a concept, so `won` next to `wins` cannot come back; the list itself is
consistent, and the compat views it promises rename columns that exist until their release."""

import re
import tomllib
from pathlib import Path

import pytest

from assets.core.database import SQL_DIR
from assets.core.names import COMPAT, COMPAT_REMOVED_IN, CONCEPTS, RENAMED_IN, misnamed_columns
from assets.plan.target_plan import COLUMNS as TARGET_PLAN_COLUMNS

REPO = Path(__file__).resolve().parents[2]
COMMENT_ON_COLUMN = re.compile(r"^COMMENT ON COLUMN marts\.(\w+)\.(\w+) IS", re.M)


def mart_columns() -> dict[str, list[str]]:
    """Mart -> its columns: the COMMENT ON COLUMN statements of assets/sql/marts/*.sql (every published mart
    column has one, tests/e2e/test_metrics.py; tests/e2e/test_data_dictionary.py checks the published file
    itself) and marts.target_plan's COLUMNS."""
    columns: dict[str, list[str]] = {"target_plan": [name for name, _, _ in TARGET_PLAN_COLUMNS]}
    for path in sorted((SQL_DIR / "marts").glob("*.sql")):
        for table, column in COMMENT_ON_COLUMN.findall(path.read_text(encoding="utf-8")):
            columns.setdefault(table, []).append(column)
    return columns


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))


def test_no_mart_column_has_an_old_or_forbidden_name_of_a_concept():
    problems = misnamed_columns(mart_columns())
    assert not problems, ("columns named differently from the rest of the marts (assets/core/names.py lists one "
                          "name per concept):\n" + "\n".join(problems))


def test_a_drifted_column_is_named_with_what_to_call_it():
    problems = misnamed_columns({
        "video_funnel": ["period_start", "month", "won", "cost", "leads"],  # period_start is right here
        "bottlenecks": ["period_start"],  # a cohort view: its period is cohort_start
    })
    assert [p.split(":")[0] for p in problems] == [
        "marts.bottlenecks.period_start", "marts.video_funnel.month", "marts.video_funnel.won",
        "marts.video_funnel.cost"]
    assert "call it cohort_start (" in problems[0]
    assert "call it period_start (" in problems[1]
    assert "call it wins (" in problems[2] and " or reached_win (" in problems[2]
    assert "call it spend (" in problems[3]


def test_the_list_names_each_concept_once_and_never_forbids_a_canonical_name():
    names = [c.name for c in CONCEPTS]
    assert len(names) == len(set(names))
    for concept in CONCEPTS:
        assert concept.name not in concept.renamed and concept.name not in concept.never, concept.name
        assert not set(concept.never) & set(names), concept.name
        assert concept.meaning.strip() and concept.group in {"keys", "periods", "counts", "money", "rates", "durations"}


def test_every_canonical_name_is_a_column_and_every_renamed_mart_exists():
    columns = mart_columns()
    in_use = {c for cols in columns.values() for c in cols}
    assert [c.name for c in CONCEPTS if c.name not in in_use] == [], "a concept no mart has: drop it from the list"
    assert set(COMPAT) <= set(columns)


def test_each_compat_view_renames_columns_its_mart_has_to_names_it_no_longer_has():
    columns = mart_columns()
    for mart, renames in COMPAT.items():
        assert set(renames) <= set(columns[mart]), mart
        assert not set(renames.values()) & set(columns[mart]), mart


def test_the_compat_views_go_in_their_release():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert version(RENAMED_IN) < version(COMPAT_REMOVED_IN)
    if version(project) >= version(COMPAT_REMOVED_IN):
        pytest.fail(f"funnel sync {project}: the compat views of the names renamed in {RENAMED_IN} were to go in "
                    f"{COMPAT_REMOVED_IN}. Remove the `renamed` entries of assets/core/names.py (keep the old "
                    "names in `never`) and the compat schema, and say so in docs/metrics.md.")
