"""Compile a validated site: what each view of each zone serves, with serials.

This is where derived data is made (the SOA from the site's defaults, PTR
records of ``reverse-of`` zones) and where serials are chosen. The result is
independent of server software: drivers decide where and how it is written,
but the zone text itself is canonical and shared by every driver, so a
rebuild of an unchanged site is byte-identical.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import json
import os
import re
import socket
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA
import dns.zone

from zonesmith import rdata as rdtext
from zonesmith.cache import ZoneCache
from zonesmith.diagnostics import Position, SiteError, error
from zonesmith.model import (
    Record,
    Server,
    Site,
    Soa,
    TsigKey,
    View,
    Zone,
    group_by_rrset,
    index_records,
    rdata_key,
)

STATE_FILE = "zonesmith.state"
T = dns.rdatatype

#: name key, owner (absolute text), type, TTL, records
RRset = tuple[str, str, int, int, tuple[Record, ...]]


# --------------------------------------------------------------------------
# Serials (RFC 1982 arithmetic, date-based YYYYMMDDnn)


def serial_gt(a: int, b: int) -> bool:
    """True when serial ``a`` is greater than ``b`` in RFC 1982 sequence space."""
    return a != b and ((a > b and a - b < 2**31) or (a < b and b - a > 2**31))


def next_serial(previous: int | None, today: datetime.date) -> int:
    """The serial after ``previous``: today's YYYYMMDD00 if that is later, else previous + 1."""
    dated = int(today.strftime("%Y%m%d")) * 100
    if previous is None:
        return dated
    incremented = (previous + 1) % 2**32
    return dated if serial_gt(dated, previous) else incremented


