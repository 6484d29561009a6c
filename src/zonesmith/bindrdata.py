"""dnspython's reading of RDATA brought in line with what BIND 9.18 loads.

zonesmith promises that ``check`` accepts exactly the records ``named`` loads.
dnspython, which reads every record's RDATA, differs from BIND both ways:

- it lacks types BIND reads (A6, MB, MG, MR, MINFO, NXT, TA) and refuses some
  values BIND loads: DS-style digest type 0 and GOST digests of any length,
  TYPE0 in NSEC/CSYNC type bitmaps, an empty URI target, EUI48/EUI64 in
  BIND's looser form, any SVCB ``ech`` value that is not a well-formed
  ECHConfigList, RRSIG times after 2106 (BIND reads them with serial-number
  arithmetic, RFC 4034 3.1.5); importing this module teaches dnspython those
  (for every user of dnspython in the process, which is what makes a zone
  zonesmith writes read back the same);
- it loads some RDATA BIND refuses: :func:`refusal` says why BIND would.
"""

from __future__ import annotations

import datetime
import re
import socket

import dns._text_util
import dns.dnssectypes
import dns.exception
import dns.immutable
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CDS
import dns.rdtypes.ANY.DLV
import dns.rdtypes.ANY.DS
import dns.rdtypes.ANY.EUI48
import dns.rdtypes.ANY.EUI64
import dns.rdtypes.ANY.RP
import dns.rdtypes.ANY.URI
import dns.rdtypes.dsbase
import dns.rdtypes.nsbase
import dns.rdtypes.rrsigbase
import dns.rdtypes.svcbbase
import dns.rdtypes.util

T = dns.rdatatype

__all__ = ["refusal"]

# BIND checks the digest length of these DS digest types only (lib/dns/rdata/generic/ds_43.c).
_BIND_DIGEST_LENGTHS = {1: 20, 2: 32, 4: 48}


def _ds_like(base: type, name: str) -> type:
    @dns.immutable.immutable
    class BindDS(base):  # type: ignore[valid-type,misc]
        def __init__(self, rdclass, rdtype, key_tag, algorithm, digest_type, digest):  # noqa: ANN001
            dns.rdata.Rdata.__init__(self, rdclass, rdtype)
            self.key_tag = self._as_uint16(key_tag)
            self.algorithm = dns.dnssectypes.Algorithm.make(algorithm)
            self.digest_type = dns.dnssectypes.DSDigest.make(self._as_uint8(digest_type))
            self.digest = self._as_bytes(digest)
            wanted = _BIND_DIGEST_LENGTHS.get(self.digest_type)
            if wanted is not None and len(self.digest) != wanted:
                raise ValueError("digest length inconsistent with digest type")

    BindDS.__name__ = BindDS.__qualname__ = name  # module-level: its objects pickle
    return BindDS


def _eui_like(base: type, name: str) -> type:
    # BIND 9.18 reads EUI48/EUI64 with sscanf("%2x-%2x-..."): groups of one
    # or two hex digits, anything after the last group ignored.
    groups = re.compile("-".join([r"([0-9A-Fa-f]{1,2})"] * base.byte_len))

    @dns.immutable.immutable
    class BindEUI(base):  # type: ignore[valid-type,misc]
        @classmethod
        def from_text(cls, rdclass, rdtype, tok, origin=None, relativize=True, relativize_to=None):  # noqa: ANN001, ANN206
            match = groups.match(tok.get_string())
            octets = [int(group, 16) for group in match.groups()] if match else []
            if not octets:
                raise dns.exception.SyntaxError(
                    f"expected {base.byte_len} hex octets separated by '-'"
                )
            return cls(rdclass, rdtype, bytes(octets))

    BindEUI.__name__ = BindEUI.__qualname__ = name
    return BindEUI


