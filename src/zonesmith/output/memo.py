"""The replay memo: how the last build into an output made it, to replay what did not change."""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import TYPE_CHECKING

from zonesmith.compile.fleet import ServerBuild
from zonesmith.compile.serials import STATE_FILE, SerialState, build_date
from zonesmith.compile.zones import BodyStage, compile_zone
from zonesmith.drivers import Driver, OutputFile
from zonesmith.model import Site, Zone
from zonesmith.output.cache import ZoneCache
from zonesmith.own_files import Signature, signature, write_atomically

if TYPE_CHECKING:
    from zonesmith.blocklists.compiled import CompiledBlocklist


#: A file as the last build into the same output wrote it: digest, mode and size.
WrittenFile = tuple[str, int, int]


@dataclass
class Rendered:
    """Every file of the output tree, and the serial state they were made with."""

    #: path in the tree -> the file, or how the last build wrote it (see replay);
    #: a path ending in "/" is a folder a server writes into.
    files: dict[str, OutputFile | WrittenFile]
    state: SerialState
    #: (view, zone origin) of every compiled zone -> the fingerprint its records
    #: had (see kept_fingerprint)
    zones: dict[tuple[str, str], str | None]
    #: (view, zone origin) -> the paths of its zone files
    zone_files: dict[tuple[str, str], list[str]]
    #: (driver, build) of every server, for its checker (a full render only)
    checks: list[tuple[Driver, ServerBuild]] = field(default_factory=list)


def replay_key(
    cache: ZoneCache | None,
    secrets: dict[str, str],
    lists: dict[str, tuple[CompiledBlocklist, ...]],
    live_ds: tuple[tuple[str, str, tuple[str, ...]], ...] = (),
) -> str | None:
    """What every file of the output but the zone files is made from, as a digest:
    the declarations, the keys' secrets, the resolvers' blocklists, the live DS of
    signed zones (a resolver's trust anchors) and the code.

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
    hasher.update(repr(live_ds).encode())
    return hasher.hexdigest()


_MEMO_FORMAT = 1


@dataclass
class _Memo:
    """How the last build into an output made it (see replay)."""

    #: the state file's signature after that build
    state: Signature
    zones: dict[tuple[str, str], str | None]
    files: dict[str, WrittenFile]
    zone_files: dict[tuple[str, str], list[str]]


def _state_signature(path: Path) -> Signature | None:
    try:
        return signature(os.stat(path))
    except OSError:
        return None


def take_memo(path: Path, key: str | None) -> _Memo | None:
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
    """Whether a memo has the shape keep_memo gives it: a damaged one is only a miss.

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


def keep_memo(path: Path, key: str, rendered: Rendered, recorded: dict[str, WrittenFile]) -> None:
    state = _state_signature(rendered.state.path)
    if state is None:
        return
    # Plain dicts of tuples and strings, which marshal reads without running code.
    memo = (_MEMO_FORMAT, key, state, rendered.zones, recorded, rendered.zone_files)
    with contextlib.suppress(OSError, ValueError):  # without a memo, the next build renders all
        write_atomically(path, marshal.dumps(memo))


def replay(site: Site, body: BodyStage, memo: _Memo) -> Rendered | None:
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
        (view, origin): compile_zone(site, zone, view, state, today, body(site, zone, view))
        for (view, origin), zone in zones.items()
        if zone.fingerprint is None or zone.fingerprint != memo.zones[view, origin]
    }
    files: dict[str, OutputFile | WrittenFile] = dict(memo.files)
    kept = dict(memo.zones)
    for view_and_origin, zone in compiled.items():
        kept[view_and_origin] = kept_fingerprint(zone.zone)
        for relative in memo.zone_files.get(view_and_origin, ()):
            _, mode, _ = memo.files[relative]
            files[relative] = OutputFile(zone.master_file(), mode, zone)
    return Rendered(files, state, kept, memo.zone_files)


def kept_fingerprint(zone: Zone) -> str | None:
    """What a zone's file is made from, for the memo; None: it is made at every build.

    A reverse-of zone's PTRs come from other zones, which its fingerprint
    does not cover.
    """
    return None if zone.reverse_of else zone.fingerprint


class ReplayedFileMissing(Exception):
    """A file replayed from the last build is in neither the spare tree nor the live one."""
