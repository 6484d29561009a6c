"""Importers: an operator brings master files, a live server, a named.conf or octoDNS.

The stories: master files (and a zone transferred from a live server) become a
site whose built zones hold exactly the records dnspython reads from the
originals, minus the SOA serial, with the shared NS and mail records factored
into sets; a BIND configuration with two views becomes a site whose build,
served by named, answers every question as the original does; an octoDNS
configuration becomes a site and goes back out to octoDNS without losing a
record. Whatever an importer cannot carry over, it says, and it never
overwrites a site file unless told to.
"""

from __future__ import annotations

import base64
import json
import os
import textwrap
from pathlib import Path

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdatatype
import dns.rrset
import dns.zone
import pytest
import yaml
from servers import free_port, query, requires, start_named
from sites import zonesmith

from zonesmith.importers import parse_named_conf

SOURCE = "127.0.0.1"  # a loopback source that lands in the internal view
OUTSIDER = "127.0.0.2"  # one that lands in the external view
SECRET = base64.b64encode(b"zonesmith-test-transfer-key-32by").decode()

# --------------------------------------------------------------------------- inputs

EXAMPLE_COM = """\
$ORIGIN example.com.
$TTL 3600
@        IN SOA  ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300
@        IN NS   ns1.example.com.
@        IN NS   ns2.example.net.
@        IN MX   10 mx1.example.com.
@        IN TXT  "v=spf1 mx -all"
_dmarc   IN TXT  "v=DMARC1; p=reject"
ns1      IN A    192.0.2.1
mx1      IN A    192.0.2.25
www  300 IN CNAME @
on       IN A    192.0.2.9
no       IN TXT  "yes"
1        IN A    192.0.2.10
*.dev    IN A    192.0.2.30
two      IN TXT  "a" "b;c" "quote\\"d"
dkim     IN TXT  "{dkim}" "{dkim_tail}"
_sip._tcp 600 IN SRV 10 5 5060 sip.example.com.
sip      IN AAAA 2001:db8::5
@        IN CAA  0 issue "letsencrypt.org"
"""
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 6
EXAMPLE_COM = EXAMPLE_COM.format(dkim=DKIM[:255], dkim_tail=DKIM[255:])

# No $ORIGIN, no absolute SOA owner: the zone comes from the file name.
EXAMPLE_NET = """\
$TTL 1h
@    IN SOA ns1.example.com. hostmaster.example.com. 5 7200 900 1209600 300
@    IN NS  ns1.example.com.
@    IN NS  ns2.example.net.
@    IN MX  10 mx1.example.com.
@    IN TXT "v=spf1 mx -all"
_dmarc IN TXT "v=DMARC1; p=reject"
ns2  IN A   198.51.100.2
www  IN A   198.51.100.1
"""

# Its own name servers' TTL, SOA and contact: not shared, overrides in the site.
OTHER_ORG = """\
other.org.     600 IN SOA  ns9.other.org. admin\\.person.other.org. 1 3600 600 86400 60
other.org.     600 IN NS   ns1.example.com.
other.org.     600 IN NS   ns9.other.org.
ns9.other.org. 600 IN A    192.0.2.99
www.other.org. 600 IN AAAA 2001:db8::1
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def records(zone: dns.zone.Zone) -> set[tuple[dns.name.Name, int, int, dns.rdata.Rdata]]:
    """(name, type, ttl, rdata) of a zone, with the SOA serial set to 0."""
    found = set()
    for name, ttl, rdata in zone.iterate_rdatas():
        if rdata.rdtype == dns.rdatatype.SOA:
            rdata = rdata.replace(serial=0)
        found.add((name, int(rdata.rdtype), ttl, rdata))
    return found


def add_server(site: Path, out: Path, port: int = 5399, address: str = "127.0.0.1") -> None:
    """Point the site's server ns1 at a loopback port, running from OUT/ns1."""
    config = yaml.safe_load((site / "zonesmith.yaml").read_text())
    config["servers"] = {
        "ns1": {
            "software": "bind",
            "role": "primary",
            "address": address,
            "port": port,
            "path": str((out / "ns1").resolve()),
        }
    }
    (site / "zonesmith.yaml").write_text(yaml.safe_dump(config, sort_keys=False))


