"""Scalar values of a site: durations and TTLs, names, contacts, address-match elements."""

from __future__ import annotations

import ipaddress
import re
from typing import TYPE_CHECKING

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.txtbase
import dns.tokenizer

if TYPE_CHECKING:  # pragma: no cover
    pass


MAX_TTL = 2**31 - 1
TSIG_ALGORITHMS = (
    "hmac-md5",
    "hmac-sha1",
    "hmac-sha224",
    "hmac-sha256",
    "hmac-sha384",
    "hmac-sha512",
)

_DURATION_PART = re.compile(r"(\d+)([smhdw])", re.IGNORECASE)
_DURATION = re.compile(r"(?:\d+[smhdw])+", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> int:
    """Seconds from ``3600``, ``1h``, ``1h30m`` or ``2W`` (BIND's units).

    Raises ValueError with a message saying what is accepted.
    """
    text = text.strip()
    if text.isdigit():
        return int(text)
    if _DURATION.fullmatch(text):
        return sum(int(n) * _UNIT_SECONDS[u.lower()] for n, u in _DURATION_PART.findall(text))
    raise ValueError(
        f"'{text}' is not a duration; "
        "write seconds (3600) or BIND units such as 30s, 5m, 1h, 1d, 2w"
    )


def parse_ttl(text: str) -> int:
    """A TTL: a duration within 0..2^31-1 (RFC 2181 section 8)."""
    seconds = parse_duration(text)
    if seconds > MAX_TTL:
        raise ValueError(f"TTL {seconds} is out of range; the largest TTL is {MAX_TTL} (2^31-1)")
    return seconds


def describe_name_error(text: str, exc: Exception) -> str:
    """A readable reason why ``text`` is not a valid domain name."""
    if isinstance(exc, dns.name.LabelTooLong):
        return f"{shown(text)} has a label longer than 63 octets"
    if isinstance(exc, dns.name.NameTooLong):
        return f"{shown(text)} is longer than 255 octets"
    if isinstance(exc, dns.name.EmptyLabel):
        return f"{shown(text)} has an empty label (two dots in a row, or a leading dot)"
    return f"{shown(text)} is not a valid domain name: {exc}"


#: The longest server, view, key or blocklist name (as long as a DNS label).
MAX_IDENTIFIER = 63
# Server, view, key and blocklist names become file and folder names and
# configuration identifiers: letters, digits, '-', '_' and '.', never first.
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]*")
# A zone, catalog or key name as dnspython writes it, in the characters that
# BIND, NSD, Knot and Unbound all take in their configurations (dnspython
# escapes quotes, spaces, ';' and control characters with a backslash, which
# no configuration format but BIND's can carry); '/' is RFC 2317's.
_CONFIG_NAME = re.compile(r"(?:[A-Za-z0-9_/-]+\.)*")
_CONFIG_OCTET = re.compile(rb"[^A-Za-z0-9_/-]")
# An e-mail address for the SOA contact in the same characters, plus '+'.
_CONTACT = re.compile(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]*@[A-Za-z0-9_.-]+|[A-Za-z0-9_.-]+")
# Octets no owner name may hold: servers take them escaped, but they are how a
# hostile zone smuggles quotes, spaces and line ends into tools that read it.
_UNSAFE_OWNER_OCTETS = re.compile(rb"[\x00-\x20\x7f\"'\\;{}]")
# A server's path is written into configurations, units and cron lines.
_SERVER_PATH = re.compile(r"/[A-Za-z0-9/._+@,=:-]*")
_SHOWN_LIMIT = 100


def shown(text: str) -> str:
    """``text`` quoted for a one-line message: escapes for controls, cut when long."""
    escaped = "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )
    if len(escaped) > _SHOWN_LIMIT:
        escaped = escaped[:_SHOWN_LIMIT] + "..."
    return f"'{escaped}'"


def identifier_problem(name: str) -> str | None:
    """Why ``name`` cannot be a server, view, key or blocklist name, or None."""
    if _IDENTIFIER.fullmatch(name) and len(name) <= MAX_IDENTIFIER:
        return None
    rule = (
        f"use letters, digits, '-', '_' and '.' (not first), at most {MAX_IDENTIFIER} "
        "characters (it names files and configuration entries)"
    )
    if not name:
        return f"an empty name; {rule}"
    if len(name) > MAX_IDENTIFIER:
        return f"{shown(name)} is {len(name)} characters long; {rule}"
    if name[0] == ".":
        return f"{shown(name)} starts with a dot; {rule}"
    bad = next(c for c in name if not _IDENTIFIER.fullmatch("a" + c))
    return f"{shown(name)} holds {shown(bad)}; {rule}"


