"""The generated update-blocklists.sh takes every value as data, never as shell text."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from servers import requires
from sites import BASE_CONFIG, write_site

from zonesmith.pipeline import build_site

STAND_IN = """#!/bin/sh
# A harmless zonesmith: records how it was called.
printf '%s\\n' "$@" >> "$CALLS"
"""


@requires("sh", "sha256sum")
def test_a_site_folder_named_like_a_command_runs_nothing(tmp_path: Path) -> None:
    live = tmp_path / "live" / "res1"
    config = BASE_CONFIG + (
        "servers:\n"
        f"  res1: {{software: unbound, role: resolver, address: 127.0.0.1, port: 5353,\n"
        f"         path: {live}, blocklists: [ads]}}\n"
        "blocklists:\n  ads: {sources: [lists/ads.txt]}\n"
    )
    site = write_site(
        tmp_path / "s$(touch PWNED)`touch PWNED2`", config, files={"lists/ads.txt": "ads.example\n"}
    )
    build_site(site, live.parent, server_checks=False)
    script = live / "update-blocklists.sh"
    bin_folder, work = tmp_path / "bin", tmp_path / "work"
    bin_folder.mkdir()
    work.mkdir()
    (bin_folder / "zonesmith").write_text(STAND_IN)
    (bin_folder / "zonesmith").chmod(0o755)
    calls = tmp_path / "calls.txt"
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("ZONESMITH")
    }
    environment |= {"PATH": f"{bin_folder}:{os.environ['PATH']}", "CALLS": str(calls)}
    run = subprocess.run(
        ["sh", str(script)],
        cwd=work,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "res1: configuration and blocklists unchanged" in run.stdout
    pwned = [p for p in tmp_path.rglob("PWNED*")]
    assert not pwned, f"the site's folder name ran as a command: {pwned}"
    # The folder reached zonesmith as one word, exactly as it is.
    assert calls.read_text().splitlines() == [
        "blocklist",
        "update",
        str(site.resolve()),
        "build",
        str(site.resolve()),
        "-o",
        str(live.parent),
    ]
