"""The pipeline behind ``check`` and ``build``, and the atomic output tree.

load → validate → compile → render (drivers) → server checkers → swap in.
Nothing is written to the output when any stage reports an error, and the
output tree is replaced in one step, so after any crash it is the old tree
or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import marshal
import os
import shutil
import stat
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from zonesmith.cache import (
    FILE_MODE,
    FOLDER_MODE,
    Signature,
    ZoneCache,
    ensure_cache_folder,
    make_folders,
    signature,
    write_atomically,
)
from zonesmith.compile import (
    STATE_FILE,
    SerialState,
    ServerBuild,
    build_date,
    compile_fleet,
    compile_site,
    compile_zone,
)
from zonesmith.diagnostics import Diagnostic, Position, SiteError, error, sort_diagnostics
from zonesmith.drivers import Driver, OutputFile, Unquotable, driver_for, skipped_checks
from zonesmith.firewall import render_nftables
from zonesmith.load import display_path, load_site, read_secret, shown
from zonesmith.model import SOFTWARES, Site, Zone
from zonesmith.rules import validate

if TYPE_CHECKING:
    from zonesmith.blocklists import CompiledBlocklist

#: Marks a folder as zonesmith's output, which a build may replace whole.
MARKER = ".zonesmith-output"
#: Where a site's spare output trees are kept, in its cache (see _staging_dir).
TREES_FOLDER = "trees"
MARKER_HEADER = (
    "# This folder is written by 'zonesmith build' and replaced on every build.\n"
    "# Files below are the ones zonesmith wrote, with a digest of their content;\n"
    "# any other file is a server's own (journals, transferred zones, databases)\n"
    "# and is kept across builds.\n"
)


def check_site(root: Path, cache: ZoneCache | None = None) -> tuple[Site, list[Diagnostic]]:
    """Load and validate: every problem of the site, sorted.

    With a ``cache`` (see zonesmith.cache), unchanged zones are not read or
    checked again, and what this run learnt is kept for the next.
    """
    site, diagnostics = load_site(root, cache)
    if not any(d.is_error and d.rule in ("no-site",) for d in diagnostics):
        diagnostics += validate(site, cache)
    return site, sort_diagnostics(diagnostics)


def read_secrets(site: Site) -> dict[str, str]:
    """The secret of every TSIG key (the rules made sure each can be read)."""
    return {key.name: read_secret(site.root, key) for key in site.keys}


@dataclass
class BuildResult:
    out: Path
    servers: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: (checker, server) of every server check not run: the checker is not installed
    skipped_checks: list[tuple[str, str]] = field(default_factory=list)


def build_site(
    root: Path, out: Path, *, server_checks: bool = True, cache: ZoneCache | None = None
) -> BuildResult:
    """Check, compile, render and write the site's output tree.

    Raises SiteError (with every diagnostic) when anything is wrong; the
    output tree is then left as it was, and so is the serial state unless
    only the swap failed (see _write_state). A failure of the operating
    system is an error naming the path and the cause.
    """
    site, diagnostics = check_site(root, cache)
    if any(d.is_error for d in diagnostics):
        if cache is not None:
            cache.save(site.zones, collect=False)
        raise SiteError(diagnostics)
    secrets = read_secrets(site)
    lists = _resolver_blocklists(site)
    result = BuildResult(out, [server.name for server in site.servers])
    out = _checked_output(out)
    try:
        # Builds into one output, and builds of one site, take turns from
        # reading the serial state to the swap: two builds at once could give
        # one serial to two contents.
        with _locked_folders(out.parent, Path(site.root)):
            _build_locked(site, out, secrets, lists, server_checks, cache, diagnostics, result)
    except OSError as exc:
        raise SiteError([os_failure(exc, "write the output", out)]) from None
    result.diagnostics = sort_diagnostics(diagnostics)
    return result


def _build_locked(
    site: Site,
    out: Path,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
    server_checks: bool,
    cache: ZoneCache | None,
    diagnostics: list[Diagnostic],
    result: BuildResult,
) -> None:
    """Render, write, check and swap in the output tree, holding the output's lock;
    the server checkers' diagnostics are added to ``diagnostics``, the checks
    skipped to ``result``.
    """
    staging, is_spare = _staging_dir(out, cache)
    # Builds of one output from one site share its spare tree.
    with _locked(staging.with_suffix(".out")) if is_spare else contextlib.nullcontext():
        if is_spare and (staging.is_symlink() or not staging.is_dir()):
            staging.unlink(missing_ok=True)  # a file or link where the spare belongs
            make_folders(staging)
        # Server checks need every server's build: they take a full render.
        replayable = is_spare and not server_checks
        memo_path = staging.with_suffix(".memo")
        memo = _take_memo(memo_path, _replay_key(cache, secrets, lists) if replayable else None)
        try:
            rendered = _replay(site, cache, memo) if memo is not None else None
            if rendered is None:
                rendered = _render(site, secrets, lists, cache)
            if cache is not None:
                cache.save(site.zones, collect=True)
            written, before, before_at = _read_manifest(out)
            try:
                recorded = _write_tree(staging, rendered.files, out, before, before_at)
            except _NotAtHand:  # a file replayed from the last build is in neither tree
                rendered = _render(site, secrets, lists, cache)
                recorded = _write_tree(staging, rendered.files, out, before, before_at)
            if server_checks:
                for driver, build in rendered.checks:
                    display = display_path(out / build.server.name)
                    # Absolute: the checkers run elsewhere than the working directory.
                    staged = (staging / build.server.name).absolute()
                    diagnostics += driver.check(build, staged, display)
                    result.skipped_checks += skipped_checks(driver, build)
            if any(d.is_error for d in diagnostics):
                raise SiteError(sort_diagnostics(diagnostics), result.skipped_checks)
            _write_state(rendered.state)
            _swap_in(staging, out, written)
        finally:
            # A spare tree stays, whether it now holds the replaced tree or
            # this build's: the next build brings it up to date instead of
            # writing a whole tree.
            if not is_spare and staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        if is_spare and not staging.exists():
            _make_spare(staging, recorded, out)
        # Known once the cache is saved: the declarations of a first build.
        key = _replay_key(cache, secrets, lists) if replayable else None
        if key is not None:
            _keep_memo(memo_path, key, rendered, recorded)


def _write_state(state: SerialState) -> None:
    """Record the serials of the new tree, before it goes live.

    A serial is given to a zone's content only once it is recorded: if the
    tree then fails to go live, the old tree (with its older serials) stays,
    and the next build gives the recorded serial to the same content again,
    or a later one to other content. Written after the tree went live, a
    failure would leave served serials unrecorded, and the next build would
    give them to other content, which secondaries never transfer.
    """
    if not (state.changed or not state.path.exists()):
        return
    try:
        write_atomically(state.path, state.text().encode())
    except OSError as exc:
        raise SiteError(
            [os_failure(exc, "write the serial state; the output is left as it was", state.path)]
        ) from None


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


def _resolver_blocklists(site: Site) -> dict[str, tuple[CompiledBlocklist, ...]]:
    """Every resolver's compiled blocklists, by server name."""
    resolvers = [server for server in site.servers if server.role == "resolver"]
    if not resolvers:
        return {}  # and no blocklists module to import: a rebuild is mostly start-up
    from zonesmith.blocklists import compiled_for

    return {server.name: compiled_for(site, server) for server in resolvers}


