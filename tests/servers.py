"""Run real name servers in tests.

A small harness shared by the end-to-end tests::

    from servers import free_port, query, requires, start_named

    port = free_port()
    with start_named(conf, "127.0.0.1", port, "example.com") as server:
        answer = query("www.example.com", "A", "127.0.0.1", port, source="127.0.0.2")

Every server runs as a child process of the test with its output in a log file.
The harness waits (bounded in time and attempts) until the server answers an SOA
query, and on exit stops exactly that process, by its PID: SIGTERM, then SIGKILL
after a bounded wait, then reaps it. A server that dies or never answers raises
an ``AssertionError`` carrying the tail of its log.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import pytest

# Daemons live in sbin, which is often not on PATH for ordinary users.
SBIN_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")

START_TIMEOUT = 20.0  # seconds until a server must answer its probe query
START_ATTEMPTS = 80  # probe queries at most, within START_TIMEOUT
STOP_TIMEOUT = 10.0  # seconds between SIGTERM and SIGKILL
KILL_TIMEOUT = 5.0  # seconds to reap after SIGKILL
LOG_TAIL_LINES = 40

Probe = Callable[[dns.message.Message], bool]


# --------------------------------------------------------------------------- binaries


def find_binary(binary: str) -> str | None:
    """Full path of ``binary`` on PATH or in the usual sbin folders, or None."""
    found = shutil.which(binary)
    if found:
        return found
    return shutil.which(binary, path=os.pathsep.join(SBIN_DIRS))


def requires(*binaries: str) -> pytest.MarkDecorator:
    """``pytest.mark.skipif`` for tests that need these programs installed."""
    missing = [b for b in binaries if find_binary(b) is None]
    return pytest.mark.skipif(bool(missing), reason=f"not installed: {', '.join(missing)}")


# --------------------------------------------------------------------------- ports


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET


def free_port(address: str = "127.0.0.1", attempts: int = 50) -> int:
    """A high port free for both UDP and TCP on ``address``.

    Ports are drawn at random below the Linux ephemeral range (32768-60999), so
    that the source port of some client socket does not take it in the meantime,
    and parallel test runs rarely draw the same one.
    """
    family = _family(address)
    for _ in range(attempts):
        port = random.randint(20000, 32000)
        with (
            socket.socket(family, socket.SOCK_STREAM) as tcp,
            socket.socket(family, socket.SOCK_DGRAM) as udp,
        ):
            try:
                tcp.bind((address, port))
                udp.bind((address, port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free UDP+TCP port on {address} after {attempts} attempts")


def free_ports(names: Sequence[str], address: str = "127.0.0.1") -> dict[str, int]:
    """A distinct free port (see :func:`free_port`) for each of ``names``."""
    ports: dict[str, int] = {}
    for name in names:
        port = free_port(address)
        while port in ports.values():
            port = free_port(address)
        ports[name] = port
    return ports


# --------------------------------------------------------------------------- queries


def query(
    name: str | dns.name.Name,
    rdtype: str | dns.rdatatype.RdataType,
    address: str,
    port: int,
    source: str = "127.0.0.1",
    tcp: bool = False,
    *,
    timeout: float = 2.0,
    attempts: int = 3,
    recursion_desired: bool = True,
    payload: int = 1232,
) -> dns.message.Message:
    """Send one query from ``source`` and return the response.

    Different loopback sources (127.0.0.1, 127.0.0.2, ...) select different
    BIND views. A UDP answer with TC set is repeated over TCP. Timeouts and
    refused connections are retried ``attempts`` times at most; then an
    ``AssertionError`` is raised. DNS errors (NXDOMAIN, REFUSED, ...) are
    answers, returned as such: check ``response.rcode()``.
    """
    q = dns.message.make_query(name, rdtype, use_edns=0, payload=payload)
    if not recursion_desired:
        q.flags &= ~dns.flags.RD
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            if not tcp:
                response = dns.query.udp(
                    q, address, timeout=timeout, port=port, source=source, ignore_unexpected=True
                )
                if not response.flags & dns.flags.TC:
                    return response
            return dns.query.tcp(q, address, timeout=timeout, port=port, source=source)
        except (dns.exception.Timeout, OSError, EOFError) as e:
            last = e
            if attempt + 1 < attempts:
                time.sleep(0.2)
    raise AssertionError(
        f"no answer to {name} {rdtype} from {address}#{port} (source {source}, "
        f"{'TCP' if tcp else 'UDP'}) after {attempts} attempts: {last!r}"
    )


def soa_serial(zone: str, address: str, port: int) -> int | None:
    """The serial of ``zone``'s SOA the server serves (over TCP), or None."""
    response = query(zone, "SOA", address, port, tcp=True)
    if response.rcode() != dns.rcode.NOERROR or not response.answer:
        return None
    return response.answer[0][0].serial


def answers(response: dns.message.Message, rdtype: str = "A") -> list[str]:
    """The RDATA of the answer section's records of ``rdtype``, as sorted text."""
    wanted = dns.rdatatype.from_text(rdtype)
    return sorted(r.to_text() for rrset in response.answer if rrset.rdtype == wanted for r in rrset)


def soa_answer(zone: str | dns.name.Name) -> Probe:
    """Probe that accepts an authoritative NOERROR answer holding the SOA of ``zone``."""
    origin = dns.name.from_text(str(zone))

    def accept(response: dns.message.Message) -> bool:
        return response.rcode() == dns.rcode.NOERROR and any(
            rrset.name == origin and rrset.rdtype == dns.rdatatype.SOA for rrset in response.answer
        )

    return accept


