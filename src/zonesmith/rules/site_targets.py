"""Rules that follow MX, SRV, NS and CNAME targets into the other zones of the site.

The zone rules (rules/records.py) judge targets inside their own zone; the
site parts here judge the targets another zone of the site holds, per view
the referring zone is served in, through :mod:`zonesmith.rules.site_names`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from functools import partial

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site, link_target
from zonesmith.rules.records import address_literal
from zonesmith.rules.registry import _report, rule, site_part
from zonesmith.rules.site_names import Findings, SiteNames, emit, site_names
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype

_WHAT = {T.MX: "MX", T.SRV: "SRV", T.NS: "NS", T.CNAME: "CNAME"}


def _crossing(site: Site, rdtype: int) -> list[tuple[Record, str, ZoneView, str]]:
    """Each record of ``rdtype`` whose target another zone of the site holds, in each view
    of the record's zone: (record, view, the target's zone view, the target's key there)."""
    names = site_names(site)
    known = names.worked_out.get("crossing")
    if known is None:
        known = names.worked_out["crossing"] = _all_crossing(site, names)
    return known.get(rdtype, [])  # type: ignore[attr-defined]


def _all_crossing(
    site: Site, names: SiteNames
) -> dict[int, list[tuple[Record, str, ZoneView, str]]]:
    found: dict[int, list[tuple[Record, str, ZoneView, str]]] = defaultdict(list)
    for zone, record, target, view, holder in names.links():
        if holder is None or holder is zone or target == ".":
            # outside the site, judged by the zone rules, or a null MX (RFC 7505) or
            # "no service" SRV (RFC 2782)
            continue
        looked_up = names.lookup(link_target(record), view)
        if looked_up is not None:
            found[record[2]].append((record, view, *looked_up))
    return found


def _target_problems(site: Site, *, rule_id: str, rdtype: int, cname: bool) -> Iterator[Diagnostic]:
    findings: Findings = defaultdict(list)
    what = _WHAT[rdtype]
    for record, view, target_view, key in _crossing(site, rdtype):
        types = target_view.types_at(key)
        shown = f"'{link_target(record)}' (zone '{target_view.zone.text}')"
        if cname and T.CNAME in types:
            message = (
                f"{what} target {shown} is a CNAME\x00; RFC 2181 asks for a name with "
                "address records: point it at the CNAME's target"
            )
        elif not cname and T.CNAME not in types and T.A not in types and T.AAAA not in types:
            message = f"{what} target {shown} has no A or AAAA record\x00"
        else:
            continue
        findings[(rule_id, record.position, message)].append(view)
    return emit(site, findings)


for _rule_id, _rdtype, _cname in (
    ("mx-target-cname", T.MX, True),
    ("srv-target-cname", T.SRV, True),
    ("ns-target-cname", T.NS, True),
    ("mx-no-address", T.MX, False),
    ("srv-no-address", T.SRV, False),
):
    site_part(_rule_id)(partial(_target_problems, rule_id=_rule_id, rdtype=_rdtype, cname=_cname))


# -- CNAMEs that point at nothing ----------------------------------------------------------


def _exists(view: ZoneView, key: str) -> bool:
    """Whether a name of the zone has records, is an empty non-terminal, or a wildcard
    answers for it."""
    return key in view.by_name or key in view.nonterminals or view.wildcard_for(key) is not None


@rule(
    "dangling-cname",
    Severity.WARNING,
    "a CNAME points at a name of the site with no records",
    needs=[T.CNAME],
)
def dangling_cname(view: ZoneView) -> Iterator[Diagnostic]:
    for record, target in view.targets(T.CNAME):
        if target is None or view.cut_above(target) is not None or target in view.delegations:
            continue  # someone else's name, or a child zone's
        if view.below_dname(target) is not None or _exists(view, target):
            continue
        yield _report(
            "dangling-cname",
            record.position,
            f"CNAME target '{view.label(target)}' does not exist in this zone{view.view_note}, "
            "so the name answers NXDOMAIN: add records for it or remove the CNAME",
        )


@site_part("dangling-cname")
def dangling_cname_across(site: Site) -> Iterator[Diagnostic]:
    findings: Findings = defaultdict(list)
    for record, view, target_view, key in _crossing(site, T.CNAME):
        if not _exists(target_view, key):
            message = (
                f"CNAME target '{link_target(record)}' does not exist in zone "
                f"'{target_view.zone.text}'\x00, so the name answers NXDOMAIN: add records for "
                "it or remove the CNAME"
            )
            findings[("dangling-cname", record.position, message)].append(view)
    return emit(site, findings)


# -- targets written as addresses ----------------------------------------------------------


def _target_is_address(view: ZoneView, rdtype: int, rule_id: str) -> Iterator[Diagnostic]:
    what = _WHAT[rdtype]
    for record in view.by_type.get(rdtype, ()):
        address = address_literal(link_target(record), view.origin)
        if address is not None:
            yield _report(
                rule_id,
                record.position,
                f"{what} target '{address}' is an address; an {what} record names a host "
                f"(RFC {'5321 5.1' if rdtype == T.MX else '2782'}), which is looked up as the "
                "name written here: give the host a name with an A or AAAA record and use it",
            )


@rule(
    "mx-target-address",
    Severity.WARNING,
    "an MX target is an IP address, not a host name",
    needs=[T.MX],
)
def mx_target_address(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_address(view, T.MX, "mx-target-address")


@rule(
    "srv-target-address",
    Severity.WARNING,
    "an SRV target is an IP address, not a host name",
    needs=[T.SRV],
)
def srv_target_address(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_address(view, T.SRV, "srv-target-address")
