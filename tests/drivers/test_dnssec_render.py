"""What the signers' configurations say for the site's DNSSEC policies (checkers run)."""

from __future__ import annotations

import re
from pathlib import Path

from sites import write_site, zonesmith

CONFIG = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
  dnssec: standard
keys:
  ext: {{algorithm: hmac-sha256, secret-file: secrets/ext.key}}
views:
  internal: {{clients: [10.0.0.0/8]}}
  external: {{clients: [any], key: ext}}
dnssec-policies:
  standard: {{signature-validity: 30d, signature-refresh: 7d}}
  split: {{keys: ksk+zsk, zsk-lifetime: 90d, nsec: nsec3, ds: cds}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: 15301, path: {out}/ns1}}
  ns2: {{software: bind, role: secondary, address: 127.0.0.2, port: 15301, path: {out}/ns2,
        primaries: [ns1], views: [external]}}
  ns3: {{software: knot, role: primary, address: 127.0.0.3, port: 15301, path: {out}/ns3,
        views: [internal]}}
zones:
  example.com: {{servers: [ns1, ns2]}}
  example.net: {{dnssec: split, servers: [ns3], views: [internal]}}
  example.org: {{dnssec: split, servers: [ns1, ns2]}}
"""
RECORDS = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"


def built(tmp_path: Path, config: str = CONFIG) -> Path:
    out = tmp_path / "out"
    zones = {f"example.{tld}.yaml": RECORDS for tld in ("com", "net", "org")}
    secret = {"secrets/ext.key": "ZXh0LXRyYW5zZmVyLXNlY3JldC0wMTIzNDU2Nzg5YWI=\n"}
    site = write_site(tmp_path / "site", config.format(out=out), zones, secret)
    result = zonesmith("build", site, "-o", out)  # runs named-checkconf -z and knotc conf-check
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def test_a_bind_primary_signs_with_named_policies_and_a_key_folder_per_view(
    tmp_path: Path,
) -> None:
    out = built(tmp_path)
    conf = (out / "ns1/named.conf").read_text()
    assert re.findall(r'^dnssec-policy "(\w+)"', conf, re.M) == ["split", "standard"]
    assert 'dnssec-policy "default"' not in conf
    assert "signatures-validity PT2592000S;" in conf  # 30d
    assert "zsk key-directory lifetime PT7776000S algorithm ecdsap256sha256;" in conf
    assert "nsec3param iterations 0 optout no salt-length 0;" in conf
    for view in ("internal", "external"):
        assert f'key-directory "{out}/ns1/keys/{view}";' in conf
        assert (out / f"ns1/keys/{view}").is_dir()
    assert conf.count("inline-signing yes;") == 4  # two signed zones in two views
    # the secondary serves what it transfers: it signs nothing
    assert "dnssec-policy" not in (out / "ns2/named.conf").read_text()


def test_a_knot_primary_gets_a_policy_and_signs_its_zone(tmp_path: Path) -> None:
    out = built(tmp_path)
    conf = (out / "ns3/knot.conf").read_text()
    policy = conf.split("policy:\n", 1)[1].split("\n\n", 1)[0]
    assert '  - id: "split"' in policy
    assert "single-type-signing: off" in policy and "zsk-lifetime: 7776000" in policy
    assert "cds-cdnskey-publish: always" in policy and "nsec3-iterations: 0" in policy
    assert '    dnssec-policy: "split"' in conf and "dnssec-signing: on" in conf
    assert f'kasp-db: "{out}/ns3/kasp"' in conf


def test_unsigned_zones_get_no_signing(tmp_path: Path) -> None:
    config = CONFIG.replace("  dnssec: standard\n", "").replace("dnssec: split, ", "")
    out = built(tmp_path, config)
    assert "dnssec-policy" not in (out / "ns1/named.conf").read_text()
    assert "policy:" not in (out / "ns3/knot.conf").read_text()
    assert not (out / "ns1/keys").exists()


def test_a_knot_signed_zone_keeps_its_signed_zone_in_the_journal_and_unsigned_ones_do_not(
    tmp_path: Path,
) -> None:
    config = CONFIG.replace("  dnssec: standard\n", "").replace(
        "example.com: {{servers: [ns1, ns2]}}", "example.com: {{servers: [ns1, ns2, ns3]}}"
    )
    out = built(tmp_path, config)
    conf = (out / "ns3/knot.conf").read_text()
    blocks = conf.split("zone:\n", 1)[1].split("  - domain: ")
    zones = {block.split("\n", 1)[0]: block for block in blocks}
    signed, unsigned = zones['"example.net."'], zones['"example.com."']
    # the signed zone starts from the journal and takes only what changed in its zone file
    assert "journal-content: all\n" in signed and "zonefile-load: difference\n" in signed
    assert "dnssec-signing: on" in signed and "zonefile-sync: -1" in signed
    # an unsigned zone is loaded whole from its zone file, as before
    assert "journal-content: none\n" in unsigned and "zonefile-load" not in unsigned
    assert "dnssec-signing" not in unsigned and "zonefile-sync: -1" in unsigned
    assert f'journal-db: "{out}/ns3/journal"' in conf
