"""Rebuilds reuse what the last run worked out, and give what a clean build gives.

``check`` and ``build`` keep a per-zone cache in SITE/.zonesmith/cache and
hard-link output files that did not change; these tests hold them to the
output and diagnostics of a build without either.
"""

from __future__ import annotations

import marshal
import os
import pickle
import shutil
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sites import BASE_CONFIG, succeeds_once_unlocked, write_site, zonesmith

import zonesmith.pipeline as pipeline
from zonesmith.model import Site, Zone
from zonesmith.output import memo
from zonesmith.output.cache import ZoneCache
from zonesmith.pipeline import build_site, check_site

CONFIG = (
    BASE_CONFIG
    + """\
views:
  internal: {clients: [127.0.0.2]}
  external: {clients: [any]}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, path: /srv/dns}
sets:
  ns: {'@': [NS ns1.example.com., NS ns2.example.]}
zones:
  example.com: {include: [ns]}
  example.org: {include: [ns]}
  example.net: {include: [ns]}
  2.0.192.in-addr.arpa: {include: [ns], reverse-of: [example.com]}
"""
)
ZONES = {
    "example.com.yaml": """\
        ns1: A 192.0.2.1
        www: [A 192.0.2.10, {records: A 10.0.0.10, view: internal}]
        mail: {records: MX 10 mx.example.net., ttl: 5m}
        ftp: MX 10 www
        """,
    "example.org.yaml": "www: CNAME www.example.com.\nold: A 192.0.2.20\n",
    "example.net.zone": '@ 300 IN TXT "v=spf1 -all"\nhost IN A 192.0.2.30\n',
}


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def inode(path: Path) -> int:
    return path.stat().st_ino


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + text)


def make_site(tmp_path: Path) -> Path:
    site = write_site(tmp_path / "site", CONFIG, ZONES)
    # Older than the cache's "changed just now" window, as files of a real site are.
    past = time.time() - 60
    for path in (site / "zones").iterdir():
        os.utime(path, (past, past))
    return site


