"""Rules on DMARC records (RFC 7489): ``_dmarc`` syntax, and what they need of other names."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site, Zone
from zonesmith.rules.facts import OutsideAnswers, SiteFacts
from zonesmith.rules.mail.index import MailIndex, absolute, organisational
from zonesmith.rules.mail.kinds import has_dmarc, kinds
from zonesmith.rules.mail.tags import (
    is_dmarc,
    mailto_domain,
    mailto_problem,
    parse_tags,
    txt_text,
)
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
_POLICIES = ("none", "quarantine", "reject")
_SIZE = re.compile(r"!\d+[kmgt]?\Z", re.IGNORECASE)
_KEYWORDS = {
    "adkim": ("r", "s"),
    "aspf": ("r", "s"),
    "p": _POLICIES,
    "sp": _POLICIES,
    "np": _POLICIES,
}
_LISTS = {"fo": ("0", "1", "d", "s"), "rf": ("afrf", "iodef")}
#: the tags whose values _value_problem judges
_CHECKED = frozenset({*_KEYWORDS, *_LISTS, "pct", "ri"})


def report_uris(value: str) -> list[str]:
    """The URIs of a rua= or ruf= value, without their size limits."""
    uris = [uri.strip() for uri in value.split(",")]
    if "!" not in value:
        return uris  # no size limit to take off
    return [_SIZE.sub("", uri) if _SIZE.search(uri) else uri for uri in uris]


def _value_problem(tag: str, value: str) -> str | None:
    """Why the value of a tag other than rua= and ruf= is wrong (None: it is not)."""
    if tag in _KEYWORDS and value.lower() not in _KEYWORDS[tag]:
        return f"{tag}={value} is not one of {', '.join(_KEYWORDS[tag])}"
    if tag in _LISTS and any(v.strip().lower() not in _LISTS[tag] for v in value.split(":")):
        return f"{tag}={value} is not a ':' list of {', '.join(_LISTS[tag])}"
    if tag == "pct" and not (value.isdigit() and int(value) <= 100):
        return f"pct={value} is not a percentage from 0 to 100"
    if tag == "ri" and not (value.isdigit() and int(value) < 2**32):
        return f"ri={value} is not a number of seconds"
    return None


def dmarc_problem(text: str, domain: str) -> str | None:
    """Why the DMARC record of ``domain`` is not one receivers apply (None: it is)."""
    problem, has_policy, _ = _read(text)
    if problem is None and not has_policy and organisational(domain) == absolute(domain):
        return "p= (none, quarantine or reject) is required"
    return problem


@lru_cache(maxsize=65536)
def _read(text: str) -> tuple[str | None, bool, tuple[tuple[str, str], ...]]:
    """A DMARC record read, whatever its name: what is wrong with it (None: nothing),
    whether it has p=, and its mailto: report addresses as (rua or ruf, their domain,
    absolute), read even when a value is wrong (read once for the zone rule and the site
    rules alike)."""
    pairs, problem = parse_tags(text)
    if problem:
        return problem, False, ()
    reports: list[tuple[str, str]] = []
    wrong: str | None = None  # the first wrong value
    has_policy = False
    for tag, value in pairs:
        if tag == "rua" or tag == "ruf":
            for uri in report_uris(value):
                not_one = mailto_problem(uri)
                if not_one is None:
                    reports.append((tag, mailto_domain(uri)))
                elif wrong is None:
                    wrong = f"{tag}: {not_one} (receivers send reports only by mail)"
        else:
            has_policy = has_policy or tag == "p"
            if wrong is None and tag in _CHECKED:
                wrong = _value_problem(tag, value)
    if not pairs or pairs[0] != ("v", "DMARC1"):
        return "a DMARC record starts with 'v=DMARC1;'", False, tuple(reports)
    if wrong:
        return wrong, False, tuple(reports)
    return None, has_policy, tuple(reports)


@rule(
    "dmarc-syntax", Severity.ERROR, "a DMARC record that receivers cannot apply", applies=has_dmarc
)
def dmarc_syntax(view: ZoneView) -> Iterator[Diagnostic]:
    for domain, records in kinds(view).dmarc.items():
        for record, text, policy in records:
            if not policy and "dmarc" not in text.lower():
                continue  # some other TXT record at the name: receivers ignore it
            problem = dmarc_problem(text, domain)
            if problem:
                yield _report(
                    "dmarc-syntax",
                    record.position,
                    f"DMARC record of '{domain}'{view.view_note}: {problem}; receivers ignore "
                    "a record they cannot read (RFC 7489 6.3)",
                )


@rule("dmarc-multiple", Severity.ERROR, "more than one DMARC record at a name", applies=has_dmarc)
def dmarc_multiple(view: ZoneView) -> Iterator[Diagnostic]:
    for domain, records in kinds(view).dmarc.items():
        if len(records) < 2:
            continue  # one record: none to count
        policies = [record for record, _, policy in records if policy]
        if len(policies) > 1:
            yield _report(
                "dmarc-multiple",
                policies[1].position,
                f"'_dmarc.{domain}' has {len(policies)} DMARC records{view.view_note}; receivers "
                "then apply none (RFC 7489 6.6.3): keep one",
            )


def _site_dmarc(
    site: Site, outside: OutsideAnswers | None = None
) -> Iterator[tuple[MailIndex, Zone, str, Record, str]]:
    """Each DMARC policy record of the site: its view's index, its zone, its domain
    (absolute), the record and its text."""
    for index in MailIndex.each(site, outside):
        for zone, domain, record, text in index.memo("dmarc", _policies):  # type: ignore[attr-defined]
            yield index, zone, domain, record, text


def _policies(index: MailIndex) -> list[tuple[Zone, str, Record, str]]:
    found = []
    for zone, mail in index.judged:
        for domain, records in mail.dmarc.items():
            for record, text, policy in records:
                if policy:
                    found.append((zone, absolute(domain), record, text))
    return found


@rule(
    "dmarc-no-org-policy",
    Severity.WARNING,
    "a subdomain has a DMARC record and its organisational domain none",
    "site",
)
def dmarc_no_org_policy(site: Site) -> Iterator[Diagnostic]:
    for index, zone, domain, record, _ in _site_dmarc(site):
        if not index.encloses(domain.partition(".")[2]):
            continue  # no zone of the site holds a name above it
        top = organisational(domain)
        if top == domain or index.zone_of(top) is None:
            continue
        if not any(is_dmarc(txt_text(r)) for r in index.txt_at("_dmarc." + top)):
            note = index.view_of(zone).view_note
            yield _report(
                "dmarc-no-org-policy",
                record.position,
                f"'{domain[:-1]}' has a DMARC record but its organisational domain "
                f"'{top[:-1]}' has none{note}; mail forged from '{top[:-1]}' and its "
                f"other subdomains is not covered: add a record at '_dmarc.{top[:-1]}'",
            )


def _report_uris(
    site: Site, outside: OutsideAnswers | None = None
) -> Iterator[tuple[MailIndex, Zone, str, Record, str, str]]:
    """Each mailto: report address of the site's DMARC records: the index, zone, domain and
    record it is given in, its tag (rua or ruf) and its domain (absolute)."""
    for index, zone, domain, record, text in _site_dmarc(site, outside):
        for tag, dest in _read(text)[2]:
            yield index, zone, domain, record, tag, dest


def report_destinations(site: Site) -> Iterator[tuple[MailIndex, str]]:
    """The domain of each report address of the site's DMARC records, with its view's index."""
    for index, _, _, _, _, dest in _report_uris(site):
        yield index, dest


def report_authorizations(site: Site) -> Iterator[tuple[MailIndex, str]]:
    """The name whose TXT record authorizes each report address in another organisational
    domain (``<domain>._report._dmarc.<dest>``), with its view's index."""
    for index, _, domain, _, _, dest in _report_uris(site):
        if dest != domain and organisational(dest) != organisational(domain):
            yield index, f"{domain}_report._dmarc.{dest}"


@rule(
    "dmarc-report-unauthorized",
    Severity.WARNING,
    "DMARC reports go to another domain of the site that does not accept them",
    "outside",
)
def dmarc_report_unauthorized(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for index, zone, domain, record, tag, dest in _report_uris(site, facts.outside):
        names = (f"{domain}_report._dmarc.{dest}", f"*._report._dmarc.{dest}")
        if dest == domain or (index.zone_of(dest) is None and not index.answered(names[0], "txt")):
            continue  # its own domain (most records), or outside the site: not checked
        if organisational(dest) == organisational(domain):
            continue
        if any(is_dmarc(txt_text(r)) for n in names for r in index.txt_at(n)):
            continue
        note = index.view_of(zone).view_note
        yield _report(
            "dmarc-report-unauthorized",
            record.position,
            f"DMARC record of '{domain[:-1]}' sends {tag} reports to '{dest[:-1]}', "
            f"which does not accept them{note}; receivers send none until "
            f"'{domain}_report._dmarc.{dest[:-1]}' has TXT \"v=DMARC1\" (RFC 7489 7.1)",
        )
