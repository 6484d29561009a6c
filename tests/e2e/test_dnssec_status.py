"""`status` of signed zones on real signers: keys, next signature expiry per server, parent DS.

One site, one build, servers shared by the module's tests, all on 127.0.0.1:

- b1, BIND 9, signs example.com (a CSK) and serves plain.org unsigned;
- k1, Knot, signs sub.example.com (KSK and ZSK, a child of example.com) and
  example.net (a CSK whose signatures are valid for 3h, refreshed at 100m);
- n1, NSD, a secondary of all four zones (it admits no transfer from its own
  host: its signatures are read by DNSSEC queries).

The first `apply` installs every server's files while nothing runs; the
servers then start from their paths, and the DS test deploys the parent's
change with `apply`. A red state is shown without waiting: the
site's policy is changed after the servers signed (a refresh larger than
the time left, an unsigned zone that the site says is signed), or the time
status judges at is moved past the expiry.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdataset
import dns.rdatatype
import dns.zone
import pytest
from click.testing import CliRunner
from servers import free_ports, requires, start_knot, start_named, start_nsd
from sites import write_site, zonesmith
from test_deploy_lone_primary import host_with

from zonesmith.cli import cli
from zonesmith.deploy.build import build_for_deploy, checked_site
from zonesmith.deploy.dnssec_status import (
    APEX_TYPES,
    SignedZone,
    ask,
    ask_argv,
    dig_rrsets,
    signed_zones,
)
from zonesmith.deploy.install import Target
from zonesmith.deploy.planner import observe_fleet, target_for
from zonesmith.deploy.status import full_status
from zonesmith.deploy.transport import Transport, close_all, transport_for
from zonesmith.pipeline import read_secrets
from zonesmith.site.control_secrets import read_control_secrets

pytestmark = [pytest.mark.servers, requires("named", "knotd", "nsd", "rndc", "keymgr")]

WAIT = 30.0  # seconds for a signer to sign and the secondary to transfer

CONFIG = """\
defaults:
  ttl: 5m
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com, refresh: 1h,
        retry: 10, expire: 1h, negative-ttl: 5m}}
dnssec-policies:
  csk: {{}}
  split: {{keys: ksk+zsk}}
  short: {{signature-validity: {validity}, signature-refresh: {refresh}}}
servers:
  b1: {{software: bind, role: primary, address: 127.0.0.1, port: {b1}, path: {out}/b1,
       {host}control-port: {ctl}}}
  k1: {{software: knot, role: primary, address: 127.0.0.1, port: {k1}, path: {out}/k1,
       {host}}}
  n1: {{software: nsd, role: secondary, address: 127.0.0.1, port: {n1}, path: {out}/n1,
       {host}primaries: [b1, k1]}}
zones:
  example.com: {{dnssec: csk, servers: [b1, n1]}}
  plain.org: {{{plain}servers: [b1, n1]}}
  sub.example.com: {{dnssec: split, servers: [k1, n1]}}
  example.net: {{dnssec: short, servers: [k1, n1]}}
