"""Forward-confirmed reverse DNS of the site's mail hosts: MX targets and ``mail-senders``.

Many mail servers refuse mail from an address whose PTR does not name a
host that has that address again. For each mail host in the site, each of
its addresses whose reverse zone is in the site must have a PTR (written,
or derived by ``reverse-of``) pointing at a name whose addresses include it.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from collections.abc import Iterator

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Position, Severity
from zonesmith.model import Record, Site
from zonesmith.presentation import is_plain_ipv4
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.site_names import (
    Findings,
    SiteNames,
    canonical_address,
    emit,
    is_reverse,
    site_names,
)

T = dns.rdatatype

#: CNAMEs followed from a reverse name (RFC 2317 classless delegation) before giving up.
_MAX_CNAMES = 8


#: (mail host, view) -> why it is one, and its addresses when its MX's zone holds them
MailHosts = dict[tuple[str, str], tuple[str, list[Record] | None]]


def _mail_hosts(site: Site, names: SiteNames) -> MailHosts:
    """Each mail host of the site in each view it is looked up in, and why it is one.

    The addresses of a host in the zone of its MX come with the zone's links, so a
    zone from the cache need not be unpacked for them.
    """
    hosts: MailHosts = {}
    for zone, record, target, view, holder in names.links():
        if record[2] != T.MX or target == "." or (target, view) in hosts:
            continue
        known = None
        if holder is zone:
            known = [
                r
                for r in zone.links()
                if (r[2] == T.A or r[2] == T.AAAA)
                and r[0].lower() == target
                and (r[4] is None or r[4] == view)
            ]
        hosts[(target, view)] = (f"MX target of '{record.owner}'", known)
    for sender in site.mail_senders:
        for view in site.view_names:
            hosts.setdefault((sender.name, view), ("a mail sender", None))
    return hosts


def _ptr_records(names: SiteNames, name: str, view: str) -> tuple[list[Record], str] | None:
    """The PTR records at a reverse name in a view, following CNAMEs; None: outside the
    site. Also gives the name the PTRs (or their absence) were found at."""
    for _ in range(_MAX_CNAMES):
        found = names.lookup(name, view)
        if found is None:
            return None
        zone_view, key = found
        types = zone_view.types_at(key)
        cnames = types.get(T.CNAME)
        if not cnames:
            return types.get(T.PTR, []), name
        name = cnames[0].data
    return None


def _confirms(
    names: SiteNames, ptrs: list[Record], address: str, view: str, host: tuple[str, list[Record]]
) -> bool:
    """Whether a PTR names a host whose addresses include ``address`` (or one outside the
    site, which is not checked). ``host`` is the mail host and its addresses."""
    for ptr in ptrs:
        if ptr.data.lower() == host[0]:
            addresses: list[Record] | None = host[1]
        else:
            addresses = names.addresses(ptr.data, view)
        if addresses is None or any(canonical_address(r.data) == address for r in addresses):
            return True
    return False


def reverse_pointer(address: str) -> str:
    """The reverse name of a canonical address, absolute."""
    if is_plain_ipv4(address):  # what ipaddress gives, without its cost per mail host
        return ".".join(reversed(address.split("."))) + ".in-addr.arpa."
    return ipaddress.ip_address(address).reverse_pointer + "."


def _problem(
    names: SiteNames, host: str, why: str, addresses: list[Record], record: Record, view: str
) -> tuple[Position, str] | None:
    """What is wrong with the reverse of one address of a mail host in a view."""
    address = canonical_address(record.data)
    reverse_name = reverse_pointer(address)
    reverse = names.zone_of(reverse_name, view)
    if reverse is None or not is_reverse(reverse):
        return None  # its reverse zone is not the site's
    found = _ptr_records(names, reverse_name, view)
    if found is None:
        return None
    ptrs, at = found
    if not ptrs:
        holder = names.lookup(at, view)
        derived = (
            holder is not None
            and holder[1] not in holder[0].by_name
            and names.derived_ptr_owners(holder[0].zone, view, address)
        )
        if derived:
            return None  # reverse-of derives PTRs to the names with this address
        return record.position, (
            f"mail host '{host}' ({why}) has address {address}, but '{at}' has no PTR"
            "\x00; many mail servers refuse mail from an address without one: add "
            f"PTR {host} there (or reverse-of in zone '{reverse.text}')"
        )
    if _confirms(names, ptrs, address, view, (host, addresses)):
        return None
    targets = ", ".join(sorted({f"'{p.data}'" for p in ptrs}))
    return ptrs[0].position, (
        f"the PTR of {address} (address of mail host '{host}', {why}) names {targets}, "
        f"whose addresses do not include {address}\x00; mail from it fails the "
        f"forward-confirmed reverse check: point the PTR at '{host}'"
    )


@rule(
    "reverse-mismatch",
    Severity.WARNING,
    "a mail host's address has no PTR in the site's reverse zone, or one not pointing back",
    "site",
)
def reverse_mismatch(site: Site) -> Iterator[Diagnostic]:
    if not any(is_reverse(zone) for zone in site.zones):
        return
    names = site_names(site)
    findings: Findings = defaultdict(list)
    for (host, view), (why, known) in _mail_hosts(site, names).items():
        addresses = known if known is not None else names.addresses(host, view)
        for record in addresses or ():
            found = _problem(names, host, why, addresses, record, view)
            if found is not None:
                findings[("reverse-mismatch", *found)].append(view)
    yield from emit(site, findings)


@rule(
    "mail-sender-outside-site",
    Severity.WARNING,
    "a name of mail-senders is in no zone of the site",
    "site",
)
def mail_sender_outside_site(site: Site) -> Iterator[Diagnostic]:
    names = site_names(site)
    for sender in site.mail_senders:
        if all(names.zone_of(sender.name, view) is None for view in site.view_names):
            yield _report(
                "mail-sender-outside-site",
                sender.position,
                f"mail sender '{sender.name}' is in no zone of the site, so its reverse "
                "records cannot be checked; list the site's own hosts here",
            )
