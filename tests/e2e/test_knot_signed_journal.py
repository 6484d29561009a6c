"""A Knot signer's journal across a zone's removal and return: the zone comes back as built.

k1, Knot, hidden primary, signs example.net and example.info; n2, NSD, is
their secondary; both run on 127.0.0.1 with distinct ports from their paths.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from servers import answers, free_ports, requires, soa_serial, start_knot, start_nsd
from sites import ok, write_site, zonesmith

pytestmark = [pytest.mark.servers, requires("nsd", "knotd", "knotc", "keymgr")]

ADDRESS = "127.0.0.1"
WAIT = 20.0  # seconds a change may take to reach a server

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.net., contact: hostmaster@example.net, refresh: 1h, retry: 10}}
deploy:
  verify-timeout: 20s
dnssec-policies:
  csk: {{}}
servers:
  k1: {{software: knot, role: primary, address: 127.0.0.1, port: {k1}, path: {srv}/k1,
        hidden: true}}
  n2: {{software: nsd, role: secondary, address: 127.0.0.1, port: {n2}, path: {srv}/n2,
        primaries: [k1]}}
zones:
  example.net: {{servers: [k1, n2], dnssec: csk}}
{info}"""
INFO = "  example.info: {servers: [k1, n2], dnssec: csk}\n"
RECORDS = "'@': NS ns2.example.com.\nwww: A 192.0.2.80\n"


def wait_until(what, why: str) -> None:
    deadline = time.monotonic() + WAIT
    while not what():
        assert time.monotonic() < deadline, why
        time.sleep(0.2)


def ask(name: str, port: int) -> dns.message.Message:
    request = dns.message.make_query(name, "A", want_dnssec=True)
    return dns.query.tcp(request, ADDRESS, port=port, timeout=2.0)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[Path, dict[str, int], Path]]:
    srv = tmp_path / "srv"
    ports = free_ports(("k1", "n2"), ADDRESS)
    zones = {f"{zone}.yaml": RECORDS for zone in ("example.net", "example.info")}
    root = write_site(tmp_path / "site", SITE.format(srv=srv, info=INFO, **ports), zones)
    ok(zonesmith("apply", root, "--yes"))
    knot = start_knot(srv / "k1/knot.conf", ADDRESS, ports["k1"], "example.net")
    nsd = start_nsd(srv / "n2/nsd.conf", ADDRESS, ports["n2"], "example.net")
    try:
        knot.start()
        nsd.start()
        yield root, ports, srv
    finally:
        nsd.stop()
        knot.stop()


def test_a_signed_zone_added_back_to_a_knot_signer_is_served_as_built(
    site: tuple[Path, dict[str, int], Path],
) -> None:
    root, ports, srv = site
    zone = "example.info"
    wait_until(lambda: soa_serial(zone, ADDRESS, ports["n2"]) is not None, f"n2 serves {zone}")
    # re-signings take the signed serial, which Knot keeps in its journal, past what
    # the next builds give the zone
    socket = str(srv / "k1/knot.sock")
    for _ in range(3):
        before = soa_serial(zone, ADDRESS, ports["k1"]) or 0
        signed = subprocess.run(
            ["knotc", "-s", socket, "-b", "zone-sign", f"{zone}."],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        assert signed.returncode == 0, signed.stdout + signed.stderr
        wait_until(
            lambda b=before: (soa_serial(zone, ADDRESS, ports["k1"]) or 0) > b, "k1 re-signs"
        )
    journal = soa_serial(zone, ADDRESS, ports["k1"]) or 0
    (root / "zonesmith.yaml").write_text(SITE.format(srv=srv, info="", **ports))
    acks = ("--ack", f"zone-delete:{zone}", "--ack", f"dnssec:{zone}")
    ok(zonesmith("apply", root, "--yes", *acks))
    assert soa_serial(zone, ADDRESS, ports["k1"]) is None
    (root / "zonesmith.yaml").write_text(SITE.format(srv=srv, info=INFO, **ports))
    # it comes back without www: nothing of its earlier life may stay
    (root / "zones" / f"{zone}.yaml").write_text(RECORDS.replace("www", "back"))
    shown = ok(zonesmith("apply", root, "--yes")).stdout
    assert "Applied: every server serves the change." in shown, shown
    built = dns.zone.from_file(str(srv / f"k1/zones/{zone}.zone"), zone).get_soa().serial
    assert built < journal  # the zone file alone would not get past the old journal
    for server in ("k1", "n2"):
        response = ask(f"back.{zone}", ports[server])
        assert answers(response) == ["192.0.2.80"]
        assert any(rrset.rdtype == dns.rdatatype.RRSIG for rrset in response.answer)
        assert ask(f"www.{zone}", ports[server]).rcode() == dns.rcode.NXDOMAIN
    assert "Nothing to do" in ok(zonesmith("plan", root)).stdout
