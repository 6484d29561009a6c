"""Rules on the records of one zone in one view."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith import presentation
from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site, covered_type, rdata_key
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype


#: Types that may share a name with a CNAME (RFC 2181 10.1, RFC 4035 2.5).
CNAME_COMPANIONS = frozenset({T.CNAME, T.RRSIG, T.NSEC, T.KEY})
ADDRESS_TYPES = frozenset({T.A, T.AAAA})
#: What a target with no address of its own may have instead (a CNAME has its own warning).
_ANSWERING_TYPES = ADDRESS_TYPES | {T.CNAME}


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


@rule("no-ns", Severity.ERROR, "a zone has no NS records at its apex")
def no_ns(view: ZoneView) -> Iterator[Diagnostic]:
    if not any(r[2] == T.NS for r in view.by_name.get("", ())):
        yield _report(
            "no-ns",
            view.zone.position,
            f"zone '{view.zone.text}' has no NS records at its apex{view.view_note}; named refuses "
            "to load it: add '@': [NS ns1.example.com.] to the zone or to a set it includes",
        )


@rule("cname-at-apex", Severity.ERROR, "a CNAME at the zone apex", needs=[T.CNAME])
def cname_at_apex(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.types_at("").get(T.CNAME, ()):
        yield _report(
            "cname-at-apex",
            record.position,
            "CNAME at the zone apex is not allowed (the apex has SOA and NS); "
            "use A/AAAA records here instead",
        )


@rule(
    "cname-and-other-data",
    Severity.ERROR,
    "a CNAME shares its name with other records",
    needs=[T.CNAME],
)
def cname_and_other_data(view: ZoneView) -> Iterator[Diagnostic]:
    seen: set[str] = set()
    for record in view.by_type.get(T.CNAME, ()):
        key = view.key(record.owner)
        if not key or len(view.by_name.get(key, ())) < 2 or key in seen:
            continue  # the apex (see cname_at_apex), a CNAME alone (most), or seen
        seen.add(key)
        types = view.types_at(key)
        cnames = types[T.CNAME]
        others = [t for t in types if t not in CNAME_COMPANIONS]
        if others:
            listing = ", ".join(dns.rdatatype.to_text(t) for t in others)
            yield _report(
                "cname-and-other-data",
                cnames[0].position,
                f"'{view.label(key)}' has a CNAME and other data ({listing}){view.view_note}; "
                "a CNAME must be alone at its name: give the other records to the target",
            )
        if len(cnames) > 1:
            yield _report(
                "cname-and-other-data",
                cnames[1].position,
                f"'{view.label(key)}' has more than one CNAME{view.view_note}; keep one",
            )


@rule("soa-not-at-apex", Severity.ERROR, "an SOA record below the zone apex", needs=[T.SOA])
def soa_not_at_apex(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.by_type.get(T.SOA, ()):
        key = view.key(record.owner)
        if key:
            yield _report(
                "soa-not-at-apex",
                record.position,
                f"SOA at '{view.label(key)}'{view.view_note}: a zone has one SOA, at its apex, "
                "and named refuses others; to make a zone of this name, declare it in "
                "zonesmith.yaml and delegate it with NS records",
            )


@rule("multiple-dname", Severity.ERROR, "more than one DNAME at a name", needs=[T.DNAME])
def multiple_dname(view: ZoneView) -> Iterator[Diagnostic]:
    by_name: dict[str, list[Record]] = {}
    for record in view.by_type.get(T.DNAME, ()):
        by_name.setdefault(view.key(record.owner), []).append(record)
    for key, dnames in by_name.items():
        # RFC 6672 2.4: one DNAME per name; named refuses the zone (equal ones are one record)
        if len({rdata_key(r) for r in dnames}) > 1:
            yield _report(
                "multiple-dname",
                dnames[1].position,
                f"'{view.label(key)}' has more than one DNAME{view.view_note}; a name can "
                "redirect to one target only: keep one",
            )


def has_delegations(view: ZoneView) -> bool:
    """Whether the zone delegates names below its apex."""
    return bool(view.delegations)


@rule(
    "below-delegation",
    Severity.ERROR,
    "records below a delegation that are not glue",
    applies=has_delegations,
)
def below_delegation(view: ZoneView) -> Iterator[Diagnostic]:
    for key in view.by_name:
        cut = view.cut_above(key)
        if cut is None:
            continue
        for rdtype, records in view.types_at(key).items():
            if rdtype not in ADDRESS_TYPES:
                yield _report(
                    "below-delegation",
                    records[0].position,
                    f"'{view.label(key)}' {dns.rdatatype.to_text(rdtype)} is below the delegation "
                    f"'{view.label(cut)}' and would never be served; "
                    "only glue (A/AAAA) belongs there",
                )


def _in_bailiwick(target: str, owner: str) -> bool:
    """Whether a delegation's NS target lies at or below the delegated name (keys)."""
    return target == owner or target.startswith(owner + "\x00")


