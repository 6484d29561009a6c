"""The site model: immutable values, no I/O.

Everything zonesmith knows about a site after loading it lives here as frozen
dataclasses and tuples, so later stages (rules, compile, drivers) can share
and cache them freely. Each value keeps the source position it came from, so
any stage can point the user at the line to fix.

Over 600 lines: one value per concept of a site, kept together so that the
lower layers import one module; split by concept when a value grows behaviour.
"""

from __future__ import annotations

import ipaddress
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields
from functools import cached_property
from operator import attrgetter, itemgetter
from typing import TypeVar

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith.diagnostics import Position
from zonesmith.presentation import name_key, suffix_length

#: Name of the single view of a site that declares no views.
DEFAULT_VIEW = "default"

SOFTWARES = ("bind", "nsd", "knot", "unbound")
ROLES = ("primary", "secondary", "resolver")


@dataclass(frozen=True, slots=True)
class Reference:
    """A name that refers to another part of the site (a view, set, key, server)."""

    name: str
    position: Position

    def __reduce__(self) -> tuple[type[Reference], tuple[str, Position]]:
        return Reference, (self.name, self.position)  # see Position.__reduce__


class Record(tuple):
    """One resource record of a zone, as declared in the site.

    The working form is text: ``owner`` is the absolute owner name and
    ``data`` the canonical absolute RDATA, both in presentation format as
    dnspython writes them; ``rdata`` and ``name`` give dnspython objects on
    demand. ``view`` is None when the record belongs to every view of its
    zone; ``source`` says where it came from ("zone", "set mail",
    "reverse-of"). A record is a tuple, so it is immutable, compares by
    value, and a million of them are made quickly: the hot paths build them
    with ``Record((owner, ttl, rdtype, data, view, path, line, column,
    source, rdata))``; other code uses :meth:`new` or :meth:`of`.
    """

    __slots__ = ()

    owner: str = property(itemgetter(0))  # type: ignore[assignment]
    ttl: int = property(itemgetter(1))  # type: ignore[assignment]
    rdtype: int = property(itemgetter(2))  # type: ignore[assignment]
    data: str = property(itemgetter(3))  # type: ignore[assignment]
    view: str | None = property(itemgetter(4))  # type: ignore[assignment]
    path: str = property(itemgetter(5))  # type: ignore[assignment]
    line: int = property(itemgetter(6))  # type: ignore[assignment]
    column: int = property(itemgetter(7))  # type: ignore[assignment]
    source: str = property(itemgetter(8))  # type: ignore[assignment]
    #: The dnspython object when parsing made one anyway (else None).
    parsed: dns.rdata.Rdata | None = property(itemgetter(9))  # type: ignore[assignment]

    @classmethod
    def new(
        cls,
        owner: str,
        ttl: int,
        rdtype: int,
        data: str,
        view: str | None,
        position: Position,
        source: str = "zone",
        rdata: dns.rdata.Rdata | None = None,
    ) -> Record:
        return cls(
            (
                owner,
                ttl,
                rdtype,
                data,
                view,
                position.path,
                position.line,
                position.column,
                source,
                rdata,
            )
        )

    @classmethod
    def of(
        cls,
        name: dns.name.Name,
        ttl: int,
        rdata: dns.rdata.Rdata,
        view: str | None,
        position: Position,
        source: str = "zone",
    ) -> Record:
        """A record from dnspython objects."""
        return cls.new(
            name.to_text(), ttl, rdata.rdtype, rdata.to_text(), view, position, source, rdata
        )

    @property
    def position(self) -> Position:
        return Position(self[5], self[6], self[7])

    @property
    def name(self) -> dns.name.Name:
        return dns.name.from_text(self[0])

    @property
    def rdata(self) -> dns.rdata.Rdata:
        parsed = self[9]
        if parsed is None:
            parsed = dns.rdata.from_text(
                dns.rdataclass.IN, self[2], self[3], origin=dns.name.root, relativize=False
            )
        return parsed

    def __repr__(self) -> str:
        return f"Record({self[0]} {self[1]} {dns.rdatatype.to_text(self[2])} {self[3]})"