def built_zone(out: Path, zone: str, view: str | None = None) -> dns.zone.Zone:
    folder = out / "ns1" / "zones" / (view or "")
    return dns.zone.from_file(str(folder / f"{zone}.zone"), zone, relativize=False)


def ok(result) -> None:
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- master files


@pytest.mark.parametrize("fmt", ["yaml", "zone"])
def test_master_files_become_a_site_that_builds_the_same_records(tmp_path: Path, fmt: str):
    files = [
        write(tmp_path / "in" / "example.com.zone", EXAMPLE_COM),
        write(tmp_path / "in" / "db.example.net", EXAMPLE_NET),
        write(tmp_path / "in" / "other.org.zone", OTHER_ORG),
    ]
    site, out = tmp_path / "site", tmp_path / "out"

    result = zonesmith("import", "zonefile", *files, "--site", site, "--format", fmt)
    ok(result)
    assert "[origin-from-file-name]" in result.stderr + result.stdout
    assert (site / "zones" / f"example.com.{fmt}").is_file()

    config = yaml.safe_load((site / "zonesmith.yaml").read_text())
    # The records every zone repeats are written once, as sets the zones include.
    assert config["sets"]["ns"] == {"@": ["NS ns1.example.com.", "NS ns2.example.net."]}
    assert config["sets"]["mail"] == {
        "@": ["MX 10 mx1.example.com.", 'TXT "v=spf1 mx -all"'],
        "_dmarc": 'TXT "v=DMARC1; p=reject"',
    }
    assert config["zones"]["example.com"] == {"include": ["ns", "mail"]}
    assert config["zones"]["example.net"] == {"include": ["ns", "mail"]}
    # The most common SOA values and TTL are the defaults; other.org overrides them.
    assert config["defaults"]["ttl"] == "1h"
    assert config["defaults"]["soa"] == {
        "primary": "ns1.example.com.",
        "contact": "hostmaster@example.com",
        "refresh": "2h",
        "retry": "15m",
        "expire": "2w",
        "negative-ttl": "5m",
    }
    assert config["zones"]["other.org"]["ttl"] == "10m"
    assert config["zones"]["other.org"]["soa"]["contact"] == "admin.person@other.org"

    add_server(site, out)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    for name, source in (
        ("example.com", files[0]),
        ("example.net", files[1]),
        ("other.org", files[2]),
    ):
        original = dns.zone.from_file(str(source), name, relativize=False)
        assert records(built_zone(out, name)) == records(original), name


def test_yaml_quotes_what_yaml_would_misread(tmp_path: Path):
    source = write(tmp_path / "example.com.zone", EXAMPLE_COM)
    ok(zonesmith("import", "zonefile", source, "--site", tmp_path / "site"))
    text = (tmp_path / "site" / "zones" / "example.com.yaml").read_text()
    for owner in ("'@'", "'on'", "'no'", "'1'", "'*.dev'"):
        assert f"\n{owner}:" in text, owner
    assert "www: 300 CNAME @" in text


def test_an_import_never_overwrites_a_site_file_without_force(tmp_path: Path):
    source = write(tmp_path / "example.net.zone", EXAMPLE_NET)
    site = tmp_path / "site"
    ok(zonesmith("import", "zonefile", source, "--site", site))
    (site / "zonesmith.yaml").write_text("# my edits\n")

    again = zonesmith("import", "zonefile", source, "--site", site, "--format", "zone")
    assert again.returncode == 1
    assert "[file-exists]" in again.stdout and "--force" in again.stdout
    assert (site / "zonesmith.yaml").read_text() == "# my edits\n"
    assert not (site / "zones" / "example.net.zone").exists()

    ok(zonesmith("import", "zonefile", source, "--site", site, "--format", "zone", "--force"))
    assert (site / "zones" / "example.net.zone").is_file()
    assert not (site / "zones" / "example.net.yaml").exists()  # replaced, not left beside it


