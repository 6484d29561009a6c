"""The files of a site: where they are, how they and the OS's refusals are shown in
diagnostics, folder listings."""

from __future__ import annotations

import errno
import os
from functools import lru_cache
from pathlib import Path

from zonesmith.diagnostics import Diagnostic, Position, error

SITE_FILE = "zonesmith.yaml"
ZONES_DIR = "zones"


def is_site_file(root: Path | str, relative: str) -> bool:
    """Whether the site has a file at ``relative``; False too for a path no file can have
    (too long, a NUL)."""
    try:
        return (Path(root) / relative).is_file()
    except (OSError, ValueError):
        return False


def os_failure(exc: OSError, doing: str, path: Path | str | None = None) -> Diagnostic:
    """A refusal of the operating system as one error naming the path and the cause.

    ``path`` is named when the error does not say which path it concerns.
    """
    filename = exc.filename if exc.filename is not None else path
    where = Path(os.fsdecode(filename)) if filename is not None else Path.cwd()
    cause = exc.strerror or str(exc)
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):  # a file where a folder is made or read
        folders = [where, *where.parents] if exc.errno == errno.EEXIST else where.parents
        for folder in folders:
            if folder.exists() and not folder.is_dir():
                where, cause = folder, "a file is where a folder belongs"
                break
    shown = display_path(where) if where.is_absolute() else str(where)
    shown = shown.replace("\0", "\\0")  # a NUL in a name, visible
    return error(Position(shown), "os-error", f"cannot {doing}: {cause}")


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