@rule("ns-no-address", Severity.ERROR, "an in-zone NS target has no address records", needs=[T.NS])
def ns_no_address(view: ZoneView) -> Iterator[Diagnostic]:
    for record, target in view.targets(T.NS):
        if target is None or view.has_address(target):
            continue
        owner = view.key(record.owner)
        if view.below_dname(owner) is not None:
            continue  # the NS record itself is hidden by a DNAME and never served
        if owner and _in_bailiwick(target, owner):
            continue  # in-bailiwick delegation: reported as missing glue
        if view.cut_above(target) is not None or target in view.delegations:
            continue  # lives in a child zone; its addresses are the child's business
        yield _report(
            "ns-no-address",
            record.position,
            f"NS target '{view.label(target)}' is in this zone but has no A or AAAA record"
            f"{view.view_note}; named refuses to load the zone: add an address for it",
        )


@rule(
    "missing-glue",
    Severity.ERROR,
    "an in-bailiwick delegation has no glue",
    applies=has_delegations,
)
def missing_glue(view: ZoneView) -> Iterator[Diagnostic]:
    for record, target in view.targets(T.NS):
        owner = view.key(record.owner)
        if not owner or target is None or not _in_bailiwick(target, owner):
            continue
        if not view.has_address(target):
            yield _report(
                "missing-glue",
                record.position,
                f"delegation '{view.label(owner)}' to '{view.label(target)}' needs glue"
                f"{view.view_note}: add an A or AAAA record for '{view.label(target)}'",
            )


def _target_is_cname(view: ZoneView, rdtype: int, rule_id: str, what: str) -> Iterator[Diagnostic]:
    for record, target in view.targets(rdtype):
        if target is not None and T.CNAME in view.types_at(target):
            yield _report(
                rule_id,
                record.position,
                f"{what} target '{view.label(target)}' is a CNAME{view.view_note}; RFC 2181 asks "
                "for a name with address records: point it at the CNAME's target",
            )


