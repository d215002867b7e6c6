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


def _wait_for_port(port: int, process: subprocess.Popen, seconds: float = 10) -> bool:
    """Whether a server on 127.0.0.1:`port` accepts connections before `process` ends or time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return True
        time.sleep(0.1)
    return False


def _stopper(process: subprocess.Popen):
    def stop() -> None:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
    return stop


def start_sshd(root: Path) -> dict:
    """An OpenSSH server on 127.0.0.1 for this user only, with a temporary host key and a temporary user key;
    `home` is a HOME whose ~/.ssh holds that key (id_ed25519) and the server's host key (known_hosts), as a
    user's own configuration would. Returns host, port, user, home and `stop`."""
    ensure_package("openssh-server", lambda: Path("/usr/sbin/sshd").exists() and shutil.which("ssh-keygen"))
    import getpass

    root.mkdir(parents=True, exist_ok=True)
    home, port, user = root / "home", free_port(), getpass.getuser()
    (home / ".ssh").mkdir(parents=True)
    for key in (root / "host_key", home / ".ssh" / "id_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, capture_output=True)
    shutil.copy(home / ".ssh" / "id_ed25519.pub", root / "authorized_keys")
    host_key = (root / "host_key.pub").read_text().split()
    (home / ".ssh" / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key[0]} {host_key[1]}\n")
    (root / "sshd_config").write_text(
        f"ListenAddress 127.0.0.1\nPort {port}\nHostKey {root / 'host_key'}\nPidFile {root / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {root / 'authorized_keys'}\nAllowUsers {user}\nStrictModes no\nUsePAM no\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
        "Subsystem sftp internal-sftp\n")
    if os.geteuid() == 0:
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # the privilege separation folder sshd needs as root
    log = (root / "sshd.log").open("w")
    process = subprocess.Popen(["/usr/sbin/sshd", "-D", "-e", "-f", str(root / "sshd_config")], stderr=log)
    if not _wait_for_port(port, process):
        _stopper(process)()
        pytest.skip(f"sshd did not start: {(root / 'sshd.log').read_text()[-500:]}")
    return {"host": "127.0.0.1", "port": port, "user": user, "home": home, "stop": _stopper(process)}


def start_dovecot(user: str, password: str) -> dict:
    """A Dovecot IMAP server on 127.0.0.1 (plain IMAP, for this machine only) with one user whose password
    is `password`, configured by a file in a temporary folder of its own (its processes run as the dovecot
    user, who cannot enter pytest's private folders). Returns host, port, the log's path and `stop`, which
    ends the server and removes the folder."""
    ensure_package("dovecot-imapd", lambda: shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists())
    import pwd
    import tempfile

    me = pwd.getpwuid(os.geteuid()).pw_name
    owner = "dovecot" if os.geteuid() == 0 else me  # Dovecot gives no mail access as root
    root = Path(tempfile.mkdtemp(prefix="dovecot-", dir="/tmp"))  # short: its sockets' paths are limited
    root.chmod(0o755)
    mail, port = root / "mail", free_port()
    mail.mkdir()
    shutil.chown(mail, owner)
    (root / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
    internal = "" if os.geteuid() == 0 else (
        f"default_login_user = {me}\ndefault_internal_user = {me}\ndefault_internal_group = {me}\n")
    (root / "dovecot.conf").write_text(
        f"protocols = imap\nlisten = 127.0.0.1\nbase_dir = {root}/run\nstate_dir = {root}/state\n"
        f"log_path = {root / 'dovecot.log'}\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain\n"
        f"first_valid_uid = 1\nmail_location = maildir:{mail}/%u\n{internal}"
        f"passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {root / 'passwd'}\n}}\n"
        f"userdb {{\n  driver = static\n  args = uid={owner} gid={owner} home={mail}/%u\n}}\n"
        f"service imap-login {{\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n"
        "  inet_listener imaps {\n    port = 0\n  }\n}\n")
    with (root / "dovecot.out").open("w") as log:
        process = subprocess.Popen([shutil.which("dovecot") or "/usr/sbin/dovecot", "-c",
                                    str(root / "dovecot.conf"), "-F"], stdout=log, stderr=subprocess.STDOUT)
    stop = _stopper(process)

    def stop_and_clean() -> None:
        stop()
        shutil.rmtree(root, ignore_errors=True)

    if not _wait_for_port(port, process):
        why = (root / "dovecot.out").read_text()[-500:]
        stop_and_clean()
        pytest.skip(f"dovecot did not start: {why}")
    return {"host": "127.0.0.1", "port": port, "log": root / "dovecot.log", "stop": stop_and_clean}
