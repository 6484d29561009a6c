"""Validation rules: every check zonesmith makes on a loaded site.

Each rule is one function, registered with an id, a severity and a one-line
summary by the :func:`rule` decorator. Site rules look at the whole site
(references between its parts, secrets); zone rules look at the records one
view of one zone serves, through a :class:`ZoneView` index. Adding a rule is
adding a function here.

Problems with the syntax of a single value (bad YAML, bad RDATA, bad names)
are reported while loading, in :mod:`zonesmith.load`, because the value
cannot be put in the model at all.
"""

from __future__ import annotations

import difflib
import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith import rdata as rdtext
from zonesmith.cache import ZoneCache
from zonesmith.diagnostics import Diagnostic, Position, Severity, error, warning
from zonesmith.load import KNOWN_CAA_TAGS, SecretError, is_site_file, read_secret
from zonesmith.model import (
    Record,
    Server,
    Site,
    Zone,
    admits_anybody,
    covered_type,
    group_by_rrset,
    group_by_type,
    rdata_key,
)

T = dns.rdatatype

#: Types that may share a name with a CNAME (RFC 2181 10.1, RFC 4035 2.5).
CNAME_COMPANIONS = frozenset({T.CNAME, T.RRSIG, T.NSEC, T.KEY})
ADDRESS_TYPES = frozenset({T.A, T.AAAA})


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    scope: str  # "site" or "zone"
    check: Callable[..., Iterable[Diagnostic]]


RULES: list[Rule] = []


def rule(rule_id: str, severity: Severity, summary: str, scope: str = "zone") -> Callable:
    """Register a rule. Zone rules take a ZoneView, site rules take the Site."""

    def register(check: Callable[..., Iterable[Diagnostic]]) -> Callable[..., Iterable[Diagnostic]]:
        RULES.append(Rule(rule_id, severity, summary, scope, check))
        return check

    return register


