"""The fleet, end to end: a hidden BIND primary with two views and its secondaries.

One site, one build, four real servers on loopback:

- ns1, BIND, hidden primary with views internal (127.0.0.1, key ``int``) and
  external (everybody else, key ``ext``), producing a catalog zone;
- ns2, NSD, secondary of the external view (its key ``ext`` selects it);
- ns3, Knot, secondary of the internal view (key ``int``), following the catalog;
- ns4, BIND, secondary of both views (each with the view's key), following the catalog.

BIND only listens on addresses configured on an interface, so the BIND servers
share 127.0.0.1 on different ports; NSD and Knot bind 127.0.0.11 and 127.0.0.12.
The tests run in file order: each step builds on the state the previous left.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsigkeyring
import pytest
from servers import free_port, query, requires, start_knot, start_named, start_nsd
from sites import write_site, zonesmith

pytestmark = [pytest.mark.servers, requires("named", "nsd", "knotd")]

EXT_SECRET = "ZXh0ZXJuYWwtdHJhbnNmZXItc2VjcmV0LTAxMjM0NTY3"
INT_SECRET = "aW50ZXJuYWwtdHJhbnNmZXItc2VjcmV0LTAxMjM0NTY3"
WAIT = 20.0  # seconds a change may take to reach every secondary


def site_config(out: Path, ports: dict[str, int]) -> str:
    return f"""\
defaults:
  ttl: 1h
  soa: {{primary: ns2.example.com., contact: hostmaster@example.com, refresh: 1h, retry: 10}}
keys:
  ext: {{algorithm: hmac-sha256, secret-file: secrets/ext.key}}
  int: {{algorithm: hmac-sha256, secret-file: secrets/int.key}}
views:
  internal: {{clients: [127.0.0.1], key: int}}
  external: {{clients: [any], key: ext}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {ports["ns1"]},
        path: {out}/ns1, hidden: true, catalog: catalog.example.}}
  ns2: {{software: nsd, role: secondary, address: 127.0.0.11, port: {ports["ns2"]},
        path: {out}/ns2, primaries: [ns1], key: ext}}
  ns3: {{software: knot, role: secondary, address: 127.0.0.12, port: {ports["ns3"]},
        path: {out}/ns3, primaries: [ns1], key: int}}
  ns4: {{software: bind, role: secondary, address: 127.0.0.1, port: {ports["ns4"]},
        path: {out}/ns4, primaries: [ns1]}}
sets:
  ns: {{'@': [NS ns2.example.com., NS ns3.example.com.]}}
zones:
  example.com: {{include: [ns]}}
  example.org: {{include: [ns]}}
