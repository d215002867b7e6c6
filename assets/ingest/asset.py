"""The `raw` step: one Dagster asset per source, all loaded side by side (load_sources), with the checks
of each load (rows quarantined, freshness, files refused, personal data masked, snapshot order)."""

from pathlib import Path

import dagster as dg
import duckdb

from assets.core import markdown, settings
from assets.core.database import table_metadata
from assets.core.resource import FunnelResource
from assets.ingest.arrivals import arrivals_metadata, fetch_arrivals, problems_text
from assets.ingest.export_moment import ordered_by_file_time
from assets.ingest.inbox import Skipped, freshness
from assets.ingest.load import FileOutcome, SourceLoad, load_sources
from schemas import SOURCES
from schemas.spec import SourceSpec


def raw_key(spec: SourceSpec) -> dg.AssetKey:
    return dg.AssetKey(["raw", spec.name])


def _raw_asset_spec(spec: SourceSpec) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=raw_key(spec),
        group_name="ingest",
        kinds={"duckdb", "pandera", "csv"},
        owners=settings.owners(),
        description=(
            f"{spec.title}: new files of inbox folder `{spec.name}/`, validated with the pandera schema "
            f"`schemas/{spec.name}.py` and appended to raw.{spec.name} with lineage columns. "
            "A file already loaded (same SHA-256) is skipped. Rows failing a check go to "
            f"quarantine.{spec.name} and the rest of the file loads; a file that cannot be read, or whose "
            "failing rows exceed max_rejected_share (config/sources.yaml), is refused whole: nothing of it loads, "
            f"{refused_check_name(spec.name)} fails naming the file, row, column and problem, and what reads "
            f"raw.{spec.name} is built from what loaded before while the other sources' new files are published. "
            "The sources load side by side in one step (`raw`)."
        ),
    )


def _raw_check_specs(spec: SourceSpec) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(f"{spec.name}_no_rows_quarantined", asset=raw_key(spec), description=(
            f"Warns when rows of the {spec.name} files loaded in this run failed a check and went to "
            f"quarantine.{spec.name} instead of raw (counts per file, check and column).")),
        dg.AssetCheckSpec(f"{spec.name}_newest_export_is_fresh", asset=raw_key(spec), description=(
            f"Fails when the newest file of inbox folder `{spec.name}/` is older than max_age_hours "
            "(config/sources.yaml, default 36 hours): the tool's export job stopped; or when that newest file "
            "was refused in this run: the source is as old as its last loaded file. It does not stop the publish."
            + (" The source is optional: an inbox without any of its files passes." if spec.optional else ""))),
        dg.AssetCheckSpec(refused_check_name(spec.name), asset=raw_key(spec), description=(
            f"Fails when a {spec.name} file was refused in this run (unreadable, or more failing rows than "
            "max_rejected_share): its data is held back, and what reads the source is built from the data loaded "
            "before it. Not blocking: the other sources' new files are loaded and published. Names each file, "
            "why, and the problems sheet; the run's alert says the same.")),
        dg.AssetCheckSpec(f"{spec.name}_no_personal_data_in_text", asset=raw_key(spec), description=(
            f"Warns when a {spec.name} file loaded in this run held an e-mail address or a phone number in a column "
            "that must not (a source, a company, a campaign, a stage): it was masked as the file was read and never "
            "stored; the check names the file, column and rows (ops.masked_values).")),
        dg.AssetCheckSpec(f"{spec.name}_snapshot_order_from_data", asset=raw_key(spec), description=(
            f"Warns when file modification times decided which of two {spec.name} files holds the newer version "
            "of the same records: their export moments (a date in the name, a preamble's range, the latest "
            "timestamp in the rows) tie, or one file has none. File times change with copies and downloads: "
            "name the files by export date, or export the records' last-modified time.")),
    ]


def _load_counts(result: SourceLoad) -> dict:
    """What a source's load did, as the run summary of `funnel run` and `funnel bench` read it."""
    return {
        "files_loaded": len(result.loaded),
        "files_rejected": len(result.rejected),
        "files_already_loaded": result.skipped,
        "rows_loaded": sum(o.rows for o in result.loaded),
        "rows_quarantined": sum(o.quarantined for o in result.loaded),
        "entries_not_read": len(result.not_read),
    }


