"""The names the mail rules would look up outside the site: listed as not checked, unless
looked up (``check --online``), and which of those were not answered."""

from __future__ import annotations

from itertools import chain

from zonesmith.model import Site
from zonesmith.rules.facts import OutsideAnswers
from zonesmith.rules.mail.dmarc import report_authorizations, report_destinations
from zonesmith.rules.mail.spf import named_domains, named_terms


def not_checked(site: Site) -> list[str]:
    """Names outside the site that SPF records include or name, and domains outside the site
    that DMARC records send reports to (names made by SPF macros are known only when mail
    arrives: they are not listed), sorted."""
    names = chain(named_domains(site), report_destinations(site))
    return sorted({name.rstrip(".") for index, name in names if index.zone_of(name) is None})


def lookups(site: Site) -> dict[str, set[str]]:
    """What the mail rules would ask DNS about names outside the site: name -> the SPF term
    kinds (include, redirect, a, mx, exists) or 'txt' (a DMARC report authorization)."""
    asked: dict[str, set[str]] = {}
    for index, kind, name in named_terms(site):
        if kind != "ptr" and index.zone_of(name) is None:
            asked.setdefault(name, set()).add(kind)
    for index, name in report_authorizations(site):
        if index.zone_of(name) is None:
            asked.setdefault(name, set()).add("txt")
    return asked


def not_answered(outside: OutsideAnswers) -> list[dict[str, str]]:
    """The names outside the site that were looked up and not answered, with why, sorted."""
    failed = sorted(outside.failed.items())
    return [{"name": name.rstrip("."), "reason": why} for name, why in failed]