_DS = _ds_like(dns.rdtypes.ANY.DS.DS, "_DS")
_CDS = _ds_like(dns.rdtypes.ANY.CDS.CDS, "_CDS")
_DLV = _ds_like(dns.rdtypes.ANY.DLV.DLV, "_DLV")
_TA = _ds_like(dns.rdtypes.dsbase.DSBase, "_TA")
_EUI48 = _eui_like(dns.rdtypes.ANY.EUI48.EUI48, "_EUI48")
_EUI64 = _eui_like(dns.rdtypes.ANY.EUI64.EUI64, "_EUI64")


@dns.immutable.immutable
class _URI(dns.rdtypes.ANY.URI.URI):
    """URI; BIND loads an empty target."""

    def __init__(self, rdclass, rdtype, priority, weight, target):  # noqa: ANN001
        dns.rdata.Rdata.__init__(self, rdclass, rdtype)
        self.priority = self._as_uint16(priority)
        self.weight = self._as_uint16(weight)
        self.target = self._as_bytes(target, True)

    @classmethod
    def from_wire_parser(cls, rdclass, rdtype, parser, origin=None):  # noqa: ANN001, ANN206
        priority, weight = parser.get_struct("!HH")
        return cls(rdclass, rdtype, priority, weight, parser.get_remaining())


@dns.immutable.immutable
class _ECHParam(dns.rdtypes.svcbbase.ECHParam):
    """SVCB ``ech``: BIND loads any base64 value, even none."""

    def __init__(self, ech):  # noqa: ANN001
        self.ech = dns.rdata.Rdata._as_bytes(ech, True)

    @classmethod
    def emptiness(cls) -> dns.rdtypes.svcbbase.Emptiness:
        return dns.rdtypes.svcbbase.Emptiness.ALLOWED

    @classmethod
    def from_value(cls, value):  # noqa: ANN001, ANN206
        if value is None or value == "":
            return cls(b"")
        return super().from_value(value)


@dns.immutable.immutable
class _MB(dns.rdtypes.nsbase.NSBase):
    """MB, MG and MR (RFC 1035 3.3): one domain name."""


@dns.immutable.immutable
class _MINFO(dns.rdtypes.ANY.RP.RP):
    """MINFO (RFC 1035 3.3.7): two mailbox names, laid out as RP's."""


