"""Rules on DKIM key records (``<selector>._domainkey``, RFC 6376 3.6.1, RFC 8463).

Tags are read by :mod:`zonesmith.rules.mail.tags`; the key itself is
decoded by ``cryptography`` (dkimpy's key parser works on the same DER
forms but is reached only through signature verification and brings its
own DNS code).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator
from functools import lru_cache

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record
from zonesmith.rules.mail.kinds import has_dkim, kinds
from zonesmith.rules.mail.tags import parse_tags, txt_text
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

_KEY_TYPES = ("rsa", "ed25519")
#: what h= and s= are when not given, and the s= values of a key that signs mail
_SHA256 = frozenset({"sha256"})
_ANY = frozenset({"*"})
_SIGNING_EMAIL = frozenset({"*", "email"})
#: RFC 8301 3.2: verifiers refuse RSA keys under 1024 bits; signers use 2048 or more
_TOO_WEAK = 1024
_STRONG = 2048


def rsa_key_bits(der: bytes) -> int | None:
    """The size of an RSA public key given as SubjectPublicKeyInfo or PKCS#1 DER (None: not one)."""
    load_der, load_pem, rsa_key = _crypto()
    for load in (load_der, _load_pkcs1):
        try:
            key = load(der)
        except (ValueError, TypeError):
            continue
        return key.key_size if isinstance(key, rsa_key) else None
    return None


def _load_pkcs1(der: bytes):  # type: ignore[no-untyped-def]
    pem = b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(der)
    return _crypto()[1](pem + b"-----END RSA PUBLIC KEY-----\n")


@lru_cache(maxsize=1)
def _crypto():  # type: ignore[no-untyped-def]
    """cryptography's DER and PEM public key loaders and its RSA public key type (imported
    when a site has a DKIM key, once)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    return serialization.load_der_public_key, serialization.load_pem_public_key, rsa.RSAPublicKey


@lru_cache(maxsize=4096)
def key_problem(text: str) -> tuple[str | None, int | None]:
    """Why a DKIM key record is unusable (None: it is usable), and its RSA key's bits."""
    pairs, problem = parse_tags(text)
    if problem:
        return problem, None
    tags = dict(pairs)
    if "v" in tags and (pairs[0][0] != "v" or tags["v"] != "DKIM1"):
        return "v=DKIM1, when given, must come first", None
    key_type = tags.get("k", "rsa").lower()
    if key_type not in _KEY_TYPES:
        return f"k={tags['k']} is not a key type verifiers know (rsa, ed25519)", None
    if "p" not in tags:
        return "p= (the public key) is required", None
    hashes = {h.strip().lower() for h in tags["h"].split(":")} if "h" in tags else _SHA256
    if "sha256" not in hashes:
        # RFC 8301 3.1: verifiers refuse rsa-sha1 signatures; sha256 is the one they take
        return f"h={tags['h']} allows no hash verifiers accept (sha256, RFC 8301)", None
    services = {v.strip().lower() for v in tags["s"].split(":")} if "s" in tags else _ANY
    if not services & _SIGNING_EMAIL:
        return f"s={tags['s']} keeps the key from signing email (use email or *)", None
    packed = "".join(tags["p"].split())
    if not packed:
        return None, None  # an empty p= revokes the key (RFC 6376 3.6.1)
    try:
        key = base64.b64decode(packed, validate=True)
    except (binascii.Error, ValueError):
        return "p= is not base64", None
    if key_type == "ed25519":
        return (None if len(key) == 32 else "p= is not a 32-byte Ed25519 key (RFC 8463)"), None
    bits = rsa_key_bits(key)
    if bits is None:
        return "p= does not decode to an RSA public key", None
    return None, bits


def _keys(view: ZoneView) -> list[tuple[Record, str | None, int | None]]:
    """Each DKIM key record of the view: the record, its problem, its RSA bits (read once
    for the three DKIM rules)."""
    return view.memo(  # type: ignore[return-value]
        "dkim keys", lambda v: [(r, *key_problem(txt_text(r))) for r in kinds(v).dkim]
    )


def _label(view: ZoneView, record: Record) -> str:
    return view.label(view.key(record[0]))


@rule(
    "dkim-syntax", Severity.ERROR, "a DKIM key record that verifiers cannot use", applies=has_dkim
)
def dkim_syntax(view: ZoneView) -> Iterator[Diagnostic]:
    for record, problem, _ in _keys(view):
        if problem:
            yield _report(
                "dkim-syntax",
                record.position,
                f"DKIM key '{_label(view, record)}'{view.view_note}: {problem}; mail signed "
                "with it fails DKIM (RFC 6376 3.6.1)",
            )


@rule(
    "dkim-key-too-weak", Severity.ERROR, "a DKIM RSA key shorter than 1,024 bits", applies=has_dkim
)
def dkim_key_too_weak(view: ZoneView) -> Iterator[Diagnostic]:
    for record, _, bits in _keys(view):
        if bits is not None and bits < _TOO_WEAK:
            yield _report(
                "dkim-key-too-weak",
                record.position,
                f"DKIM key '{_label(view, record)}' is RSA of {bits} bits{view.view_note}; "
                f"verifiers refuse keys under {_TOO_WEAK} bits (RFC 8301): make a key of "
                f"{_STRONG} bits",
            )


@rule(
    "dkim-key-short", Severity.WARNING, "a DKIM RSA key shorter than 2,048 bits", applies=has_dkim
)
def dkim_key_short(view: ZoneView) -> Iterator[Diagnostic]:
    for record, _, bits in _keys(view):
        if bits is not None and _TOO_WEAK <= bits < _STRONG:
            yield _report(
                "dkim-key-short",
                record.position,
                f"DKIM key '{_label(view, record)}' is RSA of {bits} bits{view.view_note}; "
                f"RFC 8301 asks signers for {_STRONG} bits or more: make a new key and selector",
            )
