"""`funnel`: run the pipeline, or generate sample exports.

    funnel run [--inbox DIR] [--warehouse PATH] [--config DIR]
    funnel status [--inbox DIR] [--warehouse PATH] [--config DIR]
    funnel generate --out DIR [--months N] [--seed S] [--end-date YYYY-MM-DD | --end-month YYYY-MM] [--scale X | --workload large]
                    [--ga4-rows N] [--leads N] [--deals N] [--spend-rows N]
    funnel sql ["SELECT ..."] [--warehouse PATH]
    funnel docs [--out docs/metrics.md]   (and docs/inputs.md)
"""

import argparse
import atexit
import re
import os
import socket
import sys
import threading
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from assets.core import settings


def _instance():
    """The Dagster instance of dagster.yaml (runs show in the UI); set up like `make ui` does."""
    import dagster as dg

    os.environ.setdefault("DAGSTER_HOME", str(settings.PROJECT_ROOT))
    os.environ.setdefault("FUNNEL_DAGSTER_STORAGE", str(settings.PROJECT_ROOT / "data" / "dagster"))
    Path(os.environ["FUNNEL_DAGSTER_STORAGE"]).mkdir(parents=True, exist_ok=True)
    return dg.DagsterInstance.get()


def run(args: argparse.Namespace) -> int:
    from schemas.config import ConfigError, load_config
    from schemas.profiles import load_profiles

    resource_config = {
        "inbox_dir": args.inbox or settings.inbox_dir(),
        "config_dir": args.config or settings.config_dir(),
        "warehouse_path": args.warehouse or settings.warehouse_path(),
        "timezone": settings.timezone(),
    }
    from assets.ingest.landing import redact
    from assets.ingest.remote import url_problem
    from assets.report.report import load_report_config
    from schemas.mail import load_mail_config

    inbox = resource_config["inbox_dir"]
    try:  # configuration errors are reported before anything runs
        load_config(resource_config["config_dir"])
        load_profiles(resource_config["config_dir"])
        load_report_config(resource_config["config_dir"])
        load_mail_config(resource_config["config_dir"])
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if settings.is_url(inbox) and url_problem(inbox):
        print(f"inbox {redact(inbox)}: {url_problem(inbox)}", file=sys.stderr)
        return 2
    if not settings.is_url(inbox) and not Path(inbox).is_dir():
        print(f"inbox {inbox} does not exist", file=sys.stderr)
        return 2
    print(f"inbox {redact(inbox)} -> warehouse {resource_config['warehouse_path']}")
    from pipelines.launch import JOB_NAME, run_in_foreground

    with _instance() as instance:  # disposed at the end: its SQLite connections closed
        for abandoned, alerts in fail_abandoned_runs(instance, JOB_NAME, resource_config["warehouse_path"]).items():
            print(f"run {abandoned} was still shown as running, but its process is gone: marked failed")
            _print_alerts(alerts)
        run_id = str(uuid.uuid4())  # chosen here so that Progress can follow the run's event log
        with Progress(instance, run_id):  # prints each file, asset and check as the run reaches it
            result = run_in_foreground(instance, run_id, tags=process_tags(), run_config={
                "resources": {"funnel": {"config": resource_config}},
                "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},  # we print our own lines
            })
        return _finish(result, resource_config)