@dataclass(frozen=True, slots=True)
class RuleSwitch:
    """A rule switched off (or given another severity): for the whole site, at some
    names, or at some records.

    ``rules:`` in zonesmith.yaml gives the first two (``names`` None: the
    whole site; else absolute names in lower case, ``*.`` for the names
    below one); ``rules:`` beside a name's records in a YAML file and a
    ``; zonesmith: off RULE`` comment in a master file give the third:
    ``at`` holds the records' (path, line, column), column 0 for a whole line.
    """

    rule: str
    #: where the rule id is written
    position: Position
    names: tuple[str, ...] | None = None
    at: tuple[tuple[str, int, int], ...] = ()
    #: "warning" or "error": the rule's findings are kept with this severity; None: off
    severity: str | None = None

    def __reduce__(self) -> tuple[type[RuleSwitch], tuple]:
        # see Position
        return RuleSwitch, (self.rule, self.position, self.names, self.at, self.severity)


@dataclass(frozen=True, slots=True)
class Soa:
    """SOA timers and names; the serial is computed at build time."""

    primary: dns.name.Name
    contact: dns.name.Name
    refresh: int
    retry: int
    expire: int
    negative_ttl: int
    #: ``primary`` and ``contact`` as absolute text, as zone files need them.
    primary_text: str = field(init=False, compare=False, repr=False)
    contact_text: str = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Ten thousand zones share one SOA: their names are written out once.
        object.__setattr__(self, "primary_text", self.primary.to_text())
        object.__setattr__(self, "contact_text", self.contact.to_text())


@dataclass(frozen=True, slots=True)
class Defaults:
    ttl: int
    soa: Soa | None
    position: Position
    #: The DNSSEC policy of zones that name none (``defaults: {dnssec: POLICY}``).
    dnssec: Reference | None = None


#: Algorithms a policy may name (BIND's spelling); the first four are deprecated.
DEPRECATED_ALGORITHMS = ("RSAMD5", "DSA", "RSASHA1", "NSEC3RSASHA1")
DNSSEC_ALGORITHMS = (
    *DEPRECATED_ALGORITHMS,
    "RSASHA256",
    "RSASHA512",
    "ECDSAP256SHA256",
    "ECDSAP384SHA384",
    "ED25519",
    "ED448",
)


@dataclass(frozen=True, slots=True)
class DnssecPolicy:
    """How the zones that name it are signed (``dnssec-policies:``); durations in seconds.

    ``keys`` is ``csk`` or ``ksk+zsk``; a lifetime of None is unlimited.
    ``nsec`` is ``nsec`` or ``nsec3`` (then the NSEC3 fields count; the
    defaults are RFC 9276's). ``ds`` says how DS reaches the parent: ``manual``
    or ``cds`` (the signer publishes CDS/CDNSKEY).
    """

    name: str
    position: Position
    algorithm: str = "ECDSAP256SHA256"
    keys: str = "csk"
    csk_lifetime: int | None = None
    ksk_lifetime: int | None = None
    zsk_lifetime: int | None = None
    signature_validity: int = 21 * 86400
    signature_refresh: int = 5 * 86400
    nsec: str = "nsec"
    nsec3_iterations: int = 0
    #: hex, "" for none
    nsec3_salt: str = ""
    nsec3_opt_out: bool = False
    ds: str = "manual"
    #: where each key of the policy was written, for diagnostics
    positions: tuple[tuple[str, Position], ...] = ()

    def at(self, key: str) -> Position:
        """Where ``key`` of this policy is written (the policy's name if it is not)."""
        return dict(self.positions).get(key, self.position)


@dataclass(frozen=True, slots=True)
class TsigKey:
    name: str
    algorithm: str
    secret_file: str | None
    secret_env: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class View:
    """A split-horizon view; clients are address match list elements, in order."""

    name: str
    clients: tuple[str, ...]
    position: Position
    key: Reference | None = None