def any_answer(response: dns.message.Message) -> bool:
    """Probe that accepts any response that is not SERVFAIL (e.g. for resolvers)."""
    return response.rcode() != dns.rcode.SERVFAIL


# --------------------------------------------------------------------------- servers


class RunningServer:
    """A name server process, started and stopped by the test.

    Use as a context manager: entering starts ``argv`` with stdout and stderr
    going to ``log_path`` (a fresh temporary folder when None), and waits until
    the server answers an SOA query for ``probe_zone`` sent from
    ``probe_source`` to ``address``#``port``. Leaving stops the process by its
    PID and reaps it.
    """

    def __init__(
        self,
        argv: Sequence[str],
        address: str,
        port: int,
        probe_zone: str,
        log_path: str | os.PathLike[str] | None = None,
        *,
        probe_source: str | None = None,
        probe: Probe | None = None,
        cwd: str | os.PathLike[str] | None = None,
        start_timeout: float = START_TIMEOUT,
        start_attempts: int = START_ATTEMPTS,
    ):
        self.argv = [str(a) for a in argv]
        self.address = address
        self.port = port
        self.probe_zone = probe_zone
        self.probe_source = probe_source or address
        self.probe = probe or soa_answer(probe_zone)
        self.cwd = cwd
        self.start_timeout = start_timeout
        self.start_attempts = start_attempts
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if log_path is None:
            self._tempdir = tempfile.TemporaryDirectory(prefix="zonesmith-server-")
            log_path = Path(self._tempdir.name) / "server.log"
        self.log_path = Path(log_path)
        self.process: subprocess.Popen[bytes] | None = None
        self.pid: int | None = None
        self._tail_cache: str | None = None

    # -- life cycle

    def __enter__(self) -> RunningServer:
        self.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        died = self.process is not None and self.process.poll() is not None
        returncode = self.process.returncode if died and self.process else None
        self.stop()
        if died and exc_type is None:
            raise AssertionError(
                f"{self.argv[0]} (pid {self.pid}) exited with {returncode} while the test "
                f"was running\n{self.log_tail()}"
            )

    def start(self) -> None:
        assert self.process is None, "server already started"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.cwd,
            )
        self.pid = self.process.pid
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def _wait_until_answering(self) -> None:
        assert self.process is not None
        deadline = time.monotonic() + self.start_timeout
        last: object = "no query sent"
        for _ in range(self.start_attempts):
            if self.process.poll() is not None:
                raise AssertionError(
                    f"{self.argv[0]} (pid {self.pid}) exited with {self.process.returncode} "
                    f"before answering: {' '.join(self.argv)}\n{self.log_tail()}"
                )
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                response = query(
                    self.probe_zone,
                    "SOA",
                    self.address,
                    self.port,
                    source=self.probe_source,
                    timeout=min(0.5, remaining),
                    attempts=1,
                )
            except AssertionError as e:  # no answer yet: not listening, or still loading
                last = e
            else:
                if self.probe(response):
                    return
                last = f"unaccepted answer, rcode {dns.rcode.to_text(response.rcode())}"
            time.sleep(min(0.25, max(0.0, deadline - time.monotonic())))
        raise AssertionError(
            f"{self.argv[0]} (pid {self.pid}) did not answer SOA {self.probe_zone} on "
            f"{self.address}#{self.port} within {self.start_timeout:.0f} s "
            f"({last})\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Stop the process by its PID (SIGTERM, then SIGKILL) and reap it."""
        process = self.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=KILL_TIMEOUT)
        if self._tempdir is not None and process is not None and process.poll() is not None:
            # Keep the log readable for log_tail() until now, then clean up.
            self._tail_cache = self.log_tail()
            self._tempdir.cleanup()
            self._tempdir = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return self._tail_cache or f"(no log at {self.log_path})"
        tail = text.splitlines()[-lines:]
        return f"--- last {len(tail)} lines of {self.log_path} ---\n" + "\n".join(tail)


def start_server(
    argv: Sequence[str],
    address: str,
    port: int,
    probe_zone: str,
    log_path: str | os.PathLike[str] | None = None,
    **options,
) -> RunningServer:
    """A ``RunningServer`` for any command; enter it with ``with``."""
    binary = find_binary(argv[0]) or argv[0]
    return RunningServer([binary, *argv[1:]], address, port, probe_zone, log_path, **options)


def start_named(conf_path, address: str, port: int, zone: str, log_path=None, **options):
    """BIND 9 in the foreground, logging to stderr (``named -g -c conf``)."""
    return start_server(["named", "-g", "-c", conf_path], address, port, zone, log_path, **options)


def start_nsd(conf_path, address: str, port: int, zone: str, log_path=None, **options):
    """NSD in the foreground (``nsd -d -c conf``)."""
    return start_server(["nsd", "-d", "-c", conf_path], address, port, zone, log_path, **options)


def start_knot(conf_path, address: str, port: int, zone: str, log_path=None, **options):
    """Knot DNS (``knotd -c conf``; it stays in the foreground)."""
    return start_server(["knotd", "-c", conf_path], address, port, zone, log_path, **options)


def start_unbound(conf_path, address: str, port: int, zone: str, log_path=None, **options):
    """Unbound in the foreground (``unbound -d -c conf``); any non-SERVFAIL answer will do."""
    options.setdefault("probe", any_answer)
    return start_server(
        ["unbound", "-d", "-c", conf_path], address, port, zone, log_path, **options
    )