def _choices(name: str, known: Iterable[str], what: str) -> str:
    """'did you mean X?' for a likely typo, else the list of what exists."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{what}: {', '.join(known)}" if known else f"no {what} are declared"


def _report(rule_id: str, position: Position, message: str) -> Diagnostic:
    severity = next(r.severity for r in RULES if r.id == rule_id)
    return (
        error(position, rule_id, message)
        if severity is Severity.ERROR
        else warning(position, rule_id, message)
    )


# --------------------------------------------------------------------------
# The records of one zone in one view, indexed for the rules


@dataclass
class ZoneView:
    """What clients of one view see of one zone, indexed by name and type.

    Names are keys made by :func:`zonesmith.rdata.name_key` (lower case,
    labels reversed, '' for the apex), so a million-record zone is indexed
    with string operations only.
    """

    site: Site
    zone: Zone
    view: str
    by_name: dict[str, Sequence[Record]]
    by_type: dict[int, list[Record]]
    origin: str

    @classmethod
    def build(cls, site: Site, zone: Zone, view: str) -> ZoneView:
        by_name, by_type = zone.index(view)
        return cls(site, zone, view, by_name, by_type, zone.origin)

    def types_at(self, key: str) -> dict[int, list[Record]]:
        """The records at a name, by type."""
        return group_by_type(self.by_name.get(key, ()))

    @property
    def multi(self) -> Iterator[list[Record]]:
        """RRsets of more than one record: the only ones TTL and duplicate checks need."""
        for records in self.by_name.values():
            if len(records) > 1:
                for rrset in group_by_rrset(records).values():
                    if len(rrset) > 1:
                        yield rrset

    def key(self, name: str) -> str:
        return rdtext.name_key(name, self.origin)

    def label(self, key: str) -> str:
        """A name as the user writes it: relative to the zone, '@' for the apex."""
        return ".".join(reversed(key.split("\x00"))) if key else "@"

    @property
    def view_note(self) -> str:
        """Names the view when the zone differs between views."""
        if self.site.implicit_view or not self.zone.differs_by_view:
            return ""
        return f" in view '{self.view}'"

    @cached_property
    def delegations(self) -> set[str]:
        """Names below the apex that have NS records: zone cuts."""
        return {self.key(r.owner) for r in self.by_type.get(T.NS, ()) if self.key(r.owner)}

    @cached_property
    def dnames(self) -> set[str]:
        return {self.key(r.owner) for r in self.by_type.get(T.DNAME, ())}

    @staticmethod
    def _above(key: str, marks: set[str]) -> str | None:
        while key:
            key = key.rpartition("\x00")[0]
            if key in marks:
                return key
        return None

    def cut_above(self, key: str) -> str | None:
        """The closest delegation strictly above ``key``, if any."""
        return self._above(key, self.delegations) if self.delegations else None

    def below_dname(self, key: str) -> str | None:
        """The DNAME owner strictly above ``key``, whose redirection hides it."""
        return self._above(key, self.dnames) if self.dnames else None

    def has_address(self, key: str) -> bool:
        return any(r[2] == T.A or r[2] == T.AAAA for r in self.by_name.get(key, ()))

    def targets(self, rdtype: int) -> Iterator[tuple[Record, str | None]]:
        """Each record of ``rdtype`` with the key of its in-zone target (None: out of zone)."""
        for record in self.by_type.get(rdtype, ()):
            target = rdtext.target(rdtype, record.data)
            in_zone = target is not None and rdtext.is_subdomain(target, self.origin)
            yield record, self.key(target) if in_zone else None


# --------------------------------------------------------------------------
# Site rules: references between the parts of a site


@rule("unknown-view", Severity.ERROR, "a view is referenced that the site does not declare", "site")
def unknown_view(site: Site) -> Iterator[Diagnostic]:
    declared = site.view_names

    def hint(name: str) -> str:
        if site.implicit_view:
            return "the site declares no views; remove it or declare views in zonesmith.yaml"
        return _choices(name, declared, "declared views")

    for zone in site.zones:
        for ref in zone.view_refs:
            if ref.name not in declared:
                yield _report(
                    "unknown-view", ref.position, f"unknown view '{ref.name}'; {hint(ref.name)}"
                )
        if not zone.differs_by_view:
            continue  # no record names a view
        for record in zone.records:
            if record.view is not None and record.view not in declared:
                yield _report(
                    "unknown-view",
                    record.position,
                    f"unknown view '{record.view}'; {hint(record.view)}",
                )
    for server in site.servers:
        for ref in server.views or ():
            if ref.name not in declared:
                yield _report(
                    "unknown-view", ref.position, f"unknown view '{ref.name}'; {hint(ref.name)}"
                )


@rule("view-not-in-zone", Severity.ERROR, "a record is given for a view its zone is not in", "site")
def record_view_not_in_zone(site: Site) -> Iterator[Diagnostic]:
    for zone in site.zones:
        if not zone.differs_by_view:
            continue  # no record names a view
        for record in zone.records:
            if record.view in site.view_names and record.view not in zone.views:
                yield _report(
                    "view-not-in-zone",
                    record.position,
                    f"record for view '{record.view}', but zone '{zone.text}' is only in "
                    f"views {', '.join(zone.views) or '(none)'}; add the view to the zone's "
                    "views or remove the record",
                )


@rule("unknown-set", Severity.ERROR, "a zone includes a set the site does not declare", "site")
def unknown_set(site: Site) -> Iterator[Diagnostic]:
    for zone in site.zones:
        for ref in zone.includes:
            if ref.name not in site.sets:
                known = _choices(ref.name, site.sets, "sets")
                yield _report("unknown-set", ref.position, f"unknown set '{ref.name}'; {known}")


@rule(
    "unknown-tsig-key",
    Severity.ERROR,
    "a TSIG key is referenced that the site does not declare",
    "site",
)
def unknown_tsig_key(site: Site) -> Iterator[Diagnostic]:
    refs = [server.key for server in site.servers] + [view.key for view in site.views]
    for ref in refs:
        if ref is not None and ref.name not in site.keys_by_name:
            known = _choices(ref.name, site.keys_by_name, "keys")
            yield _report("unknown-tsig-key", ref.position, f"unknown key '{ref.name}'; {known}")


@rule(
    "unknown-server",
    Severity.ERROR,
    "a server is referenced that the site does not declare",
    "site",
)
def unknown_server(site: Site) -> Iterator[Diagnostic]:
    refs = [ref for server in site.servers for ref in server.primaries]
    refs += [ref for zone in site.zones for ref in zone.servers or ()]
    for ref in refs:
        if ref.name not in site.servers_by_name:
            known = _choices(ref.name, site.servers_by_name, "servers")
            yield _report("unknown-server", ref.position, f"unknown server '{ref.name}'; {known}")


@rule(
    "unknown-blocklist",
    Severity.ERROR,
    "a resolver uses a blocklist the site does not declare",
    "site",
)
def unknown_blocklist(site: Site) -> Iterator[Diagnostic]:
    declared = {blocklist.name for blocklist in site.blocklists}
    for server in site.servers:
        for ref in server.blocklists:
            if ref.name not in declared:
                known = _choices(ref.name, sorted(declared), "blocklists")
                yield _report(
                    "unknown-blocklist", ref.position, f"unknown blocklist '{ref.name}'; {known}"
                )


#: The resolver software that can serve blocklists: Unbound (local zones or RPZ), BIND (RPZ).
BLOCKLIST_SOFTWARE = frozenset({"unbound", "bind"})


@rule(
    "blocklist-needs-unbound",
    Severity.ERROR,
    "blocklists are given to a server that is not an Unbound or BIND resolver",
    "site",
)
def blocklist_needs_unbound(site: Site) -> Iterator[Diagnostic]:
    for server in site.servers:
        if not server.blocklists:
            continue
        if server.role != "resolver":
            problem = f"a {server.role} answers for its own zones only"
        elif server.software not in BLOCKLIST_SOFTWARE:
            problem = f"zonesmith cannot give blocklists to {server.software}"
        else:
            continue
        yield _report(
            "blocklist-needs-unbound",
            server.blocklists[0].position,
            f"server '{server.name}' ({server.software} {server.role}) cannot serve "
            f"blocklists: {problem}; give them to a server with role resolver and software "
            "unbound (local-zone lines) or bind (response policy zones)",
        )


@rule("bad-sinkhole", Severity.ERROR, "a blocklist's sinkhole is not an IP address", "site")
def bad_sinkhole(site: Site) -> Iterator[Diagnostic]:
    for blocklist in site.blocklists:
        if blocklist.action != "sinkhole" or blocklist.sinkhole is None:
            continue
        try:
            ipaddress.ip_address(blocklist.sinkhole)
        except ValueError:
            yield _report(
                "bad-sinkhole",
                blocklist.sinkhole_position or blocklist.position,
                f"blocklist '{blocklist.name}': sinkhole '{blocklist.sinkhole}' is not an "
                "IPv4 or IPv6 address (the address of the server that answers blocked names)",
            )


def _blocklist_entries(site: Site) -> Iterator[tuple[str, str, Position, str]]:
    """(blocklist, kind, position, entry) for every source and allowlist file."""
    for b in site.blocklists:
        positions = b.source_positions or (b.position,) * len(b.sources)
        for entry, position in zip(b.sources, positions, strict=False):
            yield b.name, "source", position, entry
        positions = b.allow_positions or (b.position,) * len(b.allow)
        for entry, position in zip(b.allow, positions, strict=False):
            yield b.name, "allowlist", position, entry


@rule(
    "bad-blocklist-source",
    Severity.ERROR,
    "a blocklist source is neither an http(s) URL nor a file of the site",
    "site",
)
def bad_blocklist_source(site: Site) -> Iterator[Diagnostic]:
    for name, kind, position, entry in _blocklist_entries(site):
        if "://" in entry and not entry.startswith(("http://", "https://")):
            yield _report(
                "bad-blocklist-source",
                position,
                f"blocklist '{name}': {kind} '{entry}' is not an http:// or https:// URL; "
                "download it into the site (e.g. lists/) and name the file instead",
            )


@rule("missing-blocklist-file", Severity.ERROR, "a blocklist file does not exist", "site")
def missing_blocklist_file(site: Site) -> Iterator[Diagnostic]:
    for name, kind, position, entry in _blocklist_entries(site):
        if "://" in entry:
            continue
        if not is_site_file(site.root, entry):
            yield _report(
                "missing-blocklist-file",
                position,
                f"blocklist '{name}': {kind} file {entry} does not exist in the site "
                "(files are relative to the folder of zonesmith.yaml)",
            )


@rule("empty-blocklist", Severity.WARNING, "a blocklist has no sources", "site")
def empty_blocklist(site: Site) -> Iterator[Diagnostic]:
    for blocklist in site.blocklists:
        if not blocklist.sources:
            yield _report(
                "empty-blocklist",
                blocklist.position,
                f"blocklist '{blocklist.name}' has no sources: it blocks nothing",
            )


@rule(
    "blocklist-not-fetched",
    Severity.WARNING,
    "a blocklist URL has not been fetched yet",
    "site",
)
def blocklist_not_fetched(site: Site) -> Iterator[Diagnostic]:
    used = {ref.name for server in site.servers for ref in server.blocklists}
    if not used:
        return  # (without importing the blocklists module)
    from zonesmith.blocklists import SourceCache, cache_root, is_url

    cache = SourceCache(cache_root(site))
    for name, kind, position, entry in _blocklist_entries(site):
        if name in used and kind == "source" and is_url(entry) and cache.meta(entry) is None:
            yield _report(
                "blocklist-not-fetched",
                position,
                f"blocklist '{name}': {entry} has not been fetched yet; "
                "run 'zonesmith blocklist update' before building",
            )


@rule(
    "open-resolver",
    Severity.WARNING,
    "a resolver answers any client on the Internet",
    "site",
)
def open_resolver(site: Site) -> Iterator[Diagnostic]:
    for server in site.servers:
        if server.role != "resolver" or site.implicit_view:
            continue
        for view in site.views_of(server):
            if admits_anybody(site.views_by_name[view].clients):
                yield _report(
                    "open-resolver",
                    server.position,
                    f"resolver '{server.name}' would answer anybody (view '{view}' admits every "
                    "address), which makes it an amplifier for attacks; give the resolver the "
                    "views of its clients, e.g. 'views: [internal]'",
                )
                break


@rule(
    "resolver-loopback-only",
    Severity.WARNING,
    "a resolver has no declared clients and answers its own host only",
    "site",
)
def resolver_loopback_only(site: Site) -> Iterator[Diagnostic]:
    if not site.implicit_view:
        return
    for server in site.servers:
        if server.role == "resolver":
            clients = ", ".join(site.resolver_clients(server))
            yield _report(
                "resolver-loopback-only",
                server.position,
                f"resolver '{server.name}' answers its own host only ({clients}): the site "
                "declares no views, so no clients; declare views with the clients it serves",
            )


@rule("unknown-zone", Severity.ERROR, "reverse-of names a zone the site does not declare", "site")
def unknown_zone(site: Site) -> Iterator[Diagnostic]:
    for zone in site.zones:
        for ref in zone.reverse_of:
            try:
                name = dns.name.from_text(ref.name)
            except dns.exception.DNSException:
                name = None
            if name not in site.zones_by_name:
                yield _report(
                    "unknown-zone",
                    ref.position,
                    f"reverse-of names '{ref.name}', which is not a zone of this site",
                )


@rule("missing-secret", Severity.ERROR, "a TSIG key's secret file or variable is missing", "site")
def missing_secret(site: Site) -> Iterator[Diagnostic]:
    return _secret_problems(site, "missing-secret")


@rule("bad-secret", Severity.ERROR, "a TSIG key's secret is not base64", "site")
def bad_secret(site: Site) -> Iterator[Diagnostic]:
    return _secret_problems(site, "bad-secret")


@rule(
    "secret-outside-site",
    Severity.ERROR,
    "a TSIG key's secret file lies outside the site (links followed)",
    "site",
)
def secret_outside_site(site: Site) -> Iterator[Diagnostic]:
    return _secret_problems(site, "secret-outside-site")


def _secret_problems(site: Site, rule_id: str) -> Iterator[Diagnostic]:
    for key in site.keys:
        try:
            read_secret(site.root, key)
        except SecretError as problem:
            if problem.rule == rule_id:
                yield _report(rule_id, key.position, str(problem))


# --------------------------------------------------------------------------
# Fleet rules: servers, their roles, transfers and keys


def _served_views(site: Site, server: Server) -> list[str]:
    """The views in which ``server`` serves at least one zone."""
    return [
        view
        for view in site.views_of(server)
        if any(site.serves(server, zone, view) for zone in site.zones)
    ]


@rule("unsupported-role", Severity.ERROR, "a server's software cannot take its role", "site")
def unsupported_role(site: Site) -> Iterator[Diagnostic]:
    from zonesmith.drivers import driver_for

    for server in site.servers:
        driver = driver_for(server.software)
        if driver is None or server.role not in driver.capabilities.roles:
            roles = ", ".join(sorted(driver.capabilities.roles)) if driver else "nothing yet"
            yield _report(
                "unsupported-role",
                server.position,
                f"server '{server.name}': zonesmith cannot build {server.software} as a "
                f"{server.role}; {server.software} servers can be: {roles}",
            )


@rule(
    "views-unsupported", Severity.ERROR, "a server without views would serve several views", "site"
)
def views_unsupported(site: Site) -> Iterator[Diagnostic]:
    from zonesmith.drivers import driver_for

    for server in site.servers:
        driver = driver_for(server.software)
        if driver is None or driver.capabilities.views:
            continue
        views = _served_views(site, server)
        if len(views) > 1:
            yield _report(
                "views-unsupported",
                server.position,
                f"server '{server.name}' ({server.software}) has no views but would serve zones "
                f"of views {', '.join(views)}; give it views: [{views[-1]}] (or a key that "
                "selects one view)",
            )


@rule("secondary-without-primaries", Severity.ERROR, "a secondary names no primaries", "site")
def secondary_without_primaries(site: Site) -> Iterator[Diagnostic]:
    for server in site.servers:
        if server.role == "secondary" and not server.primaries:
            yield _report(
                "secondary-without-primaries",
                server.position,
                f"secondary '{server.name}' needs primaries: [SERVER, ...] to transfer from",
            )
        elif server.role != "secondary" and server.primaries:
            yield _report(
                "secondary-without-primaries",
                server.primaries[0].position,
                f"server '{server.name}' is a {server.role}; only secondaries have primaries",
            )


@rule("primary-cycle", Severity.ERROR, "servers that are each other's primaries", "site")
def primary_cycle(site: Site) -> Iterator[Diagnostic]:
    graph = {
        s.name: [r.name for r in s.primaries if r.name in site.servers_by_name]
        for s in site.servers
    }
    reported: set[frozenset[str]] = set()
    for start in graph:
        path = [start]
        # Depth-first along primaries; a name met again on the path closes a cycle.
        stack = [(start, iter(graph[start]))]
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                stack.pop()
                path.pop()
                continue
            if child in path:
                cycle = path[path.index(child) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    server = site.servers_by_name[child]
                    yield _report(
                        "primary-cycle",
                        server.position,
                        "servers transfer from each other in a circle: "
                        + " → ".join([*cycle, child])
                        + "; one of them must be the primary",
                    )
                continue
            if len(path) < len(graph):
                path.append(child)
                stack.append((child, iter(graph[child])))


@rule(
    "no-primary-for-zone",
    Severity.ERROR,
    "a secondary serves a zone none of its primaries has",
    "site",
)
def no_primary_for_zone(site: Site) -> Iterator[Diagnostic]:
    for server in site.servers:
        if server.role != "secondary" or not server.primaries:
            continue
        primaries = [
            site.servers_by_name[r.name] for r in server.primaries if r.name in site.servers_by_name
        ]
        for view in site.views_of(server):
            for zone in site.zones:
                if not site.serves(server, zone, view):
                    continue
                if not any(site.serves(p, zone, view) for p in primaries):
                    where = "" if site.implicit_view else f" in view '{view}'"
                    yield _report(
                        "no-primary-for-zone",
                        server.position,
                        f"secondary '{server.name}' would serve zone '{zone.text}'{where}, but "
                        f"none of its primaries ({', '.join(p.name for p in primaries)}) "
                        "serves it; limit the secondary's views or the zone's servers",
                    )


@rule(
    "view-key-missing",
    Severity.ERROR,
    "transfers of a view split or a catalog without TSIG",
    "site",
)
def view_key_missing(site: Site) -> Iterator[Diagnostic]:
    for primary in site.servers:
        if primary.role not in ("primary", "secondary"):
            continue
        views = _served_views(site, primary)
        secondaries = [
            s
            for s in site.servers
            if s.role == "secondary" and primary.name in {r.name for r in s.primaries}
        ]
        keys_of_view: dict[str, set[str]] = defaultdict(set)
        for secondary in secondaries:
            for view in _served_views(site, secondary):
                key = site.transfer_key(secondary, view)
                if key is not None:
                    keys_of_view[view].add(key.name)
                elif len(views) > 1:
                    yield _report(
                        "view-key-missing",
                        secondary.position,
                        f"secondary '{secondary.name}' transfers view '{view}' from "
                        f"'{primary.name}', which has several views: BIND picks the view by "
                        "TSIG key, so give the view (or the secondary) a key",
                    )
                elif primary.catalog:
                    yield _report(
                        "view-key-missing",
                        secondary.position,
                        f"secondary '{secondary.name}' follows the catalog of '{primary.name}' "
                        "without a TSIG key; the catalog lists every zone: give it a key",
                    )
        seen: dict[str, str] = {}
        for view, keys in keys_of_view.items():
            for key in keys:
                if key in seen and seen[key] != view and len(views) > 1:
                    yield _report(
                        "view-key-missing",
                        site.keys_by_name[key].position,
                        f"key '{key}' is used for views '{seen[key]}' and '{view}' of "
                        f"'{primary.name}'; each view needs a key of its own",
                    )
                seen.setdefault(key, view)


@rule("catalog-not-primary", Severity.ERROR, "a catalog on a server that is not a primary", "site")
def catalog_not_primary(site: Site) -> Iterator[Diagnostic]:
    for server in site.servers:
        if server.catalog and server.role != "primary":
            yield _report(
                "catalog-not-primary",
                server.position,
                f"server '{server.name}' is a {server.role}; only a primary produces a catalog",
            )
        if server.catalog and dns.name.from_text(server.catalog) in site.zones_by_name:
            yield _report(
                "catalog-not-primary",
                server.position,
                f"catalog '{server.catalog}' is also a zone of the site; choose another name",
            )


@rule("duplicate-listen", Severity.ERROR, "two servers on the same address and port", "site")
def duplicate_listen(site: Site) -> Iterator[Diagnostic]:
    seen: dict[tuple[str, int], Server] = {}
    for server in site.servers:
        key = (server.address, server.port)
        if key in seen:
            yield _report(
                "duplicate-listen",
                server.position,
                f"server '{server.name}' listens on {server.address} port {server.port}, "
                f"like '{seen[key].name}'",
            )
        seen.setdefault(key, server)


@rule(
    "hidden-primary-in-ns", Severity.WARNING, "a hidden primary is named by the zone's NS", "site"
)
def hidden_primary_in_ns(site: Site) -> Iterator[Diagnostic]:
    hidden = {s.address: s for s in site.servers if s.role == "primary" and s.hidden}
    if not hidden:
        return
    apex_ns = [record for zone in site.zones for record in zone.apex_ns()]
    targets = {record.data.lower() for record in apex_ns}
    # A name's address records can only be in a zone at or above it: only
    # those zones are read (a rebuild then unpacks few zones' records).
    zones_by_origin: dict[str, list[Zone]] = defaultdict(list)
    for zone in site.zones:
        zones_by_origin[zone.origin.lower()].append(zone)
    holding: set[Zone] = set()
    for target in targets:
        labels = target.split(".")
        for start in range(len(labels)):
            holding.update(zones_by_origin.get(".".join(labels[start:]) or ".", ()))
    addresses: dict[str, set[str]] = defaultdict(set)  # lower-case name -> its addresses
    for zone in holding:
        for record in zone.records:
            if record.rdtype in ADDRESS_TYPES and record.data in hidden:
                addresses[record.owner.lower()].add(record.data)
    for record in apex_ns:
        for address in addresses.get(record.data.lower(), ()):
            primary = hidden[address]
            yield _report(
                "hidden-primary-in-ns",
                record.position,
                f"NS '{record.data}' has the address of hidden primary "
                f"'{primary.name}' ({address}); a hidden primary must not "
                "be named in NS records",
            )


@rule("missing-soa", Severity.ERROR, "zones exist but no SOA values are given", "site")
def missing_soa(site: Site) -> Iterator[Diagnostic]:
    for zone in site.zones:
        if site.soa_for(zone) is None:
            yield _report(
                "missing-soa",
                zone.position,
                f"zone '{zone.text}' has no SOA: "
                "add defaults soa (primary, contact) in zonesmith.yaml",
            )


@rule("empty-view-list", Severity.ERROR, "a zone is in no view at all", "site")
def empty_view_list(site: Site) -> Iterator[Diagnostic]:
    for zone in site.zones:
        if not zone.views and all(r.name in site.view_names for r in zone.view_refs):
            yield _report("empty-view-list", zone.position, f"zone '{zone.text}' is in no view")


# --------------------------------------------------------------------------
# Zone rules: what one view of one zone serves


@rule("no-ns", Severity.ERROR, "a zone has no NS records at its apex")
def no_ns(zv: ZoneView) -> Iterator[Diagnostic]:
    if T.NS not in zv.types_at(""):
        yield _report(
            "no-ns",
            zv.zone.position,
            f"zone '{zv.zone.text}' has no NS records at its apex{zv.view_note}; named refuses "
            "to load it: add '@': [NS ns1.example.com.] to the zone or to a set it includes",
        )


@rule("cname-at-apex", Severity.ERROR, "a CNAME at the zone apex")
def cname_at_apex(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.types_at("").get(T.CNAME, ()):
        yield _report(
            "cname-at-apex",
            record.position,
            "CNAME at the zone apex is not allowed (the apex has SOA and NS); "
            "use A/AAAA records here instead",
        )


@rule("cname-and-other-data", Severity.ERROR, "a CNAME shares its name with other records")
def cname_and_other_data(zv: ZoneView) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for record in zv.by_type.get(T.CNAME, ()):
        key = zv.key(record.owner)
        if not key or len(zv.by_name.get(key, ())) < 2 or key in seen:
            continue  # the apex (see cname_at_apex), a CNAME alone (most), or seen
        seen.add(key)
        types = zv.types_at(key)
        cnames = types[T.CNAME]
        others = [t for t in types if t not in CNAME_COMPANIONS]
        if others:
            listing = ", ".join(dns.rdatatype.to_text(t) for t in others)
            yield _report(
                "cname-and-other-data",
                cnames[0].position,
                f"'{zv.label(key)}' has a CNAME and other data ({listing}){zv.view_note}; "
                "a CNAME must be alone at its name: give the other records to the target",
            )
        if len(cnames) > 1:
            yield _report(
                "cname-and-other-data",
                cnames[1].position,
                f"'{zv.label(key)}' has more than one CNAME{zv.view_note}; keep one",
            )


@rule("soa-not-at-apex", Severity.ERROR, "an SOA record below the zone apex")
def soa_not_at_apex(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.by_type.get(T.SOA, ()):
        key = zv.key(record.owner)
        if key:
            yield _report(
                "soa-not-at-apex",
                record.position,
                f"SOA at '{zv.label(key)}'{zv.view_note}: a zone has one SOA, at its apex, "
                "and named refuses others; to make a zone of this name, declare it in "
                "zonesmith.yaml and delegate it with NS records",
            )


@rule("multiple-dname", Severity.ERROR, "more than one DNAME at a name")
def multiple_dname(zv: ZoneView) -> Iterator[Diagnostic]:
    by_name: dict[str, list[Record]] = {}
    for record in zv.by_type.get(T.DNAME, ()):
        by_name.setdefault(zv.key(record.owner), []).append(record)
    for key, dnames in by_name.items():
        # RFC 6672 2.4: one DNAME per name; named refuses the zone (equal ones are one record)
        if len({rdata_key(r) for r in dnames}) > 1:
            yield _report(
                "multiple-dname",
                dnames[1].position,
                f"'{zv.label(key)}' has more than one DNAME{zv.view_note}; a name can "
                "redirect to one target only: keep one",
            )


@rule("below-delegation", Severity.ERROR, "records below a delegation that are not glue")
def below_delegation(zv: ZoneView) -> Iterator[Diagnostic]:
    if not zv.delegations:
        return
    for key in zv.by_name:
        cut = zv.cut_above(key)
        if cut is None:
            continue
        for rdtype, records in zv.types_at(key).items():
            if rdtype not in ADDRESS_TYPES:
                yield _report(
                    "below-delegation",
                    records[0].position,
                    f"'{zv.label(key)}' {dns.rdatatype.to_text(rdtype)} is below the delegation "
                    f"'{zv.label(cut)}' and would never be served; "
                    "only glue (A/AAAA) belongs there",
                )


def _in_bailiwick(target: str, owner: str) -> bool:
    """Whether a delegation's NS target lies at or below the delegated name (keys)."""
    return target == owner or target.startswith(owner + "\x00")


