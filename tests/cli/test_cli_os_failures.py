"""The command line: a refusal of the operating system is a sentence, never "internal error"."""

from __future__ import annotations

import json
from pathlib import Path

from sites import BASE_CONFIG, ok, write_site, zonesmith

SITE = (
    BASE_CONFIG
    + """\
servers:
  res1: {software: unbound, role: resolver, address: 127.0.0.1, blocklists: [ads]}
blocklists:
  ads: {sources: [lists/ads.txt]}
"""
)


def make_site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", SITE, files={"lists/ads.txt": "0.0.0.0 ad.example.net\n"})


def test_a_dot_zonesmith_that_is_a_file_is_a_sentence(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    (site / ".zonesmith").write_text("not a folder\n")
    run = zonesmith("blocklist", "update", site)
    output = run.stdout + run.stderr
    assert run.returncode == 1, output
    assert "internal error" not in output
    assert "site/.zonesmith: error: [os-error] cannot update the blocklists: a file is" in output
    run = zonesmith("blocklist", "update", site, "--json")
    assert run.returncode == 1
    [diagnostic] = json.loads(run.stdout)["diagnostics"]
    assert diagnostic["rule"] == "os-error" and diagnostic["file"].endswith("site/.zonesmith")
    # A build needs no cache: it compiles the local list again without one.
    ok(zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks"))
    assert "ad.example.net" in (tmp_path / "out/res1/unbound.conf").read_text() + "".join(
        p.read_text() for p in (tmp_path / "out/res1").rglob("*") if p.is_file()
    )


def test_the_same_site_with_its_cache_folder_updates(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    run = ok(zonesmith("blocklist", "update", site))
    assert "os-error" not in run.stdout + run.stderr
    ok(zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks"))


def test_any_command_stopped_by_the_operating_system_says_where_and_why(tmp_path: Path) -> None:
    zone = tmp_path / "example.org.zone"
    zone.write_text(
        "$ORIGIN example.org.\n@ 3600 SOA ns1 host 1 2 3 4 5\n@ NS ns1\nns1 A 192.0.2.1\n"
    )
    (tmp_path / "plain").write_text("not a folder\n")
    run = zonesmith("import", "zonefile", zone, "--site", tmp_path / "plain" / "site")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "internal error" not in run.stderr
    assert "plain: error: [os-error] cannot finish the command: a file is" in run.stderr
    run = ok(zonesmith("import", "zonefile", zone, "--site", tmp_path / "site"))
    assert "os-error" not in run.stdout + run.stderr