def config_name_problem(text: str) -> str | None:
    """Why a zone, catalog or key name (absolute, as dnspython writes it) cannot be
    written into a server's configuration, or None."""
    if _CONFIG_NAME.fullmatch(text) or text == ".":
        return None
    bad = _CONFIG_OCTET.search(b"".join(dns.name.from_text(text).labels))
    octet = bad[0].decode("latin-1") if bad else "."
    return (
        f"the name holds {shown(octet)}; server configurations take names of "
        "letters, digits, '-', '_' and '/' only"
    )


def unsafe_owner(name: str) -> str | None:
    """Why an owner name (absolute presentation text) is refused, or None."""
    if "\\" not in name and not _UNSAFE_OWNER_OCTETS.search(name.encode("utf-8", "replace")):
        return None
    labels = b"".join(dns.name.from_text(name).labels)
    bad = _UNSAFE_OWNER_OCTETS.search(labels)
    if bad is None:
        return None
    return (
        f"the name holds {shown(bad[0].decode('latin-1'))}; owner names may not hold "
        "spaces, control characters, quotes, backslashes, ';' or braces"
    )


def rname_from_contact(contact: str) -> dns.name.Name:
    """The SOA RNAME for an e-mail address (``hostmaster@example.com``).

    Dots in the local part are escaped, as RFC 1035 section 8 asks.
    A contact already written as a name is taken as it is.
    """
    if "@" in contact:
        local, _, domain = contact.rpartition("@")
        local = local.replace("\\", "\\\\").replace(".", "\\.")
        return dns.name.from_text(f"{local}.{domain.rstrip('.')}.")
    return dns.name.from_text(contact if contact.endswith(".") else contact + ".")


def check_address_match_element(text: str) -> str | None:
    """Why ``text`` is not a valid client (address match list element), or None."""
    element = text[1:].strip() if text.startswith("!") else text
    if element in ("any", "none", "localhost", "localnets"):
        return None
    try:
        ipaddress.ip_network(element, strict=False)
    except ValueError:
        return (
            f"'{text}' is not an address, a network (10.0.0.0/8) "
            "or one of any, none, localhost, localnets"
        )
    if "/" in element:
        network = ipaddress.ip_network(element, strict=False)
        if str(network) != element:
            return f"'{text}' has host bits set; write {network}"
    return None


KNOWN_CAA_TAGS = (
    "issue",
    "issuewild",
    "iodef",
    "issuemail",
    "issuevmc",
    "contactemail",
    "contactphone",
)


# A name of two labels or more, lower case letters, digits, '-' and '_', each
# label 1-63 octets, the last one not all digits (an address is not a name).
_LABELS = r"(?:[a-z0-9_-]{1,63}\.)+(?=[a-z0-9_-]{0,62}[a-z_-])[a-z0-9_-]{1,63}"
_VALID = re.compile(_LABELS)
MAX_NAME = 253  # octets of a name in text form without the final dot (255 on the wire)

#: Names found in hosts files that are never blocked.
_HOSTS_NAMES = frozenset(
    {
        "localhost.localdomain",
        "local.localdomain",
        "localhost.local",
        "ip6-localhost.localdomain",
    }
)


def normalize_name(token: str) -> str | None:
    """The blockable name that ``token`` (already lower case) stands for, or None.

    Strips a leading ``*.`` or ``.`` and a final dot, IDNA-encodes names with
    non-ASCII letters, and checks the result: two labels or more of letters,
    digits, ``-`` and ``_``, 63 octets a label, 253 in all, not an address.
    """
    name = token
    if name.startswith("*."):
        name = name[2:]
    elif name.startswith("."):
        name = name[1:]
    if name.endswith("."):
        name = name[:-1]
    if not name or len(name) > 4 * MAX_NAME:
        return None
    if not name.isascii():
        name = _idna(name)
        if name is None:
            return None
    if len(name) > MAX_NAME or not _VALID.fullmatch(name) or name in _HOSTS_NAMES:
        return None
    return name


def _idna(name: str) -> str | None:
    """IDNA 2008 with the UTS 46 mapping (what browsers send), else IDNA 2003."""
    try:
        import idna
    except ImportError:  # pragma: no cover - idna comes with httpx
        idna = None
    try:
        if idna is not None:
            return idna.encode(name, uts46=True).decode("ascii").lower()
        return name.encode("idna").decode("ascii").lower()
    except (UnicodeError, ValueError):
        return None
