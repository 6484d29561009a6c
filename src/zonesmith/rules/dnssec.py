"""Rules on DNSSEC records in a zone (DS, CDS, NSEC3)."""

from __future__ import annotations

from collections.abc import Iterator

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype


@rule("ds-at-apex", Severity.ERROR, "a DS record at the zone apex")
def ds_at_apex(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.types_at("").get(T.DS, ()):
        yield _report(
            "ds-at-apex",
            record.position,
            "DS records belong in the parent zone, not at this zone's apex; "
            "publish CDS/CDNSKEY here if the parent should pick them up",
        )


@rule("cds-mismatch", Severity.ERROR, "CDS/CDNSKEY records that match no DNSKEY of the zone")
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


@rule("bad-nsec3", Severity.ERROR, "an NSEC3 record whose owner or hash is malformed")
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
