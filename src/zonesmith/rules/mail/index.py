"""The site's mail records, one index per view, answering the lookups the mail rules make.

The mail rules follow names across zones (an SPF include, a DMARC report
address), so they read every zone's mail records (``Zone.mail_records``,
kept by the cache beside the records, sorted by kind once per zone and view
by :mod:`zonesmith.rules.mail.kinds` for the zone rules too) once per view,
here, instead of scanning each zone's records. A name outside the site is
never looked up: ``zone_of`` says None and the rules do not judge it, unless
the pipeline looked it up before they ran (``check --online``): then the
index answers for it from those answers (``answered``).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.TXT

from zonesmith.diagnostics import Position
from zonesmith.model import Record, Site, Zone, is_spf_text
from zonesmith.rules.facts import OutsideAnswers
from zonesmith.rules.mail.kinds import MailKinds, kinds_of
from zonesmith.rules.site_names import site_names
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype


@dataclass
class MailIndex:
    """What one view serves of the site's mail records, by owner (lower case, absolute)."""

    site: Site
    view: str
    #: origin -> the zone of that name served in the view
    zones: dict[str, Zone] = field(default_factory=dict)
    #: the mail records by kind of each zone served in the view
    kinds: list[MailKinds] = field(default_factory=list)
    mx: set[str] = field(default_factory=set)
    addressed: set[str] = field(default_factory=set)
    #: names below a zone's apex with NS records
    cuts: set[str] = field(default_factory=set)
    #: the zones the site rules judge in this view (a zone the same in every view is
    #: judged in its first, as zone rules are), with their mail records by kind
    judged: list[tuple[Zone, MailKinds]] = field(default_factory=list)
    #: origin -> the zone as the site rules see it (see view_of)
    views: dict[str, ZoneView] = field(default_factory=dict)
    #: what the site rules derive from the index, by name (see memo)
    memos: dict[str, object] = field(default_factory=dict)
    #: what DNS answered for names outside the site (None: nothing was looked up)
    outside: OutsideAnswers | None = None
    _txt: dict[str, list[Record]] | None = field(default=None, init=False, repr=False)

    @classmethod
    def of(cls, site: Site, view: str, outside: OutsideAnswers | None = None) -> MailIndex:
        """The index of ``view``, made once per site (and answers from outside)."""
        kept = _INDEXES.get(id(site))
        if kept is None or kept[0]() is not site:
            for key in [k for k, (ref, _) in _INDEXES.items() if ref() is None]:
                del _INDEXES[key]
            kept = _INDEXES[id(site)] = (weakref.ref(site), {})
        per_site = kept[1]
        key = view if outside is None else f"{view} {id(outside)}"
        index = per_site.get(key)
        if index is None or index.outside is not outside:
            index = per_site[key] = cls._made(site, view)
            if outside is not None:
                index._answer_outside(outside)
        return index

    @classmethod
    def _made(cls, site: Site, view: str) -> MailIndex:
        index = cls(site, view)
        zones = index.zones
        for zone in site.zones:
            if view not in zone.views:
                continue
            zones[zone.origin.lower()] = zone
            found = kinds_of(zone, view)
            index.kinds.append(found)
            index.mx.update(found.mx)
            index.cuts.update(found.cuts)
            index.addressed.update(found.addressed)
            if zone.differs_by_view or zone.views[0] == view:
                index.judged.append((zone, found))
        return index

    @property
    def txt(self) -> dict[str, list[Record]]:
        """The TXT records of the view by owner, gathered from its zones the first time a
        rule asks."""
        found = self._txt
        if found is None:
            found = self._txt = {}
            for kinds in self.kinds:
                for record in kinds.txt:
                    found.setdefault(record[0].lower(), []).append(record)
        return found

    def _answer_outside(self, outside: OutsideAnswers) -> None:
        """Take DNS's TXT answers for names outside the site as records of no file."""
        self.outside = outside
        nowhere = Position("", 0, 0)
        for name, texts in outside.txt.items():
            if name not in self.txt and self.zone_of(name) is None:
                self.txt[name] = [
                    Record.new(name, 0, T.TXT, _txt_data(text), None, nowhere, "dns")
                    for text in texts
                ]

    def answered(self, name: str, kind: str) -> bool:
        """Whether DNS answered for ``name`` outside the site what an SPF term of ``kind``
        (include, redirect, a, mx, exists; txt for other TXT names) asks of it."""
        if self.outside is None:
            return False
        name = name.lower()
        if kind == "mx":
            return name in self.outside.mx
        if kind in ("a", "exists"):
            return name in self.outside.address
        return name in self.outside.txt

    @staticmethod
    def each(site: Site, outside: OutsideAnswers | None = None) -> Iterator[MailIndex]:
        """The index of each view some zone is served in."""
        for view in dict.fromkeys(view for zone in site.zones for view in zone.views):
            yield MailIndex.of(site, view, outside)

    def memo(self, name: str, make: Callable[[MailIndex], object]) -> object:
        """What ``make`` derives from this index, made once however many rules ask."""
        found = self.memos.get(name)
        if found is None:
            found = self.memos[name] = make(self)
        return found

    def view_of(self, zone: Zone) -> ZoneView:
        """``zone`` as this view serves it, for site rules that read only its mail records
        and names (unindexed: a zone the cache kept is not unpacked)."""
        found = self.views.get(zone.origin)
        if found is None or found.zone is not zone:
            found = self.views[zone.origin] = ZoneView.unindexed(self.site, zone, self.view)
        return found

    def zone_of(self, name: str) -> Zone | None:
        """The zone of the site that answers for ``name`` in this view; None: outside the site
        (no zone of the site holds it, or a zone delegates it to a zone the site lacks)."""
        name = name.lower()
        below = name
        while True:
            zone = self.zones.get(below)
            if zone is not None:
                break
            if below == ".":
                return None
            below = below.partition(".")[2] or "."
        cut = name
        while cut != below:  # a delegation between the name and its zone's apex
            if cut in self.cuts:
                return None
            cut = cut.partition(".")[2] or "."
        return zone

    def encloses(self, name: str) -> bool:
        """Whether a zone of the site (in this view) is at or above ``name``."""
        name = name.lower() or "."
        while name not in self.zones:
            if name == ".":
                return False
            name = name.partition(".")[2] or "."
        return True

    def spf(self, name: str) -> list[Record]:
        """The SPF records a query for ``name`` gets (see txt_at)."""
        return [r for r in self.txt_at(name) if is_spf_text(r[3])]

    def txt_at(self, name: str) -> list[Record]:
        """The TXT records a query for ``name`` gets from the site: its own, else those
        of the wildcard that answers it (RFC 4592), as for ``*._report._dmarc``."""
        name = name.lower()
        found = self.txt.get(name)
        if found is not None:
            return found
        zone = self.zone_of(name)
        return [] if zone is None else [r for r in self._answer(name, zone) if r[2] == T.TXT]

    def has_mx(self, name: str) -> bool:
        name = name.lower()
        if name in self.mx or (self.outside is not None and self.outside.mx.get(name, False)):
            return True
        # A name with mail records of its own (an SPF owner) is no wildcard's, and its MX
        # would be in self.mx: its zone need not be read.
        zone = None if name in self.txt else self.zone_of(name)
        return zone is not None and any(r[2] == T.MX for r in self._answer(name, zone))

    def has_address(self, name: str) -> bool:
        """Whether ``name`` (in the site) has A or AAAA records, or is an alias (not followed)."""
        name = name.lower()
        if name in self.addressed:
            return True
        zone = self.zone_of(name)
        if zone is None:
            return self.outside is None or self.outside.address.get(name, True)
        return any(r[2] in _ADDRESS_OR_ALIAS for r in self._answer(name, zone))

    def _answer(self, name: str, zone: Zone) -> Sequence[Record]:
        """The records a query for ``name`` gets from ``zone``: its own, else those of the
        wildcard that answers for it (see ZoneView.wildcard_for). The zone is read (indexed)."""
        zone_view = site_names(self.site).zone_view(zone, self.view)
        key = zone_view.key(name)
        star = zone_view.wildcard_for(key)
        return zone_view.by_name.get(key, ()) if star is None else zone_view.by_name[star]


