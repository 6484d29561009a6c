"""The NSD and Knot DNS drivers: configuration, checkers, and real servers.

A BIND primary (127.0.0.1: named listens only on addresses configured on an
interface, and loopback has 127.0.0.1 alone) with a catalog zone, an NSD
secondary on 127.0.0.11 and a Knot secondary (a catalog consumer) on
127.0.0.12, all from one build, transfers signed with one TSIG key. Then an
NSD primary and a Knot primary, each with a secondary of the other software.
"""

from __future__ import annotations

import base64
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.tsigkeyring
import dns.xfr
import dns.zone
import pytest
from servers import find_binary, free_port, query, requires, start_knot, start_named, start_nsd
from sites import write_site, zonesmith

from zonesmith.drivers import driver_for
from zonesmith.drivers.knot import KnotDriver
from zonesmith.drivers.nsd import NsdDriver
from zonesmith.pipeline import build_site

SECRET = base64.b64encode(bytes(range(32))).decode()
NOTIFY_TIMEOUT = 15.0  # seconds for a secondary to pick up a new serial

CONFIG = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com, refresh: 1h}}
keys:
  xfr: {{algorithm: hmac-sha256, secret-file: secrets/xfr.key}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {p1}, path: {out}/ns1,
        catalog: catalog.example.com.}}
  ns2: {{software: nsd, role: secondary, address: 127.0.0.11, port: {p2}, path: {out}/ns2,
        primaries: [ns1], key: xfr}}
  ns3: {{software: knot, role: secondary, address: 127.0.0.12, port: {p3}, path: {out}/ns3,
        primaries: [ns1], key: xfr}}
sets:
  ns: {{'@': [NS ns1.example.com.]}}
zones:
  example.com: {{include: [ns]}}
  example.net: {{include: [ns]}}