def _finish(result, resource_config: dict) -> int:
    """Print what the run did and record its alerts. Exit code 1 when the run failed (nothing published), and
    when it published but held a source back (a file of it refused): either needs someone to act."""
    from pipelines.alerts import Failure, failures_of, held_back_of, record_failure
    from pipelines.launch import JOB_NAME

    warehouse = resource_config["warehouse_path"]
    failed = _failures(result)
    held_back = held_back_of(result.all_events)
    _print_run_summary(result)
    _print_not_read(settings.local_inbox(resource_config["inbox_dir"], warehouse))
    if not result.success or failed:
        print(f"\nrun {result.run_id} FAILED; the published warehouse was left as it was.", file=sys.stderr)
        failures = failures_of(result.all_events) or [Failure("", None, "run failed: " + ", ".join(failed))]
        for failure in failures:
            if not failure.step_key:  # a step's failure was printed as it happened; the run's was not
                print(f"  FAILED  run\n{failure.error}", file=sys.stderr)
        _print_alerts(record_failure(warehouse, result.run_id, JOB_NAME, failures + held_back))
        return 1
    _print_summary(Path(warehouse))
    _print_open_problems(result, {f.step_key for f in held_back})
    if held_back:
        print(f"\nrun {result.run_id} published, but HELD BACK the new files of "
              f"{', '.join(f.asset_key for f in held_back)}: what reads them shows their data loaded before.",
              file=sys.stderr)
        for failure in held_back:
            print(f"  HELD BACK  {failure.asset_key}\n{failure.error}", file=sys.stderr)
        _print_alerts(record_failure(warehouse, result.run_id, JOB_NAME, held_back))
        return 1
    print(f"\nrun {result.run_id} succeeded")
    return 0


def _print_alerts(alerts: list[dict]) -> None:
    """The alerts record_failure recorded, one line each: where and what became of the webhook message."""
    for alert in alerts:
        print(f"  alert   {alert['asset_key'] or 'run'}: {alert['webhook']}", file=sys.stderr)


HOST_TAG, PID_TAG = "funnel/host", "funnel/pid"


def process_tags() -> dict[str, str]:
    """Tags naming the process that runs a `funnel run`, so that a later one can tell it is gone."""
    return {HOST_TAG: socket.gethostname(), PID_TAG: str(os.getpid())}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def fail_abandoned_runs(instance, job_name: str, warehouse_path: str) -> dict[str, list[dict]]:
    """Mark failed the runs of `job_name` that a `funnel run` on this host started and that are still
    shown as running although that process is gone (killed, crashed, the machine restarted): nothing
    else would ever end them, and the UI showed them running for good. A run without our tags (one
    the UI or the daemon launched: Dagster monitors those) or whose process id is alive stays as it
    is; a reused process id errs on that side.

    Each run marked is also an alert (ops.alerts of the warehouse it wrote to, else `warehouse_path`,
    and the webhook): the daemon's run-failure sensor sees the failure only when a daemon runs (`make ui`),
    and records it once either way. Returns the run ids marked, each with the alerts recorded for it."""
    import dagster as dg

    from pipelines.alerts import Failure, record_failure, warehouse_of

    marked = {}
    for run in instance.get_runs(filters=dg.RunsFilter(job_name=job_name, statuses=[
            dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED])):
        pid = run.tags.get(PID_TAG)
        if run.tags.get(HOST_TAG) == socket.gethostname() and pid and pid.isdigit() and not _alive(int(pid)):
            message = (f"The process that ran it (pid {pid}) ended before the run did: killed, crashed or the "
                       "machine restarted. Marked failed by the next `funnel run`; that run loads whatever this "
                       "one did not finish.")
            instance.report_run_failed(run, message)
            marked[run.run_id] = record_failure(warehouse_of(run, warehouse_path), run.run_id, run.job_name,
                                                [Failure("", None, message)])
    return marked


class Progress:
    """Prints the run's progress while it runs, read back from the instance's event log by a
    background thread: each inbox file as it is loaded ([i/n] per source, with a bar), each
    asset as it is materialised and each check as it is evaluated, failures with their message."""

    POLL_SECONDS = 0.3

    def __init__(self, instance, run_id: str):
        self.instance, self.run_id, self.cursor = instance, run_id, None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self._drain()  # whatever the last poll missed

    def _loop(self):
        while not self.stop.wait(self.POLL_SECONDS):
            try:
                self._drain()
            except Exception:  # the run's storage is busy: try at the next poll
                pass

    def _drain(self):
        """Print the entries logged since the last call (read from the storage's cursor: re-reading
        the whole log every poll cost a small run 12 CPU seconds)."""
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self.cursor, limit=1000)
            for record in page.records:
                line = _progress_line(record.event_log_entry)
                if line:
                    print(*line[1:], file=sys.stderr if line[0] else sys.stdout, flush=True)
            self.cursor = page.cursor
            if not page.has_more:
                return


