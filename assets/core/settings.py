"""Where things are: inbox, configuration and warehouse paths, from the environment.

Precedence everywhere: command-line flag, then FUNNEL_* environment variable, then
the default below (relative paths are relative to the working directory).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

DEFAULT_INBOX_DIR = "data/inbox"
DEFAULT_CONFIG_DIR = "config"
DEFAULT_WAREHOUSE_PATH = "data/warehouse/funnel.duckdb"
DEFAULT_TIMEZONE = "Asia/Tokyo"

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


def inbox_dir() -> str:
    return os.environ.get("FUNNEL_INBOX_DIR") or DEFAULT_INBOX_DIR


def is_url(inbox: str | Path) -> bool:
    """An inbox given as a URL (sftp://, s3://, gs://, file://) is fetched into the landing folder."""
    return re.match(r"[A-Za-z][A-Za-z0-9+.-]*://", str(inbox)) is not None


def landing_dir(published: str | Path) -> Path:
    """Where the files of a remote inbox are copied to and loaded from: `<warehouse folder>/<name>.landing/`,
    one folder per source as in a local inbox."""
    published = Path(published)
    return published.with_name(published.stem + ".landing")


def origins_dir(published: str | Path) -> Path:
    """Where each fetched file's origin is kept (a JSON record per file, by its path in the inbox):
    `<warehouse folder>/<name>.origins/`. Beside the warehouse, not in it: readable while a run holds the
    working database, and never published (a mail sender's address)."""
    published = Path(published)
    return published.with_name(published.stem + ".origins")


def local_inbox(inbox: str | Path, published: str | Path) -> Path:
    """The folder files are loaded from: the inbox itself, or the landing folder of a remote one."""
    return landing_dir(published) if is_url(inbox) else Path(inbox)


def mail_url() -> str | None:
    """The mailbox whose messages carry exports (FUNNEL_MAIL_URL, imaps://user@host/folder), or None."""
    return os.environ.get("FUNNEL_MAIL_URL") or None


def mail_password() -> str | None:
    return os.environ.get("FUNNEL_MAIL_PASSWORD") or None


def config_dir() -> str:
    return os.environ.get("FUNNEL_CONFIG_DIR") or DEFAULT_CONFIG_DIR


def warehouse_path() -> str:
    return os.environ.get("FUNNEL_WAREHOUSE_PATH") or DEFAULT_WAREHOUSE_PATH


def working_database_path(published: str | Path) -> Path:
    """The build database of a warehouse: beside the published file, derived name.

    It holds every loaded record and the load log, so two warehouse paths never
    share state, and deleting the folder starts that warehouse afresh.
    """
    published = Path(published)
    return published.with_name(published.stem + ".work.duckdb")


def problems_dir(published: str | Path) -> Path:
    """Where the problems of each refused or partly quarantined file are written as CSV, for ops
    to open in a spreadsheet: `<problems dir>/<source>/<file>.problems.csv`."""
    published = Path(published)
    return published.with_name(published.stem + ".problems")


def report_path(published: str | Path) -> Path:
    """The funnel report of a warehouse, one self-contained HTML file rewritten by each run:
    `<warehouse folder>/report/<name>_report.html` (data/warehouse/report/funnel_report.html)."""
    published = Path(published)
    return published.parent / "report" / f"{published.stem}_report.html"


def owners() -> list[str]:
    """Owner of every asset in the Dagster UI: `team:<FUNNEL_OWNER_TEAM>` (default funnel-ops),
    or an e-mail address of a person."""
    owner = os.environ.get("FUNNEL_OWNER_TEAM") or "funnel-ops"
    return [owner if "@" in owner else f"team:{owner}"]


def timezone() -> str:
    """Time zone of timestamps without an offset, and of the month grain."""
    return os.environ.get("FUNNEL_TIMEZONE") or DEFAULT_TIMEZONE


def schedule_timezone() -> str:
    """Time zone of the nightly schedule (FUNNEL_SCHEDULE_TIMEZONE); `funnel status` prints its times in it."""
    return os.environ.get("FUNNEL_SCHEDULE_TIMEZONE") or DEFAULT_TIMEZONE


def duckdb_memory_limit() -> str:
    """DuckDB's memory_limit for the working database (FUNNEL_DUCKDB_MEMORY_LIMIT, default 1GB):
    DuckDB's own default is 80% of the machine's memory; beyond the limit it spills to disk."""
    return os.environ.get("FUNNEL_DUCKDB_MEMORY_LIMIT") or "1GB"


def lock_wait_seconds() -> float:
    """How long a run waits for a working database another process holds (FUNNEL_LOCK_WAIT_SECONDS, default
    120): a run still going, or a session someone opened on it."""
    return float(os.environ.get("FUNNEL_LOCK_WAIT_SECONDS") or 120)


def inbox_quiet_seconds() -> float:
    """How long an inbox file must stay unchanged before the inbox sensor counts it complete."""
    return float(os.environ.get("FUNNEL_INBOX_QUIET_SECONDS") or 120)