#: The port of BIND's control channel (rndc) when a server does not say.
#: Key names zonesmith gives its own keys (the control and deploy key) start with this.
OWN_KEY_PREFIX = "zonesmith-"
DEFAULT_CONTROL_PORT = 953


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    software: str
    role: str
    address: str
    port: int
    path: str
    position: Position
    hidden: bool = False
    catalog: str | None = None
    primaries: tuple[Reference, ...] = ()
    key: Reference | None = None
    blocklists: tuple[Reference, ...] = ()
    views: tuple[Reference, ...] | None = None
    #: Where the server runs: ``ssh://[user@]host[:port]``; None: this machine.
    host: str | None = None
    #: BIND's control channel port (rndc); None: the default, 953.
    control_port: int | None = None


@dataclass(frozen=True, slots=True)
class DeploySettings:
    """``deploy:``: how a deploy verifies and guards a rollout."""

    #: Seconds a deploy waits for every server to serve a change.
    verify_timeout: float = 30.0
    #: The share (0..1) of a zone's RRsets that changing needs an acknowledgement.
    mass_change: float = 0.3
    #: Release copies kept per server.
    releases: int = 10


# eq=False: a zone is identified by itself (its records can be a million;
# comparing or hashing them would be slow), which also lets the index cache
# below hold zones weakly.
@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class Zone:
    """A zone of the site.

    ``views`` are the views the zone is served in (all the site's views unless
    the zone says otherwise). ``records`` include those of included sets; the
    SOA is not among them: the site supplies it at compile time.
    """

    name: dns.name.Name
    views: tuple[str, ...]
    records: Sequence[Record]  # a tuple, or records the cache unpacks when asked
    position: Position
    source_path: str | None = None
    includes: tuple[Reference, ...] = ()
    reverse_of: tuple[Reference, ...] = ()
    view_refs: tuple[Reference, ...] = ()
    ttl: int | None = None
    soa: Soa | None = None
    #: The servers that serve this zone; None: every authoritative server of its views.
    servers: tuple[Reference, ...] | None = None
    #: What the records are made from, as a digest (see zonesmith.output.cache); None: unknown.
    fingerprint: str | None = None
    #: The zone's name as absolute text ("example.com."): the form records use.
    #: Worked out from ``name`` when not given.
    origin: str = ""
    #: The DNSSEC policy the zone is signed with (its own or the default); None: unsigned.
    dnssec: Reference | None = None
    #: Rules switched off at records of its file (comments, ``rules:`` keys).
    rule_switches: tuple[RuleSwitch, ...] = ()
    #: Whether some records are for one view only (then views see different zones).
    differs_by_view: bool = field(init=False, default=False)

    @property
    def text(self) -> str:
        return self.origin[:-1] or "."

    def records_in_view(self, view: str) -> Iterator[Record]:
        """The records of this zone that a client of ``view`` sees."""
        if not self.differs_by_view:
            return iter(self.records)  # every view sees all: a million records, unfiltered
        return (record for record in self.records if record.view is None or record.view == view)

    def apex_ns(self) -> tuple[Record, ...]:
        """The NS records at the apex (of every view).

        Records from the cache (zonesmith.output.cache.CachedRecords) keep them
        beside the others, so a zone need not be unpacked for them.
        """
        known = getattr(self.records, "apex_ns", None)
        if known is not None:
            return known
        return apex_ns_of(self.records, self.origin)

    def links(self) -> tuple[Record, ...]:
        """The records whose targets the site rules follow into other zones (see links_of).

        Records from the cache keep them beside the others, as the apex NS.
        """
        known = getattr(self.records, "links", None)
        if known is None:
            known = _LINKS.get(self)  # several site rules follow the links of every zone
        if known is not None:
            return known
        if self.differs_by_view:
            known = links_of(self.records, self.origin)
        else:
            # Every view sees every record: the index the zone rules made has them.
            by_name, by_type = self.index("")
            linking = [r for rdtype in LINK_TYPES for r in by_type.get(rdtype, ())]
            known = links_of(linking, self.origin, by_name)
        _LINKS[self] = known
        return known

    def mail_records(self) -> tuple[Record, ...]:
        """The records the site-wide mail rules read (see :func:`mail_records_of`).

        Kept by the cache beside the others, as the apex NS are.
        """
        known = getattr(self.records, "mail_records", None)
        if known is None:
            known = _MAIL_RECORDS.get(self)
        if known is None:
            known = _MAIL_RECORDS[self] = mail_records_of(self.records, self.origin)
        return known

    def with_records(
        self,
        records: Sequence[Record],
        fingerprint: str | None,
        rule_switches: tuple[RuleSwitch, ...] = (),
    ) -> Zone:
        """This zone with ``records`` (what it is made from: ``fingerprint``) and the
        switches written beside them."""
        return Zone.from_arguments(_zone_arguments(self), records, fingerprint, rule_switches)

    def arguments(self) -> tuple:
        """The zone's constructor arguments, in order (see from_arguments)."""
        return _zone_arguments(self)

    @staticmethod
    def from_arguments(
        arguments: tuple,
        records: Sequence[Record],
        fingerprint: str | None,
        rule_switches: tuple[RuleSwitch, ...] = (),
    ) -> Zone:
        """The zone made of ``arguments`` (see arguments), with ``records``.

        As dataclasses.replace, without its checks: every zone of a site is
        made this way on every load.
        """
        values = list(arguments)
        values[_RECORDS_ARGUMENT] = records
        values[_FINGERPRINT_ARGUMENT] = fingerprint
        values[_SWITCHES_ARGUMENT] = rule_switches
        return Zone(*values)

    def __reduce__(self) -> tuple[type[Zone], tuple]:
        # Pickled by its constructor (see Position.__reduce__).
        return Zone, _zone_arguments(self)

    def __post_init__(self) -> None:
        # Asked for often, and a zone can have a million records: worked out once.
        # Records from the cache (zonesmith.output.cache.CachedRecords) know it
        # without being unpacked.
        differs = getattr(self.records, "differs_by_view", None)
        if differs is None:
            differs = any(r[4] is not None for r in self.records)
        object.__setattr__(self, "differs_by_view", differs)
        if not self.origin:
            object.__setattr__(self, "origin", self.name.to_text())

    def index(self, view: str) -> ZoneIndex:
        """The records ``view`` sees, indexed (see :func:`index_records`); made once.

        Validation and compilation both need it; for a big zone making it is
        a good part of the work, so it is kept for as long as the zone lives.
        """
        return kept_per_view(
            _INDEXES, self, view, lambda _: index_records(self.records_in_view(view), self.origin)
        )


