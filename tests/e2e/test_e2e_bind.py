"""End to end: a site becomes a BIND primary with split-horizon views.

The story: an operator keeps example.com (with an internal and an external view),
an old master file for example.org, two reverse zones derived from example.com,
and shared NS and mail record sets in one site. ``zonesmith build`` turns it into
``OUT/ns1/``; ``named -g -c OUT/ns1/named.conf`` serves it on a loopback port.
Queries from 127.0.0.1 land in the internal view, queries from 127.0.0.2 in the
external one.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import pytest
from mail_records import rsa_key
from servers import RunningServer, free_port, query, requires, start_named
from sites import zonesmith

pytestmark = [pytest.mark.servers, requires("named")]

ROOT = Path(__file__).resolve().parents[2]

INTERNAL = "127.0.0.1"  # query sources: views match on the client address
EXTERNAL = "127.0.0.2"
SERVER = "127.0.0.1"

ZONESMITH_YAML = Template(
    """\
defaults:
  ttl: 1h
  soa:
    primary: ns1.example.com.
    contact: hostmaster@example.com
    refresh: 3h
    retry: 1h
    expire: 2w
    negative-ttl: 1h

views:
  internal: {clients: [127.0.0.1]}
  external: {clients: [any]}

servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, port: $port, path: $path}

sets:
  ns:
    '@': [NS ns1.example.com., NS ns2.example.com.]
  mail:
    '@': [MX 10 mx1.example.com., 'TXT "v=spf1 mx -all"']
    _dmarc: 'TXT "v=DMARC1; p=reject"'

zones:
  example.com: {include: [ns, mail]}
  example.org: {include: [mail]}
  113.0.203.in-addr.arpa: {include: [ns], reverse-of: [example.com]}
  0.0.10.in-addr.arpa: {include: [ns], reverse-of: [example.com]}
"""
)

# A TXT record longer than 255 octets, written by the author as one string.
DKIM = "v=DKIM1; k=rsa; p=" + rsa_key(2048)  # a key that decodes (rule dkim-syntax)
assert len(DKIM) > 255

EXAMPLE_COM_YAML = f"""\
'@': [A 203.0.113.10, AAAA 2001:db8::10]
ns1: A 203.0.113.1
ns2: A 203.0.113.2
mx1: A 203.0.113.26
www: CNAME @
mail: 300 A 203.0.113.25
intranet: {{view: internal, records: [A 10.0.0.20]}}
staging: {{view: internal, records: [A 203.0.113.60]}}
'*.dev': {{ttl: 5m, records: [A 192.0.2.30]}}
portal:
  - {{view: internal, records: [A 10.0.0.40]}}
  - {{view: external, records: [CNAME www]}}
s1._domainkey: 'TXT "{DKIM}"'
"""

# An existing master file, SOA and all: the site's SOA replaces this one.
EXAMPLE_ORG_ZONE = """\
$ORIGIN example.org.
$TTL 3600
@       IN SOA  old-ns.example.org. admin.example.org. 42 7200 900 604800 300
@       IN NS   ns1.example.com.
@       IN NS   ns2.example.com.
www     IN A    198.51.100.80
"""

INTERNAL_ONLY_ADDRESSES = ("10.0.0.20", "10.0.0.40", "203.0.113.60")


# --------------------------------------------------------------------------- helpers


def write_site(root: Path, out: Path, port: int, example_com: str = EXAMPLE_COM_YAML) -> Path:
    """The story's site in ``root``; its server ns1 runs from ``out/ns1``."""
    (root / "zones").mkdir(parents=True, exist_ok=True)
    path = json.dumps(str((out / "ns1").resolve()))  # a YAML double-quoted string
    (root / "zonesmith.yaml").write_text(ZONESMITH_YAML.substitute(port=port, path=path))
    (root / "zones" / "example.com.yaml").write_text(example_com)
    (root / "zones" / "example.org.zone").write_text(EXAMPLE_ORG_ZONE)
    return root


