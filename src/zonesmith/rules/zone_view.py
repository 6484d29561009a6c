"""One zone as one view sees it, indexed for the zone rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith import presentation
from zonesmith.model import Record, Site, Zone, group_by_rrset, group_by_type

T = dns.rdatatype
_V = TypeVar("_V")


class kept(Generic[_V]):
    """A property of a view worked out when first read, then kept in the view, as
    functools.cached_property does; without the lock that takes on each first read
    (Python 3.11), as a view is read by one thread."""

    def __init__(self, make: Callable[[Any], _V]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    def __get__(self, view: object, owner: type | None = None) -> _V:
        if view is None:
            return self  # type: ignore[return-value]
        value = view.__dict__[self.name] = self.make(view)
        return value


@dataclass
class ZoneView:
    """What clients of one view see of one zone, indexed by name and type.

    Names are keys made by :func:`zonesmith.presentation.name_key` (lower case,
    labels reversed, '' for the apex), so a million-record zone is indexed
    with string operations only.
    """

    site: Site
    zone: Zone
    view: str
    by_name: dict[str, Sequence[Record]]
    by_type: dict[int, list[Record]]
    origin: str
    #: what rules derive from the view, by name (see memo)
    memos: dict[str, object] = field(default_factory=dict)
    #: targets(), by type
    _targets: dict[int, list[tuple[Record, str | None]]] = field(
        init=False, default_factory=dict, repr=False
    )

    @classmethod
    def build(cls, site: Site, zone: Zone, view: str) -> ZoneView:
        by_name, by_type = zone.index(view)
        return cls(site, zone, view, by_name, by_type, zone.origin)

    @classmethod
    def unindexed(cls, site: Site, zone: Zone, view: str) -> ZoneView:
        """The view without its indexes, for site rules that read only its mail records
        (see :mod:`zonesmith.rules.mail.kinds`) and names: a zone the cache kept is then not
        unpacked."""
        return cls(site, zone, view, {}, {}, zone.origin)

    def memo(self, name: str, make: Callable[[ZoneView], object]) -> object:
        """What ``make`` derives from this view, made once however many rules ask."""
        found = self.memos.get(name)
        if found is None:
            found = self.memos[name] = make(self)
        return found

    def types_at(self, key: str) -> dict[int, list[Record]]:
        """The records at a name, by type (not to be changed: the apex's are shared)."""
        if not key:
            return self.apex
        return group_by_type(self.by_name.get(key, ()))

    @kept
    def apex(self) -> dict[int, list[Record]]:
        """The records at the apex, by type: several rules look there."""
        return group_by_type(self.by_name.get("", ()))

    @kept
    def multi(self) -> list[list[Record]]:
        """RRsets of more than one record: the only ones TTL and duplicate checks need."""
        return [
            rrset
            for records in self.by_name.values()
            if len(records) > 1
            for rrset in group_by_rrset(records).values()
            if len(rrset) > 1
        ]

    def key(self, name: str) -> str:
        return presentation.name_key(name, self.origin)

    def label(self, key: str) -> str:
        """A name as the user writes it: relative to the zone, '@' for the apex."""
        return ".".join(reversed(key.split("\x00"))) if key else "@"

    @property
    def view_note(self) -> str:
        """Names the view when the zone differs between views."""
        if self.site.implicit_view or not self.zone.differs_by_view:
            return ""
        return f" in view '{self.view}'"

    @kept
    def delegations(self) -> set[str]:
        """Names below the apex that have NS records: zone cuts."""
        # An owner of the zone is the apex when it is as long as the origin (see name_key).
        apex = len(self.origin)
        return {self.key(r[0]) for r in self.by_type.get(T.NS, ()) if len(r[0]) != apex}

    @kept
    def dnames(self) -> set[str]:
        return {self.key(r.owner) for r in self.by_type.get(T.DNAME, ())}

    @kept
    def nonterminals(self) -> set[str]:
        """Names with no records of their own but names below them (empty non-terminals)."""
        found: set[str] = set()
        for key in self.by_name:
            while key:
                key = key.rpartition("\x00")[0]
                if key in found:
                    break
                found.add(key)
        return found - self.by_name.keys()

    @kept
    def wildcards(self) -> set[str]:
        """The keys of the zone's wildcard names (``*`` and names starting ``*.``)."""
        return {key for key in self.by_name if key == "*" or key.endswith("\x00*")}

    def wildcard_for(self, key: str) -> str | None:
        """The key of the wildcard that answers for the name ``key`` (RFC 4592): the one
        at its closest encloser. None when the name exists (with records, or as an empty
        non-terminal) or no wildcard is at its closest encloser."""
        if not self.wildcards or key in self.by_name or key in self.nonterminals:
            return None
        while key:
            key = key.rpartition("\x00")[0]
            if not key or key in self.by_name or key in self.nonterminals:
                star = f"{key}\x00*" if key else "*"
                return star if star in self.wildcards else None
        return None

    @staticmethod
    def _above(key: str, marks: set[str]) -> str | None:
        while key:
            key = key.rpartition("\x00")[0]
            if key in marks:
                return key
        return None

    def cut_above(self, key: str) -> str | None:
        """The closest delegation strictly above ``key``, if any."""
        return self._above(key, self.delegations) if self.delegations else None

    def below_dname(self, key: str) -> str | None:
        """The DNAME owner strictly above ``key``, whose redirection hides it."""
        return self._above(key, self.dnames) if self.dnames else None

    def has_address(self, key: str) -> bool:
        return any(r[2] == T.A or r[2] == T.AAAA for r in self.by_name.get(key, ()))

    def targets(self, rdtype: int) -> list[tuple[Record, str | None]]:
        """Each record of ``rdtype`` with the key of its in-zone target (None: out of zone).

        Worked out once per type: several rules follow the NS, MX and SRV targets."""
        known = self._targets.get(rdtype)
        if known is None:
            known = self._targets[rdtype] = []
            origin = self.origin
            for record in self.by_type.get(rdtype, ()):
                target = presentation.target(rdtype, record[3])
                in_zone = target is not None and presentation.is_subdomain(target, origin)
                known.append((record, self.key(target) if in_zone else None))
        return known
