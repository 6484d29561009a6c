"""Transports: running a program on a server's host, on this machine or over OpenSSH.

Everything a deploy does on a target is a program run through
:meth:`Transport.run` (POSIX ``sh`` and coreutils, see
:mod:`zonesmith.deploy.remote_sh`), so the local transport runs the very same
commands as the SSH one, and the tests of the one cover the other but for the hop.

SSH is the system's OpenSSH client, so the user's ``~/.ssh/config``, agent,
jump hosts and ``known_hosts`` apply. Host keys are checked strictly and never
skipped (``StrictHostKeyChecking=yes``), nothing is asked (``BatchMode=yes``),
and one master connection per host is shared by every command of a deploy
(``ControlMaster``, with its socket in a private folder). Extra client options,
such as ``-F CONFIG`` for the tests, come from the constructor or from the
environment variable ``ZONESMITH_SSH_OPTIONS`` (split like a shell would).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from zonesmith.deploy.errors import DeployError

#: Extra options for every ``ssh`` run, e.g. ``-F /path/to/ssh_config``.
SSH_OPTIONS_ENV = "ZONESMITH_SSH_OPTIONS"
#: Seconds a master connection stays up once its last command has ended.
CONTROL_PERSIST = 120
#: Seconds to set up a connection, and to end a master connection.
CONNECT_TIMEOUT = 10
LOCAL = "local"


@dataclass(frozen=True)
class Completed:
    """How a program run on a target ended."""

    returncode: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def message(self) -> str:
        """The last line of its error output (or of its output), for one sentence."""
        for stream in (self.stderr, self.stdout):
            lines = stream.decode("utf-8", "replace").strip().splitlines()
            if lines:
                return lines[-1].strip()
        return f"exit status {self.returncode}"


class Transport(Protocol):
    #: "local", or the ssh:// URL as the site gives it.
    host: str

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60
    ) -> Completed: ...

    def close(self) -> None: ...


def _run(
    argv: Sequence[str], input: bytes | None, timeout: float, where: str, what: str
) -> Completed:
    """Run ``argv`` here, bounded by ``timeout``; a program that cannot start or
    does not end in time is a :class:`DeployError` naming ``where``."""
    try:
        done = subprocess.run(
            list(argv),
            input=input if input is not None else b"",
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DeployError(f"{where}: {what} did not finish within {timeout:g} s") from None
    except OSError as problem:
        raise DeployError(f"{where}: cannot run {what}: {problem.strerror}") from None
    return Completed(done.returncode, done.stdout, done.stderr)


class LocalTransport:
    """Programs run on this machine."""

    host = LOCAL

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60
    ) -> Completed:
        return _run(argv, input, timeout, "this machine", _what(argv))

    def close(self) -> None:
        pass


def _what(argv: Sequence[str]) -> str:
    return f"'{argv[0]}'" if argv else "an empty command"


# --------------------------------------------------------------------------- SSH URLs

_USER = r"[A-Za-z0-9_][A-Za-z0-9._-]*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOSTNAME = rf"{_LABEL}(?:\.{_LABEL})*\.?"
_IPV6 = r"\[[0-9A-Fa-f:.]+\]"
_URL = re.compile(rf"ssh://(?:(?P<user>{_USER})@)?(?P<host>{_HOSTNAME}|{_IPV6})(?::(?P<port>\d+))?")


@dataclass(frozen=True)
class SshUrl:
    """``ssh://[user@]host[:port]``, with nothing a shell or ssh could read as more."""

    user: str | None
    host: str
    port: int | None

    @classmethod
    def parse(cls, url: str) -> SshUrl:
        found = _URL.fullmatch(url)
        if found is None:
            raise DeployError(
                f"{url!r} is not an SSH address of the form ssh://[user@]host[:port] "
                "(letters, digits, '.', '-' and '_' only)"
            )
        port = found["port"]
        if port is not None and not 1 <= int(port) <= 65535:
            raise DeployError(f"{url!r}: the port must be between 1 and 65535")
        host = found["host"].strip("[]")
        return cls(found["user"], host, int(port) if port is not None else None)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = f":{self.port}" if self.port is not None else ""
        return f"{user}{host}{port}"


# --------------------------------------------------------------------------- SSH

