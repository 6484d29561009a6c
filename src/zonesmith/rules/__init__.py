"""The rules that judge a site's values; importing this package registers every family.

Each rule is one function, registered with an id, a severity, a one-line
summary and a scope by the decorator of :mod:`zonesmith.rules.registry`.
Site rules look at the whole site (references between its parts); facts
rules also judge what the pipeline found outside the model (secrets, files,
drivers' capabilities: :mod:`zonesmith.rules.facts`); zone rules look at
the records one view of one zone serves, through a
:class:`zonesmith.rules.zone_view.ZoneView` index. Adding a rule is adding
a function to the module of its family. The rules read no file. A zone
rule may have a site part (``registry.site_part``) that follows its names
into the other zones of the site, through the index of
:mod:`zonesmith.rules.site_names`.

Problems with the syntax of a single value (bad YAML, bad RDATA, bad names)
are reported while loading, in :mod:`zonesmith.site`, because the value
cannot be put in the model at all.
"""

from zonesmith.rules import (
    blocklists,
    caa,
    delegations,
    dnssec,
    fleet,
    mail,
    records,
    references,
    reverse_dns,
    secrets,
    site_targets,
)
from zonesmith.rules.registry import RULES, validate

__all__ = [
    "RULES",
    "validate",
    "blocklists",
    "caa",
    "delegations",
    "dnssec",
    "fleet",
    "mail",
    "records",
    "references",
    "reverse_dns",
    "secrets",
    "site_targets",
]
