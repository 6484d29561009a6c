"""Property: a master file zonesmith reads and writes comes back as the same RRsets.

For generated zones (the root among the origins, names in mixed case,
several RRsets per name, RRSIGs covering several types with their own TTLs),
the zone file zonesmith builds, loaded by dnspython, holds exactly the RRsets
dnspython reads from the input: the same names, one TTL per RRset, and RDATA
text equal character for character, so names in RDATA keep their case.
"""

from __future__ import annotations

from pathlib import Path
from tempfile import TemporaryDirectory

import dns.rdataclass
import dns.rdatatype
import dns.zone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sites import build_master_zone

T = dns.rdatatype
BASE = "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n"

ORIGINS = st.sampled_from([".", "example.", "Example.COM.", "as112.arpa.", "a.B.c.d."])
LABEL = st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,8}[A-Za-z0-9]", fullmatch=True).filter(
    lambda label: label.lower() != "ns1"
)
TTL = st.integers(min_value=0, max_value=2**31 - 1)


def flip_case(text: str, data: st.DataObject) -> str:
    return "".join(c.upper() if data.draw(st.booleans()) else c.lower() for c in text)


def name_in_zone(data: st.DataObject, origin: str, relative: str) -> str:
    """A name below the origin, written relative or absolute with the origin in any case."""
    if data.draw(st.booleans()):
        return relative
    suffix = flip_case(origin, data) if origin != "." else ""
    return f"{relative}.{suffix}" if suffix else f"{relative}."


def rdata_text(data: st.DataObject, rdtype: int, origin: str, owners: list[str]) -> str:
    target = name_in_zone(data, origin, data.draw(st.sampled_from(owners)))
    if rdtype == T.A:
        return data.draw(st.ip_addresses(v=4)).exploded
    if rdtype == T.AAAA:
        return data.draw(st.ip_addresses(v=6)).compressed
    if rdtype == T.TXT:
        return '"' + data.draw(st.from_regex(r"[A-Za-z0-9 .=-]{0,40}", fullmatch=True)) + '"'
    if rdtype == T.MX:
        return f"{data.draw(st.integers(0, 65535))} {target}"
    if rdtype == T.SRV:
        numbers = " ".join(str(data.draw(st.integers(0, 65535))) for _ in range(3))
        return f"{numbers} {target}"
    if rdtype == T.NSEC:
        types = data.draw(st.lists(st.sampled_from(["A", "AAAA", "TXT", "MX", "RRSIG"])))
        return " ".join([target, "NSEC", *types])
    assert rdtype == T.RRSIG
    covered = data.draw(st.sampled_from(["A", "AAAA", "TXT", "MX", "NSEC"]))
    signer = flip_case(origin, data)
    expiration = data.draw(st.integers(1_700_000_000, 2_000_000_000))
    return f"{covered} 8 2 300 {expiration} {expiration - 86400} 1 {signer} AQID"


TYPES = [T.A, T.AAAA, T.TXT, T.MX, T.SRV, T.NSEC, T.RRSIG]


@st.composite
def zones(draw: st.DrawFn) -> tuple[str, str]:
    data = draw(st.data())
    origin = draw(ORIGINS)
    owners = draw(st.lists(LABEL, min_size=1, max_size=5, unique_by=str.lower))
    lines = []
    nsec_owners: set[str] = set()
    ttls: dict[tuple[str, int, str], int] = {}  # one TTL per RRset (RRSIGs: per covered type)
    for _ in range(draw(st.integers(1, 25))):
        relative = draw(st.sampled_from(owners))
        rdtype = draw(st.sampled_from(TYPES))
        if rdtype == T.NSEC and relative.lower() in nsec_owners:
            continue  # dnspython keeps one NSEC per name (BIND and zonesmith keep all)
        if rdtype == T.NSEC:
            nsec_owners.add(relative.lower())
        text = rdata_text(data, rdtype, origin, owners)
        covered = text.split()[0] if rdtype == T.RRSIG else ""
        ttl = ttls.setdefault((relative.lower(), rdtype, covered), draw(TTL))
        owner = name_in_zone(data, origin, flip_case(relative, data))
        lines.append(f"{owner} {ttl} IN {T.to_text(rdtype)} {text}\n")
    return origin, BASE + "".join(lines)


def rrsets(zone: dns.zone.Zone) -> dict[tuple[str, int, int], tuple[int, list[str]]]:
    """(name, type, covered) -> (TTL, sorted absolute RDATA texts), the SOA left out."""
    found = {}
    for name, rdataset in zone.iterate_rdatasets():
        if rdataset.rdtype != T.SOA:
            key = (name.to_text().lower(), rdataset.rdtype, rdataset.covers)
            found[key] = (rdataset.ttl, sorted(r.to_text() for r in rdataset))
    return found


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(zones())
def test_built_zone_holds_the_input_rrsets(generated: tuple[str, str]) -> None:
    origin, text = generated
    expected = dns.zone.from_text(text, origin, relativize=False, check_origin=False)
    with TemporaryDirectory() as folder:
        path = build_master_zone(Path(folder), origin, text)
        built = dns.zone.from_file(str(path), origin, relativize=False)
    assert rrsets(built) == rrsets(expected)
