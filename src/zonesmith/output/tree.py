"""The output tree: written beside the live one, checked, and swapped in atomically."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import stat
from collections.abc import Container, Iterator
from pathlib import Path

from zonesmith.diagnostics import Diagnostic, Position, SiteError, error
from zonesmith.drivers import OutputFile
from zonesmith.output.cache import ZoneCache
from zonesmith.output.memo import ReplayedFileMissing, WrittenFile
from zonesmith.own_files import (
    FILE_MODE,
    FOLDER_MODE,
    ensure_cache_folder,
    make_folders,
    write_atomically,
)
from zonesmith.site.files import display_path, os_failure
from zonesmith.site.values import shown

#: Marks a folder as zonesmith's output, which a build may replace whole.
MARKER = ".zonesmith-output"
#: Where a site's spare output trees are kept, in its cache (see staging_dir).
TREES_FOLDER = "trees"
MARKER_HEADER = (
    "# This folder is written by 'zonesmith build' and replaced on every build.\n"
    "# Files below are the ones zonesmith wrote, with a digest of their content;\n"
    "# any other file is a server's own (journals, transferred zones, databases)\n"
    "# and is kept across builds.\n"
)


def checked_output(out: Path) -> Path:
    """``out`` made absolute, once sure a build may replace it; its parent is made."""
    out = out.absolute()
    if out.exists() and not out.is_dir():
        raise SiteError(
            [
                error(
                    Position(display_path(out)),
                    "output",
                    "the output path exists and is not a folder",
                )
            ]
        )
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).exists():
        raise SiteError(
            [
                error(
                    Position(display_path(out)),
                    "output",
                    "the output folder exists and was not written by zonesmith; "
                    "choose an empty or new folder with -o",
                )
            ]
        )
    try:
        make_folders(out.parent)
    except OSError as exc:
        raise SiteError([os_failure(exc, "make the folder of the output", out.parent)]) from None
    return out


@contextlib.contextmanager
def locked_folders(*folders: Path) -> Iterator[None]:
    """Hold an exclusive lock on each of ``folders`` (the one that holds an output
    folder, the site's).

    The output folder itself is swapped by every build, and a lock file beside
    it would show in the site's repository. A folder given twice is locked
    once, and folders are locked in one order, so two builds never each wait
    for the other.
    """
    opened: dict[tuple[int, int], int] = {}
    try:
        for folder in folders:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) in opened:
                os.close(fd)
            else:
                opened[info.st_dev, info.st_ino] = fd
        for _, fd in sorted(opened.items()):
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        for fd in opened.values():
            os.close(fd)


def staging_dir(out: Path, cache: ZoneCache | None) -> tuple[Path, bool]:
    """Where the new tree is made (on the same file system as ``out``, so the
    swap is one rename), and whether it is the site's spare tree.

    With a cache, the tree a build replaces is kept as a spare in the site's
    cache (see _spare_tree); the next build brings it up to date, which for
    a rebuild after one edited zone is a few files, not a whole tree. Without
    one, a fresh folder beside ``out``, deleted after the swap.
    """
    for leftover in out.parent.glob(f".{out.name}.zonesmith-*"):
        shutil.rmtree(leftover, ignore_errors=True)  # from a build that crashed
    spare = _spare_tree(cache, out)
    if spare is not None:
        return spare, True
    staging = out.parent / f".{out.name}.zonesmith-new"
    staging.mkdir()
    return staging, False


def _spare_tree(cache: ZoneCache | None, out: Path) -> Path | None:
    """The spare tree of output folder ``out`` in the site's cache, if it can have one.

    It must be on the file system of ``out``: trees are swapped by renaming.
    It is in the cache (git-ignored, safe to delete) rather than beside
    ``out``, where it would show in the site's repository.
    """
    if cache is None or cache.site_root is None or cache.folder is None:
        return None
    try:
        folder = ensure_cache_folder(cache.site_root, TREES_FOLDER)
        if os.stat(folder).st_dev != os.stat(out.parent).st_dev:
            return None
        if not os.access(folder, os.W_OK):  # a read-only site: a build needs no cache
            return None
        spare = folder / hashlib.blake2b(os.fsencode(out), digest_size=8).hexdigest()
        _drop_spares_of_gone_outputs(folder, spare)
        named = spare.with_suffix(".out")
        if not named.exists():
            write_atomically(named, os.fsencode(out))
    except OSError:
        return None
    return spare


def _drop_spares_of_gone_outputs(folder: Path, kept: Path) -> None:
    """Delete the spare trees of output folders that are gone (each names its own)."""
    for named in folder.glob("*.out"):
        if named.with_suffix("") == kept:
            continue
        with locked(named, wait=False) as ours:  # not while a build uses it
            out = Path(os.fsdecode(named.read_bytes()))
            if ours and not (out / MARKER).is_file():
                shutil.rmtree(named.with_suffix(""), ignore_errors=True)
                named.with_suffix(".memo").unlink(missing_ok=True)
                named.unlink(missing_ok=True)


@contextlib.contextmanager
def locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
    """Hold an exclusive lock on ``path`` (made if need be); yields whether it was got.

    Without ``wait``, a lock another process holds is not waited for.
    """
    with open(path, "ab") as stream:
        try:
            fcntl.flock(stream, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True


def make_spare(spare: Path, files: dict[str, WrittenFile], out: Path) -> None:
    """The spare of a first build (which had no tree to replace): ``out``, linked.

    Every file, the manifest too, is a link to the tree just written (which
    needs no checking); the next build writes none of them through (see
    write_tree). The first build, not the first rebuild after it, pays for
    the links. Without a spare, the next build only makes one.
    """
    try:
        spare.mkdir()
        os.chmod(spare, FOLDER_MODE)
        with _Folders(spare, out) as folders:
            for relative, (_, mode, _) in files.items():
                if relative.endswith("/"):
                    _make_folder(spare, relative, mode)
                    continue
                folder, _, name = relative.rpartition("/")
                new_fd, old_fd = folders.open(folder)
                if old_fd is None:
                    raise FileNotFoundError(out / folder)
                os.link(name, name, src_dir_fd=old_fd, dst_dir_fd=new_fd)
        os.link(out / MARKER, spare / MARKER)  # last: it vouches for the files
    except OSError:
        shutil.rmtree(spare, ignore_errors=True)


#: path -> content digest of every file listed; folders are not listed
Manifest = dict[str, str]


def read_manifest(out: Path) -> tuple[set[str], Manifest, int]:
    """What an earlier build wrote into ``out``: every path, each file's digest, and when.

    The time (of the manifest, written after every file) tells files a
    later hand edit changed: they are newer than the manifest.
    """
    written: set[str] = set()
    files: Manifest = {}
    try:
        with open(out / MARKER, "rb") as stream:
            written_at = os.fstat(stream.fileno()).st_mtime_ns
            text = stream.read().decode()
    except (OSError, UnicodeDecodeError):
        return written, files, 0
    # Ten thousand lines at every build: comprehensions, not a loop.
    lines = [line.partition("\t") for line in text.splitlines() if line and line[0] != "#"]
    written = {path for path, _, _ in lines}
    files = {path: digest for path, _, digest in lines if digest}
    return written, files, written_at


def write_tree(
    root: Path,
    files: dict[str, OutputFile | WrittenFile],
    previous: Path,
    before: Manifest,
    before_at: int,
) -> dict[str, WrittenFile]:
    """Make the tree under ``root`` hold ``files`` and nothing else, then write its manifest.

    ``root`` may hold an earlier build's tree (the spare): a file it holds
    as that build left it, with the same content, is kept. Otherwise a file
    whose content is the same in the ``previous`` tree (whose manifest is
    ``before``, written at ``before_at``) is hard-linked from it, and only
    what is left is written. A file edited by hand after its build (newer
    than its tree's manifest) is not trusted in either. A file given only
    as WrittenFile must be found in one of them (else ReplayedFileMissing).

    A file is never written in place: the spare and the previous tree share
    files by links, and the previous tree is the one servers run from. The
    manifest goes first and comes back last, so a tree left half-updated by
    a crash has none, and the next build trusts nothing in it.

    Returns every file as WrittenFile, folders with no digest.
    """
    outside = [relative for relative in files if not _contained(relative)]
    if outside:
        raise SiteError([_outside_output(previous, relative) for relative in sorted(outside)])
    _, kept, kept_at = read_manifest(root)
    (root / MARKER).unlink(missing_ok=True)
    os.chmod(root, FOLDER_MODE)
    _prune(root, files)
    recorded: dict[str, WrittenFile] = {}
    folder_open = None
    relative = ""
    try:
        with _Folders(root, previous) as folders:
            for relative, output in sorted(files.items()):
                if isinstance(output, OutputFile):
                    content: bytes | None = output.content
                    digest = hashlib.blake2b(output.content, digest_size=16).hexdigest()
                    mode, size = output.mode, len(output.content)
                else:
                    content = None
                    digest, mode, size = output
                if relative.endswith("/"):  # a folder the server writes into
                    _make_folder(root, relative, mode)
                    recorded[relative] = ("", mode, 0)
                    continue
                recorded[relative] = (digest, mode, size)
                folder, _, name = relative.rpartition("/")
                if folder != folder_open:  # files come folder by folder
                    new_fd, old_fd = folders.open(folder)
                    folder_open = folder
                if kept.get(relative) == digest and _unchanged(name, new_fd, size, mode, kept_at):
                    continue
                try:
                    os.unlink(name, dir_fd=new_fd)
                except FileNotFoundError:
                    pass
                except IsADirectoryError:  # a folder where the file belongs
                    shutil.rmtree(name, dir_fd=new_fd)
                if (
                    old_fd is not None
                    and before.get(relative) == digest
                    and _unchanged(name, old_fd, size, mode, before_at)
                ):
                    try:
                        os.link(name, name, src_dir_fd=old_fd, dst_dir_fd=new_fd)
                        continue
                    except OSError:
                        pass  # another file system, or links not allowed: written below
                if content is None:
                    raise ReplayedFileMissing(relative)
                # Create with the final mode so a secret is never readable, even briefly.
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
                fd = os.open(name, flags, mode, dir_fd=new_fd)
                with os.fdopen(fd, "wb") as stream:
                    stream.write(content)
                    os.fchmod(fd, mode)
    except (OSError, ValueError) as exc:  # named by the path in the tree
        raise _os_error_at(exc, root / relative) from None
    lines = [
        f"{relative}\t{digest}\n" if digest else f"{relative}\n"
        for relative, (digest, _, _) in recorded.items()
    ]
    fd = os.open(root / MARKER, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    with os.fdopen(fd, "w") as stream:
        os.fchmod(fd, FILE_MODE)
        stream.write(MARKER_HEADER + "".join(lines))
    return recorded


def _contained(relative: str) -> bool:
    """Whether a path of the output tree stays in it: relative, with no empty part and no
    part starting with a dot (no '..', no manifest), and no NUL."""
    return not (
        relative[:1] in ("/", ".", "") or "/." in relative or "//" in relative or "\0" in relative
    )


def _outside_output(out: Path, relative: str) -> Diagnostic:
    return error(
        Position(display_path(out)),
        "path-outside-output",
        f"{shown(relative)} would be written outside the output folder; nothing was written",
    )


def _inside(root: Path, relative: str) -> Path:
    """``root / relative``, made a folder, after making sure no link leads it out of ``root``."""
    path = root / relative
    make_folders(path)
    if not path.resolve().is_relative_to(root.resolve()):
        raise SiteError([_outside_output(root, relative)])
    return path


def _make_folder(root: Path, relative: str, mode: int) -> None:
    """A folder of the output that a server writes into, with its mode."""
    os.chmod(_inside(root, relative), mode)


def _os_error_at(exc: OSError | ValueError, path: Path) -> OSError:
    """An error writing the file or folder ``path`` of a tree, as an OSError naming it.

    Files are written by name within an open folder, so the error alone
    names no more than the file's name. A NUL in a name is a ValueError;
    any other ValueError is a bug, raised as it is.
    """
    if isinstance(exc, ValueError):
        if "null" not in str(exc):
            raise exc
        return OSError(errno.EINVAL, "the name holds a NUL character", os.fspath(path))
    return OSError(exc.errno, exc.strerror, os.fspath(path))


def _prune(root: Path, files: dict[str, OutputFile | WrittenFile]) -> None:
    """Delete whatever ``root`` holds besides ``files`` and the folders they are in.

    A path of ``files`` that is a folder in ``root`` is left to write_tree,
    which replaces it.
    """
    folders = {""}
    for relative in files:
        if relative.endswith("/"):
            folders.add(relative)
        folder = relative.rstrip("/").rpartition("/")[0]
        while folder and folder + "/" not in folders:
            folders.add(folder + "/")
            folder = folder.rpartition("/")[0]
    for relative, is_folder in _walk(root, files):
        if not is_folder:
            os.unlink(root / relative)
        elif relative + "/" not in folders:
            shutil.rmtree(root / relative, ignore_errors=True)


def _walk(root: Path, listed: Container[str] = ()) -> Iterator[tuple[str, bool]]:
    """Every path under ``root`` but those ``listed`` (relative), with whether it is a folder.

    A folder is given before what it holds, and the caller may delete it
    then. ``listed`` paths are neither looked at nor looked into: they are
    most of a tree of ten thousand files, which this goes through by name
    only. Symbolic links are not followed: they are given as files.
    """
    folders = [""]
    while folders:
        folder = folders.pop()
        try:
            names = os.listdir(root / folder if folder else root)
        except (FileNotFoundError, NotADirectoryError):
            continue  # deleted by the caller, or the folder itself was listed
        for relative in [folder + name for name in names if folder + name not in listed]:
            is_folder = stat.S_ISDIR(os.lstat(root / relative).st_mode)
            yield relative, is_folder
            if is_folder:
                folders.append(relative + "/")


class _Folders:
    """Open folders of the new tree and the previous one, by path relative to both.

    Files are linked and written by name within an open folder: the kernel
    then does not walk the whole path again for each of ten thousand files.
    """

    def __init__(self, root: Path, previous: Path) -> None:
        self.root = root
        self.previous = previous
        self.open_folders: dict[str, tuple[int, int | None]] = {}

    def open(self, folder: str) -> tuple[int, int | None]:
        """The new folder (made if need be) and the previous tree's, if it has it."""
        found = self.open_folders.get(folder)
        if found is None:
            new_fd = os.open(_inside(self.root, folder), os.O_RDONLY | os.O_DIRECTORY)
            if stat.S_IMODE(os.fstat(new_fd).st_mode) != FOLDER_MODE:  # an older tree's
                os.fchmod(new_fd, FOLDER_MODE)
            try:
                old_fd: int | None = os.open(self.previous / folder, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                old_fd = None
            found = self.open_folders[folder] = (new_fd, old_fd)
        return found

    def __enter__(self) -> _Folders:
        return self

    def __exit__(self, *_: object) -> None:
        for new_fd, old_fd in self.open_folders.values():
            os.close(new_fd)
            if old_fd is not None:
                os.close(old_fd)


def _unchanged(name: str, folder_fd: int, size: int, mode: int, written_at: int) -> bool:
    """Whether an earlier build's file is still as written (size, mode, no later change)."""
    try:
        info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
    except OSError:
        return False
    return (
        stat.S_ISREG(info.st_mode)
        and info.st_size == size
        and stat.S_IMODE(info.st_mode) == mode
        # Not ctime: linking into the next tree and deleting the old one change it.
        and info.st_mtime_ns <= written_at
    )


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where unsupported."""
    import ctypes  # only here: most of a rebuild's time is starting up

    try:
        # The process's own symbols include the C library's (no search for it).
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _keep_server_files(old: Path, new: Path, written: set[str]) -> None:
    """Hard-link the servers' own files of the old tree into the new one.

    A server running from OUT keeps transferred zones, journals and
    databases there; a rebuild must not pull them from under it. What the
    old manifest (``written``) does not list was written by a server, not
    by zonesmith.
    """
    if not written:
        return
    server_files = [
        relative
        for relative, is_folder in _walk(old, written)
        if not is_folder and relative != MARKER
    ]
    for relative in sorted(server_files):
        target = new / relative
        if target.exists():
            continue
        make_folders(target.parent)
        try:
            os.link(old / relative, target)
        except OSError:
            shutil.copy2(old / relative, target)


def swap_in(staging: Path, out: Path, written: set[str]) -> None:
    """Make ``staging`` the output tree; the old tree ends up in ``staging``.

    ``written`` is what the old tree's manifest lists.
    """
    out = out.absolute()
    if not out.exists():
        staging.rename(out)
        return
    _keep_server_files(out, staging, written)
    if _exchange(staging, out):
        return
    # Without an atomic exchange, keep the window between the two renames short.
    old = out.parent / f".{out.name}.zonesmith-old"
    out.rename(old)
    staging.rename(out)
    try:
        old.rename(staging)
    except OSError:
        shutil.rmtree(old, ignore_errors=True)