def build(site: Path, out: Path, *extra: str) -> str:
    result = zonesmith("build", site, "-o", out, "--no-server-checks", *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def assert_as_a_clean_build(site: Path, out: Path, clean: Path) -> None:
    """``out`` is what a build without a cache writes into a new folder ``clean``."""
    build(site, clean, "--no-cache")
    assert tree(out) == tree(clean)


def test_rebuild_after_an_edit_equals_a_clean_build(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    assert (site / ".zonesmith/cache/zones/index").is_file()
    append(site / "zones/example.com.yaml", "new: A 192.0.2.99\n")
    build(site, out)
    # A clean build (no cache, new output folder) of the same site and state.
    assert_as_a_clean_build(site, out, tmp_path / "clean")
    zone = (out / "ns1/zones/external/example.com.zone").read_text()
    assert "new\t3600\tIN\tA\t192.0.2.99" in zone
    # reverse-of: the PTR of the new record is derived in the reverse zone too.
    assert (
        "99\t3600\tIN\tPTR\tnew.example.com."
        in (out / "ns1/zones/external/2.0.192.in-addr.arpa.zone").read_text()
    )


def test_unchanged_output_files_are_linked_not_rewritten(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    untouched = out / "ns1/zones/internal/example.org.zone"
    edited_file = out / "ns1/zones/internal/example.net.zone"
    before = inode(untouched), inode(edited_file)
    append(site / "zones/example.net.zone", "other IN A 192.0.2.31\n")
    build(site, out)
    assert inode(untouched) == before[0]
    assert inode(edited_file) != before[1]
    assert "other" in edited_file.read_text()


def test_an_output_file_edited_by_hand_is_written_again(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    zone_file = out / "ns1/zones/external/example.org.zone"
    original = zone_file.read_bytes()
    time.sleep(0.01)
    zone_file.write_bytes(original.replace(b"192.0.2.20", b"192.0.2.66"))  # same size
    build(site, out)
    assert zone_file.read_bytes() == original


def test_a_zone_edited_just_after_a_build_is_read_again(tmp_path: Path) -> None:
    # Same size, within the file system's time resolution of the last read:
    # only the content tells the two versions apart.
    site = write_site(tmp_path / "site", CONFIG, ZONES)
    out = tmp_path / "out"
    build(site, out)
    zone = site / "zones/example.org.yaml"
    zone.write_text(zone.read_text().replace("192.0.2.20", "192.0.2.21"))
    build(site, out)
    assert "192.0.2.21" in (out / "ns1/zones/external/example.org.zone").read_text()


def test_diagnostics_of_cached_zones_are_reported_every_time(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    append(site / "zones/example.org.yaml", "dup: [A 192.0.2.5, A 192.0.2.5]\n")
    first = zonesmith("check", site)
    second = zonesmith("check", site)
    uncached = zonesmith("check", site, "--no-cache")
    assert first.returncode == second.returncode == uncached.returncode == 0
    assert "[duplicate-record]" in first.stdout
    assert first.stdout == second.stdout == uncached.stdout


def test_errors_of_a_cached_zone_still_stop_the_build(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    zone = site / "zones/example.org.yaml"
    append(zone, "bad: A 192.0.2.300\n")
    past = time.time() - 60
    os.utime(zone, (past, past))
    for _ in range(2):  # the second run takes the zone from the cache
        result = zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks")
        assert result.returncode == 1
        assert "example.org.yaml:3:" in result.stdout and "192.0.2.300" in result.stdout
    assert not (tmp_path / "out").exists()


def test_a_change_to_an_included_set_or_the_config_reaches_every_zone(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    config = site / "zonesmith.yaml"
    config.write_text(config.read_text().replace("ns2.example.", "ns3.example."))
    build(site, out)
    for name in ("example.com", "example.org", "example.net"):
        text = (out / f"ns1/zones/internal/{name}.zone").read_text()
        assert "ns3.example." in text and "ns2.example." not in text
    # A zone dropped from the config is gone from the output.
    config.write_text(config.read_text().replace("  example.org: {include: [ns]}\n", ""))
    build(site, out)
    assert not (out / "ns1/zones/internal/example.org.zone").exists()


def test_an_include_of_a_master_file_is_followed(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / "zones/example.net.zone").write_text('$INCLUDE "hosts.inc"\n')
    included = site / "zones/hosts.inc"
    included.write_text("first IN A 192.0.2.40\n")
    out = tmp_path / "out"
    build(site, out)
    included.write_text("second IN A 192.0.2.41\n")
    build(site, out)
    text = (out / "ns1/zones/internal/example.net.zone").read_text()
    assert "second" in text and "first" not in text


def test_a_planted_cache_file_cannot_run_code(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build(site, tmp_path / "out")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple:
            return (os.system, (f"touch {marker}",))

    planted = site / ".zonesmith/cache/zones/declarations"
    planted.write_bytes(pickle.dumps(("key", Exploit())))
    cache = ZoneCache(site)
    site_model, diagnostics = check_site(site, cache)
    assert not marker.exists()
    assert not any(d.is_error for d in diagnostics)
    assert len(site_model.zones) == 4


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01 not marshal", b"\xff" * 100])
def test_a_damaged_cache_is_only_a_miss(tmp_path: Path, garbage: bytes) -> None:
    site = make_site(tmp_path)
    build(site, tmp_path / "out")
    for path in (site / ".zonesmith/cache/zones").iterdir():
        if path.name != ".gitignore":
            path.write_bytes(garbage)
    build(site, tmp_path / "again")
    assert tree(tmp_path / "again") == tree(tmp_path / "out")


def test_library_builds_without_a_cache_write_nothing_into_the_site(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build_site(site, tmp_path / "out", server_checks=False)
    assert not (site / ".zonesmith").exists()


def test_a_rebuild_never_writes_through_to_the_previous_tree(tmp_path: Path) -> None:
    # Output files are hard-linked from one tree to the next; a changed file
    # must be a new file, or the tree a server is running from would change
    # under it before the swap.
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    zone_file = out / "ns1/zones/internal/example.org.zone"
    kept = tmp_path / "kept.zone"
    os.link(zone_file, kept)
    original = kept.read_bytes()
    append(site / "zones/example.org.yaml", "more: A 192.0.2.77\n")
    build(site, out)
    assert kept.read_bytes() == original
    assert b"192.0.2.77" in zone_file.read_bytes()


def test_a_server_dropped_from_the_site_leaves_nothing_behind(tmp_path: Path) -> None:
    config = CONFIG.replace(
        "servers:\n",
        "servers:\n  ns9: {software: bind, role: primary, address: 127.0.0.9, path: /srv/d9}\n",
    )
    site = write_site(tmp_path / "site", config, ZONES)
    out = tmp_path / "out"
    build(site, out)
    assert (out / "ns9/zones/internal/example.org.zone").is_file()
    (site / "zonesmith.yaml").write_text(textwrap.dedent(CONFIG))
    build(site, out)
    assert not (out / "ns9").exists()
    assert_as_a_clean_build(site, out, tmp_path / "clean")


def test_a_hidden_primary_named_in_ns_is_reported_from_cached_zones_too(tmp_path: Path) -> None:
    config = CONFIG.replace("path: /srv/dns}", "path: /srv/dns, hidden: true}").replace(
        "address: 127.0.0.1", "address: 192.0.2.1"
    )
    site = write_site(tmp_path / "site", config, ZONES)
    past = time.time() - 60
    for path in (site / "zones").iterdir():
        os.utime(path, (past, past))
    runs = [
        zonesmith("check", site),
        zonesmith("check", site),
        zonesmith("check", site, "--no-cache"),
    ]
    for run in runs:
        # ns1.example.com. (an NS of every zone, from the set: one place) has 192.0.2.1.
        assert run.stdout.count("[hidden-primary-in-ns]") == 1, run.stdout
        assert "zonesmith.yaml:10:14: warning: [hidden-primary-in-ns]" in run.stdout
    assert runs[0].stdout == runs[1].stdout == runs[2].stdout


def spare_trees(site: Path) -> list[Path]:
    return sorted(p for p in (site / ".zonesmith/cache/trees").iterdir() if p.is_dir())


def test_rebuilds_through_the_spare_tree_equal_clean_builds(tmp_path: Path) -> None:
    # From the third build on, the tree the second-last build wrote (kept in
    # the cache) is brought up to date and swapped in: it must end up as a
    # clean build would write it, whatever changed in between.
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    # A first build leaves a spare too: the tree it wrote, linked.
    [spare] = spare_trees(site)
    assert tree(spare) == tree(out)
    named_conf = "ns1/named.conf"
    assert (spare / named_conf).stat().st_ino == (out / named_conf).stat().st_ino
    com, org = site / "zones/example.com.yaml", site / "zones/example.org.yaml"
    original = com.read_text()
    edits = [
        (com, original + "new: A 192.0.2.99\n"),
        (org, org.read_text() + "more: A 192.0.2.77\n"),
        (com, original),  # back as it was two builds ago
        (site / "zones/example.net.zone", "host IN A 192.0.2.31\n"),
    ]
    for n, (path, text) in enumerate(edits):
        path.write_text(text)
        build(site, out)
        assert len(spare_trees(site)) == 1
        assert_as_a_clean_build(site, out, tmp_path / f"clean{n}")


def test_a_spare_tree_changed_behind_zonesmiths_back_is_put_right(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    zone = site / "zones/example.org.yaml"
    append(zone, "more: A 192.0.2.77\n")
    build(site, out)
    [spare] = spare_trees(site)
    # A file edited (same size), one deleted, one added, a folder added, and
    # a file where a folder should be.
    edited = spare / "ns1/zones/external/example.com.zone"
    content = edited.read_bytes()
    edited.unlink()  # the spare shares its files with the live tree by links
    time.sleep(0.01)
    edited.write_bytes(content.replace(b"192.0.2.10", b"192.0.2.66"))
    (spare / "ns1/zones/internal/example.net.zone").unlink()
    (spare / "ns1/stray.conf").write_text("stray\n")
    (spare / "ns1/stray-folder/deeper").mkdir(parents=True)
    (spare / "ns1/stray-folder/deeper/file").write_text("x\n")
    shutil.rmtree(spare / "ns1/zones/internal")
    (spare / "ns1/zones/internal").write_text("not a folder\n")
    build(site, out)
    assert_as_a_clean_build(site, out, tmp_path / "clean")
    assert sorted(p.name for p in (out / "ns1").iterdir()) == sorted(
        p.name for p in (tmp_path / "clean/ns1").iterdir()
    )


def test_a_spare_tree_without_its_manifest_is_trusted_in_nothing(tmp_path: Path) -> None:
    # As a build that crashed while updating the spare leaves it.
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    build(site, out)
    [spare] = spare_trees(site)
    (spare / ".zonesmith-output").unlink()
    wrong = spare / "ns1/zones/external/example.org.zone"
    size = len(wrong.read_bytes())
    wrong.unlink()  # the spare shares its files with the live tree by links
    wrong.write_bytes(b"x" * size)
    os.utime(wrong, (0, 0))  # older than anything: only the manifest can vouch for it
    build(site, out)
    assert_as_a_clean_build(site, out, tmp_path / "clean")


def test_files_a_server_writes_into_the_output_survive_rebuilds(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    journal = out / "ns1/zones/external/example.org.zone.jnl"
    journal.write_bytes(b"journal 1")
    zone = site / "zones/example.org.yaml"
    for n in range(3):  # through the spare tree and back
        append(zone, f"host{n}: A 192.0.2.{n + 100}\n")
        build(site, out)
        assert journal.read_bytes() == b"journal 1"
    journal.unlink()  # the server dropped it: it does not come back from the spare
    for _ in range(2):
        build(site, out)
        assert not journal.exists()


def test_a_cache_file_damaged_in_its_packed_records_is_reported_and_dropped(
    tmp_path: Path,
) -> None:
    # A shard file's records are read after its entries, only when a zone
    # must be unpacked (here example.com, for the PTRs of its reverse zone).
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    before = tree(out)
    model, _ = check_site(site, ZoneCache(site))
    [forward] = [zone for zone in model.zones if zone.origin == "example.com."]
    assert forward.fingerprint is not None
    shard = site / ".zonesmith/cache/zones" / forward.fingerprint[:2]
    content = shard.read_bytes()
    entries = int.from_bytes(content[:8], "little")
    shard.write_bytes(content[: 8 + entries] + marshal.dumps({}))
    failed = zonesmith("build", site, "-o", out, "--no-server-checks")
    assert failed.returncode == 1
    assert "error: [cache]" in failed.stdout and "run again" in failed.stdout
    assert "Traceback" not in failed.stdout + failed.stderr
    assert tree(out) == before
    build(site, out)
    assert tree(out) == before


def test_the_spare_tree_of_an_output_folder_that_is_gone_is_dropped(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    build(site, first)
    build(site, first)
    [spare] = spare_trees(site)
    build(site, second)
    build(site, second)
    assert len(spare_trees(site)) == 2  # one per output folder in use
    shutil.rmtree(first)
    build(site, second)
    assert spare_trees(site) != [spare] and len(spare_trees(site)) == 1
    assert not spare.exists()


def test_a_file_the_declarations_look_for_in_the_site_folder_is_looked_for_again(
    tmp_path: Path,
) -> None:
    # An allowlist entry is a file when the site has one by that name, else a
    # name: the kept declarations must see the file appear. Other files of
    # the site folder (the output, zonesmith's own) do not invalidate them.
    config = CONFIG + "blocklists:\n  ads: {sources: [lists/ads.txt], allow: [keep.txt]}\n"
    site = write_site(tmp_path / "site", config, ZONES)

    def checked() -> Site:
        cache = ZoneCache(site)
        model, _ = check_site(site, cache)
        cache.save(model.zones, collect=True)
        return model

    assert checked().blocklists[0].allow_names == ("keep.txt",)
    (site / "keep.txt").write_text("fine.example\n")
    model = checked()
    assert model.blocklists[0].allow == ("keep.txt",) and not model.blocklists[0].allow_names
    kept = (site / ".zonesmith/cache/zones/declarations").read_bytes()
    (site / "out").mkdir()
    (site / "zonesmith.state").write_text("{}")
    checked()
    assert (site / ".zonesmith/cache/zones/declarations").read_bytes() == kept


def test_a_change_to_the_soa_moves_every_serial_of_cached_zones(tmp_path: Path) -> None:
    # A zone's digest (which decides its serial) covers the SOA the site
    # supplies; the cache keeps it per SOA, not per zone alone.
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    zone_file = out / "ns1/zones/external/example.org.zone"

    def soa_of(path: Path) -> list[str]:
        return next(line for line in path.read_text().splitlines() if "\tSOA\t" in line).split()

    before = soa_of(zone_file)
    config = site / "zonesmith.yaml"
    config.write_text(
        config.read_text().replace("contact: hostmaster@example.com}", "contact: dns@example.com}")
    )
    build(site, out)
    after = soa_of(zone_file)
    assert after[5] == "dns.example.com." and int(after[6]) > int(before[6])
    assert_as_a_clean_build(site, out, tmp_path / "clean")


def test_builds_of_one_output_at_the_same_time_take_turns(tmp_path: Path) -> None:
    # They share the output's spare tree: a build waits while another holds it.
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    [named] = (site / ".zonesmith/cache/trees").glob("*.out")
    zone = site / "zones/example.org.yaml"
    append(zone, "waited: A 192.0.2.50\n")
    command = [sys.executable, "-m", "zonesmith", "build", str(site), "-o", str(out)]

    def not_yet() -> None:
        assert b"waited" not in (out / "ns1/zones/external/example.org.zone").read_bytes()

    with open(named, "ab") as lock:  # held as a build in progress holds it
        succeeds_once_unlocked(lock.fileno(), [*command, "--no-server-checks"], not_yet)
    assert b"waited" in (out / "ns1/zones/external/example.org.zone").read_bytes()
    assert_as_a_clean_build(site, out, tmp_path / "clean")


FLEET_CONFIG = (
    BASE_CONFIG
    + """\
keys:
  xfr: {secret-file: secrets/xfr.key}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, path: /srv/dns,
        catalog: catalog.example.com.}
  ns2: {software: nsd, role: secondary, address: 127.0.0.11, path: /srv/dns,
        primaries: [ns1], key: xfr}
  ns3: {software: knot, role: secondary, address: 127.0.0.12, path: /srv/dns,
        primaries: [ns1], key: xfr}
  ns4: {software: knot, role: primary, address: 127.0.0.13, path: /srv/dns}
sets:
  ns: {'@': [NS ns1.example.com., NS ns2.example.]}
zones:
  example.com: {include: [ns]}
  example.org: {include: [ns], servers: [ns1, ns2]}
  example.net: {include: [ns], servers: [ns4]}
  2.0.192.in-addr.arpa: {include: [ns], reverse-of: [example.com]}
"""
)


def make_fleet_site(tmp_path: Path) -> Path:
    zones = {name: text for name, text in ZONES.items() if not name.startswith("example.com")}
    zones["example.com.yaml"] = "ns1: A 192.0.2.1\nwww: A 192.0.2.10\n"
    site = write_site(
        tmp_path / "site", FLEET_CONFIG, zones, {"secrets/xfr.key": "c2VjcmV0LWtleQ==\n"}
    )
    past = time.time() - 60
    for path in (site / "zones").iterdir():
        os.utime(path, (past, past))
    return site


def test_a_rebuild_compiles_only_the_changed_zones_and_renders_no_server_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Declarations, keys and blocklists unchanged: the configurations are as
    # the last build wrote them, and only the edited zone (and the reverse
    # zone, which derives from every zone) is compiled again.
    site = make_fleet_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    compiled: list[str] = []
    real_compile_zone = memo.compile_zone

    def compile_zone(site_model: Site, zone: Zone, *args: object, **kwargs: object) -> object:
        compiled.append(zone.text)
        return real_compile_zone(site_model, zone, *args, **kwargs)  # type: ignore[arg-type]

    def no_render(*_: object) -> None:
        raise AssertionError("the whole site was compiled and rendered again")

    monkeypatch.setattr(memo, "compile_zone", compile_zone)
    monkeypatch.setattr(pipeline, "compile_fleet", no_render)
    edits = [
        ("example.com.yaml", "new: A 192.0.2.99\n"),
        ("example.net.zone", "h IN A 192.0.2.3\n"),
    ]
    for n, (name, line) in enumerate(edits):
        zone = site / "zones" / name
        append(zone, line)
        compiled.clear()
        build_site(site, out, server_checks=False, cache=ZoneCache(site))
        assert sorted(compiled) == sorted([name[:-5], "2.0.192.in-addr.arpa"])
        assert_as_a_clean_build(site, out, tmp_path / f"clean{n}")
    reverse = (out / "ns1/zones/2.0.192.in-addr.arpa.zone").read_text()
    assert "99\t3600\tIN\tPTR\tnew.example.com." in reverse


def test_a_rebuild_after_the_declarations_or_a_key_changed_renders_everything(
    tmp_path: Path,
) -> None:
    site = make_fleet_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    assert "example.org" in (out / "ns2/nsd.conf").read_text()
    (site / "secrets/xfr.key").write_text("bmV3LXNlY3JldC1rZXk=\n")
    build(site, out)
    assert "bmV3LXNlY3JldC1rZXk=" in (out / "ns2/keys.conf").read_text()
    assert_as_a_clean_build(site, out, tmp_path / "clean0")
    config = site / "zonesmith.yaml"
    config.write_text(config.read_text().replace("servers: [ns1, ns2]", "servers: [ns1, ns3]"))
    build(site, out)
    assert "example.org" not in (out / "ns2/nsd.conf").read_text()
    assert_as_a_clean_build(site, out, tmp_path / "clean1")


def serial_of(zone_file: Path) -> int:
    soa = next(line for line in zone_file.read_text().splitlines() if "\tSOA\t" in line)
    return int(soa.split()[6])


def test_a_rebuild_after_the_serial_state_changed_is_not_replayed(tmp_path: Path) -> None:
    # Unchanged zone files carry the serials of the state the last build
    # left; with another state (deleted here: serials start again at
    # today's date) every zone file is made again.
    site = make_fleet_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    append(site / "zones/example.org.yaml", "more: A 192.0.2.77\n")
    build(site, out)
    assert serial_of(out / "ns1/zones/example.org.zone") % 100 == 1
    (site / "zonesmith.state").unlink()
    append(site / "zones/example.net.zone", "more IN A 192.0.2.31\n")
    build(site, out)
    assert serial_of(out / "ns1/zones/example.org.zone") % 100 == 0
    assert_as_a_clean_build(site, out, tmp_path / "clean")


def test_a_replayed_file_missing_from_both_trees_is_made_again(tmp_path: Path) -> None:
    site = make_fleet_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    build(site, out)
    [spare] = spare_trees(site)
    for root in (out, spare):
        (root / "ns3/knot.conf").unlink()
        (root / "ns1/zones/example.org.zone").unlink()
    append(site / "zones/example.com.yaml", "new: A 192.0.2.99\n")
    build(site, out)
    assert_as_a_clean_build(site, out, tmp_path / "clean")


@pytest.mark.parametrize("damage", ["garbage", "shape"])
def test_a_damaged_replay_memo_is_only_a_miss(tmp_path: Path, damage: str) -> None:
    site = make_fleet_site(tmp_path)
    out = tmp_path / "out"
    build(site, out)
    [memo] = (site / ".zonesmith/cache/trees").glob("*.memo")
    if damage == "garbage":
        memo.write_bytes(b"\x00\x01 not marshal")
    else:  # the right key, with a file's digest, mode and size in the wrong form
        form, key, state, zones, files, zone_files = marshal.loads(memo.read_bytes())
        files = {path: ("digest", "0644") for path in files}
        memo.write_bytes(marshal.dumps((form, key, state, zones, files, zone_files)))
    append(site / "zones/example.com.yaml", "new: A 192.0.2.99\n")
    result = zonesmith("build", site, "-o", out, "--no-server-checks")
    assert result.returncode == 0 and "Traceback" not in result.stdout + result.stderr
    assert_as_a_clean_build(site, out, tmp_path / "clean")