def test_the_origin_comes_from_the_option_or_the_file(tmp_path: Path):
    relative = write(tmp_path / "zonedata", EXAMPLE_NET)
    failed = zonesmith("import", "zonefile", relative, "--site", tmp_path / "a")
    assert failed.returncode == 1
    assert "[no-origin]" in failed.stdout and "--origin" in failed.stdout
    assert not (tmp_path / "a" / "zonesmith.yaml").exists()

    ok(
        zonesmith(
            "import", "zonefile", relative, "--origin", "example.net", "--site", tmp_path / "b"
        )
    )
    assert "example.net" in yaml.safe_load((tmp_path / "b" / "zonesmith.yaml").read_text())["zones"]


def test_what_cannot_be_carried_over_is_reported_with_its_place(tmp_path: Path):
    source = write(
        tmp_path / "signed.zone",
        """\
        $ORIGIN signed.test.
        $TTL 300
        @   SOA ns1 hostmaster 1 3600 600 86400 300
        @   NS  ns1
        ns1 A   192.0.2.1
        @   NSEC ns1.signed.test. NS SOA NSEC
        www A   192.0.2.300
        """,
    )
    result = zonesmith("import", "zonefile", source, "--site", tmp_path / "site", "--json")
    report = json.loads(result.stdout)
    rules = {(d["rule"], d["line"]) for d in report["diagnostics"]}
    assert ("dnssec-records-dropped", 6) in rules
    assert ("bad-rdata", 7) in rules  # an error in the input: nothing is written
    assert not report["ok"] and report["written"] == []
    assert result.returncode == 1 and "Traceback" not in result.stderr


# --------------------------------------------------------------------------- named.conf parsing


def test_the_named_conf_reader_understands_comments_strings_and_nesting(tmp_path: Path):
    conf = write(
        tmp_path / "named.conf",
        """\
        // a comment with "quotes" and { braces }
        # a shell comment
        /* a C comment
           over two lines */ options { directory "/var/named"; };
        acl "a b" { 10.0.0.0/8; { 192.0.2.1; }; !key "k"; };
        view "v" { match-clients { "a b"; }; zone "x.test" { type primary; file "x;y"; }; };
        """,
    )
    statements, problems = parse_named_conf(conf)
    assert problems == []
    options, acl, view = statements
    assert options.position.line == 4 and options.keyword == "options"
    assert acl.arg(1) == "a b"
    assert [s.arg(0) for s in acl.block.statements] == ["10.0.0.0/8", None, "!key"]
    zone = view.block.statements[1]
    assert zone.block.statements[1].arg(1) == "x;y"


def test_named_conf_syntax_errors_name_their_line_and_column(tmp_path: Path):
    conf = write(
        tmp_path / "named.conf",
        """\
        options {
            directory "/tmp"
        };
        zone "a.test" { type primary; file "a"; }
        zone "b.test" { type primary; file "b"; };
        view "open" {
        """,
    )
    result = zonesmith("import", "named-conf", conf, "--site", tmp_path / "site")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stdout.splitlines()
    assert any(":3:1: error: [conf-syntax] missing ';' before '}'" in line for line in lines)
    assert any(
        ":4:41: error: [conf-syntax] missing ';' after '}' of zone" in line for line in lines
    )
    assert any(":6:13: error: [conf-syntax] '{' is never closed" in line for line in lines)
    assert not (tmp_path / "site").exists()


def test_named_conf_features_zonesmith_cannot_express_are_warnings(tmp_path: Path):
    write(
        tmp_path / "a.db",
        "$TTL 1h\n@ SOA ns1.a.test. h.a.test. 1 1h 1h 1w 1h\n@ NS ns1\nns1 A 192.0.2.1\n",
    )
    conf = write(
        tmp_path / "named.conf",
        f"""\
        options {{ directory "{tmp_path}"; dnssec-validation auto; }};
        dlz "mysql" {{ database "dbname=secret-password"; }};
        zone "a.test" {{ type primary; file "a.db"; allow-update {{ any; }}; }};
        zone "b.test" {{ type secondary; primaries {{ 192.0.2.1; }}; file "b.db"; }};
        zone "." {{ type hint; file "root.hints"; }};
        """,
    )
    result = zonesmith("import", "named-conf", conf, "--site", tmp_path / "site")
    ok(result)
    out = result.stdout
    assert "named.conf:1:" in out and "dnssec-validation auto" in out
    assert "named.conf:2:1: warning: [not-carried-over] 'dlz \"mysql\"'" in out
    assert "secret-password" not in out  # a statement's contents are never echoed
    assert "named.conf:3:" in out and "allow-update" in out
    assert "named.conf:4:1: warning: [secondary-zone]" in out
    assert "named.conf:5:1: warning: [unsupported-zone-type]" in out
    assert "[server-not-inferred]" in out