"""


EXAMPLE_COM = """\
ns2: A 192.0.2.2
ns3: A 192.0.2.3
www: A 192.0.2.80
intranet: {view: internal, records: A 10.0.0.20}
"""


class Fleet:
    def __init__(self, root: Path):
        self.root = root
        self.site = root / "site"
        self.out = root / "out"
        self.ports = {name: free_port("127.0.0.1") for name in ("ns1", "ns4")}
        self.ports["ns2"] = free_port("127.0.0.11")
        self.ports["ns3"] = free_port("127.0.0.12")
        self.address = {
            "ns1": "127.0.0.1",
            "ns2": "127.0.0.11",
            "ns3": "127.0.0.12",
            "ns4": "127.0.0.1",
        }
        write_site(
            self.site,
            site_config(self.out, self.ports),
            {"example.com.yaml": EXAMPLE_COM, "example.org.yaml": "www: A 192.0.2.81\n"},
            {"secrets/ext.key": EXT_SECRET + "\n", "secrets/int.key": INT_SECRET + "\n"},
        )
        self.servers: dict[str, object] = {}

    def build(self) -> None:
        result = zonesmith("build", self.site, "-o", self.out)
        assert result.returncode == 0, result.stdout + result.stderr

    def serial(self, server: str, zone: str, source: str = "127.0.0.1") -> int | None:
        response = query(
            zone, "SOA", self.address[server], self.ports[server], source=source, tcp=True
        )
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return None
        return response.answer[0][0].serial

    def wait_for(self, server: str, zone: str, serial: int, source: str = "127.0.0.1") -> None:
        deadline = time.monotonic() + WAIT
        seen = None
        for _ in range(200):
            seen = self.serial(server, zone, source)
            if seen == serial or time.monotonic() > deadline:
                break
            time.sleep(0.25)
        assert seen == serial, f"{server} serves {zone} with serial {seen}, not {serial}"


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("fleet"))
    fleet.build()
    out = fleet.out
    with (
        start_named(
            out / "ns1/named.conf",
            "127.0.0.1",
            fleet.ports["ns1"],
            "example.com",
            log_path=fleet.root / "ns1.log",
        ) as ns1,
        start_nsd(
            out / "ns2/nsd.conf",
            "127.0.0.11",
            fleet.ports["ns2"],
            "example.com",
            log_path=fleet.root / "ns2.log",
        ) as ns2,
        start_knot(
            out / "ns3/knot.conf",
            "127.0.0.12",
            fleet.ports["ns3"],
            "example.com",
            log_path=fleet.root / "ns3.log",
        ) as ns3,
        start_named(
            out / "ns4/named.conf",
            "127.0.0.1",
            fleet.ports["ns4"],
            "example.com",
            log_path=fleet.root / "ns4.log",
        ) as ns4,
    ):
        fleet.servers = {"ns1": ns1, "ns2": ns2, "ns3": ns3, "ns4": ns4}
        yield fleet


def reload_primary(fleet: Fleet) -> None:
    os.kill(fleet.servers["ns1"].process.pid, signal.SIGHUP)  # named reloads on SIGHUP


def test_every_secondary_serves_the_primarys_zones_with_its_serial(fleet: Fleet) -> None:
    for zone in ("example.com", "example.org"):
        serial = fleet.serial("ns1", zone)
        assert serial is not None
        for secondary in ("ns2", "ns3", "ns4"):
            fleet.wait_for(secondary, zone, serial)
        # ns4 keeps both views: the external one transfers on its own schedule
        external = fleet.serial("ns1", zone, source="127.0.0.2")
        fleet.wait_for("ns4", zone, external, source="127.0.0.2")


def test_secondaries_serve_the_view_their_key_selects(fleet: Fleet) -> None:
    def intranet(server: str, source: str) -> int:
        response = query(
            "intranet.example.com", "A", fleet.address[server], fleet.ports[server], source=source
        )
        return response.rcode()

    assert intranet("ns3", "127.0.0.5") == dns.rcode.NOERROR  # Knot holds the internal view
    assert intranet("ns2", "127.0.0.1") == dns.rcode.NXDOMAIN  # NSD holds the external one
    assert intranet("ns4", "127.0.0.1") == dns.rcode.NOERROR  # BIND keeps both views
    assert intranet("ns4", "127.0.0.2") == dns.rcode.NXDOMAIN


def test_a_change_reaches_the_secondaries_through_notify(fleet: Fleet) -> None:
    before = fleet.serial("ns1", "example.com")
    (fleet.site / "zones/example.com.yaml").write_text(EXAMPLE_COM + "new: A 192.0.2.99\n")
    fleet.build()
    reload_primary(fleet)
    deadline = time.monotonic() + WAIT
    after = before
    while after == before and time.monotonic() < deadline:
        time.sleep(0.25)
        after = fleet.serial("ns1", "example.com")
    assert after is not None and after != before
    for secondary in ("ns2", "ns3", "ns4"):
        fleet.wait_for(secondary, "example.com", after)
    answer = query("new.example.com", "A", "127.0.0.11", fleet.ports["ns2"])
    assert answer.answer[0][0].address == "192.0.2.99"


def test_a_new_zone_reaches_catalog_consumers_without_new_configs(fleet: Fleet) -> None:
    configs = {
        name: (fleet.out / name / conf).read_bytes()
        for name, conf in (("ns3", "knot.conf"), ("ns4", "named.conf"))
    }
    site = fleet.site / "zonesmith.yaml"
    site.write_text(site.read_text() + "  example.net: {include: [ns]}\n")
    (fleet.site / "zones/example.net.yaml").write_text("www: A 192.0.2.82\n")
    fleet.build()
    for name, conf in (("ns3", "knot.conf"), ("ns4", "named.conf")):
        assert (fleet.out / name / conf).read_bytes() == configs[name], f"{name} config changed"
    reload_primary(fleet)
    serial = None
    deadline = time.monotonic() + WAIT
    while serial is None and time.monotonic() < deadline:
        time.sleep(0.25)
        serial = fleet.serial("ns1", "example.net")
    assert serial is not None
    fleet.wait_for("ns4", "example.net", serial)
    fleet.wait_for("ns3", "example.net", serial)
    # NSD cannot follow a catalog: its configuration names the new zone instead
    assert b"example.net" in (fleet.out / "ns2/nsd.conf").read_bytes()


def _axfr(address: str, port: int, source: str, key: tuple[str, str] | None) -> int:
    request = dns.message.make_query("example.com", dns.rdatatype.AXFR)
    if key is not None:
        request.use_tsig(dns.tsigkeyring.from_text({key[0]: key[1]}), keyname=key[0])
    try:
        response = dns.query.tcp(request, address, port=port, source=source, timeout=5)
    except (EOFError, ConnectionError, dns.exception.DNSException):
        return -1  # the server closed the connection: refused as well
    if response.rcode() == dns.rcode.NOERROR and any(
        rrset.rdtype == dns.rdatatype.SOA for rrset in response.answer
    ):
        return 0
    return response.rcode() or -1


def test_transfers_are_refused_to_undeclared_sources_and_without_key(fleet: Fleet) -> None:
    for name in ("ns1", "ns2", "ns3", "ns4"):
        address, port = fleet.address[name], fleet.ports[name]
        assert _axfr(address, port, "127.0.0.9", None) != 0, f"{name} gave an AXFR without key"
        assert _axfr(address, port, "127.0.0.9", ("ext", EXT_SECRET)) != 0, (
            f"{name} gave an AXFR to an undeclared address"
        )
    # the declared secondary with its key is served (NSD's address, external key)
    assert _axfr("127.0.0.1", fleet.ports["ns1"], "127.0.0.11", ("ext", EXT_SECRET)) == 0


def test_keys_are_private_and_configs_pass_their_checkers(fleet: Fleet) -> None:
    for name in ("ns1", "ns2", "ns3", "ns4"):
        keys = fleet.out / name / "keys.conf"
        assert keys.stat().st_mode & 0o077 == 0, f"{keys} is readable by others"
        for path in (fleet.out / name).rglob("*"):
            if path.is_file() and path != keys:
                text = path.read_bytes()
                assert EXT_SECRET.encode() not in text and INT_SECRET.encode() not in text, path
    result = zonesmith("check", fleet.site)
    assert EXT_SECRET not in result.stdout + result.stderr
    # the build ran named-checkconf, nsd-checkconf and knotc conf-check: a failure fails it
    assert zonesmith("build", fleet.site, "-o", fleet.root / "again").returncode == 0


def test_hidden_primary_firewall_admits_only_secondaries(fleet: Fleet) -> None:
    rules = (fleet.out / "ns1/nftables.conf").read_text()
    assert "127.0.0.11" in rules and "127.0.0.12" in rules
    assert f"tcp dport {fleet.ports['ns1']} drop" in rules
