"""$INCLUDE and zone files are read only inside the site, only as regular files, within limits."""

from __future__ import annotations

import os
from pathlib import Path

import dns.name
import pytest
from sites import BASE_CONFIG, write_site, zonesmith_bounded

from zonesmith.diagnostics import Diagnostic
from zonesmith.pipeline import check_site
from zonesmith.site.limits import MAX_ZONE_BYTES
from zonesmith.site.masterfile.directives import MAX_INCLUDES
from zonesmith.site.masterfile.reader import read_masterfile

CONFIG = BASE_CONFIG + "zones:\n  example.com: {}\n"
APEX = "@ 3600 NS ns1.example.com.\nns1 A 192.0.2.1\n"  # a TTL: no no-ttl warning


def site_with(tmp_path: Path, zone: str, files: dict[str, str] | None = None) -> Path:
    return write_site(tmp_path / "site", CONFIG, {"example.com.zone": APEX + zone}, files)


def found(site: Path) -> tuple[set[str], list[Diagnostic]]:
    """The owner names of example.com and every diagnostic of checking the site."""
    loaded, diagnostics = check_site(site)
    owners = {record[0] for zone in loaded.zones for record in zone.records}
    return owners, diagnostics


def rules_at(diagnostics: list[Diagnostic]) -> list[tuple[str, str]]:
    return [(d.rule, str(d.position)) for d in diagnostics]


def test_include_outside_the_site_is_refused_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("evil A 192.0.2.66\n")
    site = site_with(tmp_path, "$INCLUDE ../../outside.txt\nafter A 192.0.2.2\n")
    os.chdir(site)
    owners, diagnostics = found(Path("."))
    assert "evil.example.com." not in owners
    assert "after.example.com." in owners
    assert rules_at(diagnostics) == [("file-outside-site", "zones/example.com.zone:3:1")]
    assert "outside the site folder" in diagnostics[0].message


def test_include_through_a_link_that_leaves_the_site_is_refused(tmp_path: Path) -> None:
    (tmp_path / "outside.txt").write_text("evil A 192.0.2.66\n")
    site = site_with(tmp_path, "$INCLUDE inc/hosts\n$INCLUDE /etc/hostname\n")
    (site / "zones" / "inc").mkdir()
    (site / "zones" / "inc" / "hosts").symlink_to(tmp_path / "outside.txt")
    owners, diagnostics = found(site)
    assert "evil.example.com." not in owners
    assert [d.rule for d in diagnostics] == ["file-outside-site"] * 2


def test_include_through_a_folder_link_that_leaves_the_site_is_refused(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "hosts").write_text("evil A 192.0.2.66\n")
    site = site_with(tmp_path, "$INCLUDE inc/hosts\nafter A 192.0.2.2\n")
    (site / "zones" / "inc").symlink_to(tmp_path / "elsewhere")
    owners, diagnostics = found(site)
    assert "evil.example.com." not in owners
    assert "after.example.com." in owners
    assert [d.rule for d in diagnostics] == ["file-outside-site"]
    assert str(diagnostics[0].position).endswith("zones/example.com.zone:3:1")


def test_a_folder_turned_into_a_link_outside_is_seen_by_the_next_check(tmp_path: Path) -> None:
    # The real paths of folders are kept within one load only: a second check in
    # the same process must see the folder now leading outside.
    site = site_with(tmp_path, "$INCLUDE inc/hosts\n", {"zones/inc/hosts": "h A 192.0.2.3\n"})
    owners, diagnostics = found(site)
    assert "h.example.com." in owners and diagnostics == []
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "hosts").write_text("evil A 192.0.2.66\n")
    (site / "zones" / "inc" / "hosts").unlink()
    (site / "zones" / "inc").rmdir()
    (site / "zones" / "inc").symlink_to(tmp_path / "elsewhere")
    owners, diagnostics = found(site)
    assert "evil.example.com." not in owners
    assert [d.rule for d in diagnostics] == ["file-outside-site"]


def test_include_inside_the_site_through_links_is_read(tmp_path: Path) -> None:
    # The site folder itself reached through a link, and a link within it: both inside.
    real = site_with(tmp_path, "$INCLUDE ../shared/hosts.db\n", {"shared/real.db": "h A 1.2.3.4"})
    (real / "shared" / "hosts.db").symlink_to("real.db")
    (tmp_path / "link").symlink_to(real)
    owners, diagnostics = found(tmp_path / "link")
    assert "h.example.com." in owners
    assert diagnostics == []


def test_zone_file_linked_outside_the_site_gives_one_error_and_no_line(tmp_path: Path) -> None:
    secret = tmp_path / "passwd"
    secret.write_text("".join(f"user{i}:x:{i}:{i}:secret-{i}:/home:/bin/sh\n" for i in range(50)))
    site = write_site(tmp_path / "site", CONFIG + "  example.net: {}\n")
    (site / "zones").mkdir()
    (site / "zones" / "example.com.zone").symlink_to(secret)
    (site / "zones" / "example.net.yaml").symlink_to(secret)
    for _ in range(2):  # the second run with what the first one cached
        run = zonesmith_bounded("check", site)
        assert run.returncode == 1
        assert "secret-" not in run.stdout + run.stderr
        assert [line for line in run.stdout.splitlines() if "zones/example" in line] == [
            f"{site}/zones/example.com.zone: error: [file-outside-site] cannot read master file "
            f"'{site}/zones/example.com.zone': it is {secret}, outside the site folder {site}; "
            "a site's files must lie inside it",
            f"{site}/zones/example.net.yaml: error: [file-outside-site] cannot read: "
            f"it is {secret}, outside the site folder {site}; a site's files must lie inside it",
        ]


