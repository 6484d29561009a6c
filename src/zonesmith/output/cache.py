"""What earlier runs worked out about each zone, reused while its inputs are unchanged.

A site of ten thousand zones is mostly zones nobody touched since the last
build. Reading, validating and rendering them again is most of a build's
time, so ``check`` and ``build`` keep, per zone, what that work gave:

- its records (from its file and the sets it includes), what reading
  them reported, and the rules its file switches off beside them;
- per view, the diagnostics of the zone rules and the rendered zone body.

It lives in ``SITE/.zonesmith/cache/zones/`` (git-ignored). An entry is
keyed by the zone's *fingerprint*: a digest of everything its records are
made from (the file's content and path, the zone's name and default TTL,
the sets it includes, and this version of zonesmith's code). An entry is
only ever found by that fingerprint, so a stale one is never used; at worst
it is not found and the work is done again. Entries are kept in 256 shard
files by the fingerprint's first two hex digits: ten thousand small files
would cost more to create and open than the work they save, and one big
file would be rewritten whole for every edited zone. A shard file keeps its
entries' packed records last, read only when a zone of it is unpacked, so
a rebuild reads only the bytes it needs.

An ``index`` file keeps each zone file's ``stat`` signature and content
digest, so an unchanged file is not even read (as git's index does; a file
changed within the last seconds is always read again, since a second change
within the file system's time resolution would leave its signature as it was).

The declarations of zonesmith.yaml (the site without its zones' records)
are kept too, keyed by the file's content, the listing of the zones folder
and the working directory (diagnostics name files relative to it), with the
other site files whose existence they depend on checked one by one:
re-reading ten thousand zone declarations is a large part of a rebuild.
They are pickled, and unpickled with only zonesmith's model
classes allowed, so a planted cache file cannot run code.

A zone's site context (its views, SOA, servers) is not in its fingerprint:
the fleet is worked out on every run from the model, which is complete
whether its zones came from the cache or from their files. The findings of
the site rules (which follow names across zones) are kept for the site as
a whole, in ``site-findings``: reused only while the declarations, every
zone's fingerprint and place, and the live DS are as that check saw them;
any change and they are worked out again from the model.

Over 600 lines: the cache's format, its pickling of model values and its
shards belong together (a change to one is a change of format).
"""

from __future__ import annotations

import hashlib
import io
import marshal
import os
import pickle
import stat
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import dns.name

from zonesmith.diagnostics import Diagnostic, Position, Severity, SiteError, error
from zonesmith.model import (
    Record,
    RuleSwitch,
    Site,
    Zone,
    apex_ns_of,
    links_of,
    mail_records_of,
)
from zonesmith.own_files import (
    CACHE_ROOT,
    Signature,
    ensure_cache_folder,
    signature,
    write_atomically,
)
from zonesmith.site.limits import MAX_SITE_FILE_BYTES

if TYPE_CHECKING:
    from zonesmith.declared import Declarations

ZONES_FOLDER = "zones"
#: The findings of the site rules on the site as the last check saw it (see site_findings).
SITE_FINDINGS = "site-findings"
#: Bumped when the layout of an entry changes (the code digest covers the rest).
_FORMAT = 7
#: A file changed this recently may change again unseen by its signature.
_RACY_NS = 2_000_000_000
#: A zone bigger than this is not cached. Packing a million records costs
#: more time and memory than the build itself, for a zone that is usually
#: generated and different at every build; it is read again instead.
BIG_ZONE_RECORDS = 50_000
#: A zone file bigger than this has more records than that, or near enough:
#: it is not even hashed to look it up.
BIG_ZONE_FILE_BYTES = 4 * 1024 * 1024


#: path, line, column, severity, rule, message
DiagnosticTuple = tuple[str, int, int, str, str, str]
#: rule, path, line, column, the records it covers, severity (see RuleSwitch)
SwitchTuple = tuple[str, str, int, int, tuple[tuple[str, int, int], ...], str | None]


