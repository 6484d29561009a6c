"""End to end: blocklists fetched over HTTP, compiled, and served by a real Unbound.

The story: a home office keeps its zones and its resolver in one site. Its
blocklists come from a list server (here http.server on 127.0.0.1) in four
formats, plus a local AdBlock file and an allowlist. ``zonesmith blocklist
update`` fetches them (the second time with If-None-Match/If-Modified-Since,
answered 304), ``zonesmith build`` writes a BIND primary and an Unbound
resolver, both run from the build on loopback ports. The resolver answers
NXDOMAIN, 0.0.0.0 or the sinkhole address for blocked names and their
subdomains, answers normally for allowed names, resolves the site's internal
names (and a private reverse zone) through the BIND primary, and refuses
clients outside its view. Then the list changes upstream, and the generated
update job fetches, rebuilds, checks and reloads Unbound, which blocks the
new name.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest
from servers import answers, free_port, query, requires, start_named, start_unbound
from sites import checkout_env, ok, zonesmith
from test_blocklists import ListServer, Served

pytestmark = [pytest.mark.servers, requires("named", "unbound", "unbound-checkconf")]

SERVER = "127.0.0.1"
CLIENT = "127.0.0.1"  # in the internal view
OUTSIDER = "127.0.0.2"  # in no view the resolver serves
TIMEOUT = 300  # seconds for one run of the update job

HOSTS_V1 = (
    "# a hosts file\n"
    "127.0.0.1 localhost\n"
    "0.0.0.0 ads.example.net\n"
    "0.0.0.0 sub.ads.example.net\n"
    "0.0.0.0 tracker.example.com\n"  # the site's own zone: blocked, one name allowed
    "0.0.0.0 allowed.example.org\n"
)
HOSTS_V2 = HOSTS_V1 + "0.0.0.0 new.example.net\n"
DNSMASQ = "address=/zero.example.net/0.0.0.0\n"
WILDCARDS = "*.sink.example.net\n"
RPZ = (
    "$TTL 300\n$ORIGIN feed.rpz.\n"
    "@ SOA localhost. root.localhost. 1 3600 600 86400 300\n@ NS localhost.\n"
    "phish.example.net CNAME .\n*.phish.example.net CNAME .\n"
)
LOCAL_ADBLOCK = "||adblock.example.net^\n"
ALLOW = "allowed.example.org\n"

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
views:
  internal: {{clients: [127.0.0.1]}}
  external: {{clients: [any]}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {ns_port}, path: {ns_path}}}
  res1:
    software: unbound
    role: resolver
    address: 127.0.0.1
    port: {res_port}
    path: {res_path}
    views: [internal]
    blocklists: [ads, zero, sink, phish]
sets:
  ns: {{'@': [NS ns1.example.com.]}}
zones:
  example.com: {{include: [ns]}}
  0.0.10.in-addr.arpa: {{include: [ns], reverse-of: [example.com], views: [internal]}}
blocklists:
  ads:
    sources: [{url}/hosts.txt, lists/adblock.txt]
    allow: [lists/allow.txt, ok.tracker.example.com]
  zero:
    sources: [{url}/dnsmasq.conf]
    action: null
  sink:
    sources: [{url}/wildcards.txt]
    action: {{sinkhole: 127.0.0.80}}
  phish:
    sources: [{url}/feed.rpz]
    rpz: true
"""
EXAMPLE_COM = """\
ns1: A 10.0.0.1
www: A 203.0.113.10
intranet: {view: internal, records: [A 10.0.0.20]}
ok.tracker: A 203.0.113.30
deeper.ok.tracker: A 203.0.113.32
'*.tracker': A 203.0.113.31
"""


