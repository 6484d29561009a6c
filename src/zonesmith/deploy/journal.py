"""The deploy journal: one JSON line per apply or rollback, appended in the site, never a secret."""

from __future__ import annotations

import getpass
import json
import os
import socket
import subprocess
from datetime import UTC, datetime
from pathlib import Path

JOURNAL = "deploy-journal.jsonl"


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def git_commit(root: Path) -> str | None:
    """The site's git commit, when the site is a git checkout."""
    try:
        done = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def append(root: Path, entry: dict) -> dict:
    """Add ``entry`` (with time, user and commit) to the journal; the line written."""
    now = datetime.now(UTC)
    line = {
        "id": now.strftime("%Y%m%dT%H%M%S.%fZ"),
        "time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "user": who(),
        "commit": git_commit(root),
        **entry,
    }
    with open(root / JOURNAL, "a", encoding="utf-8") as journal:
        journal.write(json.dumps(line, sort_keys=True) + "\n")
    return line


def entries(root: Path) -> list[dict]:
    """Every entry, oldest first; lines that are not JSON are skipped."""
    try:
        text = (root / JOURNAL).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    found = []
    for line in text.splitlines():
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            found.append(value)
    return found
