"""The files zonesmith keeps for itself in a site: its cache folder, atomic writes, signatures."""

from __future__ import annotations

import os
import threading
from pathlib import Path

#: Where zonesmith keeps its caches, relative to the site's root.
CACHE_ROOT = ".zonesmith/cache"


#: What tells a file changed without reading it: size, mtime, inode, ctime (as git's index).
Signature = tuple[int, int, int, int]


def signature(info: os.stat_result) -> Signature:
    """A file's Signature, from its ``stat``."""
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def ensure_cache_folder(site_root: Path | str, name: str) -> Path:
    """``SITE/.zonesmith/cache/<name>``, made on first use with a ``.gitignore``."""
    folder = Path(site_root) / CACHE_ROOT / name
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder.parents[1] / ".gitignore"  # SITE/.zonesmith/.gitignore
    if not ignore.exists():
        ignore.write_text("# zonesmith's caches: never commit them\n*\n")
    return folder


def write_atomically(path: Path, content: bytes) -> None:
    """Replace ``path`` in one step; concurrent writers each use their own temporary."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        temporary.write_bytes(content)
        temporary.replace(path)
    finally:
        if temporary.exists():
            temporary.unlink()
