"""The command line prints the first 100 diagnostics of each file and counts the rest."""

from __future__ import annotations

import json
from pathlib import Path

from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.diagnostics import SHOWN_PER_FILE

CONFIG = BASE_CONFIG + "zones:\n  example.com: {}\n  example.net: {}\n"


def bad_site(tmp_path: Path, bad_com: int, bad_net: int) -> Path:
    """A site whose two zones have that many bad records."""

    def zone(bad: int) -> str:
        return "@ 3600 NS ns1.example.com.\n" + "".join(
            f"h{i} A 192.0.2.300\n" for i in range(bad)
        )

    return write_site(
        tmp_path / "site",
        CONFIG,
        {
            "example.com.zone": zone(bad_com) + "ns1 A 192.0.2.1\n",
            "example.net.zone": zone(bad_net),
        },
    )


def test_each_file_shows_its_first_hundred_then_a_count(tmp_path: Path) -> None:
    site = bad_site(tmp_path, 1000, 150)
    run = zonesmith("check", "site", cwd=tmp_path)
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    com = [
        line for line in lines if line.startswith("site/zones/example.com.zone:") and "[" in line
    ]
    net = [
        line for line in lines if line.startswith("site/zones/example.net.zone:") and "[" in line
    ]
    assert len(com) == len(net) == SHOWN_PER_FILE
    assert com[0].startswith("site/zones/example.com.zone:2:6: error: [bad-rdata]")
    assert com[-1].startswith(f"site/zones/example.com.zone:{SHOWN_PER_FILE + 1}:")
    more_com = lines.index(com[-1]) + 1
    assert lines[more_com] == (
        "site/zones/example.com.zone: and 900 more (900 errors, 0 warnings) not shown; "
        "--json lists them all"
    )
    more_net = lines.index(net[-1]) + 1
    assert lines[more_net].startswith("site/zones/example.net.zone: and 50 more (50 errors")
    # the other diagnostics and the summary still count everything
    assert lines[-1] == "site: 1150 errors, 0 warnings"
    assert len(lines) == 2 * SHOWN_PER_FILE + 3
    # --json lists every one
    listed = json.loads(zonesmith("check", "--json", site).stdout)["diagnostics"]
    assert len(listed) == 1150
    assert sorted({d["line"] for d in listed if d["file"].endswith(".com.zone")}) == list(
        range(2, 1002)
    )


def test_a_file_with_a_hundred_diagnostics_shows_them_all(tmp_path: Path) -> None:
    bad_site(tmp_path, SHOWN_PER_FILE, 1)
    run = zonesmith("check", "site", cwd=tmp_path)
    lines = run.stdout.splitlines()
    assert len(lines) == SHOWN_PER_FILE + 1 + 1
    assert "not shown" not in run.stdout


def test_build_caps_what_it_prints_too(tmp_path: Path) -> None:
    bad_site(tmp_path, 300, 0)
    run = zonesmith("build", "site", cwd=tmp_path)
    lines = run.stdout.splitlines()
    assert run.returncode == 1
    assert lines[SHOWN_PER_FILE].startswith("site/zones/example.com.zone: and 200 more")
    assert lines[-1] == "site: 300 errors, 0 warnings; nothing was written"