def run_build(site: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return zonesmith("build", site, "-o", out, cwd=site)


def build_ok(site: Path, out: Path) -> subprocess.CompletedProcess[str]:
    result = run_build(site, out)
    assert result.returncode == 0, (
        f"zonesmith build failed ({result.returncode})\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    assert (out / "ns1" / "named.conf").is_file(), sorted(
        str(p.relative_to(out)) for p in out.rglob("*")
    )
    return result


def snapshot(out: Path) -> dict[str, bytes]:
    """Every file under ``out`` by relative path, with its bytes."""
    return {
        str(p.relative_to(out)): p.read_bytes()
        for p in sorted(out.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def serve(out: Path, port: int, log: Path) -> RunningServer:
    return start_named(out / "ns1" / "named.conf", SERVER, port, "example.com", log_path=log)


def ask(port: int, name: str, rdtype: str, source: str, **kw) -> dns.message.Message:
    return query(name, rdtype, SERVER, port, source=source, **kw)


def rdatas(response: dns.message.Message, name: str, rdtype: str) -> list[str]:
    """Rdata texts of the answer RRset ``name``/``rdtype``, sorted."""
    for rrset in response.answer:
        if rrset.name.to_text() == name and rrset.rdtype == dns.rdatatype.from_text(rdtype):
            return sorted(r.to_text() for r in rrset)
    return []


def everything(response: dns.message.Message) -> str:
    """All records of a response as text, to look for leaks."""
    return "\n".join(
        rrset.to_text()
        for section in (response.answer, response.authority, response.additional)
        for rrset in section
    )


def rdatas_raw(response: dns.message.Message, name: str, rdtype: str) -> list:
    for rrset in response.answer:
        if rrset.name.to_text() == name and rrset.rdtype == dns.rdatatype.from_text(rdtype):
            return list(rrset)
    return []


def soa_of(port: int, zone: str, source: str):
    response = ask(port, zone, "SOA", source)
    assert response.rcode() == dns.rcode.NOERROR, response
    assert response.flags & dns.flags.AA, response
    (soa,) = rdatas_raw(response, zone, "SOA")
    return soa


def serial_newer(a: int, b: int) -> bool:
    """``a`` is after ``b`` in RFC 1982 serial number arithmetic."""
    return a != b and (a - b) % 2**32 < 2**31


def assert_answer(response, name, rdtype, expected, ttl=None):
    assert response.rcode() == dns.rcode.NOERROR, f"{name} {rdtype}:\n{response}"
    assert response.flags & dns.flags.AA, f"{name} {rdtype} not authoritative:\n{response}"
    assert rdatas(response, name, rdtype) == sorted(expected), f"{name} {rdtype}:\n{response}"
    if ttl is not None:
        (rrset,) = [
            r
            for r in response.answer
            if r.name.to_text() == name and r.rdtype == dns.rdatatype.from_text(rdtype)
        ]
        assert rrset.ttl == ttl, f"{name} {rdtype}: TTL {rrset.ttl}, expected {ttl}"


def assert_no_such_name(response, name):
    assert response.rcode() == dns.rcode.NXDOMAIN, f"{name} should not exist here:\n{response}"
    assert not response.answer, response


# --------------------------------------------------------------------------- one build, served


@dataclass
class Primary:
    port: int
    out: Path
    build: subprocess.CompletedProcess[str]

    def ask(self, name: str, rdtype: str, source: str, **kw) -> dns.message.Message:
        return ask(self.port, name, rdtype, source, **kw)


@pytest.fixture(scope="module")
def primary(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Primary]:
    base = tmp_path_factory.mktemp("bind-primary")
    port = free_port(SERVER)
    out = base / "out"
    site = write_site(base / "site", out, port)
    result = build_ok(site, out)
    with serve(out, port, base / "named.log"):
        yield Primary(port, out, result)


def test_internal_clients_see_the_internal_view(primary: Primary):
    ask = primary.ask
    assert_answer(
        ask("intranet.example.com.", "A", INTERNAL), "intranet.example.com.", "A", ["10.0.0.20"]
    )
    assert_answer(
        ask("staging.example.com.", "A", INTERNAL), "staging.example.com.", "A", ["203.0.113.60"]
    )
    portal = ask("portal.example.com.", "A", INTERNAL)
    assert_answer(portal, "portal.example.com.", "A", ["10.0.0.40"])
    assert not rdatas(portal, "portal.example.com.", "CNAME")


def test_external_clients_see_no_internal_record(primary: Primary):
    ask = primary.ask
    for name in ("intranet.example.com.", "staging.example.com."):
        assert_no_such_name(ask(name, "A", EXTERNAL), name)
    portal = ask("portal.example.com.", "A", EXTERNAL)
    assert portal.rcode() == dns.rcode.NOERROR, portal
    assert rdatas(portal, "portal.example.com.", "CNAME") == ["www.example.com."], portal
    assert rdatas(portal, "portal.example.com.", "A") == [], portal
    # The CNAME chain is followed inside the zone: portal -> www -> apex.
    assert rdatas(portal, "www.example.com.", "CNAME") == ["example.com."], portal
    assert rdatas(portal, "example.com.", "A") == ["203.0.113.10"], portal
    for name, rdtype in [
        ("portal.example.com.", "A"),
        ("portal.example.com.", "ANY"),
        ("example.com.", "A"),
        ("www.example.com.", "A"),
        ("intranet.example.com.", "A"),
        ("x.dev.example.com.", "A"),
    ]:
        text = everything(ask(name, rdtype, EXTERNAL, tcp=True))
        for address in INTERNAL_ONLY_ADDRESSES:
            assert address not in text, f"{address} leaks to the external view:\n{text}"


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
def test_records_of_every_view(primary: Primary, source: str):
    ask = primary.ask
    assert_answer(ask("example.com.", "A", source), "example.com.", "A", ["203.0.113.10"], ttl=3600)
    assert_answer(ask("example.com.", "AAAA", source), "example.com.", "AAAA", ["2001:db8::10"])
    assert_answer(
        ask("www.example.com.", "CNAME", source), "www.example.com.", "CNAME", ["example.com."]
    )
    assert_answer(
        ask("mail.example.com.", "A", source), "mail.example.com.", "A", ["203.0.113.25"], ttl=300
    )
    assert_answer(
        ask("anything.dev.example.com.", "A", source),
        "anything.dev.example.com.",
        "A",
        ["192.0.2.30"],
        ttl=300,
    )
    assert_no_such_name(ask("nothing.example.com.", "A", source), "nothing.example.com.")


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
@pytest.mark.parametrize("zone", ["example.com.", "example.org."])
def test_shared_sets_are_served(primary: Primary, source: str, zone: str):
    ask = primary.ask
    assert_answer(ask(zone, "NS", source), zone, "NS", ["ns1.example.com.", "ns2.example.com."])
    assert_answer(ask(zone, "MX", source), zone, "MX", ["10 mx1.example.com."])
    assert_answer(ask(zone, "TXT", source), zone, "TXT", ['"v=spf1 mx -all"'])
    dmarc = "_dmarc." + zone
    assert_answer(ask(dmarc, "TXT", source), dmarc, "TXT", ['"v=DMARC1; p=reject"'])


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
def test_sets_of_in_zone_name_servers_have_addresses(primary: Primary, source: str):
    ask = primary.ask
    assert_answer(ask("ns1.example.com.", "A", source), "ns1.example.com.", "A", ["203.0.113.1"])
    assert_answer(ask("ns2.example.com.", "A", source), "ns2.example.com.", "A", ["203.0.113.2"])


@pytest.mark.parametrize("tcp", [False, True])
def test_long_txt_is_split_into_strings(primary: Primary, tcp: bool):
    name = "s1._domainkey.example.com."
    response = primary.ask(name, "TXT", EXTERNAL, tcp=tcp)
    assert response.rcode() == dns.rcode.NOERROR, response
    (txt,) = rdatas_raw(response, name, "TXT")
    assert len(txt.strings) > 1, txt
    assert all(len(s) <= 255 for s in txt.strings), txt
    assert b"".join(txt.strings) == DKIM.encode()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            INTERNAL,
            {
                "10.113.0.203.in-addr.arpa.": "example.com.",
                "1.113.0.203.in-addr.arpa.": "ns1.example.com.",
                "25.113.0.203.in-addr.arpa.": "mail.example.com.",
                "60.113.0.203.in-addr.arpa.": "staging.example.com.",
                "20.0.0.10.in-addr.arpa.": "intranet.example.com.",
                "40.0.0.10.in-addr.arpa.": "portal.example.com.",
            },
        ),
        (
            EXTERNAL,
            {
                "10.113.0.203.in-addr.arpa.": "example.com.",
                "1.113.0.203.in-addr.arpa.": "ns1.example.com.",
                "25.113.0.203.in-addr.arpa.": "mail.example.com.",
                "60.113.0.203.in-addr.arpa.": None,
                "20.0.0.10.in-addr.arpa.": None,
                "40.0.0.10.in-addr.arpa.": None,
            },
        ),
    ],
)
def test_reverse_zones_follow_the_forward_zone_per_view(primary, source, expected):
    for name, target in expected.items():
        response = primary.ask(name, "PTR", source)
        if target is None:
            assert not response.answer, f"{name} PTR leaks to {source}:\n{response}"
            assert response.rcode() in (dns.rcode.NXDOMAIN, dns.rcode.REFUSED), response
        else:
            assert_answer(response, name, "PTR", [target])


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
def test_master_file_zone_gets_the_site_soa(primary: Primary, source: str):
    soa = soa_of(primary.port, "example.org.", source)
    assert soa.mname.to_text() == "ns1.example.com."
    assert soa.rname.to_text() == "hostmaster.example.com."
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (10800, 3600, 1209600, 3600)
    assert_answer(
        primary.ask("www.example.org.", "A", source), "www.example.org.", "A", ["198.51.100.80"]
    )


