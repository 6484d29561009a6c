"""The plan as a value: JSON round trip, gates and acks, masked diffs, serial floors, journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from zonesmith.compile.serials import SerialState, serial_gt
from zonesmith.deploy.diff import file_diff, mask_secrets, parse_zone, rrset_diff
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.gates import refusal, unacknowledged, zone_gates
from zonesmith.deploy.journal import append, entries
from zonesmith.deploy.plan import FileChange, Gate, Plan, ServerPlan, ZoneChange
from zonesmith.drivers.command import Command

ZONE = """\
$ORIGIN example.org.
@ 3600 IN SOA ns1.example.org. hostmaster.example.org. 5 3600 600 86400 300
@ 3600 IN NS ns1.example.org.
ns1 3600 IN A 192.0.2.1
www 3600 IN A 192.0.2.80
"""


def sample_plan() -> Plan:
    server = ServerPlan(
        server="ns1",
        software="bind",
        role="primary",
        where="local",
        path="/srv/ns1",
        fingerprint="abc",
        files=(FileChange("named.conf", "changed", ("-a", "+b")),),
        zones=(ZoneChange("example.org", "_default", "changed", 5, 6, ("+ www",), (), 1, 3),),
        commands=(Command(("rndc", "reload", "example.org"), "reload zone example.org"),),
    )
    secondary = ServerPlan("ns2", "nsd", "secondary", "local", "/srv/ns2", "def")
    return Plan("site", "digest", (secondary, server), (Gate("drift", "example.org", "ns1", "x"),),
                (("example.org", "_default", 6, "sha256:1"),))


def test_a_plan_survives_json_unchanged(tmp_path: Path) -> None:
    plan = sample_plan()
    plan.write(tmp_path / "plan.json")
    assert Plan.read(tmp_path / "plan.json") == plan
    assert Plan.from_json(json.loads(json.dumps(plan.to_json()))) == plan


def test_ranks_put_primaries_before_secondaries() -> None:
    assert [[s.server for s in rank] for rank in sample_plan().ranks()] == [["ns1"], ["ns2"]]


def test_a_file_that_is_not_a_plan_is_one_sentence(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text('{"version": 99}')
    with pytest.raises(DeployError, match="not a zonesmith plan file"):
        Plan.read(tmp_path / "plan.json")
    with pytest.raises(DeployError, match="cannot read the plan file"):
        Plan.read(tmp_path / "missing.json")


def test_rrset_diff_shows_plus_and_minus_lines_and_counts() -> None:
    old = parse_zone(ZONE.encode(), "example.org.")
    new_text = ZONE.replace("192.0.2.80", "192.0.2.81").replace(" 5 3600", " 6 3600")
    diff = rrset_diff(old, parse_zone(new_text.encode(), "example.org."), "example.org.")
    assert diff.lines == (
        "- www.example.org. 3600 IN A 192.0.2.80",
        "+ www.example.org. 3600 IN A 192.0.2.81",
    )
    assert (diff.changed, diff.total, diff.apex_ns_changed) == (1, 4, False)


def test_apex_ns_change_is_seen() -> None:
    old = parse_zone(ZONE.encode(), "example.org.")
    new = parse_zone(ZONE.replace("@ 3600 IN NS ns1", "@ 3600 IN NS ns2").encode(), "example.org.")
    assert rrset_diff(old, new, "example.org.").apex_ns_changed


def test_secrets_are_masked_in_config_diffs() -> None:
    old = b'key "k" {\n  algorithm hmac-sha256;\n  secret "b2xkLXNlY3JldA==";\n};\n'
    new = old.replace(b"b2xkLXNlY3JldA==", b"bmV3LXNlY3JldA==")
    shown = "\n".join(file_diff(old, new, "keys.conf", ["bmV3LXNlY3JldA=="]))
    assert "b2xk" not in shown and "bmV3" not in shown
    assert '+  secret "(secret)";' in shown
    assert mask_secrets("    secret: abc123==") == "    secret: (secret)"


def zone_change(changed: int, total: int, kind: str = "changed", apex: bool = False) -> ZoneChange:
    return ZoneChange("example.org", "_default", kind, 1, 2, (), ("edited",), changed, total, apex)


@pytest.mark.parametrize(
    ("change", "gate"),
    [
        (zone_change(3, 10), "mass-change"),
        (zone_change(0, 0, "removed"), "zone-delete"),
        (zone_change(0, 0, "drift"), "drift"),
        (zone_change(1, 4, apex=True), "apex-ns"),
    ],
)
def test_each_gate_fires_and_its_ack_passes(change: ZoneChange, gate: str) -> None:
    gates = zone_gates("ns1", change, 0.3)
    assert [g.gate for g in gates] == [gate]
    assert unacknowledged(gates, []) == gates
    assert unacknowledged(gates, [f"{gate}:example.org"]) == []
    assert unacknowledged(gates, [f"{gate}:example.com"]) == gates
    assert f"--ack {gate}:example.org" in refusal(gates)


def test_small_or_light_changes_pass_without_gates() -> None:
    assert zone_gates("ns1", zone_change(2, 10), 0.3) == []  # 20 %
    assert zone_gates("ns1", zone_change(9, 9), 0.3) == []  # fewer than 10 RRsets
    assert zone_gates("ns1", zone_change(5, 10), 0.6) == []  # the site's threshold


def test_a_served_serial_raises_the_floor(tmp_path: Path) -> None:
    state = SerialState(tmp_path / "zonesmith.state")
    state.pin("example.org", "_default", 2026010100, "sha256:a")
    assert not state.raise_floor("example.org", "_default", 2025010100)  # behind: no change
    assert state.raise_floor("example.org", "_default", 2026010105)
    import datetime

    serial = state.serial_for("example.org", "_default", "sha256:a", datetime.date(2026, 1, 1))
    assert serial_gt(serial, 2026010105)


def test_the_journal_appends_and_reads_back(tmp_path: Path) -> None:
    append(tmp_path, {"kind": "apply", "ok": True, "servers": {"ns1": {"state": "applied"}}})
    append(tmp_path, {"kind": "rollback", "ok": False, "servers": {}})
    (tmp_path / "deploy-journal.jsonl").open("a").write("not json\n")
    found = entries(tmp_path)
    assert [e["kind"] for e in found] == ["apply", "rollback"]
    assert {"time", "user", "commit"} <= set(found[0])
