"""Rules on blocklists: who serves them, their sources, their action."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

from zonesmith.diagnostics import Diagnostic, Position, Severity
from zonesmith.model import Site
from zonesmith.rules.facts import SiteFacts
from zonesmith.rules.registry import _report, rule

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


def blocklist_entries(site: Site) -> Iterator[tuple[str, str, Position, str]]:
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
    for name, kind, position, entry in blocklist_entries(site):
        if "://" in entry and not entry.startswith(("http://", "https://")):
            yield _report(
                "bad-blocklist-source",
                position,
                f"blocklist '{name}': {kind} '{entry}' is not an http:// or https:// URL; "
                "download it into the site (e.g. lists/) and name the file instead",
            )


@rule("missing-blocklist-file", Severity.ERROR, "a blocklist file does not exist", "facts")
def missing_blocklist_file(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for name, kind, position, entry in blocklist_entries(site):
        if "://" in entry:
            continue
        if entry in facts.missing_files:
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
    "facts",
)
def blocklist_not_fetched(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    used = {ref.name for server in site.servers for ref in server.blocklists}
    for name, kind, position, entry in blocklist_entries(site):
        if name in used and kind == "source" and entry in facts.unfetched:
            yield _report(
                "blocklist-not-fetched",
                position,
                f"blocklist '{name}': {entry} has not been fetched yet; "
                "run 'zonesmith blocklist update' before building",
            )