@dns.immutable.immutable
class _A6(dns.rdata.Rdata):
    """A6 (RFC 2874 3.1): prefix length, the address bits after it, the prefix's name."""

    __slots__ = ["prefix_len", "suffix", "prefix"]

    def __init__(self, rdclass, rdtype, prefix_len, suffix, prefix):  # noqa: ANN001
        super().__init__(rdclass, rdtype)
        self.prefix_len = self._as_int(prefix_len, 0, 128)
        self.suffix = self._as_bytes(suffix, False, 16)
        self.prefix = None if prefix is None else self._as_name(prefix)
        if len(self.suffix) != 16 - self.prefix_len // 8 or (self.prefix is None) != (
            self.prefix_len == 0
        ):
            raise ValueError("A6 suffix or prefix name does not match the prefix length")

    def to_styled_text(self, style: dns.rdata.RdataStyle) -> str:
        parts = [str(self.prefix_len)]
        if self.prefix_len < 128:
            address = bytes(16 - len(self.suffix)) + self.suffix
            parts.append(socket.inet_ntop(socket.AF_INET6, address))
        if self.prefix is not None:
            parts.append(self.prefix.to_styled_text(style))
        return " ".join(parts)

    @classmethod
    def from_text(cls, rdclass, rdtype, tok, origin=None, relativize=True, relativize_to=None):  # noqa: ANN001, ANN206
        prefix_len = tok.get_uint8()
        if prefix_len > 128:
            raise dns.exception.SyntaxError("A6 prefix length is more than 128")
        suffix = b""
        if prefix_len < 128:
            address = bytearray(socket.inet_pton(socket.AF_INET6, tok.get_string()))
            octets = 16 - prefix_len // 8
            address[16 - octets] &= 0xFF >> (prefix_len % 8)  # as BIND: bits of the prefix are 0
            suffix = bytes(address[16 - octets :])
        prefix = tok.get_name(origin, relativize, relativize_to) if prefix_len > 0 else None
        return cls(rdclass, rdtype, prefix_len, suffix, prefix)

    def _to_wire(self, file, compress=None, origin=None, canonicalize=False):  # noqa: ANN001
        file.write(bytes([self.prefix_len]) + self.suffix)
        if self.prefix is not None:
            self.prefix.to_wire(file, None, origin, canonicalize)

    @classmethod
    def from_wire_parser(cls, rdclass, rdtype, parser, origin=None):  # noqa: ANN001, ANN206
        prefix_len = parser.get_uint8()
        if prefix_len > 128:
            raise dns.exception.FormError("A6 prefix length is more than 128")
        suffix = parser.get_bytes(16 - prefix_len // 8) if prefix_len < 128 else b""
        prefix = parser.get_name(origin) if prefix_len > 0 else None
        return cls(rdclass, rdtype, prefix_len, suffix, prefix)


@dns.immutable.immutable
class _NXT(dns.rdata.Rdata):
    """NXT (RFC 2535 5.2): the next name and a bitmap of the types 1 to 127."""

    __slots__ = ["next", "bitmap"]

    def __init__(self, rdclass, rdtype, next, bitmap):  # noqa: ANN001, A002
        super().__init__(rdclass, rdtype)
        self.next = self._as_name(next)
        self.bitmap = self._as_bytes(bitmap, False, 16)

    def to_styled_text(self, style: dns.rdata.RdataStyle) -> str:
        types = [
            dns.rdatatype.to_text(i * 8 + j)
            for i, octet in enumerate(self.bitmap)
            for j in range(8)
            if octet & (0x80 >> j)
        ]
        return " ".join([self.next.to_styled_text(style), *types])

    @classmethod
    def from_text(cls, rdclass, rdtype, tok, origin=None, relativize=True, relativize_to=None):  # noqa: ANN001, ANN206
        next_name = tok.get_name(origin, relativize, relativize_to)
        bitmap = bytearray(16)
        top = 0
        for token in tok.get_remaining():
            rdtype_value = dns.rdatatype.from_text(token.unescape().value)
            if not 0 < rdtype_value < 128:
                raise dns.exception.SyntaxError("NXT can only list the types 1 to 127")
            bitmap[rdtype_value // 8] |= 0x80 >> (rdtype_value % 8)
            top = max(top, rdtype_value // 8 + 1)
        return cls(rdclass, rdtype, next_name, bytes(bitmap[:top]))

    def _to_wire(self, file, compress=None, origin=None, canonicalize=False):  # noqa: ANN001
        self.next.to_wire(file, None, origin, canonicalize)
        file.write(self.bitmap)

    @classmethod
    def from_wire_parser(cls, rdclass, rdtype, parser, origin=None):  # noqa: ANN001, ANN206
        next_name = parser.get_name(origin)
        return cls(rdclass, rdtype, next_name, parser.get_remaining())


def _bitmap_from_text(cls, tok):  # noqa: ANN001, ANN202
    # As dnspython's, without refusing TYPE0: BIND loads it (RFC 4034 4.1.2 sets no such rule).
    return cls.from_rdtypes(
        [dns.rdatatype.from_text(t.unescape().value) for t in tok.get_remaining()]
    )


_SIGTIME_LIMIT = 2**32


def _sigtime_to_posixtime(what: str) -> int:
    # RFC 4034 3.1.5: the fields are serial numbers; BIND reads a
    # YYYYMMDDHHmmSS time of any year modulo 2^32 and a number up to 2^32-1.
    if not dns._text_util.is_ascii_digits(what) or len(what) not in (*range(1, 11), 14):
        raise dns.rdtypes.rrsigbase.BadSigTime
    if len(what) <= 10:
        if int(what) >= _SIGTIME_LIMIT:
            raise dns.rdtypes.rrsigbase.BadSigTime
        return int(what)
    try:
        value = datetime.datetime.strptime(what, "%Y%m%d%H%M%S").replace(tzinfo=datetime.UTC)
    except ValueError:
        raise dns.rdtypes.rrsigbase.BadSigTime from None
    return int(value.timestamp()) % _SIGTIME_LIMIT


def _install() -> None:
    classes = dns.rdata._rdata_classes  # no public way to replace an implementation
    replaced = {
        T.DS: _DS,
        T.CDS: _CDS,
        T.DLV: _DLV,
        T.TA: _TA,
        T.URI: _URI,
        T.EUI48: _EUI48,
        T.EUI64: _EUI64,
        T.MB: _MB,
        T.MG: _MB,
        T.MR: _MB,
        T.MINFO: _MINFO,
        T.A6: _A6,
        T.NXT: _NXT,
    }
    for rdtype, cls in replaced.items():
        classes[(dns.rdataclass.ANY, rdtype)] = cls
        classes[(dns.rdataclass.IN, rdtype)] = cls
    dns.rdtypes.svcbbase._class_for_key[dns.rdtypes.svcbbase.ParamKey.ECH] = _ECHParam
    dns.rdtypes.util.Bitmap.from_text = classmethod(_bitmap_from_text)  # type: ignore[method-assign]
    dns.rdtypes.rrsigbase.sigtime_to_posixtime = _sigtime_to_posixtime


_install()


# --------------------------------------------------------------------------- refusals

_LOC_MAX_ALTITUDE = 2**32 - 1 - 10_000_000  # cm above the 100 km below the WGS 84 spheroid
_LOC_MIN_ALTITUDE = -10_000_000
_LOC_MAX_SIZE = 9_000_000_000  # cm: 9e9 is the largest BIND's mantissa-exponent form takes
_X25_MIN = 4  # BIND: an X.121 address of at least four digits


def _loc(rdata: dns.rdata.Rdata) -> str | None:
    altitude = round(rdata.altitude)
    if not _LOC_MIN_ALTITUDE <= altitude <= _LOC_MAX_ALTITUDE:
        return "altitude out of range -100000.00m..42849672.95m"
    for what, size in (
        ("size", rdata.size),
        ("horizontal precision", rdata.horizontal_precision),
        ("vertical precision", rdata.vertical_precision),
    ):
        if size > _LOC_MAX_SIZE:
            return f"{what} out of range 0m..90000000m"
    return None


def _svcb(rdata: dns.rdata.Rdata) -> str | None:
    key = dns.rdtypes.svcbbase.ParamKey.DOHPATH
    if key in rdata.params and not getattr(rdata.params[key], "value", b""):
        return "dohpath needs a value, a URI template such as /dns-query{?dns}"
    return None


def _x25(rdata: dns.rdata.Rdata) -> str | None:
    address = rdata.address
    if len(address) < _X25_MIN or not address.isdigit():
        return "an X.25 PSDN address is at least four digits"
    return None


def _key(rdata: dns.rdata.Rdata) -> str | None:
    # RFC 2535 3.1.2: only a KEY flagged "no key" (both top bits) may go without one
    if rdata.key or (rdata.rdtype == T.KEY and rdata.flags & 0xC000 == 0xC000):
        return None
    return "the public key is missing (base64; a CDNSKEY delete request is 0 3 0 AA==)"


def _digest(rdata: dns.rdata.Rdata) -> str | None:
    if rdata.digest:
        return None
    return "the digest is missing (hex; a CDS delete request is 0 0 0 00)"


_CHECKS = {
    **dict.fromkeys((T.DNSKEY, T.CDNSKEY, T.KEY), _key),
    **dict.fromkeys((T.DS, T.CDS, T.DLV, T.TA), _digest),
    T.DHCID: lambda r: None if r.data else "DHCID needs data (base64)",
    T.IPSECKEY: lambda r: None if r.key else "IPSECKEY needs a public key (base64)",
    T.LOC: _loc,
    T.SVCB: _svcb,
    T.HTTPS: _svcb,
    T.X25: _x25,
}


def refusal(rdata: dns.rdata.Rdata) -> str | None:
    """Why BIND 9.18 refuses RDATA that dnspython read, or None if BIND loads it too."""
    check = _CHECKS.get(rdata.rdtype)
    return check(rdata) if check is not None else None
