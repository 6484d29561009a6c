"""Rules on DNSSEC: records in a zone (DS, CDS, NSEC3) and the site's signing policies."""

from __future__ import annotations

from collections.abc import Iterator

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import DEPRECATED_ALGORITHMS, DnssecPolicy, Record, Site, Zone
from zonesmith.rules.facts import SiteFacts
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.site_names import parent_of, site_names
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype


@rule("ds-at-apex", Severity.ERROR, "a DS record at the zone apex", needs=[T.DS])
def ds_at_apex(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.types_at("").get(T.DS, ()):
        yield _report(
            "ds-at-apex",
            record.position,
            "DS records belong in the parent zone, not at this zone's apex; "
            "publish CDS/CDNSKEY here if the parent should pick them up",
        )


@rule(
    "cds-mismatch",
    Severity.ERROR,
    "CDS/CDNSKEY records that match no DNSKEY of the zone",
    needs=[T.CDS, T.CDNSKEY],
)
def cds_mismatch(view: ZoneView) -> Iterator[Diagnostic]:
    import dns.dnssec

    apex = view.types_at("")
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
                ds = dns.dnssec.make_ds(view.zone.name, key, cds.digest_type, validating=True)
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


@rule(
    "bad-nsec3",
    Severity.ERROR,
    "an NSEC3 record whose owner or hash is malformed",
    needs=[T.NSEC3],
)
def bad_nsec3(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.by_type.get(T.NSEC3, ()):
        key = view.key(record.owner)
        label = key.rpartition("\x00")[2]
        if not label or not set(label) <= _BASE32HEX:
            yield _report(
                "bad-nsec3",
                record.position,
                f"NSEC3 owner '{view.label(key)}' is not an unpadded base32hex hash label",
            )
        elif record.rdata.algorithm == 1 and len(record.rdata.next) != 20:
            yield _report(
                "bad-nsec3",
                record.position,
                f"NSEC3 next hashed owner is {len(record.rdata.next)} octets; a SHA-1 hash is 20",
            )


# -- signing policies: judged on the model and the drivers' capabilities -----------------


def _on_policy(rule_id: str, policy: DnssecPolicy, key: str, message: str) -> Diagnostic:
    """A finding on ``key`` of ``policy`` (where it is written, else the policy's name)."""
    return _report(rule_id, policy.at(key), f"DNSSEC policy '{policy.name}': {message}")


def _signed(site: Site) -> Iterator[tuple[Zone, DnssecPolicy]]:
    for zone in site.zones:
        policy = site.policy_of(zone)
        if policy is not None:
            yield zone, policy


@rule(
    "signature-validity-short",
    Severity.ERROR,
    "signatures valid for less than the SOA expire plus the zone's largest TTL",
    "site",
)
def signature_validity_short(site: Site) -> Iterator[Diagnostic]:
    for zone, policy in _signed(site):
        soa = zone.soa or site.defaults.soa
        if soa is None:
            continue
        largest = max((record.ttl for record in zone.records), default=0)
        largest = max(largest, soa.negative_ttl, zone.ttl or site.defaults.ttl)
        if policy.signature_validity < soa.expire + largest:
            yield _report(
                "signature-validity-short",
                zone.dnssec.position if zone.dnssec else zone.position,
                f"zone '{zone.text}': signatures of policy '{policy.name}' are valid for "
                f"{policy.signature_validity}s, less than the SOA expire ({soa.expire}s) plus the "
                f"largest TTL ({largest}s); a secondary cut off from the primary could serve "
                "expired signatures: raise signature-validity or lower the expire",
            )


@rule(
    "signature-refresh-long",
    Severity.ERROR,
    "a policy refreshes signatures no sooner than they expire",
    "site",
)
def signature_refresh_long(site: Site) -> Iterator[Diagnostic]:
    for policy in site.dnssec_policies:
        if policy.signature_refresh >= policy.signature_validity:
            yield _on_policy(
                "signature-refresh-long",
                policy,
                "signature-refresh",
                f"signature-refresh ({policy.signature_refresh}s) is not shorter than "
                f"signature-validity ({policy.signature_validity}s); signatures would expire "
                "before they are made anew",
            )


@rule("deprecated-algorithm", Severity.ERROR, "a policy signs with a deprecated algorithm", "site")
def deprecated_algorithm(site: Site) -> Iterator[Diagnostic]:
    for policy in site.dnssec_policies:
        if policy.algorithm in DEPRECATED_ALGORITHMS:
            yield _on_policy(
                "deprecated-algorithm",
                policy,
                "algorithm",
                f"{policy.algorithm} is deprecated (RFC 8624) and "
                "many validators treat it as insecure; use ECDSAP256SHA256",
            )


@rule(
    "nsec3-parameters",
    Severity.WARNING,
    "NSEC3 with extra iterations or a salt (RFC 9276 says 0 and none)",
    "site",
)
def nsec3_parameters(site: Site) -> Iterator[Diagnostic]:
    for policy in site.dnssec_policies:
        if policy.nsec == "nsec3" and (policy.nsec3_iterations > 0 or policy.nsec3_salt):
            yield _on_policy(
                "nsec3-parameters",
                policy,
                "nsec3",
                f"NSEC3 with {policy.nsec3_iterations} extra "
                f"iterations and {'a' if policy.nsec3_salt else 'no'} salt; RFC 9276 asks for "
                "0 iterations and no salt (validators may treat more as insecure)",
            )


@rule(
    "dnssec-unsupported",
    Severity.ERROR,
    "a signed zone whose primary's software cannot sign",
    "facts",
)
def dnssec_unsupported(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for zone, policy in _signed(site):
        for server in site.servers:
            if server.role != "primary" or not any(
                site.serves(server, zone, view) for view in zone.views
            ):
                continue
            capabilities = facts.capabilities.get(server.software)
            if capabilities is not None and not capabilities.dnssec:
                yield _report(
                    "dnssec-unsupported",
                    zone.dnssec.position if zone.dnssec else zone.position,
                    f"zone '{zone.text}' is signed (policy '{policy.name}') but its primary "
                    f"'{server.name}' runs {server.software}, which zonesmith cannot make sign; "
                    "make a BIND or Knot server its primary (NSD can serve it as a secondary)",
                )


def _delegations(site: Site) -> Iterator[tuple[Zone, Zone, list[Record]]]:
    """Each zone of the site delegated from its closest parent zone of the site, with the
    DS records the parent has for it."""
    by_origin = site_names(site).zones_by_origin
    for child in site.zones:
        name = child.origin.lower()
        parent = None
        while parent is None and name != ".":
            name = parent_of(name)
            parent = by_origin.get(name)
        if parent is None:
            continue
        ds = [r for r in parent.records if r.rdtype == T.DS and r.owner == child.origin]
        yield parent, child, ds


@rule(
    "missing-ds",
    Severity.WARNING,
    "a signed zone of the site whose parent in the site has no DS for it",
    "site",
)
def missing_ds(site: Site) -> Iterator[Diagnostic]:
    for parent, child, ds in _delegations(site):
        policy = site.policy_of(child)
        if policy is not None and not ds:
            yield _report(
                "missing-ds",
                child.dnssec.position if child.dnssec else child.position,
                f"zone '{child.text}' is signed but its parent '{parent.text}' has no DS for it "
                "yet (no keys of it in zonesmith.keys), so validators treat it as unsigned; "
                "apply adds the DS once the signer has made the zone's keys",
            )


@rule(
    "ds-for-unsigned",
    Severity.ERROR,
    "a parent in the site has a DS for a child zone of the site that is not signed",
    "site",
)
def ds_for_unsigned(site: Site) -> Iterator[Diagnostic]:
    for parent, child, ds in _delegations(site):
        if ds and child.dnssec is None:
            yield _report(
                "ds-for-unsigned",
                ds[0].position,
                f"'{parent.text}' has a DS for '{child.text}', which is not signed: every "
                "validating resolver would fail its names; remove the DS or sign the zone "
                "(dnssec: POLICY)",
            )