ROWS_CHECKED = re.compile(r": ([\d,]+) of ([\d,]+) rows checked$")


def _progress_line(entry) -> tuple | None:
    """(to stderr?, text) for one event log entry worth showing, else None."""
    import dagster as dg

    event = entry.dagster_event
    if event is None:
        if entry.step_key == "raw" and entry.user_message.startswith("fetched "):  # a file that arrived on its own
            return (False, f"  fetch   {entry.user_message.removeprefix('fetched ')}")
        if entry.step_key == "raw" and entry.user_message.startswith("["):  # "[i/n] <source>/<file>: ..."
            first = entry.user_message.splitlines()[0]
            source = first.split("] ", 1)[1].split("/", 1)[0]
            done, total = (int(x) for x in first[1:first.index("]")].split("/"))
            within = ROWS_CHECKED.search(first)  # a large file's checks under way: the bar counts its rows
            if within:
                done, total = (int(x.replace(",", "")) for x in within.groups())
            bar = "#" * round(10 * done / total) + "." * (10 - round(10 * done / total))
            return (False, f"  load    {source:13} {bar} {first}")
        return None
    if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
        mat = event.event_specific_data.materialization
        rows = mat.metadata.get("dagster/row_count")
        return (False, f"  ok      {mat.asset_key.to_user_string():32} {'' if rows is None else f'{rows.value:>10,} rows'}")
    if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
        ev = event.event_specific_data
        status = "pass" if ev.passed else ("WARN" if ev.severity == dg.AssetCheckSeverity.WARN else "FAIL")
        return (False, f"  check   {ev.check_name:52} {status}")
    if event.event_type == dg.DagsterEventType.STEP_FAILURE:
        from pipelines.alerts import failure_message

        return (True, f"  FAILED  {event.step_key}\n{failure_message(event).strip()}")
    return None


