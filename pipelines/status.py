"""`funnel status`: what ops want to know without opening the UI.

The last runs (from the Dagster instance of dagster.yaml, where `funnel run`
and the nightly schedule record them), each source's newest inbox file and its
freshness, what the working database holds per source, and every check whose
latest evaluation failed.
"""

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import duckdb

from assets.core import settings
from assets.ingest.landing import origin_text, read_origins, redact


def last_runs(instance: dg.DagsterInstance, limit: int = 5) -> list[tuple]:
    rows = []
    for record in instance.get_run_records(limit=limit):
        run = record.dagster_run
        start = record.start_time and datetime.fromtimestamp(record.start_time, timezone.utc)
        end = record.end_time and datetime.fromtimestamp(record.end_time, timezone.utc)
        took = f"{record.end_time - record.start_time:.0f} s" if record.start_time and record.end_time else ""
        rows.append((run.run_id[:8], run.job_name, run.status.value,
                     f"{start:%Y-%m-%d %H:%M} UTC" if start else "", took, "" if end or not start else "running?"))
    return rows


def failed_checks(instance: dg.DagsterInstance, check_keys: list[dg.AssetCheckKey]) -> list[tuple]:
    """(check, asset, severity, what it says) of every check whose latest evaluation failed
    (a check planned in a run whose asset then failed has no evaluation: the one before counts)."""
    out = []
    for key in sorted(check_keys, key=lambda k: k.name):
        history = instance.event_log_storage.get_asset_check_execution_history(key, limit=10)
        record = next((r for r in history if r.status.value != "PLANNED"), None)  # newest first
        if record is None or record.status.value != "FAILED" or record.event is None:
            continue
        evaluation = record.event.dagster_event.event_specific_data
        problem = evaluation.metadata.get("problem")
        text = problem.value if problem is not None else next(
            (f"{k}: {v.value}" for k, v in evaluation.metadata.items() if isinstance(v.value, (int, float)) and v.value),
            "see the Dagster UI")
        out.append((key.name, key.asset_key.to_user_string(), evaluation.severity.value, str(text)[:160]))
    return out


def loaded_per_source(warehouse: str | Path) -> list[tuple] | str:
    working = settings.working_database_path(warehouse)
    if not working.exists():
        return f"no working database yet ({working})"
    try:
        con = duckdb.connect(str(working), read_only=True)
    except duckdb.IOException:
        return "the working database is in use by a run; try again when it has finished"
    with con:
        return con.execute(
            "SELECT source, count(*) FILTER (WHERE status = 'loaded') AS files_loaded, "
            "count(*) FILTER (WHERE status = 'rejected') AS attempts_refused, "
            "coalesce(sum(rows_loaded), 0) AS rows_loaded, coalesce(sum(rows_quarantined), 0) AS rows_quarantined, "
            "strftime(max(loaded_at), '%Y-%m-%d %H:%M') AS last_load_utc FROM ops.load_log GROUP BY ALL ORDER BY 1"
        ).fetchall()


def last_failures(warehouse: str | Path) -> tuple[list[tuple], list[tuple]] | str:
    """(per source its last refused file: when, file, reason, problems sheet; the last failed run's alerts)."""
    working = settings.working_database_path(warehouse)
    if not working.exists():
        return [], []
    try:
        con = duckdb.connect(str(working), read_only=True)
    except duckdb.IOException:
        return "the working database is in use by a run; try again when it has finished"
    sheets = settings.problems_dir(warehouse)
    with con:
        refused = []
        for source, file_name, at, message in con.execute(
                "SELECT source, arg_max(file_name, load_id), max(loaded_at), arg_max(message, load_id) FROM ops.load_log "
                "WHERE status = 'rejected' GROUP BY source ORDER BY source").fetchall():
            sheet = sheets / source / (file_name.replace("/", "__") + ".problems.csv")
            reason = (message or "").splitlines()[0].removeprefix(f"{file_name}: ")
            refused.append((source, f"{at:%Y-%m-%d %H:%M}", file_name, reason[:110],
                            str(sheet) if sheet.exists() else "-"))
        alerts = con.execute(
            "SELECT strftime(raised_at, '%Y-%m-%d %H:%M'), run_id, coalesce(asset_key, 'the run'), error, webhook "
            "FROM ops.alerts WHERE run_id = (SELECT arg_max(run_id, raised_at) FROM ops.alerts) ORDER BY step_key"
        ).fetchall()
    def what(error: str) -> str:  # a refused file's alert opens with a general line; the file's comes next
        lines = [line for line in error.splitlines() if line.strip()]
        return (lines[1] if len(lines) > 1 else lines[0] if lines else "")[:110]

    return refused, [(at, run[:8], asset, what(error), hook) for at, run, asset, error, hook in alerts]


