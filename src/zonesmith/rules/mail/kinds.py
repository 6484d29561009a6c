"""The mail records one view of one zone serves, sorted by kind once for all the mail rules."""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.rdatatype

from zonesmith.model import Record, is_spf_text
from zonesmith.rules.mail.tags import txt_text
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
#: the owner prefixes of the transport policies' TXT records
MTA_STS = "_mta-sts."
TLS_RPT = "_smtp._tls."


@dataclass
class MailKinds:
    #: name key -> its SPF records
    spf: dict[str, list[Record]] = field(default_factory=dict)
    #: domain (without the final dot) -> the TXT records at its _dmarc name, with their text
    dmarc: dict[str, list[tuple[Record, str]]] = field(default_factory=dict)
    #: TXT records at <selector>._domainkey names
    dkim: list[Record] = field(default_factory=list)
    #: MTA_STS or TLS_RPT -> the TXT records at such names
    policies: dict[str, list[Record]] = field(default_factory=dict)


def kinds(view: ZoneView) -> MailKinds:
    """The view's mail records by kind (made once per view)."""
    return view.memo("mail kinds", _sorted)  # type: ignore[return-value]


def _sorted(view: ZoneView) -> MailKinds:
    found = MailKinds()
    for record in view.mail:
        if record[2] != T.TXT:
            continue
        owner = record[0]
        lower = owner.lower()
        if is_spf_text(record[3]):
            found.spf.setdefault(view.key(owner), []).append(record)
        elif lower.startswith("_dmarc."):
            domain = owner[7:].rstrip(".") or "."
            found.dmarc.setdefault(domain, []).append((record, txt_text(record)))
        elif "._domainkey." in lower and not lower.startswith("_domainkey."):
            found.dkim.append(record)
        else:
            for prefix in (MTA_STS, TLS_RPT):
                if lower.startswith(prefix):
                    found.policies.setdefault(prefix, []).append(record)
    return found
