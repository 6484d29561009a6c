"""The deploy commands on servers that do not run: exit codes, --yes, plan files, errors,
and the typed confirmations of apply on a real pseudo-terminal."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers import free_port
from sites import checkout_env, write_site, zonesmith

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
WAIT = 60.0  # seconds a command on a terminal may take to print a question (it plans first)


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


def test_a_signed_zone_is_planned_with_its_signer_and_its_algorithm_recorded(
    tmp_path: Path,
) -> None:
    text = SITE.format(port=free_port(), control=free_port(), path=tmp_path / "srv/ns1", extra="")
    text = text.replace("  example.com: {}", "  example.com: {dnssec: signed}")
    root = write_site(
        tmp_path / "site", "dnssec-policies:\n  signed: {}\n" + text, {"example.com.yaml": ZONE}
    )
    result = zonesmith("plan", root)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "dnssec: example.com is signed by ns1 (ECDSAP256SHA256)" in result.stdout
    assert "0 gate(s)" in result.stdout  # a zone signed from its first deploy: no DS anywhere yet
    assert zonesmith("apply", root, "--yes").returncode == 0
    deployed = json.loads((tmp_path / "srv/ns1/zonesmith-deployed.json").read_text())
    assert deployed["signed"] == {"default/example.com": "ECDSAP256SHA256"}


class Terminal:
    """``zonesmith ARGS`` with a new pseudo-terminal as its terminal."""

    def __init__(self, *args: str | Path) -> None:
        self.master, slave = os.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "zonesmith", *map(str, args)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=checkout_env() | {"TERM": "xterm", "COLUMNS": "200"},
            start_new_session=True,
        )
        os.close(slave)
        self.seen = ""

    def expect(self, text: str) -> None:
        """Read until ``text`` has been printed (it fails after WAIT seconds)."""
        deadline = time.monotonic() + WAIT
        while text not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} within {WAIT} s; the terminal shows:\n{self.seen}"
            ready, _, _ = select.select([self.master], [], [], left)
            if ready and not self.read():
                break
        assert text in self.seen, f"no {text!r}; the terminal shows:\n{self.seen}"

    def read(self) -> bool:
        try:
            chunk = os.read(self.master, 4096)
        except OSError:  # EIO: the command ended and closed the terminal
            return False
        self.seen += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def type(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> int:
        """The exit status, once the command has printed everything."""
        try:
            returncode = self.process.wait(timeout=WAIT)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)
        while select.select([self.master], [], [], 0.2)[0] and self.read():
            pass
        os.close(self.master)
        return returncode


def test_apply_on_a_terminal_asks_for_yes_and_anything_else_refuses(tmp_path: Path) -> None:
    site_root, path = site(tmp_path), tmp_path / "srv/ns1"
    terminal = Terminal("apply", site_root)
    terminal.expect("Type yes to apply")
    terminal.type("y")
    assert terminal.finish() == 1
    assert "apply cancelled; nothing was changed" in terminal.seen
    assert not (path / "named.conf").exists()

    terminal = Terminal("apply", site_root)
    terminal.expect("Type yes to apply")
    terminal.type("yes")
    assert terminal.finish() == 0, terminal.seen
    assert (path / "named.conf").is_file()
    assert "@\t3600\tIN\tNS\tns1\n" in (path / "zones/example.com.zone").read_text()


def test_a_gate_on_a_terminal_asks_for_its_ack_and_a_wrong_one_refuses(tmp_path: Path) -> None:
    site_root, path = site(tmp_path), tmp_path / "srv/ns1"
    terminal = Terminal("apply", site_root, "--yes")
    assert terminal.finish() == 0, terminal.seen  # --yes: no question without a gate
    zone_file = path / "zones/example.com.zone"
    before = zone_file.read_bytes()
    moved = ZONE.replace("NS ns1.", "NS ns2.") + "ns2: A 192.0.2.2\n"
    (site_root / "zones/example.com.yaml").write_text(moved)

    terminal = Terminal("apply", site_root, "--yes")  # --yes does not pass a gate
    terminal.expect("Type apex-ns:example.com to go on")
    terminal.type("apex-ns:example.org")
    assert terminal.finish() == 1
    assert "gate apex-ns not acknowledged; nothing was changed" in terminal.seen
    assert zone_file.read_bytes() == before

    terminal = Terminal("apply", site_root)
    terminal.expect("Type apex-ns:example.com to go on")
    terminal.type("apex-ns:example.com")
    terminal.expect("Type yes to apply")  # the gate passed; without --yes apply still asks
    terminal.type("yes")
    assert terminal.finish() == 0, terminal.seen
    assert "@\t3600\tIN\tNS\tns2\n" in zone_file.read_text()