_Kept = TypeVar("_Kept")


def kept_per_view(
    table: weakref.WeakKeyDictionary[Zone, dict[str | None, _Kept]],
    zone: Zone,
    view: str,
    make: Callable[[str | None], _Kept],
) -> _Kept:
    """What ``make`` makes of ``zone`` for ``view``, kept in ``table`` for as long as the
    zone lives: once per view, or once for all (``make(None)``) when every view sees the
    same records."""
    per_view = table.get(zone)
    if per_view is None:
        per_view = table[zone] = {}
    effective = view if zone.differs_by_view else None
    found = per_view.get(effective)
    if found is None:
        found = per_view[effective] = make(effective)
    return found


#: Zone's constructor arguments, in order, read off a zone in one call.
_ZONE_ARGUMENTS = tuple(f.name for f in fields(Zone) if f.init)
_zone_arguments = attrgetter(*_ZONE_ARGUMENTS)
_RECORDS_ARGUMENT = _ZONE_ARGUMENTS.index("records")
_FINGERPRINT_ARGUMENT = _ZONE_ARGUMENTS.index("fingerprint")
_SWITCHES_ARGUMENT = _ZONE_ARGUMENTS.index("rule_switches")


@dataclass(frozen=True, slots=True)
class Blocklist:
    """A resolver blocklist: where its names come from and what blocking answers.

    ``sources`` are http(s) URLs or files of the site; ``allow`` are allowlist
    files and ``allow_names`` names given inline. ``action`` is ``nxdomain``,
    ``null`` or ``sinkhole`` (then ``sinkhole`` is the address). ``rpz`` asks
    for a response policy zone instead of local zones. ``deadline`` bounds
    the time fetching each URL source takes.
    """

    name: str
    sources: tuple[str, ...]
    allow: tuple[str, ...]
    action: str
    sinkhole: str | None
    position: Position
    allow_names: tuple[str, ...] = ()
    rpz: bool = False
    #: Where each source and allow entry is written, for diagnostics.
    source_positions: tuple[Position, ...] = ()
    allow_positions: tuple[Position, ...] = ()
    sinkhole_position: Position | None = None
    #: Seconds a ``blocklist update`` may spend on one URL source (None: the default).
    deadline: int | None = None


