"""Reading a site's files within bounds: inside the site folder, regular files, limited sizes.

A site may come from a pull request or from someone else's files, so what it
names is read as untrusted input: a file is read only if its real path (links
resolved) lies inside the real site folder, only if it is a regular file (not
a device, FIFO or folder), only up to a size limit, and a line longer than any
record can be is left out while reading instead of being held in memory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

MAX_ZONE_BYTES = 1 << 30
"""What one zone may read: its file and every file it includes, together (1 GiB).

A million records take some 50 MB of master file; 1 GiB is twenty times that,
more than a server of hand-kept zones holds in memory, yet a bound on what a
hostile ``$INCLUDE`` can make zonesmith read.
"""

MAX_SITE_FILE_BYTES = 64 << 20
"""The size of ``zonesmith.yaml`` at most (64 MiB): thousands of times a big hand-written one."""

MAX_LINE_BYTES = 1 << 20
"""The longest line, and the longest text of one record (1 MiB).

No record's presentation text comes near it: 65,535 octets of RDATA written
as ``\\DDD`` escapes are some 262,000 characters, and the longest valid record
text (an NSEC listing every type) some 650,000.
"""

_CHUNK = 4 << 20  # read size: a long line is found before more than this is held


class ReadRefused(Exception):
    """A file was not read: ``reason`` says why, ``rule`` is set when it is a limit of
    this module's rather than a failure to read (the caller's own rule then)."""

    def __init__(self, reason: str, rule: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.rule = rule


@dataclass(slots=True)
class Content:
    """A file's content, with every line longer than :data:`MAX_LINE_BYTES` left out
    (empty in ``data``, so the lines keep their numbers) and listed by number."""

    data: bytes
    long_lines: list[int] = field(default_factory=list)


def size_text(octets: int) -> str:
    """A limit as people write it: 1 GiB, 64 MiB, 1 MiB, or bytes."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if octets >= 1 << shift and octets % (1 << shift) == 0:
            return f"{octets >> shift} {unit}"
    return f"{octets} bytes"


class SiteFolder:
    """A site folder with every link resolved, as :func:`read_bounded` compares with.

    One is made per load: the real path of each folder files are read from is
    worked out once and kept, so that a link changed in a later load is seen.
    """

    __slots__ = ("path", "_text", "_folders")

    def __init__(self, root: Path | str):
        self._text = os.path.realpath(root)
        self.path = Path(self._text)
        self._folders: dict[str, str] = {}

    def outside(self, path: Path | str) -> Path | None:
        """The real path of ``path`` if it lies outside this folder, else None."""
        text = os.fspath(path)
        head, tail = os.path.split(text)
        if tail in ("", os.curdir, os.pardir):
            real = os.path.realpath(text)
        else:
            folder = self._folders.get(head)
            if folder is None:
                folder = self._folders[head] = os.path.realpath(head or os.curdir)
            real = os.path.join(folder, tail)
            if os.path.islink(real):
                real = os.path.realpath(real)
        root = self._text
        if real == root or real.startswith(root.rstrip(os.sep) + os.sep):
            return None
        return Path(real)

    def __str__(self) -> str:
        return self._text


def real_root(root: Path | str | SiteFolder) -> SiteFolder:
    """The site folder ``root`` with every link resolved (see :class:`SiteFolder`)."""
    return root if isinstance(root, SiteFolder) else SiteFolder(root)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bounded(
    path: Path,
    limit: int,
    *,
    root: SiteFolder | None = None,
    data: bytes | None = None,
    too_big: str = "",
) -> Content:
    """The content of the file ``path``, read within the bounds above.

    ``root`` (a :func:`real_root`) confines the read to that folder; None reads
    anywhere (files the user names on the command line). ``limit`` is the
    most bytes to read; ``too_big`` says why a bigger file is refused (default:
    its size).
    ``data`` is the content when the caller has read it already: it is then
    only checked. Raises :class:`ReadRefused`.
    """
    if root is not None:
        real = root.outside(path)
        if real is not None:
            raise ReadRefused(
                f"it is {real}, outside the site folder {root}; a site's files must lie inside it",
                "file-outside-site",
            )
    refused = ReadRefused(too_big or f"it is larger than {size_text(limit)}", "file-too-big")
    if data is not None:
        if len(data) > limit:
            raise refused
        return _without_long_lines([data])
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise ReadRefused(exc.strerror or type(exc).__name__) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ReadRefused(f"it is {_kind(info.st_mode)}, not a regular file")
        if info.st_size > limit:
            raise refused
        return _without_long_lines(_chunks(fd, limit, refused))
    except OSError as exc:
        raise ReadRefused(exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)


def _chunks(fd: int, limit: int, too_big: ReadRefused) -> Iterator[bytes]:
    """The file in pieces, refused when it grows past ``limit`` while being read."""
    total = 0
    while chunk := os.read(fd, _CHUNK):
        total += len(chunk)
        if total > limit:
            raise too_big
        yield chunk


def _without_long_lines(chunks: Iterable[bytes]) -> Content:
    """The chunks joined, with each line longer than MAX_LINE_BYTES emptied as it is met.

    At most one line being read (up to the limit) and one chunk are held
    beyond the lines kept, so a line of gigabytes costs no memory.
    """
    limit = MAX_LINE_BYTES
    kept: list[bytes] = []
    long_lines: list[int] = []
    lines = 0  # line feeds in ``kept``
    pending = b""  # the line being read, not yet ended
    skipping = False  # the line being read is too long: dropped up to its end
    for chunk in chunks:
        if skipping:
            end = chunk.find(b"\n")
            if end < 0:
                continue
            skipping = False
            chunk = chunk[end:]  # its line feed stays: the next lines keep their numbers
        buffer = pending + chunk if pending else chunk
        last = buffer.rfind(b"\n")
        if last < 0:
            pending = buffer
        else:
            pending = buffer[last + 1 :]
            done = buffer if last == len(buffer) - 1 else buffer[: last + 1]
            lines = _keep(done, limit, kept, long_lines, lines)
        if len(pending) > limit:
            long_lines.append(lines + 1)
            pending = b""
            skipping = True
    if pending:
        kept.append(pending)
    return Content(b"".join(kept), long_lines)


def _keep(done: bytes, limit: int, kept: list[bytes], long_lines: list[int], lines: int) -> int:
    """Keep ``done`` (whole lines) without those longer than ``limit``; the line feeds kept.

    Steps a window of ``limit`` octets from line start to line start: a line
    ends within the window or is too long, so a file of short lines takes a
    search per window, not per line.
    """
    start = position = 0
    size = len(done)
    while size - position > limit:
        feed = done.rfind(b"\n", position, position + limit + 1)
        if feed >= 0:
            position = feed + 1
            continue
        end = done.find(b"\n", position + limit + 1)
        long_lines.append(lines + done.count(b"\n", start, position) + 1)
        kept.append(done[start:position])
        lines += done.count(b"\n", start, position)
        start = position = end  # the line feed of the long line starts what is kept next
    kept.append(done[start:] if start else done)
    return lines + done.count(b"\n", start)