def _code_digest() -> str:
    """Identifies this zonesmith's code: a cache written by other code is not used."""
    package = Path(__file__).parents[1]  # the whole zonesmith package
    hasher = hashlib.blake2b(f"{_FORMAT}".encode(), digest_size=16)
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        hasher.update(f"{path.relative_to(package)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return hasher.hexdigest()


def _digest(content: bytes) -> str:
    return hashlib.blake2b(content, digest_size=16).hexdigest()


def _diagnostic_tuple(d: Diagnostic) -> DiagnosticTuple:
    p = d.position
    return (p.path, p.line, p.column, d.severity.value, d.rule, d.message)


def _diagnostic(t: DiagnosticTuple) -> Diagnostic:
    return Diagnostic(Position(t[0], t[1], t[2]), Severity(t[3]), t[4], t[5])


def _plain_record(record: Record) -> tuple:
    # marshal knows plain ints, not dnspython's RdataType, nor parsed rdata
    # (which Record.rdata makes again from the text when asked).
    return (*record[:2], int(record[2]), *record[3:9], None)


def _name(labels: tuple[bytes, ...]) -> dns.name.Name:
    """A name from the labels of a name that was valid when pickled.

    dnspython unpickles a name through its immutability guard and checks
    its labels again: ten times slower, for ten thousand zone names at every
    run. Only the labels' type is checked (the cache is not trusted to run
    code, and is trusted for nothing else either: an entry is found by its
    digest).
    """
    if type(labels) is not tuple:
        raise pickle.UnpicklingError("a name's labels are bytes")
    for label in labels:  # a plain loop, not all() over a generator: no frame per label
        if type(label) is not bytes:
            raise pickle.UnpicklingError("a name's labels are bytes")
    name = object.__new__(dns.name.Name)
    object.__setattr__(name, "labels", labels)
    return name


class _ModelPickler(pickle.Pickler):
    """Pickles names by their labels (see _name)."""

    def reducer_override(self, obj: object) -> object:
        if type(obj) is dns.name.Name:
            return _name, (obj.labels,)
        return NotImplemented


class _ModelUnpickler(pickle.Unpickler):
    """Unpickles zonesmith's model values and nothing else."""

    ALLOWED = frozenset(
        {
            ("zonesmith.output.cache", "_name"),
            ("zonesmith.diagnostics", "Diagnostic"),
            ("zonesmith.diagnostics", "Position"),
            ("zonesmith.diagnostics", "Severity"),
            ("zonesmith.declared", "Declarations"),
            ("zonesmith.declared", "ZoneSource"),
            *(
                ("zonesmith.model", name)
                for name in (
                    "Blocklist",
                    "Defaults",
                    "DeploySettings",
                    "Reference",
                    "RuleSwitch",
                    "Server",
                    "Site",
                    "Soa",
                    "TsigKey",
                    "View",
                    "Zone",
                )
            ),
        }
    )

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a zonesmith cache")
        return super().find_class(module, name)


def _entries_size(stream: BinaryIO) -> int:
    """The length of a shard file's entries (see ZoneCache._shard); ValueError if damaged."""
    size = int.from_bytes(stream.read(8), "little")
    if not 0 < size <= os.fstat(stream.fileno()).st_size - 8:
        raise ValueError("not a shard file")
    return size


class CachedRecords(Sequence[Record]):
    """A zone's records from the cache, unpacked when first asked for.

    A rebuild mostly needs what was worked out from a zone's records (its
    diagnostics and rendered body), not the records themselves: ten
    thousand unchanged zones then cost no record at all, and their packed
    records are not even read from disk. What the site rules ask of every
    zone is kept beside them, so the zone need not be unpacked for it (see
    Zone): whether some records are for one view only, the NS records at
    the apex, the records whose targets the site rules follow into
    other zones (Zone.links), and the records the mail rules read
    (model.mail_records_of).
    """

    __slots__ = (
        "cache",
        "fingerprint",
        "count",
        "differs_by_view",
        "_apex_ns",
        "_links",
        "_mail_records",
        "_records",
    )

    def __init__(
        self,
        cache: ZoneCache,
        fingerprint: str,
        count: int,
        differs_by_view: bool,
        apex_ns: bytes,
        links: tuple[tuple, ...],
        mail_records: bytes,
    ) -> None:
        self.cache = cache
        self.fingerprint = fingerprint
        self.count = count
        self.differs_by_view = differs_by_view
        self._apex_ns: bytes | tuple[Record, ...] = apex_ns
        self._links = links
        self._mail_records: bytes | tuple[Record, ...] = mail_records
        self._records: tuple[Record, ...] | None = None

    @property
    def apex_ns(self) -> tuple[Record, ...]:
        apex_ns = self._apex_ns
        if isinstance(apex_ns, bytes):
            apex_ns = self._apex_ns = _unpack(apex_ns)
        return apex_ns

    @property
    def links(self) -> tuple[Record, ...]:
        links = self._links
        if links and type(links[0]) is not Record:
            links = self._links = tuple(map(Record, links))
        return links  # type: ignore[return-value]

    @property
    def mail_records(self) -> tuple[Record, ...]:
        mail = self._mail_records
        if isinstance(mail, bytes):
            mail = self._mail_records = _unpack(mail)
        return mail

    def _unpacked(self) -> tuple[Record, ...]:
        if self._records is None:
            blob = self.cache.packed_records(self.fingerprint)
            self._records = tuple(map(Record, marshal.loads(blob)))
        return self._records

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Record]:
        return iter(self._unpacked())

    def __getitem__(self, index):  # type: ignore[no-untyped-def, override]
        return self._unpacked()[index]


