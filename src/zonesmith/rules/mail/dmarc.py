"""Rules on DMARC records (RFC 7489): ``_dmarc`` syntax, and what they need of other names."""

from __future__ import annotations

import re
from collections.abc import Iterator

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site
from zonesmith.rules.mail.index import MailIndex, absolute, organisational
from zonesmith.rules.mail.tags import mailto_domain, mailto_problem, parse_tags, txt_text
from zonesmith.rules.registry import _report, rule, zone_views
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


def is_dmarc(text: str) -> bool:
    """Whether TXT text is a DMARC policy record (RFC 7489 6.6.3: it starts with v=DMARC1)."""
    return text.startswith("v=DMARC1") and text[8:].lstrip()[:1] in ("", ";")


def report_uris(value: str) -> list[str]:
    """The URIs of a rua= or ruf= value, without their size limits."""
    uris = [uri.strip() for uri in value.split(",")]
    return [_SIZE.sub("", uri) if _SIZE.search(uri) else uri for uri in uris]


def _value_problem(tag: str, value: str) -> str | None:
    if tag in _KEYWORDS and value.lower() not in _KEYWORDS[tag]:
        return f"{tag}={value} is not one of {', '.join(_KEYWORDS[tag])}"
    if tag in _LISTS and any(v.strip().lower() not in _LISTS[tag] for v in value.split(":")):
        return f"{tag}={value} is not a ':' list of {', '.join(_LISTS[tag])}"
    if tag == "pct" and not (value.isdigit() and int(value) <= 100):
        return f"pct={value} is not a percentage from 0 to 100"
    if tag == "ri" and not (value.isdigit() and int(value) < 2**32):
        return f"ri={value} is not a number of seconds"
    if tag in ("rua", "ruf"):
        for uri in report_uris(value):
            problem = mailto_problem(uri)
            if problem:
                return f"{tag}: {problem} (receivers send reports only by mail)"
    return None


def dmarc_problem(text: str, at_organisational: bool) -> str | None:
    """Why a DMARC record is not one receivers apply (None: it is)."""
    pairs, problem = parse_tags(text)
    if problem:
        return problem
    if not pairs or pairs[0] != ("v", "DMARC1"):
        return "a DMARC record starts with 'v=DMARC1;'"
    tags = dict(pairs)
    if "p" not in tags and at_organisational:
        return "p= (none, quarantine or reject) is required"
    for tag, value in pairs:
        found = _value_problem(tag, value)
        if found:
            return found
    return None


def _dmarc_records(view: ZoneView) -> dict[str, list[tuple[Record, str]]]:
    """TXT records at _dmarc names, by the key of the domain they are for."""
    found: dict[str, list[tuple[Record, str]]] = {}
    for record in view.mail:
        owner = record[0]
        if record[2] == T.TXT and owner[:7].lower() == "_dmarc.":
            found.setdefault(owner[7:].rstrip(".") or ".", []).append((record, txt_text(record)))
    return found


@rule("dmarc-syntax", Severity.ERROR, "a DMARC record that receivers cannot apply")
def dmarc_syntax(view: ZoneView) -> Iterator[Diagnostic]:
    for domain, records in _dmarc_records(view).items():
        at_top = organisational(domain) == absolute(domain)
        for record, text in records:
            if not is_dmarc(text) and "dmarc" not in text.lower():
                continue  # some other TXT record at the name: receivers ignore it
            problem = dmarc_problem(text, at_top)
            if problem:
                yield _report(
                    "dmarc-syntax",
                    record.position,
                    f"DMARC record of '{domain}'{view.view_note}: {problem}; receivers ignore "
                    "a record they cannot read (RFC 7489 6.3)",
                )


@rule("dmarc-multiple", Severity.ERROR, "more than one DMARC record at a name")
def dmarc_multiple(view: ZoneView) -> Iterator[Diagnostic]:
    for domain, records in _dmarc_records(view).items():
        policies = [record for record, text in records if is_dmarc(text)]
        if len(policies) > 1:
            yield _report(
                "dmarc-multiple",
                policies[1].position,
                f"'_dmarc.{domain}' has {len(policies)} DMARC records{view.view_note}; receivers "
                "then apply none (RFC 7489 6.6.3): keep one",
            )


def _site_dmarc(site: Site) -> Iterator[tuple[ZoneView, MailIndex, str, Record, str]]:
    """Each DMARC policy record of the site: where, its view's index, its domain, its text."""
    for zone, view_name in zone_views(site):
        view = ZoneView.unindexed(site, zone, view_name)
        index = MailIndex.of(site, view_name)
        for domain, records in _dmarc_records(view).items():
            for record, text in records:
                if is_dmarc(text):
                    yield view, index, absolute(domain), record, text


@rule(
    "dmarc-no-org-policy",
    Severity.WARNING,
    "a subdomain has a DMARC record and its organisational domain none",
    "site",
)
def dmarc_no_org_policy(site: Site) -> Iterator[Diagnostic]:
    for view, index, domain, record, _ in _site_dmarc(site):
        top = organisational(domain)
        if top == domain or index.zone_of(top) is None:
            continue
        if not any(is_dmarc(txt_text(r)) for r in index.txt_at("_dmarc." + top)):
            yield _report(
                "dmarc-no-org-policy",
                record.position,
                f"'{domain[:-1]}' has a DMARC record but its organisational domain "
                f"'{top[:-1]}' has none{view.view_note}; mail forged from '{top[:-1]}' and its "
                f"other subdomains is not covered: add a record at '_dmarc.{top[:-1]}'",
            )


@rule(
    "dmarc-report-unauthorized",
    Severity.WARNING,
    "DMARC reports go to another domain of the site that does not accept them",
    "site",
)
def dmarc_report_unauthorized(site: Site) -> Iterator[Diagnostic]:
    for view, index, domain, record, text in _site_dmarc(site):
        pairs, problem = parse_tags(text)
        if problem:
            continue
        for tag, value in pairs:
            if tag not in ("rua", "ruf"):
                continue
            for uri in report_uris(value):
                if mailto_problem(uri):
                    continue
                dest = mailto_domain(uri)
                if organisational(dest) == organisational(domain) or index.zone_of(dest) is None:
                    continue
                names = (f"{domain}_report._dmarc.{dest}", f"*._report._dmarc.{dest}")
                if any(is_dmarc(txt_text(r)) for n in names for r in index.txt_at(n)):
                    continue
                yield _report(
                    "dmarc-report-unauthorized",
                    record.position,
                    f"DMARC record of '{domain[:-1]}' sends {tag} reports to '{dest[:-1]}', "
                    f"which does not accept them{view.view_note}; receivers send none until "
                    f"'{domain}_report._dmarc.{dest[:-1]}' has TXT \"v=DMARC1\" (RFC 7489 7.1)",
                )