# --------------------------------------------------------------------------- live servers

NAMED_CONF = """\
// The office's name server, kept by hand until now.
include "keys.conf";   # the transfer key

acl "office" {{ 127.0.0.1; 10.0.0.0/8; }};

options {{
    directory "{directory}";
    listen-on port {port} {{ 127.0.0.1; }};
    listen-on-v6 {{ none; }};
    pid-file "named.pid";
    session-keyfile "session.key";
    managed-keys-directory "{directory}";
    recursion no;
    allow-transfer {{ key "xfr"; }};
    /* transfers need the key,
       from anywhere */
}};

controls {{ }};

view "internal" {{
    match-clients {{ office; }};
    zone "example.com" {{ type primary; file "internal/example.com.db"; }};
    zone "example.org" IN {{ type master; file "example.org.db"; }};
}};

view "external" {{
    match-clients {{ any; }};
    zone "example.com" {{ type primary; file "external/example.com.db"; }};
    zone "example.org" {{ in-view "internal"; }};
    zone "example.net" {{ type primary; file "example.net.db"; }};
}};
"""
KEYS_CONF = f"""\
key "xfr" {{
    algorithm hmac-sha256;
    secret "{SECRET}";
}};
"""
COMMON_COM = """\
$TTL 1h
@     SOA  ns1.example.com. hostmaster.example.com. 1 3h 1h 2w 1h
@     NS   ns1.example.com.
@     NS   ns2.example.com.
@     MX   10 mx1.example.com.
ns1   A    127.0.0.1
ns2   A    127.0.0.2
"""
ZONE_FILES = {
    "internal/example.com.db": COMMON_COM
    + "mx1 A 10.0.0.25\nwww A 10.0.0.80\nintranet A 10.0.0.20\n_ldap._tcp SRV 0 0 389 ldap\n"
    + "ldap A 10.0.0.30\n",
    "external/example.com.db": COMMON_COM
    + "mx1 A 203.0.113.25\nwww 300 A 203.0.113.80\n*.cdn CNAME www\n",
    "example.org.db": """\
        $TTL 30m
        @   SOA  ns1.example.com. hostmaster.example.com. 7 3h 1h 2w 1h
        @   NS   ns1.example.com.
        @   NS   ns2.example.com.
        @   TXT  "v=spf1 -all"
        www CNAME www.example.com.
        """,
    "example.net.db": """\
        $TTL 1h
        @   SOA  ns1.example.com. hostmaster.example.com. 9 3h 1h 2w 5m
        @   NS   ns1.example.com.
        @   NS   ns2.example.com.
        @   A    203.0.113.7
        """,
}

# Questions to both servers, from both views' sources.
QUESTIONS = [
    ("example.com", "SOA"),
    ("example.com", "NS"),
    ("example.com", "MX"),
    ("www.example.com", "A"),
    ("mx1.example.com", "A"),
    ("intranet.example.com", "A"),
    ("_ldap._tcp.example.com", "SRV"),
    ("img.cdn.example.com", "A"),
    ("nothing.example.com", "A"),
    ("ns1.example.com", "AAAA"),
    ("example.org", "TXT"),
    ("www.example.org", "CNAME"),
    ("example.net", "A"),
    ("example.net", "MX"),
]


@pytest.fixture(scope="module")
def office(tmp_path_factory):
    """The hand-kept BIND server of the story, running on a loopback port."""
    root = tmp_path_factory.mktemp("office")
    port = free_port()
    write(root / "named.conf", NAMED_CONF.format(directory=root / "zones", port=port))
    write(root / "keys.conf", KEYS_CONF)
    for name, text in ZONE_FILES.items():
        write(root / "zones" / name, text)
    # named reads include files relative to its working directory, as BIND always has.
    with start_named(
        root / "named.conf", "127.0.0.1", port, "example.com", root / "named.log", cwd=root
    ):
        yield root, port


