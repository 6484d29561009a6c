"""A BIND resolver: the site's blocklists as response policy zones.

Unit tests read the ``named.conf`` and RPZ files ``build`` writes for a server
with ``software: bind, role: resolver`` (and let ``named-checkconf -z`` check
them when it is installed). The end-to-end test builds a BIND primary and a
BIND resolver, both run from the build on 127.0.0.1 (BIND only listens on
addresses of an interface, so each gets a port of its own), and asks the
resolver: blocked names and their subdomains do not exist (or are 0.0.0.0, or
the sinkhole), allowed names below a blocked one resolve to the site's
records, and internal names resolve through the forward zones.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dns.rcode
import dns.rdatatype
import pytest
from servers import answers, any_answer, free_port, query, requires, start_named
from sites import BASE_CONFIG, ok, write_site, zonesmith

from zonesmith.diagnostics import SiteError
from zonesmith.drivers import find_tool
from zonesmith.pipeline import build_site, check_site

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="

LISTS = {
    "lists/ads.txt": "0.0.0.0 ads.example.net\n0.0.0.0 sub.ads.example.net\n",
    "lists/zero.txt": "||zero.example.net^\n||ads.example.net^\n||under_score.example.org^\n",
    "lists/sink.txt": "address=/sink.example.net/0.0.0.0\n",
    "secrets/int.key": SECRET + "\n",
    "secrets/ext.key": "YW5vdGhlci1zZWNyZXQtYW5vdGhlci1zZWNyZXQtMTI=\n",
}

UNIT_SITE = """\
keys:
  int: {algorithm: hmac-sha256, secret-file: secrets/int.key}
  ext: {algorithm: hmac-sha256, secret-file: secrets/ext.key}
views:
  internal: {clients: [127.0.0.1, '!10.9.9.9', 10.0.0.0/8], key: int}
  external: {clients: [any], key: ext}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, port: 5300, path: /srv/ns1}
  ns2: {software: bind, role: secondary, address: 127.0.0.2, port: 5300, path: /srv/ns2,
        primaries: [ns1], key: int}
  res1: {software: bind, role: resolver, address: 127.0.0.1, port: 5353,
         path: /srv/res1, views: [internal], blocklists: [ads, zero, sink]}
sets:
  ns: {'@': [NS ns1.example.com.]}
zones:
  example.com: {include: [ns]}
  0.10.in-addr.arpa: {include: [ns], reverse-of: [example.com], views: [internal]}
blocklists:
  ads: {sources: [lists/ads.txt], allow: [ok.ads.example.net]}
  zero: {sources: [lists/zero.txt], action: null}
  sink: {sources: [lists/sink.txt], action: {sinkhole: '2001:db8::80'}}
