"""Deploying signed zones to live signers, end to end: plan, apply, verify, drift, keys, gates.

One site and four real servers on 127.0.0.1 with distinct ports, each run from
its own ``path`` in a temporary folder:

- b1, BIND, hidden primary: signs example.com (CSK) with ``inline-signing``,
  and serves example.org unsigned; n2, NSD, its secondary;
- k1, Knot, hidden primary: signs example.net (KSK+ZSK, NSEC3); b2, BIND, its
  secondary.

Nothing runs at the first deploy (a signed zone's first deploy: no gate, a
note); then the servers start from their paths, and each test goes on from
where the one before it left the fleet.
"""

from __future__ import annotations

import hashlib
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.zone
import pytest
from servers import (
    RunningServer,
    answers,
    free_ports,
    query,
    requires,
    soa_serial,
    start_knot,
    start_named,
    start_nsd,
)
from sites import ok as succeeded
from sites import write_site, zonesmith

from zonesmith.model import DEFAULT_VIEW

pytestmark = [
    pytest.mark.servers,
    requires("named", "nsd", "knotd", "rndc", "knotc", "keymgr"),
]

ADDRESS = "127.0.0.1"
WAIT = 20.0  # seconds a change may take to reach a server

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com, refresh: 1h, retry: 10}}
deploy:
  verify-timeout: 20s
dnssec-policies:
  csk: {{}}
  split: {{keys: ksk+zsk, nsec: nsec3, algorithm: {algorithm}}}
servers:
  b1: {{software: bind, role: primary, address: 127.0.0.1, port: {b1}, path: {srv}/b1,
        hidden: true, control-port: {ctl1}}}
  n2: {{software: nsd, role: secondary, address: 127.0.0.1, port: {n2}, path: {srv}/n2,
        primaries: [b1]}}
  k1: {{software: knot, role: primary, address: 127.0.0.1, port: {k1}, path: {srv}/k1,
        hidden: true}}
  b2: {{software: bind, role: secondary, address: 127.0.0.1, port: {b2}, path: {srv}/b2,
        primaries: [k1], control-port: {ctl2}}}
zones:
  example.com: {{servers: [b1, n2]{com}}}
  example.org: {{servers: [b1, n2]{org}}}
  example.net: {{servers: [k1, b2], dnssec: split}}
"""

RECORDS = "'@': NS ns2.example.com.\nns2: A 192.0.2.2\nwww: A 192.0.2.80\n"
SECONDARY = {"example.com": "n2", "example.org": "n2", "example.net": "b2"}
SIGNER = {"example.com": "b1", "example.org": "b1", "example.net": "k1"}


class Fleet:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = root / "site"
        self.srv = root / "srv"
        self.ports = free_ports(("b1", "n2", "k1", "b2", "ctl1", "ctl2"), ADDRESS)
        self.signed = {"example.com": "csk", "example.org": None}
        self.algorithm = "ECDSAP256SHA256"
        zones = {f"{zone}.yaml": RECORDS for zone in SIGNER}
        write_site(self.site, "", zones)
        self.write_config()
        self.servers: dict[str, RunningServer] = {}

    def write_config(self) -> None:
        def dnssec(zone: str) -> str:
            policy = self.signed[zone]
            return f", dnssec: {policy}" if policy else ""

        text = SITE.format(
            srv=self.srv,
            com=dnssec("example.com"),
            org=dnssec("example.org"),
            algorithm=self.algorithm,
            **self.ports,
        )
        (self.site / "zonesmith.yaml").write_text(text)

    def edit(self, zone: str, text: str) -> None:
        (self.site / "zones" / f"{zone}.yaml").write_text(text)

    def run(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return zonesmith(*args)

    def ask(self, server: str, name: str, rdtype: str) -> dns.message.Message:
        request = dns.message.make_query(name, rdtype, want_dnssec=True)
        request.flags &= ~dns.flags.RD
        return dns.query.tcp(request, ADDRESS, port=self.ports[server], timeout=2.0)

    def serial(self, server: str, zone: str) -> int | None:
        return soa_serial(zone, ADDRESS, self.ports[server])

    def signed_rrsets(self, server: str, name: str, rdtype: str) -> bool:
        """Whether ``server`` answers ``name`` ``rdtype`` with its RRSIG."""
        response = self.ask(server, name, rdtype)
        wanted = dns.rdatatype.from_text(rdtype)
        return any(
            rrset.rdtype == dns.rdatatype.RRSIG and rrset.covers == wanted
            for rrset in response.answer
        )

    def wait_until(self, what, why: str) -> None:
        deadline = time.monotonic() + WAIT
        while not what():
            assert time.monotonic() < deadline, why
            time.sleep(0.2)

    def start(self, name: str) -> RunningServer:
        path = self.srv / name
        log = self.root / f"{name}.log"
        port = self.ports[name]
        software = {"b1": start_named, "n2": start_nsd, "k1": start_knot, "b2": start_named}
        conf = {"b1": "named.conf", "n2": "nsd.conf", "k1": "knot.conf", "b2": "named.conf"}
        zone = "example.net" if name in ("k1", "b2") else "example.com"
        server = software[name](path / conf[name], ADDRESS, port, zone, log)
        server.start()
        self.servers[name] = server
        return server

    def files(self, *servers: str) -> dict[str, str]:
        """Every file a deploy installed on the servers (their manifests name them) -> a
        digest of its content, with the manifests and the release copies kept."""
        found = {}
        for server in servers:
            path = self.srv / server
            manifest = path / ".zonesmith/installed"
            found[str(manifest)] = manifest.read_text()
            releases = sorted(p.name for p in (path / ".zonesmith/releases").iterdir())
            found[f"{path} releases"] = " ".join(releases)
            for line in manifest.read_text().splitlines():
                relative = line.split("  ./", 1)[1]
                content = (path / relative).read_bytes()
                found[f"{path}/{relative}"] = hashlib.sha256(content).hexdigest()
        return found


def gated(fleet: Fleet, ack: str, *shown: str) -> None:
    """The plan shows each of ``shown`` (exit 2) and apply --yes is refused, naming ``ack``."""
    result = fleet.run("plan", fleet.site)
    assert result.returncode == 2, result.stdout + result.stderr
    for words in shown:
        assert words in result.stdout, result.stdout
    refused = fleet.run("apply", fleet.site, "--yes")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"pass --ack {ack}" in refused.stderr


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The output of a command that succeeded."""
    return succeeded(result).stdout


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("signed"))
    fleet.first_apply = ok(fleet.run("apply", fleet.site, "--yes"))  # type: ignore[attr-defined]
    try:
        for name in ("b1", "k1", "n2", "b2"):
            fleet.start(name)
        yield fleet
    finally:
        for server in fleet.servers.values():
            server.stop()


