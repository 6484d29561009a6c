"""What each server serves: transfers, keys, catalog zones, stub views, firewall clients."""

from __future__ import annotations

import hashlib
import ipaddress
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesmith.blocklists.compiled import CompiledBlocklist
from zonesmith.compile.zones import CompiledSite, CompiledZone, compile_zone, file_stem
from zonesmith.model import (
    Record,
    Server,
    Site,
    TsigKey,
    View,
    Zone,
)
from zonesmith.site.control_secrets import control_secret_name

T = dns.rdatatype


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
    #: For a resolver: its compiled blocklists, in the order the server names them.
    blocklists: tuple[CompiledBlocklist, ...] = ()
    #: The secret of its control channel where the software needs one (BIND's rndc key),
    #: and of a primary's deploy key.
    control_secret: str | None = field(default=None, repr=False)

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
    blocklists: Mapping[str, tuple[CompiledBlocklist, ...]] | None = None,
) -> dict[str, ServerBuild]:
    """What every authoritative server serves, and how zones flow between them.

    ``secrets`` maps key names to their secrets; ``can_consume_catalog``
    says, per software, whether it can follow a catalog zone (a driver
    capability); ``blocklists`` gives each resolver, by name, its compiled
    blocklists.
    """
    # Over 80 lines: One pass over the servers builds the tables (served zones, transfers,
    # catalogs, keys) that each server's build is made of; split up, the tables would travel
    # between functions.
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
            (blocklists or {}).get(server.name, ()),
            secrets.get(control_secret_name(server.name)),
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
