"""The names of a whole site, indexed once for the rules that follow names across zones.

A name is "in the site" for a view when some zone of the site served in
that view is at or above it and no delegation of that zone lies at or
above it (then the name's data is another zone's, which, if it is in the
site, is itself the closer zone). Names outside the site are never looked
up: the rules say nothing about them. Only the zones a name is looked up
in are indexed (a site of ten thousand zones whose targets stay inside
their zones indexes none of them).
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator, Sequence

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Position
from zonesmith.model import LINK_TYPES, Record, Server, Site, Zone, link_target
from zonesmith.presentation import is_plain_ipv4
from zonesmith.rules.registry import _report
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype

#: Zones whose names are addresses: their PTR records point back at the site's hosts.
REVERSE_SUFFIXES = ("in-addr.arpa.", "ip6.arpa.")

#: An MX, SRV, NS or CNAME record the site rules follow (see Zone.links) in one view
#: of its zone that has it: (the zone, the record, its target in lower case, the view,
#: the zone of the site holding the target in that view or None; see SiteNames.zone_of)
Link = tuple[Zone, Record, str, str, "Zone | None"]


def parent_of(name: str) -> str:
    """The name one label up (absolute text, '.' above a top-level name)."""
    return name.partition(".")[2] or "."


def canonical_address(text: str) -> str:
    """An address as one text for comparing (IPv6 in its compressed form)."""
    if is_plain_ipv4(text):
        return text  # (as ipaddress writes it, without its cost on every mail host)
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


class SiteNames:
    """Which zone holds a name in a view, and what is there: worked out on demand, kept."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.zones_by_origin = {zone.origin.lower(): zone for zone in site.zones}
        self._holders: dict[tuple[str, str], Zone | None] = {}
        self._views: dict[tuple[int, str], ZoneView] = {}
        self._derived: dict[tuple[int, str], dict[str, list[Record]]] = {}
        servers: dict[str, list[Server]] = defaultdict(list)
        for server in site.servers:
            servers[canonical_address(server.address)].append(server)
        #: the declared servers at each address
        self.servers_by_address: dict[str, list[Server]] = dict(servers)
        #: what several rules work out alike, by the name of the work
        self.worked_out: dict[str, object] = {}

    def zone_of(self, name: str, view: str) -> Zone | None:
        """The closest zone of the site at or above ``name`` (absolute) served in ``view``."""
        name = name.lower()
        found = self._holders.get((name, view), False)
        if found is not False:
            return found  # type: ignore[return-value]
        candidate = name
        zone = None
        while True:
            zone = self.zones_by_origin.get(candidate)
            if (zone is not None and view in zone.views) or candidate == ".":
                break
            candidate = parent_of(candidate)
        if zone is not None and view not in zone.views:
            zone = None
        self._holders[(name, view)] = zone
        return zone

    def links(self) -> list[Link]:
        """Every link of the site's zones, zone by zone and view by view (see Link): the
        rules that follow targets across zones share the work of placing them."""
        known = self.worked_out.get("links")
        if known is None:
            known = self.worked_out["links"] = self._links()
        return known  # type: ignore[return-value]

    def _links(self) -> list[Link]:
        zone_of = self.zone_of
        found: list[Link] = []
        for zone in self.site.zones:
            links = [r for r in zone.links() if r[2] in LINK_TYPES]
            for view in zone.views:
                for record in links:
                    if record[4] is None or record[4] == view:
                        target = link_target(record).lower()
                        found.append((zone, record, target, view, zone_of(target, view)))
        return found

    def zone_view(self, zone: Zone, view: str) -> ZoneView:
        effective = view if zone.differs_by_view else ""
        found = self._views.get((id(zone), effective))
        if found is None:
            found = self._views[(id(zone), effective)] = ZoneView.build(self.site, zone, view)
        return found

    def lookup(self, name: str, view: str) -> tuple[ZoneView, str] | None:
        """The zone (as ``view`` sees it) whose data ``name`` is, and the name's key in it;
        None when the name is not in the site for that view."""
        zone = self.zone_of(name, view)
        if zone is None:
            return None
        zone_view = self.zone_view(zone, view)
        key = zone_view.key(name)
        if key and (key in zone_view.delegations or zone_view.cut_above(key) is not None):
            return None  # delegated to a zone the site does not serve in this view
        if zone_view.below_dname(key) is not None:
            return None
        return zone_view, key

    def addresses(self, name: str, view: str) -> list[Record] | None:
        """The A and AAAA records of ``name`` in ``view``; None: not in the site."""
        found = self.lookup(name, view)
        if found is None:
            return None
        zone_view, key = found
        return [r for r in zone_view.by_name.get(key, ()) if r[2] == T.A or r[2] == T.AAAA]

    def derived_ptr_owners(self, reverse: Zone, view: str, address: str) -> list[Record]:
        """The address records of ``reverse``'s ``reverse-of`` zones that hold ``address``
        in ``view``: compile derives a PTR to each owner (see compile.zones.derived_ptrs)."""
        key = (id(reverse), view)
        by_address = self._derived.get(key)
        if by_address is None:
            by_address = self._derived[key] = defaultdict(list)
            for ref in reverse.reverse_of:
                forward = self.zones_by_origin.get(ref.name.lower().rstrip(".") + ".")
                if forward is None or view not in forward.views:
                    continue
                for record in forward.records_in_view(view):
                    if (record[2] == T.A or record[2] == T.AAAA) and not record[0].startswith("*."):
                        by_address[canonical_address(record[3])].append(record)
        return by_address.get(address, [])


_LAST: list[SiteNames] = []


def site_names(site: Site) -> SiteNames:
    """The index of ``site``'s names, made once for all the rules of one validation."""
    if _LAST and _LAST[0].site is site:
        return _LAST[0]
    _LAST[:] = [SiteNames(site)]
    return _LAST[0]


def is_reverse(zone: Zone) -> bool:
    return zone.origin.lower().endswith(REVERSE_SUFFIXES)


#: (rule id, position, message with \x00 where the views go) -> the views it holds in
Findings = dict[tuple[str, Position, str], list[str]]


def emit(site: Site, findings: Findings) -> Iterator[Diagnostic]:
    """One diagnostic per finding, naming the views it holds in."""
    for (rule_id, position, message), views in findings.items():
        head, _, tail = message.partition("\x00")
        yield _report(rule_id, position, head + views_note(site, views) + tail)


def views_note(site: Site, views: Sequence[str]) -> str:
    """Names the views a finding holds in, when the site declares views."""
    if site.implicit_view or not views:
        return ""
    listed = ", ".join(f"'{v}'" for v in views)
    return f" in view {listed}" if len(views) == 1 else f" in views {listed}"
