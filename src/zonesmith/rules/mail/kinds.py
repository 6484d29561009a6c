"""The mail records one view of one zone serves, sorted by kind once for all the mail rules."""

from __future__ import annotations

from dataclasses import dataclass, field

import dns.rdatatype

from zonesmith.model import Record, is_spf_text
from zonesmith.rules.mail.index import MailIndex
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
    """The view's mail records by kind (made once per zone and view, for the zone rules and
    the site rules alike)."""
    found = view.memos.get("mail kinds")
    if found is None:
        index = MailIndex.of(view.site, view.view)
        per_zone: dict[str, MailKinds] = index.memo("kinds", lambda _: {})  # type: ignore[assignment]
        found = per_zone.get(view.origin)
        if found is None:
            found = per_zone[view.origin] = _sorted(view)
        view.memos["mail kinds"] = found
    return found  # type: ignore[return-value]


def _sorted(view: ZoneView) -> MailKinds:
    found = MailKinds()
    for record in view.mail:
        if record[2] != T.TXT:
            continue
        owner = record[0]
        lower = owner.lower()
        underscore = lower[0] == "_" or "._" in lower
        # a TXT record of mail_records at a name without '_' is an SPF record
        if not underscore or is_spf_text(record[3]):
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


def has_spf(view: ZoneView) -> bool:
    """Whether the view has SPF records (the SPF zone rules run only then)."""
    return bool(kinds(view).spf)


def has_dmarc(view: ZoneView) -> bool:
    return bool(kinds(view).dmarc)


def has_dkim(view: ZoneView) -> bool:
    return bool(kinds(view).dkim)


def has_policies(view: ZoneView) -> bool:
    return bool(kinds(view).policies)
