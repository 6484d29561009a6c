"""A swap cut off half-way (kill -9 of zonesmith, a dropped SSH connection) is
finished by the next deploy."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sshd import Sshd

from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import SWAP_PAUSE_ENV, Target
from zonesmith.deploy.transport import LocalTransport, SshTransport
from zonesmith.drivers import OutputFile

NAMES = ["a.zone", "b.zone", "c.zone", "d.zone"]
OLD = {name: f"old {name}\n".encode() for name in NAMES}
NEW = {name: f"new {name}\n".encode() for name in NAMES}

DEPLOY = """
import json, sys
from zonesmith.deploy.install import Target
from zonesmith.deploy.transport import LocalTransport, SshTransport
from zonesmith.drivers import OutputFile
target = Target(LocalTransport(), "ns1", sys.argv[1])
files = {name: OutputFile(text.encode()) for name, text in json.loads(sys.argv[2]).items()}
with target.lock():
    target.swap(target.stage(files))
"""
WAIT = 20.0  # seconds at most for the swap to move its first file in


def start_deploy(path: str, files: dict[str, bytes], pause: str) -> subprocess.Popen[bytes]:
    contents = json.dumps({name: content.decode() for name, content in files.items()})
    src = str(Path(__file__).resolve().parents[2] / "src")
    return subprocess.Popen(
        [sys.executable, "-c", DEPLOY, path, contents],
        env={**os.environ, SWAP_PAUSE_ENV: pause, "PYTHONPATH": src},
        start_new_session=True,  # its shell is killed with it, as with kill -9 of a session
        stderr=subprocess.PIPE,
    )


def test_a_swap_killed_half_way_is_finished_by_the_next_lock(tmp_path: Path) -> None:
    path = str(tmp_path / "ns1")
    first = start_deploy(path, OLD, "")
    assert first.wait(60) == 0, first.stderr.read() if first.stderr else ""
    deploy = start_deploy(path, NEW, "30")
    try:
        deadline = time.monotonic() + WAIT
        while Path(path, "a.zone").read_bytes() != NEW["a.zone"]:
            assert deploy.poll() is None and time.monotonic() < deadline, "the swap never began"
            time.sleep(0.05)
    finally:
        os.killpg(deploy.pid, signal.SIGKILL)
        deploy.wait(10)
    live = {name: Path(path, name).read_bytes() for name in NAMES}
    assert live == {**OLD, "a.zone": NEW["a.zone"]}  # half-way: each file whole, old or new
    assert Path(path, ".zonesmith/journal").exists()

    target = Target(LocalTransport(), "ns1", path)
    gone = r"stale lock of .* \(that process is gone\)"
    with pytest.raises(DeployError, match=gone), target.lock():
        pass
    target.break_lock()
    with target.lock():
        assert {name: Path(path, name).read_bytes() for name in NAMES} == NEW
        assert set(target.installed()) == set(NAMES)
    assert not Path(path, ".zonesmith/journal").exists()
    assert list(Path(path, ".zonesmith/staging").iterdir()) == []
    # The release copy made before the cut-off swap holds the old files.
    with target.lock():
        target.restore(target.releases()[-1].id)
    assert {name: Path(path, name).read_bytes() for name in NAMES} == OLD


def test_a_swap_finishes_a_cut_off_one_before_its_own(tmp_path: Path) -> None:
    path = str(tmp_path / "ns1")
    deploy = start_deploy(path, NEW, "30")
    try:
        deadline = time.monotonic() + WAIT
        while not Path(path, "a.zone").exists():
            assert deploy.poll() is None and time.monotonic() < deadline, "the swap never began"
            time.sleep(0.05)
    finally:
        os.killpg(deploy.pid, signal.SIGKILL)
        deploy.wait(10)
    target = Target(LocalTransport(), "ns1", path)
    target.break_lock()
    later = {**NEW, "e.zone": b"e\n"}
    with target.lock():
        target.swap(target.stage({name: OutputFile(text) for name, text in later.items()}))
    assert {name: Path(path, name).read_bytes() for name in later} == later


def test_a_swap_cut_by_a_dropped_ssh_connection_is_finished_by_the_next_lock(
    sshd: Sshd, ssh: SshTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target(ssh, "ns1", str(tmp_path / "ns1"))
    with target.lock():
        target.swap(target.stage({name: OutputFile(text) for name, text in OLD.items()}))
    monkeypatch.setenv(SWAP_PAUSE_ENV, "30")
    problems: list[str] = []

    def deploy() -> None:
        try:
            with target.lock():
                target.swap(target.stage({name: OutputFile(text) for name, text in NEW.items()}))
        except DeployError as problem:
            problems.append(str(problem))

    swap = threading.Thread(target=deploy)
    swap.start()
    deadline = time.monotonic() + WAIT
    while Path(target.path, "a.zone").read_bytes() != NEW["a.zone"]:
        assert swap.is_alive() and time.monotonic() < deadline, "the swap never began"
        time.sleep(0.05)
    sshd.drop_connections()
    swap.join(WAIT)
    assert not swap.is_alive()
    assert len(problems) == 1 and "the connection was lost" in problems[0]
    assert {name: Path(target.path, name).read_bytes() for name in NAMES} != NEW
    monkeypatch.delenv(SWAP_PAUSE_ENV)
    with target.lock():  # the lock went with the failure; this one finishes the swap
        assert {name: Path(target.path, name).read_bytes() for name in NAMES} == NEW
