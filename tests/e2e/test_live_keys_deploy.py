"""The signers' live keys reach the parent, the resolver and the user, end to end.

A site with a parent ``example.test`` and a child ``sub.example.test``, both
signed by a hidden primary (BIND; in a second test Knot), an NSD secondary
and an Unbound resolver of the site, all on 127.0.0.1 with ports of their
own. The first ``apply`` installs everything; once the servers run, the
next ``apply`` loads the zones, the signer makes their keys, and apply's
second round gives the parent the child's DS. Then: the parent's DS equals
what ``dnssec-dsfromkey`` (BIND) or ``keymgr`` (Knot) makes of the child's
key, ``zonesmith.keys`` holds the keys, a name of the child validates
through the resolver (AD), and ``zonesmith dnssec ds`` prints those DS.

"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdata
import dns.rdatatype
import pytest
from servers import (
    RunningServer,
    find_binary,
    free_port,
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
  res1: {{software: unbound, role: resolver, address: 127.0.0.1, port: {res1}, path: {srv}/res1}}
zones:
  example.test: {{dnssec: fast}}
"""
#: The child, added once the servers run: its keys exist only after the apply that adds it.
CHILD_ZONE = "  sub.example.test: {dnssec: fast}\n"
PARENT = "'@': NS ns2.example.test.\nns2: A 127.0.0.1\nsub: NS ns2.example.test.\n"
CHILD = "'@': NS ns2.example.test.\nwww: A 192.0.2.10\n"


def run(site: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The zonesmith command line, run in the site's folder."""
    return zonesmith(*args, cwd=site)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def do_query(name: str, rdtype: str, port: int, recursion: bool = False) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    if not recursion:
        query.flags &= ~dns.flags.RD
    return dns.query.tcp(query, ADDRESS, port=port, timeout=3.0)


def rdatas(response: dns.message.Message, rdtype: str) -> set[str]:
    wanted = dns.rdatatype.from_text(rdtype)
    return {r.to_text() for rrset in response.answer if rrset.rdtype == wanted for r in rrset}


class Fleet:
    def __init__(self, root: Path, software: str) -> None:
        self.root, self.software = root, software
        self.site, self.srv = root / "site", root / "srv"
        self.ports: dict[str, int] = {}
        for name in ("ns1", "ns2", "res1", "ctl"):
            port = free_port(ADDRESS)
            while port in self.ports.values():
                port = free_port(ADDRESS)
            self.ports[name] = port
        control = f", control-port: {self.ports['ctl']}" if software == "bind" else ""
        config = SITE.format(software=software, srv=self.srv, control=control, **self.ports)
        write_site(self.site, config, {"example.test.yaml": PARENT, "sub.example.test.yaml": CHILD})
        self.servers: list[RunningServer] = []

    def start(self) -> None:
        conf = {"bind": "named.conf", "knot": "knot.conf"}[self.software]
        starter = {"bind": start_named, "knot": start_knot}[self.software]
        for name, path, start in (
            ("ns1", self.srv / "ns1" / conf, starter),
            ("ns2", self.srv / "ns2/nsd.conf", start_nsd),
            ("res1", self.srv / "res1/unbound.conf", start_unbound),
        ):
            log = self.root / f"{name}.log"
            server = start(path, ADDRESS, self.ports[name], "example.test", log)
            server.start()
            self.servers.append(server)

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


@pytest.fixture(params=["bind", "knot"])
def fleet(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path, request.param)
    ok(run(fleet.site, "apply", "--yes"))  # nothing runs yet: the files are installed
    try:
        fleet.start()
        yield fleet
    finally:
        for server in fleet.servers:
            server.stop()
        if request.node.rep_call.failed if hasattr(request.node, "rep_call") else False:
            pass


def test_apply_gives_the_parent_the_childs_ds_and_the_resolver_validates(fleet: Fleet) -> None:
    config = fleet.site / "zonesmith.yaml"
    config.write_text(config.read_text() + CHILD_ZONE)
    applied = run(fleet.site, "apply", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "round 2: example.test gets the DS of sub.example.test" in applied.stdout
    expected = fleet.child_ksk_ds()
    assert expected
    # the parent carries the child's live DS, on the secondary too
    assert fleet.served_ds(fleet.ports["ns2"]) == expected
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
    deadline = time.monotonic() + WAIT
    while True:
        response = do_query("www.sub.example.test.", "A", fleet.ports["res1"], recursion=True)
        if response.flags & dns.flags.AD or time.monotonic() > deadline:
            break
        time.sleep(0.5)
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
