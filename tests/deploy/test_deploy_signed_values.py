"""Signed zones in a deploy, without servers: the dnssec gate and its safe order, the plan
file, what a signer adds that verify sets apart, and each driver's key store test run on
real key stores made by the servers' own key tools."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import dns.zone
import pytest
from servers import find_binary
from sites import write_site

from zonesmith.deploy.apply import keys_gone
from zonesmith.deploy.build import build_for_deploy, checked_site
from zonesmith.deploy.diff import without_dnssec, zone_rrsets
from zonesmith.deploy.gates import gates_of
from zonesmith.deploy.install import Target
from zonesmith.deploy.plan import Plan, ServerPlan, Signing
from zonesmith.deploy.verify import is_signed
from zonesmith.drivers import driver_for
from zonesmith.model import DEFAULT_VIEW
from zonesmith.pipeline import server_builds


def server_plan(*signed: Signing) -> ServerPlan:
    return ServerPlan("ns1", "bind", "primary", "local", "/srv/ns1", "f", signed=signed)


@pytest.mark.parametrize(
    ("signing", "words"),
    [
        (
            Signing("example.org", DEFAULT_VIEW, None, "ECDSAP256SHA256"),
            "example.org becomes signed by ns1 (ECDSAP256SHA256): ns1 publishes its keys and "
            "signs first; add the parent's DS only after every secondary serves the signed zone",
        ),
        (
            Signing("example.org", DEFAULT_VIEW, "ECDSAP256SHA256", None),
            "example.org stops being signed by ns1: first remove its DS at the parent and wait "
            "the DS TTL, then unsign",
        ),
        (
            Signing("example.org", DEFAULT_VIEW, "RSASHA256", "ECDSAP256SHA256"),
            "example.org changes algorithm on ns1 from RSASHA256 to ECDSAP256SHA256: ns1 rolls "
            "to the new algorithm; replace the parent's DS once the new key is active",
        ),
    ],
)
def test_signing_unsigning_or_a_new_algorithm_trips_the_dnssec_gate(
    signing: Signing, words: str
) -> None:
    [gate] = gates_of([server_plan(signing)], 0.3)
    assert (gate.gate, gate.zone, gate.ack) == ("dnssec", "example.org", "dnssec:example.org")
    assert gate.why.startswith(words)


def test_a_zone_signed_from_its_first_deploy_or_unchanged_trips_no_gate() -> None:
    first = Signing("example.com", DEFAULT_VIEW, None, "ECDSAP256SHA256", first=True)
    same = Signing("example.net", DEFAULT_VIEW, "ECDSAP256SHA256", "ECDSAP256SHA256")
    assert gates_of([server_plan(first, same)], 0.3) == ()
    assert not first.keys_kept and same.keys_kept


def test_a_signed_zone_moving_to_another_signer_is_one_gate_that_says_how() -> None:
    left = Signing("example.org", DEFAULT_VIEW, "ECDSAP256SHA256", None)
    taken = Signing("example.org", DEFAULT_VIEW, None, "ECDSAP256SHA256", first=True)
    old = server_plan(left)
    new = replace(server_plan(taken), server="ns9", software="knot")
    [gate] = gates_of([old, new], 0.3)
    assert (gate.gate, gate.ack, gate.server) == ("dnssec", "dnssec:example.org", "ns9")
    assert gate.why.startswith(
        "the signer of example.org moves from ns1 to ns9 (ECDSAP256SHA256): ns9 makes new keys"
    )
    assert "copy ns1's key files into ns9's key folder" in gate.why
    # the same zone signed for the first time with nobody signing it before: no gate
    assert gates_of([new], 0.3) == ()


def test_a_plan_file_keeps_what_each_server_signs(tmp_path: Path) -> None:
    signing = Signing("example.org", DEFAULT_VIEW, None, "ECDSAP256SHA256")
    plan = Plan("site", "digest", (server_plan(signing),), gates_of([server_plan(signing)], 0.3))
    plan.write(tmp_path / "plan.json")
    assert Plan.read(tmp_path / "plan.json") == plan


SIGNED_ZONE = """\
$ORIGIN example.com.
@ 3600 IN SOA ns1 hostmaster 2026120507 3600 600 1209600 3600
@ 3600 IN NS ns1
@ 3600 IN DNSKEY 257 3 13 ( mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+
    KkxLbxILfDLUT0rAK9iUzy1L53eKGQ== )
@ 3600 IN NSEC3PARAM 1 0 0 -
@ 3600 IN CDS 12345 13 2 49FD46E6C4B45C55D4AC69CBD3CD34AC1AFE51DE0D1C8C0E3A4A8E0C7A8F5F3B
@ 3600 IN TYPE65534 \\# 5 0D30390001
@ 3600 IN RRSIG SOA 13 2 3600 20270101000000 20261201000000 12345 example.com. dGVzdA==
ns1 3600 IN A 192.0.2.1
ns1 3600 IN NSEC www NS RRSIG NSEC
"""


def test_what_a_signer_adds_is_set_apart_and_the_zone_is_known_signed() -> None:
    zone = dns.zone.from_text(SIGNED_ZONE, relativize=False)
    kept = without_dnssec(zone_rrsets(zone))
    assert {(owner, rdtype) for owner, rdtype in kept} == {
        ("example.com.", 6),
        ("example.com.", 2),
        ("ns1.example.com.", 1),
    }
    assert is_signed(zone)
    unsigned = "\n".join(line for line in SIGNED_ZONE.splitlines() if "RRSIG" not in line)
    assert not is_signed(dns.zone.from_text(unsigned + "\n", relativize=False))


SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
dnssec-policies:
  csk: {{}}
servers:
  b1: {{software: bind, role: primary, address: 127.0.0.1, port: 5301, path: {path}/b1}}
  k1: {{software: knot, role: primary, address: 127.0.0.1, port: 5302, path: {path}/k1}}
zones:
  example.com: {{dnssec: csk, servers: [b1]}}
  example.net: {{dnssec: csk, servers: [k1]}}
"""


