"""The signers' live keys reach the parent, the resolver and the user, end to end.

A site with a parent ``example.test`` and a child ``sub.example.test``, both
signed by a hidden primary (BIND; for the second fleet Knot), an NSD and a
Knot secondary and an Unbound resolver of the site with the parent's trust
anchor, all on 127.0.0.1 with ports of their own. The first ``apply``
installs everything; once the servers run, the next ``apply`` loads the
zones, the signer makes their keys, and apply's second round gives the
parent the child's DS. Then, the tests going on from where the one before
left the fleet: the parent's DS on each secondary equals what
``dnssec-dsfromkey`` (BIND) or ``keymgr`` (Knot) makes of the child's key,
``zonesmith.keys`` holds the keys, a name of the child validates through the
resolver (AD), and ``zonesmith dnssec ds`` prints those DS; a rebuild and
apply leave the key tags as they were, and a record change reaches both
secondaries signed with the same keys; a signature made bad on the NSD
secondary is SERVFAIL through the resolver while intact names still
validate. (A deleted key store stopping apply, for both signers, is shown by
``test_deploy_signed.py``.)

"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.zone
import pytest
from servers import (
    RunningServer,
    find_binary,
    free_ports,
    requires,
    start_knot,
    start_named,
    start_nsd,
    start_unbound,
)
from sites import write_site, zonesmith

pytestmark = [
    pytest.mark.servers,
    requires("named", "nsd", "knotd", "unbound", "rndc", "nsd-control", "knotc", "dig"),
]

ADDRESS = "127.0.0.1"
WAIT = 30.0  # seconds for a signer's keys or a transfer to show

SITE = """\
defaults:
  ttl: 300
  soa: {{primary: ns1.example.test., contact: hostmaster@example.test, refresh: 1h, retry: 10}}
deploy:
  verify-timeout: 30s
dnssec-policies:
  fast: {{signature-validity: 30d, signature-refresh: 5d}}
servers:
  ns1: {{software: {software}, role: primary, address: 127.0.0.1, port: {ns1}, path: {srv}/ns1,
        hidden: true{control}}}
  ns2: {{software: nsd, role: secondary, address: 127.0.0.1, port: {ns2}, path: {srv}/ns2,
        primaries: [ns1]}}
  ns3: {{software: knot, role: secondary, address: 127.0.0.1, port: {ns3}, path: {srv}/ns3,
        primaries: [ns1]}}
  res1: {{software: unbound, role: resolver, address: 127.0.0.1, port: {res1}, path: {srv}/res1}}
zones:
  example.test: {{dnssec: fast}}
"""
#: The child, added once the servers run: its keys exist only after the apply that adds it.
CHILD_ZONE = "  sub.example.test: {dnssec: fast}\n"
NS = "'@': [NS ns2.example.test., NS ns3.example.test.]\n"
GLUE = "ns2: A 127.0.0.1\nns3: A 127.0.0.1\n"
PARENT = NS + GLUE + "sub: [NS ns2.example.test., NS ns3.example.test.]\n"
CHILD = NS + "www: A 192.0.2.10\nmail: A 192.0.2.11\n"
SECONDARIES = ("ns2", "ns3")


def run(site: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The zonesmith command line, run in the site's folder."""
    return zonesmith(*args, cwd=site)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def do_query(
    name: str, rdtype: str, port: int, recursion: bool = False, timeout: float = 3.0
) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    if not recursion:
        query.flags &= ~dns.flags.RD
    return dns.query.tcp(query, ADDRESS, port=port, timeout=timeout)


def signature(response: dns.message.Message, rdtype: str) -> tuple[int, bytes] | None:
    """The key tag and signature of the answer's RRSIG over ``rdtype``, if any."""
    covered = dns.rdatatype.from_text(rdtype)
    for rrset in response.answer:
        if rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == covered:
            return rrset[0].key_tag, rrset[0].signature
    return None


def wait_for(what: Callable[[], object], why: str) -> None:
    """Wait (bounded) until ``what()`` holds; a server reloading may drop a query meanwhile."""
    deadline = time.monotonic() + WAIT
    while True:
        try:
            if what():
                return
        except (OSError, EOFError, dns.exception.Timeout):
            pass  # NSD's reload replaces its serving processes, resetting their connections
        assert time.monotonic() < deadline, why
        time.sleep(0.3)


