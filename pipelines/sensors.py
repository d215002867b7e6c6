"""The inbox sensor: a run of funnel_job as soon as complete new or changed export files are in the inbox,
instead of waiting for the nightly schedule. A file counts once it has stayed unchanged for the quiet period
(FUNNEL_INBOX_QUIET_SECONDS, default 120), so a file still being copied never starts a run. The cursor keeps
each file's size, modification time and SHA-256 (a file is hashed again only when those change), and the run
key is the hash of every file's content: the same files never start two runs, across restarts too."""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.core import settings
from assets.ingest.inbox import scan_inbox, sha256_of
from pipelines.jobs import funnel_job
from schemas import SOURCES


def inbox_state(inbox: Path, known: dict[str, list]) -> dict[str, list]:
    """Relative path -> [size, mtime_ns, sha256] of every export file of the inbox; `known` spares the hash
    of a file whose size and modification time are as recorded."""
    state = {}
    for source in SOURCES:
        for path in scan_inbox(inbox, source)[0]:
            try:
                stat = path.stat()
                name = path.relative_to(inbox).as_posix()
                before = known.get(name)
                same = before is not None and before[:2] == [stat.st_size, stat.st_mtime_ns]
                state[name] = [stat.st_size, stat.st_mtime_ns, before[2] if same else sha256_of(path)]
            except OSError:  # vanished or unreadable: the run that loads it says so
                continue
    return state


@dg.sensor(
    name="inbox_files",
    job=funnel_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a run when complete new or changed export files are in the inbox (unchanged for "
    "FUNNEL_INBOX_QUIET_SECONDS, default 120 s). The same files never start two runs.",
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    inbox = Path(settings.inbox_dir())
    quiet = settings.inbox_quiet_seconds()
    known = json.loads(context.cursor) if context.cursor else {}
    state = inbox_state(inbox, known)
    if not state:
        return dg.SkipReason(f"no export file in {inbox}")
    settling = sorted(n for n, (_, mtime_ns, _) in state.items() if time.time() - mtime_ns / 1e9 < quiet)
    if settling:
        return dg.SkipReason(f"{len(settling)} file(s) changed less than {quiet:g} s ago, waiting until they stay "
                             f"unchanged: {', '.join(settling[:5])}")
    changed = sorted(n for n, entry in state.items() if known.get(n, [None] * 3)[2] != entry[2])
    context.update_cursor(json.dumps(state, sort_keys=True))
    if not changed:
        return dg.SkipReason("no new or changed export file since the last run request")
    contents = hashlib.sha256("\n".join(f"{n}\t{e[2]}" for n, e in sorted(state.items())).encode()).hexdigest()
    return dg.RunRequest(run_key=f"inbox-{contents[:32]}",
                         tags={"funnel/trigger": "inbox", "funnel/new_files": str(len(changed))})