#: Who a resolver answers when the site declares no clients for it: its own host.
LOOPBACK_CLIENTS = ("127.0.0.1", "::1")


def admits_anybody(clients: tuple[str, ...]) -> bool:
    """Whether an address match list lets in every address of IPv4 or of IPv6."""
    for element in clients:
        if element.startswith("!"):
            continue
        if element == "any":
            return True
        try:
            if ipaddress.ip_network(element, strict=False).prefixlen == 0:
                return True
        except ValueError:
            continue
    return False


@dataclass(frozen=True)
class Site:
    """A whole site: what one repository declares."""

    root: str
    defaults: Defaults
    keys: tuple[TsigKey, ...] = ()
    views: tuple[View, ...] = ()
    servers: tuple[Server, ...] = ()
    zones: tuple[Zone, ...] = ()
    blocklists: tuple[Blocklist, ...] = ()
    #: True when the site declares no views and everything is served in DEFAULT_VIEW.
    implicit_view: bool = True
    sets: tuple[str, ...] = field(default=())
    deploy: DeploySettings = DeploySettings()
    dnssec_policies: tuple[DnssecPolicy, ...] = ()
    #: Names that send mail (``mail-senders:``), absolute lower-case text: their
    #: reverse records are checked as those of MX targets are.
    mail_senders: tuple[Reference, ...] = ()
    #: ``rules:`` of zonesmith.yaml, and switches beside the records of its sets
    rule_switches: tuple[RuleSwitch, ...] = ()
    #: The DS records (SHA-256, presentation text) of the live keys of each signed zone
    #: the key state knows: (zone origin, view, DS texts); see zonesmith.compile.live_keys.
    live_ds: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    def live_ds_of(self, zone: Zone, view: str) -> tuple[str, ...]:
        """The DS records of ``zone``'s live keys in ``view`` (none: not known yet)."""
        return self._live_ds_index.get((zone.origin, view), ())

    @cached_property
    def _live_ds_index(self) -> dict[tuple[str, str], tuple[str, ...]]:
        return {(origin, view): texts for origin, view, texts in self.live_ds}

    @cached_property
    def policies_by_name(self) -> dict[str, DnssecPolicy]:
        return {policy.name: policy for policy in self.dnssec_policies}

    def policy_of(self, zone: Zone) -> DnssecPolicy | None:
        """The DNSSEC policy ``zone`` is signed with; None: unsigned (or an unknown policy)."""
        return self.policies_by_name.get(zone.dnssec.name) if zone.dnssec else None

    @cached_property
    def view_names(self) -> tuple[str, ...]:
        return tuple(view.name for view in self.views)

    @cached_property
    def zones_by_name(self) -> dict[dns.name.Name, Zone]:
        return {zone.name: zone for zone in self.zones}

    @cached_property
    def keys_by_name(self) -> dict[str, TsigKey]:
        return {key.name: key for key in self.keys}

    @cached_property
    def servers_by_name(self) -> dict[str, Server]:
        return {server.name: server for server in self.servers}

    @cached_property
    def views_by_name(self) -> dict[str, View]:
        return {view.name: view for view in self.views}

    def views_of(self, server: Server) -> tuple[str, ...]:
        """The views a server serves.

        Its ``views:`` when given; for a secondary whose key is the key of
        some views (the key that selects a view on the primary), those views;
        otherwise every view of the site.
        """
        known = self._views_of_servers.get(server.name)
        if known is not None and known[0] is server:
            return known[1]
        return self._work_out_views_of(server)

    def _work_out_views_of(self, server: Server) -> tuple[str, ...]:
        if server.views is not None:
            wanted = {ref.name for ref in server.views}
            return tuple(name for name in self.view_names if name in wanted)
        if server.key is not None:
            keyed = tuple(v.name for v in self.views if v.key and v.key.name == server.key.name)
            if keyed:
                return keyed
        return self.view_names

    def resolver_clients(self, server: Server) -> tuple[str, ...]:
        """The clients a resolver answers, as one address match list (first match wins).

        The clients of its views, in site order, each element once. A site
        without views declares no clients: the resolver then answers its own
        host only (loopback, and its own address, the source of the host's
        queries to it), never the whole Internet.
        """
        if self.implicit_view:
            own = () if server.address in LOOPBACK_CLIENTS else (server.address,)
            return LOOPBACK_CLIENTS + own
        views = self.views_by_name
        return tuple(
            dict.fromkeys(c for name in self.views_of(server) for c in views[name].clients)
        )

    @cached_property
    def _views_of_servers(self) -> dict[str, tuple[Server, tuple[str, ...]]]:
        # Asked for every zone of every server: worked out once.
        return {s.name: (s, self._work_out_views_of(s)) for s in self.servers}

    def serves(self, server: Server, zone: Zone, view: str) -> bool:
        """Whether an authoritative ``server`` serves ``zone`` to clients of ``view``."""
        if server.role not in ("primary", "secondary") or view not in zone.views:
            return False
        if zone.servers is not None and server.name not in {ref.name for ref in zone.servers}:
            return False
        return view in self.views_of(server)

    def transfer_key(self, secondary: Server, view: str) -> TsigKey | None:
        """The TSIG key a secondary uses to transfer the zones of ``view``."""
        ref = secondary.key or self.views_by_name[view].key
        return self.keys_by_name.get(ref.name) if ref else None

    def zones_in_view(self, view: str) -> list[Zone]:
        return [zone for zone in self.zones if view in zone.views]

    def soa_for(self, zone: Zone) -> Soa | None:
        return zone.soa or self.defaults.soa

    def ttl_for(self, zone: Zone) -> int:
        return zone.ttl if zone.ttl is not None else self.defaults.ttl