# --------------------------------------------------------------------------
# Rendering, and replaying the last build


#: A file as the last build into the same output wrote it: digest, mode and size.
Recorded = tuple[str, int, int]


@dataclass
class Rendered:
    """Every file of the output tree, and the serial state they were made with."""

    #: path in the tree -> the file, or how the last build wrote it (see _replay);
    #: a path ending in "/" is a folder a server writes into.
    files: dict[str, OutputFile | Recorded]
    state: SerialState
    #: (view, zone origin) of every compiled zone -> the fingerprint its records
    #: had (see _kept_fingerprint)
    zones: dict[tuple[str, str], str | None]
    #: (view, zone origin) -> the paths of its zone files
    zone_files: dict[tuple[str, str], list[str]]
    #: (driver, build) of every server, for its checker (a full render only)
    checks: list[tuple[Driver, ServerBuild]] = field(default_factory=list)


def _render(
    site: Site,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
    cache: ZoneCache | None,
) -> Rendered:
    """Compile every zone and render every server's files."""
    compiled = compile_site(site, cache=cache)
    catalog_consumers = {
        software: bool(driver and driver.capabilities.catalog_consumer)
        for software in SOFTWARES
        for driver in [driver_for(software)]
    }
    builds = compile_fleet(compiled, secrets, catalog_consumers)
    files: dict[str, OutputFile | Recorded] = {}
    zone_files: dict[tuple[str, str], list[str]] = {}
    checks = []
    for server in site.servers:
        driver = driver_for(server.software)
        # The unsupported-role rule has stopped the build otherwise.
        assert driver is not None and server.role in driver.capabilities.roles
        build = builds[server.name]
        if server.role == "resolver":
            build = dataclasses.replace(build, blocklists=lists[server.name])
        try:
            rendered = driver.render(build, server.path)
        except Unquotable as exc:  # loading refuses such values: a second line of defence
            message = f"server '{server.name}': {exc}; nothing was written"
            raise SiteError([error(server.position, "unquotable-value", message)]) from None
        if server.role != "resolver":
            rendered["nftables.conf"] = OutputFile(render_nftables(build).encode())
        for relative, output in rendered.items():
            path = f"{server.name}/{relative}"
            files[path] = output
            zone = output.zone
            # A site zone's file (a catalog zone's is made from the declarations).
            if zone is not None and compiled.zones.get((zone.view, zone.origin)) is zone:
                zone_files.setdefault((zone.view, zone.origin), []).append(path)
        checks.append((driver, build))
    zones = {key: _kept_fingerprint(zone.zone) for key, zone in compiled.zones.items()}
    return Rendered(files, compiled.state, zones, zone_files, checks)


