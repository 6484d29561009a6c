"""Rules on CAA records (RFC 8659): tags, flags, issuer values and iodef URLs.

The property values are parsed here after RFC 8659 section 4.2's grammar
(and RFC 9495's, which gives ``issuemail`` the same): no maintained library
parses CAA values, and the grammar is a few lines of ABNF.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView
from zonesmith.site.values import KNOWN_CAA_TAGS

T = dns.rdatatype

#: Tags whose value names an issuer (RFC 8659 4.2-4.3, RFC 9495 for issuemail; issuevmc
#: is registered with IANA's CAA property registry with the same syntax).
ISSUER_TAGS = frozenset({"issue", "issuewild", "issuemail", "issuevmc"})
#: The Issuer Critical flag; the other bits are reserved and must be 0 (RFC 8659 4.1).
CRITICAL = 128

_LABEL = r"[A-Za-z0-9](?:-*[A-Za-z0-9])*"
_ISSUER = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_PARAMETER = re.compile(rf"({_LABEL})[ \t]*=[ \t]*([\x21-\x3a\x3c-\x7e]*)")


@rule(
    "caa-unknown-tag", Severity.WARNING, "a CAA record has a tag no CA understands", needs=[T.CAA]
)
def caa_unknown_tag(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.by_type.get(T.CAA, ()):
        tag = record.rdata.tag.decode(errors="replace").lower()
        if tag not in KNOWN_CAA_TAGS:
            yield _report(
                "caa-unknown-tag",
                record.position,
                f"CAA tag '{tag}' is not known; expected one of {', '.join(KNOWN_CAA_TAGS)}",
            )


def issuer_problem(value: str) -> str | None:
    """What is wrong with an issue/issuewild/issuemail value, or None (RFC 8659 4.2).

    ``;`` alone (or an empty value) is allowed: no CA may issue.
    """
    issuer, semicolon, parameters = value.strip(" \t").partition(";")
    issuer = issuer.rstrip(" \t")
    if issuer and not _ISSUER.fullmatch(issuer):
        return (
            f"issuer '{issuer}' is not a domain name of letters, digits and '-' "
            "(e.g. letsencrypt.org)"
        )
    if not semicolon:
        return None
    for parameter in parameters.split(";"):
        parameter = parameter.strip(" \t")
        if parameter and not _PARAMETER.fullmatch(parameter):
            return (
                f"parameter '{parameter}' is not tag=value (e.g. account=1234; values have "
                "no spaces or ';')"
            )
    return None


def iodef_problem(value: str) -> str | None:
    """What is wrong with an iodef value, or None: a mailto:, http: or https: URL."""
    parts = urlsplit(value)
    scheme = parts.scheme.lower()
    if scheme == "mailto" and "@" in parts.path:
        return None
    if scheme in ("http", "https") and parts.netloc:
        return None
    return f"'{value}' is not a mailto:, http: or https: URL (e.g. mailto:security@example.com)"


@rule("bad-caa", Severity.WARNING, "a CAA record's flags or value break RFC 8659", needs=[T.CAA])
def bad_caa(view: ZoneView) -> Iterator[Diagnostic]:
    for record in view.by_type.get(T.CAA, ()):
        rdata = record.rdata
        tag = rdata.tag.decode(errors="replace").lower()
        if rdata.flags & ~CRITICAL:
            yield _report(
                "bad-caa",
                record.position,
                f"CAA flags {rdata.flags} set reserved bits; RFC 8659 defines only 128 (issuer "
                "critical): write 0 or 128",
            )
        value = rdata.value.decode(errors="replace")
        problem = None
        if tag in ISSUER_TAGS:
            problem = issuer_problem(value)
        elif tag == "iodef":
            problem = iodef_problem(value)
        if problem is not None:
            yield _report(
                "bad-caa",
                record.position,
                f"CAA {tag}: {problem}; a CA that cannot read it refuses to issue",
            )