@rule("ns-no-address", Severity.ERROR, "an in-zone NS target has no address records")
def ns_no_address(zv: ZoneView) -> Iterator[Diagnostic]:
    for record, target in zv.targets(T.NS):
        if target is None or zv.has_address(target):
            continue
        owner = zv.key(record.owner)
        if zv.below_dname(owner) is not None:
            continue  # the NS record itself is hidden by a DNAME and never served
        if owner and _in_bailiwick(target, owner):
            continue  # in-bailiwick delegation: reported as missing glue
        if zv.cut_above(target) is not None or target in zv.delegations:
            continue  # lives in a child zone; its addresses are the child's business
        yield _report(
            "ns-no-address",
            record.position,
            f"NS target '{zv.label(target)}' is in this zone but has no A or AAAA record"
            f"{zv.view_note}; named refuses to load the zone: add an address for it",
        )


@rule("missing-glue", Severity.ERROR, "an in-bailiwick delegation has no glue")
def missing_glue(zv: ZoneView) -> Iterator[Diagnostic]:
    for record, target in zv.targets(T.NS):
        owner = zv.key(record.owner)
        if not owner or target is None or not _in_bailiwick(target, owner):
            continue
        if not zv.has_address(target):
            yield _report(
                "missing-glue",
                record.position,
                f"delegation '{zv.label(owner)}' to '{zv.label(target)}' needs glue"
                f"{zv.view_note}: add an A or AAAA record for '{zv.label(target)}'",
            )