"""


def unit_site(tmp_path: Path, config: str = UNIT_SITE) -> Path:
    return write_site(
        tmp_path / "site",
        BASE_CONFIG + config,
        {"example.com.yaml": "ns1: A 10.0.0.1\n"},
        files=LISTS,
    )


def option(conf: str, name: str) -> str:
    """The one line of the options block that sets ``name``."""
    block = conf[conf.index("options {") :].split("\n};", 1)[0]
    (line,) = [line.strip() for line in block.splitlines() if line.strip().startswith(name + " ")]
    return line


def test_resolver_named_conf(tmp_path: Path) -> None:
    site = unit_site(tmp_path)
    out = tmp_path / "out"
    result = build_site(site, out)  # runs named-checkconf -z when installed
    assert "res1" in result.servers
    res = out / "res1"
    conf = (res / "named.conf").read_text()
    # Recursion, queries and the cache for the clients of the internal view only.
    clients = "{ 127.0.0.1; !10.9.9.9; 10.0.0.0/8; };"
    assert "recursion yes;" in conf
    for name in ("allow-query", "allow-recursion", "allow-query-cache"):
        assert option(conf, name) == f"{name} {clients}", conf
    assert "any;" not in conf, "the external view's 'any' must not open the resolver"
    for line in (
        'directory "/srv/res1";',
        'pid-file "/srv/res1/named.pid";',
        'session-keyfile "/srv/res1/session.key";',
        "listen-on port 5353 { 127.0.0.1; };",
        "allow-transfer { none; };",
        "version none;",
        "minimal-responses yes;",
        "dnssec-validation auto;",
        'validate-except { "example.com."; "0.10.in-addr.arpa."; };',
        # rndc from this machine only, with the resolver's own key
        'controls { inet 127.0.0.1 port 953 allow { 127.0.0.1; } keys { "zonesmith-control"; }; };',
    ):
        assert line in conf, f"{line!r} not in:\n{conf}"
    # The lists as policy zones, in the server's order, each a primary zone.
    policy = conf[conf.index("response-policy {") :].split("}", 1)[0]
    assert policy.split()[2:] == [
        "zone",
        '"ads.rpz.zonesmith.";',
        "zone",
        '"zero.rpz.zonesmith.";',
        "zone",
        '"sink.rpz.zonesmith.";',
    ], policy
    assert "} qname-wait-recurse no break-dnssec yes;" in conf
    for stem in ("ads", "zero", "sink"):
        stanza = conf[conf.index(f'zone "{stem}.rpz.zonesmith." {{') :].split("};", 1)[0]
        assert "type primary;" in stanza
        assert f'file "/srv/res1/rpz/{stem}.rpz";' in stanza
    # The site's zones through forward zones to the servers of the internal view.
    for zone in ("example.com.", "0.10.in-addr.arpa."):
        stanza = conf[conf.index(f'zone "{zone}" {{') :].split("\n};", 1)[0]
        assert "type forward;" in stanza and "forward only;" in stanza
        assert "forwarders { 127.0.0.1 port 5300; 127.0.0.2 port 5300; }" in stanza
    # No TSIG key (the site has one, but a resolver transfers nothing): keys.conf
    # holds the control channel's key alone.
    assert (res / "keys.conf").read_text().count("key ") == 1
    assert (out / "ns1" / "keys.conf").exists(), "the site has keys"
    assert conf.count("include") == 1 and "key " not in conf and "secret" not in conf
    assert not (res / "nftables.conf").exists()
    # The RPZ data expresses each list's action.
    ads = (res / "rpz" / "ads.rpz").read_text()
    assert "$ORIGIN ads.rpz.zonesmith.\n" in ads
    assert "ads.example.net\tCNAME\t.\n*.ads.example.net\tCNAME\t.\n" in ads
    assert "ok.ads.example.net\tCNAME\trpz-passthru.\n" in ads
    assert "sub.ads.example.net" not in ads
    zero = (res / "rpz" / "zero.rpz").read_text()
    assert "zero.example.net\tA\t0.0.0.0\n" in zero and "*.zero.example.net\tAAAA\t::\n" in zero
    assert "under_score.example.org\tA\t0.0.0.0\n" in zero  # loads: check-names ignore
    assert "\nads.example.net" not in zero, "a name of an earlier list is not repeated"
    sink = (res / "rpz" / "sink.rpz").read_text()
    assert "sink.example.net\tAAAA\t2001:db8::80\n*.sink.example.net\tAAAA\t2001:db8::80\n" in sink
    # Deterministic: the same site gives the same bytes.
    first = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    build_site(site, out)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first


def test_a_resolver_without_views_or_lists(tmp_path: Path) -> None:
    config = """\
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1, path: /srv/ns1}
  res1: {software: bind, role: resolver, address: '2001:db8::53', path: /srv/res1}
sets:
  ns: {'@': [NS ns1.example.com.]}
zones:
  example.com: {include: [ns]}
