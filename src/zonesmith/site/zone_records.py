"""One record of a zone as written in YAML (``[TTL] TYPE RDATA``), parsed into the model."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tokenizer

from zonesmith import presentation
from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.site.values import parse_ttl

_FAST_TYPE_CODES = {dns.rdatatype.to_text(t): t for t in presentation.FAST_TYPES} | {
    dns.rdatatype.to_text(t).lower(): t for t in presentation.FAST_TYPES
}


_TYPE_HINTS = {
    "A": "an IPv4 address such as 192.0.2.1",
    "AAAA": "an IPv6 address such as 2001:db8::1",
    "MX": "PREFERENCE EXCHANGE with a preference from 0 to 65535, e.g. MX 10 mail.example.com.",
    "SRV": "PRIORITY WEIGHT PORT TARGET, each number 0-65535, e.g. SRV 10 5 5060 sip.example.com.",
    "CAA": 'FLAGS TAG "VALUE" with flags 0-255, e.g. CAA 0 issue "letsencrypt.org"',
    "CNAME": "one domain name, e.g. CNAME www.example.com.",
    "NS": "one domain name, e.g. NS ns1.example.com.",
    "PTR": "one domain name, e.g. PTR host.example.com.",
    "TXT": 'one or more strings, e.g. TXT "v=spf1 mx -all"',
    "SSHFP": "ALGORITHM TYPE FINGERPRINT, e.g. SSHFP 4 2 <hex>",
    "TLSA": "USAGE SELECTOR TYPE DATA, e.g. TLSA 3 1 1 <hex>",
}


# [TTL] [IN] TYPE RDATA, with the TTL and class in either order as in master files.
_RECORD_TEXT = re.compile(
    r"(?:(?P<ttl>[0-9][0-9A-Za-z]*)[ \t]+)?(?:(?i:in)[ \t]+)?"
    r"(?:(?P<ttl2>[0-9][0-9A-Za-z]*)[ \t]+)?(?P<type>[A-Za-z][A-Za-z0-9-]*)(?:[ \t]+|$)"
)
_TYPES: dict[str, int] = {}


def _rdtype(text: str) -> int:
    """The type number of a mnemonic (or TYPEnnn); raises UnknownRdatatype."""
    rdtype = _TYPES.get(text)
    if rdtype is None:
        rdtype = _TYPES[text] = dns.rdatatype.from_text(text)
    return rdtype


def parse_record_text(
    text: str,
    position: Position,
    origin: str,
    report: Callable[[Diagnostic], None],
) -> tuple[int | None, int, str, dns.rdata.Rdata | None] | None:
    """Parse ``[TTL] [IN] TYPE RDATA`` relative to ``origin`` (absolute text).

    Returns (ttl or None, type, canonical absolute RDATA text, the dnspython
    object if one was made), or None after reporting the problem. TXT and
    SPF strings longer than 255 octets are split into 255-octet strings, so
    authors can write a DKIM key as one string.
    """
    stripped = text.lstrip()
    lead = len(text) - len(stripped)
    match = _RECORD_TEXT.match(stripped)
    if match is None:
        report(
            error(position, "bad-record", f"'{text}' has no record type; write e.g. 'A 192.0.2.1'")
        )
        return None
    ttl = None
    if match["ttl"] and match["ttl2"]:
        report(
            error(
                position.shifted(lead + match.start("ttl2")),
                "bad-ttl",
                f"'{text}' gives two TTLs; write one, e.g. '300 A 192.0.2.1'",
            )
        )
        return None
    ttl_text = match["ttl"] or match["ttl2"]
    if ttl_text is not None:
        try:
            ttl = parse_ttl(ttl_text)
        except ValueError as exc:
            at = match.start("ttl") if match["ttl"] else match.start("ttl2")
            report(error(position.shifted(lead + at), "bad-ttl", str(exc)))
            return None
    type_text = match["type"]
    type_offset = lead + match.start("type")
    try:
        rdtype = _rdtype(type_text.upper())
    except dns.rdatatype.UnknownRdatatype:
        known = [t.name for t in dns.rdatatype.RdataType]
        close = difflib.get_close_matches(type_text.upper(), known, n=1)
        hint = f"did you mean {close[0]}?" if close else "write a type such as A, AAAA, MX, TXT"
        report(
            error(
                position.shifted(type_offset),
                "unknown-type",
                f"unknown record type '{type_text}'; {hint}",
            )
        )
        return None
    if dns.rdatatype.is_metatype(rdtype) or rdtype == dns.rdatatype.OPT:
        report(
            error(
                position.shifted(type_offset),
                "unknown-type",
                f"'{type_text}' is not a record type that can be in a zone",
            )
        )
        return None
    data_text = stripped[match.end() :]
    rdata_offset = lead + match.end()
    try:
        if rdtype in (dns.rdatatype.TXT, dns.rdatatype.SPF):
            canonical = presentation.fast(rdtype, data_text.strip(), origin)
            if canonical is not None:
                return ttl, rdtype, canonical, None
            rdata = _split_txt(rdtype, data_text)
            _check_rdata_size(rdata)
            return ttl, rdtype, rdata.to_text(), rdata
        canonical, rdata = presentation.parse(rdtype, data_text, origin)
        if rdata is not None and len(data_text) > 8000:
            _check_rdata_size(rdata)  # only long text can exceed RDLENGTH
    except Exception as exc:  # dnspython raises many kinds for bad rdata
        type_name = dns.rdatatype.to_text(rdtype)
        reason = str(exc) or type(exc).__name__
        hint = _TYPE_HINTS.get(type_name)
        message = f"invalid {type_name} data '{data_text.strip()}': {reason}"
        if hint:
            message += f"; expected {hint}"
        report(error(position.shifted(rdata_offset), "bad-rdata", message))
        return None
    return ttl, rdtype, canonical, rdata


def _check_rdata_size(rdata: dns.rdata.Rdata) -> None:
    """Raise ValueError if ``rdata`` does not fit a DNS message, as master files are checked."""
    from zonesmith.site.masterfile.records import _MAX_RDATA as MAX_RDATA

    size = len(rdata.to_wire())
    if size > MAX_RDATA:
        raise ValueError(
            f"the data is {size} octets, more than the {MAX_RDATA} that fit in a DNS message"
        )


def _split_txt(rdtype: dns.rdatatype.RdataType, text: str) -> dns.rdata.Rdata:
    tokenizer = dns.tokenizer.Tokenizer(text)
    strings: list[bytes] = []
    while True:
        token = tokenizer.get().unescape_to_bytes()
        if token.is_eol_or_eof():
            break
        if not (token.is_quoted_string() or token.is_identifier()):
            raise dns.exception.SyntaxError("expected a string")
        value = token.value if isinstance(token.value, bytes) else token.value.encode()
        if not value:
            strings.append(b"")
        for start in range(0, len(value), 255):
            strings.append(value[start : start + 255])
    if not strings:
        raise dns.exception.SyntaxError("no strings given")
    cls = dns.rdata.get_rdata_class(dns.rdataclass.IN, rdtype)
    return cls(dns.rdataclass.IN, rdtype, strings)
