"""Control channels, end to end: each software's reload commands and zone state, for real.

One site, one build into an output folder that is every server's ``path``;
BIND, NSD and Knot primaries and an Unbound resolver run from it on loopback
(distinct addresses or ports). Each test edits the site, builds again, and
runs what the server's driver says a deploy runs for that change: the server
then serves the new serial. The servers are shared by the tests of this
module, which run in file order.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dns.rcode
import pytest
from servers import (
    SBIN_DIRS,
    answers,
    free_port,
    query,
    requires,
    start_knot,
    start_named,
    start_nsd,
    start_unbound,
)
from sites import write_site, zonesmith

from zonesmith.compile.fleet import ServerBuild
from zonesmith.drivers import Driver, driver_for
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import ServerChange
from zonesmith.pipeline import server_builds
from zonesmith.site.loader import load_site

pytestmark = [
    pytest.mark.servers,
    requires("named", "rndc", "nsd", "nsd-control", "knotd", "knotc", "unbound", "unbound-control"),
]

ADDRESSES = {"b1": "127.0.0.1", "n1": "127.0.0.21", "k1": "127.0.0.22", "r1": "127.0.0.23"}
#: The one view: BIND then reloads a zone of a view, and the resolver answers loopback clients.
VIEW = "internal"
ZONES = {"b1": "example.com", "n1": "example.net", "k1": "example.org"}


def site_config(out: Path, ports: dict[str, int], extra_zones: str = "") -> str:
    return f"""\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
views:
  internal: {{clients: [127.0.0.0/8]}}
servers:
  b1: {{software: bind, role: primary, address: 127.0.0.1, port: {ports["b1"]},
       control-port: {ports["b1-control"]}, path: {out}/b1}}
  n1: {{software: nsd, role: primary, address: 127.0.0.21, port: {ports["n1"]}, path: {out}/n1}}
  k1: {{software: knot, role: primary, address: 127.0.0.22, port: {ports["k1"]}, path: {out}/k1}}
  r1: {{software: unbound, role: resolver, address: 127.0.0.23, port: {ports["r1"]},
       path: {out}/r1}}
sets:
  ns: {{'@': NS ns1.example.com.}}
zones:
  example.com: {{include: [ns], servers: [b1]}}
  example.net: {{include: [ns], servers: [n1]}}
  example.org: {{include: [ns], servers: [k1]}}
{extra_zones}"""


class Fleet:
    def __init__(self, root: Path):
        self.site = root / "site"
        self.out = root / "out"
        self.ports = {name: free_port(address) for name, address in ADDRESSES.items()}
        self.ports["b1-control"] = free_port("127.0.0.1")
        self.extra_zones = ""
        write_site(
            self.site,
            site_config(self.out, self.ports),
            {
                "example.com.yaml": "ns1: A 192.0.2.1\nwww: A 192.0.2.80\n",
                "example.net.yaml": "www: A 192.0.2.81\n",
                "example.org.yaml": "www: A 192.0.2.82\n",
            },
        )

    def build(self) -> dict[str, ServerBuild]:
        result = zonesmith("build", self.site, "-o", self.out)
        assert result.returncode == 0, result.stdout + result.stderr
        site, _ = load_site(self.site)
        return server_builds(site)

    def edit(self, zone: str, records: str) -> None:
        (self.site / "zones" / f"{zone}.yaml").write_text(records)

    def append(self, zone: str, records: str) -> None:
        with (self.site / "zones" / f"{zone}.yaml").open("a") as file:
            file.write(records)

    def add_zone(self, line: str, zone: str, records: str) -> None:
        self.extra_zones += line
        (self.site / "zonesmith.yaml").write_text(
            site_config(self.out, self.ports, self.extra_zones)
        )
        self.edit(zone, records)

    def serial(self, server: str, zone: str) -> int | None:
        response = query(zone, "SOA", ADDRESSES[server], self.ports[server], tcp=True)
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return None
        return response.answer[0][0].serial


def run(command: Command) -> subprocess.CompletedProcess[str]:
    """A command as a deploy runs it on the server's host: as is, no shell, bounded."""
    env = dict(os.environ, PATH=os.pathsep.join([os.environ.get("PATH", ""), *SBIN_DIRS]))
    return subprocess.run(
        command.argv, capture_output=True, text=True, timeout=command.timeout, env=env, check=False
    )


def run_all(commands: list[Command]) -> None:
    for command in commands:
        result = run(command)
        assert result.returncode == 0, f"{command.why}: {result.stdout}{result.stderr}"


def driver(build: ServerBuild) -> Driver:
    found = driver_for(build.server.software)
    assert found is not None
    return found