def _pack(records: Iterable[Record]) -> bytes:
    return marshal.dumps(tuple(map(_plain_record, records)))


def _unpack(packed: bytes) -> tuple[Record, ...]:
    return tuple(map(Record, marshal.loads(packed)))


class _Entry:
    """What the cache holds for one zone fingerprint.

    ``results`` maps "rules <view key>" to the zone rules' diagnostics and
    "body <view key>" to the rendered body of the zone in a view.
    """

    __slots__ = (
        "records",
        "apex_ns",
        "links",
        "mail_records",
        "diagnostics",
        "switches",
        "results",
        "changed",
    )

    def __init__(
        self,
        records: Sequence[Record],
        apex_ns: bytes,
        links: tuple[tuple, ...],
        mail_records: bytes,
        diagnostics: tuple[DiagnosticTuple, ...],
        switches: tuple[SwitchTuple, ...],
        results: dict[str, object],
        changed: bool,
    ) -> None:
        self.records = records
        self.apex_ns = apex_ns
        self.links = links
        self.mail_records = mail_records
        self.diagnostics = diagnostics
        self.switches = switches
        self.results = results
        self.changed = changed

    def stored(self) -> tuple[tuple[object, ...], bytes | None]:
        """The entry as a shard keeps it, and its packed records if the shard lacks them."""
        records = self.records
        if isinstance(records, CachedRecords):
            blob, differs = None, records.differs_by_view
        else:
            blob = _pack(records)
            differs = any(r[4] is not None for r in records)
        kept = (self.apex_ns, self.links, self.mail_records, self.diagnostics, self.switches)
        return (len(records), differs, *kept, self.results), blob