def _not_read_md(result: SourceLoad) -> dg.MetadataValue:
    """The entries of the source's folder that are no export file, and why (`funnel run` prints them)."""
    if not result.not_read:
        return dg.MetadataValue.md("none")
    return dg.MetadataValue.md(markdown.table(["entry", "why it was not read"],
                                              [(e.path, e.reason) for e in result.not_read]))


def _masked_check(con: duckdb.DuckDBPyConnection, spec: SourceSpec, key: dg.AssetKey, run_id: str
                  ) -> dg.AssetCheckResult:
    rows = con.execute(
        "SELECT m.file_name, m.column_name, m.kind, m.rows_masked, array_to_string(m.first_rows, ', ') "
        "FROM ops.masked_values m JOIN ops.load_log l USING (load_id) WHERE l.run_id = $run AND m.source = $source "
        "ORDER BY 1, 2, 3", {"run": run_id, "source": spec.name}).fetchall()
    return dg.AssetCheckResult(
        asset_key=key, check_name=f"{spec.name}_no_personal_data_in_text", passed=not rows,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rows_masked": sum(r[3] for r in rows), "masked": dg.MetadataValue.md(
            markdown.table(["file", "column", "found", "rows", "first rows"], rows) if rows else "none")})


def _snapshot_order_check(con: duckdb.DuckDBPyConnection, spec: SourceSpec, key: dg.AssetKey) -> dg.AssetCheckResult:
    pairs = ordered_by_file_time(con, spec)
    return dg.AssetCheckResult(
        asset_key=key, check_name=f"{spec.name}_snapshot_order_from_data", passed=not pairs,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"file_pairs": len(pairs), "ordered_by_file_time": dg.MetadataValue.md(
            markdown.table(["file", "other file", "why the file times decided"], pairs) if pairs else "none")})


def refused_check_name(source: str) -> str:
    return f"{source}_no_file_refused"


def _refused_check(spec: SourceSpec, result: SourceLoad, key: dg.AssetKey, problems_dir: Path) -> dg.AssetCheckResult:
    """Fails (ERROR, not blocking) when a file of the source was refused in this run: its data is held back,
    the rest of the run goes on. `problem` says what was held back, why and what to do."""
    if not result.rejected:
        return dg.AssetCheckResult(asset_key=key, check_name=refused_check_name(spec.name), passed=True,
                                   metadata={"files_refused": 0})
    sheets = problems_dir / spec.name
    listed = f"\nEach refused file's problems, one per row, are in {sheets}/." if sheets.is_dir() else ""
    problem = (f"{len(result.rejected)} {spec.name} file(s) refused and held back: nothing of them was loaded, and "
               f"what reads {spec.name} was built from the {spec.name} data loaded before; the other sources' new "
               "files were loaded and published. Fix the file (or export it again) and put it back in the inbox, "
               "or remove it; the next run picks it up.\n" + "\n".join(o.message for o in result.rejected) + listed)
    return dg.AssetCheckResult(
        asset_key=key, check_name=refused_check_name(spec.name), passed=False, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"files_refused": len(result.rejected),
                  "refused": dg.MetadataValue.md(markdown.table(
                      ["file", "why"], [(o.file_name, _reason(o)) for o in result.rejected])),
                  "problem": dg.MetadataValue.md(markdown.text(problem)),
                  "problem_files": dg.MetadataValue.path(str(sheets))})


def _reason(outcome: FileOutcome) -> str:
    """The first line of a refused file's message, without the file name it opens with."""
    first = outcome.message.splitlines()[0] if outcome.message else ""
    return first.split(": ", 1)[1] if ": " in first else first