"""

EXAMPLE_COM = "ns1: A 192.0.2.1\nwww: A 192.0.2.10\n"
EXAMPLE_NET = "www: A 192.0.2.20\n"


def make_site(tmp_path: Path, ports: tuple[int, int, int] = (5301, 5302, 5303)) -> Path:
    out = tmp_path / "out"
    config = CONFIG.format(p1=ports[0], p2=ports[1], p3=ports[2], out=out)
    return write_site(
        tmp_path / "site",
        config,
        {"example.com.yaml": EXAMPLE_COM, "example.net.yaml": EXAMPLE_NET},
        {"secrets/xfr.key": SECRET + "\n"},
    )


def build(site: Path, out: Path) -> None:
    result = zonesmith("build", site, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def file_serial(path: Path, origin: str) -> int:
    zone = dns.zone.from_file(str(path), origin, relativize=False)
    return zone.get_soa().serial


def soa_serial(zone: str, address: str, port: int) -> int | None:
    response = query(zone, "SOA", address, port, source=address, attempts=2, timeout=1.0)
    if response.rcode() != dns.rcode.NOERROR or not response.answer:
        return None
    return response.answer[0][0].serial


def wait_for_serial(zone: str, address: str, port: int, serial: int) -> None:
    deadline = time.monotonic() + NOTIFY_TIMEOUT
    seen = None
    for _ in range(int(NOTIFY_TIMEOUT / 0.25)):
        seen = soa_serial(zone, address, port)
        if seen == serial or time.monotonic() > deadline:
            break
        time.sleep(0.25)
    assert seen == serial, f"{zone} on {address}#{port}: serial {seen}, expected {serial}"


def axfr_refused(zone: str, address: str, port: int, source: str, keyed: bool) -> bool:
    keyring = dns.tsigkeyring.from_text({"xfr": ("hmac-sha256", SECRET)}) if keyed else None
    try:
        dns.zone.from_xfr(
            dns.query.xfr(
                address, zone, port=port, source=source, keyring=keyring, lifetime=5, timeout=5
            )
        )
    except (dns.xfr.TransferError, dns.exception.DNSException, EOFError, OSError):
        return True
    return False


# --------------------------------------------------------------------------- configuration


def test_drivers_are_registered():
    nsd, knot = driver_for("nsd"), driver_for("knot")
    assert isinstance(nsd, NsdDriver) and isinstance(knot, KnotDriver)
    assert nsd.capabilities.roles == knot.capabilities.roles == {"primary", "secondary"}
    assert not nsd.capabilities.views and not knot.capabilities.views
    assert not nsd.capabilities.catalog_consumer and knot.capabilities.catalog_consumer
    assert nsd.capabilities.rrl and knot.capabilities.rrl


def test_keys_file_is_private_and_the_only_place_of_the_secret(tmp_path):
    out = tmp_path / "out"
    build_site(make_site(tmp_path), out, server_checks=False)
    for server in ("ns1", "ns2", "ns3"):
        keys = out / server / "keys.conf"
        assert stat.S_IMODE(keys.stat().st_mode) == 0o600
        assert SECRET in keys.read_text()
    holders = [name for name, content in tree(out).items() if SECRET.encode() in content]
    assert sorted(holders) == ["ns1/keys.conf", "ns2/keys.conf", "ns3/keys.conf"]
    assert f'include: "{out}/ns2/keys.conf"' in (out / "ns2" / "nsd.conf").read_text()
    assert f'include: "{out}/ns3/keys.conf"' in (out / "ns3" / "knot.conf").read_text()


def test_configurations_are_hardened_and_route_transfers(tmp_path):
    out = tmp_path / "out"
    build_site(make_site(tmp_path), out, server_checks=False)
    nsd = (out / "ns2" / "nsd.conf").read_text()
    for line in (
        "ip-address: 127.0.0.11@5302",
        "hide-version: yes",
        "hide-identity: yes",
        "refuse-any: yes",
        "rrl-ratelimit: 20",
        'request-xfr: 127.0.0.1@5301 "xfr"',
        'allow-notify: 127.0.0.1 "xfr"',
        "outgoing-interface: 127.0.0.11",
        f'pidfile: "{out}/ns2/nsd.pid"',
        f'control-interface: "{out}/ns2/nsd.sock"',
        f'zonefile: "{out}/ns2/secondary/example.com.zone"',
    ):
        assert line in nsd
    # NSD cannot consume catalogs: every zone has its own clause.
    assert nsd.count("zone:") == 2 and "catalog" not in nsd
    knot = (out / "ns3" / "knot.conf").read_text()
    for line in (
        "listen: 127.0.0.12@5303",
        'version: ""',
        'identity: ""',
        "automatic-acl: off",
        "global-module: mod-rrl/default",
        "address: 127.0.0.1@5301",
        "via: 127.0.0.12",
        "action: notify",
        "catalog-role: interpret",
        f'listen: "{out}/ns3/knot.sock"',
    ):
        assert line in knot
    # Members reach the Knot consumer through the catalog, not as zone entries.
    assert 'domain: "example.com."' not in knot and 'domain: "catalog.example.com."' in knot
    assert (out / "ns2" / "state").is_dir() and (out / "ns3" / "secondary").is_dir()


def test_nsd_drops_privileges_unless_run_from_a_temporary_build(tmp_path):
    site = make_site(tmp_path)
    config = (site / "zonesmith.yaml").read_text().replace(f"{tmp_path}/out", "/srv/dns")
    (site / "zonesmith.yaml").write_text(config)
    out = tmp_path / "out"
    build_site(site, out, server_checks=False)
    assert "username" not in (out / "ns2" / "nsd.conf").read_text()
    assert '"/srv/dns/ns2/keys.conf"' in (out / "ns2" / "nsd.conf").read_text()
    if str(tmp_path).startswith("/tmp/"):
        build_site(make_site(tmp_path), out, server_checks=False)
        assert 'username: ""' in (out / "ns2" / "nsd.conf").read_text()


def test_output_is_deterministic(tmp_path):
    site, out = make_site(tmp_path), tmp_path / "out"
    build_site(site, out, server_checks=False)
    first = tree(out)
    build_site(site, out, server_checks=False)
    assert tree(out) == first


# --------------------------------------------------------------------------- checkers


@requires("nsd-checkconf", "knotc")
def test_generated_configurations_pass_their_checkers(tmp_path):
    out = tmp_path / "out"
    build(make_site(tmp_path), out)  # the build runs the checkers too
    for argv in (
        [find_binary("nsd-checkconf"), str(out / "ns2" / "nsd.conf")],
        [find_binary("knotc"), "-c", str(out / "ns3" / "knot.conf"), "conf-check"],
    ):
        run = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode == 0, run.stdout + run.stderr


@requires("nsd-checkconf", "nsd-checkzone", "knotc")
def test_checker_messages_become_diagnostics_without_secrets(tmp_path):
    from zonesmith.compile.fleet import compile_fleet
    from zonesmith.compile.zones import compile_site
    from zonesmith.pipeline import read_secrets
    from zonesmith.site.loader import load_site

    site, _ = load_site(make_site(tmp_path))
    secrets = read_secrets(site)
    builds = compile_fleet(compile_site(site), secrets, {"knot": True, "bind": True})
    staged = tmp_path / "staged"
    for name, driver in (("ns2", NsdDriver()), ("ns3", KnotDriver())):
        for relative, output in driver.render(builds[name], str(staged / name)).items():
            path = staged / name / relative
            if relative.endswith("/"):
                path.mkdir(parents=True, exist_ok=True)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(output.content)
    assert NsdDriver().check(builds["ns2"], staged / "ns2", "out/ns2") == []
    assert KnotDriver().check(builds["ns3"], staged / "ns3", "out/ns3") == []

    # A secret that is not base64: both checkers complain about keys.conf.
    broken = SECRET[:-2] + "!!"
    for name in ("ns2", "ns3"):
        keys = staged / name / "keys.conf"
        keys.write_text(keys.read_text().replace(SECRET, broken))
    nsd = NsdDriver().check(builds["ns2"], staged / "ns2", "out/ns2")
    knot = KnotDriver().check(builds["ns3"], staged / "ns3", "out/ns3")
    assert [d.rule for d in nsd] == ["nsd-checkconf"]
    assert nsd[0].position.path == "out/ns2/keys.conf" and nsd[0].position.line == 4
    assert knot and {d.rule for d in knot} == {"knotc-conf-check"}
    assert knot[0].position.path == "out/ns3/keys.conf" and knot[0].position.line == 4
    for diagnostic in nsd + knot:
        assert SECRET not in str(diagnostic) and broken not in str(diagnostic)


@requires("nsd-checkzone")
def test_nsd_checkzone_reports_zone_file_lines(tmp_path):
    site = make_site(tmp_path)
    config = (site / "zonesmith.yaml").read_text()
    config = config.replace("software: bind, role: primary", "software: nsd, role: primary")
    config = config.replace(", catalog: catalog.example.com.", "")
    (site / "zonesmith.yaml").write_text(config)
    out = tmp_path / "out"
    build_site(site, out, server_checks=False)
    zone = out / "ns1" / "zones" / "example.com.zone"
    zone.write_text(zone.read_text() + "bad\t3600\tIN\tA\t192.0.2.999\n")
    from zonesmith.compile.fleet import compile_fleet
    from zonesmith.compile.zones import compile_site
    from zonesmith.pipeline import read_secrets
    from zonesmith.site.loader import load_site

    loaded, _ = load_site(site)
    secrets = read_secrets(loaded)
    builds = compile_fleet(compile_site(loaded), secrets, {"knot": True})
    found = NsdDriver().check(builds["ns1"], out / "ns1", "out/ns1")
    assert [(d.rule, d.position.path) for d in found] == [
        ("nsd-checkzone", "out/ns1/zones/example.com.zone")
    ]
    assert found[0].position.line == len(zone.read_text().splitlines())
    assert "192.0.2.999" in found[0].message


# --------------------------------------------------------------------------- servers


@pytest.mark.servers
@requires("named", "nsd", "knotd")
def test_nsd_and_knot_secondaries_follow_a_bind_primary(tmp_path):
    ports = (free_port("127.0.0.1"), free_port("127.0.0.11"), free_port("127.0.0.12"))
    site, out = make_site(tmp_path, ports), tmp_path / "out"
    build(site, out)
    serial = file_serial(out / "ns1" / "zones" / "example.com.zone", "example.com")
    with (
        start_named(out / "ns1" / "named.conf", "127.0.0.1", ports[0], "example.com") as ns1,
        start_nsd(out / "ns2" / "nsd.conf", "127.0.0.11", ports[1], "example.com"),
        start_knot(out / "ns3" / "knot.conf", "127.0.0.12", ports[2], "example.com"),
    ):
        for zone in ("example.com", "example.net"):
            assert soa_serial(zone, "127.0.0.1", ports[0]) == serial
            wait_for_serial(zone, "127.0.0.11", ports[1], serial)
            wait_for_serial(zone, "127.0.0.12", ports[2], serial)  # through the catalog
        answer = query("www.example.com", "A", "127.0.0.12", ports[2], source="127.0.0.12")
        assert answer.answer[0][0].address == "192.0.2.10"
        # Transfers: only to the declared secondaries, and only with the key.
        for address, port in (("127.0.0.11", ports[1]), ("127.0.0.12", ports[2])):
            assert axfr_refused("example.com", address, port, "127.0.0.99", keyed=True)
        assert not axfr_refused("example.com", "127.0.0.1", ports[0], "127.0.0.11", keyed=True)
        assert axfr_refused("example.com", "127.0.0.1", ports[0], "127.0.0.11", keyed=False)

        # A change, a rebuild and a reload of the primary reach both through NOTIFY.
        (site / "zones" / "example.com.yaml").write_text(EXAMPLE_COM + "new: A 192.0.2.30\n")
        build(site, out)
        new = file_serial(out / "ns1" / "zones" / "example.com.zone", "example.com")
        assert new > serial
        os.kill(ns1.pid, signal.SIGHUP)
        wait_for_serial("example.com", "127.0.0.1", ports[0], new)
        wait_for_serial("example.com", "127.0.0.11", ports[1], new)
        wait_for_serial("example.com", "127.0.0.12", ports[2], new)


PRIMARY_CONFIG = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
keys:
  xfr: {{algorithm: hmac-sha256, secret-file: secrets/xfr.key}}
servers:
  p: {{software: {primary}, role: primary, address: 127.0.0.21, port: {p1}, path: {out}/p}}
  s: {{software: {secondary}, role: secondary, address: 127.0.0.22, port: {p2}, path: {out}/s,
      primaries: [p], key: xfr}}
sets:
  ns: {{'@': [NS ns1.example.com.]}}
zones:
  example.com: {{include: [ns]}}
"""