# The target rules run only where both their type and CNAMEs are: needs gives one of them.
@rule("mx-target-cname", Severity.WARNING, "an MX target is a CNAME", needs=[T.CNAME])
def mx_target_cname(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_cname(view, T.MX, "mx-target-cname", "MX")


@rule("ns-target-cname", Severity.WARNING, "an NS target is a CNAME", needs=[T.CNAME])
def ns_target_cname(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_cname(view, T.NS, "ns-target-cname", "NS")


@rule("srv-target-cname", Severity.WARNING, "an SRV target is a CNAME", needs=[T.SRV])
def srv_target_cname(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_is_cname(view, T.SRV, "srv-target-cname", "SRV")


def address_literal(target: str, origin: str) -> str | None:
    """The address a target was meant to be (an IP literal, made a name relative to the
    zone when written without a final dot), or None."""
    if not (target[0].isdigit() or ":" in target):
        return None  # most targets: a host name
    text = target[:-1]
    if target.lower().endswith("." + origin.lower()) and origin != ".":
        relative = target[: -len(origin) - 1]
        if _is_address(relative):
            return relative
    return text if _is_address(text) else None


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _target_without_address(
    view: ZoneView, rdtype: int, rule_id: str, what: str
) -> Iterator[Diagnostic]:
    for record, target in view.targets(rdtype):
        if target is None or record[3].endswith(" ."):
            continue  # someone else's name, or null MX / "no service" SRV
        if address_literal(record[3].rpartition(" ")[2], view.origin) is not None:
            continue  # an address written as a target has its own warning
        if any(r[2] in _ANSWERING_TYPES for r in view.by_name.get(target, ())):
            continue
        if view.cut_above(target) is not None or target in view.delegations:
            continue
        yield _report(
            rule_id,
            record.position,
            f"{what} target '{view.label(target)}' has no A or AAAA record "
            f"in this zone{view.view_note}",
        )


@rule(
    "mx-no-address", Severity.WARNING, "an in-zone MX target has no address records", needs=[T.MX]
)
def mx_no_address(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_without_address(view, T.MX, "mx-no-address", "MX")


@rule(
    "srv-no-address",
    Severity.WARNING,
    "an in-zone SRV target has no address records",
    needs=[T.SRV],
)
def srv_no_address(view: ZoneView) -> Iterator[Diagnostic]:
    return _target_without_address(view, T.SRV, "srv-no-address", "SRV")


def _rrset_type(record: Record) -> str:
    """The type of a record's RRset as a user reads it: RRSIGs name the type they cover."""
    text = dns.rdatatype.to_text(record.rdtype)
    if record.rdtype == T.RRSIG:
        return f"{text} (covering {dns.rdatatype.to_text(covered_type(record.data))})"
    return text


@rule("ttl-mismatch", Severity.WARNING, "records of one RRset have different TTLs")
def ttl_mismatch(view: ZoneView) -> Iterator[Diagnostic]:
    for records in view.multi:
        ttls = {r.ttl for r in records}
        if len(ttls) > 1:
            yield _report(
                "ttl-mismatch",
                records[-1].position,
                f"'{view.label(view.key(records[0].owner))}' "
                f"{_rrset_type(records[0])} records have different "
                f"TTLs ({', '.join(map(str, sorted(ttls)))}); an RRset has one TTL, "
                f"{min(ttls)} is used",
            )


@rule("duplicate-record", Severity.WARNING, "the same record is given twice")
def duplicate_record(view: ZoneView) -> Iterator[Diagnostic]:
    for records in view.multi:
        seen: dict[str, Record] = {}
        for record in records:
            key = rdata_key(record)
            if key in seen:
                first = seen[key]
                yield _report(
                    "duplicate-record",
                    record.position,
                    f"'{view.label(view.key(record.owner))}' "
                    f"{dns.rdatatype.to_text(record.rdtype)} {record.data} is given twice "
                    f"(first at {first.position}); it is served once",
                )
            else:
                seen[key] = record


@rule(
    "ns-below-dname",
    Severity.ERROR,
    "an apex NS target lies below a DNAME of the zone",
    needs=[T.DNAME],
)
def ns_below_dname(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.types_at("").get(T.NS, ()):
        if not presentation.is_subdomain(record.data, view.origin):
            continue
        target = view.key(record.data)
        dname = view.below_dname(target)
        if dname is not None:
            yield _report(
                "ns-below-dname",
                record.position,
                f"NS target '{view.label(target)}' is below the DNAME at "
                f"'{view.label(dname)}', so its address can never be served; named refuses "
                "the zone: use a name outside the DNAME's subtree",
            )


@rule("empty-nsap", Severity.ERROR, "an NSAP record without an address", needs=[T.NSAP])
def empty_nsap(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.by_type.get(T.NSAP, ()):
        if not record.rdata.address:
            yield _report(
                "empty-nsap", record.position, "NSAP needs an address, e.g. 0x47000580005a"
            )
