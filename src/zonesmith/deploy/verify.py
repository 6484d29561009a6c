"""Verifying a rollout: every server serves the new serials; a primary's zone equals the build.

A signed zone is served with its signer's serial, not the build's (found on
BIND 9.18 and Knot 3.2, as zonesmith configures them):

- BIND (``inline-signing``) signs the zone file into a zone of its own,
  kept beside it (``.signed`` and its journal) across reloads and restarts.
  It raises the signed serial at each signing; a zone file reloaded with a
  new serial is served with the larger of that serial and the last signed
  serial plus one; one reloaded with the same serial changes nothing.
- Knot (``dnssec-signing``, the signed zone kept in its journal) keeps its
  signed serial across reloads and restarts, raises it at each signing, and
  takes a changed zone file with the file's serial when that is above it
  (see ``zonesmith.drivers.knot.SIGNED_ZONE``).
- Secondaries serve the signed serial they transfer.

So a signed zone is verified with the build's serial or a later one (a
deploy makes the build's serial larger than the one served, see
``planner.served_floors``); on the primary, by AXFR, its
content without what the signer adds (DNSKEY, RRSIG, NSEC, NSEC3,
NSEC3PARAM, CDS, CDNSKEY, BIND's TYPE65534) and without the SOA serial, and
it must be signed (a DNSKEY at the apex, an RRSIG over the SOA): signing
follows the load, so the primary is asked again until it is, within the
verify timeout. Its secondaries must then serve at least the serial the
primary was verified with.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import dns.name
import dns.rdatatype
import dns.zone

from zonesmith.compile.serials import serial_gt
from zonesmith.deploy.axfr import transfer
from zonesmith.deploy.diff import parse_zone, without_dnssec, zone_rrsets
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


def is_signed(zone: dns.zone.Zone) -> bool:
    """A DNSKEY at the apex and an RRSIG over the SOA."""
    apex = zone.origin
    assert isinstance(apex, dns.name.Name)
    return (
        zone.get_rdataset(apex, dns.rdatatype.DNSKEY) is not None
        and zone.get_rdataset(apex, dns.rdatatype.RRSIG, dns.rdatatype.SOA) is not None
    )


def signed_primary_matches(
    want: Expect,
    target: Target,
    key: tuple[str, str, str],
    content: bytes,
    origin: str,
    deadline: float,
) -> tuple[str | None, int | None]:
    """(None, the serial served) when the signer serves the build's content, signed, with
    the build's serial or a later one; (why not, None) once ``deadline`` passes."""
    wanted = without_dnssec(parse_zone(content, origin) or {})
    while True:
        try:
            zone = transfer(target, want.address, want.port, want.question.zone, key)
        except DeployError as problem:
            why = f"{want.server}: {problem}"
        else:
            soa = zone.get_rdataset(zone.origin, dns.rdatatype.SOA)  # type: ignore[arg-type]
            serial = soa[0].serial if soa else None
            if serial is None or (serial != want.serial and not serial_gt(serial, want.serial)):
                why = (
                    f"{want.server} serves {want.question.zone} with serial {serial}, "
                    f"not {want.serial} or later"
                )
            elif without_dnssec(zone_rrsets(zone)) != wanted:
                why = (
                    f"{want.server} serves {want.question.zone} with content that is not "
                    "the build's"
                )
            elif not is_signed(zone):
                why = (
                    f"{want.server} serves {want.question.zone} unsigned (no DNSKEY at its apex "
                    "or no RRSIG over its SOA)"
                )
            else:
                return None, serial
        if time.monotonic() >= deadline:
            return why, None
        time.sleep(0.2)
