"""The text of mail policy TXT records and the tag lists of DKIM, DMARC and TLS-RPT.

DMARC (RFC 7489 6.4), DKIM (RFC 6376 3.2), MTA-STS (RFC 8461 3.1) and
TLS-RPT (RFC 8460 3) records are all ``tag=value`` lists separated by ``;``.
No maintained library parses them without also querying DNS (checkdmarc
looks every record up itself; dkimpy parses key records only while
verifying a signature), so this small parser reads them from the site's
own TXT records.
"""

from __future__ import annotations

import re
from functools import lru_cache

import dns.rdata
import dns.rdataclass
import dns.rdatatype

from zonesmith.model import Record

#: RFC 6376 3.2: tag-name = ALPHA *ALNUMPUNC
_TAG_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
#: RFC 5321 4.1.2 local part, loosely (dot-atom); the domain is checked as a name
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$&'*+/=?^_`{|}~.-]+\Z")
_STRING = re.compile(r'"([^"]*)"')
#: labels of letters, digits, '_' and '-' (not first or last), at least two, then a dot or not
_DOMAIN = re.compile(r"(?:(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\.)+(?!-)[A-Za-z0-9_-]{1,63}(?<!-)\.?\Z")


def txt_text(record: Record) -> str:
    """A TXT record's strings joined into one (RFC 7208 3.3, RFC 6376 3.6.2.2)."""
    return _joined(record[3])


@lru_cache(maxsize=65536)
def _joined(data: str) -> str:
    # Canonical TXT data is quoted strings; without escapes they are read here,
    # ten thousand zones' DMARC records being too many to parse with dnspython.
    if "\\" not in data:
        return "".join(_STRING.findall(data))
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, data)
    return b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]


def has_version(text: str, version: str) -> bool:
    """Whether a tag list starts with ``v=<version>`` (then ';' or its end)."""
    return (
        text.startswith("v=")
        and text.startswith(version, 2)
        and text[len(version) + 2 :].lstrip()[:1] in ("", ";")
    )


def is_dmarc(text: str) -> bool:
    """Whether TXT text is a DMARC policy record (RFC 7489 6.6.3: it starts with v=DMARC1)."""
    return has_version(text, "DMARC1")


@lru_cache(maxsize=65536)
def parse_tags(text: str) -> tuple[tuple[tuple[str, str], ...], str | None]:
    """The ``tag=value`` pairs of a tag list, in order, and the first problem (None: none).
    (Read once per text: many zones share one record text.)"""
    found, problem = _tags(text)
    return tuple(found), problem


def _tags(text: str) -> tuple[list[tuple[str, str]], str | None]:
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    parts = text.split(";")
    if parts and not parts[-1].strip():
        parts.pop()  # a trailing ';' is allowed
    for part in parts:
        name, equals, value = part.partition("=")
        name = name.strip()
        if not equals:
            return pairs, f"'{part.strip()}' is not a tag=value pair"
        if not _TAG_NAME.match(name):
            return pairs, f"'{name}' is not a tag name"
        if name in seen:
            return pairs, f"tag '{name}' is given twice"
        seen.add(name)
        pairs.append((name, value.strip()))
    return pairs, None


def required_tag(text: str, tag: str) -> tuple[str | None, str]:
    """Why a tag list lacks ``tag`` or cannot be read (None: it has it), and its value."""
    pairs, problem = parse_tags(text)
    if problem:
        return problem, ""
    value = dict(pairs).get(tag)
    return (f"{tag}= is required", "") if value is None else (None, value)


def is_domain(text: str) -> bool:
    """Whether ``text`` is a domain name of labels (a trailing dot allowed)."""
    return len(text) <= 254 and _DOMAIN.match(text) is not None


@lru_cache(maxsize=65536)  # (as parse_tags)
def mailto_problem(uri: str) -> str | None:
    """Why a ``mailto:`` URI is not one address (None: it is)."""
    if uri[:7].lower() != "mailto:":
        return f"'{uri}' is not a mailto: URI"
    local, at, domain = uri[7:].rpartition("@")
    if not at or not _LOCAL_PART.match(local) or not is_domain(domain):
        return f"'{uri}' is not a mailto: URI of one address"
    return None


def mailto_domain(uri: str) -> str:
    """The domain of a ``mailto:`` URI, lower case and absolute."""
    return uri.rpartition("@")[2].rstrip(".").lower() + "."
