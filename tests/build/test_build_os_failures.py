"""`zonesmith build` when the operating system refuses: the serial state, the swap, the disk.

Each failure is one sentence naming the path and the cause (never "internal
error"), the live tree stays as it was, and the next build is correct.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import dns.zone
import pytest
from sites import BASE_CONFIG, ONE_PRIMARY, ok, write_site, zonesmith

SITE = BASE_CONFIG + ONE_PRIMARY


def make_site(tmp_path: Path, zone: str = "www: A 192.0.2.10\n") -> Path:
    return write_site(tmp_path / "site", SITE, {"example.com.yaml": "ns1: A 192.0.2.1\n" + zone})


def served(out: Path) -> tuple[int, bytes]:
    """The serial and the file of example.com as the output tree serves it."""
    path = out / "ns1/zones/example.com.zone"
    zone = dns.zone.from_file(str(path), "example.com.", relativize=False)
    return zone.find_rdataset("example.com.", "SOA")[0].serial, path.read_bytes()


def recorded(site: Path) -> int:
    """The serial the state file records for example.com."""
    serials = json.loads((site / "zonesmith.state").read_text())["serials"]
    [entry] = serials["example.com"].values()
    return entry["serial"]


@contextlib.contextmanager
def mounted(*command: str, target: Path) -> Iterator[None]:
    """``mount COMMAND... target`` for the duration; skipped where mounting is not allowed."""
    done = subprocess.run(["mount", *command, str(target)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", str(target)], check=True)


def read_only(folder: Path) -> contextlib.AbstractContextManager[None]:
    """``folder`` read-only, even for root (a read-only bind mount over itself)."""
    return mounted("--bind", "-o", "ro", str(folder), target=folder)


def failed(run: subprocess.CompletedProcess[str], *words: str) -> str:
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "internal error" not in output and "Traceback" not in output, output
    for word in words:
        assert word in output, output
    return output


def built_then_edited(tmp_path: Path, out: Path) -> tuple[Path, tuple[int, bytes]]:
    """A site built into ``out``, then edited; and what ``out`` serves of it."""
    site = make_site(tmp_path)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    before = served(out)
    (site / "zones/example.com.yaml").write_text("ns1: A 192.0.2.1\nwww: A 192.0.2.99\n")
    return site, before


def test_an_unwritable_state_fails_the_build_and_keeps_the_old_tree_live(tmp_path: Path) -> None:
    out = tmp_path / "o" / "out"
    site, before = built_then_edited(tmp_path, out)
    with read_only(site):  # the state cannot be written (nor the cache: that is no error)
        run = zonesmith("build", site, "-o", out, "--no-server-checks")
    failed(run, "zonesmith.state", "[os-error]", "serial state", "Read-only file system")
    assert served(out) == before, "the new tree went live with a serial nobody recorded"
    assert recorded(site) == before[0]
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    serial, text = served(out)
    assert serial > before[0] and b"192.0.2.99" in text
    assert recorded(site) == serial


def test_a_failed_swap_after_the_state_was_written_leaves_the_next_build_correct(
    tmp_path: Path,
) -> None:
    # The state is written first: it records serial S+1 for the new content,
    # which never went live. The next build serves that content with S+1
    # (never given to other content), and other content gets S+2.
    out = tmp_path / "o" / "out"
    site, before = built_then_edited(tmp_path, out)
    with read_only(out.parent):  # the new tree is written in the site's cache, not swapped in
        run = zonesmith("build", site, "-o", out, "--no-server-checks")
    failed(run, "[os-error]", "cannot write the output")
    assert served(out) == before
    assert recorded(site) > before[0]  # recorded before the swap
    handed_out = recorded(site)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    assert served(out)[0] == handed_out and b"192.0.2.99" in served(out)[1]
    (site / "zones/example.com.yaml").write_text("ns1: A 192.0.2.1\nwww: A 192.0.2.10\n")
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    assert served(out)[0] > handed_out  # the old content again, yet a later serial


def test_a_full_disk_is_a_sentence_naming_the_file(tmp_path: Path) -> None:
    records = "".join(f"host{i}: A 192.0.2.{i % 250 + 1}\n" for i in range(4000))
    site = make_site(tmp_path, records)
    disk = tmp_path / "disk"
    disk.mkdir()
    with mounted("-t", "tmpfs", "-o", "size=64k", "tmpfs", target=disk):
        run = zonesmith("build", site, "-o", disk / "out", "--no-server-checks", "--no-cache")
        output = failed(run, "[os-error]", "No space left on device", "nothing was written")
        assert "disk/.out.zonesmith-new/ns1/" in output
        assert not (disk / "out").exists()
        assert list(disk.iterdir()) == []  # no half-written tree left behind


def test_a_read_only_output_folder_is_a_sentence(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    parent = tmp_path / "ro"
    parent.mkdir()
    with read_only(parent):
        run = zonesmith("build", site, "-o", parent / "out", "--no-server-checks", "--no-cache")
    failed(run, "ro/.out.zonesmith-new", "[os-error]", "Read-only file system")


def test_a_folder_root_may_not_write_to_is_a_sentence(tmp_path: Path) -> None:
    out = tmp_path / "locked" / "out"
    site, before = built_then_edited(tmp_path, out)
    # chmod does not stop root; the immutable attribute does.
    if subprocess.run(["chattr", "+i", out], capture_output=True, check=False).returncode:
        pytest.skip("chattr +i is not supported here")
    try:
        run = zonesmith("build", site, "-o", out, "--no-server-checks", "--no-cache")
    finally:
        subprocess.run(["chattr", "-i", out], check=True)
    failed(run, "[os-error]", "Operation not permitted")
    assert served(out) == before


def test_an_output_below_a_file_is_a_sentence(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (tmp_path / "plain").write_text("not a folder\n")
    run = zonesmith("build", site, "-o", tmp_path / "plain" / "out", "--no-server-checks")
    failed(run, "plain: error: [os-error]", "a file is where a folder belongs")


def test_a_state_nested_100000_deep_is_a_sentence(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "zonesmith.state").write_text('{"serials": ' + "[" * 100_000 + "]" * 100_000 + "}")
    run = zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks")
    failed(run, "zonesmith.state:1:1: error: [bad-state]", "nested too deeply")


def test_a_nul_in_a_name_is_a_sentence(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    config = (site / "zonesmith.yaml").read_text().replace("  ns1: {", '  "n\\0s1": {')
    (site / "zonesmith.yaml").write_text(config)
    run = zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks")
    failed(run, "nothing was written")
    assert not (tmp_path / "out").exists()
