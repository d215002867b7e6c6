"""Files that arrive on their own, fetched at the start of the `raw` step before anything loads: the new
files of a remote inbox (remote.py) and the attachments of new messages in the mailbox (mail.py). What
landed, where from and when, goes into the step's metadata; a remote or mailbox that cannot be read fails the
step once the files already in the inbox have loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.core import markdown, settings
from assets.ingest.inbox import Skipped
from assets.ingest.landing import origin_text, redact
from assets.ingest.mail import MailError, fetch_mail
from assets.ingest.remote import RemoteError, fetch_remote
from schemas.mail import load_mail_config


@dataclass
class Arrivals:
    inbox: str  # as printed: a URL without credentials, or the folder
    landed: list[dict] = field(default_factory=list)  # origin records of the files that landed in this fetch
    summary: dict = field(default_factory=dict)  # counts per way in (remote, mail)
    not_copied: list[Skipped] = field(default_factory=list)  # remote entries that are no export file
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _from_remote(url: str, landing: Path, origins: Path, arrivals: Arrivals, log) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    try:
        fetched = fetch_remote(url, landing, origins, settings.inbox_quiet_seconds(), log)
    except RemoteError as exc:
        arrivals.problems.append(str(exc))
        return
    arrivals.landed += fetched.copied
    arrivals.not_copied += fetched.not_copied
    arrivals.problems += fetched.problems
    arrivals.notes += [f"{name}: changed less than {settings.inbox_quiet_seconds():g} s ago (still being written?), "
                       "copied by a later fetch" for name in fetched.settling]
    arrivals.summary["remote"] = {"inbox": fetched.inbox, "copied": len(fetched.copied),
                                  "already_copied": fetched.unchanged, "still_being_written": len(fetched.settling),
                                  "not_copied": len(fetched.not_copied), "problems": len(fetched.problems)}


def _from_mail(url: str, config_dir: str, inbox: Path, origins: Path, tz: str, arrivals: Arrivals, log) -> None:
    config = load_mail_config(config_dir)
    if not config.rules:
        arrivals.problems.append(f"FUNNEL_MAIL_URL is set but {Path(config_dir) / 'mail.yaml'} has no rule: no "
                                 "message would be read. Add a rule per sender (docs/loading.md).")
        return
    try:
        fetched = fetch_mail(url, settings.mail_password(), config, inbox, origins, tz, log)
    except MailError as exc:
        arrivals.problems.append(str(exc))
        return
    arrivals.landed += fetched.landed
    arrivals.notes += fetched.notes
    arrivals.problems += fetched.problems
    arrivals.summary["mail"] = {"mailbox": fetched.mailbox, "messages_loaded": fetched.messages_loaded,
                                "attachments_landed": len(fetched.landed), "already_landed": fetched.already_landed,
                                "messages_from_other_senders": fetched.other_senders,
                                "messages_matching_no_rule": fetched.no_rule, "problems": len(fetched.problems)}


def fetch_arrivals(inbox: str, warehouse: str, config_dir: str, tz: str, log=None) -> Arrivals:
    """Copy what arrived since the last fetch into the inbox the step loads from (the landing folder of a
    remote inbox, else the inbox itself)."""
    local = settings.local_inbox(inbox, warehouse)
    origins = settings.origins_dir(warehouse)
    arrivals = Arrivals(redact(str(inbox)))
    if settings.is_url(inbox):
        _from_remote(str(inbox), local, origins, arrivals, log)
    mail_url = settings.mail_url()
    if mail_url:
        _from_mail(mail_url, config_dir, local, origins, tz, arrivals, log)
    if log:
        for line in arrivals.notes:
            log.info(line)
        for line in arrivals.problems:
            log.warning(line)
    return arrivals


def arrivals_metadata(arrivals: Arrivals, source: str) -> dict:
    """The inbox, the files of `source` fetched by this run with their origin, and the fetch's counts."""
    rows = [(r["file"], origin_text(r), r["fetched_at"].replace("T", " ").rstrip("Z"))
            for r in arrivals.landed if r["file"].startswith(source + "/")]
    metadata = {"inbox": arrivals.inbox,
                "fetched": dg.MetadataValue.md(markdown.rows_table(["file", "from", "fetched at (UTC)"], rows))}
    if arrivals.summary:
        metadata["fetch"] = dg.MetadataValue.json(arrivals.summary)
    return metadata


def problems_text(arrivals: Arrivals) -> str:
    return ("Fetching new files failed; the files already in the inbox were loaded, the rest are fetched by the "
            "next run once the cause is fixed:\n" + "\n".join(arrivals.problems))