@dataclass
class Resolver:
    base: Path
    site: Path
    out: Path
    port: int
    lists: ListServer
    first_update: dict
    second_update: dict

    def ask(self, name: str, rdtype: str = "A", source: str = CLIENT):
        return query(name, rdtype, SERVER, self.port, source=source, timeout=3.0)


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Resolver]:
    base = tmp_path_factory.mktemp("blocklists")
    site, out = base / "site", base / "out"
    (site / "zones").mkdir(parents=True)
    (site / "lists").mkdir()
    with ListServer() as lists:
        lists.routes.update(
            {
                "/hosts.txt": Served(HOSTS_V1.encode(), '"h1"', "Mon, 01 Jan 2024 00:00:00 GMT"),
                "/dnsmasq.conf": Served(DNSMASQ.encode(), '"d1"'),
                "/wildcards.txt": Served(WILDCARDS.encode(), '"w1"'),
                "/feed.rpz": Served(RPZ.encode(), None, "Mon, 01 Jan 2024 00:00:00 GMT"),
            }
        )
        ns_port, res_port = free_port(SERVER), free_port(SERVER)
        while res_port == ns_port:
            res_port = free_port(SERVER)
        (site / "zonesmith.yaml").write_text(
            SITE.format(
                ns_port=ns_port,
                res_port=res_port,
                ns_path=json.dumps(str(out / "ns1")),
                res_path=json.dumps(str(out / "res1")),
                url=f"http://127.0.0.1:{lists.port}",
            )
        )
        (site / "zones" / "example.com.yaml").write_text(EXAMPLE_COM)
        (site / "lists" / "adblock.txt").write_text(LOCAL_ADBLOCK)
        (site / "lists" / "allow.txt").write_text(ALLOW)

        first = json.loads(ok(zonesmith("blocklist", "update", site, "--json")).stdout)
        second = json.loads(ok(zonesmith("blocklist", "update", site, "--json")).stdout)
        ok(zonesmith("build", site, "-o", out))
        with (
            start_named(
                out / "ns1" / "named.conf", SERVER, ns_port, "example.com", base / "ns1.log"
            ),
            start_unbound(
                out / "res1" / "unbound.conf", SERVER, res_port, "example.com", base / "res1.log"
            ),
        ):
            yield Resolver(base, site, out, res_port, lists, first, second)


def test_first_update_fetches_everything(resolver: Resolver) -> None:
    assert resolver.first_update["ok"] is True
    for blocklist in resolver.first_update["blocklists"]:
        for source in blocklist["sources"]:
            if source["kind"] == "url":
                assert (source["status"], source["http_status"]) == ("fetched", 200), source
                assert source["names_read"] >= 1, source
    ads = next(b for b in resolver.first_update["blocklists"] if b["name"] == "ads")
    hosts = next(s for s in ads["sources"] if s["source"].endswith("/hosts.txt"))
    # localhost skipped; sub.ads is covered by ads; allowed.example.org is allowed
    assert (hosts["names_read"], hosts["names_kept"]) == (4, 2)
    assert hosts["skipped_lines"] == 1


