"""Rules on delegations the site sees both ends of, and on NS names of its own servers.

A parent and a child zone both in the site are compared per view both are
served in: the parent's NS set at the cut and the child's apex NS set, and
the parent's glue and the child's addresses of the same names. An NS name
whose address is that of a declared server that does not serve the zone is
a lame delegation; addresses of no declared server are not judged.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site, Zone
from zonesmith.rules.registry import rule
from zonesmith.rules.site_names import (
    Findings,
    SiteNames,
    canonical_address,
    emit,
    parent_of,
    site_names,
)
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
_ADDR = frozenset({T.A, T.AAAA})


def _cuts(site: Site, names: SiteNames) -> list[tuple[Zone, str, ZoneView, str, ZoneView]]:
    """Each child zone with its parent in the site, per view both are served in:
    (child, view, the parent's zone view, the cut's key in it, the child's zone view).
    Worked out once for the rules here."""
    known = names.worked_out.get("cuts")
    if known is None:
        known = names.worked_out["cuts"] = list(_find_cuts(site, names))
    return known  # type: ignore[return-value]


def _find_cuts(site: Site, names: SiteNames) -> Iterator[tuple[Zone, str, ZoneView, str, ZoneView]]:
    for child in site.zones:
        if child.origin == ".":
            continue
        for view in child.views:
            parent = names.zone_of(parent_of(child.origin.lower()), view)
            if parent is None:
                continue
            parent_view = names.zone_view(parent, view)
            key = parent_view.key(child.origin)
            if parent_view.cut_above(key) is not None or parent_view.below_dname(key):
                continue  # a zone between them, outside the site, holds the cut
            yield child, view, parent_view, key, names.zone_view(child, view)


def _targets(records: list[Record]) -> list[str]:
    return sorted({r.data.lower() for r in records})


def _addresses(records: object) -> set[str]:
    return {canonical_address(r[3]) for r in records if r[2] == T.A or r[2] == T.AAAA}  # type: ignore[attr-defined]


def _in_bailiwick(name: str, origin: str) -> bool:
    return name == origin or name.endswith("." + origin)


def _compare(site: Site) -> tuple[Findings, Findings]:
    """What differs between parents and children: NS sets, and glue (worked out once)."""
    names = site_names(site)
    known = names.worked_out.get("delegations")
    if known is None:
        known = names.worked_out["delegations"] = _differences(site, names)
    return known  # type: ignore[return-value]


def _differences(site: Site, names: SiteNames) -> tuple[Findings, Findings]:
    ns_findings: Findings = defaultdict(list)
    glue_findings: Findings = defaultdict(list)
    for child, view, parent_view, key, child_view in _cuts(site, names):
        parent_ns = parent_view.types_at(key).get(T.NS, [])
        child_ns = child_view.types_at("").get(T.NS, [])
        above, below = _targets(parent_ns), _targets(child_ns)
        where = f"'{parent_view.label(key)}' in zone '{parent_view.zone.text}'"
        if not parent_ns:
            message = (
                f"zone '{child.text}' is not delegated from its parent '{parent_view.zone.text}'"
                f"\x00: resolvers never reach it; add NS records at {where} "
                f"({', '.join(below) or 'the NS of the child'})"
            )
            ns_findings[("delegation-ns-mismatch", child.position, message)].append(view)
            continue
        if above != below and below:
            message = (
                f"the NS records of {where} ({', '.join(above)}) differ from the apex NS of "
                f"zone '{child.text}' ({', '.join(below)})\x00; resolvers use one set or the "
                "other: make them equal"
            )
            ns_findings[("delegation-ns-mismatch", parent_ns[0].position, message)].append(view)
        origin = child.origin.lower()
        for target in above:
            if not _in_bailiwick(target, origin):
                continue
            glue = [
                r for r in parent_view.by_name.get(parent_view.key(target), ()) if r[2] in _ADDR
            ]
            held = names.addresses(target, view)
            if not glue or held is None:
                continue  # missing glue is missing-glue's; a name outside the site is not judged
            if _addresses(glue) != _addresses(held):
                found = ", ".join(sorted(_addresses(held))) or "no address"
                message = (
                    f"the glue for '{target}' in zone '{parent_view.zone.text}' "
                    f"({', '.join(sorted(_addresses(glue)))}) differs from its addresses in "
                    f"zone '{names.zone_of(target, view).text}' ({found})\x00; "  # type: ignore[union-attr]
                    "resolvers use the glue first: make them equal"
                )
                glue_findings[("glue-mismatch", glue[0].position, message)].append(view)
    return ns_findings, glue_findings


@rule(
    "delegation-ns-mismatch",
    Severity.WARNING,
    "a parent in the site delegates a child zone of the site with other NS than the child's",
    "site",
)
def delegation_ns_mismatch(site: Site) -> Iterator[Diagnostic]:
    return emit(site, _compare(site)[0])


@rule(
    "glue-mismatch",
    Severity.WARNING,
    "a parent's glue differs from the addresses the child zone gives the same name",
    "site",
)
def glue_mismatch(site: Site) -> Iterator[Diagnostic]:
    return emit(site, _compare(site)[1])


def _lame(
    site: Site, names: SiteNames, zone: Zone, view: str, record: Record, findings: Findings
) -> None:
    """Report ``record`` (an NS for ``zone``) if its name has the address of a declared
    server that does not serve the zone."""
    if record[4] is not None and record[4] != view:
        return
    for address in sorted(_addresses(names.addresses(record.data, view) or ())):
        # A server is judged in the views it serves: clients of another view do not
        # reach it (a split horizon's internal NS often name the external servers).
        servers = [s for s in names.servers_by_address.get(address, ()) if view in site.views_of(s)]
        if servers and not any(site.serves(s, zone, view) for s in servers):
            listed = ", ".join(f"'{s.name}'" for s in servers)
            message = (
                f"NS '{record.data}' of zone '{zone.text}' has address {address}, that of "
                f"server {listed}, which does not serve '{zone.text}'\x00; resolvers asking it "
                "get no answer (a lame delegation): let the server serve the zone or remove "
                "the NS"
            )
            findings[("lame-delegation", record.position, message)].append(view)


@rule(
    "lame-delegation",
    Severity.WARNING,
    "an NS name has the address of a declared server that does not serve the zone",
    "site",
)
def lame_delegation(site: Site) -> Iterator[Diagnostic]:
    names = site_names(site)
    if not names.servers_by_address:
        return iter(())
    findings: Findings = defaultdict(list)
    for zone, record, _, view, holder in names.links():
        if record[2] == T.NS and holder is not None and record[0].lower() == zone.origin.lower():
            _lame(site, names, zone, view, record, findings)
    for child, view, parent_view, key, _ in _cuts(site, names):
        for record in parent_view.types_at(key).get(T.NS, []):
            _lame(site, names, child, view, record, findings)
    return emit(site, findings)
