"""Rules on servers: their roles, transfers, keys, views and addresses."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import DEFAULT_CONTROL_PORT, Server, Site, Zone
from zonesmith.rules.facts import SiteFacts
from zonesmith.rules.records import ADDRESS_TYPES
from zonesmith.rules.registry import _report, rule


@rule(
    "open-resolver",
    Severity.WARNING,
    "a resolver answers any client on the Internet",
    "site",
)
def open_resolver(site: Site) -> Iterator[Diagnostic]:
    for server in site.servers:
        if server.role != "resolver":
            continue
        for view in site.views_of(server):
            if "any" in site.views_by_name[view].clients:
                hint = (
                    "declare views and give the resolver 'views: [internal]'"
                    if site.implicit_view
                    else "give the resolver the views of its clients, e.g. 'views: [internal]'"
                )
                yield _report(
                    "open-resolver",
                    server.position,
                    f"resolver '{server.name}' would answer anybody (view '{view}' has client "
                    f"'any'), which makes it an amplifier for attacks; {hint}",
                )
                break


def _served_views(site: Site, server: Server) -> list[str]:
    """The views in which ``server`` serves at least one zone."""
    return [
        view
        for view in site.views_of(server)
        if any(site.serves(server, zone, view) for zone in site.zones)
    ]


@rule("unsupported-role", Severity.ERROR, "a server's software cannot take its role", "facts")
def unsupported_role(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for server in site.servers:
        capabilities = facts.capabilities.get(server.software)
        if capabilities is None or server.role not in capabilities.roles:
            roles = ", ".join(sorted(capabilities.roles)) if capabilities else "nothing yet"
            yield _report(
                "unsupported-role",
                server.position,
                f"server '{server.name}': zonesmith cannot build {server.software} as a "
                f"{server.role}; {server.software} servers can be: {roles}",
            )


@rule(
    "views-unsupported",
    Severity.ERROR,
    "a server without views would serve several views",
    "facts",
)
def views_unsupported(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for server in site.servers:
        capabilities = facts.capabilities.get(server.software)
        if capabilities is None or capabilities.views:
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
    "duplicate-control",
    Severity.WARNING,
    "two BIND servers on one host with the same control port",
    "site",
)
def duplicate_control(site: Site) -> Iterator[Diagnostic]:
    # A server without host whose address is not a loopback one is taken to run on a
    # machine of its own (a site from before deploy, whose files are copied by hand).
    seen: dict[tuple[str | None, int], Server] = {}
    for server in site.servers:
        if server.software != "bind" or (
            server.host is None and not ipaddress.ip_address(server.address).is_loopback
        ):
            continue
        key = (server.host, server.control_port or DEFAULT_CONTROL_PORT)
        if key in seen:
            where = f"on {server.host}" if server.host else "on this machine"
            yield _report(
                "duplicate-control",
                server.position,
                f"server '{server.name}' would open its control channel (rndc) on 127.0.0.1 "
                f"port {key[1]} {where}, like '{seen[key].name}', so only one of them can be "
                "reloaded; give one of them another control-port",
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