def rdatas(response: dns.message.Message, rdtype: str) -> set[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return {r.to_text() for rrset in response.answer if rrset.rdtype == wanted for r in rrset}


class Fleet:
    def __init__(self, root: Path, software: str) -> None:
        self.root, self.software = root, software
        self.site, self.srv = root / "site", root / "srv"
        self.ports = free_ports(("ns1", "ns2", "ns3", "res1", "ctl"), ADDRESS)
        control = f", control-port: {self.ports['ctl']}" if software == "bind" else ""
        config = SITE.format(software=software, srv=self.srv, control=control, **self.ports)
        write_site(self.site, config, {"example.test.yaml": PARENT, "sub.example.test.yaml": CHILD})
        self.servers: dict[str, RunningServer] = {}

    def start(self, name: str) -> None:
        """Start server ``name`` from its path."""
        software = {"ns1": self.software, "ns2": "nsd", "ns3": "knot", "res1": "unbound"}[name]
        conf, starter = {
            "bind": ("named.conf", start_named),
            "knot": ("knot.conf", start_knot),
            "nsd": ("nsd.conf", start_nsd),
            "unbound": ("unbound.conf", start_unbound),
        }[software]
        log = self.root / f"{name}.log"
        server = starter(self.srv / name / conf, ADDRESS, self.ports[name], "example.test", log)
        server.start()
        self.servers[name] = server

    def control(self, name: str, *arguments: str) -> str:
        """The output of nsd-control (ns2) or unbound-control (res1) on the server's socket."""
        tool, conf = {
            "ns2": ("nsd-control", "nsd.conf"),
            "res1": ("unbound-control", "unbound.conf"),
        }[name]
        done = subprocess.run(
            [find_binary(tool) or tool, "-c", str(self.srv / name / conf), *arguments],
            capture_output=True,
            text=True,
            timeout=WAIT,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def key_tags(self, server: str, zone: str) -> set[int]:
        """The key tags of the DNSKEY set ``server`` serves for ``zone``."""
        response = do_query(zone, "DNSKEY", self.ports[server])
        return {
            dns.dnssec.key_id(key)
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.DNSKEY
            for key in rrset
        }

    def resolve(self, name: str) -> dns.message.Message:
        """``name`` A through the resolver: validated (AD) once it can be (bounded)."""
        deadline = time.monotonic() + WAIT
        while True:
            response = do_query(name, "A", self.ports["res1"], recursion=True)
            if response.flags & dns.flags.AD or time.monotonic() > deadline:
                return response
            time.sleep(0.5)

    def served_ds(self, port: int) -> set[str]:
        """The DS set of sub.example.test. a server answers, once it has one (bounded)."""
        deadline = time.monotonic() + WAIT
        while True:
            found = rdatas(do_query("sub.example.test.", "DS", port), "DS")
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.3)

    def child_ksk_ds(self) -> set[str]:
        """What the signer's own tool makes of the child's SEP key: DS, SHA-256."""
        if self.software == "bind":
            keys = self.srv / "ns1/keys"
            files = [p for p in keys.glob("Ksub.example.test.+*.key")]
            lines = []
            for key_file in files:
                if " 257 " not in key_file.read_text():
                    continue
                done = subprocess.run(
                    [find_binary("dnssec-dsfromkey") or "dnssec-dsfromkey", "-2", str(key_file)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                lines += done.stdout.splitlines()
                key_lines = [
                    line for line in key_file.read_text().splitlines() if " DNSKEY " in line
                ]
                self.key_rdata = key_lines[0].split(" DNSKEY ")[1]
        else:
            done = subprocess.run(
                [
                    find_binary("keymgr") or "keymgr",
                    "-c",
                    str(self.srv / "ns1/knot.conf"),
                    "sub.example.test.",
                    "ds",
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            lines = done.stdout.splitlines()
        self.tool_lines = lines
        found = set()
        for line in lines:
            fields = line.split()
            rdata = " ".join(fields[fields.index("DS") + 1 :])
            ds = dns.rdata.from_text("IN", "DS", rdata)
            if ds.digest_type == 2:
                found.add(ds.to_text())
        return found


@pytest.fixture(scope="module", params=["bind", "knot"])
def fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Fleet]:
    """One fleet per signer software, shared by the tests below in their order."""
    fleet = Fleet(tmp_path_factory.mktemp(f"live-keys-{request.param}"), request.param)
    ok(run(fleet.site, "apply", "--yes"))  # nothing runs yet: the files are installed
    try:
        for name in ("ns1", "ns2", "ns3", "res1"):
            fleet.start(name)
        yield fleet
    finally:
        for server in fleet.servers.values():
            server.stop()


def test_apply_gives_the_parent_the_childs_ds_and_the_resolver_validates(fleet: Fleet) -> None:
    config = fleet.site / "zonesmith.yaml"
    config.write_text(config.read_text() + CHILD_ZONE)
    applied = run(fleet.site, "apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "round 2: example.test gets the DS of sub.example.test" in applied.stdout
    expected = fleet.child_ksk_ds()
    assert expected
    # the parent carries the child's live DS, on each secondary
    for secondary in SECONDARIES:
        assert fleet.served_ds(fleet.ports[secondary]) == expected, secondary
    # the key state holds the child's keys: the DS of its SEP key is what the signer's tool made
    state = json.loads((fleet.site / "zonesmith.keys").read_text())["keys"]
    name = dns.name.from_text("sub.example.test.")
    recorded = {
        dns.dnssec.make_ds(name, dns.rdata.from_text("IN", "DNSKEY", text), "SHA256").to_text()
        for text in state["sub.example.test"]["default"]
        if text.startswith("257 ")
    }
    assert recorded == expected
    # the resolver validates a name of the child (AD), through the parent's trust anchor
    conf = (fleet.srv / "res1/unbound.conf").read_text()
    assert 'trust-anchor: "example.test. DS ' in conf
    assert "sub.example.test" not in "".join(
        line for line in conf.splitlines() if "domain-insecure" in line or "trust-anchor" in line
    )
    response = fleet.resolve("www.sub.example.test.")
    assert response.flags & dns.flags.AD, response.to_text()
    assert rdatas(response, "A") == {"192.0.2.10"}
    # dnssec ds prints the child's DS as the signer's own tool does
    printed = ok(run(fleet.site, "dnssec", "ds", "sub.example.test"))
    ds_lines = [line for line in printed.splitlines() if " IN DS " in line]
    assert {
        dns.rdata.from_text("IN", "DS", line.split(" IN DS ")[1]).to_text() for line in ds_lines
    } == expected
    assert all(line.startswith("sub.example.test. IN ") for line in printed.splitlines())
    assert any(" IN DNSKEY 257 " in line for line in printed.splitlines())
    if fleet.software == "bind":  # the very lines of dnssec-dsfromkey -2, and the key file's key
        assert ds_lines == fleet.tool_lines
        key = dns.rdata.from_text("IN", "DNSKEY", fleet.key_rdata).to_text(chunksize=0)
        assert f"sub.example.test. IN DNSKEY {key}" in printed.splitlines()
    # --digest sha384 and --json: the same keys, another digest
    report = json.loads(
        ok(run(fleet.site, "dnssec", "ds", "sub.example.test", "--digest", "sha384", "--json"))
    )
    [zone] = report["zones"]
    sha384 = {
        dns.dnssec.make_ds(name, dns.rdata.from_text("IN", "DNSKEY", text), "SHA384").to_text()
        for text in state["sub.example.test"]["default"]
        if text.startswith("257 ")
    }
    assert report["ok"] and zone["signer"] == "ns1"
    assert {
        dns.rdata.from_text("IN", "DS", line.split(" IN DS ")[1]).to_text() for line in zone["ds"]
    } == sha384


ZONES = ("example.test.", "sub.example.test.")


def test_a_rebuild_and_apply_keep_the_keys_and_a_change_reaches_both_secondaries_signed(
    fleet: Fleet,
) -> None:
    before = {zone: fleet.key_tags("ns1", zone) for zone in ZONES}
    assert all(before.values()), before
    ok(run(fleet.site, "build", "-o", fleet.root / "rebuilt"))
    assert "Nothing to do" in ok(run(fleet.site, "apply", "--yes"))
    assert {zone: fleet.key_tags("ns1", zone) for zone in ZONES} == before
    (fleet.site / "zones/sub.example.test.yaml").write_text(CHILD + "new: A 192.0.2.12\n")
    applied = ok(run(fleet.site, "apply", "--yes"))
    assert "sub.example.test" in applied
    for server in ("ns1", *SECONDARIES):
        # the new name is served signed, by a key the zone had before the change
        wait_for(
            lambda server=server: signature(
                do_query("new.sub.example.test.", "A", fleet.ports[server]), "A"
            ),
            f"{server} serves new.sub.example.test. A signed",
        )
        response = do_query("new.sub.example.test.", "A", fleet.ports[server])
        assert rdatas(response, "A") == {"192.0.2.12"}, server
        tag, _ = signature(response, "A") or (None, b"")
        assert tag in before["sub.example.test."], server
        assert {zone: fleet.key_tags(server, zone) for zone in ZONES} == before, server
    assert fleet.resolve("new.sub.example.test.").flags & dns.flags.AD


def test_a_bad_signature_on_one_secondary_is_servfail_through_the_resolver(fleet: Fleet) -> None:
    # On a bogus answer Unbound asks the zone's other servers for a good copy
    # (its list of servers that gave a bogus answer compares addresses without
    # ports, so here, all on 127.0.0.1, it would skip the Knot secondary too).
    # With the Knot secondary out of the resolver's stub zones, the NSD
    # secondary's bad copy is the only one to be had, whatever Unbound's retries
    # do (with the Knot secondary stopped instead, Unbound at times left the
    # query unanswered).
    conf = fleet.srv / "res1/unbound.conf"
    installed = conf.read_text()
    knot = f"    stub-addr: {ADDRESS}@{fleet.ports['ns3']}\n"
    assert installed.count(knot) == 2  # the parent's and the child's stub zone
    conf.write_text(installed.replace(knot, ""))
    fleet.control("res1", "reload")  # a reload empties the cache too
    try:
        zone_file = fleet.srv / "ns2/secondary/sub.example.test.zone"
        zone_file.unlink(missing_ok=True)
        fleet.control("ns2", "write", "sub.example.test")  # the zone as NSD serves it
        wait_for(lambda: zone_file.exists() and zone_file.stat().st_size, "NSD writes the zone")
        zone = dns.zone.from_file(str(zone_file), origin="sub.example.test.", relativize=False)
        rdataset = zone.find_rdataset("www.sub.example.test.", dns.rdatatype.RRSIG, dns.rdatatype.A)
        [good] = rdataset
        bad = good.replace(
            signature=bytes(b ^ 0xFF for b in good.signature[:8]) + good.signature[8:]
        )
        rdataset.clear()
        rdataset.add(bad)
        zone.to_file(str(zone_file), relativize=False)
        # NSD reloads a file whose mtime changed: make sure it differs from its own write's
        later = zone_file.stat().st_mtime + 2
        os.utime(zone_file, (later, later))
        fleet.control("ns2", "reload", "sub.example.test")
        wait_for(
            lambda: (
                signature(do_query("www.sub.example.test.", "A", fleet.ports["ns2"]), "A")
                == (bad.key_tag, bad.signature)
            ),
            "NSD serves the bad signature",
        )
        fleet.control("res1", "flush_zone", "sub.example.test")
        fleet.control("res1", "flush_bogus")
        response = do_query("www.sub.example.test.", "A", fleet.ports["res1"], True, timeout=20.0)
        assert response.rcode() == dns.rcode.SERVFAIL, response.to_text()
        # a name whose signature is intact, on the same server, still validates
        fleet.control("res1", "flush_zone", "sub.example.test")
        response = fleet.resolve("mail.sub.example.test.")
        assert response.flags & dns.flags.AD, response.to_text()
        assert rdatas(response, "A") == {"192.0.2.11"}
    finally:
        conf.write_text(installed)
        fleet.control("res1", "reload")
