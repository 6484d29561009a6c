"""Deploying to a Knot primary: the real checker on the target refuses what Knot cannot load.

zonesmith reads records as BIND does, and Knot's zone parser refuses some types
BIND loads (MB among them, see KNOT_DIFFERS in tests/rules/test_record_conformance.py):
``plan`` runs no server checker, so such a zone plans fine, and the check on the
target (knotc zone-check on the staged tree) is what stops it before knotd
would drop the zone.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dns.rcode
import pytest
from servers import RunningServer, free_port, query, requires, start_knot
from sites import write_site, zonesmith

pytestmark = [pytest.mark.servers, requires("knotd", "knotc")]

ADDRESS = "127.0.0.1"

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
deploy:
  verify-timeout: 20s
servers:
  ns1: {{software: knot, role: primary, address: {address}, port: {port}, path: {path}}}
zones:
  example.com: {{}}
"""

ZONE = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\nwww: A 192.0.2.80\n"


class KnotPrimary:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.site = root / "site"
        self.path = root / "srv" / "ns1"
        self.port = free_port(ADDRESS)
        config = SITE.format(address=ADDRESS, port=self.port, path=self.path)
        write_site(self.site, config, {"example.com.yaml": ZONE})
        self.server: RunningServer | None = None

    def serial(self) -> int | None:
        response = query("example.com", "SOA", ADDRESS, self.port, tcp=True)
        if response.rcode() != dns.rcode.NOERROR or not response.answer:
            return None
        return response.answer[0][0].serial


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KnotPrimary]:
    primary = KnotPrimary(tmp_path_factory.mktemp("knot-deploy"))
    first = zonesmith("apply", primary.site, "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    server = start_knot(
        primary.path / "knot.conf", ADDRESS, primary.port, "example.com", primary.root / "knot.log"
    )
    server.start()
    primary.server = server
    try:
        yield primary
    finally:
        server.stop()


def test_a_zone_knot_cannot_load_plans_but_the_target_check_refuses_it(
    primary: KnotPrimary,
) -> None:
    zone_file = primary.path / "zones" / "example.com.zone"
    files_before = {p: p.read_bytes() for p in (zone_file, primary.path / "knot.conf")}
    served = primary.serial()
    assert served is not None
    (primary.site / "zones" / "example.com.yaml").write_text(ZONE + "mail: MB ns1.example.com.\n")

    plan = zonesmith("plan", primary.site)
    assert plan.returncode == 2, plan.stdout + plan.stderr  # no server checker in plan
    assert "mail.example.com. 3600 IN MB ns1.example.com." in plan.stdout

    refused = zonesmith("apply", primary.site, "--yes")
    said = refused.stdout + refused.stderr
    assert refused.returncode == 1, said
    assert "knotc conf-check and zone-check: the staged files refused the staged files" in said
    assert "example.com.zone', line " in said and "unsupported record type" in said
    assert "ns1: untouched" in said
    assert {p: p.read_bytes() for p in files_before} == files_before
    assert primary.serial() == served
    assert primary.server is not None and primary.server.running