def build_date() -> datetime.date:
    """Today in UTC, or the date of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date()
    return datetime.datetime.now(datetime.UTC).date()


@dataclass
class SerialState:
    """The serial and content digest of every zone in every view, kept in the site.

    It lives in the site (``zonesmith.state``, meant to be committed) rather
    than in the output, so serials keep moving forward when the output tree
    is deleted or the build runs on another machine.
    """

    path: Path
    serials: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)
    #: Whether a serial or digest changed since the file was read.
    changed: bool = False

    @classmethod
    def load(cls, root: Path) -> SerialState:
        path = root / STATE_FILE
        if not path.exists():
            return cls(path)
        position = Position(str(path), 1, 1)
        try:
            data = json.loads(path.read_text())
            serials = data["serials"]
            for views in serials.values():
                for entry in views.values():
                    int(entry["serial"])
                    str(entry["digest"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            if isinstance(exc, RecursionError):  # JSON nested deeper than Python recurses
                exc = ValueError("nested too deeply")
            elif isinstance(exc, OSError):
                exc = ValueError(exc.strerror or exc)
            raise SiteError(
                [
                    error(
                        position,
                        "bad-state",
                        f"cannot read the serial state ({exc}); restore it from git. Deleting it "
                        "restarts serials at today's date, which may be lower than the live ones",
                    )
                ]
            ) from None
        return cls(path, serials)

    def serial_for(self, zone: str, view: str, digest: str, today: datetime.date) -> int:
        """The serial of ``zone`` in ``view`` whose content has ``digest``, kept in the state.

        The same serial as last time while the content is the same, the next
        one (see next_serial) when it changed.
        """
        entry = self.serials.get(zone, {}).get(view)
        if entry is not None and entry["digest"] == digest:
            serial = int(entry["serial"])  # type: ignore[call-overload]
            if serial == entry["serial"]:
                return serial  # as recorded: nothing changes
        else:
            previous = int(entry["serial"]) if entry is not None else None  # type: ignore[call-overload]
            serial = next_serial(previous, today)
        self.serials.setdefault(zone, {})[view] = {"serial": serial, "digest": digest}
        self.changed = True
        return serial

    def text(self) -> str:
        """The state as JSON, one line per zone: an edited zone is a one-line diff.

        Formatted here rather than by json.dumps per zone, whose Python-level
        wrapper cost a tenth of a second of every rebuild of ten thousand
        zones (and with ``indent``, more); strings go through json's own
        escaping, so the file is what json.dumps would write.
        """
        quote = encode_basestring_ascii

        def entry_text(view: str, entry: dict[str, object]) -> str:
            digest, serial = quote(str(entry["digest"])), int(entry["serial"])  # type: ignore[call-overload]
            return f'{quote(view)}: {{"digest": {digest}, "serial": {serial}}}'

        lines = []
        for zone, views in sorted(self.serials.items()):
            if len(views) == 1:  # most zones: one view, or none declared
                [(view, entry)] = views.items()
                entries = entry_text(view, entry)
            else:
                entries = ", ".join(entry_text(view, views[view]) for view in sorted(views))
            lines.append(f"  {quote(zone)}: {{{entries}}}")
        serials = "{\n" + ",\n".join(lines) + "\n }" if lines else "{}"
        return f'{{\n "serials": {serials},\n "version": 1\n}}\n'


# --------------------------------------------------------------------------
# Compiled zones


@dataclass(frozen=True)
class CompiledZone:
    """One zone as served in one view: SOA first, then RRsets in canonical order."""

    name: dns.name.Name
    origin: str
    view: str
    serial: int
    soa: Soa
    ttl: int
    #: the zone file (see master_file)
    text: bytes = field(repr=False)
    digest: str
    #: the zone the records come from, and the records compile added (PTRs)
    zone: Zone = field(repr=False)
    derived: tuple[Record, ...] = field(default=(), repr=False)

    @property
    def text_name(self) -> str:
        return self.origin[:-1] or "."

    @property
    def file_stem(self) -> str:
        return file_stem(self.origin)

    @cached_property
    def by_name(self) -> dict[str, Sequence[Record]]:
        """Records by name key (made when asked: the body alone is what a build needs)."""
        if not self.derived:
            return self.zone.index(self.view)[0]
        return index_records([*self.zone.records_in_view(self.view), *self.derived], self.origin)[0]

    @cached_property
    def keys(self) -> list[str]:
        """The name keys in canonical order."""
        return sorted(self.by_name)

    def soa_rdata(self) -> dns.rdtypes.ANY.SOA.SOA:
        return dns.rdtypes.ANY.SOA.SOA(
            dns.rdataclass.IN,
            T.SOA,
            self.soa.primary,
            self.soa.contact,
            self.serial,
            self.soa.refresh,
            self.soa.retry,
            self.soa.expire,
            self.soa.negative_ttl,
        )

    def rrsets(self) -> Iterator[RRset]:
        """The RRsets after the SOA, in the order the zone file has them."""
        by_name = self.by_name
        for key in self.keys:
            yield from _rrsets_at(key, by_name[key])

    def dnspython_rrsets(
        self,
    ) -> Iterator[tuple[dns.name.Name, int, int, tuple[dns.rdata.Rdata, ...]]]:
        """The RRsets as dnspython objects: (owner, type, TTL, rdatas)."""
        for _key, owner, rdtype, ttl, records in self.rrsets():
            yield dns.name.from_text(owner), rdtype, ttl, tuple(r.rdata for r in records)

    def master_file(self) -> bytes:
        """The zone as a canonical RFC 1035 master file."""
        return self.text


def _zone_file_header(origin: str, view: str, ttl: int, soa: Soa, serial: int) -> bytes:
    """The lines of a zone file before its RRsets: a comment, $ORIGIN and the SOA."""
    primary = rdtext.relative_name(soa.primary_text, origin)
    contact = rdtext.relative_name(soa.contact_text, origin)
    return (
        f"; zone {origin} (view {view}), generated by zonesmith; do not edit\n"
        f"$ORIGIN {origin}\n"
        f"@\t{ttl}\tIN\tSOA\t{primary} {contact} {serial} {soa.refresh} "
        f"{soa.retry} {soa.expire} {soa.negative_ttl}\n"
    ).encode()


def file_stem(origin: str) -> str:
    """A file name for a zone: lower case, no trailing dot, safe characters only."""
    stem = origin[:-1].lower() or "root"
    return _UNSAFE_IN_FILE_NAME.sub("_", stem)


#: Zone names are ASCII (dnspython escapes other octets as \\DDD).
_UNSAFE_IN_FILE_NAME = re.compile(r"[^0-9a-z._-]")


def _rrsets_at(key: str, at_name: Sequence[Record]) -> Iterator[RRset]:
    """The RRsets of one name: NS first, then by type.

    Duplicates are dropped (a record is served once) and an RRset takes the
    lowest TTL given to its records; records of an RRset are ordered by text.
    """
    if len(at_name) == 1:
        record = at_name[0]
        yield key, record[0], record[2], record[1], (record,)
        return
    rrsets = group_by_rrset(at_name)
    for rdtype, covered in sorted(rrsets, key=lambda k: (k[0] != T.NS, k)):
        group = rrsets[rdtype, covered]
        if len(group) == 1:
            record = group[0]
            yield key, record[0], rdtype, record[1], (record,)
            continue
        unique = {rdata_key(r): r for r in reversed(group)}  # the first of equals wins
        ordered = tuple(sorted(unique.values(), key=lambda r: r.data))
        yield key, group[0][0], rdtype, min(r.ttl for r in group), ordered


#: Types whose RDATA text holds no names: written as they are.
_VERBATIM = frozenset({T.A, T.AAAA, T.TXT, T.SPF})


class _TypeNames(dict):
    def __missing__(self, rdtype: int) -> str:
        self[rdtype] = dns.rdatatype.to_text(rdtype)
        return self[rdtype]


def _render(by_name: dict[str, Sequence[Record]], origin: str) -> list[bytes]:
    """The zone-file lines of every RRset in canonical order, names relative to the origin.

    One name with one record, one label below the apex, is most of a big
    zone: it is written directly. The records of every name are fetched in
    one pass over the sorted names (a list of references, not of pairs: a
    million pairs would cost 64 MB), then read in order.
    """
    keys = sorted(by_name)
    values = list(map(by_name.__getitem__, keys))
    chunks: list[bytes] = []
    type_names = _TypeNames()
    verbatim = _VERBATIM
    relativize = rdtext.relativize
    cut = rdtext.suffix_length(origin)
    # Encode as we go: a million lines held as str would cost more memory
    # than the finished file.
    for start in range(0, len(keys), 50_000):
        lines: list[str] = []
        append = lines.append
        end = start + 50_000
        for key, at_name in zip(keys[start:end], values[start:end], strict=True):
            if len(at_name) == 1 and key and "\x00" not in key:
                record = at_name[0]
                owner = record[0]
                # (the origin's part is written as the origin is: owner case is not data)
                if "\\" not in owner:
                    rdtype = record[2]
                    data = (
                        record[3]
                        if rdtype in verbatim
                        else relativize(rdtype, record[3], record[9], origin)
                    )
                    append(f"{owner[:-cut]}\t{record[1]}\tIN\t{type_names[rdtype]}\t{data}\n")
                    continue
            relative_owner = rdtext.relative_name(at_name[0][0], origin)
            for _key, _owner, rdtype, ttl, records in _rrsets_at(key, at_name):
                head = f"{relative_owner}\t{ttl}\tIN\t{type_names[rdtype]}\t"
                for record in records:
                    data = (
                        record[3]
                        if rdtype in verbatim
                        else relativize(rdtype, record[3], record[9], origin)
                    )
                    append(f"{head}{data}\n")
        chunks.append("".join(lines).encode())
    return chunks


_ZONEMD_LINE = re.compile(
    rb"^(@\t[0-9]+\tIN\tZONEMD\t)[0-9]+ ([0-9]+) ([0-9]+) [0-9A-Fa-f ]+$", re.M
)


def with_fresh_zonemd(text: bytes, origin: str) -> bytes:
    """The zone file with each apex ZONEMD's serial and digest computed for this content.

    A ZONEMD (RFC 8976) digests the zone, SOA serial included, and zonesmith
    sets the serial: a digest from the source would never match what is
    served, and a validating consumer would refuse the zone. Digests of a
    scheme or hash algorithm dnspython does not know are left as given.
    """
    zone = dns.zone.from_text(text.decode(), origin, relativize=False, check_origin=False)

    def fresh(match: re.Match[bytes]) -> bytes:
        scheme, algorithm = int(match[2]), int(match[3])
        try:
            rdata = zone.compute_digest(
                dns.zone.DigestHashAlgorithm(algorithm), dns.zone.DigestScheme(scheme)
            )
        except (
            ValueError,
            dns.zone.UnsupportedDigestScheme,
            dns.zone.UnsupportedDigestHashAlgorithm,
        ):
            return match[0]
        return match[1] + rdata.to_text().encode()

    return _ZONEMD_LINE.sub(fresh, text)


def reverse_name(address: str) -> str:
    """The in-addr.arpa / ip6.arpa name of an address (absolute text)."""
    if ":" not in address:
        return ".".join(reversed(address.split("."))) + ".in-addr.arpa."
    nibbles = socket.inet_pton(socket.AF_INET6, address).hex()
    return ".".join(reversed(nibbles)) + ".ip6.arpa."


def derived_ptrs(site: Site, zone: Zone, view: str, explicit: set[str]) -> list[Record]:
    """PTR records for the A/AAAA records of ``reverse-of`` zones that fall into ``zone``.

    Names the reverse zone already has records for (lower-case absolute
    text in ``explicit``) are left alone, so an explicit PTR (or a
    classless-delegation CNAME) wins.
    """
    origin = zone.origin
    ptrs = []
    for ref in zone.reverse_of:
        forward = site.zones_by_name.get(dns.name.from_text(ref.name))
        if forward is None or view not in forward.views:
            continue
        for record in forward.records_in_view(view):
            if record.rdtype not in (T.A, T.AAAA) or record.owner.startswith("*."):
                continue
            ptr_name = reverse_name(record.data)
            if not rdtext.is_subdomain(ptr_name, origin) or ptr_name in explicit:
                continue
            ptrs.append(
                Record(
                    (
                        ptr_name,
                        record.ttl,
                        T.PTR,
                        record.owner,
                        view,
                        record.path,
                        record.line,
                        record.column,
                        "reverse-of",
                        None,
                    )
                )
            )
    return ptrs


def compile_zone(
    site: Site,
    zone: Zone,
    view: str,
    state: SerialState,
    today: datetime.date,
    cache: ZoneCache | None = None,
) -> CompiledZone:
    """One zone in one view; its body is taken from ``cache`` when the zone is unchanged."""
    soa = site.soa_for(zone)
    assert soa is not None, "validated sites have an SOA for every zone"
    origin = zone.origin
    derived: tuple[Record, ...] = ()
    # The body (the lines after the SOA) in chunks: a big zone's file is
    # joined once, with its header, instead of body first and file after.
    chunks: list[bytes] | None = None
    if zone.reverse_of:
        # Its PTRs come from other zones, which the zone's fingerprint does not cover.
        records = list(zone.records_in_view(view))
        derived = tuple(derived_ptrs(site, zone, view, {r.owner.lower() for r in records}))
        chunks = _render(index_records([*records, *derived], origin)[0], origin)
    elif cache is not None:
        body = cache.body(zone, view)
        chunks = [body] if body is not None else None
    if chunks is None:
        chunks = _render(zone.index(view)[0], origin)
        if cache is not None:
            cache.keep_body(zone, view, chunks)
    ttl = site.ttl_for(zone)
    soa_fields = (
        f"{soa.primary_text} {soa.contact_text} {soa.refresh} {soa.retry} {soa.expire} "
        f"{soa.negative_ttl} {ttl}\n"
    )
    # Worked out from the body, so kept with it: hashing ten thousand bodies
    # again cost a twentieth of a rebuild.
    cacheable = cache is not None and not zone.reverse_of
    digest = cache.zone_digest(zone, view, soa_fields) if cacheable else None  # type: ignore[union-attr]
    if digest is None:
        hasher = hashlib.sha256(soa_fields.encode())
        for chunk in chunks:
            hasher.update(chunk)
        digest = "sha256:" + hasher.hexdigest()
        if cacheable:
            cache.keep_zone_digest(zone, view, soa_fields, digest)  # type: ignore[union-attr]
    serial = state.serial_for(zone.text, view, digest, today)
    text = b"".join([_zone_file_header(origin, view, ttl, soa, serial), *chunks])
    if b"\tZONEMD\t" in text:
        text = with_fresh_zonemd(text, origin)
    return CompiledZone(zone.name, origin, view, serial, soa, ttl, text, digest, zone, derived)


@dataclass(frozen=True)
class CompiledSite:
    site: Site
    #: (view, zone origin) -> the zone as that view serves it, in site order.
    zones: dict[tuple[str, str], CompiledZone]
    state: SerialState
    today: datetime.date

    def zones_of_view(self, view: str) -> list[CompiledZone]:
        return [z for (v, _), z in self.zones.items() if v == view]


def compile_site(
    site: Site, today: datetime.date | None = None, cache: ZoneCache | None = None
) -> CompiledSite:
    """Compile every zone in every view it is served in.

    Raises SiteError when the serial state cannot be read.
    """
    state = SerialState.load(Path(site.root))
    today = today or build_date()
    compiled: dict[tuple[str, str], CompiledZone] = {}
    for view in site.view_names:
        for zone in site.zones_in_view(view):
            compiled[(view, zone.origin)] = compile_zone(site, zone, view, state, today, cache)
    return CompiledSite(site, compiled, state, today)


# --------------------------------------------------------------------------
# The fleet: what each server serves, from whom it transfers, whom it notifies


@dataclass(frozen=True)
class Secret:
    """A TSIG key with its secret: only drivers see it, to write key files."""

    key: TsigKey
    secret: str = field(repr=False)

    @property
    def name(self) -> str:
        return self.key.name


@dataclass(frozen=True)
class Transfer:
    """Zone transfers of one view from a primary to a secondary, with their key."""

    primary: Server
    secondary: Server
    key: TsigKey | None
    view: str


@dataclass(frozen=True)
class ServedZone:
    """One zone as one server serves it in one view.

    ``data`` is the zone's content on a server that loads it from a file
    (a primary); a secondary transfers it from ``primaries``. ``secondaries``
    are the servers that transfer it from this one. ``via_catalog`` marks a
    member zone that a catalog consumer learns from the catalog zone, so its
    configuration needs no stanza for it.
    """

    zone: Zone
    view: str
    data: CompiledZone | None
    primaries: tuple[Transfer, ...] = ()
    secondaries: tuple[Transfer, ...] = ()
    via_catalog: bool = False
    is_catalog: bool = False

    @property
    def name(self) -> dns.name.Name:
        return self.zone.name

    @property
    def text_name(self) -> str:
        return self.zone.text

    @property
    def file_stem(self) -> str:
        return file_stem(self.zone.origin)


@dataclass(frozen=True)
class ServerBuild:
    """Everything one server's configuration is made from."""

    site: Site
    server: Server
    #: The views this server serves, in site order, with their zones.
    views: tuple[tuple[View, tuple[ServedZone, ...]], ...]
    #: The TSIG keys its configuration uses, with their secrets.
    keys: tuple[Secret, ...] = ()
    #: For a catalog consumer: the catalog zone of each view it follows.
    catalogs: tuple[ServedZone, ...] = ()
    #: Who may reach port 53 of this server (for the firewall); ("any",) for everybody.
    firewall_clients: tuple[str, ...] = ("any",)
    #: For a resolver: its compiled blocklists (see zonesmith.blocklists).
    blocklists: tuple[object, ...] = ()

    @property
    def uses_views(self) -> bool:
        """False when the site declares no views: the server then has none either."""
        return not self.site.implicit_view

    @property
    def zones(self) -> list[ServedZone]:
        return [zone for _, zones in self.views for zone in zones]