"""
NS = "'@': NS ns1.example.com.\n"
PARENT = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\nns1.sub: A 192.0.2.5\nsub: [{child}]\n"
CHILD = "'@': NS ns1.sub.example.com.\nns1: A 192.0.2.5\nwww: A 192.0.2.10\n"
#: A DS no key of the child has.
BOGUS_DS = "DS 11111 13 2 " + "ab" * 32


def do_query(name: str, rdtype: str, port: int) -> dns.message.Message:
    query = dns.message.make_query(name, rdtype, want_dnssec=True)
    query.flags &= ~dns.flags.RD
    return dns.query.tcp(query, "127.0.0.1", port=port, timeout=2.0)


def signed_answer(name: str, rdtype: str, port: int) -> dns.message.Message:
    """The DO answer once it carries an RRSIG (bounded: signing and transfers take a moment)."""
    deadline = time.monotonic() + WAIT
    while True:
        response = do_query(name, rdtype, port)
        rrsigs = [r for r in response.answer if r.rdtype == dns.rdatatype.RRSIG]
        if rrsigs or time.monotonic() > deadline:
            return response
        time.sleep(0.3)


class Fleet:
    """The site and its servers' files; ``host``: every server's ``host:`` (an ssh:// URL
    reached with ``env``'s ZONESMITH_SSH_OPTIONS), or none for this machine."""

    def __init__(self, root: Path, host: str | None = None, env: dict | None = None) -> None:
        self.host, self.env = host, env
        self.out = root / "out"
        self.ports = free_ports(("b1", "k1", "n1", "ctl"))
        self.site = write_site(root / "site", "defaults: {}\n")
        self.configure()
        self.zones(BOGUS_DS)
        self.apply()  # nothing runs yet: the files are installed at each server's path

    def apply(self) -> None:
        result = zonesmith("apply", self.site, "--yes", env=self.env)
        assert result.returncode == 0, result.stdout + result.stderr

    def configure(self, validity: str = "3h", refresh: str = "100m", plain: str = "") -> None:
        """zonesmith.yaml, with the short policy's durations and plain.org's dnssec."""
        host = f'host: "{self.host}", ' if self.host else ""
        text = CONFIG.format(
            out=self.out, validity=validity, refresh=refresh, plain=plain, host=host, **self.ports
        )
        (self.site / "zonesmith.yaml").write_text(text)

    def zones(self, child_ds: str) -> None:
        zones = self.site / "zones"
        zones.mkdir(exist_ok=True)
        (zones / "example.com.yaml").write_text(
            PARENT.format(child=f"NS ns1.sub.example.com., {child_ds}")
        )
        (zones / "sub.example.com.yaml").write_text(CHILD)
        (zones / "example.net.yaml").write_text(NS)
        (zones / "plain.org.yaml").write_text(NS)


def signed(site: Path, now: float | None = None) -> dict[str, SignedZone]:
    """The signed zones as status sees them, at ``now``."""
    checked = checked_site(site)
    secrets = read_secrets(checked) | read_control_secrets(checked)
    build = build_for_deploy(checked)
    pool: dict[str, Transport] = {}
    try:
        targets = {n: target_for(e.server, pool, 3) for n, e in build.servers.items()}
        observed = observe_fleet(build, targets, secrets)
        return {z.zone: z for z in signed_zones(build, targets, secrets, observed, now=now)}
    finally:
        close_all(pool)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("dnssec-status"))
    with ExitStack() as stack:
        start_fleet(fleet, stack)
        yield fleet


def start_fleet(fleet: Fleet, stack: ExitStack) -> None:
    """Start the fleet's servers from their installed files (stopped when ``stack`` closes),
    and wait until the signers signed and the secondary serves every signed zone."""
    ports, out = fleet.ports, fleet.out
    stack.enter_context(start_named(out / "b1/named.conf", "127.0.0.1", ports["b1"], "example.com"))
    stack.enter_context(
        start_knot(out / "k1/knot.conf", "127.0.0.1", ports["k1"], "sub.example.com")
    )
    for zone in ("example.com", "sub.example.com", "example.net"):
        signer = ports["b1"] if zone == "example.com" else ports["k1"]
        assert signed_answer(zone, "DNSKEY", signer).answer, f"{zone} is not signed"
    stack.enter_context(start_nsd(out / "n1/nsd.conf", "127.0.0.1", ports["n1"], "plain.org"))
    for zone in ("example.com", "sub.example.com", "example.net"):
        response = signed_answer(zone, "DNSKEY", ports["n1"])
        assert response.answer, f"n1 does not serve {zone} signed"


def served_keys(zone: str, port: int) -> dict[int, int]:
    """key tag -> flags of the DNSKEY set ``zone`` serves."""
    response = do_query(zone, "DNSKEY", port)
    return {
        dns.dnssec.key_id(key): key.flags
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.DNSKEY
        for key in rrset
    }


def test_keys_and_their_states_as_the_signers_tell_them(fleet: Fleet) -> None:
    zones = signed(fleet.site)
    assert set(zones) == {"example.com", "sub.example.com", "example.net"}
    bind_zone, knot_zone = zones["example.com"], zones["sub.example.com"]
    assert bind_zone.signer == "b1" and knot_zone.signer == "k1"
    # The keys status lists are the keys the signers serve.
    assert {k.tag for k in bind_zone.keys} == set(served_keys("example.com", fleet.ports["b1"]))
    live = served_keys("sub.example.com", fleet.ports["k1"])
    assert {k.tag: k.role for k in knot_zone.keys} == {
        tag: "KSK" if flags & 1 else "ZSK" for tag, flags in live.items()
    }
    [csk] = bind_zone.keys
    assert (csk.role, csk.algorithm) == ("CSK", "ECDSAP256SHA256")
    assert "zone signing" in csk.state and "key signing" in csk.state
    zsk = next(k for k in knot_zone.keys if k.role == "ZSK")
    assert zsk.state == "active"
    assert bind_zone.keys_error is None and knot_zone.keys_error is None


