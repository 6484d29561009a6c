"""The names the mail rules would look up outside the site: never looked up, listed as not
checked."""

from __future__ import annotations

from itertools import chain

from zonesmith.model import Site
from zonesmith.rules.mail.dmarc import report_destinations
from zonesmith.rules.mail.spf import named_domains


def not_checked(site: Site) -> list[str]:
    """Names outside the site that SPF records include or name, and domains outside the site
    that DMARC records send reports to (names made by SPF macros are known only when mail
    arrives: they are not listed), sorted."""
    names = chain(named_domains(site), report_destinations(site))
    return sorted({name.rstrip(".") for index, name in names if index.zone_of(name) is None})
