"""The mail records one view of one zone serves, sorted by kind once for all the mail rules."""

from __future__ import annotations

import weakref
from collections.abc import Callable

import dns.rdatatype

from zonesmith.model import Record, Zone, is_spf_text, kept_per_view
from zonesmith.presentation import name_key
from zonesmith.rules.mail.tags import is_dmarc, txt_text
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
#: the owner prefixes of the transport policies' TXT records
MTA_STS = "_mta-sts."
TLS_RPT = "_smtp._tls."


class MailKinds:
    """The mail records of one zone in one view, by kind."""

    __slots__ = ("addressed", "cuts", "dkim", "dmarc", "memos", "mx", "policies", "spf", "txt")

    def __init__(self) -> None:
        #: name key -> its SPF records
        self.spf: dict[str, list[Record]] = {}
        #: domain (without the final dot) -> the TXT records at its _dmarc name, with their
        #: text and whether it is a DMARC policy record
        self.dmarc: dict[str, list[tuple[Record, str, bool]]] = {}
        #: TXT records at <selector>._domainkey names
        self.dkim: list[Record] = []
        #: MTA_STS or TLS_RPT -> the TXT records at such names
        self.policies: dict[str, list[Record]] = {}
        #: the TXT records, for the site's mail index
        self.txt: list[Record] = []
        #: the owners (lower case) of MX records, of NS records below the apex, and of the
        #: address records of SPF owners, for the site's mail index
        self.mx: list[str] = []
        self.cuts: list[str] = []
        self.addressed: list[str] = []
        #: what the rules derive from these records, by name (see memo)
        self.memos: dict[str, object] = {}

    def memo(self, name: str, make: Callable[[MailKinds], object]) -> object:
        """What ``make`` derives from these records, made once for the zone rules and the
        site rules alike."""
        found = self.memos.get(name)
        if found is None:
            found = self.memos[name] = make(self)
        return found


def kinds(view: ZoneView) -> MailKinds:
    """The view's mail records by kind (made once per zone and view, for the zone rules and
    the site rules alike)."""
    return view.memo("mail kinds", lambda v: kinds_of(v.zone, v.view))  # type: ignore[return-value]


def kinds_of(zone: Zone, view: str) -> MailKinds:
    """The mail records ``view`` serves of ``zone``, by kind (made once)."""
    return kept_per_view(_KINDS, zone, view, lambda effective: _sorted(zone, effective))


#: a zone -> its mail records by kind, per view (None: the same in every view)
_KINDS: weakref.WeakKeyDictionary[Zone, dict[str | None, MailKinds]] = weakref.WeakKeyDictionary()


def _sorted(zone: Zone, view: str | None) -> MailKinds:
    found = MailKinds()
    spf, dmarc = found.spf, found.dmarc
    origin = zone.origin
    for record in zone.mail_records():
        if view is not None and record[4] is not None and record[4] != view:
            continue
        rdtype = record[2]
        if rdtype != T.TXT:
            if rdtype == T.MX:
                found.mx.append(record[0].lower())
            elif rdtype == T.NS:
                found.cuts.append(record[0].lower())
            else:
                found.addressed.append(record[0].lower())
            continue
        found.txt.append(record)
        owner = record[0]
        lower = owner.lower()
        # a TXT record of mail_records at a name without '_' is an SPF record
        if (lower[0] != "_" and "._" not in lower) or is_spf_text(record[3]):
            spf.setdefault(name_key(owner, origin), []).append(record)
        elif lower.startswith("_dmarc."):
            domain = owner[7:].rstrip(".") or "."
            text = txt_text(record)
            dmarc.setdefault(domain, []).append((record, text, is_dmarc(text)))
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
