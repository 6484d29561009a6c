"""Observing a live server: the files installed at its path, the SOA serial it serves per zone."""

from __future__ import annotations

import hashlib
import json
import random
import re
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

from zonesmith.deploy import remote_sh
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.transport import LOCAL

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
    #: zone_keys of signed zones, whose serial the signer raises as it re-signs: the
    #: fingerprint notes only whether they are served
    signed: frozenset[str] = frozenset()

    @property
    def fingerprint(self) -> str:
        """A digest of everything observed: a plan made on other observations is stale."""
        served = sorted(
            (key, (serial is not None) if key in self.signed else serial)
            for key, serial in self.served.items()
        )
        text = json.dumps(
            [sorted(self.installed.items()), served, self.files_error],
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
    down = None
    try:
        served, answered = serials_of(target, address, port, asked)
    except DeployError as problem:
        served, answered, down = {}, True, str(problem)
    served.pop("", None)
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


def serials_of(
    target: Target,
    address: str,
    port: int,
    questions: list[Question],
    timeout: float = QUERY_TIMEOUT,
) -> tuple[dict[str, int | None], bool]:
    """The serials served, as :func:`soa_serials` tells them: asked from this
    machine for a server on it, and on the server's host (see
    :func:`soa_serials_on`) for one reached over SSH, whose firewall may admit
    no one but its peers. A DeployError says why the host could not ask."""
    if target.transport.host == LOCAL:
        return soa_serials(address, port, questions, timeout)
    return soa_serials_on(target, address, port, questions, timeout)


_STATUS = re.compile(r"status: (\w+)")
_FLAGS = re.compile(r"^;; flags:([^;]*);", re.IGNORECASE)  # not EDNS's "; EDNS: ... flags:;"
_GROUP = ";; zonesmith group "


def soa_serials_on(
    target: Target, address: str, port: int, questions: list[Question], timeout: float
) -> tuple[dict[str, int | None], bool]:
    """:func:`soa_serials`, asked on ``target``'s host with dig or kdig in one
    command: one run of the tool per TSIG key, the keys on standard input."""
    served: dict[str, int | None] = {q.key: None for q in questions}
    groups: dict[tuple[str, str, str] | None, list[Question]] = {}
    for question in questions:
        groups.setdefault(question.tsig, []).append(question)
    lines = []
    index: dict[tuple[int, dns.name.Name], str] = {}
    for number, (tsig, asked) in enumerate(groups.items(), start=1):
        lines.append(" ".join(tsig) if tsig is not None else "- - -")
        for question in asked:
            name = dns.name.from_text(question.zone)
            index[(number, name)] = question.key
            lines.append(_argument(name))
        lines.append("")
    seconds = max(1, round(timeout))
    where = f"{target.where}: the SOA questions to {address} port {port}"
    try:
        done = target.transport.run(
            remote_sh.sh(remote_sh.SOA, target.path, address, str(port), str(seconds), "2"),
            input="\n".join(lines).encode() + b"\n",
            timeout=60 + 2 * seconds * len(groups),
        )
    except DeployError as problem:
        raise DeployError(f"{where} failed: {problem}") from None
    if done.returncode == 9:
        return served, False
    if done.returncode != 0:
        raise DeployError(f"{where} failed: {done.message()}")
    group, status, authoritative = 0, None, False
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith(_GROUP):
            group, status = int(line[len(_GROUP) :]), None
        elif found := _STATUS.search(line):
            status, authoritative = found[1], False
        elif found := _FLAGS.search(line):
            authoritative = "aa" in found[1].split()
        elif status == "NOERROR" and authoritative and not line.startswith(";"):
            _record(line, group, index, served)
    return served, True


def _argument(name: dns.name.Name) -> str:
    """The name as the tool's argument: a leading ``-`` or ``+`` escaped, so
    that it is never read as an option."""
    text = name.to_text()
    if text[:1] in "-+":
        text = f"\\{ord(text[0]):03d}{text[1:]}"
    return text


def _record(
    line: str,
    group: int,
    index: Mapping[tuple[int, dns.name.Name], str],
    served: dict[str, int | None],
) -> None:
    """Note the serial of an SOA answer line for the question it answers."""
    fields = line.split()
    if len(fields) < 7 or fields[3].upper() != "SOA":
        return
    try:
        key = index.get((group, dns.name.from_text(fields[0])))
        serial = int(fields[6])
    except (dns.exception.DNSException, ValueError):
        return
    if key is not None:
        served[key] = serial


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
