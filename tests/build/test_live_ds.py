"""A parent zone of the site gets its signed child's DS from the key state (zonesmith.keys)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import dns.dnssec
import dns.name
import dns.rdata
import dns.zone
from sites import write_site, zonesmith

from zonesmith.compile.live_keys import KEYS_FILE
from zonesmith.pipeline import check_site

CONFIG = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.test., contact: hostmaster@example.test}
dnssec-policies:
  standard: {}
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1}
zones:
  example.test: {}
  sub.example.test: {dnssec: standard}
"""
PARENT = "'@': NS ns1.example.test.\nns1: A 192.0.2.1\nsub: NS ns1.example.test.\n"
CHILD = "'@': NS ns1.example.test.\nwww: A 192.0.2.10\n"
HAND_DS = "12345 13 2 " + "ab" * 32


def dnskey(flags: int, seed: int) -> str:
    """A DNSKEY text of algorithm 13 with 64 octets of key made from ``seed``."""
    return f"{flags} 3 13 " + base64.b64encode(bytes([seed]) * 64).decode()


KSK, ZSK = dnskey(257, 1), dnskey(256, 2)


def site_with(root: Path, parent: str = PARENT, keys: list[str] | None = None) -> Path:
    site = write_site(root, CONFIG, {"example.test.yaml": parent, "sub.example.test.yaml": CHILD})
    if keys is not None:
        state = {"keys": {"sub.example.test": {"default": keys}}, "version": 1}
        (site / KEYS_FILE).write_text(json.dumps(state))
    return site


def parent_ds(site: Path, out: Path) -> set[str]:
    """The DS records at sub.example.test. in the parent's zone file of the build."""
    result = zonesmith("build", site, "-o", out, "--no-server-checks")
    assert result.returncode == 0, result.stdout + result.stderr
    zone = dns.zone.from_file(str(out / "ns1/zones/example.test.zone"), "example.test.")
    found = zone.get_rdataset("sub", "DS")
    return {ds.to_text() for ds in found} if found else set()


def expected_ds(*keys: str) -> set[str]:
    name = dns.name.from_text("sub.example.test.")
    return {
        dns.dnssec.make_ds(name, dns.rdata.from_text("IN", "DNSKEY", key), "SHA256").to_text()
        for key in keys
    }


def test_the_key_state_gives_the_parent_the_ds_of_the_childs_sep_keys(tmp_path: Path) -> None:
    site = site_with(tmp_path / "site", keys=[ZSK, KSK])
    assert parent_ds(site, tmp_path / "out") == expected_ds(KSK)  # the ZSK has no DS
    _, diagnostics = check_site(site)
    assert not [d for d in diagnostics if d.rule == "missing-ds"]


def test_live_ds_replace_hand_written_ones_for_that_child(tmp_path: Path) -> None:
    parent = PARENT.replace(
        "sub: NS ns1.example.test.", f"sub: [NS ns1.example.test., DS {HAND_DS}]"
    )
    site = site_with(tmp_path / "site", parent, keys=[KSK])
    assert parent_ds(site, tmp_path / "out") == expected_ds(KSK)


def test_no_key_state_no_ds_and_the_missing_ds_warning(tmp_path: Path) -> None:
    site = site_with(tmp_path / "site")
    assert parent_ds(site, tmp_path / "out") == set()
    result = zonesmith("check", site)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if "[missing-ds]" in line]
    assert len(warnings) == 1 and "apply adds the DS" in warnings[0], result.stdout


def test_a_new_key_changes_the_parents_serial_and_ds(tmp_path: Path) -> None:
    site = site_with(tmp_path / "site", keys=[KSK])
    out = tmp_path / "out"
    assert parent_ds(site, out) == expected_ds(KSK)
    first = (out / "ns1/zones/example.test.zone").read_bytes()
    assert parent_ds(site, out) == expected_ds(KSK)
    assert (out / "ns1/zones/example.test.zone").read_bytes() == first  # same state, same bytes
    rolled = dnskey(257, 3)
    (site / KEYS_FILE).write_text(
        json.dumps({"keys": {"sub.example.test": {"default": [KSK, rolled]}}, "version": 1})
    )
    assert parent_ds(site, out) == expected_ds(KSK, rolled)
    zone = dns.zone.from_file(str(out / "ns1/zones/example.test.zone"), "example.test.")
    before = dns.zone.from_text(first.decode(), "example.test.")
    assert zone.get_soa().serial != before.get_soa().serial


def test_a_damaged_key_state_is_one_sentence(tmp_path: Path) -> None:
    site = site_with(tmp_path / "site")
    (site / KEYS_FILE).write_text('{"keys": {"sub.example.test": {"default": ["257 3 13 !"]}}}')
    for command in ("check", "build"):
        result = zonesmith(command, site, *(["-o", tmp_path / "out"] if command == "build" else []))
        assert result.returncode == 1
        assert "Traceback" not in result.stderr + result.stdout
        output = (result.stdout + result.stderr).splitlines()
        lines = [line for line in output if line.startswith(str(site / KEYS_FILE))]
        assert len(lines) == 1 and "[bad-state] cannot read the key state" in lines[0], lines