def test_master_file_soa_is_reported(primary: Primary):
    """The file's own SOA is reported (a warning: the build goes on) and replaced."""
    output = primary.build.stdout + primary.build.stderr
    assert re.search(r"example\.org\.zone(:\d+){0,2}: warning: \[", output), output


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
def test_every_zone_has_the_site_soa(primary: Primary, source: str):
    for zone in ("example.com.", "example.org.", "113.0.203.in-addr.arpa.", "0.0.10.in-addr.arpa."):
        if zone == "0.0.10.in-addr.arpa." and source == EXTERNAL:
            continue  # may or may not be served externally; it holds nothing there
        soa = soa_of(primary.port, zone, source)
        assert soa.mname.to_text() == "ns1.example.com.", zone
        assert soa.rname.to_text() == "hostmaster.example.com.", zone
        assert 0 < soa.serial < 2**32, zone


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
def test_no_recursion(primary: Primary, source: str):
    try:
        response = primary.ask("www.iana.org.", "A", source)  # RD is set
    except AssertionError as e:  # an authoritative-only server answers at once
        pytest.fail(f"no prompt answer for a name outside the site: recursing? {e}")
    assert not response.flags & dns.flags.RA, response
    assert not response.answer, response


@pytest.mark.parametrize("source", [INTERNAL, EXTERNAL])
def test_no_zone_transfer_without_declared_secondaries(primary: Primary, source: str):
    response = primary.ask("example.com.", "AXFR", source, tcp=True)
    assert response.rcode() != dns.rcode.NOERROR, response
    assert not response.answer, response