#: records by name key; records by type (A, AAAA, TXT left out)
ZoneIndex = tuple[dict[str, Sequence[Record]], dict[int, list[Record]]]
_INDEXES: weakref.WeakKeyDictionary[Zone, dict[str | None, ZoneIndex]] = weakref.WeakKeyDictionary()
_MAIL_RECORDS: weakref.WeakKeyDictionary[Zone, tuple[Record, ...]] = weakref.WeakKeyDictionary()
#: a zone -> its links (see Zone.links), as _MAIL_RECORDS
_LINKS: weakref.WeakKeyDictionary[Zone, tuple[Record, ...]] = weakref.WeakKeyDictionary()
#: Types no rule looks for across a zone, and most of a big one: not indexed by type.
_BULK_TYPES = frozenset({dns.rdatatype.A, dns.rdatatype.AAAA, dns.rdatatype.TXT, dns.rdatatype.SPF})


def index_records(records: Iterable[Record], origin: str) -> ZoneIndex:
    """Records of a zone by name key, and by type.

    Name keys are those of :func:`zonesmith.presentation.name_key`: made with string
    operations, so that a big zone is indexed without making Name objects.
    A name maps to its records: a 1-tuple for the one record most names of a
    big zone have (a list would cost 32 more bytes, a dict per name would
    double the memory of the zone), a list when there are more.
    """
    by_name: dict[str, Sequence[Record]] = {}
    by_type: dict[int, list[Record]] = {}
    cut = suffix_length(origin)
    apex = len(origin)
    bulk = _BULK_TYPES
    for record in records:
        owner = record[0]
        # name_key, inlined for the apex and the common one-label name below it
        relative = owner[:-cut].lower() if len(owner) > cut else None
        if relative is None or "." in relative or "\\" in relative:
            key = "" if len(owner) == apex else name_key(owner, origin)
        else:
            key = relative
        at_name = by_name.get(key)
        if at_name is None:
            by_name[key] = (record,)
        elif type(at_name) is tuple:
            by_name[key] = [*at_name, record]
        else:
            at_name.append(record)
        rdtype = record[2]
        if rdtype not in bulk:
            of_type = by_type.get(rdtype)
            if of_type is None:
                by_type[rdtype] = [record]
            else:
                of_type.append(record)
    return by_name, by_type