class ZoneCache:
    """The per-zone cache of one site (see the module's documentation).

    ``ZoneCache(None)`` keeps nothing and finds nothing, so callers need no
    special case when caching is off.
    """

    def __init__(self, site_root: Path | str | None) -> None:
        self.site_root = Path(site_root) if site_root is not None else None
        self.folder = self.site_root / CACHE_ROOT / ZONES_FOLDER if self.site_root else None
        self.code = _code_digest() if self.folder else ""
        #: file path -> (stat signature, content digest, has $INCLUDE)
        self.index: dict[str, tuple[Signature, str, bool]] = {}
        self.index_changed = False
        self.looked_up: set[str] = set()
        self.entries: dict[str, _Entry] = {}
        self.shards: dict[str, dict[str, tuple]] = {}
        self.packed: dict[str, dict[str, bytes]] = {}
        self.new_declarations: tuple[str, Declarations] | None = None
        #: Identifies the declarations this run used, as kept in the cache
        #: (None until they are): a later run with the same ones declares the same.
        self.declarations_digest: str | None = None
        #: (digest of the site's zones, part -> findings) of the site rules this run
        #: found, kept under the declarations' digest when saved (see site_findings)
        self.new_site_findings: tuple[str, dict[str, tuple[DiagnosticTuple, ...]]] | None = None
        self._site_findings: tuple[str, dict[str, tuple[DiagnosticTuple, ...]]] | None = None
        self._zones_digests: dict[int, tuple[Site, str | None]] = {}
        if self.folder is not None:
            self._read_index()

    # -- reading ---------------------------------------------------------------

    def _read_index(self) -> None:
        assert self.folder is not None
        try:
            data = marshal.loads((self.folder / "index").read_bytes())
            if data[0] == self.code:
                self.index = data[1]
        except (OSError, ValueError, EOFError, TypeError, IndexError):
            pass  # no index, or one of other code: everything is read again

    def content_digest(self, path: str) -> tuple[str, bool, bytes | None] | None:
        """The digest of a file's content, whether it has an ``$INCLUDE``, and
        the content when it had to be read (load_site hands it to the loader:
        a file is read once).

        None when caching is off, the file is too big to be worth caching,
        or it cannot be read (the loader reports that).
        """
        if self.folder is None:
            return None
        key = path
        self.looked_up.add(key)
        try:
            info = os.stat(path)
        except OSError:
            return None
        if info.st_size > BIG_ZONE_FILE_BYTES or not stat.S_ISREG(info.st_mode):
            return None
        found = signature(info)
        known = self.index.get(key)
        if known is not None and known[0] == found:
            return known[1], known[2], None
        try:
            with open(path, "rb") as stream:
                data = stream.read()
        except OSError:
            return None
        digest = _digest(data)
        includes = b"$include" in data.lower() if b"$" in data else False
        if time.time_ns() - max(info.st_mtime_ns, info.st_ctime_ns) > _RACY_NS:
            self.index[key] = (found, digest, includes)
            self.index_changed = True
        return digest, includes, data

    def declarations_key(self, site_file: Path, zones_dir: Path) -> str | None:
        """What the declarations of zonesmith.yaml depend on, as a digest: the file,
        the zones folder's listing, and the working directory (diagnostics name
        files relative to it). The other files of the site folder they depend on
        are checked one by one (see Declarations.probes).
        """
        if self.folder is None:
            return None
        hasher = hashlib.blake2b(self.code.encode(), digest_size=20)
        try:
            if os.stat(site_file).st_size > MAX_SITE_FILE_BYTES:
                return None  # the loader refuses it
            hasher.update(site_file.read_bytes())
            names = sorted(os.listdir(zones_dir)) if zones_dir.is_dir() else []
            hasher.update(f"\x00{zones_dir}\x00{os.getcwd()}\x00".encode())
            hasher.update("\x00".join(names).encode())
        except OSError:
            return None
        return hasher.hexdigest()

    def declarations(self, key: str | None) -> Declarations | None:
        """The declarations of zonesmith.yaml as an earlier run read them, if unchanged."""
        if key is None or self.folder is None:
            return None
        try:
            content = (self.folder / "declarations").read_bytes()
            stored_key, declarations = _ModelUnpickler(io.BytesIO(content)).load()
        except Exception:  # noqa: BLE001 - any unreadable cache is only a miss
            return None
        if stored_key != key:
            return None
        self.declarations_digest = _digest(content)
        return declarations

    def keep_declarations(self, key: str | None, declarations: Declarations) -> None:
        if key is not None:
            self.new_declarations = (key, declarations)

    def fingerprint(self, *parts: str) -> str | None:
        """The fingerprint of a zone made from ``parts`` (None: caching is off)."""
        if self.folder is None:
            return None
        hasher = hashlib.blake2b(self.code.encode(), digest_size=20)
        hasher.update("\x00".join(parts).encode())
        return hasher.hexdigest()

    def _shard(self, name: str) -> dict[str, tuple]:
        """The entries of one shard file, as stored (read once), without their records."""
        shard = self.shards.get(name)
        if shard is None:
            shard = self.shards[name] = self._read_shard_file(name, records=False)
        return shard

    def _packed_shard(self, name: str) -> dict[str, bytes]:
        """The packed records of one shard file's zones (read once)."""
        packed = self.packed.get(name)
        if packed is None:
            packed = self.packed[name] = self._read_shard_file(name, records=True)
        return packed

    def _read_shard_file(self, name: str, *, records: bool) -> dict:
        """The entries or (``records``) their packed records, of a shard file; {} if unreadable.

        A shard file is the length of its entries' part, the entries, then
        their packed records: those are read only when some zone of the
        shard is unpacked (see CachedRecords) or the shard is written again.
        """
        assert self.folder is not None
        try:
            with open(self.folder / name, "rb") as stream:
                size = _entries_size(stream)
                if records:
                    stream.seek(8 + size)
                    found = marshal.loads(stream.read())
                else:
                    found = marshal.loads(stream.read(size))
        except (OSError, ValueError, EOFError, TypeError):
            return {}
        return found if isinstance(found, dict) else {}

    def packed_records(self, fingerprint: str) -> bytes:
        """The packed records of a cached zone.

        A shard file is written whole, with every entry's records, so they
        are missing only if the file was damaged after its entries were read.
        """
        found = self._packed_shard(fingerprint[:2]).get(fingerprint)
        if found is None:
            assert self.folder is not None
            path = self.folder / fingerprint[:2]
            path.unlink(missing_ok=True)  # the next run reads the zones again
            raise SiteError(
                [
                    error(
                        Position(str(path)),
                        "cache",
                        "zonesmith's cache file changed while it was being read; "
                        "it is deleted now: run again",
                    )
                ]
            )
        return found

    def _entry(self, fingerprint: str | None) -> _Entry | None:
        if fingerprint is None or self.folder is None:
            return None
        entry = self.entries.get(fingerprint)
        if entry is not None:
            return entry
        stored = self._shard(fingerprint[:2]).get(fingerprint)
        if stored is None:
            return None
        try:
            count, differs_by_view, apex_ns, links, mail, diagnostics, switches, results = stored
            records = CachedRecords(self, fingerprint, count, differs_by_view, apex_ns, links, mail)
            entry = _Entry(records, apex_ns, links, mail, diagnostics, switches, results, False)
        except (TypeError, ValueError):
            return None
        self.entries[fingerprint] = entry
        return entry

    def records(
        self, fingerprint: str | None
    ) -> tuple[Sequence[Record], list[Diagnostic], tuple[RuleSwitch, ...]] | None:
        """A zone's records, what loading them reported and the rules switched off
        beside them, if known."""
        entry = self._entry(fingerprint)
        if entry is None:
            return None
        switches = tuple(
            RuleSwitch(rule, Position(path, line, column), None, at, severity)
            for rule, path, line, column, at, severity in entry.switches
        )
        return entry.records, [_diagnostic(t) for t in entry.diagnostics], switches

    def keep_records(
        self,
        fingerprint: str | None,
        records: Sequence[Record],
        diagnostics: Sequence[Diagnostic],
        origin: str,
        switches: tuple[RuleSwitch, ...] = (),
    ) -> None:
        """Keep the records of the zone ``origin``, what loading them reported and the
        rules switched off beside them."""
        if fingerprint is None or self.folder is None:
            return
        if len(records) > BIG_ZONE_RECORDS:
            return
        self.entries[fingerprint] = _Entry(
            tuple(records),
            _pack(apex_ns_of(records, origin)),
            tuple(map(_plain_record, links_of(records, origin))),
            _pack(mail_records_of(records, origin)),
            tuple(map(_diagnostic_tuple, diagnostics)),
            tuple(
                (s.rule, s.position.path, s.position.line, s.position.column, s.at, s.severity)
                for s in switches
            ),
            {},
            True,
        )

    # -- per view --------------------------------------------------------------

    @staticmethod
    def _rules_key(zone: Zone, view: str, implicit_view: bool) -> str:
        # What the zone rules see of a zone besides its records: which of its
        # records the view has, where the zone is declared, and whether
        # diagnostics name views at all.
        effective = view if zone.differs_by_view else ""
        p = zone.position
        return f"rules {effective}\x00{int(implicit_view)}\x00{p.path}:{p.line}:{p.column}"

    @staticmethod
    def _body_key(zone: Zone, view: str) -> str:
        # The body is the records the view has, and nothing else of the zone.
        return f"body {view}" if zone.differs_by_view else "body"

    def _result(self, zone: Zone, key: str) -> object:
        entry = self._entry(zone.fingerprint)
        return None if entry is None else entry.results.get(key)

    def _keep(self, zone: Zone, key: str, value: object) -> None:
        entry = self._entry(zone.fingerprint)
        if entry is not None:
            entry.results[key] = value
            entry.changed = True

    def rule_diagnostics(
        self, zone: Zone, view: str, implicit_view: bool
    ) -> list[Diagnostic] | None:
        """What the zone rules reported on a zone in a view, if known."""
        found = self._result(zone, self._rules_key(zone, view, implicit_view))
        return None if found is None else [_diagnostic(t) for t in found]  # type: ignore[attr-defined]

    def keep_rule_diagnostics(
        self, zone: Zone, view: str, implicit_view: bool, diagnostics: Sequence[Diagnostic]
    ) -> None:
        found = tuple(map(_diagnostic_tuple, diagnostics))
        self._keep(zone, self._rules_key(zone, view, implicit_view), found)

    def body(self, zone: Zone, view: str) -> bytes | None:
        """The rendered records of a zone in a view (see compile), if known."""
        found = self._result(zone, self._body_key(zone, view))
        return found if isinstance(found, bytes) else None

    def keep_body(self, zone: Zone, view: str, chunks: Sequence[bytes]) -> None:
        """Keep the rendered body of a zone (given in chunks) if the zone is kept at all."""
        if self._entry(zone.fingerprint) is not None:  # else not worth joining the chunks
            self._keep(zone, self._body_key(zone, view), b"".join(chunks))

    def zone_digest(self, zone: Zone, view: str, soa_fields: str) -> str | None:
        """The digest of a zone's content in a view (see compile), if known."""
        found = self._result(zone, self._digest_key(zone, view, soa_fields))
        return found if isinstance(found, str) else None

    def keep_zone_digest(self, zone: Zone, view: str, soa_fields: str, digest: str) -> None:
        self._keep(zone, self._digest_key(zone, view, soa_fields), digest)

    @staticmethod
    def _digest_key(zone: Zone, view: str, soa_fields: str) -> str:
        # The digest covers the body and the SOA's fields (which the zone's
        # fingerprint does not: they come from the site).
        return f"digest {view if zone.differs_by_view else ''}\x00{soa_fields}"

    # -- the site rules --------------------------------------------------------

    def _zones_digest(self, site: Site) -> str | None:
        """What the site rules see of a site besides its declarations: each zone's
        fingerprint and where it is declared, in order, and the live DS (see
        compile.live_keys). None: a zone without a fingerprint, or caching is off."""
        kept = self._zones_digests.get(id(site))
        if kept is not None and kept[0] is site:
            return kept[1]
        digest: str | None = None
        if self.folder is not None:
            hasher = hashlib.blake2b(digest_size=20)
            for zone in site.zones:
                if zone.fingerprint is None:
                    break
                p = zone.position
                hasher.update(f"{zone.fingerprint}\x00{p.path}:{p.line}:{p.column}\n".encode())
            else:
                hasher.update(repr(site.live_ds).encode())
                digest = hasher.hexdigest()
        self._zones_digests[id(site)] = (site, digest)
        return digest

    def _site_key(self, zones_digest: str) -> str | None:
        if self.declarations_digest is None:
            return None  # declarations not (yet) as kept: nothing says they are the same
        return _digest(f"{self.code}\x00{self.declarations_digest}\x00{zones_digest}".encode())

    def site_findings(self, site: Site, part: str) -> list[Diagnostic] | None:
        """What the site rules (``part`` "site"; the zone rules' site parts, "crossing";
        the outside rules offline, "outside") found on this same site in the last check,
        if known: the same declarations, the same zones declared at the same places with
        the same fingerprints."""
        zones = self._zones_digest(site)
        key = self._site_key(zones) if zones is not None else None
        if key is None or self.folder is None:
            return None
        if self._site_findings is None:
            self._site_findings = ("", {})
            try:
                stored_key, parts = marshal.loads((self.folder / SITE_FINDINGS).read_bytes())
                if isinstance(stored_key, str) and isinstance(parts, dict):
                    self._site_findings = (stored_key, parts)
            except (OSError, ValueError, EOFError, TypeError):
                pass  # any unreadable file is only a miss
        stored_key, parts = self._site_findings
        found = parts.get(part) if stored_key == key else None
        try:
            return None if found is None else [_diagnostic(t) for t in found]
        except (TypeError, ValueError, IndexError):
            return None

    def keep_site_findings(self, site: Site, part: str, diagnostics: Sequence[Diagnostic]) -> None:
        zones = self._zones_digest(site)
        if zones is None:
            return
        if self.new_site_findings is None or self.new_site_findings[0] != zones:
            self.new_site_findings = (zones, {})
        self.new_site_findings[1][part] = tuple(map(_diagnostic_tuple, diagnostics))

    # -- writing ---------------------------------------------------------------

    def save(self, zones: Iterable[Zone], *, collect: bool) -> None:
        """Write what this run learnt; with ``collect``, drop what concerns zones now gone.

        Only a run that loaded the whole site may collect: a run stopped by a
        broken zonesmith.yaml saw none of the zones. Failing to write a cache
        costs only time, so it is not an error.
        """
        if self.folder is None or self.site_root is None:
            return
        if not (self.site_root / "zonesmith.yaml").is_file():
            return  # not a site: nothing to keep, and no folder to litter
        used = {zone.fingerprint for zone in zones if zone.fingerprint is not None}
        try:
            ensure_cache_folder(self.site_root, ZONES_FOLDER)
            changed: set[str] = set()
            for fingerprint in sorted(used):
                entry = self.entries.get(fingerprint)
                if entry is None or not entry.changed:
                    continue
                name = fingerprint[:2]
                stored, blob = entry.stored()
                self._shard(name)[fingerprint] = stored
                if blob is not None:
                    self._packed_shard(name)[fingerprint] = blob
                changed.add(name)
            if collect:
                for name in os.listdir(self.folder):
                    if len(name) != 2:
                        continue
                    shard = self._shard(name)
                    for fingerprint in [f for f in shard if f not in used]:
                        del shard[fingerprint]
                        changed.add(name)
                if self.looked_up != self.index.keys():
                    self.index = {k: v for k, v in self.index.items() if k in self.looked_up}
                    self.index_changed = True
            for name in sorted(changed):
                # Each file whole: its entries, and the records of each.
                packed = self._packed_shard(name)
                shard = {f: v for f, v in self.shards[name].items() if f in packed}
                if shard:
                    entries = marshal.dumps(shard)
                    records = marshal.dumps({f: packed[f] for f in shard})
                    content = len(entries).to_bytes(8, "little") + entries + records
                    write_atomically(self.folder / name, content)
                else:
                    (self.folder / name).unlink(missing_ok=True)
            if self.new_declarations is not None:
                stream = io.BytesIO()
                _ModelPickler(stream, protocol=pickle.HIGHEST_PROTOCOL).dump(self.new_declarations)
                write_atomically(self.folder / "declarations", stream.getvalue())
                self.declarations_digest = _digest(stream.getvalue())
                self.new_declarations = None
            if self.new_site_findings is not None:
                zones, parts = self.new_site_findings
                key = self._site_key(zones)  # (the declarations' digest is known by now)
                if key is not None:
                    write_atomically(self.folder / SITE_FINDINGS, marshal.dumps((key, parts)))
                self.new_site_findings = None
            if self.index_changed:
                content = marshal.dumps((self.code, self.index))
                write_atomically(self.folder / "index", content)
        except OSError:
            pass
