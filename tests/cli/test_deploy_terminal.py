"""Typed confirmations of apply on a real pseudo-terminal: `yes`, a gate's ack, wrong answers.

The command runs with a pty as its terminal (stdin, stdout and stderr), as a user
at a shell would run it; servers do not run, so apply installs files and reloads
nothing. Every wait for the command's output is bounded.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from servers import free_port
from sites import checkout_env, write_site

WAIT = 60.0  # seconds the command may take to print a question (it builds and plans first)

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {port}, path: {path},
        control-port: {control}}}
zones:
  example.com: {{}}
"""
ZONE = "'@': [NS ns1.example.com.]\nns1: A 192.0.2.1\n"


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


def make_site(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "srv" / "ns1"
    text = SITE.format(port=free_port(), control=free_port(), path=path)
    return write_site(tmp_path / "site", text, {"example.com.yaml": ZONE}), path


def test_apply_on_a_terminal_asks_for_yes_and_anything_else_refuses(tmp_path: Path) -> None:
    site, path = make_site(tmp_path)
    terminal = Terminal("apply", site)
    terminal.expect("Type yes to apply")
    terminal.type("y")
    assert terminal.finish() == 1
    assert "apply cancelled; nothing was changed" in terminal.seen
    assert not (path / "named.conf").exists()

    terminal = Terminal("apply", site)
    terminal.expect("Type yes to apply")
    terminal.type("yes")
    assert terminal.finish() == 0, terminal.seen
    assert (path / "named.conf").is_file()
    assert "@\t3600\tIN\tNS\tns1\n" in (path / "zones/example.com.zone").read_text()


def test_a_gate_on_a_terminal_asks_for_its_ack_and_a_wrong_one_refuses(tmp_path: Path) -> None:
    site, path = make_site(tmp_path)
    terminal = Terminal("apply", site, "--yes")
    assert terminal.finish() == 0, terminal.seen  # --yes: no question without a gate
    zone_file = path / "zones/example.com.zone"
    before = zone_file.read_bytes()
    moved = ZONE.replace("NS ns1.", "NS ns2.") + "ns2: A 192.0.2.2\n"
    (site / "zones/example.com.yaml").write_text(moved)

    terminal = Terminal("apply", site, "--yes")  # --yes does not pass a gate
    terminal.expect("Type apex-ns:example.com to go on")
    terminal.type("apex-ns:example.org")
    assert terminal.finish() == 1
    assert "gate apex-ns not acknowledged; nothing was changed" in terminal.seen
    assert zone_file.read_bytes() == before

    terminal = Terminal("apply", site)
    terminal.expect("Type apex-ns:example.com to go on")
    terminal.type("apex-ns:example.com")
    terminal.expect("Type yes to apply")  # the gate passed; without --yes apply still asks
    terminal.type("yes")
    assert terminal.finish() == 0, terminal.seen
    assert "@\t3600\tIN\tNS\tns2\n" in zone_file.read_text()