_ADDRESS_OR_ALIAS = frozenset({T.A, T.AAAA, T.CNAME})


#: id of a site -> the site (weakly: a site compares by value, too slowly to be a key)
#: and its indexes by view
_INDEXES: dict[int, tuple[weakref.ref[Site], dict[str, MailIndex]]] = {}


def _txt_data(text: str) -> str:
    """TXT data in presentation format holding ``text`` (in strings of at most 255 bytes)."""
    raw = text.encode()
    strings = [raw[i : i + 255] for i in range(0, len(raw), 255)] or [b""]
    return dns.rdtypes.ANY.TXT.TXT(dns.rdataclass.IN, T.TXT, strings).to_text()


def absolute(name: str) -> str:
    """A domain from a mail record, absolute and lower case."""
    return name.rstrip(".").lower() + "."


@lru_cache(maxsize=65536)
def organisational(name: str) -> str:
    """The organisational domain of ``name`` (RFC 7489 3.2, by the Public Suffix List),
    absolute and lower case; a public suffix is its own."""
    found = _suffix_list().privatesuffix(name.rstrip(".").lower())
    return absolute(found) if found else absolute(name)


@lru_cache(maxsize=1)
def _suffix_list():  # type: ignore[no-untyped-def]
    # The list ships with the package (offline); it is read only when a rule needs it.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()
