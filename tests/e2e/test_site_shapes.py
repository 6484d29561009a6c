"""The site-shape matrix: every shape builds, passes the servers' checkers, and serves.

Shapes (see tests/shapes.py): a BIND, NSD or Knot primary; with and without
views; with and without a catalog; hidden or visible; each with a BIND, an
NSD and a Knot secondary, an Unbound and a BIND resolver, and a zone served
by a subset of the servers. Every shape is built with the command line, the
servers' own checkers on. A representative few are then run in the real
servers (started once per shape, shared by that shape's tests): secondaries
get the zones by transfer, the subset zone is served where declared only, and
the resolvers answer their host and refuse a client they do not declare.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.flags
import dns.rcode
import pytest
from servers import (
    answers,
    any_answer,
    query,
    requires,
    start_knot,
    start_named,
    start_nsd,
    start_unbound,
)
from shapes import (
    ADDRESS,
    RESOLVERS,
    SECONDARIES,
    SUBSET_SERVERS,
    SUBSET_ZONE,
    WWW,
    Shape,
    all_shapes,
    write_shape,
)
from sites import ok, zonesmith

from zonesmith.drivers import find_tool

CHECKERS = ("named-checkconf", "nsd-checkconf", "nsd-checkzone", "knotc", "unbound-checkconf")
pytestmark = [pytest.mark.servers, requires(*CHECKERS)]
#: The servers the serving tests start.
serves = requires("named", "nsd", "knotd", "unbound")

#: A client no shape declares: another loopback source (Linux routes 127/8 to lo).
UNDECLARED = "127.0.0.2"
WAIT = 20.0  # seconds a secondary may take to transfer a zone


def build(site: Path, out: Path) -> dict:
    return json.loads(ok(zonesmith("build", site, "-o", out, "--json")).stdout)


@pytest.mark.parametrize("shape", all_shapes(), ids=lambda shape: shape.id)
def test_every_shape_builds_and_passes_the_servers_checkers(shape: Shape, tmp_path: Path) -> None:
    site, out, _ = write_shape(shape, tmp_path)
    result = build(site, out)
    assert result["ok"]
    warnings = {d["rule"] for d in result["diagnostics"]}
    # Without views the resolvers have no declared clients, and say so.
    assert warnings == (set() if shape.views else {"resolver-loopback-only"})
    # Every checker ran but the optional kzonecheck where it is not installed.
    skipped = {check["checker"] for check in result["skipped_checks"]}
    assert skipped == {tool for tool in ("kzonecheck",) if find_tool(tool) is None}
    assert sorted(result["servers"]) == sorted(shape.servers)
    for name in shape.servers:
        assert (out / name).is_dir()


# --------------------------------------------------------------------------
# The servers started from the build


#: Every primary software, views on and off, catalog on and off, hidden and visible.
SERVING = [
    Shape("bind", views=True, catalog=True, hidden=True),
    Shape("bind", views=True, catalog=False, hidden=False),
    Shape("bind", views=False, catalog=True, hidden=False),
    Shape("knot", views=False, catalog=True, hidden=False),
    Shape("knot", views=False, catalog=False, hidden=True),
    Shape("nsd", views=False, catalog=False, hidden=True),
]

STARTERS = {"bind": start_named, "nsd": start_nsd, "knot": start_knot, "unbound": start_unbound}
CONFIGS = {"bind": "named.conf", "nsd": "nsd.conf", "knot": "knot.conf", "unbound": "unbound.conf"}


@dataclass
class Running:
    shape: Shape
    ports: dict[str, int]

    def ask(self, server: str, name: str, rdtype: str, source: str = ADDRESS):
        return query(name, rdtype, ADDRESS, self.ports[server], source=source, tcp=True)

    def serial(self, server: str, zone: str) -> int | None:
        response = self.ask(server, zone, "SOA")
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return None
        return response.answer[0][0].serial


@pytest.fixture(scope="module", params=SERVING, ids=lambda shape: shape.id)
def running(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[Running]:
    shape: Shape = request.param
    root = tmp_path_factory.mktemp(shape.id)
    site, out, ports = write_shape(shape, root)
    build(site, out)
    with contextlib.ExitStack() as stack:
        # The primary first: the secondaries transfer from it as they start.
        for name, software in shape.servers.items():
            options = {"probe": any_answer} if name in RESOLVERS else {}
            stack.enter_context(
                STARTERS[software](
                    out / name / CONFIGS[software],
                    ADDRESS,
                    ports[name],
                    SUBSET_ZONE if name in SUBSET_SERVERS else "example.com",
                    log_path=root / f"{name}.log",
                    **options,
                )
            )
        yield Running(shape, ports)


@serves
def test_secondaries_get_every_zone_by_transfer(running: Running) -> None:
    for zone in ("example.com", "example.org"):
        expected = running.serial("pr", zone)
        assert expected is not None
        for secondary in SECONDARIES:
            deadline = time.monotonic() + WAIT
            while running.serial(secondary, zone) != expected and time.monotonic() < deadline:
                time.sleep(0.25)
            response = running.ask(secondary, zone, "SOA")
            assert response.flags & dns.flags.AA, f"{secondary} is not authoritative for {zone}"
            assert running.serial(secondary, zone) == expected, f"{secondary} {zone}"


@serves
def test_a_zone_is_served_by_its_servers_only(running: Running) -> None:
    for server in (*SUBSET_SERVERS, *SECONDARIES):
        response = running.ask(server, f"www.{SUBSET_ZONE}", "A")
        if server in SUBSET_SERVERS:
            assert answers(response) == [WWW], server
        else:
            assert response.rcode() == dns.rcode.REFUSED, server


@serves
@pytest.mark.parametrize("resolver", sorted(RESOLVERS))
def test_a_resolver_answers_its_host_and_refuses_others(running: Running, resolver: str) -> None:
    for zone in ("example.com", SUBSET_ZONE):
        response = running.ask(resolver, f"www.{zone}", "A")
        assert answers(response) == [WWW], f"{resolver}: www.{zone}"
    if running.shape.views:
        # Its view is internal: the site's internal names resolve.
        assert answers(running.ask(resolver, "intranet.example.com", "A")) == ["10.0.0.20"]
    refused = running.ask(resolver, "www.example.com", "A", source=UNDECLARED)
    assert refused.rcode() == dns.rcode.REFUSED
    assert not refused.answer
