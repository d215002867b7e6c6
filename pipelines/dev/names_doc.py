"""The sections of docs/metrics.md on names (issue 23), from assets/core/names.py: the canonical name of
each concept the marts share with its old and forbidden names, then the renamed columns and how long
their old names stay readable in schema compat. pipelines/dev/data_dictionary.py puts them after the
table index."""

from assets.core.names import COMPAT, COMPAT_REMOVED_IN, COMPAT_SCHEMA, CONCEPTS, RENAMED_IN


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _names(names) -> str:
    return ", ".join(f"`{n}`" for n in names)


def render_names() -> list[str]:
    """Markdown lines: the sections `## Names` and `## Renamed in <RENAMED_IN>`."""
    out = [
        "## Names",
        "",
        "One name per concept across the marts: the same thing has the same column name in every table, and a "
        "column that looks alike but means something else has a name of its own (its definition says why). "
        "The list is `assets/core/names.py`; a test fails when a mart's column takes an old name or one of "
        "the names that are never used.",
        "",
        "| kind | name | meaning | old names (before " + RENAMED_IN + ") | never | not to confuse with |",
        "|---|---|---|---|---|---|",
    ]
    for c in CONCEPTS:
        old = "; ".join(f"`{name}` in {', '.join(marts)}" for name, marts in c.renamed.items())
        out.append(f"| {c.group} | `{c.name}` | {_cell(c.meaning)} | {old} | {_names(c.never)} | "
                   f"{_cell(c.not_to_confuse)} |")
    out += [
        "",
        f"## Renamed in {RENAMED_IN}",
        "",
        f"These columns were renamed in {RENAMED_IN} (issue 23). Until {COMPAT_REMOVED_IN} the published file "
        f"also holds each renamed table, with every row, under its old column names as a view in schema "
        f"`{COMPAT_SCHEMA}`: a query still written with the old names runs after `marts.` is replaced by "
        f"`{COMPAT_SCHEMA}.` (`SELECT won, lost FROM {COMPAT_SCHEMA}.deal_to_win`). {COMPAT_REMOVED_IN} removes "
        f"schema `{COMPAT_SCHEMA}`: move saved queries and dashboards to the names on the right before then.",
        "",
        "| table | old name | name |",
        "|---|---|---|",
    ]
    out += [f"| `marts.{mart}` | `{old}` | `{new}` |" for mart, renames in COMPAT.items()
            for new, old in sorted(renames.items(), key=lambda r: r[1])]
    return out