def apex_ns_of(records: Iterable[Record], origin: str) -> tuple[Record, ...]:
    """The NS records of ``records`` whose owner is ``origin`` (any case)."""
    apex = origin.lower()
    ns = dns.rdatatype.NS
    return tuple(r for r in records if r[2] == ns and r[0].lower() == apex)


def is_spf_text(data: str) -> bool:
    """Whether TXT data (presentation format) is an SPF record: its strings, joined,
    start with "v=spf1" and a space or nothing (RFC 7208 4.5)."""
    if data[1:4].lower() != "v=s":
        return False
    head = _joined_head(data)
    return head[:6].lower() == "v=spf1" and (len(head) == 6 or head[6] == " ")


def _joined_head(data: str) -> str:
    """The first characters of TXT data with its strings joined (enough for a version tag)."""
    return data[:40].replace('" "', "").strip('"')


def mail_records_of(records: Sequence[Record], origin: str) -> tuple[Record, ...]:
    """What the site-wide mail rules read of a zone (origin ``origin``): its MX records, its
    SPF records and the TXT records at names with a label starting with '_' (``_dmarc``,
    ``_domainkey``, ``_mta-sts``), its delegations' NS records, and the address records of
    names with SPF records."""
    txt, mx, ns = dns.rdatatype.TXT, dns.rdatatype.MX, dns.rdatatype.NS
    addressing = (dns.rdatatype.A, dns.rdatatype.AAAA)
    apex = origin.lower()
    chosen: list[Record] = []
    addresses: list[Record] = []  # kept if their owner has SPF (known at the end)
    spf_owners: set[str] = set()
    for record in records:
        rdtype = record[2]
        if rdtype in addressing:
            addresses.append(record)
        elif rdtype == txt:
            owner = record[0]
            if is_spf_text(record[3]):
                chosen.append(record)
                spf_owners.add(owner.lower())
            elif owner[0] == "_" or "._" in owner:
                chosen.append(record)
        elif rdtype == mx or (rdtype == ns and record[0].lower() != apex):
            chosen.append(record)
    if spf_owners:
        chosen += (r for r in addresses if r[0].lower() in spf_owners)
    return tuple(chosen)


#: Types whose RDATA is one name a client looks up next: MX, SRV, NS and CNAME targets.
LINK_TYPES = frozenset({dns.rdatatype.MX, dns.rdatatype.SRV, dns.rdatatype.NS, dns.rdatatype.CNAME})


def link_target(record: Record) -> str:
    """The name an MX, SRV, NS or CNAME record points at (its RDATA's last field)."""
    return record[3].rpartition(" ")[2]