def normalized(response: dns.message.Message) -> tuple:
    """What a client sees, with SOA serials left out (the site numbers its own)."""

    def section(rrsets: list[dns.rrset.RRset]) -> list[str]:
        texts = []
        for rrset in rrsets:
            for rdata in rrset:
                if rdata.rdtype == dns.rdatatype.SOA:
                    rdata = rdata.replace(serial=0)
                texts.append(
                    f"{rrset.name} {rrset.ttl} {dns.rdatatype.to_text(rdata.rdtype)} {rdata}"
                )
        return sorted(texts)

    return (
        response.rcode(),
        bool(response.flags & dns.flags.AA),
        section(response.answer),
        section(response.authority),
    )


@pytest.mark.servers
@requires("named")
def test_a_named_conf_with_views_becomes_a_site_that_answers_the_same(office, tmp_path: Path):
    root, port = office
    site, out = tmp_path / "site", tmp_path / "out"

    result = zonesmith("import", "named-conf", root / "named.conf", "--site", site)
    ok(result)
    config = yaml.safe_load((site / "zonesmith.yaml").read_text())
    assert config["views"] == {
        "internal": {"clients": ["127.0.0.1", "10.0.0.0/8"]},
        "external": {"clients": ["any"]},
    }
    assert config["keys"] == {"xfr": {"algorithm": "hmac-sha256", "secret-file": "secrets/xfr.key"}}
    secret_file = site / "secrets" / "xfr.key"
    assert oct(secret_file.stat().st_mode & 0o777) == "0o600"
    assert SECRET not in (site / "zonesmith.yaml").read_text()
    assert config["servers"]["ns1"] == {
        "software": "bind", "role": "primary", "address": "127.0.0.1", "port": port,
    }  # fmt: skip
    assert config["zones"]["example.net"]["views"] == ["external"]
    zone_yaml = yaml.safe_load((site / "zones" / "example.com.yaml").read_text())
    assert zone_yaml["intranet"] == {"view": "internal", "records": ["A 10.0.0.20"]}
    assert "allow-transfer" in result.stdout  # what the build will not keep is said

    # The site's server answers on another port, from the build.
    new_port = free_port()
    add_server(site, out, new_port)
    ok(zonesmith("build", site, "-o", out))
    with start_named(out / "ns1" / "named.conf", "127.0.0.1", new_port, "example.com",
                     tmp_path / "built.log"):  # fmt: skip
        answers = {}
        for source in (SOURCE, OUTSIDER):
            for name, rdtype in QUESTIONS:
                before = query(name, rdtype, "127.0.0.1", port, source=source)
                after = query(name, rdtype, "127.0.0.1", new_port, source=source)
                assert normalized(after) == normalized(before), (source, name, rdtype)
                answers[source, name, rdtype] = normalized(after)
    # The two views really answer differently, and the built server keeps them apart.
    assert answers[SOURCE, "intranet.example.com", "A"][2] == [
        "intranet.example.com. 3600 A 10.0.0.20"
    ]
    assert answers[OUTSIDER, "intranet.example.com", "A"][0] == dns.rcode.NXDOMAIN
    assert answers[SOURCE, "example.net", "A"][0] == dns.rcode.REFUSED  # external only
    assert answers[OUTSIDER, "www.example.com", "A"][2] == ["www.example.com. 300 A 203.0.113.80"]


@pytest.mark.servers
@requires("named")
def test_zones_transferred_from_a_live_server_become_a_site(office, tmp_path: Path):
    root, port = office
    key_file = write(tmp_path / "xfr.key", KEYS_CONF)  # a tsig-keygen key statement will do
    site = tmp_path / "site"

    refused = zonesmith("import", "axfr", "127.0.0.1", "example.com", "--port", port,
                        "--site", site)  # fmt: skip
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "[axfr-failed]" in refused.stdout and "REFUSED" in refused.stdout
    assert "--key" in refused.stdout
    assert not (site / "zonesmith.yaml").exists()

    wrong = write(tmp_path / "wrong.key", base64.b64encode(b"not-the-key" * 3).decode())
    rejected = zonesmith("import", "axfr", "127.0.0.1", "example.com", "--port", port,
                         "--key", f"xfr:hmac-sha256:{wrong}", "--site", site)  # fmt: skip
    assert rejected.returncode == 1 and "Traceback" not in rejected.stderr
    assert "rejected the TSIG key 'xfr'" in rejected.stdout, rejected.stdout

    result = zonesmith("import", "axfr", "127.0.0.1", "example.com", "example.org",
                       "--port", port, "--key", f"xfr:hmac-sha256:{key_file}",
                       "--site", site)  # fmt: skip
    ok(result)
    out = tmp_path / "out"
    add_server(site, out)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    for name in ("example.com", "example.org"):  # from 127.0.0.1: the internal view
        original = dns.zone.from_file(str(root / "zones" / {
            "example.com": "internal/example.com.db", "example.org": "example.org.db"
        }[name]), name, relativize=False)  # fmt: skip
        assert records(built_zone(out, name)) == records(original), name


