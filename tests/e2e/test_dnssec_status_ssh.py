"""`status` of signed zones on servers reached over SSH: a real sshd on loopback.

The fleet of test_dnssec_status.py (b1, a BIND signer; k1, a Knot signer; n1, an NSD
secondary), every server's ``host:`` the sshd's URL: the keys (``rndc dnssec -status``,
``keymgr list``), each server's next signature expiry (a signer's whole zone by AXFR,
the secondary's apex by dig or kdig) and the parent's DS are all read on the host
through the system's OpenSSH client, as for servers on other machines. The servers run on this
machine, so what they serve is asked here with dnspython to check what status shows.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

import dns.name
import dns.rdatatype
import pytest
from servers import requires
from sites import checkout_env, zonesmith
from sshd import Sshd, start_sshd
from test_dnssec_status import WAIT, Fleet, do_query, served_keys, start_fleet

pytestmark = [
    pytest.mark.servers,
    requires("named", "knotd", "nsd", "rndc", "keymgr", "dig", "sshd"),
    pytest.mark.skipif(os.geteuid() != 0, reason="sshd lets the test in as root"),
]


@pytest.fixture(scope="module")
def ssh_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Fleet, Sshd]]:
    root = tmp_path_factory.mktemp("dnssec-status-ssh")
    with start_sshd(root / "sshd") as sshd, ExitStack() as stack:
        env = checkout_env()
        env["ZONESMITH_SSH_OPTIONS"] = f"-F {sshd.client_config}"
        fleet = Fleet(root, sshd.url, env)
        start_fleet(fleet, stack)
        yield fleet, sshd


def status(fleet: Fleet, *options: str) -> subprocess.CompletedProcess[str]:
    return zonesmith("status", fleet.site, *options, env=fleet.env)


def report(fleet: Fleet) -> tuple[int, dict]:
    """``status --json``: its exit status and its report."""
    done = status(fleet, "--json")
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def by_zone(found: dict) -> dict[str, dict]:
    return {zone["zone"]: zone for zone in found["signed"]}


def ds_state(fleet: Fleet, state: str) -> dict:
    """sub.example.com's report once its DS check is ``state`` (bounded: the signer signs
    the parent a moment after an apply reloads it)."""
    deadline = time.monotonic() + WAIT
    while True:
        child = by_zone(report(fleet)[1])["sub.example.com"]
        if child["ds"]["state"] == state or time.monotonic() > deadline:
            return child
        time.sleep(0.5)


def served_expiry(zone: str, port: int, apex_only: bool = False) -> str:
    """The earliest expiration of the RRSIGs the server at ``port`` serves in ``zone``, as
    status shows it: every RRset of every name of the NSEC chain (``apex_only``: the
    apex's), each asked with DO set."""
    origin = dns.name.from_text(zone)
    name, expirations = origin, []
    while True:
        response = do_query(name.to_text(), "NSEC", port)
        nsec = [r for r in response.answer if r.rdtype == dns.rdatatype.NSEC and r.name == name]
        if not nsec:
            # A delegation: the parent refers NSEC questions at it to the child; its NSEC
            # is the one that proves the name right after it does not exist.
            after = dns.name.Name((name.labels[0] + b"\x00", *name.labels[1:]))
            response = do_query(after.to_text(), "A", port)
            nsec = [r for r in response.authority if r.rdtype == dns.rdatatype.NSEC]
            nsec = [r for r in nsec if r.name == name]
            expirations += [
                sig.expiration
                for r in response.authority
                if r.rdtype == dns.rdatatype.RRSIG and r.name == name
                for sig in r
            ]
        assert nsec, f"no NSEC at {name} on port {port}"
        _, *types = nsec[0][0].to_text().split()
        for rdtype in types:
            if rdtype == "RRSIG":
                continue
            expirations += [
                sig.expiration
                for r in do_query(name.to_text(), rdtype, port).answer
                if r.rdtype == dns.rdatatype.RRSIG and r.name == name
                for sig in r
            ]
        name = nsec[0][0].next
        if apex_only or name == origin:
            break
    return f"{datetime.fromtimestamp(min(expirations), UTC):%Y-%m-%d %H:%M:%S}"


def test_keys_expiries_and_parent_ds_read_over_ssh(ssh_fleet: tuple[Fleet, Sshd]) -> None:
    site, sshd = ssh_fleet
    ports = site.ports
    before = sshd.accepted()
    code, found = report(site)
    assert sshd.accepted() > before  # read on the host, through sshd
    zones = by_zone(found)
    assert set(zones) == {"example.com", "sub.example.com", "example.net"}

    # The keys as the signers tell them, the keys they serve.
    bind_zone, knot_zone = zones["example.com"], zones["sub.example.com"]
    assert bind_zone["keys_error"] is None and knot_zone["keys_error"] is None
    [csk] = bind_zone["keys"]
    assert csk["tag"] in served_keys("example.com", ports["b1"])
    assert (csk["role"], csk["algorithm"]) == ("CSK", "ECDSAP256SHA256")
    assert "zone signing" in csk["state"] and "key signing" in csk["state"]
    live = served_keys("sub.example.com", ports["k1"])
    assert {k["tag"]: k["role"] for k in knot_zone["keys"]} == {
        tag: "KSK" if flags & 1 else "ZSK" for tag, flags in live.items()
    }
    assert {k["state"] for k in knot_zone["keys"] if k["role"] == "ZSK"} == {"active"}

    # The parent's DS, asked on b1's host: the site's bogus one, then the live key's.
    assert knot_zone["ds"]["state"] == "ds mismatch" and code == 1
    assert knot_zone["ds"]["ds_tags"] == [11111]
    site.apply()
    child = ds_state(site, "match")
    assert child["ds"]["state"] == "match", child["ds"]
    assert child["ds"]["ds_tags"] == sorted(t for t, f in live.items() if f & 1)

    # Every server's next expiry, the earliest signature it serves, and all green.
    shown = status(site)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "not read" not in shown.stdout and "unknown" not in shown.stdout
    for zone, signer in (("example.com", "b1"), ("sub.example.com", "k1"), ("example.net", "k1")):
        whole = served_expiry(zone, ports[signer])
        apex = served_expiry(zone, ports["n1"], apex_only=True)
        assert f"  {signer}: next signature expiry {whole} UTC (in " in shown.stdout
        assert f"  n1: next signature expiry {apex} UTC (in " in shown.stdout
    assert "example.net: signed by k1 (policy short, signature-refresh 1h)" in shown.stdout
    assert "  parent DS at example.com: match" in shown.stdout
    for key in bind_zone["keys"] + knot_zone["keys"]:
        assert f"  key {key['tag']:>5} {key['role']} {key['algorithm']}: {key['state']}" in (
            shown.stdout
        )
    _, found = report(site)
    for zone in found["signed"]:
        assert {s["read_by"] for s in zone["servers"]} == {"axfr", "query"}
        assert {s["state"] for s in zone["servers"]} == {"ok"}


def test_red_when_the_refresh_is_larger_than_the_time_left(ssh_fleet: tuple[Fleet, Sshd]) -> None:
    site, _ = ssh_fleet
    # The servers signed with 3h / 100m; the site now refreshes 4h ahead of expiry.
    site.configure(validity="6h", refresh="4h")
    try:
        shown = status(site)
        code, found = report(site)
    finally:
        site.configure()
    assert shown.returncode == 1 and code == 1
    assert "not ok: example.net on k1: signatures expiring" in shown.stderr
    assert "not ok: example.net on n1: signatures expiring" in shown.stderr
    assert "not ok: example.com" not in shown.stderr
    assert "example.net: signed by k1 (policy short, signature-refresh 4h)" in shown.stdout
    assert found["ok"] is False
    short = by_zone(found)["example.net"]
    assert {s["server"]: s["state"] for s in short["servers"]} == {
        "k1": "signatures expiring",
        "n1": "signatures expiring",
    }
    assert all(0 < s["left"] < 4 * 3600 for s in short["servers"])


@requires("kdig")
def test_a_host_with_kdig_and_no_dig(ssh_fleet: tuple[Fleet, Sshd], tmp_path: Path) -> None:
    """A Knot host often has knot-dnsutils only: its servers' signatures and the parent's
    DS are read with kdig there, as its SOA questions and transfers are."""
    site, _ = ssh_fleet
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in Path("/usr/bin").iterdir():
        if tool.name != "dig":
            (tools / tool.name).symlink_to(tool)
    with start_sshd(tmp_path / "sshd", path=f"{tools}:/usr/sbin:/sbin") as kdig_only:
        env = dict(site.env or {}, ZONESMITH_SSH_OPTIONS=f"-F {kdig_only.client_config}")
        before = site.host, site.env
        site.host, site.env = kdig_only.url, env
        site.configure()
        try:
            probe = subprocess.run(
                ["ssh", "-F", str(kdig_only.client_config), kdig_only.url, "command -v dig"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            shown = status(site)
            code, found = report(site)
        finally:
            site.host, site.env = before
            site.configure()
    assert probe.returncode != 0, probe.stdout  # the host really has no dig
    assert kdig_only.accepted() > 0
    assert "not read" not in shown.stdout and "unknown" not in shown.stdout
    assert "neither dig" not in shown.stdout + shown.stderr
    short = by_zone(found)["example.net"]
    assert {s["server"]: (s["read_by"], s["state"]) for s in short["servers"]} == {
        "k1": ("axfr", "ok"),
        "n1": ("query", "ok"),
    }
    apex = served_expiry("example.net", site.ports["n1"], apex_only=True)
    assert f"  n1: next signature expiry {apex} UTC (in " in shown.stdout
    child = by_zone(found)["sub.example.com"]
    assert child["ds"]["state"] in ("match", "ds mismatch"), child["ds"]
    assert child["ds"]["ds_tags"], child["ds"]