def built_serial(build: ServerBuild, zone: str) -> int:
    served = next(z for z in build.zones if z.text_name == zone)
    assert served.data is not None
    return served.data.serial


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    fleet = Fleet(tmp_path_factory.mktemp("control"))
    fleet.build()
    out, ports = fleet.out, fleet.ports
    with contextlib.ExitStack() as stack:
        stack.enter_context(
            start_named(out / "b1" / "named.conf", "127.0.0.1", ports["b1"], ZONES["b1"])
        )
        stack.enter_context(
            start_nsd(out / "n1" / "nsd.conf", ADDRESSES["n1"], ports["n1"], ZONES["n1"])
        )
        stack.enter_context(
            start_knot(out / "k1" / "knot.conf", ADDRESSES["k1"], ports["k1"], ZONES["k1"])
        )
        stack.enter_context(
            start_unbound(out / "r1" / "unbound.conf", ADDRESSES["r1"], ports["r1"], ZONES["b1"])
        )
        yield fleet


@pytest.mark.parametrize("server", ["b1", "n1", "k1"])
def test_one_changed_zone_is_reloaded_and_served_with_its_new_serial(
    fleet: Fleet, server: str
) -> None:
    zone = ZONES[server]
    before = fleet.serial(server, zone)
    fleet.append(zone, f"new-{server}: A 192.0.2.99\n")
    build = fleet.build()[server]
    serial = built_serial(build, zone)
    assert serial != before and fleet.serial(server, zone) == before  # not reloaded yet
    commands = driver(build).reload_commands(build, ServerChange(zones_changed=((VIEW, zone),)))
    assert commands and all(zone in " ".join(c.argv) for c in commands)
    run_all(commands)
    # Blocking (rndc reload waits, knotc -b, NSD's wait for the serial): served at once.
    assert fleet.serial(server, zone) == serial
    response = query(f"new-{server}.{zone}", "A", ADDRESSES[server], fleet.ports[server])
    assert answers(response) == ["192.0.2.99"]


def test_a_new_zone_reaches_nsd_through_its_config_and_reconfig(fleet: Fleet) -> None:
    # NSD 4.6 follows no catalog: the zone is in nsd.conf, and reconfig adds it.
    fleet.add_zone(
        "  example.info: {include: [ns], servers: [n1]}\n", "example.info", "www: A 192.0.2.84\n"
    )
    build = fleet.build()["n1"]
    assert fleet.serial("n1", "example.info") is None
    commands = driver(build).reload_commands(
        build, ServerChange(zones_added=((VIEW, "example.info"),), config_changed=True)
    )
    assert [c.argv[3] for c in commands[:2]] == ["reconfig", "reload"]
    run_all(commands)
    assert fleet.serial("n1", "example.info") == built_serial(build, "example.info")


def test_a_new_zone_reaches_bind_and_knot_with_the_zone_list(fleet: Fleet) -> None:
    fleet.add_zone(
        "  example.biz: {include: [ns], servers: [b1]}\n"
        "  example.us: {include: [ns], servers: [k1]}\n",
        "example.biz",
        "www: A 192.0.2.85\n",
    )
    fleet.edit("example.us", "www: A 192.0.2.86\n")
    builds = fleet.build()
    for server, zone in (("b1", "example.biz"), ("k1", "example.us")):
        build = builds[server]
        assert fleet.serial(server, zone) is None
        change = ServerChange(zones_added=((VIEW, zone),), config_changed=True)
        run_all(driver(build).reload_commands(build, change))
        assert fleet.serial(server, zone) == built_serial(build, zone), server


def test_unbound_checks_its_config_then_reloads_and_forgets_what_it_cached(fleet: Fleet) -> None:
    def resolve() -> list[str]:
        return answers(query("www.example.com", "A", ADDRESSES["r1"], fleet.ports["r1"]))

    assert resolve() == ["192.0.2.80"]  # now in Unbound's cache for an hour
    fleet.edit("example.com", "ns1: A 192.0.2.1\nwww: A 192.0.2.180\n")
    builds = fleet.build()
    change = ServerChange(zones_changed=((VIEW, "example.com"),))
    run_all(driver(builds["b1"]).reload_commands(builds["b1"], change))
    assert resolve() == ["192.0.2.80"]
    commands = driver(builds["r1"]).reload_commands(builds["r1"], ServerChange(config_changed=True))
    assert [Path(c.argv[0]).name for c in commands] == ["unbound-checkconf", "unbound-control"]
    run_all(commands)
    assert resolve() == ["192.0.2.180"]


@pytest.mark.parametrize("server", ["b1", "n1", "k1"])
def test_the_control_channel_tells_the_state_of_a_zone(fleet: Fleet, server: str) -> None:
    build = fleet.build()[server]
    zone = ZONES[server]
    command = driver(build).zone_state_command(build, VIEW, zone)
    assert command is not None
    result = run(command)
    assert result.returncode == 0, result.stdout + result.stderr
    assert zone in result.stdout
    # rndc and knotc say the serial; NSD 4.6 only the state of a zone it loads from a file.
    if server in ("b1", "k1"):
        assert f"serial: {fleet.serial(server, zone)}" in result.stdout
    else:
        assert "state: master" in result.stdout


def test_a_change_of_nothing_runs_nothing(fleet: Fleet) -> None:
    builds = fleet.build()
    for build in builds.values():
        assert driver(build).reload_commands(build, ServerChange()) == []
