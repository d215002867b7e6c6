"""The inbox sensor: a run of funnel_job as soon as complete new or changed export files are in the inbox,
instead of waiting for the nightly schedule. A file counts once it has stayed unchanged for the quiet period
(FUNNEL_INBOX_QUIET_SECONDS, default 120), so a file still being copied never starts a run. The cursor keeps
each file's size, modification time and SHA-256 (a file is hashed again only when those change), and the run
key is the hash of every file's content: the same files never start two runs, across restarts too.

A remote inbox (a URL) is watched by its listing: a run is requested when a fetch would copy a file (new, or
changed in size, time or tag, and settled for the quiet period); the landing folder is filled only by runs.
With a mailbox (FUNNEL_MAIL_URL), a run is also requested for each new message a rule of config/mail.yaml
takes. Files that a run fetched into a local inbox itself (mail attachments) start no second run."""

import hashlib
import json
import time
from pathlib import Path

import dagster as dg

from assets.core import settings
from assets.ingest import mail, remote, unzip
from assets.ingest.inbox import scan_inbox, sha256_of
from assets.ingest.landing import read_origins, redact
from pipelines.jobs import funnel_job
from schemas import SOURCES
from schemas.errors import ConfigError
from schemas.mail import load_mail_config


def inbox_state(inbox: Path, known: dict[str, list]) -> dict[str, list]:
    """Relative path -> [size, mtime_ns, sha256] of every export file of the inbox; `known` spares the hash
    of a file whose size and modification time are as recorded."""
    state = {}
    for source in SOURCES:
        files, skipped = scan_inbox(inbox, source)
        # a zip is the file that arrived (a run unpacks it); what a run unpacked from it is no news of its own
        zips = [inbox / e.path for e in skipped
                if e.path.lower().endswith(".zip") and not (inbox / e.path).is_symlink()]
        for path in [f for f in files if not any(p.endswith(unzip.SUFFIX) for p in f.parent.parts)] + zips:
            try:
                stat = path.stat()
                name = path.relative_to(inbox).as_posix()
                before = known.get(name)
                same = before is not None and before[:2] == [stat.st_size, stat.st_mtime_ns]
                state[name] = [stat.st_size, stat.st_mtime_ns, before[2] if same else sha256_of(path)]
            except OSError:  # vanished or unreadable: the run that loads it says so
                continue
    return state


def _remote_news(inbox: str, quiet: float) -> tuple[list[str], list[str]]:
    """(a line per file a fetch would copy now, files still settling) of a remote inbox."""
    warehouse = settings.warehouse_path()
    new, settling = remote.pending(inbox, settings.landing_dir(warehouse), settings.origins_dir(warehouse), quiet)
    return [f"{f.name}\t{f.size}\t{f.modified}\t{f.tag}" for f in new], [f.name for f in settling]


def _local_news(inbox: Path, known: dict[str, list], quiet: float) -> tuple[dict, list[str], list[str]]:
    """(the inbox's state for the cursor, a line per file whose content is new, files still settling). A file
    a run fetched into the inbox itself (its origin record has its hash) was loaded by that run."""
    state = inbox_state(inbox, known)
    settling = sorted(n for n, (_, mtime_ns, _) in state.items() if time.time() - mtime_ns / 1e9 < quiet)
    fetched = {r.get("file"): r.get("sha256") for r in read_origins(settings.origins_dir(settings.warehouse_path()))}
    changed = [n for n, entry in state.items()
               if known.get(n, [None] * 3)[2] != entry[2] and fetched.get(n) != entry[2]]
    return state, changed, settling


def _mail_news() -> list[str]:
    url = settings.mail_url()
    if not url:
        return []
    return [f"mail\t{key}" for key in mail.pending(url, settings.mail_password(),
                                                   load_mail_config(settings.config_dir()))]


@dg.sensor(
    name="inbox_files",
    job=funnel_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Requests a run when complete new or changed export files are in the inbox (unchanged for "
    "FUNNEL_INBOX_QUIET_SECONDS, default 120 s), in a remote inbox's listing, or in new messages of the mailbox. "
    "The same files never start two runs.",
)
def inbox_sensor(context: dg.SensorEvaluationContext):
    inbox = settings.inbox_dir()
    quiet = settings.inbox_quiet_seconds()
    known = json.loads(context.cursor) if context.cursor else {}
    state, contents, news, settling = {}, [], [], []
    try:
        if settings.is_url(inbox):
            news, settling = _remote_news(inbox, quiet)
        else:
            state, changed, settling = _local_news(Path(inbox), known, quiet)
            contents = [f"{n}\t{e[2]}" for n, e in sorted(state.items())]
            news = [f"{n}\t{state[n][2]}" for n in changed]
        mail_news = _mail_news()
    except (remote.RemoteError, mail.MailError, ConfigError) as exc:  # said in the tick; the next tick tries again
        return dg.SkipReason(str(exc))
    if not settings.is_url(inbox) and not state and not mail_news and not settling:
        return dg.SkipReason(f"no export file in {redact(inbox)}" + (" and no new message" if settings.mail_url() else ""))
    if settling:
        return dg.SkipReason(f"{len(settling)} file(s) changed less than {quiet:g} s ago, waiting until they stay "
                             f"unchanged: {', '.join(sorted(settling)[:5])}")
    if state:
        context.update_cursor(json.dumps(state, sort_keys=True))
    if not news and not mail_news:
        return dg.SkipReason("no new or changed export file since the last run request")
    key = hashlib.sha256("\n".join(contents + sorted(news if not state else []) + mail_news).encode()).hexdigest()
    trigger = "mail" if not news else "remote" if not state else "inbox"
    return dg.RunRequest(run_key=f"inbox-{key[:32]}",
                         tags={"funnel/trigger": trigger, "funnel/new_files": str(len(news) + len(mail_news))})
