"""Observing a live server: the files installed at its path, the SOA serial it serves per zone."""

from __future__ import annotations

import hashlib
import json
import random
import select
import socket
import time
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring

from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target

#: Seconds to wait for an SOA answer; a question is asked ATTEMPTS times at most.
QUERY_TIMEOUT = 1.0
ATTEMPTS = 3
#: Questions in flight at once: their answers fit any socket buffer.
WINDOW = 64


@dataclass(frozen=True)
class Question:
    """One zone to ask a server about, with the TSIG key that selects its view."""

    key: str  # zone_key(view, zone)
    zone: str
    tsig: tuple[str, str, str] | None = None  # (key name, algorithm, secret)


@dataclass(frozen=True)
class Observed:
    """What one server has and serves now; problems are values, not exceptions."""

    server: str
    #: relative path -> digest of each managed file now (None: could not be read)
    installed: Mapping[str, str] = field(default_factory=dict)
    #: relative path -> digest at the last deploy (the target's manifest)
    manifest: Mapping[str, str] = field(default_factory=dict)
    #: zone_key -> the serial served (None: not served)
    served: Mapping[str, int | None] = field(default_factory=dict)
    #: the server does not answer at all / its files cannot be read
    down: str | None = None
    files_error: str | None = None

    @property
    def fingerprint(self) -> str:
        """A digest of everything observed: a plan made on other observations is stale."""
        text = json.dumps(
            [sorted(self.installed.items()), sorted(self.served.items()), self.files_error],
            separators=(",", ":"),
        )
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    def hand_edited(self) -> set[str]:
        """Managed files whose content differs from what the last deploy installed."""
        return {
            relative
            for relative, value in self.manifest.items()
            if self.installed.get(relative) not in (None, value)
        }


def observe(target: Target, address: str, port: int, questions: Iterable[Question]) -> Observed:
    """Read the target's files and ask the server for each zone's SOA."""
    installed: dict[str, str] = {}
    manifest: dict[str, str] = {}
    files_error = None
    try:
        installed = target.installed()
        manifest = read_manifest(target)
    except DeployError as problem:
        files_error = str(problem)
    questions = list(questions)
    # A server of no zones (a resolver) is asked for the root's SOA: any answer tells it runs.
    asked = questions or [Question("", ".")]
    served, answered = soa_serials(address, port, asked)
    served.pop("", None)
    down = None
    if not answered:
        down = f"{target.name}: no answer from {address} port {port}"
    return Observed(target.name, installed, manifest, served, down, files_error)


def read_manifest(target: Target) -> dict[str, str]:
    """The digests the last swap recorded (PATH/.zonesmith/installed)."""
    done = target.transport.run(["cat", "--", f"{target.state}/installed"], timeout=60)
    found = {}
    if done.ok:
        for line in done.stdout.decode("utf-8", "surrogateescape").splitlines():
            value, _, relative = line.partition("  ./")
            if relative:
                found[relative] = value
    return found


def _message(question: Question) -> dns.message.Message:
    message = dns.message.make_query(question.zone, dns.rdatatype.SOA)
    message.flags &= ~0x0100  # no recursion: the server's own data only
    if question.tsig is not None:
        name, algorithm, secret = question.tsig
        keyring = dns.tsigkeyring.from_text({name: (algorithm, secret)})
        message.use_tsig(keyring, keyname=name)
    return message


def soa_serials(
    address: str, port: int, questions: list[Question], timeout: float = QUERY_TIMEOUT
) -> tuple[dict[str, int | None], bool]:
    """The serial served for each question (None: not served), and whether the
    server answered anything.

    Queries go out on one socket, WINDOW at a time, each answer making room for
    the next: a server of a thousand zones is asked in a few round trips, and
    never sent more answers at once than a socket buffer holds. A question
    without an answer is asked again once; a server that answers nothing
    within ``timeout`` is not asked further (it is down).
    """
    served: dict[str, int | None] = {q.key: None for q in questions}
    todo = deque((question, 1) for question in questions)
    flying: dict[int, tuple[Question, dns.message.Message, float, int]] = {}
    answered = False
    ids = random.Random()
    next_id = ids.randrange(0x10000)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        while todo or flying:
            while todo and len(flying) < WINDOW:
                question, attempt = todo.popleft()
                message = _message(question)
                message.id = next_id
                next_id = (next_id + 1) & 0xFFFF
                try:
                    sock.sendto(message.to_wire(), (address, port))
                except OSError:
                    todo.appendleft((question, attempt))
                    break
                flying[message.id] = (question, message, time.monotonic() + timeout, attempt)
            now = time.monotonic()
            for expired in [i for i, entry in flying.items() if entry[2] <= now]:
                question, _, _, attempt = flying.pop(expired)
                if not answered:
                    return served, False  # nothing at all came back: down
                if attempt < ATTEMPTS:
                    todo.append((question, attempt + 1))
            if not flying:
                continue
            wait = max(0.0, min(entry[2] for entry in flying.values()) - time.monotonic())
            ready, _, _ = select.select([sock], [], [], wait)
            while ready:
                try:
                    wire = sock.recv(65535)
                except BlockingIOError:
                    break
                answered = True
                key, serial = _answer(wire, flying)
                if key is not None:
                    served[key] = serial
    return served, answered


def _answer(wire: bytes, flying: dict) -> tuple[str | None, int | None]:
    if len(wire) < 2:
        return None, None
    entry = flying.pop(int.from_bytes(wire[:2], "big"), None)
    if entry is None:
        return None, None
    question, message, _, _ = entry
    try:
        keyring = message.keyring if question.tsig is not None else None
        response = dns.message.from_wire(wire, keyring=keyring, request_mac=message.mac)
    except dns.exception.DNSException:
        return question.key, None
    if response.rcode() != dns.rcode.NOERROR or not response.flags & 0x0400:  # AA
        return question.key, None
    name = dns.name.from_text(question.zone)
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.SOA and rrset.name == name:
            return question.key, rrset[0].serial
    return question.key, None

