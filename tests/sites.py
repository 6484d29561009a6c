"""Helpers to write small sites for tests and run the command line on them."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

BASE_CONFIG = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
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


def zonesmith(
    *args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the zonesmith command line as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "zonesmith", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=cwd,
        check=False,
    )
