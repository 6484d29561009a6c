"""Helpers to write small sites for tests and run the command line on them."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

BASE_CONFIG = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
"""
#: A BIND primary serving example.com (more zones may follow, indented by two).
ONE_PRIMARY = """\
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, port: 5399, path: /srv/dns}
sets:
  ns: {'@': [NS ns1.example.com.]}
zones:
  example.com: {include: [ns]}
"""


def write_site(
    root: Path,
    config: str,
    zones: dict[str, str] | None = None,
    files: dict[str, str] | None = None,
) -> Path:
    """Write zonesmith.yaml, zones/<name> files and any other files; returns root."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "zonesmith.yaml").write_text(textwrap.dedent(config))
    for name, text in (zones or {}).items():
        path = root / "zones" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    for name, text in (files or {}).items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def checkout_env() -> dict[str, str]:
    """The environment with this checkout's sources first on PYTHONPATH.

    Commands the tests start (zonesmith, a site's update job) then run the
    code under test even where an older zonesmith is installed.
    """
    environment = dict(os.environ)
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), environment.get("PYTHONPATH", "")) if p
    )
    return environment


def zonesmith(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the zonesmith command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "zonesmith", *map(str, args)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        env=env if env is not None else checkout_env(),
        cwd=cwd,
        check=False,
    )


def ok(run: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The run, after checking that it succeeded (else its output in the failure)."""
    assert run.returncode == 0, f"exit {run.returncode}\n{run.stdout}\n{run.stderr}"
    return run


def succeeds_once_unlocked(lock: int, command: list[str], while_held: Callable[[], None]) -> str:
    """Run ``command`` while this process holds an exclusive lock on open file ``lock``.

    The command must still be waiting after 3 s (``while_held`` then checks
    that it did nothing yet), and succeed once the lock is let go. Returns
    its output.
    """
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        waiting = subprocess.Popen(
            command,
            env=checkout_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            waiting.wait(timeout=3)
        except subprocess.TimeoutExpired:
            pass
        else:
            raise AssertionError(f"did not wait for the lock: {waiting.communicate()[0]}")
        while_held()
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
    output, _ = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, output
    return output


def zonesmith_bounded(
    *args: str | Path, memory: int = 512 << 20, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run the command line with at most ``memory`` bytes of address space and ``timeout``
    seconds: a run that would eat the machine fails with MemoryError or a timeout instead."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    return subprocess.run(
        [sys.executable, "-m", "zonesmith", *map(str, args)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        env=checkout_env(),
        preexec_fn=limit,
        check=False,
    )


def build_master_zone(root: Path, origin: str, text: str, *, server_checks: bool = False) -> Path:
    """Build a site of one BIND primary serving zone ``origin`` from master file ``text``;
    returns the zone file written for it."""
    from zonesmith.compile.zones import file_stem
    from zonesmith.pipeline import build_site

    absolute = origin if origin.endswith(".") else origin + "."
    stem = "." if absolute == "." else absolute[:-1].lower()
    config = (
        BASE_CONFIG
        + "servers:\n  ns1: {software: bind, role: primary, address: 127.0.0.1, port: 5399}\n"
        + f"zones:\n  '{absolute}': {{}}\n"
    )
    site = write_site(root / "site", config, files={f"zones/{stem}.zone": text})
    build_site(site, root / "out", server_checks=server_checks)
    return root / "out" / "ns1" / "zones" / f"{file_stem(absolute)}.zone"


def one_signer_config(signed: str, unsigned: str, port: int, control: int, path: Path) -> str:
    """zonesmith.yaml of a BIND primary ns1 (in ``signed``) on 127.0.0.1 at ``port`` that
    signs zone ``signed`` with policy 'standard' and serves zone ``unsigned`` unsigned."""
    return f"""\
defaults:
  ttl: 300
  soa: {{primary: ns1.{signed}., contact: hostmaster@{signed}}}
dnssec-policies:
  standard: {{}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {port}, path: {path},
        control-port: {control}}}
zones:
  {signed}: {{dnssec: standard}}
  {unsigned}: {{}}
"""