def catalog_member_label(zone: dns.name.Name) -> str:
    """A stable member label (RFC 9432 section 4.1): a hash of the member's name."""
    return hashlib.sha1(zone.canonicalize().to_wire()).hexdigest()  # noqa: S324 - a label, not security


def catalog_zone(site: Site, primary: Server, view: str, members: list[Zone]) -> Zone:
    """The catalog zone (RFC 9432, version 2) of ``primary`` in ``view``."""
    assert primary.catalog is not None
    origin = dns.name.from_text(primary.catalog)
    apex = origin.to_text()
    where = primary.position

    def record(owner: str, rdtype: int, data: str) -> Record:
        return Record.new(owner, 0, rdtype, data, None, where, "catalog")

    records = [record(apex, T.NS, "invalid."), record(f"version.{apex}", T.TXT, '"2"')]
    for member in members:
        label = catalog_member_label(member.name)
        records.append(record(f"{label}.zones.{apex}", T.PTR, member.name.to_text()))
    return Zone(origin, (view,), tuple(records), where, source_path=None)


def _transfers(site: Site, zone: Zone, view: str) -> list[Transfer]:
    """Every primary→secondary transfer of ``zone`` in ``view``."""
    transfers = []
    for secondary in site.servers:
        if secondary.role != "secondary" or not site.serves(secondary, zone, view):
            continue
        for ref in secondary.primaries:
            primary = site.servers_by_name.get(ref.name)
            if primary is not None and site.serves(primary, zone, view):
                transfers.append(
                    Transfer(primary, secondary, site.transfer_key(secondary, view), view)
                )
    return transfers