"""
    site = unit_site(tmp_path, config)
    build_site(site, tmp_path / "out")
    conf = (tmp_path / "out" / "res1" / "named.conf").read_text()
    assert "listen-on { none; };" in conf and "listen-on-v6 port 53 { 2001:db8::53; };" in conf
    assert option(conf, "allow-recursion") == "allow-recursion { any; };"
    assert "response-policy" not in conf
    assert "forwarders { 192.0.2.1 port 53; }" in conf


def rules_of(tmp_path: Path, servers: str) -> list[tuple[str, str]]:
    config = (
        "servers:\n"
        + servers
        + "blocklists:\n  ads: {sources: [lists/ads.txt]}\n"
        + "views:\n  internal: {clients: [10.0.0.0/8]}\n"
    )
    site = unit_site(tmp_path, config)
    _, diagnostics = check_site(site)
    return [(d.rule, d.message) for d in diagnostics if d.is_error]


def test_bind_resolvers_may_carry_blocklists(tmp_path: Path) -> None:
    servers = (
        "  res1: {software: bind, role: resolver, address: 10.0.0.53, blocklists: [ads]}\n"
        "  res2: {software: unbound, role: resolver, address: 10.0.0.54, blocklists: [ads]}\n"
    )
    assert rules_of(tmp_path, servers) == []


@pytest.mark.parametrize(
    ("server", "problem"),
    [
        ("{software: bind, role: primary, address: 10.0.0.1", "a primary answers for its own"),
        ("{software: nsd, role: resolver, address: 10.0.0.53", "cannot give blocklists to nsd"),
        ("{software: knot, role: resolver, address: 10.0.0.53", "cannot give blocklists to knot"),
    ],
)
def test_other_servers_may_not(tmp_path: Path, server: str, problem: str) -> None:
    found = rules_of(tmp_path, f"  x: {server}, blocklists: [ads]}}\n")
    messages = [message for rule, message in found if rule == "blocklist-needs-unbound"]
    assert len(messages) == 1, found
    assert problem in messages[0]
    assert "unbound (local-zone lines) or bind (response policy zones)" in messages[0]


@pytest.mark.skipif(find_tool("named-checkconf") is None, reason="named-checkconf missing")
def test_named_checkconf_loads_the_policy_zones(tmp_path: Path, monkeypatch) -> None:
    """A broken RPZ file is reported at its line, and nothing is written."""
    from zonesmith.drivers import rpz

    original = rpz.render_rpz

    def broken(compiled, names):
        text = original(compiled, names)
        return text + "bad.example\tA\tnot-an-address\n" if compiled.name == "zero" else text

    monkeypatch.setattr(rpz, "render_rpz", broken)
    site = unit_site(tmp_path)
    with pytest.raises(SiteError) as raised:
        build_site(site, tmp_path / "out")
    problems = raised.value.diagnostics
    assert {d.rule for d in problems if d.is_error} == {"named-checkconf"}, problems
    assert any("out/res1/rpz/zero.rpz" in str(d.position) for d in problems), problems
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- end to end

SERVER = "127.0.0.1"
CLIENT = "127.0.0.1"  # in the internal view
OUTSIDER = "127.0.0.2"  # in no view the resolver serves

E2E_SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
views:
  internal: {{clients: [127.0.0.1]}}
  external: {{clients: [any]}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {ns_port}, path: {ns_path}}}
  res1:
    software: bind
    role: resolver
    address: 127.0.0.1
    port: {res_port}
    path: {res_path}
    views: [internal]
    blocklists: [ads, zero, sink]
sets:
  ns: {{'@': [NS ns1.example.com.]}}
zones:
  example.com: {{include: [ns]}}
  0.0.10.in-addr.arpa: {{include: [ns], reverse-of: [example.com], views: [internal]}}
blocklists:
  ads:
    sources: [lists/hosts.txt]
    allow: [lists/allow.txt]
  zero:
    sources: [lists/zero.txt]
    action: null
  sink:
    sources: [lists/sink.txt]
    action: {{sinkhole: 127.0.0.80}}
"""
EXAMPLE_COM = """\
ns1: A 10.0.0.1
www: A 203.0.113.10
intranet: {view: internal, records: [A 10.0.0.20]}
tracker: A 203.0.113.29
'*.tracker': A 203.0.113.31
ok.tracker: A 203.0.113.30
deeper.ok.tracker: A 203.0.113.32
"""
E2E_LISTS = {
    "lists/hosts.txt": (
        "127.0.0.1 localhost\n"
        "0.0.0.0 ads.example.net\n"
        "0.0.0.0 tracker.example.com\n"  # the site's own zone: blocked, one name allowed
    ),
    "lists/allow.txt": "ok.tracker.example.com\n",
    "lists/zero.txt": "||zero.example.net^\n",
    "lists/sink.txt": "*.sink.example.net\n",
}


@dataclass
class Fleet:
    out: Path
    ns_port: int
    res_port: int

    def ask(self, name: str, rdtype: str = "A", source: str = CLIENT):
        return query(name, rdtype, SERVER, self.res_port, source=source, timeout=3.0)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    if not (find_tool("named") and find_tool("named-checkconf")):
        pytest.skip("not installed: named, named-checkconf")
    base = tmp_path_factory.mktemp("bind-resolver")
    site, out = base / "site", base / "out"
    ns_port = free_port(SERVER)
    res_port = free_port(SERVER)
    for _ in range(20):  # bounded: two random draws rarely agree
        if res_port != ns_port:
            break
        res_port = free_port(SERVER)
    assert res_port != ns_port
    config = E2E_SITE.format(
        ns_port=ns_port,
        res_port=res_port,
        ns_path=json.dumps(str(out / "ns1")),
        res_path=json.dumps(str(out / "res1")),
    )
    write_site(site, config, {"example.com.yaml": EXAMPLE_COM}, files=E2E_LISTS)
    update = json.loads(ok(zonesmith("blocklist", "update", site, "--json")).stdout)
    assert update["ok"] is True, update
    ok(zonesmith("build", site, "-o", out))
    with (
        start_named(out / "ns1" / "named.conf", SERVER, ns_port, "example.com", base / "ns1.log"),
        start_named(
            out / "res1" / "named.conf",
            SERVER,
            res_port,
            "example.com",
            base / "res1.log",
            probe=any_answer,
        ),
    ):
        yield Fleet(out, ns_port, res_port)