def test_a_bad_key_argument_is_explained(tmp_path: Path):
    result = zonesmith("import", "axfr", "127.0.0.1", "example.com", "--key", "xfr:md9:nofile",
                       "--site", tmp_path / "site")  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "unknown TSIG algorithm 'md9'" in result.stdout


# --------------------------------------------------------------------------- octoDNS

OCTODNS_CONFIG = """\
---
manager:
  max_workers: 2
providers:
  config:
    class: octodns.provider.yaml.YamlProvider
    directory: ./config
    default_ttl: 3600
    enforce_order: true
  route53:
    class: octodns_route53.Route53Provider
    access_key_id: env/AWS_ACCESS_KEY_ID
zones:
  example.com.:
    sources: [config]
    targets: [route53]
"""
OCTODNS_ZONE = """\
---
'':
  - type: A
    values: [192.0.2.1, 192.0.2.2]
  - type: CAA
    values:
      - flags: 0
        tag: issue
        value: letsencrypt.org
  - type: MX
    values:
      - exchange: mx1.example.com.
        preference: 10
      - priority: 20
        value: mx2.example.com.
  - type: NS
    values: [ns1.example.com., ns2.example.net.]
  - type: TXT
    values:
      - v=spf1 include:_spf.example.com ~all
      - 'v=DKIM1\\;k=rsa\\;p=abc'
'*':
  type: CNAME
  value: www.example.com.
_sip._tcp:
  ttl: 600
  type: SRV
  values:
    - port: 5060
      priority: 10
      target: sip.example.com.
      weight: 20
alias:
  type: ALIAS
  value: www.example.com.
dyn:
  dynamic:
    pools: {}
  type: A
  value: 192.0.2.7
ns1:
  type: A
  value: 192.0.2.53
sshfp:
  type: SSHFP
  value:
    algorithm: 1
    fingerprint: bf6b6825d2977c511a475bbefb88aad54a92ac73
    fingerprint_type: 1
tlsa._tcp:
  type: TLSA
  value:
    certificate_association_data: ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
    certificate_usage: 3
    matching_type: 1
    selector: 1
www:
  - ttl: 300
    type: A
    value: 192.0.2.80
  - type: AAAA
    value: 2001:db8::80
"""
OCTODNS_EQUIVALENT = """\
$ORIGIN example.com.
$TTL 3600
@ A 192.0.2.1
@ A 192.0.2.2
@ CAA 0 issue "letsencrypt.org"
@ MX 10 mx1.example.com.
@ MX 20 mx2.example.com.
@ NS ns1.example.com.
@ NS ns2.example.net.
@ TXT "v=spf1 include:_spf.example.com ~all"
@ TXT "v=DKIM1;k=rsa;p=abc"
* CNAME www.example.com.
_sip._tcp 600 SRV 10 20 5060 sip.example.com.
dyn A 192.0.2.7
ns1 A 192.0.2.53
sshfp SSHFP 1 1 bf6b6825d2977c511a475bbefb88aad54a92ac73
tlsa._tcp TLSA 3 1 1 ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB
www 300 A 192.0.2.80
www AAAA 2001:db8::80
"""


def site_records(site: Path, out: Path, zone: str) -> set:
    add_server(site, out)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    return {r for r in records(built_zone(out, zone)) if r[1] != dns.rdatatype.SOA}


