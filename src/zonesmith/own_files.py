"""The files zonesmith keeps for itself in a site: its cache folder, atomic writes, signatures."""

from __future__ import annotations

import os
import threading
from pathlib import Path

#: Where zonesmith keeps its caches, relative to the site's root.
CACHE_ROOT = ".zonesmith/cache"

#: The modes of what zonesmith writes, whatever the umask (secrets are 0600).
FILE_MODE = 0o644
FOLDER_MODE = 0o755


#: What tells a file changed without reading it: size, mtime, inode, ctime (as git's index).
Signature = tuple[int, int, int, int]


def signature(info: os.stat_result) -> Signature:
    """A file's Signature, from its ``stat``."""
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def make_folders(path: Path) -> None:
    """Make folder ``path`` and the missing folders above it, each with FOLDER_MODE."""
    missing = []
    while not path.is_dir():
        missing.append(path)
        path = path.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)  # a file in the way raises FileExistsError
        os.chmod(folder, FOLDER_MODE)


def ensure_cache_folder(site_root: Path | str, name: str) -> Path:
    """``SITE/.zonesmith/cache/<name>``, made on first use with a ``.gitignore``."""
    folder = Path(site_root) / CACHE_ROOT / name
    make_folders(folder)
    ignore = folder.parents[1] / ".gitignore"  # SITE/.zonesmith/.gitignore
    if not ignore.exists():
        write_atomically(ignore, b"# zonesmith's caches: never commit them\n*\n")
    return folder


def write_atomically(path: Path, content: bytes, mode: int = FILE_MODE) -> None:
    """Replace ``path`` in one step with a file of ``mode``; concurrent writers each use
    their own temporary.
    """
    make_folders(path.parent)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as stream:
            os.fchmod(fd, mode)  # not the umask's
            stream.write(content)
        temporary.replace(path)
    finally:
        if temporary.exists():
            temporary.unlink()