def _target_is_cname(zv: ZoneView, rdtype: int, rule_id: str, what: str) -> Iterator[Diagnostic]:
    for record, target in zv.targets(rdtype):
        if target is not None and T.CNAME in zv.types_at(target):
            yield _report(
                rule_id,
                record.position,
                f"{what} target '{zv.label(target)}' is a CNAME{zv.view_note}; RFC 2181 asks "
                "for a name with address records: point it at the CNAME's target",
            )


@rule("mx-target-cname", Severity.WARNING, "an MX target is a CNAME")
def mx_target_cname(zv: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_cname(zv, T.MX, "mx-target-cname", "MX")


@rule("ns-target-cname", Severity.WARNING, "an NS target is a CNAME")
def ns_target_cname(zv: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_cname(zv, T.NS, "ns-target-cname", "NS")


@rule("srv-target-cname", Severity.WARNING, "an SRV target is a CNAME")
def srv_target_cname(zv: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_cname(zv, T.SRV, "srv-target-cname", "SRV")


def _target_without_address(
    zv: ZoneView, rdtype: int, rule_id: str, what: str
) -> Iterator[Diagnostic]:
    for record, target in zv.targets(rdtype):
        if target is None or record.data.endswith(" ."):
            continue  # someone else's name, or null MX / "no service" SRV
        types = zv.types_at(target)
        if T.A in types or T.AAAA in types or T.CNAME in types:
            continue  # a CNAME target has its own warning
        if zv.cut_above(target) is not None or target in zv.delegations:
            continue
        yield _report(
            rule_id,
            record.position,
            f"{what} target '{zv.label(target)}' has no A or AAAA record "
            f"in this zone{zv.view_note}",
        )


@rule("mx-no-address", Severity.WARNING, "an in-zone MX target has no address records")
def mx_no_address(zv: ZoneView) -> Iterator[Diagnostic]:
    return _target_without_address(zv, T.MX, "mx-no-address", "MX")


@rule("srv-no-address", Severity.WARNING, "an in-zone SRV target has no address records")
def srv_no_address(zv: ZoneView) -> Iterator[Diagnostic]:
    return _target_without_address(zv, T.SRV, "srv-no-address", "SRV")


def _rrset_type(record: Record) -> str:
    """The type of a record's RRset as a user reads it: RRSIGs name the type they cover."""
    text = dns.rdatatype.to_text(record.rdtype)
    if record.rdtype == T.RRSIG:
        return f"{text} (covering {dns.rdatatype.to_text(covered_type(record.data))})"
    return text


@rule("ttl-mismatch", Severity.WARNING, "records of one RRset have different TTLs")
def ttl_mismatch(zv: ZoneView) -> Iterator[Diagnostic]:
    for records in zv.multi:
        ttls = {r.ttl for r in records}
        if len(ttls) > 1:
            yield _report(
                "ttl-mismatch",
                records[-1].position,
                f"'{zv.label(zv.key(records[0].owner))}' "
                f"{_rrset_type(records[0])} records have different "
                f"TTLs ({', '.join(map(str, sorted(ttls)))}); an RRset has one TTL, "
                f"{min(ttls)} is used",
            )


@rule("duplicate-record", Severity.WARNING, "the same record is given twice")
def duplicate_record(zv: ZoneView) -> Iterator[Diagnostic]:
    for records in zv.multi:
        seen: dict[str, Record] = {}
        for record in records:
            key = rdata_key(record)
            if key in seen:
                first = seen[key]
                yield _report(
                    "duplicate-record",
                    record.position,
                    f"'{zv.label(zv.key(record.owner))}' "
                    f"{dns.rdatatype.to_text(record.rdtype)} {record.data} is given twice "
                    f"(first at {first.position}); it is served once",
                )
            else:
                seen[key] = record


@rule("caa-unknown-tag", Severity.WARNING, "a CAA record has a tag no CA understands")
def caa_unknown_tag(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.by_type.get(T.CAA, ()):
        tag = record.rdata.tag.decode(errors="replace").lower()
        if tag not in KNOWN_CAA_TAGS:
            yield _report(
                "caa-unknown-tag",
                record.position,
                f"CAA tag '{tag}' is not known; expected one of {', '.join(KNOWN_CAA_TAGS)}",
            )


@rule("ns-below-dname", Severity.ERROR, "an apex NS target lies below a DNAME of the zone")
def ns_below_dname(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.types_at("").get(T.NS, ()):
        if not rdtext.is_subdomain(record.data, zv.origin):
            continue
        target = zv.key(record.data)
        dname = zv.below_dname(target)
        if dname is not None:
            yield _report(
                "ns-below-dname",
                record.position,
                f"NS target '{zv.label(target)}' is below the DNAME at "
                f"'{zv.label(dname)}', so its address can never be served; named refuses "
                "the zone: use a name outside the DNAME's subtree",
            )


@rule("ds-at-apex", Severity.ERROR, "a DS record at the zone apex")
def ds_at_apex(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.types_at("").get(T.DS, ()):
        yield _report(
            "ds-at-apex",
            record.position,
            "DS records belong in the parent zone, not at this zone's apex; "
            "publish CDS/CDNSKEY here if the parent should pick them up",
        )


@rule("cds-mismatch", Severity.ERROR, "CDS/CDNSKEY records that match no DNSKEY of the zone")
def cds_mismatch(zv: ZoneView) -> Iterator[Diagnostic]:
    import dns.dnssec

    apex = zv.types_at("")
    dnskeys = [r.rdata for r in apex.get(T.DNSKEY, ())]
    for record in apex.get(T.CDS, ()):
        cds = record.rdata
        if cds.algorithm == 0:
            continue  # the delete-DS request of RFC 8078
        matches = False
        for key in dnskeys:
            if dns.dnssec.key_id(key) != cds.key_tag or key.algorithm != cds.algorithm:
                continue
            try:
                # validating=True: judge what exists, even digests too weak to create now
                ds = dns.dnssec.make_ds(zv.zone.name, key, cds.digest_type, validating=True)
                matches = ds.digest == cds.digest
            except (dns.dnssec.UnsupportedAlgorithm, dns.exception.DNSException, ValueError):
                matches = True  # a digest type we cannot compute: do not guess
            if matches:
                break
        if not matches:
            yield _report(
                "cds-mismatch",
                record.position,
                f"CDS {cds.key_tag} {cds.algorithm} {cds.digest_type} matches no DNSKEY at the "
                "apex; the parent would publish a DS that breaks validation",
            )
    published = {(k.flags, k.protocol, k.algorithm, k.key) for k in dnskeys}
    for record in apex.get(T.CDNSKEY, ()):
        key = record.rdata
        fields = (key.flags, key.protocol, key.algorithm, key.key)
        if key.algorithm != 0 and fields not in published:
            yield _report(
                "cds-mismatch",
                record.position,
                "CDNSKEY matches no DNSKEY at the apex; copy it from the zone's DNSKEY set",
            )


_BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuvABCDEFGHIJKLMNOPQRSTUV")


@rule("bad-nsec3", Severity.ERROR, "an NSEC3 record whose owner or hash is malformed")
def bad_nsec3(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.by_type.get(T.NSEC3, ()):
        key = zv.key(record.owner)
        label = key.rpartition("\x00")[2]
        if not label or not set(label) <= _BASE32HEX:
            yield _report(
                "bad-nsec3",
                record.position,
                f"NSEC3 owner '{zv.label(key)}' is not an unpadded base32hex hash label",
            )
        elif record.rdata.algorithm == 1 and len(record.rdata.next) != 20:
            yield _report(
                "bad-nsec3",
                record.position,
                f"NSEC3 next hashed owner is {len(record.rdata.next)} octets; a SHA-1 hash is 20",
            )


@rule("empty-nsap", Severity.ERROR, "an NSAP record without an address")
def empty_nsap(zv: ZoneView) -> Iterator[Diagnostic]:
    for record in zv.by_type.get(T.NSAP, ()):
        if not record.rdata.address:
            yield _report(
                "empty-nsap", record.position, "NSAP needs an address, e.g. 0x47000580005a"
            )


# --------------------------------------------------------------------------


def zone_views(site: Site) -> Iterator[tuple[Zone, str]]:
    """Every (zone, view) pair the site serves, for the zone rules.

    A zone with no view-specific records looks the same in every view, so it
    is checked once.
    """
    for zone in site.zones:
        if not zone.views:
            continue
        if zone.differs_by_view:
            for view in zone.views:
                yield zone, view
        else:
            yield zone, zone.views[0]


def validate(site: Site, cache: ZoneCache | None = None) -> list[Diagnostic]:
    """Run every rule on the site.

    The zone rules look at one zone only: with a ``cache``, what they found
    on an unchanged zone is taken from it.
    """
    diagnostics: list[Diagnostic] = []
    for site_rule in (r for r in RULES if r.scope == "site"):
        diagnostics.extend(site_rule.check(site))
    zone_rules = [r for r in RULES if r.scope == "zone"]
    implicit = site.implicit_view
    for zone, view in zone_views(site):
        found = cache.rule_diagnostics(zone, view, implicit) if cache is not None else None
        if found is None:
            zv = ZoneView.build(site, zone, view)
            found = [d for zone_rule in zone_rules for d in zone_rule.check(zv)]
            if cache is not None:
                cache.keep_rule_diagnostics(zone, view, implicit, found)
        diagnostics.extend(found)
    return diagnostics