@pytest.mark.parametrize(
    "name",
    [
        "ads.example.net.",
        "deep.below.ads.example.net.",
        "tracker.example.com.",  # the primary answers 203.0.113.29: the blocklist wins
        "x.tracker.example.com.",  # the zone's *.tracker answers 203.0.113.31
    ],
)
@pytest.mark.servers
@requires("named", "named-checkconf")
def test_blocked_names_and_subdomains_do_not_exist(fleet: Fleet, name: str) -> None:
    response = fleet.ask(name)
    assert response.rcode() == dns.rcode.NXDOMAIN, response
    assert not response.answer, response


@pytest.mark.servers
@requires("named", "named-checkconf")
def test_the_blocked_names_of_the_site_exist_on_the_primary(fleet: Fleet) -> None:
    """So the NXDOMAIN above comes from the policy, not from the zone."""
    for name, address in (("tracker", "203.0.113.29"), ("x.tracker", "203.0.113.31")):
        direct = query(f"{name}.example.com.", "A", SERVER, fleet.ns_port, source=CLIENT)
        assert answers(direct) == [address], direct


@pytest.mark.parametrize("name", ["zero.example.net.", "a.b.zero.example.net."])
@pytest.mark.servers
@requires("named", "named-checkconf")
def test_null_blocklist_answers_the_unspecified_address(fleet: Fleet, name: str) -> None:
    assert answers(fleet.ask(name, "A"), "A") == ["0.0.0.0"]
    assert answers(fleet.ask(name, "AAAA"), "AAAA") == ["::"]


@pytest.mark.parametrize("name", ["sink.example.net.", "www.sink.example.net."])
@pytest.mark.servers
@requires("named", "named-checkconf")
def test_sinkhole_blocklist_answers_the_sinkhole(fleet: Fleet, name: str) -> None:
    response = fleet.ask(name)
    assert response.rcode() == dns.rcode.NOERROR, response
    assert answers(response) == ["127.0.0.80"]


@pytest.mark.servers
@requires("named", "named-checkconf")
def test_allowed_names_below_a_blocked_one_resolve(fleet: Fleet) -> None:
    """ok.tracker is allowed under the blocked tracker: the site's own records come back."""
    response = fleet.ask("ok.tracker.example.com.")
    assert response.rcode() == dns.rcode.NOERROR, response
    assert answers(response) == ["203.0.113.30"]
    below = fleet.ask("deeper.ok.tracker.example.com.")
    assert answers(below) == ["203.0.113.32"], below


@pytest.mark.servers
@requires("named", "named-checkconf")
def test_internal_names_resolve_through_the_primary(fleet: Fleet) -> None:
    assert answers(fleet.ask("www.example.com.")) == ["203.0.113.10"]
    assert answers(fleet.ask("intranet.example.com.")) == ["10.0.0.20"]  # internal view only
    ptr = fleet.ask("20.0.0.10.in-addr.arpa.", "PTR")  # below BIND's empty 10.in-addr.arpa
    assert answers(ptr, "PTR") == ["intranet.example.com."], ptr
    private = fleet.ask("1.1.10.in-addr.arpa.", "PTR")  # outside the site: the empty zone
    assert private.rcode() == dns.rcode.NXDOMAIN, private
    missing = fleet.ask("nothing.example.com.")
    assert missing.rcode() == dns.rcode.NXDOMAIN, missing


@pytest.mark.servers
@requires("named", "named-checkconf")
def test_clients_outside_the_view_are_refused(fleet: Fleet) -> None:
    response = fleet.ask("www.example.com.", source=OUTSIDER)
    assert response.rcode() == dns.rcode.REFUSED, response
    assert fleet.ask("ads.example.net.", source=OUTSIDER).rcode() == dns.rcode.REFUSED


@pytest.mark.servers
@requires("named", "named-checkconf")
def test_the_resolver_folder_is_complete(fleet: Fleet) -> None:
    res = fleet.out / "res1"
    assert sorted(p.name for p in (res / "rpz").iterdir()) == ["ads.rpz", "sink.rpz", "zero.rpz"]
    # No TSIG key: keys.conf holds the control channel's key alone.
    assert (res / "keys.conf").read_text().count("key ") == 1
    ads = (res / "rpz" / "ads.rpz").read_text()
    assert "ok.tracker.example.com\tCNAME\trpz-passthru.\n" in ads
    assert "\nlocalhost\t" not in ads  # a hosts file's own names are skipped