def test_a_first_deploy_of_signed_zones_notes_their_signers_without_a_gate(fleet: Fleet) -> None:
    shown = fleet.first_apply  # type: ignore[attr-defined]
    assert "dnssec: example.com is signed by b1 (ECDSAP256SHA256)" in shown
    assert "dnssec: example.net is signed by k1 (ECDSAP256SHA256)" in shown
    assert "gate dnssec" not in shown and "0 gate(s)" in shown
    for zone in ("example.com", "example.net"):
        signer, secondary = SIGNER[zone], SECONDARY[zone]
        fleet.wait_until(
            lambda s=signer, z=zone: fleet.signed_rrsets(s, z, "SOA"), f"{signer} signs {zone}"
        )
        fleet.wait_until(
            lambda z=zone, s=secondary: fleet.signed_rrsets(s, f"www.{z}", "A"),
            f"{secondary} serves {zone} signed",
        )


def test_a_plan_after_re_signing_has_nothing_to_do(fleet: Fleet) -> None:
    before = {zone: fleet.serial(SIGNER[zone], zone) for zone in ("example.com", "example.net")}
    plan_file = fleet.root / "plan.json"
    assert fleet.run("plan", fleet.site, "-o", plan_file).returncode == 0
    ok(zonesmith_control(fleet, "b1", "sign", "example.com"))
    ok(zonesmith_control(fleet, "k1", "zone-sign", "example.net."))
    for zone, serial in before.items():
        fleet.wait_until(
            lambda z=zone, s=serial: (fleet.serial(SIGNER[z], z) or 0) > (s or 0),
            f"{SIGNER[zone]} re-signs {zone} with a larger serial",
        )
    result = fleet.run("plan", fleet.site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing to do" in result.stdout
    # a re-signing does not make a plan file stale
    ok(fleet.run("apply", fleet.site, "--plan", plan_file, "--yes"))
    status = fleet.run("status", fleet.site)
    assert status.returncode == 0, status.stdout + status.stderr
    assert "drift" not in status.stdout


def zonesmith_control(fleet: Fleet, server: str, *arguments: str):
    """rndc or knotc on a signer (a re-signing raises its serial)."""
    path = fleet.srv / server
    if server == "k1":
        argv = ["knotc", "-s", str(path / "knot.sock"), "-b", *arguments]
    else:
        argv = ["rndc", "-c", str(path / "rndc.conf"), *arguments]
    return subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)


