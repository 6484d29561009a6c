"""`zonesmith build`: builds of one output take turns, modes are zonesmith's, secrets stay in."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sites import BASE_CONFIG, checkout_env, ok, succeeds_once_unlocked, write_site, zonesmith

from zonesmith.output.cache import ZoneCache
from zonesmith.pipeline import build_site

FLEET = (
    BASE_CONFIG
    + """\
keys:
  xfr: {algorithm: hmac-sha256, secret-file: secrets/xfr.key}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, path: /srv/dns}
  ns2: {software: nsd, role: secondary, address: 127.0.0.11, path: /srv/dns,
        primaries: [ns1], key: xfr}
  ns3: {software: knot, role: secondary, address: 127.0.0.12, path: /srv/dns,
        primaries: [ns1], key: xfr}
  res1: {software: unbound, role: resolver, address: 127.0.0.53, path: /srv/res,
         blocklists: [ads]}
sets:
  ns: {'@': [NS ns1.example.com., NS ns2.example.com.]}
zones:
  example.com: {include: [ns]}
blocklists:
  ads: {sources: [lists/ads.txt]}
"""
)
SECRET = "c2VjcmV0LWtleQ==\n"


def make_site(tmp_path: Path, config: str = FLEET) -> Path:
    return write_site(
        tmp_path / "site",
        config,
        {"example.com.yaml": "ns1: A 192.0.2.1\nns2: A 192.0.2.2\n"},
        {"secrets/xfr.key": SECRET, "lists/ads.txt": "0.0.0.0 ad.example.net\n"},
    )


def modes(root: Path) -> dict[str, int]:
    """Every path under ``root`` (and root itself, as '.') with its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def expected_mode(relative: str, path: Path) -> int:
    if path.is_dir():
        return 0o755
    if path.name in ("keys.conf", "rndc.conf"):  # secrets: TSIG keys, the control key
        return 0o600
    if os.access(path, os.X_OK) and path.suffix == ".sh":
        return 0o755  # the resolver's update script
    return 0o644


@pytest.mark.parametrize("cache", [[], ["--no-cache"]], ids=["cache", "no-cache"])
def test_modes_are_zonesmiths_whatever_the_umask(tmp_path: Path, cache: list[str]) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "new" / "out"

    def build() -> None:
        run = subprocess.run(
            [sys.executable, "-m", "zonesmith", "build", str(site), "-o", str(out), *cache,
             "--no-server-checks"],
            capture_output=True, text=True, env=checkout_env(), umask=0, check=False,
        )  # fmt: skip
        ok(run)

    build()
    (site / "zones/example.com.yaml").write_text("ns1: A 192.0.2.1\nns2: A 192.0.2.3\n")
    build()  # through the spare tree, with a cache
    found = modes(out)
    assert any(name.endswith("keys.conf") for name in found)
    assert any(name.endswith(".sh") and mode == 0o755 for name, mode in found.items())
    wrong = {
        name: oct(mode) for name, mode in found.items() if mode != expected_mode(name, out / name)
    }
    assert not wrong
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o755
    assert stat.S_IMODE((site / "zonesmith.state").stat().st_mode) == 0o644
    if not cache:
        writable = {n: oct(m) for n, m in modes(site / ".zonesmith").items() if m & 0o022}
        assert not writable  # the cache is no one else's to change either


def test_builds_without_a_cache_into_one_output_take_turns(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    ok(zonesmith("build", site, "-o", out, "--no-cache", "--no-server-checks"))
    (site / "zones/example.com.yaml").write_text("ns1: A 192.0.2.1\nns2: A 192.0.2.77\n")
    command = [sys.executable, "-m", "zonesmith", "build", str(site), "-o", str(out)]

    # A build holds the lock on the folder that holds the output from reading
    # the serial state to the swap; here the test holds it.
    def not_yet() -> None:
        assert b"192.0.2.77" not in (out / "ns1/zones/example.com.zone").read_bytes()

    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        succeeds_once_unlocked(fd, [*command, "--no-cache", "--no-server-checks"], not_yet)
    finally:
        os.close(fd)
    assert b"192.0.2.77" in (out / "ns1/zones/example.com.zone").read_bytes()


def test_builds_of_one_site_into_other_outputs_take_turns(tmp_path: Path) -> None:
    # They read and write one serial state.
    site = make_site(tmp_path)
    out = tmp_path / "elsewhere" / "out"
    command = [sys.executable, "-m", "zonesmith", "build", str(site), "-o", str(out)]

    def not_yet() -> None:
        assert not out.exists() and not (site / "zonesmith.state").exists()

    fd = os.open(site, os.O_RDONLY | os.O_DIRECTORY)
    try:
        succeeds_once_unlocked(fd, [*command, "--no-server-checks"], not_yet)
    finally:
        os.close(fd)
    assert (out / "ns1/named.conf").is_file()


def test_builds_without_a_cache_at_the_same_time_all_succeed(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "zonesmith", "build", str(site), "-o", str(out), "--no-cache"]
    builds = [
        subprocess.Popen(
            command, env=checkout_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for _ in range(3)
    ]
    outputs = [(build.communicate(timeout=300)[0], build.returncode) for build in builds]
    assert all(code == 0 for _, code in outputs), outputs
    assert not list(tmp_path.glob(".out.zonesmith-*"))


@pytest.mark.parametrize(
    ("secret_file", "make", "rule", "words"),
    [
        ("../outside.key", None, "secret-outside-site", "outside the site"),
        ("/etc/hostname", None, "secret-outside-site", "outside the site"),
        ("secrets/link.key", "link", "secret-outside-site", "links followed"),
        ("secrets/fifo.key", "fifo", "missing-secret", "not a regular file"),
        ("secrets", None, "missing-secret", "not a regular file"),
    ],
)
def test_a_secret_file_outside_the_site_or_not_a_file_is_refused(
    tmp_path: Path, secret_file: str, make: str | None, rule: str, words: str
) -> None:
    site = make_site(tmp_path, FLEET.replace("secrets/xfr.key", secret_file))
    (tmp_path / "outside.key").write_text(SECRET)
    if make == "link":
        (site / secret_file).symlink_to(tmp_path / "outside.key")
    elif make == "fifo":
        os.mkfifo(site / secret_file)
    run = zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks")
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    line = next(n for n, text in enumerate(FLEET.splitlines(), 1) if "xfr: {" in text)
    assert f"zonesmith.yaml:{line}:3: error: [{rule}]" in output and words in output, output
    assert SECRET.strip() not in output
    assert not (tmp_path / "out").exists()


def test_a_secret_file_in_the_site_through_a_link_is_read(tmp_path: Path) -> None:
    site = make_site(tmp_path, FLEET.replace("secrets/xfr.key", "secrets/current.key"))
    (site / "secrets/current.key").symlink_to("xfr.key")  # a link within the site
    result = build_site(site, tmp_path / "out", server_checks=False, cache=ZoneCache(None))
    assert not [d for d in result.diagnostics if d.rule.startswith(("secret", "missing"))]
    assert SECRET.strip() in (tmp_path / "out/ns2/keys.conf").read_text()
