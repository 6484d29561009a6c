"""Signed zones on real signers: a BIND primary and a Knot primary sign, and keep their keys.

One site, one build: BIND 9 (127.0.0.1) signs example.com with a CSK,
Knot (127.0.0.1, another port) signs example.net with a KSK and a ZSK and
NSEC3. A query with DO gets RRSIGs and the DNSKEY set is served; rebuilding
(with a changed record, and once more into the same output) keeps the key
folder and the KASP database, so the servers started again from the new
tree sign with the same keys.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.dnssec
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest
from servers import free_port, requires, start_knot, start_named
from sites import write_site, zonesmith

pytestmark = requires("named", "knotd")

SIGNING_TIMEOUT = 20.0  # seconds for a signer to publish its first keys

CONFIG = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
dnssec-policies:
  csk: {{}}
  split: {{keys: ksk+zsk, nsec: nsec3, ds: cds}}
servers:
  b1: {{software: bind, role: primary, address: 127.0.0.1, port: {p1}, path: {out}/b1}}
  k1: {{software: knot, role: primary, address: 127.0.0.1, port: {p2}, path: {out}/k1}}
zones:
  example.com: {{dnssec: csk, servers: [b1]}}
  example.net: {{dnssec: split, servers: [k1]}}
"""
RECORDS = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\nwww: A 192.0.2.10\n"


def do_query(name: str, rdtype: str, port: int) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    query.flags &= ~dns.flags.RD
    return dns.query.tcp(query, "127.0.0.1", port=port, timeout=2.0)


def served(
    answer: Callable[[dns.message.Message], list], name: str, rdtype: str, port: int
) -> list:
    """``answer`` of the DO response to ``name`` ``rdtype``, once it is not empty (bounded:
    a signer signs after it loads)."""
    deadline = time.monotonic() + SIGNING_TIMEOUT
    while True:
        found = answer(do_query(name, rdtype, port))
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def key_tags(zone: str, port: int) -> set[int]:
    """The key tags of the DNSKEY set ``zone`` serves."""

    def keys(response: dns.message.Message) -> list:
        return [
            r for rrset in response.answer if rrset.rdtype == dns.rdatatype.DNSKEY for r in rrset
        ]

    return {dns.dnssec.key_id(key) for key in served(keys, zone, "DNSKEY", port)}


def signatures(name: str, port: int) -> list[int]:
    """The key tags of the RRSIGs over ``name``'s A records."""

    def tags(response: dns.message.Message) -> list[int]:
        return [
            sig.key_tag
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.RRSIG
            for sig in rrset
            if sig.type_covered == dns.rdatatype.A
        ]

    return served(tags, name, "A", port)


def build(site: Path, out: Path) -> None:
    result = zonesmith("build", site, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr


class Signers:
    def __init__(self, root: Path) -> None:
        self.out = root / "out"
        self.ports = {"b1": free_port(), "k1": free_port()}
        config = CONFIG.format(p1=self.ports["b1"], p2=self.ports["k1"], out=self.out)
        zones = {"example.com.yaml": RECORDS, "example.net.yaml": RECORDS}
        self.site = write_site(root / "site", config, zones)
        build(self.site, self.out)

    def started(self):
        return (
            start_named(self.out / "b1/named.conf", "127.0.0.1", self.ports["b1"], "example.com"),
            start_knot(self.out / "k1/knot.conf", "127.0.0.1", self.ports["k1"], "example.net"),
        )


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Signers]:
    yield Signers(tmp_path_factory.mktemp("dnssec"))


def test_both_primaries_sign_and_keep_their_keys_across_rebuilds(signers: Signers) -> None:
    named, knotd = signers.started()
    with named, knotd:
        before = {
            "example.com": key_tags("example.com", signers.ports["b1"]),
            "example.net": key_tags("example.net", signers.ports["k1"]),
        }
        assert len(before["example.com"]) == 1  # one CSK
        assert len(before["example.net"]) == 2  # a KSK and a ZSK
        assert set(signatures("www.example.com", signers.ports["b1"])) <= before["example.com"]
        assert signatures("www.example.com", signers.ports["b1"])
        assert set(signatures("www.example.net", signers.ports["k1"])) <= before["example.net"]
        assert signatures("www.example.net", signers.ports["k1"])
    assert any((signers.out / "b1/keys").iterdir())  # named wrote its keys there
    changed = RECORDS + "new: A 192.0.2.99\n"
    (signers.site / "zones/example.com.yaml").write_text(changed)
    (signers.site / "zones/example.net.yaml").write_text(changed)
    build(signers.site, signers.out)
    build(signers.site, signers.out)  # a second build into the same output
    named, knotd = signers.started()
    with named, knotd:
        after = {
            "example.com": key_tags("example.com", signers.ports["b1"]),
            "example.net": key_tags("example.net", signers.ports["k1"]),
        }
        assert after == before
        assert set(signatures("new.example.com", signers.ports["b1"])) <= before["example.com"]
        assert signatures("new.example.com", signers.ports["b1"])
        assert signatures("new.example.net", signers.ports["k1"])