def compile_fleet(
    compiled: CompiledSite,
    secrets: dict[str, str],
    can_consume_catalog: dict[str, bool],
) -> dict[str, ServerBuild]:
    """What every authoritative server serves, and how zones flow between them.

    ``secrets`` maps key names to their secrets; ``can_consume_catalog``
    says, per software, whether it can follow a catalog zone (a driver
    capability).
    """
    site = compiled.site
    served: dict[str, dict[str, list[ServedZone]]] = defaultdict(lambda: defaultdict(list))
    catalogs: dict[str, list[ServedZone]] = defaultdict(list)
    for view in site.view_names:
        zones = site.zones_in_view(view)
        transfers = {zone.origin: _transfers(site, zone, view) for zone in zones}
        members_by_primary: dict[str, list[Zone]] = {}
        for server in site.servers:
            if server.role == "primary" and server.catalog:
                consumers = {
                    t.secondary.name
                    for ts in transfers.values()
                    for t in ts
                    if t.primary.name == server.name
                    and can_consume_catalog.get(t.secondary.software)
                }
                # A member must reach every consumer: a zone that only some
                # consumers serve is configured on them explicitly instead.
                members = [
                    zone
                    for zone in zones
                    if site.serves(server, zone, view)
                    and consumers
                    and consumers <= {t.secondary.name for t in transfers[zone.origin]}
                ]
                if members:
                    members_by_primary[server.name] = members
        # By identity (zones compare so): a catalog can have ten thousand members.
        member_sets = {name: set(members) for name, members in members_by_primary.items()}
        for zone in zones:
            zone_transfers = transfers[zone.origin]
            for server in site.servers:
                if not site.serves(server, zone, view):
                    continue
                primaries: tuple[Transfer, ...] = ()
                secondaries: tuple[Transfer, ...] = ()
                if zone_transfers:
                    primaries = tuple(t for t in zone_transfers if t.secondary.name == server.name)
                    secondaries = tuple(t for t in zone_transfers if t.primary.name == server.name)
                via_catalog = (
                    bool(primaries)
                    and any(zone in member_sets.get(t.primary.name, ()) for t in primaries)
                    and bool(can_consume_catalog.get(server.software))
                )
                data = compiled.zones[(view, zone.origin)] if server.role == "primary" else None
                served[server.name][view].append(
                    ServedZone(zone, view, data, primaries, secondaries, via_catalog)
                )
        for primary_name, members in members_by_primary.items():
            primary = site.servers_by_name[primary_name]
            catalog = catalog_zone(site, primary, view, members)
            data = compile_zone(site, catalog, view, compiled.state, compiled.today)
            consumer_transfers = []
            for secondary in site.servers:
                if secondary.role != "secondary" or not can_consume_catalog.get(secondary.software):
                    continue
                if primary_name not in {r.name for r in secondary.primaries}:
                    continue
                if view not in site.views_of(secondary):
                    continue
                transfer = Transfer(primary, secondary, site.transfer_key(secondary, view), view)
                consumer_transfers.append(transfer)
                catalogs[secondary.name].append(
                    ServedZone(catalog, view, None, (transfer,), is_catalog=True)
                )
            served[primary_name][view].append(
                ServedZone(catalog, view, data, (), tuple(consumer_transfers), is_catalog=True)
            )

    builds = {}
    for server in site.servers:
        views = tuple(
            (site.views_by_name[view], tuple(served[server.name][view]))
            for view in site.view_names
            if served[server.name].get(view)
        )
        used_keys: set[str] = set()
        for _, zones in views:
            for zone in zones:
                for t in zone.primaries + zone.secondaries:
                    if t.key is not None:
                        used_keys.add(t.key.name)
        for catalog in catalogs[server.name]:
            for t in catalog.primaries:
                if t.key is not None:
                    used_keys.add(t.key.name)
        if server.role == "primary" and len(views) > 1:
            # The primary routes a transfer to its view by key: it needs them all.
            used_keys |= {v.key.name for v, _ in views if v.key is not None}
        keys = tuple(
            Secret(site.keys_by_name[name], secrets[name])
            for name in sorted(used_keys)
            if name in secrets
        )
        builds[server.name] = ServerBuild(
            site,
            server,
            views,
            keys,
            tuple(catalogs[server.name]),
            firewall_clients(site, server, views),
        )
    return builds