@pytest.mark.servers
@pytest.mark.parametrize(("primary", "secondary"), [("nsd", "knot"), ("knot", "nsd")])
@requires("nsd", "knotd")
def test_nsd_and_knot_primaries(tmp_path, primary, secondary):
    ports = (free_port("127.0.0.21"), free_port("127.0.0.22"))
    out = tmp_path / "out"
    config = PRIMARY_CONFIG.format(
        primary=primary, secondary=secondary, p1=ports[0], p2=ports[1], out=out
    )
    site = write_site(
        tmp_path / "site",
        config,
        {"example.com.yaml": EXAMPLE_COM},
        {"secrets/xfr.key": SECRET + "\n"},
    )
    build(site, out)
    serial = file_serial(out / "p" / "zones" / "example.com.zone", "example.com")
    start = {"nsd": start_nsd, "knot": start_knot}
    conf = {"nsd": "nsd.conf", "knot": "knot.conf"}
    with start[primary](out / "p" / conf[primary], "127.0.0.21", ports[0], "example.com"):
        answer = query("www.example.com", "A", "127.0.0.21", ports[0], source="127.0.0.21")
        assert answer.answer[0][0].address == "192.0.2.10"
        assert soa_serial("example.com", "127.0.0.21", ports[0]) == serial
        for name in ("version.bind", "version.server", "id.server", "hostname.bind"):
            chaos = dns.message.make_query(name, "TXT", "CH")
            answer = dns.query.udp(chaos, "127.0.0.21", port=ports[0], timeout=2)
            assert not answer.answer, f"{primary} tells {name}"
        assert axfr_refused("example.com", "127.0.0.21", ports[0], "127.0.0.99", keyed=True)
        assert axfr_refused("example.com", "127.0.0.21", ports[0], "127.0.0.22", keyed=False)
        with start[secondary](out / "s" / conf[secondary], "127.0.0.22", ports[1], "example.com"):
            wait_for_serial("example.com", "127.0.0.22", ports[1], serial)