def settled(fleet: Fleet) -> dict[str, SignedZone]:
    """The signed zones once every server's expiry could be read (bounded: a secondary
    may still be transferring the zone its signer just signed)."""
    deadline = time.monotonic() + WAIT
    while True:
        zones = signed(fleet.site)
        unread = [e for z in zones.values() for e in z.servers if e.state == "unknown"]
        if not unread or time.monotonic() > deadline:
            return zones
        time.sleep(0.5)


def test_next_expiry_on_every_server_and_ok_while_far(fleet: Fleet) -> None:
    zones = settled(fleet)
    for zone in zones.values():
        by_server = {e.server: e for e in zone.servers}
        assert set(by_server) == {zone.signer, "n1"}
        assert by_server[zone.signer].read_by == "axfr"
        assert by_server["n1"].read_by == "query"
        for expiry in zone.servers:
            assert expiry.state == "ok", expiry
            assert expiry.left is not None and expiry.left > zone.refresh
    # example.net's signatures live 3h: the next expiry is under 3h away everywhere.
    for expiry in zones["example.net"].servers:
        assert expiry.left is not None and 2 * 3600 < expiry.left <= 3 * 3600
    # The earliest RRSIG in the signer's whole zone is no later than the apex's on n1.
    short = {e.server: e for e in zones["example.net"].servers}
    assert short["k1"].expires is not None and short["n1"].expires is not None
    assert short["k1"].expires <= short["n1"].expires


def test_red_when_the_refresh_is_larger_than_the_time_left(fleet: Fleet) -> None:
    # The servers signed with 3h / 100m; the site now refreshes 4h ahead of expiry.
    fleet.configure(validity="6h", refresh="4h")
    try:
        zones = signed(fleet.site)
        runner = CliRunner()
        shown = runner.invoke(cli, ["status", str(fleet.site)])
        as_json = runner.invoke(cli, ["status", str(fleet.site), "--json"])
    finally:
        fleet.configure()
    assert {e.state for e in zones["example.net"].servers} == {"signatures expiring"}
    assert all(e.state == "ok" for e in zones["example.com"].servers)
    assert shown.exit_code == 1
    assert "not ok: example.net on k1: signatures expiring" in shown.output
    assert "not ok: example.net on n1: signatures expiring" in shown.output
    assert "not ok: plain.org" not in shown.output
    assert "not ok: example.com" not in shown.output  # a signer serial above the build is ok
    assert "example.net: signed by k1 (policy short, signature-refresh 4h)" in shown.output
    report = json.loads(as_json.output)
    assert report["ok"] is False
    short = next(z for z in report["signed"] if z["zone"] == "example.net")
    assert {s["state"] for s in short["servers"]} == {"signatures expiring"}
    assert {s["read_by"] for s in short["servers"]} == {"axfr", "query"}


def test_expired_once_the_time_passes_the_expiry(fleet: Fleet) -> None:
    later = time.time() + 3 * 3600 + 60
    zones = signed(fleet.site, now=later)
    assert {e.state for e in zones["example.net"].servers} == {"signatures expired"}
    assert all(e.left is not None and e.left < 0 for e in zones["example.net"].servers)
    assert zones["example.net"].state_on("n1") == "signatures expired"
    assert {e.state for e in zones["example.com"].servers} == {"ok"}


def test_a_zone_the_site_signs_but_the_servers_serve_unsigned(fleet: Fleet) -> None:
    fleet.configure(plain="dnssec: csk, ")
    try:
        zones = signed(fleet.site)
    finally:
        fleet.configure()
    assert {e.server: e.state for e in zones["plain.org"].servers} == {
        "b1": "not signed",
        "n1": "not signed",
    }
    assert zones["plain.org"].keys == ()


