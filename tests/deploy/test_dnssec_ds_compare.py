"""The parent's DS against a zone's live keys: a DS of a KSK/CSK matches, in any digest type
the parent chose; a DS of a key without the SEP bit, or of no live key, does not."""

from __future__ import annotations

import dns.dnssec
import dns.name
from cryptography.hazmat.primitives.asymmetric import ec

from zonesmith.deploy.dnssec_status import compare_ds

ZONE = dns.name.from_text("sub.example.com.")


def key(flags: int):
    private = ec.generate_private_key(ec.SECP256R1())
    return dns.dnssec.make_dnskey(private.public_key(), "ECDSAP256SHA256", flags=flags)


def test_a_ds_of_the_live_ksk_matches_in_either_digest() -> None:
    ksk, zsk = key(257), key(256)
    for digest in ("SHA256", "SHA384"):
        found = compare_ds(ZONE, [dns.dnssec.make_ds(ZONE, ksk, digest)], [ksk, zsk], "example.com")
        assert found.state == "match"
        assert found.key_tags == (dns.dnssec.key_id(ksk),)


def test_a_ds_of_another_key_or_of_the_zsk_is_a_mismatch() -> None:
    ksk, zsk, old = key(257), key(256), key(257)
    for ds_key in (old, zsk):
        ds = dns.dnssec.make_ds(ZONE, ds_key, "SHA256")
        found = compare_ds(ZONE, [ds], [ksk, zsk], "example.com")
        assert found.state == "ds mismatch"
        assert found.ds_tags == (dns.dnssec.key_id(ds_key),)


def test_a_rollover_with_an_old_ds_beside_the_new_one_matches() -> None:
    ksk, old = key(257), key(257)
    served = [dns.dnssec.make_ds(ZONE, k, "SHA256") for k in (old, ksk)]
    assert compare_ds(ZONE, served, [ksk], "example.com").state == "match"


def test_no_ds_at_the_parent_is_said_as_such() -> None:
    assert compare_ds(ZONE, [], [key(257)], "example.com").state == "no ds"