def firewall_clients(
    site: Site, server: Server, views: tuple[tuple[View, tuple[ServedZone, ...]], ...]
) -> tuple[str, ...]:
    """Who may reach port 53 of ``server``.

    A hidden primary answers its secondaries only; otherwise the clients of
    the views it serves, and its own primaries and secondaries for transfers
    and NOTIFY.
    """
    peers: list[str] = []
    for _, zones in views:
        for zone in zones:
            for t in zone.primaries:
                peers.append(t.primary.address)
            for t in zone.secondaries:
                peers.append(t.secondary.address)
    if server.role == "primary" and server.hidden:
        return tuple(dict.fromkeys(peers))
    clients: list[str] = []
    for view, _ in views:
        clients.extend(view.clients)
    if any(c == "any" for c in clients):
        return ("any",)
    return tuple(dict.fromkeys(clients + peers))


# --------------------------------------------------------------------------
# Resolvers: where the site's own zones are asked


def resolver_views(site: Site, server: Server) -> list[View]:
    """The views whose clients a resolver serves."""
    return [site.views_by_name[name] for name in site.views_of(server)]


def address_matches(clients: tuple[str, ...], address: str) -> bool:
    """Whether ``address`` matches an address match list, first match wins (as BIND)."""
    ip = ipaddress.ip_address(address)
    for element in clients:
        negated = element.startswith("!")
        text = element[1:].strip() if negated else element
        if text == "any":
            hit = True
        elif text == "none" or text == "localnets":
            hit = False
        elif text == "localhost":
            hit = ip.is_loopback
        else:
            try:
                hit = ip in ipaddress.ip_network(text, strict=False)
            except ValueError:
                hit = False
        if hit:
            return not negated
    return False


def stub_view(site: Site, server: Server) -> str | None:
    """The view a resolver's own queries fall into at the site's servers.

    The first of its views (in site order, as BIND matches them) whose
    clients include the resolver's address, else the first of its views.
    """
    views = site.views_of(server)
    for name in site.view_names:
        if name in views and address_matches(site.views_by_name[name].clients, server.address):
            return name
    return views[0] if views else None


def stub_zones(site: Site, server: Server) -> list[tuple[dns.name.Name, list[str]]]:
    """Every zone of the resolver's view with the addresses (ADDR@PORT) serving it."""
    view = stub_view(site, server)
    if view is None:
        return []
    stubs = []
    for zone in site.zones_in_view(view):
        servers = [s for s in site.servers if site.serves(s, zone, view)]
        servers.sort(key=lambda s: s.role != "primary")
        visible = [s for s in servers if not (s.role == "primary" and s.hidden)]
        chosen = visible or servers
        addresses = list(dict.fromkeys(f"{s.address}@{s.port}" for s in chosen))
        stubs.append((zone.name, addresses))
    return stubs
