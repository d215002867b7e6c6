"""Real system components the tests start themselves: Debian packages installed when missing (as a fresh
CI machine needs them) and servers on 127.0.0.1. A test is skipped, saying why, only where a package
cannot be installed or a server cannot start."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest


def apt_install(*packages: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], capture_output=True, text=True, env=env, timeout=600)
    if update.returncode:
        return update
    return subprocess.run(["apt-get", "install", "-y", "-qq", *packages], capture_output=True, text=True, env=env,
                          timeout=1200)


def ensure_package(package: str, present) -> None:
    """Install the Debian `package` unless `present()` says it is there; skip the test, saying why, when it
    cannot be installed."""
    if present():
        return
    try:
        done = apt_install(package)
    except (OSError, subprocess.SubprocessError) as exc:
        done = exc
    if not present():
        why = done if isinstance(done, Exception) else (done.stderr or done.stdout).strip()[-500:]
        pytest.skip(f"{package} is not installed and `apt-get install -y {package}` failed: {why}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_postgres(root: Path) -> dict:
    """A throw-away PostgreSQL cluster in `root` on 127.0.0.1 (Debian's postgresql package, run as the
    `postgres` user when run as root); returns its connection settings, with `stop` to end it."""
    ensure_package("postgresql", lambda: _postgres_bindir() is not None)
    bindir = Path(_postgres_bindir())
    data, port = root / "pgdata", free_port()
    root.mkdir(parents=True, exist_ok=True)
    as_user = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        shutil.chown(root, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "funnel"],
                   check=True, capture_output=True)
    subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                    f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    for _ in range(50):
        if subprocess.run([*as_user, str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)]).returncode == 0:
            break
        time.sleep(0.2)
    subprocess.run([*as_user, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "funnel", "dagster"],
                   check=True, capture_output=True)

    def stop() -> None:
        subprocess.run([*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)

    return {"host": "127.0.0.1", "port": port, "user": "funnel", "password": "", "db": "dagster", "stop": stop}


def _postgres_bindir() -> str | None:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin")) if Path("/usr/lib/postgresql").is_dir() else []
    return str(versions[-1]) if versions else None