# --------------------------------------------------------------------------- rebuilds


def test_serials_stay_for_the_same_site_and_move_forward_on_change(tmp_path: Path):
    port = free_port(SERVER)
    out = tmp_path / "out"
    site = write_site(tmp_path / "site", out, port)

    build_ok(site, out)
    first = snapshot(out)
    assert first
    build_ok(site, out)
    assert snapshot(out) == first, "rebuilding the same site changed the output"

    def served() -> dict[tuple[str, str], int]:
        return {
            (zone, source): soa_of(port, zone, source).serial
            for zone in ("example.com.", "example.org.", "113.0.203.in-addr.arpa.")
            for source in (INTERNAL, EXTERNAL)
        }

    with serve(out, port, tmp_path / "named-1.log"):
        before = served()

    # Move mail.example.com; rebuild into the same OUT.
    changed = EXAMPLE_COM_YAML.replace("mail: 300 A 203.0.113.25", "mail: 300 A 203.0.113.27")
    assert changed != EXAMPLE_COM_YAML
    write_site(site, out, port, changed)
    build_ok(site, out)
    with serve(out, port, tmp_path / "named-2.log"):
        after = served()
        assert_answer(
            ask(port, "mail.example.com.", "A", EXTERNAL),
            "mail.example.com.",
            "A",
            ["203.0.113.27"],
        )
        assert_answer(
            ask(port, "27.113.0.203.in-addr.arpa.", "PTR", INTERNAL),
            "27.113.0.203.in-addr.arpa.",
            "PTR",
            ["mail.example.com."],
        )
    for key in before:
        zone, _ = key
        if zone == "example.org.":  # untouched by the change: keeps its serial
            assert after[key] == before[key], key
        else:
            assert serial_newer(after[key], before[key]), (key, before[key], after[key])

    # Delete OUT, change again: serials still move forward.
    shutil.rmtree(out)
    changed_again = changed.replace("A 203.0.113.27", "A 203.0.113.28")
    write_site(site, out, port, changed_again)
    build_ok(site, out)
    with serve(out, port, tmp_path / "named-3.log"):
        again = served()
        assert_answer(
            ask(port, "mail.example.com.", "A", INTERNAL),
            "mail.example.com.",
            "A",
            ["203.0.113.28"],
        )
    for key in before:
        zone, _ = key
        if zone != "example.org.":
            assert serial_newer(again[key], after[key]), (key, after[key], again[key])


def test_a_broken_site_fails_and_leaves_the_output_alone(tmp_path: Path):
    port = free_port(SERVER)
    out = tmp_path / "build" / "out"
    site = write_site(tmp_path / "site", out, port)
    build_ok(site, out)
    good = snapshot(out)

    bad_line = "broken: A 999.1.1.1"
    broken = EXAMPLE_COM_YAML + bad_line + "\n"
    line_number = broken.splitlines().index(bad_line) + 1
    write_site(site, out, port, broken)

    result = run_build(site, out)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    match = re.search(
        r"^(?P<path>\S*zones/example\.com\.yaml):(?P<line>\d+):(?P<col>\d+): "
        r"error: \[(?P<rule>[^\]\s]+)\] (?P<message>\S.*)$",
        output,
        re.MULTILINE,
    )
    assert match, f"no `path:line:col: error: [rule] message` for the bad record:\n{output}"
    assert int(match["line"]) == line_number, output
    assert 1 <= int(match["col"]) <= len(bad_line) + 1, output

    assert snapshot(out) == good, "a failed build changed OUT"
    assert sorted(os.listdir(out.parent)) == ["out"], "a failed build left files next to OUT"
