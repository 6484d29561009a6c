"""The rules that judge a site's values; importing this package registers every family.

One module per family of rules; each rule is one function registered with
its id, severity and scope in :mod:`zonesmith.rules.registry`.
"""

from zonesmith.rules import blocklists, dnssec, fleet, records, references, secrets
from zonesmith.rules.registry import RULES, validate

__all__ = ["RULES", "validate", "blocklists", "dnssec", "fleet", "records", "references", "secrets"]
