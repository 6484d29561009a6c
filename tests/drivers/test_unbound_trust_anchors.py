"""An Unbound resolver of the site validates the site's signed zones whose live keys are known."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdata
from sites import write_site, zonesmith

from zonesmith.compile.live_keys import KEYS_FILE

CONFIG = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.test., contact: hostmaster@example.test}}
dnssec-policies:
  standard: {{}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: 15311, path: {out}/ns1}}
  res1: {{software: unbound, role: resolver, address: 127.0.0.1, port: 15312, path: {out}/res1}}
zones:
  example.test: {{dnssec: standard}}
  sub.example.test: {{dnssec: standard}}
  unsigned.example.test: {{}}
  island.example: {{dnssec: standard}}
  plain.example: {{}}
"""
RECORDS = "'@': NS ns1.example.test.\n"
PARENT = RECORDS + "ns1: A 127.0.0.1\nsub: NS ns1.example.test.\nunsigned: NS ns1.example.test.\n"


def key(seed: int) -> str:
    return "257 3 13 " + base64.b64encode(bytes([seed]) * 64).decode()


def ds(zone: str, text: str) -> str:
    rdata = dns.rdata.from_text("IN", "DNSKEY", text)
    return dns.dnssec.make_ds(dns.name.from_text(zone), rdata, "SHA256").to_text()


def anchor_lines(tmp_path: Path, known: dict[str, str]) -> list[str]:
    """The validation lines of res1's unbound.conf with ``known`` (zone -> key) recorded."""
    out = tmp_path / "out"
    zones = {
        "example.test.yaml": PARENT,
        "sub.example.test.yaml": RECORDS,
        "unsigned.example.test.yaml": RECORDS,
        "island.example.yaml": RECORDS,
        "plain.example.yaml": RECORDS,
    }
    site = write_site(tmp_path / "site", CONFIG.format(out=out), zones)
    state = {zone: {"default": [text]} for zone, text in known.items()}
    (site / KEYS_FILE).write_text(json.dumps({"keys": state, "version": 1}))
    result = zonesmith("build", site, "-o", out)  # unbound-checkconf reads the anchors
    assert result.returncode == 0, result.stdout + result.stderr
    conf = (out / "res1/unbound.conf").read_text().splitlines()
    return [line.strip() for line in conf if "trust-anchor:" in line or "domain-insecure:" in line]


def test_islands_get_anchors_children_of_signed_parents_nothing_others_insecure(
    tmp_path: Path,
) -> None:
    keys = {"example.test": key(1), "sub.example.test": key(2), "island.example": key(3)}
    lines = anchor_lines(tmp_path, keys)
    assert sorted(lines) == sorted(
        [
            f'trust-anchor: "example.test. DS {ds("example.test.", keys["example.test"])}"',
            f'trust-anchor: "island.example. DS {ds("island.example.", keys["island.example"])}"',
            'domain-insecure: "unsigned.example.test."',
            'domain-insecure: "plain.example."',
        ]
    )


def test_zones_whose_keys_are_not_known_yet_stay_insecure(tmp_path: Path) -> None:
    keys = {"sub.example.test": key(2)}  # the parent's keys are not known: the child is an island
    lines = anchor_lines(tmp_path, keys)
    sub = ds("sub.example.test.", keys["sub.example.test"])
    assert sorted(lines) == sorted(
        [
            'domain-insecure: "example.test."',
            f'trust-anchor: "sub.example.test. DS {sub}"',
            'domain-insecure: "unsigned.example.test."',
            'domain-insecure: "island.example."',
            'domain-insecure: "plain.example."',
        ]
    )