def _failures(result) -> list[str]:
    """Failed steps and failed blocking checks (either stopped the publish)."""
    import dagster as dg

    failed = [e.step_key for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return failed + [ev.check_name for ev in result.get_asset_check_evaluations() if not ev.passed and ev.blocking]


def _print_run_summary(result) -> None:
    """Per source: files loaded, refused and already loaded, rows loaded and quarantined; then the checks."""
    import dagster as dg

    rows = []
    counts = ("files_loaded", "files_rejected", "files_already_loaded", "rows_loaded", "rows_quarantined")
    for event in result.all_events:
        if event.step_key == "raw" and event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            mat = event.event_specific_data.materialization
            meta = {k: v.value for k, v in mat.metadata.items()}
            rows.append((mat.asset_key.path[-1], *(meta.get(k, 0) for k in counts)))
    if rows:
        print("\nsource         files loaded  refused  already loaded   rows loaded  quarantined")
        for source, loaded, refused, skipped, n, q in sorted(rows):
            print(f"{source:14} {loaded:12,} {refused:8,} {skipped:15,} {n:13,} {q:12,}")
    evaluations = result.get_asset_check_evaluations()
    warned = sum(1 for ev in evaluations if not ev.passed and ev.severity == dg.AssetCheckSeverity.WARN)
    failed = sum(1 for ev in evaluations if not ev.passed and ev.severity == dg.AssetCheckSeverity.ERROR)
    print(f"checks: {len(evaluations) - warned - failed} passed, {warned} warned, {failed} failed")


def _print_not_read(inbox: Path) -> None:
    """Every entry of the inbox that is no export file, and why it was not read."""
    from assets.ingest.inbox import scan_inbox
    from schemas import SOURCES

    entries = [e for source in SOURCES for e in scan_inbox(inbox, source)[1]]
    if entries:
        print("\nNot read from the inbox:")
        for entry in entries:
            print(f"  {entry.path}: {entry.reason}")


def _print_open_problems(result, said_below: set[str]) -> None:
    """Failed checks that did not stop the publish (a stale source) and the warnings, with what they say;
    but those of `said_below` (the sources held back, printed after)."""
    import dagster as dg

    from assets.core.markdown import plain

    def said(ev) -> str:  # its problem in words, else its counts
        problem = ev.metadata.get("problem")
        if problem is not None:
            return plain(problem.value)
        counts = [f"{k} {v.value}" for k, v in ev.metadata.items() if isinstance(v.value, (int, float))]
        return ", ".join(counts) + " (the Dagster UI has the details)" if counts else "see the Dagster UI"

    shown = [ev for ev in result.get_asset_check_evaluations() if not ev.passed and ev.check_name not in said_below
             and not ev.blocking]
    for severity, heading in ((dg.AssetCheckSeverity.ERROR, "Checks that failed without stopping the publish:"),
                              (dg.AssetCheckSeverity.WARN, "Warnings (the publish went ahead):")):
        these = [ev for ev in shown if ev.severity == severity]
        if these:
            print("\n" + heading)
        for ev in these:
            print(f"  {ev.check_name}: {said(ev)}")


def _print_summary(warehouse: Path) -> None:
    import duckdb

    from assets.core import markdown
    from pipelines.sql import print_table

    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns, rows = markdown.fetch(
            con, """
            SELECT f.channel, CAST(sum(f.sessions) AS BIGINT) AS sessions, CAST(sum(f.leads) AS BIGINT) AS leads,
                   CAST(sum(f.mqls) AS BIGINT) AS mqls, CAST(sum(f.sqls) AS BIGINT) AS sqls,
                   CAST(sum(f.opportunities) AS BIGINT) AS opportunities, CAST(sum(f.wins) AS BIGINT) AS wins,
                   CAST(sum(f.revenue) AS BIGINT) AS revenue_jpy, CAST(sum(r.spend) AS BIGINT) AS spend_jpy,
                   round(sum(f.revenue) / nullif(sum(r.spend), 0), 2) AS roas
            FROM marts.channel_funnel f JOIN marts.channel_roi r USING (period_start, channel)
            GROUP BY f.channel ORDER BY revenue_jpy DESC
            """)
        period = con.execute("SELECT min(period_start), max(period_start) FROM marts.channel_funnel").fetchone()
    print(f"\nFunnel per channel, {period[0]:%Y-%m} to {period[1]:%Y-%m}:")
    print_table(columns, rows, null="-")
    print(f"\nPublished DuckDB file: {warehouse.resolve()}")
    elsewhere = "" if warehouse.resolve() == Path(settings.DEFAULT_WAREHOUSE_PATH).resolve() else f" --warehouse {warehouse}"
    print('  .venv/bin/funnel sql "SELECT * FROM marts.channel_funnel LIMIT 10"' + elsewhere)
    print(f"Funnel report: {settings.report_path(warehouse).resolve()}")


def sql(args: argparse.Namespace) -> int:
    from pipelines.sql import run as run_sql

    return run_sql(Path(args.warehouse or settings.warehouse_path()), args.query)


def status(args: argparse.Namespace) -> int:
    from pipelines.status import report

    print(report(_instance(), args.inbox or settings.inbox_dir(), args.config or settings.config_dir(),
                 args.warehouse or settings.warehouse_path()))
    return 0


def generate(args: argparse.Namespace) -> int:
    from pipelines.dev.generate import generate_sample_exports, size_arguments

    end_date = date.fromisoformat(args.end_date) if args.end_date else None
    if end_date is None and args.end_month is None:  # data through yesterday, exported this morning
        end_date = datetime.now(ZoneInfo(settings.timezone())).date() - timedelta(days=1)
    written = generate_sample_exports(Path(args.out), months=args.months, seed=args.seed, end_month=args.end_month,
                                      end_date=end_date, **size_arguments(args, args.scale))
    for source, paths in written.items():
        print(f"{source:14} {len(paths):3} files in {Path(args.out) / source}")
    return 0


def docs(args: argparse.Namespace) -> int:
    from pipelines.dev import data_dictionary
    from pipelines.dev.inputs_doc import write_inputs

    print(f"wrote {write_inputs()}")
    return data_dictionary.main(["--out", args.out])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="funnel", description="funnel sync: MA/SFA exports -> B2B funnel metrics")
    sub = parser.add_subparsers(dest="command", required=True)
    p_run = sub.add_parser("run", help="run the whole pipeline once (shows in the Dagster UI)")
    p_run.add_argument("--inbox", help="inbox folder (FUNNEL_INBOX_DIR, default data/inbox)")
    p_run.add_argument("--warehouse", help="published DuckDB file (FUNNEL_WAREHOUSE_PATH, default data/warehouse/funnel.duckdb)")
    p_run.add_argument("--config", help="configuration folder (FUNNEL_CONFIG_DIR, default config)")
    p_run.set_defaults(func=run)
    p_gen = sub.add_parser("generate", help="write deterministic sample exports (native profile, and YouTube Studio's own in video/)")
    p_gen.add_argument("--out", required=True, help="inbox folder to write into")
    p_gen.add_argument("--months", type=int, default=24, help="months of history (default 24)")
    p_gen.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    ends = p_gen.add_mutually_exclusive_group()
    ends.add_argument("--end-date", help="last day of data, YYYY-MM-DD (default: yesterday)")
    ends.add_argument("--end-month", help="last month of data, YYYY-MM (instead of --end-date)")
    p_gen.add_argument("--scale", type=float, default=1.0, help="volume multiplier (default 1.0)")
    from pipelines.dev.generate import add_size_arguments

    add_size_arguments(p_gen)
    p_gen.set_defaults(func=generate)
    p_status = sub.add_parser("status", help="last runs, each source's newest file and freshness, what is loaded, "
                              "failing checks")
    p_status.add_argument("--inbox", help="inbox folder (FUNNEL_INBOX_DIR, default data/inbox)")
    p_status.add_argument("--warehouse", help="published DuckDB file (FUNNEL_WAREHOUSE_PATH)")
    p_status.add_argument("--config", help="configuration folder (FUNNEL_CONFIG_DIR, default config)")
    p_status.set_defaults(func=status)
    p_sql = sub.add_parser("sql", help="query the published DuckDB file (read-only): a query, or a prompt")
    p_sql.add_argument("query", nargs="?", help="SQL to run; without it, a prompt reads statements ending with ;")
    p_sql.add_argument("--warehouse", help="published DuckDB file (FUNNEL_WAREHOUSE_PATH)")
    p_sql.set_defaults(func=sql)
    p_docs = sub.add_parser("docs", help="regenerate docs/metrics.md (from the warehouse COMMENTs) and docs/inputs.md (from schemas/)")
    p_docs.add_argument("--out", default="docs/metrics.md", help="output file (default docs/metrics.md)")
    p_docs.set_defaults(func=docs)
    p_bench = sub.add_parser("bench", help="time a full run and a nightly re-run on generated exports", add_help=False)
    p_bench.set_defaults(func=None)
    args, rest = parser.parse_known_args(argv)
    if args.command == "bench":
        from pipelines.dev import bench

        return bench.main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    return args.func(args)


def console() -> None:
    """The `funnel` command: main(), then the exit handlers a normal exit runs (logging, temp
    files, open resources), and exit without tearing the interpreter's modules down one by one:
    that took about a second after every `funnel run` (docs/BENCHMARKS.md)."""
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    console()