def key_check(tmp_path: Path, server: str, zone: str, algorithm: str) -> int:
    """The exit code of the driver's key store test for ``zone``, run as a deploy runs it."""
    records = {f"{z}.yaml": "'@': NS ns1.example.org.\n" for z in ("example.com", "example.net")}
    root = write_site(tmp_path / "site", SITE.format(path=tmp_path / "srv"), records)
    build = server_builds(checked_site(root))[server]
    driver = driver_for(build.server.software)
    assert driver is not None
    command = driver.key_store_check(build, zone, DEFAULT_VIEW, algorithm)
    assert command is not None
    return subprocess.run(command.argv, capture_output=True, timeout=60, check=False).returncode


def tool(name: str, *arguments: str | Path) -> str:
    """Run a server's key tool; its output."""
    argv = [str(find_binary(name)), *map(str, arguments)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()


ALGORITHM = "ECDSAP256SHA256"
ZONES = ("example.com", "example.net")


def bind_keys(folder: Path, zone: str) -> None:
    tool("dnssec-keygen", "-q", "-K", folder, "-a", ALGORITHM, zone)


def lose_bind_keys(folder: Path) -> None:
    for private in folder.glob("*.private"):
        private.unlink()


def knot_keys(folder: Path, zone: str) -> None:
    tool("keymgr", "-D", folder, f"{zone}.", "generate", f"algorithm={ALGORITHM}")


def lose_knot_keys(folder: Path) -> None:
    for pem in (folder / "keys").iterdir():
        pem.unlink()


@pytest.mark.parametrize(
    ("server", "zone", "other", "store", "make", "lose"),
    [
        pytest.param(
            "b1",
            "example.com",
            "example.net",
            "keys",
            bind_keys,
            lose_bind_keys,
            marks=pytest.mark.skipif(find_binary("dnssec-keygen") is None, reason="no keygen"),
            id="bind-key-directory",
        ),
        pytest.param(
            "k1",
            "example.net",
            "example.com",
            "kasp",
            knot_keys,
            lose_knot_keys,
            marks=pytest.mark.skipif(find_binary("keymgr") is None, reason="no keymgr"),
            id="knot-kasp-database",
        ),
    ],
)
def test_a_key_store_holds_the_zones_keys_of_its_algorithm_until_they_are_lost(
    tmp_path: Path, server: str, zone: str, other: str, store: str, make, lose
) -> None:
    folder = tmp_path / "srv" / server / store
    assert key_check(tmp_path, server, zone, ALGORITHM) == 1  # no key store at all
    folder.mkdir(parents=True)
    make(folder, zone)
    assert key_check(tmp_path, server, zone, ALGORITHM) == 0
    assert key_check(tmp_path, server, zone, "ECDSAP384SHA384") == 1
    assert key_check(tmp_path, server, other, ALGORITHM) == 1
    lose(folder)
    assert key_check(tmp_path, server, zone, ALGORITHM) == 1


@pytest.mark.skipif(find_binary("dnssec-keygen") is None, reason="dnssec-keygen not installed")
def test_lost_keys_are_found_on_the_signers_host_locally_and_over_ssh(
    target: Target, tmp_path: Path
) -> None:
    config = SITE.format(path=tmp_path).replace("b1:", "ns1:").replace("/b1", "/ns1")
    config = config.replace("servers: [b1]", "servers: [ns1]")
    records = {f"{z}.yaml": "'@': NS ns1.example.org.\n" for z in ("example.com", "example.net")}
    site = checked_site(write_site(tmp_path / "site", config.replace("[k1]", "[ns1]"), records))
    entry = build_for_deploy(site).servers["ns1"]
    kept = [Signing(zone, DEFAULT_VIEW, ALGORITHM, ALGORITHM) for zone in ZONES]
    skipped = [
        Signing("new.example", DEFAULT_VIEW, None, ALGORITHM, first=True),
        Signing("gone.example", DEFAULT_VIEW, ALGORITHM, None),
    ]
    plan = ServerPlan("ns1", "bind", "primary", target.transport.host, target.path, "f")
    plan = replace(plan, signed=(*kept, *skipped))
    folder = tmp_path / "ns1/keys"
    folder.mkdir(parents=True)
    for zone in ZONES:
        bind_keys(folder, zone)
    assert keys_gone(target, entry, plan) is None
    for private in folder.glob("Kexample.net.+*.private"):
        private.unlink()
    assert keys_gone(target, entry, plan) == (
        f"example.net was signed by ns1 at the last deploy, but its keys are gone from key "
        f"directory {folder} on {target.transport.host}: BIND would make new keys and "
        "validating resolvers would fail the zone until the parent's DS is replaced; restore "
        "the key folder from a backup, or unsign the zone and pass --ack dnssec:example.net. "
        "Nothing was installed"
    )