def fetched_files(warehouse: str | Path, limit: int = 10) -> str | None:
    """The files fetched into the inbox (a remote inbox, mail attachments), newest first, with where each
    came from and when (their origin records beside the warehouse)."""
    records = read_origins(settings.origins_dir(warehouse))
    if not records:
        return None
    rows = [(r.get("file", ""), origin_text(r)[:110], r.get("fetched_at", "").replace("T", " ")[:16])
            for r in records[:limit]]
    return (f"Fetched into the inbox (newest {len(rows)} of {len(records)}):\n"
            + table(["file", "from", "fetched (UTC)"], rows))


def table(header: list[str], rows: list[tuple]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def report(instance: dg.DagsterInstance, inbox: str, config_dir: str, warehouse: str) -> str:
    from assets.ingest.inbox import freshness, inbox_files, scan_inbox
    from pipelines.definitions import defs
    from schemas import SOURCES
    from schemas.config import load_config

    sources_cfg = load_config(config_dir).sources
    shown_inbox, inbox = redact(inbox), str(settings.local_inbox(inbox, warehouse))
    parts = []
    runs = last_runs(instance)
    parts.append("Last runs:\n" + (table(["run", "job", "status", "started", "took", ""], runs) if runs else "  none"))
    fresh, not_read = [], []
    for name in SOURCES:
        not_read += [(e.path, e.reason) for e in scan_inbox(Path(inbox), name)[1]]
        limit = sources_cfg.settings(name).max_age_hours
        check = freshness(Path(inbox), name, limit, f"{name}_newest_export_is_fresh",
                          optional=SOURCES[name].optional)
        files = inbox_files(Path(inbox), name)
        newest = check.metadata.get("newest_file")
        age = check.metadata.get("age_hours")
        fresh.append((name, len(files), newest.value if newest else "-", f"{age.value} h" if age else "-",
                      f"{limit:g} h", "STALE" if not check.passed else "fresh" if files else "optional, none"))
    copied = f" (copied into {inbox})" if settings.is_url(shown_inbox) else ""
    parts.append(f"Inbox {shown_inbox}{copied}:\n"
                 + table(["source", "files", "newest file", "age", "max age", ""], fresh))
    if not_read:
        parts.append("Not read from the inbox:\n" + table(["entry", "why"], not_read))
    fetched = fetched_files(warehouse)
    if fetched:
        parts.append(fetched)
    failures = last_failures(warehouse)
    if isinstance(failures, str):
        parts.append("Last failures:\n  " + failures)
    else:
        refused, alerts = failures
        if refused:
            parts.append("Last refused file per source:\n" + table(
                ["source", "when (UTC)", "file", "reason", "problems sheet"], refused))
        if alerts:
            parts.append("Last failed run:\n" + table(["when (UTC)", "run", "where", "error", "alert"], alerts))
    loaded = loaded_per_source(warehouse)
    parts.append(f"Loaded into {settings.working_database_path(warehouse)}:\n" + (
        "  " + loaded if isinstance(loaded, str) else
        table(["source", "files loaded", "files refused", "rows loaded", "rows quarantined", "last load (UTC)"],
              loaded)))
    keys = list(defs().resolve_asset_graph().asset_check_keys)
    failed = failed_checks(instance, keys)
    parts.append("Checks failing in their latest evaluation:\n"
                 + (table(["check", "asset", "severity", "says"], failed) if failed else "  none"))
    published = Path(warehouse)
    parts.append(f"Published file: {published.resolve()}" + (
        f" ({published.stat().st_size / 2**20:,.1f} MiB, replaced "
        f"{datetime.fromtimestamp(published.stat().st_mtime, timezone.utc):%Y-%m-%d %H:%M} UTC)"
        if published.exists() else " (not published yet)"))
    return "\n\n".join(parts)