def test_parent_ds_in_the_site_mismatch_then_match(fleet: Fleet) -> None:
    child = signed(fleet.site)["sub.example.com"]
    live = served_keys("sub.example.com", fleet.ports["k1"])
    assert child.ds.state == "ds mismatch"
    assert child.ds.parent == "example.com"
    assert child.ds.ds_tags == (11111,)
    assert child.ds.key_tags == tuple(sorted(t for t, f in live.items() if f & 1))
    assert child.state_on("k1") == "ds mismatch"
    # The parent's own parent is not in the site: not asked without --online.
    assert signed(fleet.site)["example.com"].ds.state == "not checked"

    # An apply reads the child's live keys: the parent gets their DS, whatever the
    # site wrote by hand for it.
    response = do_query("sub.example.com", "DNSKEY", fleet.ports["k1"])
    ksk = next(
        key
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.DNSKEY
        for key in rrset
        if key.flags & 1
    )
    fleet.apply()
    child = ds_state(fleet, "match")
    assert child.ds.state == "match"
    assert child.ds.ds_tags == (dns.dnssec.key_id(ksk),)
    assert child.state_on("k1") is None

    # The parent's zone edited by hand on its signer, a bogus DS in it: a mismatch.
    hand_edit_parent(fleet, BOGUS_DS)
    assert ds_state(fleet, "ds mismatch").ds.state == "ds mismatch"


def hand_edit_parent(fleet: Fleet, ds: str) -> None:
    """Put ``ds`` in place of the child's DS in b1's zone file, and make named load it."""
    path = fleet.out / "b1/zones/example.com.zone"
    zone = dns.zone.from_file(str(path), "example.com.", relativize=False)
    soa = zone.find_rdataset("example.com.", "SOA")
    soa.add(soa[0].replace(serial=soa[0].serial + 1000), soa.ttl)
    child = zone.find_node("sub.example.com.")
    child.replace_rdataset(dns.rdataset.from_text("IN", "DS", 300, ds.removeprefix("DS ")))
    zone.to_file(str(path), relativize=False)
    rndc = ["rndc", "-c", str(fleet.out / "b1/rndc.conf"), "reload", "example.com"]
    subprocess.run(rndc, check=True, capture_output=True, timeout=30)


def ds_state(fleet: Fleet, state: str) -> SignedZone:
    """sub.example.com's status once its DS check is ``state`` (bounded: the signer signs
    the reloaded parent a moment after the reload)."""
    deadline = time.monotonic() + WAIT
    while True:
        child = signed(fleet.site)["sub.example.com"]
        if child.ds.state == state or time.monotonic() > deadline:
            return child
        time.sleep(0.5)


def test_status_rows_of_a_signed_zone_turn_red(fleet: Fleet) -> None:
    found = full_status(fleet.site, {})
    rows = {(row.zone, row.server): row.state for row in found.zones}
    assert rows[("sub.example.com", "k1")] == "ds mismatch"  # the parent's DS is a bogus one
    assert rows[("example.net", "n1")] == "ok"
    assert rows[("plain.org", "n1")] == "ok"


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_dig_or_kdig_on_a_servers_host_reads_what_a_query_from_here_reads(
    fleet: Fleet, tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Status asks a secondary on an SSH host with dig or kdig, whichever the host has:
    the same RRsets and RRSIGs as a query from here."""
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")
    name = dns.name.from_text("example.net")
    types = APEX_TYPES
    here = Target(transport_for(None, {}), "n1", str(fleet.out / "n1"))
    asked = ask(here, "127.0.0.1", fleet.ports["n1"], name, types)
    host_with(tmp_path, monkeypatch, tool)
    printed = subprocess.run(
        ask_argv(str(fleet.out / "n1"), "127.0.0.1", fleet.ports["n1"], name, types),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert printed.returncode == 0, printed.stderr
    on_host = dig_rrsets(printed.stdout)
    assert sorted(r.to_text() for r in on_host) == sorted(r.to_text() for r in asked)
    covered = {r.covers for r in on_host if r.rdtype == dns.rdatatype.RRSIG}
    assert {dns.rdatatype.SOA, dns.rdatatype.DNSKEY, dns.rdatatype.NSEC} <= covered