def test_an_octodns_config_becomes_a_site_and_goes_back_to_octodns(tmp_path: Path):
    config = write(tmp_path / "octo" / "production.yaml", OCTODNS_CONFIG)
    write(tmp_path / "octo" / "config" / "example.com.yaml", OCTODNS_ZONE)
    expected = {
        r
        for r in records(
            dns.zone.from_text(
                "@ SOA a. b. 1 1 1 1 1\n" + OCTODNS_EQUIVALENT, "example.com", relativize=False
            )
        )
        if r[1] != dns.rdatatype.SOA
    }

    site = tmp_path / "site"
    result = zonesmith("import", "octodns", config, "--site", site)
    ok(result)
    out = result.stdout
    assert "config/example.com.yaml:" in out  # warnings point into the zone file
    assert "alias ALIAS is not carried over" in out.replace("alias.example.com.", "alias")
    assert "'dynamic' rules are not carried over" in out
    assert "[soa-invented]" in out and "[octodns-targets]" in out
    assert "production.yaml:2:1: warning: [not-carried-over] 'manager'" in out
    assert site_records(site, tmp_path / "out1", "example.com") == expected

    # ... and back out to octoDNS, then in again: not a record lost or changed.
    exported = tmp_path / "exported"
    ok(zonesmith("export", "octodns", site, "-o", exported))
    zone_file = exported / "zones" / "example.com.yaml"
    data = yaml.safe_load(zone_file.read_text())
    assert data["_sip._tcp"] == {
        "ttl": 600,
        "type": "SRV",
        "value": {"port": 5060, "priority": 10, "target": "sip.example.com.", "weight": 20},
    }
    assert "v=DKIM1\\;k=rsa\\;p=abc" in [
        v for r in data[""] if r["type"] == "TXT" for v in r["values"]
    ]
    octo_config = yaml.safe_load((exported / "octodns.yaml").read_text())
    assert octo_config["zones"] == {"example.com.": {"sources": ["zonesmith"], "targets": []}}

    again = tmp_path / "again"
    ok(zonesmith("import", "octodns", exported / "octodns.yaml", "--site", again))
    assert site_records(again, tmp_path / "out2", "example.com") == expected


def test_exporting_a_site_with_views_says_what_is_left_out(tmp_path: Path):
    site = tmp_path / "site"
    write(site / "zonesmith.yaml", """\
        defaults:
          soa: {primary: ns1.example.com., contact: hostmaster@example.com}
        views:
          internal: {clients: [10.0.0.0/8]}
          external: {clients: [any]}
        zones:
          example.com: {}
          corp.example: {views: [internal]}
        """)  # fmt: skip
    write(site / "zones" / "example.com.yaml", """\
        '@': NS ns1.example.com.
        ns1: A 192.0.2.1
        hinfo: HINFO "PC" "Linux"
        intranet: {view: internal, records: [A 10.0.0.1]}
        """)  # fmt: skip
    write(site / "zones" / "corp.example.yaml", "'@': NS ns1.example.com.\n")
    result = zonesmith("export", "octodns", site, "-o", tmp_path / "octo", "--view", "external")
    ok(result)
    assert "[views-dropped]" in result.stdout and "internal" in result.stdout
    assert "[zones-dropped]" in result.stdout and "corp.example" in result.stdout
    assert "example.com.yaml:3:" in result.stdout and "octoDNS has no HINFO" in result.stdout
    data = yaml.safe_load((tmp_path / "octo" / "zones" / "example.com.yaml").read_text())
    assert "intranet" not in data and "hinfo" not in data
    assert not (tmp_path / "octo" / "zones" / "corp.example.yaml").exists()

    again = zonesmith("export", "octodns", site, "-o", tmp_path / "octo")
    assert again.returncode == 1 and "[file-exists]" in again.stdout


def test_import_commands_report_missing_files_without_tracebacks(tmp_path: Path):
    for args in (
        ("zonefile", tmp_path / "missing.zone"),
        ("named-conf", tmp_path / "missing.conf"),
        ("octodns", tmp_path / "missing.yaml"),
    ):
        result = zonesmith("import", *args, "--site", tmp_path / "site")
        assert result.returncode == 1, args
        assert "no such file" in result.stdout and "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists() or not os.listdir(tmp_path / "site")