def test_a_restarted_knot_signer_serves_no_serial_below_what_its_secondary_holds(
    fleet: Fleet,
) -> None:
    zone, secondary = "example.net", SECONDARY["example.net"]
    zone_file = dns.zone.from_file(str(fleet.srv / "k1/zones/example.net.zone"), zone)
    installed = zone_file.get_soa().serial
    before = fleet.serial("k1", zone) or 0
    ok(zonesmith_control(fleet, "k1", "zone-sign", f"{zone}."))
    fleet.wait_until(
        lambda: (fleet.serial(secondary, zone) or 0) > before,
        f"{secondary} takes the re-signed {zone}",
    )
    held = fleet.serial(secondary, zone) or 0
    assert held > installed  # the zone file's serial is below what the secondary holds
    fleet.servers["k1"].stop()
    fleet.start("k1")
    served = fleet.serial("k1", zone) or 0
    assert served >= held and fleet.signed_rrsets("k1", zone, "SOA")
    # a reload of the unchanged zone file keeps the serial (no needless re-signing)
    ok(zonesmith_control(fleet, "k1", "zone-reload", "-f", f"{zone}."))
    assert fleet.serial("k1", zone) == served
    fleet.edit(zone, RECORDS + "restarted: A 192.0.2.98\n")
    shown = ok(fleet.run("apply", fleet.site, "--yes"))
    assert "Applied: every server serves the change." in shown, shown
    fleet.wait_until(
        lambda: (
            answers(query(f"restarted.{zone}", "A", ADDRESS, fleet.ports[secondary]))
            == ["192.0.2.98"]
        ),
        f"{secondary} serves restarted.{zone}",
    )
    assert fleet.signed_rrsets(secondary, f"restarted.{zone}", "A")
    assert (fleet.serial(secondary, zone) or 0) > served
    result = fleet.run("plan", fleet.site)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Nothing to do" in result.stdout


def test_a_record_change_is_applied_signed_and_reaches_the_secondaries(fleet: Fleet) -> None:
    signer_before = {
        zone: fleet.serial(SIGNER[zone], zone) for zone in ("example.com", "example.net")
    }
    for zone in ("example.com", "example.net"):
        fleet.edit(zone, RECORDS + "new: A 192.0.2.99\n")
    # a build first records the new content's serial in zonesmith.state: apply still
    # puts the serial above what the signers serve
    ok(fleet.run("build", fleet.site, "-o", fleet.root / "out"))
    shown = ok(fleet.run("apply", fleet.site, "--yes"))
    assert "+ new.example.com. 3600 IN A 192.0.2.99" in shown
    assert "Applied: every server serves the change." in shown, shown
    for zone in ("example.com", "example.net"):
        signer, secondary = SIGNER[zone], SECONDARY[zone]
        served = fleet.serial(signer, zone)
        assert served is not None and served > (signer_before[zone] or 0), shown
        # apply returned once the secondary served at least the signer's serial
        assert (fleet.serial(secondary, zone) or 0) >= served - 1
        fleet.wait_until(
            lambda s=secondary, z=zone: (
                answers(query(f"new.{z}", "A", ADDRESS, fleet.ports[s])) == ["192.0.2.99"]
            ),
            f"{secondary} serves new.{zone}",
        )
        assert fleet.signed_rrsets(signer, f"new.{zone}", "A")
        assert fleet.signed_rrsets(secondary, f"new.{zone}", "A")
    result = fleet.run("plan", fleet.site)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_hand_edit_of_the_unsigned_zone_file_is_drift(fleet: Fleet) -> None:
    zone_file = fleet.srv / "b1/zones/example.com.zone"
    original = zone_file.read_text()
    zone_file.write_text(original + "hand 3600 IN A 192.0.2.66\n")
    gated(fleet, "drift:example.com", "zone example.com: drift", "edited by hand")
    ok(fleet.run("apply", fleet.site, "--yes", "--ack", "drift:example.com"))
    assert "hand" not in zone_file.read_text()
    assert fleet.run("plan", fleet.site).returncode == 0


@pytest.mark.parametrize(
    ("zone", "store", "where"),
    [
        ("example.com", "b1/keys", "key directory"),
        ("example.net", "k1/kasp", "KASP database"),
    ],
)
def test_a_lost_key_store_stops_apply_before_anything_is_installed(
    fleet: Fleet, zone: str, store: str, where: str
) -> None:
    fleet.edit(zone, RECORDS + "new: A 192.0.2.99\nlater: A 192.0.2.100\n")
    keys = fleet.srv / store
    hidden = keys.with_name(keys.name + ".backup")
    keys.rename(hidden)
    before = fleet.files(SIGNER[zone], SECONDARY[zone])
    try:
        result = fleet.run("apply", fleet.site, "--yes")
        assert result.returncode == 1, result.stdout + result.stderr
        sentence = result.stderr
        assert f"{zone} was signed by {SIGNER[zone]} at the last deploy" in sentence
        assert f"{where} {keys}" in sentence
        assert "would make new keys" in sentence
        assert "restore the key folder from a backup" in sentence
        assert f"--ack dnssec:{zone}" in sentence
        assert "Traceback" not in sentence
        assert fleet.files(SIGNER[zone], SECONDARY[zone]) == before
    finally:
        if keys.exists():
            import shutil

            shutil.rmtree(keys)
        hidden.rename(keys)
    ok(fleet.run("apply", fleet.site, "--yes"))
    fleet.edit(zone, RECORDS + "new: A 192.0.2.99\n")
    ok(fleet.run("apply", fleet.site, "--yes"))