def test_second_update_is_conditional_and_reuses_the_cache(resolver: Resolver) -> None:
    lists = resolver.lists
    first, second = lists.headers_of("/hosts.txt")[:2]
    assert "If-None-Match" not in first
    assert second["If-None-Match"] == '"h1"'
    assert second["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert lists.headers_of("/feed.rpz")[1]["If-Modified-Since"] == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert resolver.second_update["ok"] is True
    for old, new in zip(
        resolver.first_update["blocklists"], resolver.second_update["blocklists"], strict=True
    ):
        assert (new["names"], new["digest"], new["changed"]) == (old["names"], old["digest"], False)
        for source in new["sources"]:
            if source["source"].endswith(("/hosts.txt", "/dnsmasq.conf", "/wildcards.txt")):
                assert (source["status"], source["http_status"]) == ("not-modified", 304)


@pytest.mark.parametrize(
    "name",
    [
        "ads.example.net.",
        "sub.ads.example.net.",
        "deep.below.ads.example.net.",
        "adblock.example.net.",
        "x.adblock.example.net.",
        "tracker.example.com.",
        "x.tracker.example.com.",  # the zone has *.tracker: the blocklist wins
        "phish.example.net.",
        "www.phish.example.net.",
    ],
)
def test_blocked_names_and_subdomains_do_not_exist(resolver: Resolver, name: str) -> None:
    response = resolver.ask(name)
    assert response.rcode() == dns.rcode.NXDOMAIN, response
    assert not response.answer, response


@pytest.mark.parametrize("name", ["zero.example.net.", "a.b.zero.example.net."])
def test_null_blocklist_answers_the_unspecified_address(resolver: Resolver, name: str) -> None:
    assert answers(resolver.ask(name, "A"), "A") == ["0.0.0.0"]
    assert answers(resolver.ask(name, "AAAA"), "AAAA") == ["::"]


@pytest.mark.parametrize("name", ["sink.example.net.", "www.sink.example.net."])
def test_sinkhole_blocklist_answers_the_sinkhole(resolver: Resolver, name: str) -> None:
    response = resolver.ask(name)
    assert response.rcode() == dns.rcode.NOERROR, response
    assert answers(response) == ["127.0.0.80"]


def test_allowed_names_resolve_normally(resolver: Resolver) -> None:
    response = resolver.ask("ok.tracker.example.com.")
    assert response.rcode() == dns.rcode.NOERROR, response
    assert answers(response) == ["203.0.113.30"]
    below = resolver.ask("deeper.ok.tracker.example.com.")
    assert answers(below) == ["203.0.113.32"], below


def test_allowlisted_name_of_a_source_is_not_blocked(resolver: Resolver) -> None:
    conf = (resolver.out / "res1" / "blocklists" / "ads.conf").read_text()
    assert "allowed.example.org" not in conf
    assert 'ok.tracker.example.com." transparent' in conf


def test_internal_names_resolve_through_the_primary(resolver: Resolver) -> None:
    assert answers(resolver.ask("www.example.com.")) == ["203.0.113.10"]
    assert answers(resolver.ask("intranet.example.com.")) == ["10.0.0.20"]  # internal only
    ptr = resolver.ask("20.0.0.10.in-addr.arpa.", "PTR")  # below Unbound's 10.in-addr.arpa
    assert answers(ptr, "PTR") == ["intranet.example.com."], ptr
    missing = resolver.ask("nothing.example.com.")
    assert missing.rcode() == dns.rcode.NXDOMAIN, missing


def test_clients_outside_the_view_are_refused(resolver: Resolver) -> None:
    response = resolver.ask("www.example.com.", source=OUTSIDER)
    assert response.rcode() == dns.rcode.REFUSED, response


def test_update_job_reloads_unbound_only_on_change(resolver: Resolver) -> None:
    """Runs last in this module: it changes the list served upstream."""
    script = resolver.out / "res1" / "update-blocklists.sh"
    environment = checkout_env()
    environment["ZONESMITH"] = f"{sys.executable} -m zonesmith"
    assert "new.example.net" not in (resolver.out / "res1" / "blocklists" / "ads.conf").read_text()

    resolver.lists.routes["/hosts.txt"] = Served(HOSTS_V2.encode(), '"h2"')
    run = subprocess.run(
        ["sh", str(script)], env=environment, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Unbound reloaded" in run.stdout, run.stdout
    deadline = time.monotonic() + 20
    for _ in range(40):  # a reload is quick, but give it a few tries
        response = resolver.ask("new.example.net.")
        if response.rcode() == dns.rcode.NXDOMAIN or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert response.rcode() == dns.rcode.NXDOMAIN, response
    assert resolver.ask("ads.example.net.").rcode() == dns.rcode.NXDOMAIN
    assert answers(resolver.ask("www.example.com.")) == ["203.0.113.10"]

    run = subprocess.run(
        ["sh", str(script)], env=environment, capture_output=True, text=True, timeout=TIMEOUT
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "unchanged; Unbound not reloaded" in run.stdout, run.stdout
