"""Installing a server's files on a target: stage, check, swap, releases, restore, lock.

Every test that takes a ``target`` runs twice: on this machine and over SSH to
a real sshd on a loopback port (the same machine, so the test can look).
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import tarfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.transport import Completed, LocalTransport
from zonesmith.drivers import OutputFile
from zonesmith.drivers.command import Command

FIRST = {
    "named.conf": OutputFile(b'include "keys.conf";\n'),
    "keys.conf": OutputFile(b'key "k" { secret "c2VjcmV0"; };\n', 0o600),
    "zones/example.com.zone": OutputFile(b"@ 300 IN SOA ns1 h 1 1 1 1 1\n"),
    "zones/example.org.zone": OutputFile(b"@ 300 IN SOA ns1 h 7 1 1 1 1\n"),
}
SECOND = {
    "named.conf": OutputFile(b'include "keys.conf";\nzone "example.net" {};\n'),
    "keys.conf": FIRST["keys.conf"],
    "zones/example.com.zone": FIRST["zones/example.com.zone"],
    "zones/example.net.zone": OutputFile(b"@ 300 IN SOA ns1 h 2 1 1 1 1\n"),
}
#: What a running server writes under its path; never zonesmith's.
SERVER_FILES = {
    "zones/example.com.zone.jnl": b"journal\x00\x01",
    "secondary/example.edu.zone": b"transferred\n",
    "named.pid": b"4242\n",
}


def deploy(target: Target, files: Mapping[str, OutputFile]) -> str:
    with target.lock():
        return target.swap(target.stage(files))


def live(target: Target, skip: Mapping[str, bytes] = SERVER_FILES) -> dict[str, tuple[bytes, int]]:
    """Every file under the target's path but zonesmith's state: content and mode."""
    root = Path(target.path)
    found = {}
    for path in root.rglob("*"):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith(".zonesmith/") and relative not in skip:
            found[relative] = (path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return found


def expected(files: Mapping[str, OutputFile]) -> dict[str, tuple[bytes, int]]:
    return {name: (file.content, file.mode) for name, file in files.items()}


def write_server_files(target: Target) -> None:
    for relative, content in SERVER_FILES.items():
        path = Path(target.path, relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def test_swap_installs_the_build_and_restore_puts_the_last_one_back(target: Target) -> None:
    deploy(target, FIRST)
    assert live(target) == expected(FIRST)
    assert target.installed() == {
        name: hashlib.blake2b(file.content, digest_size=16).hexdigest()
        for name, file in FIRST.items()
    }
    release = deploy(target, SECOND)
    assert live(target) == expected(SECOND)  # example.org's file went, example.net's came
    assert set(target.installed()) == set(SECOND)
    assert [found.id for found in target.releases()][-1] == release
    with target.lock():
        target.restore(release)
    assert live(target) == expected(FIRST)
    assert set(target.installed()) == set(FIRST)
    assert target.read("keys.conf") == FIRST["keys.conf"].content


def test_files_a_server_wrote_are_never_touched(target: Target) -> None:
    write_server_files(target)
    first = deploy(target, FIRST)
    deploy(target, SECOND)
    with target.lock():
        target.restore(first)  # which removes every managed file
    root = Path(target.path)
    assert {name: (root / name).read_bytes() for name in SERVER_FILES} == SERVER_FILES
    assert live(target) == {}
    assert target.installed() == {}


def test_a_secret_keeps_mode_0600_live_and_in_its_release_copy(target: Target) -> None:
    deploy(target, FIRST)
    deploy(target, SECOND)
    release = target.releases()[-1].id
    copy = Path(target.path, ".zonesmith/releases", release, "files/keys.conf")
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600
    assert stat.S_IMODE(Path(target.path, "keys.conf").stat().st_mode) == 0o600
    secret = {**FIRST, "keys.conf": OutputFile(FIRST["keys.conf"].content, 0o640)}
    deploy(target, secret)  # a mode change alone is a change
    assert stat.S_IMODE(Path(target.path, "keys.conf").stat().st_mode) == 0o640


def test_only_changed_files_are_moved_in_and_they_are_newer(tmp_path: Path) -> None:
    """BIND reloads a zone only if its file is newer: a changed file gets mtime
    now, an unchanged one is left as it was."""
    target = Target(LocalTransport(), "ns1", str(tmp_path / "ns1"))
    deploy(target, FIRST)
    long_ago = 1_000_000_000
    for name in FIRST:
        os.utime(Path(target.path, name), (long_ago, long_ago))
    unchanged = Path(target.path, "zones/example.com.zone").stat()
    before = time.time()
    deploy(target, SECOND)
    after = Path(target.path, "zones/example.com.zone").stat()
    assert (after.st_ino, after.st_mtime) == (unchanged.st_ino, long_ago)
    for name in ("named.conf", "zones/example.net.zone"):
        assert Path(target.path, name).stat().st_mtime >= before - 1


def test_the_checker_runs_on_the_staged_tree_and_a_refusal_changes_nothing(
    target: Target,
) -> None:
    deploy(target, FIRST)
    with target.lock():
        folder = target.staging_folder()  # the checker's configuration names it
        check_config = {"named.conf.check": OutputFile(f'directory "{folder}";\n'.encode())}
        staged = target.stage(SECOND, extra=check_config, staged=folder)
        assert staged == folder
        shown = target.check(Command(("cat", "named.conf", "named.conf.check"), "show"), staged)
        assert shown.returncode == 0
        assert shown.stdout == SECOND["named.conf"].content + f'directory "{folder}";\n'.encode()
        refused = target.check(Command(("sh", "-c", "echo bad zone >&2; exit 1"), "check"), staged)
        assert (refused.returncode, refused.stderr) == (1, b"bad zone\n")
    assert live(target) == expected(FIRST)
    with target.lock():
        target.swap(staged)
    assert live(target) == expected(SECOND)  # the checker's configuration is not moved in


def test_only_the_last_releases_are_kept_and_each_restores_its_files(target: Target) -> None:
    builds = [
        {"named.conf": OutputFile(f"build {n}\n".encode()), "keys.conf": FIRST["keys.conf"]}
        for n in range(5)
    ]
    for files in builds:
        deploy(target, files)
    releases = target.releases()
    assert len(releases) == 3  # the target keeps 3
    assert [found.id for found in releases] == sorted(found.id for found in releases)
    assert len({found.manifest_digest for found in releases}) == 3
    # The release made by a swap holds what that swap replaced.
    with target.lock():
        target.restore(releases[0].id)
    assert live(target) == expected(builds[1])


def test_a_held_lock_names_its_holder(target: Target) -> None:
    other = Target(target.transport, "ns1", target.path)
    with target.lock("alice@box"):
        with pytest.raises(DeployError) as held, other.lock():
            pass
        holder = other.holder()
    message = str(held.value)
    assert message.startswith("ns1") and "\n" not in message
    assert f"locked by alice@box pid {os.getpid()} since " in message
    assert holder is not None and holder.who == "alice@box"
    with other.lock():
        assert other.holder() is not None
    assert other.holder() is None


def test_a_stale_lock_is_reported_and_only_broken_when_asked(tmp_path: Path) -> None:
    target = Target(LocalTransport(), "ns1", str(tmp_path / "ns1"))
    lock = Path(target.path, ".zonesmith/lock")
    lock.parent.mkdir(parents=True)
    lock.write_text(f"bob@elsewhere.example 12 {time.time() - 7200:.0f}\n")
    with (
        pytest.raises(
            DeployError,
            match=r"^ns1: stale lock of bob@elsewhere.example pid 12 .*"
            r"older than 1 hour\); .*--break-lock$",
        ),
        target.lock(),
    ):
        pass
    assert lock.exists()
    target.break_lock()
    with target.lock():
        pass
    assert not lock.exists()


def test_bad_paths_get_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    target = Target(LocalTransport(), "ns1", str(blocker / "ns1"))
    with pytest.raises(DeployError) as unwritable, target.lock():
        pass
    assert str(unwritable.value).startswith("ns1: taking the lock in ")
    assert "Not a directory" in str(unwritable.value)
    with pytest.raises(DeployError, match="not absolute"):
        Target(LocalTransport(), "ns1", "relative/path")
    target = Target(LocalTransport(), "ns1", str(tmp_path / "ns1"))
    for bad in ("../etc/passwd", "/etc/passwd", ".zonesmith/installed", "a\nb", "a//b", ""):
        with pytest.raises(DeployError, match="not a file name a deploy can install"):
            target.stage({bad: OutputFile(b"x")})
    deploy(target, FIRST)
    with pytest.raises(DeployError, match=r"^ns1: no release 20000101T000000.000000Z \(releases: "):
        target.restore("20000101T000000.000000Z")
    with pytest.raises(DeployError, match="is not a release id"):
        target.restore("../../etc")


def test_installed_shows_hand_edits_and_the_next_deploy_repairs_them(target: Target) -> None:
    deploy(target, FIRST)
    Path(target.path, "named.conf").write_bytes(b"# edited by hand\n")
    Path(target.path, "zones/example.org.zone").unlink()
    installed = target.installed()
    assert (
        installed["named.conf"]
        == hashlib.blake2b(b"# edited by hand\n", digest_size=16).hexdigest()
    )
    assert "zones/example.org.zone" not in installed
    deploy(target, FIRST)
    assert live(target) == expected(FIRST)


def test_the_lock_is_released_when_a_step_fails(target: Target) -> None:
    with pytest.raises(DeployError, match="not a file name"), target.lock():
        target.stage({"../outside": OutputFile(b"x")})
    assert target.holder() is None


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files away")
def test_a_file_keeps_the_owner_of_the_file_it_replaces(tmp_path: Path) -> None:
    """named running as user bind must still read its keys after a deploy as root."""
    target = Target(LocalTransport(), "ns1", str(tmp_path / "ns1"))
    deploy(target, FIRST)
    zones = Path(target.path, "zones")
    for path in (Path(target.path, "keys.conf"), zones):
        os.chown(path, 65534, 65534)
    changed = {
        **SECOND,
        "keys.conf": OutputFile(b'key "k" { secret "bmV3"; };\n', 0o600),
    }
    deploy(target, changed)
    for name in ("keys.conf", "zones/example.net.zone"):  # replaced; new in zones/
        found = Path(target.path, name).stat()
        assert (found.st_uid, found.st_gid) == (65534, 65534), name
    assert Path(target.path, "keys.conf").read_bytes() == changed["keys.conf"].content
    assert Path(target.path, "named.conf").stat().st_uid == 0


class Recording(LocalTransport):
    """This machine, remembering what was sent to each program's standard input."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def run(
        self, argv: Sequence[str], *, input: bytes | None = None, timeout: float = 60
    ) -> Completed:
        if input:
            self.sent.append(input)
        return super().run(argv, input=input, timeout=timeout)


def test_only_changed_files_cross_to_the_host(tmp_path: Path) -> None:
    transport = Recording()
    target = Target(transport, "ns1", str(tmp_path / "ns1"))
    deploy(target, FIRST)
    transport.sent.clear()
    deploy(target, SECOND)
    [stream] = transport.sent
    with tarfile.open(fileobj=io.BytesIO(stream)) as tar:
        sent = sorted(name.removeprefix("tree/") for name in tar.getnames() if "/" in name)
    assert sent == ["named.conf", "zones/example.net.zone"]
    assert live(target) == expected(SECOND)
