"""`funnel status`: what ops want to know without opening the UI.

The last runs (from the Dagster instance of dagster.yaml, where `funnel run`
and the nightly schedule record them), each source's newest inbox file and
whether it is fresh (a refused newest file is not: the source is held back at
its last loaded file), the last refusals and alerts, what the working database
holds per source, the raw values no rule maps, and every check whose latest
evaluation failed. Times are in the nightly schedule's time zone
(FUNNEL_SCHEDULE_TIMEZONE), the one ops read the schedule in.
"""

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import duckdb

from assets.core import markdown, settings
from assets.core.database import named_queries
from assets.ingest.landing import origin_text, read_origins, redact
from assets.ingest.inbox import freshness, inbox_files, modified_at, scan_inbox
from schemas import SOURCES
from schemas.config import load_config

QUERIES = named_queries(Path(__file__).with_name("status.sql"))
UNMAPPED_LISTED = 30  # the most common unmapped values shown; ops.unmapped_values holds them all


def local_time(moment: datetime | float | None) -> str:
    """A moment in the schedule's time zone: a POSIX timestamp, or a naive UTC datetime as DuckDB stores it."""
    if moment is None:
        return ""
    if isinstance(moment, (int, float)):
        moment = datetime.fromtimestamp(moment, timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return f"{moment.astimezone(ZoneInfo(settings.schedule_timezone())):%Y-%m-%d %H:%M}"


def last_runs(instance: dg.DagsterInstance, limit: int = 5) -> list[tuple]:
    rows = []
    for record in instance.get_run_records(limit=limit):
        run = record.dagster_run
        took = f"{record.end_time - record.start_time:.0f} s" if record.start_time and record.end_time else ""
        rows.append((run.run_id[:8], run.job_name, run.status.value, local_time(record.start_time), took,
                     "" if record.end_time or not record.start_time else "running?"))
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
        out.append((key.name, key.asset_key.to_user_string(), evaluation.severity.value,
                    markdown.plain(str(text))[:160]))
    return out


def open_working(warehouse: str | Path) -> duckdb.DuckDBPyConnection | str:
    """The working database, read-only; or why it cannot be read now."""
    working = settings.working_database_path(warehouse)
    if not working.exists():
        return f"no working database yet ({working})"
    try:
        return duckdb.connect(str(working), read_only=True)
    except duckdb.IOException:
        return "the working database is in use by a run; try again when it has finished"


def first_line(message: str | None, file_name: str) -> str:
    return (message or "").splitlines()[0].removeprefix(f"{file_name}: ") if message else ""


def problems_sheet(warehouse: str | Path, source: str, file_name: str) -> str:
    sheet = settings.problems_dir(warehouse) / source / (file_name.replace("/", "__") + ".problems.csv")
    return str(sheet) if sheet.exists() else "-"


def newest_refused(con: duckdb.DuckDBPyConnection, inbox: Path, source: str, newest: Path) -> tuple | None:
    """(when, file, reason) when the source's newest inbox file is, as it is now, the file the last run that
    read it refused; None when it loaded, or was never read as it is (new, or changed since)."""
    file_name = newest.relative_to(inbox).as_posix()
    found = con.execute(QUERIES["latest_attempt"], {"source": source, "file": file_name}).fetchone()
    if found is None or found[0] != "rejected":
        return None
    status, size, modified, message, at = found
    try:
        stat = newest.stat()
    except OSError:  # unreadable now as then
        return at, file_name, first_line(message, file_name)
    if size is not None and (size, modified) != (stat.st_size, modified_at(stat)):
        return None  # replaced since: the next run reads it again
    return at, file_name, first_line(message, file_name)


def inbox_state(inbox: Path, config_dir: str, con) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(per source: files, newest file, age, max age, state; the sources whose newest file was refused:
    when, file, reason; the entries not read and why)."""
    sources_cfg = load_config(config_dir).sources
    fresh, held_back, not_read = [], [], []
    for name in SOURCES:
        not_read += [(e.path, e.reason) for e in scan_inbox(inbox, name)[1]]
        files = inbox_files(inbox, name)
        refused = newest_refused(con, inbox, name, files[-1]) if files and not isinstance(con, str) else None
        if refused:
            held_back.append((name, *refused))
        limit = sources_cfg.settings(name).max_age_hours
        check = freshness(inbox, name, limit, f"{name}_newest_export_is_fresh", optional=SOURCES[name].optional,
                          refused={refused[1]: refused[2]} if refused else None)
        newest, age = check.metadata.get("newest_file"), check.metadata.get("age_hours")
        state = ("REFUSED" if refused else "STALE" if not check.passed else "fresh" if files else "optional, none")
        fresh.append((name, len(files), newest.value if newest else "-", f"{age.value} h" if age else "-",
                      f"{limit:g} h", state))
    return fresh, held_back, not_read


def fetched_files(warehouse: str | Path, limit: int = 10) -> str | None:
    """The files fetched into the inbox (a remote inbox, mail attachments), newest first, with where each
    came from and when (their origin records beside the warehouse)."""
    records = read_origins(settings.origins_dir(warehouse))
    if not records:
        return None
    rows = [(r.get("file", ""), origin_text(r),
             local_time(datetime.fromisoformat(r["fetched_at"])) if r.get("fetched_at") else "")
            for r in records[:limit]]
    return (f"Fetched into the inbox (newest {len(rows)} of {len(records)}):\n"
            + table(["file", "from", f"fetched ({settings.schedule_timezone()})"], rows))


def table(header: list[str], rows: list[tuple]) -> str:
    cells = [header] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    return "\n".join("  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells)


def _alert_text(error: str) -> str:
    """A refused file's alert opens with a general line; the file's comes next."""
    lines = [line for line in error.splitlines() if line.strip()]
    return (lines[1] if len(lines) > 1 else lines[0] if lines else "")[:110]


def working_parts(con: duckdb.DuckDBPyConnection, warehouse: str, zone: str, held_back: list[tuple]) -> list[str]:
    """The sections read from the working database: refusals (but those of `held_back`, shown above),
    alerts, loads, unmapped values."""
    parts = []
    shown = {(source, file_name) for source, _, file_name, _ in held_back}
    refused = [(source, local_time(at), file_name, first_line(message, file_name)[:110],
                problems_sheet(warehouse, source, file_name))
               for source, file_name, at, message in con.execute(QUERIES["last_refused"]).fetchall()
               if (source, file_name) not in shown]
    if refused:
        parts.append("Last refused file per source:\n" + table(
            ["source", f"when ({zone})", "file", "reason", "problems sheet"], refused))
    alerts = [(local_time(at), run[:8], where, _alert_text(error), hook)
              for at, run, where, error, hook in con.execute(QUERIES["last_alerts"]).fetchall()]
    if alerts:
        parts.append("Alerts of the last run that raised any:\n" + table(
            [f"when ({zone})", "run", "where", "what", "alert"], alerts))
    loaded = [(*row[:5], local_time(row[5])) for row in con.execute(QUERIES["loaded_per_source"]).fetchall()]
    parts.append(f"Loaded into {settings.working_database_path(warehouse)}:\n" + table(
        ["source", "files loaded", "files refused", "rows loaded", "rows quarantined", f"last load ({zone})"],
        loaded))
    try:
        unmapped = con.execute(QUERIES["unmapped_values"], {"limit": UNMAPPED_LISTED}).fetchall()
    except duckdb.CatalogException:  # no run has built the staging tables yet
        unmapped = []
    if unmapped:
        more = unmapped[0][4] - len(unmapped)
        parts.append("Raw values no rule maps (config/channels.yaml, config/stages.yaml):\n" + table(
            ["column", "value", "records", "counted as"], [row[:4] for row in unmapped])
            + (f"\n  and {more} more: SELECT * FROM ops.unmapped_values" if more else ""))
    return parts


def report(instance: dg.DagsterInstance, inbox: str, config_dir: str, warehouse: str) -> str:
    from pipelines.definitions import defs

    zone = settings.schedule_timezone()
    parts = []
    runs = last_runs(instance)
    parts.append("Last runs:\n" + (table(["run", "job", "status", f"started ({zone})", "took", ""], runs)
                                   if runs else "  none"))
    shown_inbox, inbox = redact(inbox), str(settings.local_inbox(inbox, warehouse))
    copied = f" (copied into {inbox})" if settings.is_url(shown_inbox) else ""
    con = open_working(warehouse)
    try:
        fresh, held_back, not_read = inbox_state(Path(inbox), config_dir, con)
        parts.append(f"Inbox {shown_inbox}{copied}:\n"
                     + table(["source", "files", "newest file", "age", "max age", ""], fresh))
        if held_back:
            parts.append("Newest file refused, so the source is held back at its last loaded file:\n" + table(
                ["source", f"when ({zone})", "file", "reason", "problems sheet"],
                [(source, local_time(at), file_name, reason[:110], problems_sheet(warehouse, source, file_name))
                 for source, at, file_name, reason in held_back]))
        if not_read:
            parts.append("Not read from the inbox:\n" + table(["entry", "why"], not_read))
        fetched = fetched_files(warehouse)
        if fetched:
            parts.append(fetched)
        if isinstance(con, str):
            parts.append("Loads, refusals and alerts:\n  " + con)
        else:
            parts += working_parts(con, warehouse, zone, held_back)
    finally:
        if not isinstance(con, str):
            con.close()
    keys = list(defs().resolve_asset_graph().asset_check_keys)
    failed = failed_checks(instance, keys)
    parts.append("Checks failing in their latest evaluation:\n"
                 + (table(["check", "asset", "severity", "says"], failed) if failed else "  none"))
    published = Path(warehouse)
    parts.append(f"Published file: {published.resolve()}" + (
        f" ({published.stat().st_size / 2**20:,.1f} MiB, replaced {local_time(published.stat().st_mtime)} {zone})"
        if published.exists() else " (not published yet)"))
    return "\n\n".join(parts)