#: What ssh says on its error output (exit status 255), and the sentence it means.
_SSH_PROBLEMS: tuple[tuple[str, str], ...] = (
    ("Could not resolve hostname", "unknown host: its name does not resolve"),
    (
        "REMOTE HOST IDENTIFICATION HAS CHANGED",
        "host key mismatch: the host presents a key "
        "other than the one in known_hosts (a reinstalled host, or someone in between); "
        "check it before editing known_hosts",
    ),
    (
        "No matching host key",
        "host key mismatch: the host offers no key type known_hosts holds for it",
    ),
    (
        "Host key verification failed",
        "unknown host key: the host is not in known_hosts; "
        "check its key and add it (ssh-keyscan, then compare the fingerprint)",
    ),
    (
        "Permission denied",
        "the host refused the SSH key (permission denied); check the user "
        "and that the agent or IdentityFile holds a key in its authorized_keys",
    ),
    (
        "Too many authentication failures",
        "the host refused the SSH keys offered (too many "
        "authentication failures); name the right one with IdentityFile",
    ),
    ("Connection refused", "connection refused: no SSH server listens on that port"),
    ("timed out", "no answer: the connection timed out"),
    ("No route to host", "no route to host"),
    ("Network is unreachable", "the network is unreachable"),
    ("Connection closed by", "the host closed the connection during the SSH handshake"),
    ("Connection reset by", "the host reset the connection during the SSH handshake"),
    ("kex_exchange_identification", "the host closed the connection before the SSH handshake"),
    ("closed by remote host", "the connection was lost (the host closed it)"),
    ("Broken pipe", "the connection was lost"),
)


def ssh_problem(stderr: bytes) -> str | None:
    """The sentence for what ssh reported on ``stderr``, or None if ssh did not fail."""
    text = stderr.decode("utf-8", "replace")
    for needle, sentence in _SSH_PROBLEMS:
        if needle in text:
            return sentence
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if lines and lines[-1].startswith("ssh:"):
        return lines[-1].removeprefix("ssh:").strip()
    return None


class SshTransport:
    """Programs run on a host through the system's OpenSSH client, over one
    master connection kept for the whole deploy."""

    def __init__(self, url: str, options: Sequence[str] | None = None) -> None:
        self.host = url
        self.url = SshUrl.parse(url)
        if options is None:
            try:
                options = shlex.split(os.environ.get(SSH_OPTIONS_ENV, ""))
            except ValueError as problem:
                raise DeployError(f"{SSH_OPTIONS_ENV} cannot be read: {problem}") from None
        self.options = tuple(options)
        self._folder: str | None = None
        # Servers of one rank are deployed in parallel: the first command
        # runs alone, so that it alone sets up the master connection.
        self._first = threading.Lock()
        self._connected = False

    @property
    def control_path(self) -> str:
        """The master connection's socket, in a folder only this user can enter."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="zonesmith-ssh-")  # mode 0700
        return os.path.join(self._folder, "master")

    def ssh_argv(self, *extra: str) -> list[str]:
        """The ``ssh`` command line up to the host, with ``extra`` options."""
        # The first value ssh reads for an option wins: these come before the
        # user's options and configuration files, so none of them can turn host
        # key checking off or make ssh ask on a terminal.
        argv = [
            "ssh",
            "-T",
            "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=yes",
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={self.control_path}",
            "-o", f"ControlPersist={CONTROL_PERSIST}",
            "-o", f"ConnectTimeout={CONNECT_TIMEOUT}",
            "-o", "ServerAliveInterval=10",
            "-o", "ServerAliveCountMax=3",
            *extra,
            *self.options,
        ]  # fmt: skip
        if self.url.user:
            argv += ["-l", self.url.user]
        if self.url.port is not None:
            argv += ["-p", str(self.url.port)]
        return [*argv, "--", self.url.host]

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60
    ) -> Completed:
        # The remote side gets one command string, read by the login shell:
        # every word quoted, so nothing in it is read as shell syntax.
        remote = " ".join(shlex.quote(word) for word in argv)
        with contextlib.nullcontext() if self._connected else self._first:
            done = _run([*self.ssh_argv(), remote], input, timeout, self.where, _what(argv))
            self._connected = True
        if done.returncode == 255:
            # ssh's own failures end with 255; a mux client whose master
            # connection dropped says nothing.
            problem = ssh_problem(done.stderr) if done.stderr.strip() else "the connection was lost"
            if problem is not None:
                raise DeployError(f"{self.where}: {problem}")
        return done

    @property
    def where(self) -> str:
        return f"ssh://{self.url}"

    def close(self) -> None:
        """End the master connection, if one was started, and remove its folder."""
        if self._folder is None:
            return
        if os.path.exists(self.control_path):
            # If this does not end in time, the master ends by itself once idle.
            with contextlib.suppress(subprocess.TimeoutExpired):
                subprocess.run(
                    [*self.ssh_argv("-O", "exit")],
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    timeout=CONNECT_TIMEOUT,
                    check=False,
                )
        shutil.rmtree(self._folder, ignore_errors=True)
        self._folder = None
        self._connected = False


def transport_for(
    host: str | None, pool: dict[str, Transport], options: Sequence[str] | None = None
) -> Transport:
    """The transport to ``host`` (None: this machine), one per host in ``pool``, so
    servers on one host share its connection; close them with :func:`close_all`."""
    key = host or LOCAL
    if key not in pool:
        pool[key] = LocalTransport() if key == LOCAL else SshTransport(key, options)
    return pool[key]


def close_all(pool: dict[str, Transport]) -> None:
    """Close every transport of ``pool`` (their master connections end)."""
    for transport in pool.values():
        transport.close()
    pool.clear()