def _replay_key(
    cache: ZoneCache | None,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
) -> str | None:
    """What every file of the output but the zone files is made from, as a digest:
    the declarations, the keys' secrets, the resolvers' blocklists and the code.

    None when the declarations are not known to be as kept in the cache.
    """
    if cache is None or cache.declarations_digest is None:
        return None
    hasher = hashlib.blake2b(f"{cache.code}\0{cache.declarations_digest}".encode())
    for name in sorted(secrets):
        hasher.update(f"\0{name}\0{secrets[name]}".encode())
    for server in sorted(lists):
        hasher.update(f"\0{server}".encode())
        for compiled in lists[server]:
            hasher.update(f"\0{compiled.name}\0{compiled.digest}".encode())
    return hasher.hexdigest()


_MEMO_FORMAT = 1


@dataclass
class _Memo:
    """How the last build into an output made it (see _replay)."""

    #: the state file's signature after that build
    state: Signature
    zones: dict[tuple[str, str], str | None]
    files: dict[str, Recorded]
    zone_files: dict[tuple[str, str], list[str]]


def _state_signature(path: Path) -> Signature | None:
    try:
        return signature(os.stat(path))
    except OSError:
        return None


def _take_memo(path: Path, key: str | None) -> _Memo | None:
    """The memo of the last build into an output, if made from what ``key`` says.

    It is deleted as it is read: only the build that completes writes one
    again, so a memo never outlives the tree it describes.
    """
    try:
        content = path.read_bytes()
        path.unlink()
    except OSError:
        return None
    if key is None:
        return None
    try:
        form, stored_key, state, zones, files, zone_files = marshal.loads(content)
        if form != _MEMO_FORMAT or stored_key != key:
            return None
        memo = _Memo(state, zones, files, zone_files)
        return memo if _well_formed(memo) else None
    except (ValueError, EOFError, TypeError, AttributeError):
        return None


def _well_formed(memo: _Memo) -> bool:
    """Whether a memo has the shape _keep_memo gives it: a damaged one is only a miss.

    Checked a column at a time (ten thousand files each time a rebuild starts).
    """
    files = memo.files.values()
    return (
        type(memo.state) is tuple
        and _types(files) <= {tuple}
        and set(map(len, files)) <= {3}
        and _types(map(itemgetter(0), files)) <= {str}
        and _types(map(itemgetter(1), files)) <= {int}
        and _types(map(itemgetter(2), files)) <= {int}
        and _types(memo.zones.values()) <= {str, type(None)}
        and memo.zone_files.keys() <= memo.zones.keys()
        and set(chain.from_iterable(memo.zone_files.values())) <= memo.files.keys()
    )


def _types(values: Iterable[object]) -> set[type]:
    return set(map(type, values))


def _keep_memo(path: Path, key: str, rendered: Rendered, recorded: dict[str, Recorded]) -> None:
    state = _state_signature(rendered.state.path)
    if state is None:
        return
    # Plain dicts of tuples and strings: marshal reads ten thousand entries
    # in a few milliseconds.
    memo = (_MEMO_FORMAT, key, state, rendered.zones, recorded, rendered.zone_files)
    with contextlib.suppress(OSError, ValueError):  # without a memo, the next build renders all
        write_atomically(path, marshal.dumps(memo))


