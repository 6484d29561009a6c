"""Verifying a rollout: every server serves the new serials; a primary's zone equals the build."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from zonesmith.compile.serials import serial_gt
from zonesmith.deploy.axfr import transfer
from zonesmith.deploy.diff import parse_zone, zone_rrsets
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.observe import Question, serials_of


@dataclass(frozen=True)
class Expect:
    """A server that must serve ``question`` with ``serial`` (or later)."""

    server: str
    address: str
    port: int
    question: Question
    serial: int


def wait_for_serials(
    expected: Sequence[Expect], targets: Mapping[str, Target], timeout: float
) -> dict[str, str]:
    """Ask until every server serves its serial or ``timeout`` passes; server ->
    what it still does not serve (empty: all good). Each server is asked where
    :func:`~zonesmith.deploy.observe.serials_of` says: on its host when it has one."""
    deadline = time.monotonic() + timeout
    pending = list(expected)
    while True:
        by_server: dict[tuple[str, str, int], list[Expect]] = {}
        for want in pending:
            by_server.setdefault((want.server, want.address, want.port), []).append(want)
        still = []
        failed: dict[str, str] = {}
        for (name, address, port), wants in by_server.items():
            try:
                served, _ = serials_of(
                    targets[name], address, port, [w.question for w in wants], timeout=0.5
                )
            except DeployError as problem:
                served, failed[name] = {}, str(problem)
            for want in wants:
                serial = served.get(want.question.key)
                if serial is None or (serial != want.serial and not serial_gt(serial, want.serial)):
                    still.append((want, serial))
        if not still or time.monotonic() >= deadline:
            problems: dict[str, str] = dict(failed)
            for want, serial in still:
                problems.setdefault(
                    want.server,
                    f"{want.server} serves {want.question.zone} with serial "
                    f"{'nothing' if serial is None else serial}, not {want.serial}, "
                    f"after {timeout:g} s",
                )
            return problems
        pending = [want for want, _ in still]
        time.sleep(0.1)


def primary_matches(
    want: Expect, target: Target, key: tuple[str, str, str], content: bytes, origin: str
) -> str | None:
    """None when the primary's zone, by AXFR on its host with ``key``, equals the build."""
    try:
        live = zone_rrsets(transfer(target, want.address, want.port, want.question.zone, key))
    except DeployError as problem:
        return f"{want.server}: {problem}"
    if live != parse_zone(content, origin):
        return f"{want.server} serves {want.question.zone} with content that is not the build's"
    return None
