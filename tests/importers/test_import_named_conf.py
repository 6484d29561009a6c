"""Importers: a BIND configuration (views, keys, zones) becomes a site that answers the same."""

from __future__ import annotations

from pathlib import Path

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest
import yaml
from import_helpers import (
    SECRET,
    add_server,
    ok,
    write,
)
from servers import free_port, query, requires, start_named
from sites import zonesmith

from zonesmith.importers import parse_named_conf

SOURCE = "127.0.0.1"  # a loopback source that lands in the internal view
OUTSIDER = "127.0.0.2"  # one that lands in the external view


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
