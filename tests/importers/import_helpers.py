"""Helpers and inputs shared by the importer tests: files, built zones, the office's BIND server."""

from __future__ import annotations

import base64
import textwrap
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdatatype
import dns.zone
import yaml

SECRET = base64.b64encode(b"zonesmith-test-transfer-key-32by").decode()


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
