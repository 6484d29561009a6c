"""The files of a site: where they are, how they are shown in diagnostics, folder listings."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

SITE_FILE = "zonesmith.yaml"
ZONES_DIR = "zones"


def display_path(path: Path) -> str:
    """The path as the user will recognise it: relative to the working directory if inside it."""
    folder = _display_folder(str(path.parent), os.getcwd())
    return path.name if folder == "." else f"{folder}/{path.name}"


@lru_cache(maxsize=1024)
def _display_folder(folder: str, cwd: str) -> str:
    # relpath is slow and a site has thousands of zone files in a few folders.
    try:
        relative = os.path.relpath(folder, cwd)
    except ValueError:  # pragma: no cover - another drive on Windows
        return folder
    return folder if relative.startswith("..") else relative


def _list_folder(folder: Path) -> tuple[list[str], set[str], set[str]] | None:
    """The names in ``folder``, those of its files, and those in lower case; None if unreadable."""
    try:
        with os.scandir(folder) as entries:
            names = []
            files = set()
            for entry in entries:
                names.append(entry.name)
                if entry.is_file():
                    files.add(entry.name)
    except OSError:
        return None
    return names, files, {name.lower() for name in files}