def test_include_of_a_device_a_fifo_or_a_folder_is_refused(tmp_path: Path) -> None:
    site = site_with(tmp_path, "$INCLUDE zero\n$INCLUDE fifo\n$INCLUDE folder\nafter A 192.0.2.2\n")
    zones = site / "zones"
    os.symlink("/dev/zero", zones / "zero")
    os.mkfifo(zones / "fifo")
    (zones / "folder").mkdir()
    # Reading /dev/zero grows without end and opening a FIFO waits for a writer:
    # either one fails this run (address space, timeout) on a reader without bounds.
    run = zonesmith_bounded("check", "--no-cache", site, timeout=30)
    lines = run.stdout.splitlines()
    assert [line.split(" ")[0] for line in lines[:3]] == [
        f"{site}/zones/example.com.zone:{n}:1:" for n in (3, 4, 5)
    ], run.stdout + run.stderr
    # /dev/zero is outside the site; inside it, only regular files are read
    assert "[file-outside-site]" in lines[0]
    assert "it is a FIFO, not a regular file" in lines[1]
    assert "it is a folder, not a regular file" in lines[2]
    assert lines[3:] == [f"{site}: 3 errors, 0 warnings"]


def test_a_device_inside_the_site_is_refused(tmp_path: Path) -> None:
    # A device node made inside the site (as root can) is no regular file either.
    site = site_with(tmp_path, "$INCLUDE zero\n")
    try:
        os.mknod(site / "zones" / "zero", 0o600 | 0o020000, os.makedev(1, 5))
    except PermissionError:
        pytest.skip("making a device node needs root")
    run = zonesmith_bounded("check", "--no-cache", site, timeout=30)
    assert "it is a character device, not a regular file" in run.stdout, run.stderr


def test_include_larger_than_the_zone_limit_is_refused_before_reading(tmp_path: Path) -> None:
    site = site_with(tmp_path, "$INCLUDE big.db\nafter A 192.0.2.2\n")
    with open(site / "zones" / "big.db", "wb") as big:
        big.truncate(MAX_ZONE_BYTES + 1)  # sparse: nothing written, nothing to read
    run = zonesmith_bounded("check", "--no-cache", site, timeout=30)
    assert "zones/example.com.zone:3:1: error: [file-too-big]" in run.stdout, run.stderr
    assert "past the 1 GiB they may hold together" in run.stdout
    assert "1 error" in run.stdout


def test_zone_file_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", CONFIG + "  example.net: {}\n")
    (site / "zones").mkdir()
    for name in ("example.com.zone", "example.net.yaml"):
        with open(site / "zones" / name, "wb") as big:
            big.truncate(MAX_ZONE_BYTES + 1)
    run = zonesmith_bounded("check", site, timeout=30)
    assert (
        f"{site}/zones/example.com.zone: error: [file-too-big] cannot read master file "
        f"'{site}/zones/example.com.zone': it is larger than the 1 GiB a zone's master file "
        "and its $INCLUDEs may hold together"
    ) in run.stdout, run.stderr
    assert f"{site}/zones/example.net.yaml: error: [file-too-big]" in run.stdout


def test_what_a_zone_reads_is_bounded_in_total(tmp_path: Path) -> None:
    # Each file is under the limit; together the includes go past it.
    (tmp_path / "part.db").write_text("x 60 TXT " + '"' + "a" * 200 + '"\n')
    (tmp_path / "zone.db").write_text("$INCLUDE part.db\n" * 5 + "after 60 A 192.0.2.2\n")
    origin = dns.name.from_text("example.com.")
    records, diagnostics = read_masterfile(
        tmp_path / "zone.db", origin, 60, display_path="zone.db", root=tmp_path, max_bytes=800
    )
    assert rules_at(diagnostics) == [
        ("file-too-big", "zone.db:4:1"),
        ("file-too-big", "zone.db:5:1"),
    ]
    assert "past the 800 bytes they may hold together" in diagnostics[0].message
    assert len(records) == 4  # three includes and the record after them


def test_include_depth_is_bounded(tmp_path: Path) -> None:
    for level in range(30):
        (tmp_path / f"{level}.db").write_text(f"l{level} 60 A 192.0.2.1\n$INCLUDE {level + 1}.db\n")
    (tmp_path / "30.db").write_text("end A 192.0.2.1\n")
    origin = dns.name.from_text("example.com.")
    records, diagnostics = read_masterfile(tmp_path / "0.db", origin, 60, root=tmp_path)
    assert [d.rule for d in diagnostics] == ["include-depth"]
    assert len(records) == 21  # the top file and 20 levels of includes


def test_a_tree_of_includes_is_bounded_in_count(tmp_path: Path) -> None:
    # Each file includes the next one twice: 2**16 includes, each file small and
    # no loop, unless their number is bounded.
    for level in range(16):
        (tmp_path / f"{level}.db").write_text(f"$INCLUDE {level + 1}.db\n" * 2)
    (tmp_path / "16.db").write_text("leaf 60 A 192.0.2.1\n")
    origin = dns.name.from_text("example.com.")
    records, diagnostics = read_masterfile(tmp_path / "0.db", origin, 60, root=tmp_path)
    assert [d.rule for d in diagnostics] == ["include-depth"]
    assert f"more than {MAX_INCLUDES} $INCLUDEs in one zone" in diagnostics[0].message
    assert len(records) <= MAX_INCLUDES
