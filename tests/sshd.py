"""Run a real OpenSSH server on a loopback port in tests.

::

    from sshd import start_sshd

    with start_sshd(tmp_path) as server:
        transport = SshTransport(server.url, options=["-F", str(server.client_config)])

The server gets a generated host key, one generated user key in its
authorized_keys, and its own configuration; ``client_config`` is an ssh
configuration for that key with a known_hosts file holding the host key. It
logs every connection (``accepted()`` counts them). It is stopped by its PID:
SIGTERM, then SIGKILL after a bounded wait. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from servers import find_binary, free_port

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
#: sshd's privilege separation folder; it refuses to start without it.
PRIVSEP = Path("/run/sshd")


@dataclass
class Sshd:
    port: int
    folder: Path
    log: Path
    #: An ssh configuration with the user key and a known_hosts of the host key.
    client_config: Path
    user_key: Path
    host_key: Path
    pid: int
    user: str = "root"

    @property
    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}"

    def accepted(self) -> int:
        """How many connections the server has let in."""
        return self.log.read_text(errors="replace").count("Accepted publickey")

    def drop_connections(self) -> None:
        """Kill every process serving its connections, and what they run, as a
        network cut that takes the remote commands with it would."""
        found, todo = [], [self.pid]
        while todo:
            children = subprocess.run(
                ["pgrep", "-P", str(todo.pop())], capture_output=True, text=True, timeout=10
            ).stdout.split()
            found += children
            todo += children
        for child in found:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(child), signal.SIGKILL)

    def client(self, name: str, known_hosts: str, key: Path | None = None) -> Path:
        """Another client configuration: ``known_hosts`` as its known_hosts text,
        ``key`` as its identity (default: the user key)."""
        hosts = self.folder / f"{name}.known_hosts"
        hosts.write_text(known_hosts)
        return _client_config(self.folder / f"{name}.ssh_config", key or self.user_key, hosts)

    def known_host_line(self, key: Path | None = None) -> str:
        public = (key or self.host_key).with_suffix(".pub").read_text().split()
        return f"[127.0.0.1]:{self.port} {public[0]} {public[1]}\n"


def keygen(path: Path) -> Path:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
        timeout=30,
        capture_output=True,
    )
    return path


def _client_config(path: Path, key: Path, known_hosts: Path) -> Path:
    path.write_text(
        "Host *\n"
        f"  IdentityFile {key}\n"
        "  IdentitiesOnly yes\n"
        "  IdentityAgent none\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  LogLevel ERROR\n"
    )
    return path


def _wait_listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sshd exited: {log.read_text(errors='replace')[-2000:]}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise AssertionError(f"sshd did not listen within {START_TIMEOUT} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(STOP_TIMEOUT)


@contextlib.contextmanager
def start_sshd(folder: Path, path: str | None = None) -> Iterator[Sshd]:
    """An sshd on 127.0.0.1 and a free high port, its files in ``folder``; ``path``: the
    PATH of the sessions it opens (default: sshd's own)."""
    sshd = find_binary("sshd")
    assert sshd is not None, "sshd is not installed"
    PRIVSEP.mkdir(mode=0o755, exist_ok=True)
    folder.mkdir(parents=True, exist_ok=True)
    host_key, user_key = keygen(folder / "host_key"), keygen(folder / "user_key")
    authorized = folder / "authorized_keys"
    authorized.write_text(user_key.with_suffix(".pub").read_text())
    port = free_port()
    config = folder / "sshd_config"
    config.write_text(
        f"Port {port}\n"
        "ListenAddress 127.0.0.1\n"
        f"HostKey {host_key}\n"
        f"PidFile {folder / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {authorized}\n"
        "UsePAM no\n"
        "StrictModes no\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "LogLevel VERBOSE\n" + (f"SetEnv PATH={path}\n" if path else "")
    )
    log = folder / "sshd.log"
    with log.open("wb") as output:
        # -D: stay in the foreground, a child of the test; -e: log to stderr.
        process = subprocess.Popen(
            [sshd, "-D", "-e", "-f", str(config)], stdout=output, stderr=subprocess.STDOUT
        )
    try:
        _wait_listening(port, process, log)
        server = Sshd(port, folder, log, folder / "ssh_config", user_key, host_key, process.pid)
        hosts = folder / "known_hosts"
        hosts.write_text(server.known_host_line())
        _client_config(server.client_config, user_key, hosts)
        yield server
    finally:
        _stop(process)
