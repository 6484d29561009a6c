"""Rules on names that refer to something the site does not declare."""

from __future__ import annotations

from collections.abc import Iterator

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Site
from zonesmith.rules.registry import _choices, _report, rule


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


@rule(
    "unknown-dnssec-policy",
    Severity.ERROR,
    "a zone (or the defaults) names a DNSSEC policy the site does not declare",
    "site",
)
def unknown_dnssec_policy(site: Site) -> Iterator[Diagnostic]:
    refs = {id(ref): ref for ref in [site.defaults.dnssec] + [z.dnssec for z in site.zones] if ref}
    for ref in refs.values():
        if ref.name not in site.policies_by_name:
            known = _choices(ref.name, site.policies_by_name, "DNSSEC policies")
            yield _report(
                "unknown-dnssec-policy",
                ref.position,
                f"unknown DNSSEC policy '{ref.name}'; {known}",
            )