def _source_result(con: duckdb.DuckDBPyConnection, spec: SourceSpec, result: SourceLoad, inbox: Path,
                   max_age_hours: float, run_id: str, problems_dir: Path,
                   arrived: dict | None = None) -> dg.MaterializeResult:
    """The source's materialization (its raw table as this run left it, refused files or not) and its checks;
    `arrived`: where this run's new files came from (arrivals_metadata)."""
    key = raw_key(spec)
    counts = _load_counts(result)
    quarantined = markdown.query_table(
        con, f"SELECT q.file_name AS file, q.check_name AS \"check\", q.column_name AS \"column\", "
        f"count(*) AS problems, count(DISTINCT q.row_number) AS \"rows\" FROM quarantine.{spec.name} q "
        "JOIN ops.load_log l USING (load_id) WHERE l.run_id = $run GROUP BY ALL ORDER BY ALL", {"run": run_id})
    files = [(o.file_name, o.status, o.rows, o.quarantined, o.profile or "") for o in result.loaded + result.rejected]
    return dg.MaterializeResult(
        asset_key=key,
        metadata={
            **counts,
            "seconds": dg.MetadataValue.json(result.seconds()),
            **table_metadata(con, "raw", spec.name),  # row count, column schema, preview
            "files": dg.MetadataValue.md(markdown.table(
                ["file", "status", "rows loaded", "rows quarantined", "profile"], files) if files else "no new files"),
            "not_read": _not_read_md(result),
            **(arrived or {}),
        },
        check_results=[
            dg.AssetCheckResult(
                asset_key=key, check_name=f"{spec.name}_no_rows_quarantined",
                passed=not counts["rows_quarantined"], severity=dg.AssetCheckSeverity.WARN,
                metadata={"rows_quarantined": counts["rows_quarantined"],
                          "files": sum(1 for o in result.loaded if o.quarantined),
                          "problems": dg.MetadataValue.md(quarantined),
                          "problem_files": dg.MetadataValue.path(str(problems_dir / spec.name))}),
            freshness(inbox, spec.name, max_age_hours, f"{spec.name}_newest_export_is_fresh", optional=spec.optional,
                      asset_key=key, refused={o.file_name: _reason(o) for o in result.rejected}),
            _refused_check(spec, result, key, problems_dir),
            _masked_check(con, spec, key, run_id),
            _snapshot_order_check(con, spec, key),
        ],
    )


@dg.multi_asset(
    name="raw",
    specs=[_raw_asset_spec(spec) for spec in SOURCES.values()],
    check_specs=[check for spec in SOURCES.values() for check in _raw_check_specs(spec)],
    can_subset=True,
    description="Loads the new export files of every inbox source, the sources side by side (load_sources).",
)
def raw_exports(context: dg.AssetExecutionContext, funnel: FunnelResource):
    """One step for all sources so that they load at the same time (a thread and a cursor each): run
    one after another, pandera's checks, the byte scans and Python left a core idle about half of
    the time. First the files that arrive on their own are fetched (a remote inbox, the mailbox). Every
    source is materialized, one with a refused file too: its raw table holds what loaded before (and its
    other files), so what reads it is built from its previous data while the other sources' new files go
    through; its no_file_refused check fails, naming the file. A failed fetch fails the step at its end."""
    specs = [spec for spec in SOURCES.values() if raw_key(spec) in context.selected_asset_keys]
    profiles = funnel.load_profiles()
    limits = {spec.name: funnel.load_config().sources.settings(spec.name) for spec in specs}
    arrivals = fetch_arrivals(funnel.inbox_dir, funnel.warehouse_path, funnel.config_dir, funnel.timezone,
                              context.log)
    inbox = funnel.local_inbox
    with funnel.connect() as con:
        results = load_sources(con, specs, inbox, profiles, funnel.timezone, context.run.run_id,
                               {name: limit.max_rejected_share for name, limit in limits.items()},
                               context.log, funnel.problems_dir, funnel.load_config().fx)
        for spec in specs:
            result = results[spec.name]
            result.not_read += [Skipped(e.path, f"on the remote inbox, not copied: {e.reason}")
                                for e in arrivals.not_copied if e.path.startswith(spec.name + "/")]
            yield _source_result(con, spec, result, inbox, limits[spec.name].max_age_hours,
                                 context.run.run_id, funnel.problems_dir, arrivals_metadata(arrivals, spec.name))
    if arrivals.problems:
        raise dg.Failure(description=problems_text(arrivals), metadata={"fetch_problems": len(arrivals.problems)})


INGEST_ASSETS = [raw_exports]
