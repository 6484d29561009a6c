"""What a plan shows: a zone's RRsets as +/- lines, a config file's lines, secrets masked."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype
import dns.zone

MASK = "(secret)"
#: A secret's value in the configurations zonesmith writes: BIND and rndc.conf
#: (`secret "…";`), NSD and Knot (`secret: …`), control keys alike.
_SECRET = re.compile(r"""(\bsecret\s*[:=]?\s*"?)([^"\s;]+)""", re.IGNORECASE)


def mask_secrets(line: str, secrets: Iterable[str] = ()) -> str:
    """``line`` with every secret value replaced by (secret)."""
    for secret in secrets:
        if secret:
            line = line.replace(secret, MASK)
    return _SECRET.sub(lambda m: m.group(1) + MASK, line)


def file_diff(old: bytes | None, new: bytes | None, name: str, secrets: Iterable[str]) -> list[str]:
    """A unified diff of a text file, secrets masked; binary files say so."""
    try:
        old_lines = (old or b"").decode().splitlines()
        new_lines = (new or b"").decode().splitlines()
    except UnicodeDecodeError:
        return [f"binary file {name} changed"]
    known = list(secrets)
    return [
        mask_secrets(line, known)
        for line in difflib.unified_diff(
            old_lines, new_lines, f"live/{name}", f"new/{name}", n=1, lineterm=""
        )
    ]


RRsets = dict[tuple[str, int], frozenset[str]]

#: What a signer adds to the zone it is given: keys, signatures, denial of
#: existence, the keys for the parent, and BIND's private signing state (TYPE65534).
DNSSEC_TYPES = frozenset(
    {
        dns.rdatatype.DNSKEY,
        dns.rdatatype.RRSIG,
        dns.rdatatype.NSEC,
        dns.rdatatype.NSEC3,
        dns.rdatatype.NSEC3PARAM,
        dns.rdatatype.CDS,
        dns.rdatatype.CDNSKEY,
        65534,
    }
)


def without_dnssec(rrsets: RRsets) -> RRsets:
    """``rrsets`` without what a signer adds: a signed zone compared with its build."""
    return {key: value for key, value in rrsets.items() if key[1] not in DNSSEC_TYPES}


def parse_zone(text: bytes | None, origin: str) -> RRsets | None:
    """The RRsets of a master file ((owner, type) -> rdata texts with TTL), or None."""
    if text is None:
        return None
    try:
        zone = dns.zone.from_text(
            text.decode(), origin=origin, relativize=False, check_origin=False
        )
    except (dns.exception.DNSException, UnicodeDecodeError, ValueError):
        return None
    return zone_rrsets(zone)


def zone_rrsets(zone: dns.zone.Zone) -> RRsets:
    found: RRsets = {}
    for name, node in zone.nodes.items():
        owner = name.to_text()
        for rdataset in node.rdatasets:
            if rdataset.rdtype == dns.rdatatype.SOA:
                # The serial moves on every change: the plan shows it apart.
                found[(owner, rdataset.rdtype)] = frozenset(
                    f"{rdataset.ttl} {_soa_without_serial(rdata)}" for rdata in rdataset
                )
                continue
            found[(owner, rdataset.rdtype)] = frozenset(
                f"{rdataset.ttl} {rdata.to_text()}" for rdata in rdataset
            )
    return found


def _soa_without_serial(rdata: object) -> str:
    fields = rdata.to_text().split()  # type: ignore[attr-defined]
    return " ".join(fields[:2] + fields[3:])


@dataclass(frozen=True)
class RRsetDiff:
    lines: tuple[str, ...]
    changed: int  # RRsets added, changed or removed
    total: int  # RRsets before
    apex_ns_changed: bool


def rrset_diff(old: RRsets | None, new: RRsets, origin: str) -> RRsetDiff:
    """+/- lines per record, in owner and type order."""
    old = old or {}
    lines: list[str] = []
    changed = 0
    for key in sorted(set(old) | set(new), key=lambda k: (dns.name.from_text(k[0]), k[1])):
        before, after = old.get(key, frozenset()), new.get(key, frozenset())
        if before == after:
            continue
        changed += 1
        owner, rdtype = key[0], dns.rdatatype.to_text(key[1])
        lines += [
            f"- {owner} {value.replace(' ', f' IN {rdtype} ', 1)}"
            for value in sorted(before - after)
        ]
        lines += [
            f"+ {owner} {value.replace(' ', f' IN {rdtype} ', 1)}"
            for value in sorted(after - before)
        ]
    apex = (origin, dns.rdatatype.NS)
    apex_changed = bool(old) and old.get(apex) != new.get(apex)
    return RRsetDiff(tuple(lines), changed, len(old), apex_changed)
