"""An Unbound resolver of the site validates from the root's trust anchor, and keeps what
it learned across deploys.

One NSD primary and one Unbound resolver on 127.0.0.1, deployed with `apply` to
their paths. The first apply, with nothing running, seeds the resolver's learned
anchor file from the root anchor the build writes; the test then gives it the file
Unbound writes after a probe (so Unbound does not probe the root servers: tests
make no traffic to non-local addresses). Unbound starts, trusts the root and
still answers the site's zones; a second build and apply leave the learned file
as it was.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import dns.dnssec
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from servers import answers, free_ports, learned_root_anchor, query, requires, start_unbound
from servers import start_nsd as start_primary
from sites import write_site, zonesmith

pytestmark = [pytest.mark.servers, requires("nsd", "unbound", "unbound-control")]

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
servers:
  ns1: {{software: nsd, role: primary, address: 127.0.0.1, port: {ns1}, path: {srv}/ns1}}
  res1: {{software: unbound, role: resolver, address: 127.0.0.1, port: {res1},
         path: {srv}/res1}}
zones:
  example.com: {{servers: [ns1]}}
"""
RECORDS = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\nwww: A 192.0.2.10\n"


class Site:
    def __init__(self, root: Path) -> None:
        self.srv = root / "srv"
        self.ports = free_ports(("ns1", "res1"))
        self.site = write_site(
            root / "site",
            SITE.format(srv=self.srv, **self.ports),
            {"example.com.yaml": RECORDS},
        )
        self.res1 = self.srv / "res1"

    def apply(self) -> None:
        result = zonesmith("apply", self.site, "--yes")
        assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    yield Site(tmp_path_factory.mktemp("root-anchor"))


def seed_records(folder: Path) -> list:
    return [
        dns.rdata.from_text(dns.rdataclass.IN, fields[2], " ".join(fields[3:]))
        for line in (folder / "root-anchor.seed").read_text().splitlines()
        if line and not line.startswith(";") and (fields := line.split())
    ]


def control(site: Site, *arguments: str) -> list[str]:
    done = subprocess.run(
        ["unbound-control", "-c", str(site.res1 / "unbound.conf"), *arguments],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.split()


def test_the_build_writes_the_root_anchor_and_points_unbound_at_the_learned_file(
    site: Site, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = zonesmith("build", site.site, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr  # unbound-checkconf passed
    conf = (out / "res1/unbound.conf").read_text()
    assert f'auto-trust-anchor-file: "{site.res1}/trust-anchors/root.key"' in conf
    # The site's own zones stay outside validation.
    assert 'domain-insecure: "example.com."' in conf
    ds, dnskey = seed_records(out / "res1")
    assert ds.rdtype == dns.rdatatype.DS and dnskey.rdtype == dns.rdatatype.DNSKEY
    assert dns.dnssec.key_id(dnskey) == ds.key_tag == 20326
    assert dns.dnssec.make_ds(".", dnskey, "SHA256") == ds
    # The build writes no learned file: that is the server's.
    assert not (out / "res1/trust-anchors/root.key").exists()
    assert (out / "res1/trust-anchors").is_dir()


def test_a_deploy_seeds_the_learned_file_and_unbound_answers(site: Site) -> None:
    site.apply()  # nothing runs yet: the files are installed and the anchor seeded
    learned = site.res1 / "trust-anchors/root.key"
    assert learned.read_text() == (site.res1 / "root-anchor.seed").read_text()
    learned_root_anchor(site.res1)  # as Unbound writes it after a probe
    written = learned.read_text()
    assert ";;next_probe_time" in written
    ports = site.ports
    with (
        start_primary(site.srv / "ns1/nsd.conf", "127.0.0.1", ports["ns1"], "example.com"),
        start_unbound(site.res1 / "unbound.conf", "127.0.0.1", ports["res1"], "example.com"),
    ):
        # Unbound runs with the learned file (a missing or broken one stops it at start),
        # and the site's zones stay outside validation.
        assert control(site, "get_option", "auto-trust-anchor-file") == [str(learned)]
        assert control(site, "list_insecure") == ["example.com."]
        response = query("www.example.com", "A", "127.0.0.1", ports["res1"])
        assert answers(response) == ["192.0.2.10"]

        # A second build and deploy: a new record; the learned file stays as it was.
        (site.site / "zones/example.com.yaml").write_text(RECORDS + "new: A 192.0.2.11\n")
        site.apply()
        assert learned.read_text() == written
        response = query("new.example.com", "A", "127.0.0.1", ports["res1"])
        assert answers(response) == ["192.0.2.11"]
