"""The drivers read a signed zone's keys from what the signers print: `rndc dnssec -status`
(BIND 9.18) and `keymgr -j ZONE list` (Knot), captured from running signers.

The keys parsed must be the DNSKEY set the signer serves (tags, and KSK/CSK where the
SEP bit is set); Knot's states follow the timestamps it prints, so real output with a
timestamp moved shows the next state.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

import dns.dnssec
import dns.flags
import dns.message
import dns.query
import dns.rdatatype
import pytest
from servers import free_ports, requires, start_knot, start_named
from sites import write_site, zonesmith

from zonesmith.drivers import driver_for
from zonesmith.pipeline import check_site, server_builds

pytestmark = [pytest.mark.servers, requires("named", "knotd", "rndc", "keymgr")]

CONFIG = """\
dnssec-policies:
  single: {{keys: csk}}
  pair: {{keys: ksk+zsk}}
defaults:
  ttl: 10m
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
servers:
  b1: {{software: bind, role: primary, address: 127.0.0.1, port: {b1}, path: {out}/b1,
       control-port: {ctl}}}
  k1: {{software: knot, role: primary, address: 127.0.0.1, port: {k1}, path: {out}/k1}}
zones:
  example.com: {{dnssec: single, servers: [b1]}}
  example.net: {{dnssec: pair, servers: [k1]}}
"""
RECORDS = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"


class Captured(NamedTuple):
    """What each signer printed for its zone, and the DNSKEY set it served (tag -> flags)."""

    bind_output: str
    knot_output: str
    bind_keys: dict[int, int]
    knot_keys: dict[int, int]


def served_keys(zone: str, port: int) -> dict[int, int]:
    deadline = time.monotonic() + 20
    while True:
        query = dns.message.make_query(zone, "DNSKEY", want_dnssec=True)
        query.flags &= ~dns.flags.RD
        response = dns.query.tcp(query, "127.0.0.1", port=port, timeout=2.0)
        keys = {
            dns.dnssec.key_id(key): key.flags
            for rrset in response.answer
            if rrset.rdtype == dns.rdatatype.DNSKEY
            for key in rrset
        }
        if keys or time.monotonic() > deadline:
            return keys
        time.sleep(0.2)


def run(argv: tuple[str, ...]) -> str:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Captured]:
    root = tmp_path_factory.mktemp("key-parsers")
    out = root / "out"
    ports = free_ports(("b1", "k1", "ctl"))
    site = write_site(
        root / "site",
        CONFIG.format(out=out, **ports),
        {"example.com.yaml": RECORDS, "example.net.yaml": RECORDS},
    )
    result = zonesmith("build", site, "-o", out)
    assert result.returncode == 0, result.stdout + result.stderr
    builds = server_builds(check_site(Path(site))[0])
    bind, knot = driver_for("bind"), driver_for("knot")
    assert bind is not None and knot is not None
    bind_command = bind.key_state_command(builds["b1"], "default", "example.com")
    knot_command = knot.key_state_command(builds["k1"], "default", "example.net")
    assert bind_command is not None and knot_command is not None
    with (
        start_named(out / "b1/named.conf", "127.0.0.1", ports["b1"], "example.com"),
        start_knot(out / "k1/knot.conf", "127.0.0.1", ports["k1"], "example.net"),
    ):
        bind_keys = served_keys("example.com", ports["b1"])
        knot_keys = served_keys("example.net", ports["k1"])
        yield Captured(run(bind_command.argv), run(knot_command.argv), bind_keys, knot_keys)


def roles(keys: dict[int, int], sep: str) -> dict[int, str]:
    return {tag: sep if flags & 1 else "ZSK" for tag, flags in keys.items()}


def test_rndc_dnssec_status_gives_the_served_keys(captured: Captured) -> None:
    bind = driver_for("bind")
    assert bind is not None
    keys = bind.key_states(captured.bind_output, datetime.now(UTC))
    assert {k.tag: k.role for k in keys} == roles(captured.bind_keys, "CSK")
    [key] = keys
    assert key.algorithm == "ECDSAP256SHA256"
    # A CSK that signs: BIND says so on its lines, and the states of its records.
    assert key.state == "published, key signing, zone signing"
    assert "goal omnipresent" in key.detail and "dnskey " in key.detail


def test_rndc_dnssec_status_of_a_key_that_stopped(captured: Captured) -> None:
    """BIND's lines for a key it no longer uses say "no": the key is then not published."""
    bind = driver_for("bind")
    assert bind is not None
    stopped = "\n".join(
        re.sub(r":(\s+)yes\b", r":\1no", line).replace("omnipresent", "hidden")
        if line.strip().startswith(("published", "key signing", "zone signing", "- goal"))
        else line
        for line in captured.bind_output.splitlines()
    )
    [key] = bind.key_states(stopped, datetime.now(UTC))
    assert key.state == "not published"
    assert "goal hidden" in key.detail


def test_keymgr_list_gives_the_served_keys_and_their_states(captured: Captured) -> None:
    knot = driver_for("knot")
    assert knot is not None
    keys = knot.key_states(captured.knot_output, datetime.now(UTC))
    assert {k.tag: k.role for k in keys} == roles(captured.knot_keys, "KSK")
    assert {k.algorithm for k in keys} == {"ECDSAP256SHA256"}
    by_role = {k.role: k for k in keys}
    assert by_role["ZSK"].state == "active"
    # Knot waits for the DS at the parent before a new KSK becomes active: "ready".
    assert by_role["KSK"].state in ("ready", "active")
    assert "publish 20" in by_role["ZSK"].detail


def test_keymgr_states_follow_the_timestamps(captured: Captured) -> None:
    knot = driver_for("knot")
    assert knot is not None
    listed = json.loads(captured.knot_output)
    zsk = next(key for key in listed if key["zsk"] and not key["ksk"])
    now = datetime.now(UTC)
    zsk["retire"] = int(now.timestamp()) - 60
    keys = {k.tag: k for k in knot.key_states(json.dumps(listed), now)}
    assert keys[zsk["tag"]].state == "retired"
    # Before its publish time a key is only created.
    early = datetime.fromtimestamp(zsk["publish"] - 60, UTC)
    assert {k.state for k in knot.key_states(captured.knot_output, early)} == {"created"}
    assert knot.key_states("", now) == [] and knot.key_states("not json", now) == []