def test_verify_takes_a_signed_zone_and_refuses_one_served_unsigned(fleet: Fleet) -> None:
    from zonesmith.deploy.observe import Question
    from zonesmith.deploy.planner import make_plan, transfer_key
    from zonesmith.deploy.transport import close_all
    from zonesmith.deploy.verify import Expect, signed_primary_matches

    pool: dict = {}
    try:
        planned = make_plan(fleet.site, pool)
        entry = planned.build.servers["b1"]
        key = transfer_key(planned.build.site, entry.server, DEFAULT_VIEW, planned.secrets)
        assert key is not None
        found = {}
        for zone in ("example.com", "example.org"):
            output = entry.files[f"zones/{zone}.zone"]
            assert output.zone is not None
            question = Question(f"{DEFAULT_VIEW}/{zone}", zone)
            want = Expect("b1", ADDRESS, fleet.ports["b1"], question, output.zone.serial)
            found[zone] = signed_primary_matches(
                want,
                planned.targets["b1"],
                key,
                output.content,
                output.zone.origin,
                time.monotonic() + 1,
            )
    finally:
        close_all(pool)
    problem, served = found["example.com"]
    assert problem is None and served == fleet.serial("b1", "example.com")
    problem, served = found["example.org"]
    assert served is None
    assert problem == (
        "b1 serves example.org unsigned (no DNSKEY at its apex or no RRSIG over its SOA)"
    )


def test_signing_an_existing_zone_needs_the_dnssec_gate(fleet: Fleet) -> None:
    fleet.signed["example.org"] = "csk"
    fleet.write_config()
    gated(
        fleet,
        "dnssec:example.org",
        "gate dnssec: example.org becomes signed by b1",
        "add the parent's DS only after every secondary serves the signed zone",
    )
    assert not fleet.signed_rrsets("b1", "example.org", "SOA")
    shown = ok(fleet.run("apply", fleet.site, "--yes", "--ack", "dnssec:example.org"))
    assert "n2: verified" in shown
    # apply returned once the signer served it signed and the secondary took that
    assert fleet.signed_rrsets("b1", "example.org", "SOA")
    assert fleet.signed_rrsets("n2", "www.example.org", "A")
    assert fleet.serial("n2", "example.org") == fleet.serial("b1", "example.org")


def test_changing_the_algorithm_trips_the_gate_and_unsigning_passes_it_with_its_ack(
    fleet: Fleet,
) -> None:
    fleet.algorithm = "ECDSAP384SHA384"
    fleet.write_config()
    result = fleet.run("apply", fleet.site, "--yes")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "example.net changes algorithm on k1 from ECDSAP256SHA256 to ECDSAP384SHA384" in (
        result.stdout
    )
    assert "pass --ack dnssec:example.net" in result.stderr
    fleet.algorithm = "ECDSAP256SHA256"
    fleet.signed["example.org"] = None
    fleet.write_config()
    result = fleet.run("plan", fleet.site)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "gate dnssec: example.org stops being signed by b1: first remove its DS" in (
        result.stdout
    )
    assert "drift" not in result.stdout
    shown = ok(fleet.run("apply", fleet.site, "--yes", "--ack", "dnssec:example.org"))
    assert "n2: verified" in shown
    assert not fleet.signed_rrsets("b1", "www.example.org", "A")
    assert not fleet.signed_rrsets("n2", "www.example.org", "A")
    assert fleet.run("plan", fleet.site).returncode == 0


def test_a_rollback_that_signs_a_zone_again_needs_the_dnssec_gate(fleet: Fleet) -> None:
    """Undoing the unsigning above: the release copies sign example.org again, which the
    gate holds like any signing (the signing the rollback installs, not the site's)."""
    refused = fleet.run("rollback", fleet.site, "--yes")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "pass --ack dnssec:example.org" in refused.stderr
    assert not fleet.signed_rrsets("b1", "www.example.org", "A")  # nothing was done
    ok(fleet.run("rollback", fleet.site, "--yes", "--ack", "dnssec:example.org"))
    assert fleet.signed_rrsets("b1", "www.example.org", "A")
