"""Names and RDATA in presentation format: a fast path for common types, dnspython for all.

A zone of a million records is mostly A, AAAA, CNAME and TXT. Parsing each
with dnspython builds Name and Rdata objects, which is most of the work of
loading such a zone. So the common, simple forms are checked and canonicalised here with string
operations and C-implemented helpers, giving exactly the text dnspython's
``to_text()`` would give; anything else (escapes, other types, odd spellings)
goes to dnspython, which stays the reference the fast path is tested against.

Names are handled as absolute presentation text (``www.example.com.``).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable
from functools import lru_cache

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith.bindrdata import refusal

T = dns.rdatatype

# A label of a name that needs no escaping in presentation format.
_LABEL = r"[A-Za-z0-9_-]{1,63}"
_SIMPLE_NAME = re.compile(rf"(?:\*|{_LABEL})(?:\.{_LABEL})*\.?|@")
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_IPV6_CHARS = re.compile(r"[0-9A-Fa-f:]+")
# TXT: quoted strings of printable ASCII without quote or backslash, or plain words.
_TXT = re.compile(
    r'(?:"[ !#-\[\]-~]*"|[!#-\'*-:<-\[\]-~]+)(?:[ \t]+(?:"[ !#-\[\]-~]*"|[!#-\'*-:<-\[\]-~]+))*'
)
_TXT_STRING = re.compile(r'"([ !#-\[\]-~]*)"|([!#-\'*-:<-\[\]-~]+)')
_UINT16 = re.compile(
    r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)"
)
_MX = re.compile(rf"({_UINT16.pattern})[ \t]+(\S+)")
_SRV = re.compile(
    rf"({_UINT16.pattern})[ \t]+({_UINT16.pattern})[ \t]+({_UINT16.pattern})[ \t]+(\S+)"
)

#: Types whose RDATA is a single domain name.
NAME_TYPES = frozenset({T.CNAME, T.NS, T.PTR, T.DNAME})
#: Types the fast path handles (others always go to dnspython).
FAST_TYPES = NAME_TYPES | {T.A, T.AAAA, T.TXT, T.SPF, T.MX, T.SRV}


def absolute_name(text: str, origin: str) -> str | None:
    """``text`` as an absolute name relative to ``origin`` (absolute text), or None.

    None means "not a simple name": the caller asks dnspython, which either
    handles the escapes or says why the name is wrong.
    """
    if not _SIMPLE_NAME.fullmatch(text):
        return None
    if text == "@":
        return origin
    if text[-1] != ".":
        text = f"{text}.{origin}" if origin != "." else f"{text}."
    # Wire length: one length octet per label plus the root: len(text) + 1.
    if len(text) > 254:
        return None
    return text


@lru_cache(maxsize=4096)
def _origin_name(origin: str) -> dns.name.Name:
    return dns.name.from_text(origin)


def name_text(text: str, origin: str) -> str:
    """The absolute presentation form of a name; raises dns.exception.DNSException."""
    fast = absolute_name(text, origin)
    if fast is not None:
        return fast
    return dns.name.from_text(text, _origin_name(origin)).to_text()


def name_key(name: str, origin: str) -> str:
    """A sort and lookup key for a name of the zone ``origin`` (both absolute text).

    Lower case, labels below the origin in reverse order joined by NUL, so
    that sorting keys sorts names in DNSSEC canonical order (RFC 4034 6.1)
    for names without escapes; '' is the apex.
    """
    if len(name) == len(origin):
        return ""
    relative = name[: len(name) - len(origin) - 1] if origin != "." else name[:-1]
    if "\\" in relative:
        labels = dns.name.from_text(relative, None).labels
        return "\x00".join(label.decode("latin-1").lower() for label in reversed(labels))
    relative = relative.lower()
    if "." not in relative:
        return relative
    return "\x00".join(reversed(relative.split(".")))


def suffix_length(origin: str) -> int:
    """How many characters an absolute name below ``origin`` ends with that are not its own:
    ``len(".example.com.")``, but 1 for the root, whose names end with "." alone."""
    return len(origin) + 1 if origin != "." else 1


def is_subdomain(name: str, origin: str) -> bool:
    """Whether absolute ``name`` is ``origin`` or below it (case-insensitive)."""
    if "\\" in name or "\\" in origin:
        # "a\.example.com." ends with ".example.com." but is not below it.
        return dns.name.from_text(name).is_subdomain(dns.name.from_text(origin))
    if origin == ".":
        return True
    if len(name) == len(origin):
        return name.lower() == origin.lower()
    return name.lower().endswith("." + origin.lower())


def _fast_a(text: str, origin: str) -> str | None:
    return text if _IPV4.fullmatch(text) else None


def is_plain_ipv4(text: str) -> bool:
    """Whether ``text`` is an IPv4 address in its one canonical spelling (dotted quad, no
    leading zeros): what ``ipaddress`` would read and write back unchanged."""
    return _IPV4.fullmatch(text) is not None


def _fast_aaaa(text: str, origin: str) -> str | None:
    if not _IPV6_CHARS.fullmatch(text):
        return None  # embedded IPv4 and the like: dnspython formats those
    try:
        canonical = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, text))
    except OSError:
        return None
    return None if "." in canonical else canonical


def _fast_txt(text: str, origin: str) -> str | None:
    # Long TXT may not fit a message: dnspython's object is measured then.
    if len(text) > 8000 or not _TXT.fullmatch(text):
        return None
    strings = []
    for quoted, bare in _TXT_STRING.findall(text):
        value = quoted or bare
        if len(value) > 255:
            return None
        strings.append(f'"{value}"')
    return " ".join(strings)


def _fast_mx(text: str, origin: str) -> str | None:
    match = _MX.fullmatch(text)
    if not match:
        return None
    exchange = absolute_name(match[2], origin)
    return None if exchange is None else f"{int(match[1])} {exchange}"


def _fast_srv(text: str, origin: str) -> str | None:
    match = _SRV.fullmatch(text)
    if not match:
        return None
    target = absolute_name(match[4], origin)
    if target is None:
        return None
    return f"{int(match[1])} {int(match[2])} {int(match[3])} {target}"


#: type -> its fast check: canonical text, or None to ask dnspython
CHECKERS: dict[int, Callable[[str, str], str | None]] = {
    T.A: _fast_a,
    T.AAAA: _fast_aaaa,
    T.TXT: _fast_txt,
    T.SPF: _fast_txt,
    T.MX: _fast_mx,
    T.SRV: _fast_srv,
    **{rdtype: absolute_name for rdtype in NAME_TYPES},
}


def fast(rdtype: int, text: str, origin: str) -> str | None:
    """The canonical text for simple RDATA of a fast type, or None to ask dnspython."""
    checker = CHECKERS.get(rdtype)
    return checker(text, origin) if checker is not None else None


def parse(rdtype: int, text: str, origin: str) -> tuple[str, dns.rdata.Rdata | None]:
    """Canonical absolute text of RDATA, and the dnspython object if one was made.

    Raises whatever dnspython raises for text it rejects (the caller turns it
    into a diagnostic).
    """
    if rdtype in FAST_TYPES:
        canonical = fast(rdtype, text.strip(), origin)
        if canonical is not None:
            return canonical, None
    rdata = dns.rdata.from_text(
        dns.rdataclass.IN, rdtype, text, origin=_origin_name(origin), relativize=False
    )
    check(rdata)
    return rdata.to_text(), rdata


def check(rdata: dns.rdata.Rdata) -> None:
    """Raise ValueError if BIND would refuse RDATA that dnspython read."""
    problem = refusal(rdata)
    if problem is not None:
        raise ValueError(problem)


def materialize(rdtype: int, text: str) -> dns.rdata.Rdata:
    """A dnspython object for canonical absolute text (for rules that need fields)."""
    return dns.rdata.from_text(
        dns.rdataclass.IN, rdtype, text, origin=dns.name.root, relativize=False
    )


def relativize(rdtype: int, text: str, rdata: dns.rdata.Rdata | None, origin: str) -> str:
    """RDATA text with names below ``origin`` written relative to it, as in a zone file."""
    if rdtype in (T.A, T.AAAA, T.TXT, T.SPF):
        return text
    if rdtype in NAME_TYPES:
        return relative_name(text, origin)
    if rdtype == T.MX or rdtype == T.SRV:
        head, _, target = text.rpartition(" ")
        if "\\" not in target and '"' not in head:
            return f"{head} {relative_name(target, origin)}"
    if origin != "." and text.count(origin) != text.lower().count(origin.lower()):
        # A name below the origin spelt in another case: written relative, it
        # would take the origin's case. RFC 4034 6.2 keeps the case of names in
        # RDATA of NSEC, RRSIG and others, so it stays absolute, as written.
        return text
    rdata = rdata if rdata is not None else materialize(rdtype, text)
    return rdata.to_text(origin=_origin_name(origin), relativize=True)


def relative_name(name: str, origin: str) -> str:
    """A name written relative to ``origin`` ('@' for the origin itself), as zone files do.

    Only when it ends with the origin spelt in the same case: otherwise the
    zone file would give it the origin's case, so it is written absolute.
    """
    if name == origin:
        return "@"
    if "\\" in name:
        if origin != "." and name.endswith("." + origin):
            return dns.name.from_text(name).relativize(_origin_name(origin)).to_text()
        return name
    if name.endswith("." + origin):
        return name[: len(name) - len(origin) - 1]
    return name


def target(rdtype: int, text: str) -> str | None:
    """The domain name an NS, CNAME, PTR, DNAME, MX or SRV record points to."""
    if rdtype in NAME_TYPES:
        return text
    if rdtype in (T.MX, T.SRV):
        return text.rpartition(" ")[2]
    return None


__all__ = [
    "CHECKERS",
    "FAST_TYPES",
    "NAME_TYPES",
    "absolute_name",
    "check",
    "fast",
    "is_subdomain",
    "materialize",
    "name_key",
    "name_text",
    "parse",
    "relative_name",
    "relativize",
    "suffix_length",
    "target",
]
