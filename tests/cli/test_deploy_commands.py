"""The deploy commands on servers that do not run: exit codes, --yes, plan files, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from servers import free_port
from sites import write_site, zonesmith

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {port}, path: {path},
        control-port: {control}{extra}}}
zones:
  example.com: {{}}
"""
ZONE = "'@': [NS ns1.example.com.]\nns1: A 192.0.2.1\n"


def site(tmp_path: Path, path: str | None = None, extra: str = "") -> Path:
    text = SITE.format(
        port=free_port(), control=free_port(), path=path or tmp_path / "srv/ns1", extra=extra
    )
    return write_site(tmp_path / "site", text, {"example.com.yaml": ZONE})


def test_plan_of_a_new_server_is_exit_2_and_apply_yes_installs(tmp_path: Path) -> None:
    root = site(tmp_path)
    plan = zonesmith("plan", root, "--json", "-o", tmp_path / "plan.json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    report = json.loads(plan.stdout)
    assert report["changed"]
    [server] = report["plan"]["servers"]
    assert {f["path"] for f in server["files"]} >= {"named.conf", "zones/example.com.zone"}
    assert [z["kind"] for z in server["zones"]] == ["added"]
    assert "no answer" in server["down"]
    refused = zonesmith("apply", root)
    assert refused.returncode == 1 and "needs --yes" in refused.stderr
    assert not (tmp_path / "srv/ns1/named.conf").exists()
    applied = zonesmith("apply", root, "--plan", tmp_path / "plan.json", "--yes")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert (tmp_path / "srv/ns1/named.conf").is_file()
    assert zonesmith("plan", root).returncode == 0


def test_secrets_never_reach_a_plan_or_the_journal(tmp_path: Path) -> None:
    root = site(tmp_path)
    zonesmith("apply", root, "--yes")
    secret = next((root / "secrets/control").iterdir()).read_text().strip()
    (tmp_path / "srv/ns1/keys.conf").write_text("// edited\n")  # the next plan diffs it
    plan = zonesmith("plan", root)
    assert plan.returncode == 2
    assert "keys.conf" in plan.stdout and "(secret)" in plan.stdout
    assert secret not in plan.stdout
    zonesmith("apply", root, "--yes")
    assert secret not in (root / "deploy-journal.jsonl").read_text()


@pytest.mark.parametrize(
    ("path", "extra", "message"),
    [
        (None, ', host: "ssh://nobody@no-such-host.invalid"', "does not resolve"),
        ("/proc/zonesmith-test", "", "/proc/zonesmith-test"),
    ],
)
def test_bad_targets_are_one_sentence(
    tmp_path: Path, path: str | None, extra: str, message: str
) -> None:
    root = site(tmp_path, path, extra)
    result = zonesmith("apply", root, "--yes")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert message in result.stderr


def test_a_missing_plan_file_is_one_sentence(tmp_path: Path) -> None:
    result = zonesmith("apply", site(tmp_path), "--plan", tmp_path / "nope.json", "--yes")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: {tmp_path / 'nope.json'}: cannot read the plan file (No such file or directory)"
    )