def links_of(
    records: Sequence[Record], origin: str, by_name: dict[str, Sequence[Record]] | None = None
) -> tuple[Record, ...]:
    """The records of a zone whose targets may be in another zone: every MX (mail hosts
    are followed to their reverse records) and NS (their servers are judged), the SRV
    and CNAME records whose target is outside the zone or at or below a delegation of
    it, and the address records of the mail hosts its MX records name in it.

    With ``by_name`` (the zone's index by name key), ``records`` need only be those of
    the MX, SRV, NS and CNAME types.
    """
    mx, ns = dns.rdatatype.MX, dns.rdatatype.NS
    a, aaaa = dns.rdatatype.A, dns.rdatatype.AAAA
    apex = origin.lower()
    suffix = "." + apex if apex != "." else "."
    found = [r for r in records if r[2] in LINK_TYPES]
    cuts = tuple("." + r[0].lower() for r in found if r[2] == ns and r[0].lower() != apex)

    def inward(target: str) -> bool:
        """Whether ``target`` (lower case) is in the zone and at or below none of its cuts."""
        dotted = "." + target
        if not (dotted.endswith(suffix) or target == apex):
            return False
        return not (cuts and any(dotted.endswith(cut) for cut in cuts))

    linked: list[Record] = []
    hosts: dict[str, None] = {}  # the in-zone mail hosts, in the order of their MX
    for record in found:
        rdtype = record[2]
        if rdtype == mx:
            linked.append(record)
            target = link_target(record).lower()
            if inward(target):
                hosts[target] = None
        elif rdtype == ns or not inward(link_target(record).lower()):
            linked.append(record)
    if hosts and by_name is None:
        linked += [r for r in records if (r[2] == a or r[2] == aaaa) and r[0].lower() in hosts]
    elif hosts and by_name is not None:
        for host in hosts:
            at_host = by_name.get(name_key(host, origin), ())
            linked += [r for r in at_host if r[2] == a or r[2] == aaaa]
    return tuple(linked)


def group_by_type(records: Iterable[Record]) -> dict[int, list[Record]]:
    """Records (of one name) by type, in the order given."""
    types: dict[int, list[Record]] = {}
    for record in records:
        rrset = types.get(record[2])
        if rrset is None:
            types[record[2]] = [record]
        else:
            rrset.append(record)
    return types


def covered_type(data: str) -> int:
    """The type an RRSIG covers, from its canonical text (which starts with it)."""
    return dns.rdatatype.from_text(data.partition(" ")[0])


def group_by_rrset(records: Iterable[Record]) -> dict[tuple[int, int], list[Record]]:
    """Records (of one name) by RRset, in the order given: by type, and RRSIGs also by
    the type they cover (RFC 4034 section 3), so each covered type's signatures keep
    their own TTL. Keys are (type, covered type or 0)."""
    sets: dict[tuple[int, int], list[Record]] = {}
    rrsig = dns.rdatatype.RRSIG
    for record in records:
        rdtype = record[2]
        key = (rdtype, covered_type(record[3]) if rdtype == rrsig else 0)
        rrset = sets.get(key)
        if rrset is None:
            sets[key] = [record]
        else:
            rrset.append(record)
    return sets


#: Types whose RDATA holds domain names, which compare without regard to case.
_NAME_RDATA = frozenset(
    {
        dns.rdatatype.CNAME,
        dns.rdatatype.NS,
        dns.rdatatype.PTR,
        dns.rdatatype.DNAME,
        dns.rdatatype.MX,
        dns.rdatatype.SRV,
    }
)


def rdata_key(record: Record) -> str:
    """What makes two records of one RRset the same record (RFC 2181 5: no duplicates)."""
    return record.data.lower() if record.rdtype in _NAME_RDATA else record.data


@dataclass(frozen=True)
class Capabilities:
    """What a server software can do, so the rules and compile can ask."""

    roles: frozenset[str]
    views: bool = False
    catalog_producer: bool = False
    catalog_consumer: bool = False
    dnssec: bool = False
    rrl: bool = False
