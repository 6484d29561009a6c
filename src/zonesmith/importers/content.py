"""What an importer reads, as one neutral value (zones, RRsets, SOA, views, keys), and the small
text helpers its writers share.
"""

from __future__ import annotations

import contextlib
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdatatype
import dns.rdtypes.ANY.SOA

from zonesmith.diagnostics import Diagnostic, Position, warning
from zonesmith.model import DEFAULT_VIEW
from zonesmith.site.values import rname_from_contact

T = dns.rdatatype

#: Records that belong to a signed zone and lose their meaning once the site re-signs (or not).
DNSSEC_GENERATED = frozenset({T.RRSIG, T.NSEC, T.NSEC3, T.NSEC3PARAM})
#: TTL for records of a master file that give none and have no $TTL (BIND: the SOA minimum).
FALLBACK_TTL = 3600

RRKey = tuple[dns.name.Name, int]  # owner, type


@dataclass(frozen=True, slots=True)
class RRset:
    ttl: int
    rdatas: frozenset[dns.rdata.Rdata]
    position: Position


Content = dict[RRKey, RRset]


@dataclass(frozen=True, slots=True)
class SoaValues:
    primary: dns.name.Name
    contact: dns.name.Name
    refresh: int
    retry: int
    expire: int
    negative_ttl: int
    ttl: int

    @classmethod
    def from_rdata(cls, rdata: dns.rdtypes.ANY.SOA.SOA, ttl: int) -> SoaValues:
        return cls(
            rdata.mname, rdata.rname, rdata.refresh, rdata.retry, rdata.expire, rdata.minimum, ttl
        )

    def fields(self) -> dict[str, object]:
        return {
            "primary": self.primary,
            "contact": self.contact,
            "refresh": self.refresh,
            "retry": self.retry,
            "expire": self.expire,
            "negative-ttl": self.negative_ttl,
        }


@dataclass
class ImportedZone:
    """One zone as read from the source: its RRsets in each view it is served in."""

    origin: dns.name.Name
    position: Position
    #: view name -> RRsets (DEFAULT_VIEW when the source has no views); no SOA among them.
    content: dict[str, Content]
    soa: SoaValues | None = None

    @property
    def text(self) -> str:
        return self.origin.to_text(omit_final_dot=True)


@dataclass(frozen=True, slots=True)
class ViewSpec:
    name: str
    clients: tuple[str, ...]
    key: str | None
    position: Position


@dataclass(frozen=True, slots=True)
class KeySpec:
    name: str
    algorithm: str
    secret: str = field(repr=False)
    position: Position = Position("")


@dataclass
class ImportedSite:
    """Everything an importer read, ready to be written as a site."""

    command: str  # e.g. "zonesmith import zonefile", for the header of the written files
    sources: list[str]
    zones: list[ImportedZone] = field(default_factory=list)
    views: list[ViewSpec] = field(default_factory=list)  # empty: the site declares no views
    keys: list[KeySpec] = field(default_factory=list)
    servers: dict[str, dict[str, object]] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def view_names(self) -> list[str]:
        return [v.name for v in self.views] or [DEFAULT_VIEW]


@dataclass
class ImportResult:
    """What a command did: files written, and every diagnostic on the way."""

    site: Path
    written: list[str] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics)

    def as_json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "site": str(self.site),
            "written": self.written,
            "notes": self.notes,
            "diagnostics": [d.as_json() for d in self.diagnostics],
        }


class ContentBuilder:
    """Collects records into RRsets, reporting what a zone cannot carry."""

    def __init__(self, origin: dns.name.Name, report: list[Diagnostic]):
        self.origin = origin
        self.report = report
        self.records: dict[RRKey, list[tuple[int, dns.rdata.Rdata, Position]]] = defaultdict(list)
        self.soa: SoaValues | None = None
        self.dropped_dnssec: Counter[str] = Counter()
        self.dnssec_position: Position | None = None

    def add(
        self, name: dns.name.Name, ttl: int, rdata: dns.rdata.Rdata, position: Position
    ) -> None:
        if rdata.rdtype == T.SOA:
            if name != self.origin:
                self.report.append(
                    warning(
                        position,
                        "not-carried-over",
                        f"SOA record at '{name}' (not the zone apex) is not carried over",
                    )
                )
            elif self.soa is None:
                self.soa = SoaValues.from_rdata(rdata, ttl)  # type: ignore[arg-type]
            return
        if rdata.rdtype in DNSSEC_GENERATED:
            self.dropped_dnssec[T.to_text(rdata.rdtype)] += 1
            self.dnssec_position = self.dnssec_position or position
            return
        self.records[(name, rdata.rdtype)].append((ttl, rdata, position))

    def content(self) -> Content:
        if self.dropped_dnssec:
            counts = ", ".join(f"{n} {t}" for t, n in sorted(self.dropped_dnssec.items()))
            self.report.append(
                warning(
                    self.dnssec_position or Position(""),
                    "dnssec-records-dropped",
                    f"zone '{self.origin}' is signed: {counts} records are not carried over "
                    "(they are only valid for the old serial); sign the built zone instead",
                )
            )
            self.dropped_dnssec.clear()
        content: Content = {}
        for key, entries in self.records.items():
            ttls = {ttl for ttl, _, _ in entries}
            ttl = min(ttls)
            if len(ttls) > 1:
                self.report.append(
                    warning(
                        entries[0][2],
                        "rrset-ttl",
                        f"the records of {key[0]} {T.to_text(key[1])} have different TTLs "
                        f"({', '.join(map(str, sorted(ttls)))}); all get the lowest, {ttl}, "
                        "as name servers serve them",
                    )
                )
            content[key] = RRset(ttl, frozenset(r for _, r, _ in entries), entries[0][2])
        return content


# --------------------------------------------------------------------------
# Small helpers


def format_duration(seconds: int) -> str | int:
    """``3600`` -> ``'1h'``: the largest BIND unit that divides it exactly."""
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return seconds


def contact_text(rname: dns.name.Name) -> str:
    """The SOA RNAME in e-mail form (``hostmaster@example.com``) when that reads back the same."""
    labels = rname.labels
    if len(labels) >= 3:
        try:
            local = labels[0].decode("ascii")
        except UnicodeDecodeError:
            local = ""
        if local and local.isprintable() and not any(c in local for c in '@\\ "'):
            domain = dns.name.Name(labels[1:]).to_text(omit_final_dot=True)
            candidate = f"{local}@{domain}"
            with contextlib.suppress(dns.exception.DNSException):
                if rname_from_contact(candidate) == rname:
                    return candidate
    return rname.to_text()


def most_common(values: Iterable[object], weights: Iterable[int] | None = None) -> object:
    """The most common value; ties go to the one seen first."""
    counts: Counter[object] = Counter()
    order: dict[object, int] = {}
    for i, (value, weight) in enumerate(zip(values, weights or _ones(), strict=False)):
        counts[value] += weight
        order.setdefault(value, i)
    return max(counts, key=lambda v: (counts[v], -order[v]))


def _ones() -> Iterator[int]:
    while True:
        yield 1


def natural_key(text: str) -> tuple[object, ...]:
    """Sort key that orders ``host2`` before ``host10`` (natsort's default order)."""
    parts = re.split(r"(\d+)", text)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def relative_text(name: dns.name.Name, origin: dns.name.Name) -> str:
    return "@" if name == origin else name.relativize(origin).to_text()