def _replay(site: Site, cache: ZoneCache | None, memo: _Memo) -> Rendered | None:
    """The output of the last build with only the changed zones compiled again.

    Every file but the zone files is made from what the memo's key covers,
    which is unchanged; so is a zone file whose zone's records have the
    fingerprint they had then, served with the serial the state still has
    (the state file is as that build left it). None when the site's zones
    are not the memo's.
    """
    if _state_signature(Path(site.root) / STATE_FILE) != memo.state:
        return None
    state = SerialState.load(Path(site.root))
    zones = {
        (view, zone.origin): zone for view in site.view_names for zone in site.zones_in_view(view)
    }
    if zones.keys() != memo.zones.keys():
        return None
    today = build_date()
    compiled = {
        view_and_origin: compile_zone(site, zone, view_and_origin[0], state, today, cache)
        for view_and_origin, zone in zones.items()
        if zone.fingerprint is None or zone.fingerprint != memo.zones[view_and_origin]
    }
    files: dict[str, OutputFile | Recorded] = dict(memo.files)
    kept = dict(memo.zones)
    for view_and_origin, zone in compiled.items():
        kept[view_and_origin] = _kept_fingerprint(zone.zone)
        for relative in memo.zone_files.get(view_and_origin, ()):
            _, mode, _ = memo.files[relative]
            files[relative] = OutputFile(zone.master_file(), mode, zone)
    return Rendered(files, state, kept, memo.zone_files)


def _kept_fingerprint(zone: Zone) -> str | None:
    """What a zone's file is made from, for the memo; None: it is made at every build.

    A reverse-of zone's PTRs come from other zones, which its fingerprint
    does not cover.
    """
    return None if zone.reverse_of else zone.fingerprint


class _NotAtHand(Exception):
    """A file replayed from the last build is in neither the spare tree nor the live one."""


# --------------------------------------------------------------------------
# The output tree


def _checked_output(out: Path) -> Path:
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
def _locked_folders(*folders: Path) -> Iterator[None]:
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


def _staging_dir(out: Path, cache: ZoneCache | None) -> tuple[Path, bool]:
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
        with _locked(named, wait=False) as ours:  # not while a build uses it
            out = Path(os.fsdecode(named.read_bytes()))
            if ours and not (out / MARKER).is_file():
                shutil.rmtree(named.with_suffix(""), ignore_errors=True)
                named.with_suffix(".memo").unlink(missing_ok=True)
                named.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(path: Path, *, wait: bool = True) -> Iterator[bool]:
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


def _make_spare(spare: Path, files: dict[str, Recorded], out: Path) -> None:
    """The spare of a first build (which had no tree to replace): ``out``, linked.

    Every file, the manifest too, is a link to the tree just written (which
    needs no checking); the next build writes none of them through (see
    _write_tree). Linking ten thousand files takes a fifth of a second: the
    first build, not the first rebuild after it, pays for it. Without a
    spare, the next build only makes one.
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


def _read_manifest(out: Path) -> tuple[set[str], Manifest, int]:
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


def _write_tree(
    root: Path,
    files: dict[str, OutputFile | Recorded],
    previous: Path,
    before: Manifest,
    before_at: int,
) -> dict[str, Recorded]:
    """Make the tree under ``root`` hold ``files`` and nothing else, then write its manifest.

    ``root`` may hold an earlier build's tree (the spare): a file it holds
    as that build left it, with the same content, is kept. Otherwise a file
    whose content is the same in the ``previous`` tree (whose manifest is
    ``before``, written at ``before_at``) is hard-linked from it, and only
    what is left is written. A file edited by hand after its build (newer
    than its tree's manifest) is not trusted in either. A file given only
    as Recorded must be found in one of them (else _NotAtHand).

    A file is never written in place: the spare and the previous tree share
    files by links, and the previous tree is the one servers run from. The
    manifest goes first and comes back last, so a tree left half-updated by
    a crash has none, and the next build trusts nothing in it.

    Returns every file as Recorded, folders with no digest.
    """
    outside = [relative for relative in files if not _contained(relative)]
    if outside:
        raise SiteError([_outside_output(previous, relative) for relative in sorted(outside)])
    _, kept, kept_at = _read_manifest(root)
    (root / MARKER).unlink(missing_ok=True)
    os.chmod(root, FOLDER_MODE)
    _prune(root, files)
    recorded: dict[str, Recorded] = {}
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
                    raise _NotAtHand(relative)
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


def _prune(root: Path, files: dict[str, OutputFile | Recorded]) -> None:
    """Delete whatever ``root`` holds besides ``files`` and the folders they are in.

    A path of ``files`` that is a folder in ``root`` is left to _write_tree,
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


def _swap_in(staging: Path, out: Path, written: set[str]) -> None:
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
