"""Importers: an octoDNS configuration becomes a site and goes back out to octoDNS."""

from __future__ import annotations

from pathlib import Path

import dns.rdatatype
import dns.zone
import yaml
from import_helpers import (
    add_server,
    built_zone,
    ok,
    records,
    write,
)
from sites import zonesmith

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
      - v=spf1 include:_spf.example.net ~all
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
@ TXT "v=spf1 include:_spf.example.net ~all"
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
