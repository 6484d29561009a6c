"""Importers from foreign formats into a site, and the octoDNS exporter.

Every importer reads its source into one neutral value, :class:`ImportedSite`
(zones with their RRsets per view, their SOA, the views, keys and servers it
could infer), and reports what it could not carry over as diagnostics. One
writer, :class:`SiteWriter`, turns that value into site files:

- the SOA values become ``defaults.soa`` (the most common value of each field)
  and per-zone ``soa:`` overrides where a zone differs;
- each zone's TTL is its SOA's TTL (the TTL the built zone's SOA gets), the
  most common one becomes ``defaults.ttl``;
- apex NS sets, and MX/TXT/SPF sets, that several zones share exactly become
  ``sets`` that those zones ``include``;
- records whose content differs between views are written per view.

After writing, the site is loaded back with zonesmith's own loader and its
records compared with what was imported, so an import that would not round
trip is reported instead of left for the first build to find.

Sources: master files (:func:`import_zonefiles`), AXFR (:func:`import_axfr`),
BIND's ``named.conf`` (:func:`import_named_conf`, with a small tokenizer and
parser for its grammar) and octoDNS (:func:`import_octodns`);
:func:`export_octodns` writes a site back out as octoDNS configuration.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ipaddress
import os
import re
import socket
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.query
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.CAA
import dns.rdtypes.ANY.SOA
import dns.rdtypes.ANY.TXT
import dns.rdtypes.IN.NAPTR
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone
import yaml

from zonesmith.diagnostics import Diagnostic, Position, error, sort_diagnostics, warning
from zonesmith.model import DEFAULT_VIEW
from zonesmith.model import Record as MasterRecord
from zonesmith.site.files import SITE_FILE, ZONES_DIR, display_path
from zonesmith.site.masterfile.reader import read_masterfile
from zonesmith.site.values import TSIG_ALGORITHMS, check_address_match_element, rname_from_contact

T = dns.rdatatype
IN = dns.rdataclass.IN

#: Records that belong to a signed zone and lose their meaning once the site re-signs (or not).
DNSSEC_GENERATED = frozenset({T.RRSIG, T.NSEC, T.NSEC3, T.NSEC3PARAM})
#: TTL for records of a master file that give none and have no $TTL (BIND: the SOA minimum).
FALLBACK_TTL = 3600
AXFR_TIMEOUT = 30.0  # seconds for one whole transfer
MAX_CONF_INCLUDE_DEPTH = 20
MAX_CONF_NESTING = 64
MAX_ACL_DEPTH = 16
FORMATS = ("yaml", "zone")

RRKey = tuple[dns.name.Name, int]  # owner, type


# --------------------------------------------------------------------------
# What an importer reads: a neutral value


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


# --------------------------------------------------------------------------
# YAML output: stable order, flow style for short values, quoting where needed


class _FlowList(list):
    pass


class _FlowMap(dict):
    pass


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:
        return True


_Dumper.add_representer(
    _FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True)
)
_Dumper.add_representer(
    _FlowMap,
    lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", list(v.items()), flow_style=True),
)
FLOW_WIDTH = 90  # a value longer than this is written in block style


def dump_yaml(data: object, header: str = "") -> bytes:
    """YAML text in the order given; PyYAML quotes what would otherwise change meaning."""
    text = yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
    if text.strip() == "{}":
        text = "{}\n"
    return (header + text).encode()


def _flow_or_block_list(items: list[object]) -> list[object]:
    length = sum(len(str(i)) + 2 for i in items)
    if all(isinstance(i, str) for i in items) and length <= FLOW_WIDTH and len(items) <= 6:
        return _FlowList(items)
    return list(items)


def _flow_map(mapping: dict[str, object]) -> dict[str, object]:
    length = sum(len(k) + len(str(v)) + 4 for k, v in mapping.items())
    return _FlowMap(mapping) if length <= FLOW_WIDTH else dict(mapping)


# --------------------------------------------------------------------------
# Writing a site


@dataclass
class _ZonePlan:
    zone: ImportedZone
    views: list[str]  # views the zone is in
    all_views: bool  # in every view of the site
    ttl: int
    common: Content
    per_view: dict[str, Content]
    includes: list[str] = field(default_factory=list)
    format: str = "yaml"


@dataclass
class _SetPlan:
    name: str
    zones: list[_ZonePlan]
    rrsets: list[tuple[dns.name.Name, int, RRset]]  # relative owner, type, RRset


def _category(rel: dns.name.Name, rdtype: int, rrset: RRset) -> str:
    if rdtype == T.NS:
        return "ns"
    if rdtype == T.MX or rdtype == T.SPF:
        return "mail"
    labels = [label.lower() for label in rel.labels]
    if labels[:1] in ([b"_dmarc"], [b"_mta-sts"]) or b"_domainkey" in labels:
        return "mail"
    texts = [b"".join(r.strings).lower() for r in rrset.rdatas]  # type: ignore[attr-defined]
    if all(t.startswith((b"v=spf1", b"v=dmarc1", b"v=dkim1")) for t in texts):
        return "mail"
    return "txt"


class SiteWriter:
    """Turns an :class:`ImportedSite` into the files of a site."""

    def __init__(self, imported: ImportedSite, fmt: str = "yaml"):
        self.imported = imported
        self.format = fmt
        self.diagnostics: list[Diagnostic] = []
        self.plans = [self._plan_zone(zone) for zone in imported.zones]
        self.default_ttl = self._default_ttl()
        self.default_soa = self._default_soa()
        self.sets = self._factor_sets()

    # -- planning ------------------------------------------------------------

    def _plan_zone(self, zone: ImportedZone) -> _ZonePlan:
        site_views = self.imported.view_names
        views = [v for v in site_views if v in zone.content]
        contents = [zone.content[v] for v in views]
        if len(contents) == 1:
            common, per_view = dict(contents[0]), {}
        else:
            common = {
                key: rrset
                for key, rrset in contents[0].items()
                if all(
                    key in c and c[key].ttl == rrset.ttl and c[key].rdatas == rrset.rdatas
                    for c in contents[1:]
                )
            }
            per_view = {
                v: {k: r for k, r in zone.content[v].items() if k not in common} for v in views
            }
        if zone.soa is not None:
            ttl = zone.soa.ttl
        else:
            ttls = [r.ttl for c in contents for r in c.values()]
            ttl = int(most_common(ttls)) if ttls else FALLBACK_TTL  # type: ignore[call-overload]
        fmt = self.format
        if fmt == "zone" and any(per_view.values()):
            fmt = "yaml"
            self.diagnostics.append(
                warning(
                    zone.position,
                    "zone-written-as-yaml",
                    f"zone '{zone.text}' differs between views; a master file cannot say "
                    f"which record is for which view, so it is written as {ZONES_DIR}/"
                    f"{zone.text.lower()}.yaml",
                )
            )
        return _ZonePlan(
            zone, views, len(views) == len(site_views), ttl, common, per_view, format=fmt
        )

    def _default_ttl(self) -> int:
        if not self.plans:
            return 3600
        weights = [1 + sum(len(c) for c in p.zone.content.values()) for p in self.plans]
        return int(most_common([p.ttl for p in self.plans], weights))  # type: ignore[call-overload]

    def _default_soa(self) -> SoaValues | None:
        soas = [p.zone.soa for p in self.plans if p.zone.soa is not None]
        if soas:
            return SoaValues(
                *(most_common([getattr(s, f) for s in soas]) for f in SoaValues.__slots__)
            )  # type: ignore[arg-type]
        if not self.plans:
            return None
        # No SOA anywhere (octoDNS has none): make one from the zones' name servers.
        targets = [
            r.target
            for p in self.plans
            for (name, rdtype), rrset in sorted(p.common.items())
            if rdtype == T.NS and name == p.zone.origin
            for r in sorted(rrset.rdatas)
        ]
        primary = (
            most_common(targets)
            if targets
            else dns.name.from_text("ns1", self.plans[0].zone.origin)
        )
        domain = primary.parent() if len(primary) > 2 else primary  # type: ignore[union-attr]
        contact = dns.name.from_text("hostmaster", domain)
        soa = SoaValues(primary, contact, 10800, 3600, 1209600, 3600, self.default_ttl)  # type: ignore[arg-type]
        self.diagnostics.append(
            warning(
                Position(self.imported.sources[0] if self.imported.sources else ""),
                "soa-invented",
                f"the source has no SOA records; defaults soa in {SITE_FILE} is made up "
                f"(primary {primary}, contact {contact_text(contact)}, zonesmith's default "
                "timers): check it",
            )
        )
        return soa

    def _factor_sets(self) -> list[_SetPlan]:
        shared: dict[tuple[dns.name.Name, int, int, frozenset], list[_ZonePlan]] = defaultdict(list)
        for plan in self.plans:
            origin = plan.zone.origin
            for (name, rdtype), rrset in plan.common.items():
                if rdtype not in (T.NS, T.MX, T.TXT, T.SPF):
                    continue
                if rdtype == T.NS and name != origin:
                    continue  # a delegation is particular to its zone
                rel = name.relativize(origin)
                shared[(rel, rdtype, rrset.ttl, rrset.rdatas)].append(plan)
        groups: dict[tuple[str, tuple[str, ...]], list[tuple]] = defaultdict(list)
        for signature, plans in shared.items():
            if len(plans) < 2:
                continue
            rel, rdtype, _, _ = signature
            category = _category(rel, rdtype, plans[0].common[(_absolute(rel, plans[0]), rdtype)])
            groups[(category, tuple(p.zone.text for p in plans))].append(signature)
        order = {"ns": 0, "mail": 1, "txt": 2}
        sets: list[_SetPlan] = []
        used: Counter[str] = Counter()
        by_text = {p.zone.text: p for p in self.plans}
        for (category, zone_texts), signatures in sorted(
            groups.items(), key=lambda g: (order[g[0][0]], -len(g[0][1]), g[0][1])
        ):
            used[category] += 1
            name = category if used[category] == 1 else f"{category}-{used[category]}"
            plans = [by_text[t] for t in zone_texts]
            rrsets = []
            for rel, rdtype, _, _ in sorted(signatures, key=lambda s: (s[0], s[1])):
                rrsets.append((rel, rdtype, plans[0].common[(_absolute(rel, plans[0]), rdtype)]))
                for plan in plans:
                    del plan.common[(_absolute(rel, plan), rdtype)]
            for plan in plans:
                plan.includes.append(name)
            sets.append(_SetPlan(name, plans, rrsets))
        return sets

    # -- rendering -----------------------------------------------------------

    def files(self) -> dict[str, tuple[bytes, int]]:
        """Relative path -> (content, mode) of every file of the site."""
        files: dict[str, tuple[bytes, int]] = {SITE_FILE: (self.site_file(), 0o644)}
        for plan in self.plans:
            stem = plan.zone.text.lower()
            if plan.format == "zone":
                files[f"{ZONES_DIR}/{stem}.zone"] = (self.master_file(plan), 0o644)
            else:
                files[f"{ZONES_DIR}/{stem}.yaml"] = (self.zone_yaml(plan), 0o644)
        for key in self.imported.keys:
            files[f"secrets/{key.name}.key"] = (f"{key.secret}\n".encode(), 0o600)
        return files

    def _header(self) -> str:
        sources = ", ".join(self.imported.sources) or "(nothing)"
        return f"# Written by `{self.imported.command}` from {sources}.\n"

    def site_file(self) -> bytes:
        data: dict[str, object] = {}
        defaults: dict[str, object] = {"ttl": format_duration(self.default_ttl)}
        if self.default_soa is not None:
            soa = self.default_soa
            defaults["soa"] = {
                "primary": soa.primary.to_text(),
                "contact": contact_text(soa.contact),
                "refresh": format_duration(soa.refresh),
                "retry": format_duration(soa.retry),
                "expire": format_duration(soa.expire),
                "negative-ttl": format_duration(soa.negative_ttl),
            }
        data["defaults"] = defaults
        if self.imported.keys:
            data["keys"] = {
                k.name: _FlowMap({"algorithm": k.algorithm, "secret-file": f"secrets/{k.name}.key"})
                for k in self.imported.keys
            }
        if self.imported.views:
            views: dict[str, object] = {}
            for v in self.imported.views:
                entry: dict[str, object] = {"clients": _flow_or_block_list(list(v.clients))}
                if v.key:
                    entry["key"] = v.key
                views[v.name] = _flow_map(entry)
            data["views"] = views
        if self.imported.servers:
            data["servers"] = {n: _flow_map(s) for n, s in self.imported.servers.items()}
        if self.sets:
            data["sets"] = {s.name: self.set_body(s) for s in self.sets}
        data["zones"] = {p.zone.text: self.zone_entry(p) for p in self.plans}
        return dump_yaml(data, self._header())

    def set_body(self, plan: _SetPlan) -> dict[str, object]:
        plain_ttl = all(p.ttl == self.default_ttl for p in plan.zones)
        owners: dict[str, list[str]] = defaultdict(list)
        for rel, _rdtype, rrset in plan.rrsets:
            owner = "@" if rel == dns.name.empty else rel.to_text()
            prefix = "" if plain_ttl and rrset.ttl == self.default_ttl else f"{rrset.ttl} "
            for rdata in sorted(rrset.rdatas):
                owners[owner].append(f"{prefix}{T.to_text(rdata.rdtype)} {rdata.to_text()}")
        return {o: (t[0] if len(t) == 1 else _flow_or_block_list(t)) for o, t in owners.items()}

    def zone_entry(self, plan: _ZonePlan) -> dict[str, object]:
        entry: dict[str, object] = {}
        if plan.includes:
            entry["include"] = _FlowList(plan.includes)
        if not plan.all_views:
            entry["views"] = _FlowList(plan.views)
        if plan.ttl != self.default_ttl:
            entry["ttl"] = format_duration(plan.ttl)
        soa = plan.zone.soa
        if soa is not None and self.default_soa is not None:
            differs: dict[str, object] = {}
            for name, value in soa.fields().items():
                if value != self.default_soa.fields()[name]:
                    if name == "primary":
                        differs[name] = soa.primary.to_text()
                    elif name == "contact":
                        differs[name] = contact_text(soa.contact)
                    else:
                        differs[name] = format_duration(value)  # type: ignore[arg-type]
            if differs:
                entry["soa"] = _flow_map(differs)
        return _flow_map(entry)

    def _record_text(self, rdata: dns.rdata.Rdata, ttl: int, plan: _ZonePlan) -> str:
        prefix = "" if ttl == plan.ttl else f"{ttl} "
        text = rdata.to_text(origin=plan.zone.origin, relativize=True)
        return f"{prefix}{T.to_text(rdata.rdtype)} {text}"

    def zone_yaml(self, plan: _ZonePlan) -> bytes:
        origin = plan.zone.origin
        names = sorted(
            {k[0] for k in plan.common} | {k[0] for c in plan.per_view.values() for k in c}
        )
        body: dict[str, object] = {}
        for name in names:
            common = [
                self._record_text(rdata, rrset.ttl, plan)
                for key, rrset in sorted(plan.common.items(), key=lambda kv: kv[0][1])
                if key[0] == name
                for rdata in sorted(rrset.rdatas)
            ]
            views = []
            for view, content in plan.per_view.items():
                texts = [
                    self._record_text(rdata, rrset.ttl, plan)
                    for key, rrset in sorted(content.items(), key=lambda kv: kv[0][1])
                    if key[0] == name
                    for rdata in sorted(rrset.rdatas)
                ]
                if texts:
                    views.append(_flow_map({"view": view, "records": _flow_or_block_list(texts)}))
            items: list[object] = [*common, *views]
            owner = relative_text(name, origin)
            body[owner] = items[0] if len(items) == 1 else _flow_or_block_list(items)
        header = f"# Zone {plan.zone.text}: its records; the SOA is in {SITE_FILE}.\n"
        return dump_yaml(body, self._header() + header)

    def master_file(self, plan: _ZonePlan) -> bytes:
        origin = plan.zone.origin
        lines = [
            ";" + self._header().rstrip("\n")[1:],
            f"; Zone {plan.zone.text}: the SOA comes from {SITE_FILE}.",
            f"$ORIGIN {origin.to_text()}",
            f"$TTL {plan.ttl}",
        ]
        for (name, _rdtype), rrset in sorted(plan.common.items()):
            owner = relative_text(name, origin)
            ttl = "" if rrset.ttl == plan.ttl else f"{rrset.ttl}\t"
            for rdata in sorted(rrset.rdatas):
                rdata_text = rdata.to_text(origin=origin, relativize=True)
                lines.append(f"{owner}\t{ttl}IN\t{T.to_text(rdata.rdtype)}\t{rdata_text}")
        return ("\n".join(lines) + "\n").encode()


def _absolute(rel: dns.name.Name, plan: _ZonePlan) -> dns.name.Name:
    return rel.derelativize(plan.zone.origin)


# --------------------------------------------------------------------------
# Writing files, and checking that the site reads back the same


def write_site(imported: ImportedSite, root: Path, fmt: str, force: bool) -> ImportResult:
    """Write the site for ``imported`` into ``root`` and check it reads back the same."""
    result = ImportResult(root)
    result.diagnostics += imported.diagnostics
    if any(d.is_error for d in imported.diagnostics):
        result.diagnostics = sort_diagnostics(result.diagnostics)
        result.notes.append("nothing was written: fix the errors above first")
        return result
    if not imported.zones:
        result.diagnostics.append(
            error(Position(", ".join(imported.sources)), "nothing-to-import", "no zone to import")
        )
        return result
    writer = SiteWriter(imported, fmt)
    files = writer.files()
    result.diagnostics += writer.diagnostics
    conflicts = _conflicts(root, files)
    if conflicts and not force:
        for path in conflicts:
            result.diagnostics.append(
                error(
                    Position(display_path(root / path)),
                    "file-exists",
                    "the site already has this file; nothing was written "
                    "(use --force to overwrite it)",
                )
            )
        result.diagnostics = sort_diagnostics(result.diagnostics)
        return result
    for path in conflicts:
        if path not in files:  # the same zone in the other format
            (root / path).unlink()
    for relative, (content, mode) in sorted(files.items()):
        _write_file(root / relative, content, mode)
        result.written.append(relative)
    if imported.keys:
        _note_gitignore(root, result)
    result.diagnostics = sort_diagnostics(result.diagnostics)
    result.diagnostics += verify_site(root, imported)
    return result


def _conflicts(root: Path, files: dict[str, tuple[bytes, int]]) -> list[str]:
    conflicts = []
    for relative in files:
        if (root / relative).exists():
            conflicts.append(relative)
        if relative.startswith(f"{ZONES_DIR}/"):
            stem, _, suffix = relative.rpartition(".")
            other = f"{stem}.{'zone' if suffix == 'yaml' else 'yaml'}"
            if (root / other).exists():
                conflicts.append(other)
    return sorted(set(conflicts))


def _write_file(path: Path, content: bytes, mode: int) -> None:
    """Write through a temporary file, created with its final mode (secrets stay 0600)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if mode == 0o600:
        os.chmod(path.parent, 0o700)
    temporary = path.with_name(f".{path.name}.zonesmith-tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as stream:
        stream.write(content)
    os.chmod(temporary, mode)
    os.replace(temporary, path)


def _note_gitignore(root: Path, result: ImportResult) -> None:
    gitignore = root / ".gitignore"
    if not gitignore.exists():
        _write_file(gitignore, b"secrets/\n", 0o644)
        result.written.append(".gitignore")
    elif "secrets" not in gitignore.read_text(errors="replace"):
        result.notes.append("add secrets/ to .gitignore: the TSIG secrets must stay out of git")


def _rrsets_of(records: Iterable) -> dict[RRKey, tuple[int, frozenset]]:
    grouped: dict[RRKey, tuple[int, set]] = {}
    for record in records:
        key = (record.name, record.rdtype)
        ttl, rdatas = grouped.get(key, (record.ttl, set()))
        rdatas.add(record.rdata)
        grouped[key] = (min(ttl, record.ttl), rdatas)
    return {k: (ttl, frozenset(r)) for k, (ttl, r) in grouped.items()}


def verify_site(root: Path, imported: ImportedSite) -> list[Diagnostic]:
    """Load the written site as ``zonesmith check`` would and compare it with what was read."""
    from zonesmith.pipeline import check_site

    site, diagnostics = check_site(root)
    problems = list(diagnostics)
    for zone in imported.zones:
        loaded = site.zones_by_name.get(zone.origin)
        where = Position(display_path(root / SITE_FILE))
        if loaded is None:
            problems.append(error(where, "round-trip", f"zone '{zone.text}' did not load back"))
            continue
        for view, content in zone.content.items():
            expected = {k: (r.ttl, r.rdatas) for k, r in content.items()}
            actual = _rrsets_of(loaded.records_in_view(view)) if view in loaded.views else {}
            if expected != actual:
                diff = sorted(set(expected.items()) ^ set(actual.items()), key=str)[:1]
                problems.append(
                    error(
                        where,
                        "round-trip",
                        f"zone '{zone.text}' (view {view}) reads back different records "
                        f"from what was imported (e.g. {diff[0][0][0]} "
                        f"{T.to_text(diff[0][0][1])}); this is a bug in zonesmith, please "
                        "report it",
                    )
                )
        soa = site.soa_for(loaded)
        if zone.soa is not None and soa is not None:
            got = (soa.primary, soa.contact, soa.refresh, soa.retry, soa.expire, soa.negative_ttl)
            want = tuple(zone.soa.fields().values())
            if got != want or site.ttl_for(loaded) != zone.soa.ttl:
                problems.append(
                    error(where, "round-trip", f"zone '{zone.text}' reads back another SOA")
                )
    return problems


# --------------------------------------------------------------------------
# Master files


def guess_origin(path: Path) -> dns.name.Name | None:
    """The origin a master file declares: its first ``$ORIGIN``, or an absolute SOA owner."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        stripped = line.split(";", 1)[0] if '"' not in line else line
        tokens = stripped.split()
        if not tokens:
            continue
        head = tokens[0].upper()
        if head == "$ORIGIN" and len(tokens) > 1 and tokens[1].endswith("."):
            with contextlib.suppress(dns.exception.DNSException):
                return dns.name.from_text(tokens[1])
            return None
        if head.startswith("$"):
            continue
        if line[:1].isspace():
            continue
        # The first record: its owner is the origin when it is an absolute SOA owner.
        if "SOA" in (t.upper() for t in tokens[1:4]) and tokens[0].endswith("."):
            with contextlib.suppress(dns.exception.DNSException):
                return dns.name.from_text(tokens[0])
        return None
    return None


def origin_from_file_name(path: Path) -> dns.name.Name | None:
    """``db.example.com`` or ``example.com.zone`` -> ``example.com.``."""
    stem = path.name
    for suffix in (".zone", ".db", ".txt", ".hosts", ".dns", ".signed"):
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    if stem.lower().startswith("db."):
        stem = stem[3:]
    if not stem or "." not in stem.strip("."):
        return None
    try:
        return dns.name.from_text(stem.rstrip(".") + ".")
    except dns.exception.DNSException:
        return None


def zone_from_records(
    origin: dns.name.Name,
    records: Iterable[MasterRecord],
    position: Position,
    report: list[Diagnostic],
    view: str = DEFAULT_VIEW,
) -> ImportedZone:
    builder = ContentBuilder(origin, report)
    for record in records:
        builder.add(record.name, record.ttl, record.rdata, record.position)
    zone = ImportedZone(origin, position, {view: builder.content()}, builder.soa)
    if builder.soa is None:
        report.append(warning(position, "no-soa", f"zone '{zone.text}' has no SOA record"))
    return zone


def read_zone_file(
    path: Path, origin: dns.name.Name, report: list[Diagnostic], view: str = DEFAULT_VIEW
) -> ImportedZone:
    display = display_path(path)
    records, diagnostics = read_masterfile(path, origin, FALLBACK_TTL, display_path=display)
    report.extend(diagnostics)
    return zone_from_records(origin, records, Position(display, 1, 1), report, view)


def import_zonefiles(
    files: list[Path], root: Path, fmt: str = "yaml", origin: str | None = None, force: bool = False
) -> ImportResult:
    """``zonesmith import zonefile``: master files into a site."""
    imported = ImportedSite("zonesmith import zonefile", [display_path(f) for f in files])
    report = imported.diagnostics
    if origin is not None and len(files) > 1:
        report.append(
            error(
                Position(display_path(files[1])),
                "origin-ambiguous",
                "--origin names the zone of one file; import files of other zones "
                "without it (their $ORIGIN or SOA owner is used) or one at a time",
            )
        )
        return write_site(imported, root, fmt, force)
    seen: dict[dns.name.Name, str] = {}
    for path in files:
        display = display_path(path)
        if not path.is_file():
            report.append(error(Position(display), "unreadable-file", "no such file"))
            continue
        zone_origin = _origin_for(path, origin, report)
        if zone_origin is None:
            continue
        if zone_origin in seen:
            report.append(
                error(
                    Position(display),
                    "duplicate-zone",
                    f"zone '{zone_origin}' is also read from {seen[zone_origin]}; "
                    "import one file per zone",
                )
            )
            continue
        seen[zone_origin] = display
        imported.zones.append(read_zone_file(path, zone_origin, report))
    imported.zones.sort(key=lambda z: z.origin)
    return write_site(imported, root, fmt, force)


def _origin_for(path: Path, given: str | None, report: list[Diagnostic]) -> dns.name.Name | None:
    display = display_path(path)
    if given is not None:
        try:
            return dns.name.from_text(given.rstrip(".") + ".")
        except dns.exception.DNSException as exc:
            report.append(error(Position(display), "bad-name", f"--origin '{given}': {exc}"))
            return None
    found = guess_origin(path)
    if found is not None:
        return found
    found = origin_from_file_name(path)
    if found is None:
        report.append(
            error(
                Position(display, 1, 1),
                "no-origin",
                "cannot tell which zone this file is: it has no $ORIGIN, no SOA with an "
                "absolute owner, and its name is not a domain; give --origin example.com",
            )
        )
        return None
    if found == dns.name.root:
        return None
    report.append(
        warning(
            Position(display, 1, 1),
            "origin-from-file-name",
            f"no $ORIGIN or absolute SOA owner in the file; the zone is taken to be "
            f"'{found.to_text(omit_final_dot=True)}' from the file name (give --origin to choose)",
        )
    )
    return found


# --------------------------------------------------------------------------
# AXFR


@dataclass(frozen=True)
class KeyArg:
    name: str
    algorithm: str
    secret: str = field(repr=False)


def parse_key_argument(text: str) -> tuple[KeyArg | None, str | None]:
    """``NAME:ALG:SECRET-FILE`` -> the key, or None and why not (never showing the secret)."""
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return (
            None,
            f"--key '{text}' must be NAME:ALGORITHM:SECRET-FILE, e.g. xfr:hmac-sha256:xfr.key",
        )
    name, algorithm, secret_file = parts
    algorithm = algorithm.lower()
    if algorithm not in TSIG_ALGORITHMS:
        return None, f"--key: unknown TSIG algorithm '{algorithm}'; expected one of " + ", ".join(
            TSIG_ALGORITHMS
        )
    try:
        content = Path(secret_file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"--key: cannot read {secret_file}: {getattr(exc, 'strerror', None) or exc}"
    match = re.search(r'secret\s+"([^"]+)"', content)
    secret = (match.group(1) if match else content).strip()
    try:
        if not secret or not base64.b64decode(secret, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        return (
            None,
            f"--key: {secret_file} does not hold a base64 secret (make one with tsig-keygen)",
        )
    return KeyArg(name, algorithm, secret), None


def _resolve(server: str) -> str:
    try:
        return str(ipaddress.ip_address(server))
    except ValueError:
        return socket.getaddrinfo(server, None, type=socket.SOCK_STREAM)[0][4][0]


def fetch_axfr(
    server: str, zone_text: str, port: int, key: KeyArg | None, report: list[Diagnostic]
) -> ImportedZone | None:
    """One zone by AXFR; problems are reported, never raised."""
    where = Position(f"{server}#{port}")
    try:
        origin = dns.name.from_text(zone_text.rstrip(".") + ".")
    except dns.exception.DNSException as exc:
        report.append(error(where, "bad-name", f"'{zone_text}' is not a zone name: {exc}"))
        return None
    name = origin.to_text(omit_final_dot=True)
    keyring = keyname = None
    if key is not None:
        keyring = dns.tsigkeyring.from_text({key.name: (key.algorithm, key.secret)})
        keyname = dns.name.from_text(key.name)
    try:
        address = _resolve(server)
        transfer = dns.query.xfr(
            address,
            origin,
            port=port,
            keyring=keyring,
            keyname=keyname,
            keyalgorithm=key.algorithm if key else dns.tsig.default_algorithm,
            lifetime=AXFR_TIMEOUT,
            relativize=False,
        )
        zone = dns.zone.from_xfr(transfer, relativize=False, check_origin=False)
    except dns.xfr.TransferError as exc:
        rcode = dns.rcode.to_text(exc.rcode)
        hint = (
            "the server does not allow this transfer to this address"
            + ("" if key else "; give the transfer key with --key NAME:ALGORITHM:SECRET-FILE")
            if exc.rcode == dns.rcode.REFUSED
            else "is the server authoritative for this zone?"
        )
        report.append(error(where, "axfr-failed", f"AXFR of {name} refused ({rcode}): {hint}"))
        return None
    except (dns.tsig.PeerError, dns.tsig.BadSignature) as exc:
        report.append(
            error(
                where,
                "axfr-failed",
                f"AXFR of {name}: the server rejected the TSIG key '{key.name if key else ''}' "
                f"({type(exc).__name__}); check its name, algorithm and secret",
            )
        )
        return None
    except dns.exception.Timeout:
        report.append(
            error(where, "axfr-failed", f"AXFR of {name}: no answer within {AXFR_TIMEOUT:.0f} s")
        )
        return None
    except (OSError, EOFError, ConnectionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        report.append(
            error(
                where,
                "axfr-failed",
                f"AXFR of {name}: cannot transfer from {server} port {port}: {reason}",
            )
        )
        return None
    except dns.exception.DNSException as exc:
        report.append(error(where, "axfr-failed", f"AXFR of {name}: {exc}"))
        return None
    builder = ContentBuilder(origin, report)
    zone_where = Position(f"{server}#{port}/{name}")
    for owner, ttl, rdata in zone.iterate_rdatas():
        builder.add(owner, ttl, rdata, zone_where)
    return ImportedZone(origin, zone_where, {DEFAULT_VIEW: builder.content()}, builder.soa)


def import_axfr(
    server: str,
    zones: list[str],
    root: Path,
    port: int = 53,
    key: str | None = None,
    fmt: str = "yaml",
    force: bool = False,
) -> ImportResult:
    """``zonesmith import axfr``: zones transferred from a live server into a site."""
    imported = ImportedSite("zonesmith import axfr", [f"{server}#{port}"])
    key_arg = None
    if key is not None:
        key_arg, problem = parse_key_argument(key)
        if problem:
            imported.diagnostics.append(error(Position("--key"), "bad-key", problem))
            return write_site(imported, root, fmt, force)
    for zone_text in zones:
        zone = fetch_axfr(server, zone_text, port, key_arg, imported.diagnostics)
        if zone is not None:
            imported.zones.append(zone)
    imported.zones.sort(key=lambda z: z.origin)
    return write_site(imported, root, fmt, force)


# --------------------------------------------------------------------------
# named.conf: tokenizer


@dataclass(frozen=True, slots=True)
class ConfToken:
    """A word, a quoted string (quotes removed) or one of ``{ } ;``."""

    text: str
    kind: str  # "word", "string", "{", "}", ";"
    position: Position

    @property
    def is_word(self) -> bool:
        return self.kind in ("word", "string")


def tokenize_named_conf(text: str, display: str) -> tuple[list[ConfToken], list[Diagnostic]]:
    """The tokens of a BIND configuration: ``//``, ``#`` and ``/* */`` comments are skipped."""
    tokens: list[ConfToken] = []
    problems: list[Diagnostic] = []
    i, n, line, line_start = 0, len(text), 1, 0

    def at(offset: int) -> Position:
        return Position(display, line, offset - line_start + 1)

    while i < n:  # every branch moves i forward
        c = text[i]
        if c == "\n":
            line, line_start, i = line + 1, i + 1, i + 1
        elif c in " \t\r\f\v":
            i += 1
        elif c == "#" or text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                problems.append(
                    error(at(i), "conf-syntax", "comment '/*' is never closed; add '*/'")
                )
                break
            newlines = text.count("\n", i, end)
            if newlines:
                line += newlines
                line_start = text.rfind("\n", i, end) + 1
            i = end + 2
        elif c in "{};":
            tokens.append(ConfToken(c, c, at(i)))
            i += 1
        elif c == '"':
            position = at(i)
            chars = []
            j = i + 1
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    j += 1
                if text[j] == "\n":
                    line, line_start = line + 1, j + 1
                chars.append(text[j])
                j += 1
            if j >= n:
                problems.append(
                    error(position, "conf-syntax", "string is never closed; add the closing '\"'")
                )
                break
            tokens.append(ConfToken("".join(chars), "string", position))
            i = j + 1
        else:
            start = i
            while (
                i < n
                and text[i] not in ' \t\r\f\v\n{};"#'
                and not text.startswith("//", i)
                and not text.startswith("/*", i)
            ):
                i += 1
            tokens.append(ConfToken(text[start:i], "word", at(start)))
    return tokens, problems


# --------------------------------------------------------------------------
# named.conf: parser (statement := (word | block)* ';')


@dataclass
class ConfBlock:
    statements: list[ConfStatement]
    position: Position


@dataclass
class ConfStatement:
    parts: list[ConfToken | ConfBlock]
    position: Position

    @property
    def words(self) -> list[ConfToken]:
        return [p for p in self.parts if isinstance(p, ConfToken)]

    @property
    def keyword(self) -> str:
        first = self.parts[0] if self.parts else None
        return first.text.lower() if isinstance(first, ConfToken) else ""

    @property
    def block(self) -> ConfBlock | None:
        return next((p for p in self.parts if isinstance(p, ConfBlock)), None)

    def arg(self, index: int) -> str | None:
        words = self.words
        return words[index].text if len(words) > index else None

    def describe(self) -> str:
        """The statement's keyword and first argument, never its contents (they may be secret)."""
        words = [w.text for w in self.words[:2]]
        if len(words) == 2 and self.words[1].kind == "string":
            words[1] = f'"{words[1]}"'
        return " ".join(words) or "{ ... }"


#: Statements whose block ends them: a missing ';' after their '}' is reported there.
_BLOCK_STATEMENTS = frozenset(
    {
        "options", "view", "zone", "key", "acl", "logging", "controls", "masters", "primaries",
        "server", "statistics-channels", "trust-anchors", "managed-keys", "trusted-keys",
        "dnssec-policy", "tls", "http", "dlz", "dyndb", "key-store", "remote-servers",
    }
)  # fmt: skip


class ConfParser:
    """Parses one file and the files it includes into statements, reporting every problem."""

    def __init__(self, top: Path):
        self.top = top
        self.diagnostics: list[Diagnostic] = []
        self.stack: list[Path] = []

    def parse_file(self, path: Path, where: Position | None = None) -> list[ConfStatement]:
        display = display_path(path)
        try:
            text = path.read_text(errors="replace")
        except OSError as exc:
            self.diagnostics.append(
                error(
                    where or Position(display),
                    "unreadable-file",
                    f"cannot read {display}: {exc.strerror}",
                )
            )
            return []
        resolved = path.resolve()
        if resolved in self.stack or len(self.stack) >= MAX_CONF_INCLUDE_DEPTH:
            self.diagnostics.append(
                error(
                    where or Position(display),
                    "include-loop",
                    f"{display} includes itself (or includes nest too deep)",
                )
            )
            return []
        tokens, problems = tokenize_named_conf(text, display)
        self.diagnostics += problems
        self.stack.append(resolved)
        try:
            self.tokens, self.i = tokens, 0
            statements = self._block(None, 0)
            return self._expand_includes(statements, path)
        finally:
            self.stack.pop()

    def _expand_includes(self, statements: list[ConfStatement], path: Path) -> list[ConfStatement]:
        expanded = []
        for statement in statements:
            if statement.keyword == "include":
                target = statement.arg(1)
                if target is None:
                    self.diagnostics.append(
                        error(statement.position, "conf-syntax", "include needs a file name")
                    )
                    continue
                included = Path(target)
                if not included.is_absolute():
                    candidates = [self.top.parent / included, path.parent / included]
                    included = next((c for c in candidates if c.exists()), candidates[0])
                expanded += self.parse_file(included, statement.position)
                continue
            block = statement.block
            if block is not None:
                block.statements = self._expand_includes(block.statements, path)
            expanded.append(statement)
        return expanded

    def _block(self, opening: ConfToken | None, depth: int) -> list[ConfStatement]:
        statements: list[ConfStatement] = []
        tokens = self.tokens
        while self.i < len(tokens):
            token = tokens[self.i]
            if token.kind == "}":
                self.i += 1
                if opening is not None:
                    return statements
                self.diagnostics.append(
                    error(token.position, "conf-syntax", "'}' without a matching '{'")
                )
            elif token.kind == ";":
                self.i += 1
            else:
                statements.append(self._statement(depth))
        if opening is not None:
            self.diagnostics.append(
                error(opening.position, "conf-syntax", "'{' is never closed; add '};'")
            )
        return statements

    def _statement(self, depth: int) -> ConfStatement:
        tokens = self.tokens
        parts: list[ConfToken | ConfBlock] = []
        start = tokens[self.i].position
        while self.i < len(tokens):
            token = tokens[self.i]
            if token.kind == ";":
                self.i += 1
                return ConfStatement(parts, start)
            if token.kind == "}":
                self.diagnostics.append(
                    error(token.position, "conf-syntax", "missing ';' before '}'")
                )
                return ConfStatement(parts, start)
            self.i += 1
            if token.kind != "{":
                parts.append(token)
                continue
            if depth >= MAX_CONF_NESTING:
                self.diagnostics.append(
                    error(token.position, "conf-syntax", "blocks nest too deep")
                )
                return ConfStatement(parts, start)
            parts.append(ConfBlock(self._block(token, depth + 1), token.position))
            statement = ConfStatement(parts, start)
            following = tokens[self.i] if self.i < len(tokens) else None
            if statement.keyword in _BLOCK_STATEMENTS and (
                following is None or following.kind != ";"
            ):
                closing = tokens[self.i - 1].position
                self.diagnostics.append(
                    error(closing, "conf-syntax", f"missing ';' after '}}' of {statement.keyword}")
                )
                return statement
        self.diagnostics.append(error(start, "conf-syntax", "missing ';' at the end of the file"))
        return ConfStatement(parts, start)


def parse_named_conf(path: Path) -> tuple[list[ConfStatement], list[Diagnostic]]:
    parser = ConfParser(path)
    statements = parser.parse_file(path)
    return statements, parser.diagnostics


# --------------------------------------------------------------------------
# named.conf: what the statements mean


#: Options zonesmith's BIND driver writes itself, with the value it writes.
_DRIVER_OPTIONS = {
    "recursion": "no",
    "allow-recursion": "{ none; }",
    "allow-query-cache": "{ none; }",
    "allow-transfer": "{ none; }",
    "notify": "explicit",
    "version": "none",
    "hostname": "none",
    "server-id": "none",
    "minimal-any": "yes",
    "dnssec-validation": "no",
}
#: Working files the build places under the server's path.
_WORKING_FILES = frozenset(
    {"directory", "pid-file", "session-keyfile", "managed-keys-directory", "dump-file",
     "statistics-file", "memstatistics-file", "listen-on", "listen-on-v6", "port"}
)  # fmt: skip
_ZONE_OPTION_REASONS = {
    "allow-transfer": "zonesmith allows transfers to the site's secondaries only "
    "(declare them under servers)",
    "also-notify": "zonesmith notifies the site's secondaries (declare them under servers)",
    "notify": "zonesmith notifies the site's secondaries only",
    "allow-update": "zonesmith owns the zone data; dynamic updates would be overwritten",
    "update-policy": "zonesmith owns the zone data; dynamic updates would be overwritten",
    "allow-query": "every client of the zone's views is answered",
    "dnssec-policy": "DNSSEC signing is not modelled yet",
    "inline-signing": "DNSSEC signing is not modelled yet",
    "auto-dnssec": "DNSSEC signing is not modelled yet",
    "key-directory": "DNSSEC signing is not modelled yet",
    "journal": "the build writes the zone files whole",
}


def _render(statement: ConfStatement) -> str:
    out = []
    for part in statement.parts:
        if isinstance(part, ConfToken):
            out.append(part.text)
        else:
            out.append("{ " + " ".join(_render(s) + ";" for s in part.statements) + " }")
    return " ".join(out)


class NamedConfReader:
    """Interprets a parsed named.conf into an :class:`ImportedSite`."""

    def __init__(self, path: Path):
        self.path = path
        self.imported = ImportedSite("zonesmith import named-conf", [display_path(path)])
        self.report = self.imported.diagnostics
        self.directory = path.parent
        self.acls: dict[str, ConfStatement] = {}
        self.keys: dict[str, KeySpec] = {}
        self.listen: list[tuple[str, int, Position]] = []
        self.port = 53
        # zone -> view -> ImportedZone (one view each)
        self.zones: dict[dns.name.Name, dict[str, ImportedZone]] = {}
        self.zone_order: list[dns.name.Name] = []
        self.file_cache: dict[tuple[Path, dns.name.Name], ImportedZone] = {}
        self.primary_zones = 0
        self.negated_keys: list[tuple[str, Position, str]] = []  # key, where, view

    def warn(self, position: Position, message: str, rule: str = "not-carried-over") -> None:
        self.report.append(warning(position, rule, message))

    def read(self) -> ImportedSite:
        statements, problems = parse_named_conf(self.path)
        self.report += problems
        if any(p.is_error for p in problems):
            return self.imported
        for statement in statements:  # definitions first: they may follow their use
            keyword = statement.keyword
            if keyword == "options":
                self.read_options(statement)
            elif keyword == "key":
                self.read_key(statement)
            elif keyword == "acl" and statement.arg(1) and statement.block:
                self.acls[statement.arg(1)] = statement  # type: ignore[index]
        views = [s for s in statements if s.keyword == "view"]
        top_zones = [s for s in statements if s.keyword == "zone"]
        if views and top_zones:
            for zone in top_zones:
                self.report.append(
                    error(
                        zone.position,
                        "zone-outside-view",
                        "with views, every zone must be inside a view (BIND refuses this too)",
                    )
                )
        for statement in statements:
            keyword = statement.keyword
            if keyword == "view":
                self.read_view(statement)
            elif keyword == "zone" and not views:
                self.read_zone(statement, DEFAULT_VIEW)
            elif keyword in ("options", "key", "acl", "zone"):
                continue
            elif keyword in ("masters", "primaries"):
                continue  # named lists of primaries: used by secondary zones, reported there
            elif keyword == "controls":
                self.warn(
                    statement.position,
                    "controls (rndc) are not carried over: the build writes 'controls { };'",
                )
            else:
                self.warn(
                    statement.position,
                    f"'{statement.describe()}' is not carried over: zonesmith does not model it",
                )
        self.imported.keys = sorted(self.keys.values(), key=lambda k: k.name)
        self.finish_zones()
        self.infer_server()
        return self.imported

    # -- options, keys, ACLs -------------------------------------------------

    def read_options(self, statement: ConfStatement) -> None:
        self.read_option_list(statement.block.statements if statement.block else [], "options")

    def read_option_list(self, options: list[ConfStatement], where: str) -> None:
        for option in options:
            keyword = option.keyword
            if keyword == "directory" and where == "options":
                directory = Path(option.arg(1) or ".")
                self.directory = (
                    directory if directory.is_absolute() else self.path.parent / directory
                )
            elif keyword in ("listen-on", "listen-on-v6") and where == "options":
                self.read_listen(option)
            elif keyword == "port" and where == "options" and (option.arg(1) or "").isdigit():
                self.port = int(option.arg(1))  # type: ignore[arg-type]
            elif keyword in _WORKING_FILES:
                continue
            elif keyword in _DRIVER_OPTIONS:
                value = _render(option)[len(option.words[0].text) :].strip()
                if value != _DRIVER_OPTIONS[keyword]:
                    self.warn(
                        option.position,
                        f"{where}: '{keyword} {value}' is not carried over: the build writes "
                        f"'{keyword} {_DRIVER_OPTIONS[keyword]};'",
                    )
            else:
                self.warn(
                    option.position,
                    f"{where}: '{option.describe()}' is not carried over: zonesmith does not "
                    "model this option",
                )

    def read_listen(self, option: ConfStatement) -> None:
        words = [w.text for w in option.words]
        port = self.port
        if "port" in words[1:-1]:
            with contextlib.suppress(ValueError):
                port = int(words[words.index("port") + 1])
        for element in option.block.statements if option.block else []:
            text = element.arg(0)
            if text is None or element.block is not None:
                continue
            with contextlib.suppress(ValueError):
                self.listen.append((str(ipaddress.ip_address(text)), port, element.position))

    def read_key(self, statement: ConfStatement) -> None:
        name = statement.arg(1)
        body = {s.keyword: s for s in statement.block.statements} if statement.block else {}
        if name is None or "secret" not in body:
            self.report.append(
                error(
                    statement.position, "bad-key", "a key needs a name, an algorithm and a secret"
                )
            )
            return
        algorithm = (body["algorithm"].arg(1) or "") if "algorithm" in body else "hmac-md5"
        algorithm = algorithm.lower()
        if algorithm not in TSIG_ALGORITHMS:
            self.warn(
                statement.position,
                f"key '{name}': algorithm '{algorithm}' is not one zonesmith supports "
                f"({', '.join(TSIG_ALGORITHMS)}); the key is not carried over",
            )
            return
        try:
            dns.name.from_text(name)
        except dns.exception.DNSException:
            self.warn(statement.position, f"key '{name}': not a valid key name; not carried over")
            return
        self.keys[name] = KeySpec(name, algorithm, body["secret"].arg(1) or "", statement.position)

    def match_list(
        self, block: ConfBlock | None, where: str, depth: int = 0
    ) -> tuple[list[str], list[str]]:
        """Address match list -> (clients, keys); what cannot be said is reported."""
        clients: list[str] = []
        keys: list[str] = []
        for element in block.statements if block else []:
            words = [w.text for w in element.words]
            if element.block is not None and not words:
                inner, inner_keys = self.match_list(element.block, where, depth + 1)
                if any(c.startswith("!") for c in inner) or inner_keys:
                    self.warn(
                        element.position,
                        f"{where}: a nested list with negations or keys is not carried over",
                    )
                else:
                    clients += inner
                continue
            negated = False
            if words and words[0] == "!":
                negated, words = True, words[1:]
            elif words and words[0].startswith("!"):
                negated, words = True, [words[0][1:], *words[1:]]
            if not words:
                continue
            if words[0] == "key" and len(words) == 2:
                if negated:
                    keys.append("!" + words[1])
                else:
                    keys.append(words[1])
                continue
            element_text = words[0]
            if element_text in self.acls and depth < MAX_ACL_DEPTH:
                inner, inner_keys = self.match_list(
                    self.acls[element_text].block, f"acl '{element_text}'", depth + 1
                )
                if negated:
                    if len(inner) == 1 and not inner[0].startswith("!") and not inner_keys:
                        clients.append("!" + inner[0])
                    else:
                        self.warn(
                            element.position,
                            f"{where}: '!{element_text}' negates an acl "
                            "of several elements; not carried over",
                        )
                    continue
                clients += inner
                keys += inner_keys
                continue
            if len(words) > 1 or element_text == "geoip":
                self.warn(element.position, f"{where}: '{' '.join(words)}' is not carried over")
                continue
            problem = check_address_match_element(element_text)
            if problem and "host bits" in problem:
                fixed = str(ipaddress.ip_network(element_text, strict=False))
                self.warn(
                    element.position,
                    f"{where}: {problem}; written as {fixed}",
                    "address-normalized",
                )
                element_text, problem = fixed, None
            if problem:
                self.warn(element.position, f"{where}: {problem}; not carried over")
                continue
            clients.append(("!" if negated else "") + element_text)
        return clients, keys

    # -- views and zones -------------------------------------------------------

    def read_view(self, statement: ConfStatement) -> None:
        name = statement.arg(1)
        if name is None or statement.block is None:
            self.report.append(
                error(statement.position, "conf-syntax", "a view needs a name and a body")
            )
            return
        body = statement.block.statements
        clients: list[str] = ["any"]
        key = None
        for option in body:
            keyword = option.keyword
            if keyword == "match-clients":
                clients, keys = self.match_list(option.block, f"view '{name}' match-clients")
                positive = [k for k in keys if not k.startswith("!")]
                if positive:
                    key = positive[0]
                    if len(positive) > 1:
                        self.warn(
                            option.position,
                            f"view '{name}': only the key '{key}' "
                            "selects the view in the site; the others are not carried over",
                        )
                self.negated_keys += [
                    (k[1:], option.position, name) for k in keys if k.startswith("!")
                ]
            elif keyword == "zone":
                continue
            elif keyword in ("match-destinations", "match-recursive-only"):
                self.warn(
                    option.position,
                    f"view '{name}': {keyword} is not carried over: "
                    "views match on the client's address and key only",
                )
            else:
                self.read_option_list([option], f"view '{name}'")
        if not clients and key is None:
            self.warn(
                statement.position,
                f"view '{name}' matches no client the site can express; it gets clients [none]",
            )
            clients = ["none"]
        self.imported.views.append(ViewSpec(name, tuple(clients), key, statement.position))
        for option in body:
            if option.keyword == "zone":
                self.read_zone(option, name)

    def read_zone(self, statement: ConfStatement, view: str) -> None:
        name = statement.arg(1)
        where = f"zone '{name}'" + (f" in view '{view}'" if view != DEFAULT_VIEW else "")
        if name is None or statement.block is None:
            self.report.append(
                error(statement.position, "conf-syntax", "a zone needs a name and a body")
            )
            return
        zone_class = (statement.arg(2) or "IN").upper()
        if zone_class not in ("IN", "INTERNET"):
            self.warn(statement.position, f"{where}: class {zone_class} is not carried over")
            return
        try:
            origin = dns.name.from_text(name.rstrip(".") + ".")
        except dns.exception.DNSException as exc:
            self.report.append(error(statement.position, "bad-name", f"{where}: {exc}"))
            return
        body = {}
        for option in statement.block.statements:
            body.setdefault(option.keyword, option)
        zone_type = (body["type"].arg(1) or "").lower() if "type" in body else ""
        if "in-view" in body:
            self.read_in_view(origin, body["in-view"], view, where)
            return
        if zone_type in ("secondary", "slave"):
            primaries = body.get("primaries") or body.get("masters")
            listed = _render(primaries).split(None, 1)[1] if primaries else "(none)"
            self.warn(
                statement.position,
                f"{where} is a secondary of {listed}; zonesmith serves a zone from its data: "
                f"fetch it with 'zonesmith import axfr SERVER {origin.to_text(True)}', or declare "
                "its primary under servers",
                "secondary-zone",
            )
            return
        if zone_type not in ("primary", "master"):
            self.warn(
                statement.position,
                f"{where}: type {zone_type or '(none)'} is not carried over "
                "(only primary zones are imported)",
                "unsupported-zone-type",
            )
            return
        if "file" not in body or not body["file"].arg(1):
            self.report.append(error(statement.position, "missing-file", f"{where} has no file"))
            return
        for keyword, option in body.items():
            if keyword in ("type", "file"):
                continue
            if keyword == "masterfile-format":
                if (option.arg(1) or "").lower() != "text":
                    self.report.append(
                        error(
                            option.position,
                            "unreadable-zone",
                            f"{where}: {option.arg(1)} zone files cannot be read; convert the "
                            "file with named-compilezone -f raw -F text",
                        )
                    )
                    return
                continue
            if keyword == "notify" and option.arg(1) in ("no", "explicit"):
                continue
            if keyword == "allow-transfer" and _render(option).endswith("{ none; }"):
                continue
            reason = _ZONE_OPTION_REASONS.get(keyword, "zonesmith does not model it")
            self.warn(
                option.position, f"{where}: '{option.describe()}' is not carried over: {reason}"
            )
        path = Path(body["file"].arg(1))  # type: ignore[arg-type]
        path = path if path.is_absolute() else self.directory / path
        if not path.is_file():
            self.report.append(
                error(
                    body["file"].position,
                    "missing-file",
                    f"{where}: cannot read its file {display_path(path)}",
                )
            )
            return
        cache_key = (path.resolve(), origin)
        if cache_key not in self.file_cache:
            self.file_cache[cache_key] = read_zone_file(path, origin, self.report)
        self.primary_zones += 1
        self.add_zone(origin, view, self.file_cache[cache_key], statement.position)

    def read_in_view(
        self, origin: dns.name.Name, option: ConfStatement, view: str, where: str
    ) -> None:
        source_view = option.arg(1)
        source = self.zones.get(origin, {}).get(source_view or "")
        if source is None:
            self.report.append(
                error(
                    option.position,
                    "unknown-view",
                    f"{where}: in-view '{source_view}' has no such zone defined before",
                )
            )
            return
        self.add_zone(origin, view, source, option.position)

    def add_zone(
        self, origin: dns.name.Name, view: str, zone: ImportedZone, position: Position
    ) -> None:
        views = self.zones.setdefault(origin, {})
        if view in views:
            self.report.append(
                error(
                    position,
                    "duplicate-zone",
                    f"zone '{origin}' is declared twice in view '{view}'",
                )
            )
            return
        if origin not in self.zone_order:
            self.zone_order.append(origin)
        views[view] = ImportedZone(
            origin, position, {view: next(iter(zone.content.values()))}, zone.soa
        )

    def finish_zones(self) -> None:
        view_keys = {v.key for v in self.imported.views if v.key}
        for key, position, view in self.negated_keys:
            if key not in view_keys:
                self.warn(
                    position,
                    f"view '{view}': '!key {key}' is not carried over (the "
                    "site excludes the keys of the other views by itself)",
                )
        for key in {v.key for v in self.imported.views if v.key} - set(self.keys):
            self.report.append(
                error(
                    Position(display_path(self.path)),
                    "unknown-key",
                    f"views use the key '{key}', which is not defined",
                )
            )
        for origin in sorted(self.zone_order):
            per_view = self.zones[origin]
            first = next(iter(per_view.values()))
            soas = {z.soa for z in per_view.values()}
            if len(soas) > 1:
                self.warn(
                    first.position,
                    f"zone '{first.text}' has a different SOA in each "
                    "view; the site uses the one of the first view",
                    "soa-differs-by-view",
                )
            content = {view: z.content[view] for view, z in per_view.items()}
            self.imported.zones.append(ImportedZone(origin, first.position, content, first.soa))

    def infer_server(self) -> None:
        where = Position(display_path(self.path))
        if not self.primary_zones:
            return
        if not self.listen:
            self.warn(
                where,
                "the server's address cannot be told (no listen-on with an "
                "address): add it under servers in zonesmith.yaml",
                "server-not-inferred",
            )
            return
        address, port, position = self.listen[0]
        if len(self.listen) > 1:
            self.warn(
                position,
                f"named listens on several addresses; server ns1 uses {address}",
                "server-address",
            )
        server: dict[str, object] = {"software": "bind", "role": "primary", "address": address}
        if port != 53:
            server["port"] = port
        self.imported.servers["ns1"] = server


def import_named_conf(
    path: Path, root: Path, fmt: str = "yaml", force: bool = False
) -> ImportResult:
    """``zonesmith import named-conf``: a BIND configuration and its zone files into a site."""
    if not path.is_file():
        result = ImportResult(root)
        result.diagnostics.append(
            error(Position(display_path(path)), "unreadable-file", "no such file")
        )
        return result
    imported = NamedConfReader(path).read()
    return write_site(imported, root, fmt, force)


# --------------------------------------------------------------------------
# octoDNS: reading its YAML with positions


class _Mapping(dict):
    """A YAML mapping that remembers where it and each of its keys are."""

    position: Position
    key_positions: dict[object, Position]


class _Sequence(list):
    position: Position


class _PositionLoader(yaml.SafeLoader):
    display = ""

    def _at(self, node: yaml.Node) -> Position:
        return Position(self.display, node.start_mark.line + 1, node.start_mark.column + 1)

    def construct_yaml_map(self, node):  # type: ignore[override]
        data = _Mapping()
        data.position = self._at(node)
        data.key_positions = {}
        yield data
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            data[key] = self.construct_object(value_node, deep=True)
            data.key_positions[key] = self._at(key_node)

    def construct_yaml_seq(self, node):  # type: ignore[override]
        data = _Sequence()
        data.position = self._at(node)
        yield data
        data.extend(self.construct_sequence(node, deep=True))


_PositionLoader.add_constructor("tag:yaml.org,2002:map", _PositionLoader.construct_yaml_map)
_PositionLoader.add_constructor("tag:yaml.org,2002:seq", _PositionLoader.construct_yaml_seq)


def load_yaml_with_positions(path: Path, report: list[Diagnostic]) -> object:
    display = display_path(path)
    loader_class = type("_Loader", (_PositionLoader,), {"display": display})
    try:
        with path.open() as stream:
            return yaml.load(stream, Loader=loader_class)  # noqa: S506 - a SafeLoader subclass
    except OSError as exc:
        report.append(error(Position(display), "unreadable-file", f"cannot read: {exc.strerror}"))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        position = Position(display, mark.line + 1, mark.column + 1) if mark else Position(display)
        report.append(error(position, "yaml-syntax", f"malformed YAML: {exc.problem or exc}"))
    except yaml.YAMLError as exc:
        report.append(error(Position(display), "yaml-syntax", f"malformed YAML: {exc}"))
    return None


def _where(value: object, fallback: Position) -> Position:
    return getattr(value, "position", fallback)


# --------------------------------------------------------------------------
# octoDNS: record values <-> rdata

YAML_PROVIDERS = ("octodns.provider.yaml.YamlProvider",)
#: octoDNS types with no DNS record behind them (provider features).
_NOT_DNS = {
    "ALIAS": "an ALIAS is a provider feature with no DNS record; "
    "write the addresses (A/AAAA) or a CNAME below the apex instead",
    "URLFWD": "URL forwarding is a provider feature with no DNS record",
}
_SIMPLE = ("A", "AAAA", "NS", "CNAME", "DNAME", "PTR", "OPENPGPKEY")
_SVCB_LISTS = ("alpn", "ipv4hint", "ipv6hint", "mandatory")


class OctoValueError(ValueError):
    pass


def _need(value: object, *fields: str) -> dict:
    if not isinstance(value, dict):
        raise OctoValueError(f"expected a mapping with {', '.join(fields)}")
    missing = [f for f in fields if f not in value]
    if missing:
        raise OctoValueError(f"missing {', '.join(missing)}")
    return value


def octodns_txt_strings(value: object) -> list[bytes]:
    """An octoDNS TXT/SPF value (``\\;`` escaped, maybe pre-chunked) -> 255-octet strings."""
    text = str(value)
    if text.startswith('"') and text.endswith('"') and len(text) > 1:
        text = text[1:-1].replace('" "', "")  # octoDNS's own chunked form
    text = text.replace("\\;", ";")
    data = text.encode("utf-8")
    return [data[i : i + 255] for i in range(0, len(data), 255)] or [b""]


def octodns_to_rdata(rtype: str, value: object, origin: dns.name.Name) -> dns.rdata.Rdata:
    """One octoDNS value of type ``rtype`` as dnspython rdata."""
    rdtype = T.from_text(rtype)
    if rtype in ("TXT", "SPF"):
        return dns.rdtypes.ANY.TXT.TXT(IN, rdtype, octodns_txt_strings(value))
    if rtype == "CAA":
        v = _need(value, "tag", "value")
        return dns.rdtypes.ANY.CAA.CAA(
            IN, T.CAA, int(v.get("flags", 0)), str(v["tag"]).encode(), str(v["value"]).encode()
        )
    if rtype == "NAPTR":
        v = _need(value, "order", "preference", "flags", "service", "regexp", "replacement")
        return dns.rdtypes.IN.NAPTR.NAPTR(
            IN, T.NAPTR, int(v["order"]), int(v["preference"]), str(v["flags"]),
            str(v["service"]), str(v["regexp"]), dns.name.from_text(str(v["replacement"]), origin),
        )  # fmt: skip
    if rtype in _SIMPLE:
        text = str(value)
    elif rtype == "MX":
        v = _need(value)
        preference = v.get("preference", v.get("priority"))
        exchange = v.get("exchange", v.get("value"))
        if preference is None or exchange is None:
            raise OctoValueError("expected preference and exchange")
        text = f"{int(preference)} {exchange}"
    elif rtype == "SRV":
        v = _need(value, "priority", "weight", "port", "target")
        text = f"{int(v['priority'])} {int(v['weight'])} {int(v['port'])} {v['target']}"
    elif rtype == "SSHFP":
        v = _need(value, "algorithm", "fingerprint_type", "fingerprint")
        text = f"{int(v['algorithm'])} {int(v['fingerprint_type'])} {v['fingerprint']}"
    elif rtype == "TLSA":
        v = _need(value, "certificate_usage", "selector", "matching_type",
                  "certificate_association_data")  # fmt: skip
        text = (
            f"{int(v['certificate_usage'])} {int(v['selector'])} {int(v['matching_type'])} "
            f"{v['certificate_association_data']}"
        )
    elif rtype == "DS":
        v = _need(value)
        if "public_key" in v or "flags" in v:  # octoDNS's deprecated field names
            v = {"key_tag": v.get("flags"), "algorithm": v.get("protocol"),
                 "digest_type": v.get("algorithm"), "digest": v.get("public_key")}  # fmt: skip
        v = _need(v, "key_tag", "algorithm", "digest_type", "digest")
        text = f"{int(v['key_tag'])} {int(v['algorithm'])} {int(v['digest_type'])} {v['digest']}"
    elif rtype == "URI":
        v = _need(value, "priority", "weight", "target")
        target = str(v["target"]).replace("\\", "\\\\").replace('"', '\\"')
        text = f'{int(v["priority"])} {int(v["weight"])} "{target}"'
    elif rtype == "LOC":
        v = _need(value, "lat_degrees", "lat_minutes", "lat_seconds", "lat_direction",
                  "long_degrees", "long_minutes", "long_seconds", "long_direction",
                  "altitude", "size", "precision_horz", "precision_vert")  # fmt: skip
        text = (
            f"{v['lat_degrees']} {v['lat_minutes']} {v['lat_seconds']} {v['lat_direction']} "
            f"{v['long_degrees']} {v['long_minutes']} {v['long_seconds']} "
            f"{v['long_direction']} {v['altitude']}m {v['size']}m {v['precision_horz']}m "
            f"{v['precision_vert']}m"
        )
    elif rtype in ("SVCB", "HTTPS"):
        v = _need(value, "svcpriority", "targetname")
        params = []
        for key, param in (v.get("svcparams") or {}).items():
            if param is None:
                params.append(str(key))
            elif isinstance(param, list):
                params.append(f"{key}={','.join(map(str, param))}")
            else:
                params.append(f"{key}={param}")
        text = " ".join([str(int(v["svcpriority"])), str(v["targetname"]), *params])
    else:
        text = str(value)  # a type octoDNS leaves to plugins: take the value as rdata text
    return dns.rdata.from_text(IN, rdtype, text, origin=origin, relativize=False)


def _txt_value(rdata: dns.rdata.Rdata) -> tuple[str | None, str | None]:
    strings = rdata.strings  # type: ignore[attr-defined]
    data = b"".join(strings)
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        return None, "it is not ASCII, which octoDNS does not accept"
    if not text.isprintable() or "\\" in text:
        return None, "it holds control characters or backslashes that octoDNS would change"
    note = None
    if any(len(s) != 255 for s in strings[:-1]):
        note = "its strings are joined into one value (octoDNS splits at 255 octets)"
    return text.replace(";", "\\;"), note


def rdata_to_octodns(rdata: dns.rdata.Rdata) -> tuple[object | None, str | None]:
    """(octoDNS value, None) or (None, why it cannot be exported); a note may come with a value."""
    rtype = T.to_text(rdata.rdtype)
    r = rdata
    if rtype in ("TXT", "SPF"):
        value, note = _txt_value(rdata)
        return value, note
    if rtype in ("A", "AAAA"):
        return r.address, None  # type: ignore[attr-defined]
    if rtype in ("NS", "CNAME", "DNAME", "PTR"):
        return r.target.to_text(), None  # type: ignore[attr-defined]
    if rtype == "MX":
        return {"exchange": r.exchange.to_text(), "preference": r.preference}, None  # type: ignore[attr-defined]
    if rtype == "SRV":
        return {"port": r.port, "priority": r.priority, "target": r.target.to_text(),  # type: ignore[attr-defined]
                "weight": r.weight}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "CAA":
        try:
            return {"flags": r.flags, "tag": r.tag.decode("ascii"),  # type: ignore[attr-defined]
                    "value": r.value.decode("ascii")}, None  # type: ignore[attr-defined]  # fmt: skip
        except UnicodeDecodeError:
            return None, "its value is not ASCII"
    if rtype == "SSHFP":
        return {"algorithm": r.algorithm, "fingerprint": r.fingerprint.hex(),  # type: ignore[attr-defined]
                "fingerprint_type": r.fp_type}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "TLSA":
        return {"certificate_association_data": r.cert.hex(),  # type: ignore[attr-defined]
                "certificate_usage": r.usage, "matching_type": r.mtype,  # type: ignore[attr-defined]
                "selector": r.selector}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "DS":
        return {"algorithm": int(r.algorithm), "digest": r.digest.hex().upper(),  # type: ignore[attr-defined]
                "digest_type": r.digest_type, "key_tag": r.key_tag}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "NAPTR":
        try:
            return {"flags": r.flags.decode(), "order": r.order,  # type: ignore[attr-defined]
                    "preference": r.preference, "regexp": r.regexp.decode(),  # type: ignore[attr-defined]
                    "replacement": r.replacement.to_text(),  # type: ignore[attr-defined]
                    "service": r.service.decode()}, None  # type: ignore[attr-defined]  # fmt: skip
        except UnicodeDecodeError:
            return None, "its strings are not ASCII"
    if rtype == "URI":
        return {"priority": r.priority, "target": r.target.decode(),  # type: ignore[attr-defined]
                "weight": r.weight}, None  # type: ignore[attr-defined]  # fmt: skip
    if rtype == "LOC":
        parts = rdata.to_text().replace("m", "").split()
        keys = ("lat_degrees", "lat_minutes", "lat_seconds", "lat_direction", "long_degrees",
                "long_minutes", "long_seconds", "long_direction", "altitude", "size",
                "precision_horz", "precision_vert")  # fmt: skip
        if len(parts) != len(keys):
            return None, "its text form is not the full LOC form octoDNS needs"
        value: dict[str, object] = {}
        for key, part in zip(keys, parts, strict=True):
            if key.endswith("direction"):
                value[key] = part
            elif key.endswith(("degrees", "minutes")):
                value[key] = int(part)
            else:
                value[key] = float(part)
        return value, None
    if rtype in ("SVCB", "HTTPS"):
        tokens = rdata.to_text().split()
        params: dict[str, object] = {}
        for token in tokens[2:]:
            key, eq, param = token.partition("=")
            param = param.strip('"')
            if not eq:
                params[key] = None
            elif key in _SVCB_LISTS:
                params[key] = param.split(",")
            else:
                params[key] = param
        value = {"svcpriority": int(tokens[0]), "targetname": tokens[1]}
        if params:
            value["svcparams"] = params
        return value, None
    if rtype == "OPENPGPKEY":
        return rdata.to_text().replace(" ", ""), None
    return None, f"octoDNS has no {rtype} records"


# --------------------------------------------------------------------------
# octoDNS import


class OctoReader:
    """Reads an octoDNS configuration and its YamlProvider zone files."""

    def __init__(self, config: Path):
        self.config = config
        self.imported = ImportedSite("zonesmith import octodns", [display_path(config)])
        self.report = self.imported.diagnostics

    def warn(self, position: Position, message: str, rule: str = "not-carried-over") -> None:
        self.report.append(warning(position, rule, message))

    def read(self) -> ImportedSite:
        data = load_yaml_with_positions(self.config, self.report)
        top = Position(display_path(self.config), 1, 1)
        if data is None:
            return self.imported
        if not isinstance(data, dict) or "providers" not in data or "zones" not in data:
            self.report.append(
                error(
                    top,
                    "bad-octodns",
                    "not an octoDNS configuration: expected 'providers' and 'zones'",
                )
            )
            return self.imported
        for key in data:
            if key not in ("providers", "zones"):
                self.warn(
                    _key_at(data, key, top),
                    f"'{key}' is not carried over: zonesmith does not model it",
                )
        providers = self.read_providers(data["providers"], top)
        zones = data["zones"] if isinstance(data["zones"], dict) else {}
        targets_seen = False
        for zone_name, zone_config in zones.items():
            where = _key_at(zones, zone_name, top)
            if not isinstance(zone_config, dict):
                self.report.append(
                    error(
                        where,
                        "bad-octodns",
                        f"zone '{zone_name}' must be a mapping with sources and targets",
                    )
                )
                continue
            targets_seen |= bool(zone_config.get("targets"))
            for key in zone_config:
                if key not in ("sources", "targets", "alias"):
                    self.warn(
                        _key_at(zone_config, key, where),
                        f"zone '{zone_name}': '{key}' is not carried over",
                    )
            if zone_name == "*":
                for name in self.discover_zones(zone_config, providers, where):
                    if name not in zones:
                        self.read_zone(name, zone_config, providers, where, zones)
                continue
            self.read_zone(str(zone_name), zone_config, providers, where, zones)
        if targets_seen:
            self.warn(
                top,
                "the zones' targets (the providers octoDNS pushes to) are not carried "
                "over: zonesmith serves the zones itself; 'zonesmith export octodns' writes "
                "them back for octoDNS",
                "octodns-targets",
            )
        self.imported.zones.sort(key=lambda z: z.origin)
        return self.imported

    def read_providers(self, providers: object, top: Position) -> dict[str, dict]:
        yaml_providers: dict[str, dict] = {}
        if not isinstance(providers, dict):
            self.report.append(error(top, "bad-octodns", "'providers' must be a mapping"))
            return yaml_providers
        for name, config in providers.items():
            if isinstance(config, dict) and config.get("class") in YAML_PROVIDERS:
                directory = Path(str(config.get("directory", "./config")))
                if not directory.is_absolute():
                    here = self.config.parent / directory
                    directory = here if here.exists() or not directory.exists() else directory
                yaml_providers[name] = {
                    "directory": directory,
                    "default_ttl": int(config.get("default_ttl", 3600)),
                    "replace": bool(config.get("populate_should_replace", False)),
                }
        return yaml_providers

    def discover_zones(self, config: dict, providers: dict, where: Position) -> list[str]:
        names = []
        for source in config.get("sources") or []:
            if source in providers and providers[source]["directory"].is_dir():
                for path in sorted(providers[source]["directory"].glob("*.yaml")):
                    names.append(path.name[: -len("yaml")])
        return names

    def read_zone(
        self, name: str, config: dict, providers: dict, where: Position, zones: dict
    ) -> None:
        try:
            origin = dns.name.from_text(name.rstrip(".") + ".")
        except dns.exception.DNSException as exc:
            self.report.append(error(where, "bad-name", f"zone '{name}': {exc}"))
            return
        if not name.endswith("."):
            self.warn(where, f"zone '{name}' should end with a dot in octoDNS", "octodns-zone-name")
        zone_name = origin.to_text()
        if "alias" in config:
            target = str(config["alias"])
            config = zones.get(target, zones.get(target.rstrip(".") + ".", {}))
            if not isinstance(config, dict):
                return
            zone_name = target if target.endswith(".") else target + "."
        builder = ContentBuilder(origin, self.report)
        seen: dict[RRKey, str] = {}
        found = False
        for source in config.get("sources") or []:
            if source not in providers:
                self.warn(
                    where,
                    f"zone '{name}': source '{source}' is not a YamlProvider; its "
                    "records are not read (dump them to YAML with octodns-dump first)",
                    "octodns-source",
                )
                continue
            provider = providers[source]
            path = provider["directory"] / f"{zone_name}yaml"
            if not path.is_file():
                self.report.append(
                    error(
                        where,
                        "missing-file",
                        f"zone '{name}': no zone file {display_path(path)} for source '{source}'",
                    )
                )
                continue
            found = True
            self.read_zone_file(path, origin, provider, builder, seen, source)
        if found:
            self.imported.zones.append(
                ImportedZone(origin, where, {DEFAULT_VIEW: builder.content()}, None)
            )

    def read_zone_file(
        self, path: Path, origin: dns.name.Name, provider: dict, builder: ContentBuilder,
        seen: dict[RRKey, str], source: str,
    ) -> None:  # fmt: skip
        data = load_yaml_with_positions(path, self.report)
        top = Position(display_path(path), 1, 1)
        if data is None:
            return
        if not isinstance(data, dict):
            self.report.append(
                error(top, "bad-octodns", "an octoDNS zone file must be a mapping of record names")
            )
            return
        for name, entries in data.items():
            name_at = _key_at(data, name, top)
            try:
                owner = (
                    dns.name.from_text(str(name), origin) if str(name) not in ("", "@") else origin
                )
            except dns.exception.DNSException as exc:
                self.report.append(error(name_at, "bad-name", f"'{name}': {exc}"))
                continue
            for entry in entries if isinstance(entries, list) else [entries]:
                self.read_record(entry, owner, name_at, provider, builder, seen, source)

    def read_record(
        self, entry: object, owner: dns.name.Name, name_at: Position, provider: dict,
        builder: ContentBuilder, seen: dict[RRKey, str], source: str,
    ) -> None:  # fmt: skip
        at = _where(entry, name_at)
        if not isinstance(entry, dict) or "type" not in entry:
            self.report.append(error(at, "bad-octodns", f"the record of '{owner}' needs a type"))
            return
        rtype = str(entry["type"]).upper()
        octodns = entry.get("octodns") or {}
        if isinstance(octodns, dict) and octodns.get("ignored"):
            self.warn(at, f"{owner} {rtype} is marked ignored for octoDNS; not carried over")
            return
        for key in entry:
            if key in ("geo", "dynamic"):
                self.warn(
                    _key_at(entry, key, at),
                    f"{owner} {rtype}: '{key}' rules are not "
                    "carried over; the record's plain values are",
                )
            elif key == "octodns":
                self.warn(
                    _key_at(entry, key, at),
                    f"{owner} {rtype}: octodns settings "
                    f"({', '.join(map(str, octodns))}) are not carried over",
                )
            elif key not in ("type", "ttl", "value", "values"):
                self.warn(_key_at(entry, key, at), f"{owner} {rtype}: unknown key '{key}'")
        if rtype in _NOT_DNS:
            self.warn(at, f"{owner} {rtype} is not carried over: {_NOT_DNS[rtype]}")
            return
        try:
            T.from_text(rtype)
        except dns.rdatatype.UnknownRdatatype:
            self.report.append(error(at, "unknown-type", f"unknown record type '{rtype}'"))
            return
        values = entry.get("values", entry.get("value"))
        if values is None:
            self.report.append(error(at, "bad-octodns", f"{owner} {rtype} has no value(s)"))
            return
        values = values if isinstance(values, list) else [values]
        try:
            ttl = int(entry.get("ttl", provider["default_ttl"]))
        except (TypeError, ValueError):
            self.report.append(error(at, "bad-ttl", f"{owner} {rtype}: ttl must be a number"))
            return
        key = (owner, T.from_text(rtype))
        if key in seen:
            if seen[key] != source and provider["replace"]:
                builder.records.pop(key, None)  # populate_should_replace: the later source wins
            else:
                self.report.append(
                    error(
                        at,
                        "duplicate-record",
                        f"{owner} {rtype} is given twice (octoDNS refuses this too)",
                    )
                )
                return
        seen[key] = source
        for value in values:
            try:
                rdata = octodns_to_rdata(rtype, value, origin=builder.origin)
            except Exception as exc:  # noqa: BLE001 - dnspython raises many kinds for bad data
                self.report.append(
                    error(
                        _where(value, at),
                        "bad-rdata",
                        f"{owner} {rtype}: invalid value {value!r}: {exc}",
                    )
                )
                continue
            builder.add(owner, ttl, rdata, _where(value, at))


def _key_at(mapping: object, key: object, fallback: Position) -> Position:
    positions = getattr(mapping, "key_positions", {})
    return positions.get(key, fallback)


def import_octodns(
    config: Path, root: Path, fmt: str = "yaml", force: bool = False
) -> ImportResult:
    """``zonesmith import octodns``: an octoDNS configuration and its zone files into a site."""
    if not config.is_file():
        result = ImportResult(root)
        result.diagnostics.append(
            error(Position(display_path(config)), "unreadable-file", "no such file")
        )
        return result
    return write_site(OctoReader(config).read(), root, fmt, force)


# --------------------------------------------------------------------------
# octoDNS export

OCTODNS_CONFIG = "octodns.yaml"
OCTODNS_ZONES = "zones"
OCTODNS_PROVIDER = "zonesmith"


def _sort_natural(mapping: dict) -> dict:
    """Every mapping's keys in natural order, as octoDNS's enforce_order wants."""
    out = {}
    for key in sorted(mapping, key=lambda k: natural_key(str(k))):
        value = mapping[key]
        if isinstance(value, dict):
            value = _sort_natural(value)
        elif isinstance(value, list):
            value = [_sort_natural(v) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out


def export_octodns(
    site_root: Path, out: Path, view: str | None = None, force: bool = False
) -> ImportResult:
    """``zonesmith export octodns``: the site's records as an octoDNS config and zone files."""
    from zonesmith.compile.zones import compile_site
    from zonesmith.pipeline import check_site

    result = ImportResult(out)
    site, diagnostics = check_site(site_root)
    result.diagnostics += diagnostics
    if any(d.is_error for d in diagnostics):
        result.notes.append("nothing was written: fix the site's errors first")
        return result
    site_where = Position(display_path(site_root / SITE_FILE))
    chosen = view or site.view_names[0]
    if chosen not in site.view_names:
        result.diagnostics.append(
            error(
                site_where,
                "unknown-view",
                f"no view '{chosen}'; the site's views are {', '.join(site.view_names)}",
            )
        )
        return result
    compiled = compile_site(site)
    if len(site.view_names) > 1:
        others = [v for v in site.view_names if v != chosen]
        result.diagnostics.append(
            warning(
                site_where,
                "views-dropped",
                f"octoDNS has no views: exported view '{chosen}' only; what differs in "
                f"{', '.join(others)} is not exported (choose with --view)",
            )
        )
    result.diagnostics.append(
        warning(
            site_where,
            "soa-not-exported",
            "SOA records are not exported: octoDNS leaves the SOA to each provider",
        )
    )
    zones_missing = [z.text for z in site.zones if chosen not in z.views]
    if zones_missing:
        result.diagnostics.append(
            warning(
                site_where,
                "zones-dropped",
                f"zones not in view '{chosen}' are not exported: {', '.join(zones_missing)}",
            )
        )
    files: dict[str, tuple[bytes, int]] = {}
    default_ttl = site.defaults.ttl
    zone_config: dict[str, object] = {}
    for zone in site.zones:
        if chosen not in zone.views:
            continue
        compiled_zone = compiled.zones[(chosen, zone.origin)]
        records: dict[str, list[dict]] = defaultdict(list)
        positions = {(r.name, r.rdtype): r.position for r in zone.records}
        for name, rdtype, ttl, rdatas in compiled_zone.dnspython_rrsets():
            owner = "" if name == zone.name else name.relativize(zone.name).to_text().lower()
            values = []
            for rdata in rdatas:
                value, problem = rdata_to_octodns(rdata)
                where = positions.get((name, rdtype), site_where)
                if value is None:
                    result.diagnostics.append(
                        warning(
                            where,
                            "not-exported",
                            f"{name} {T.to_text(rdtype)} is not exported: {problem}",
                        )
                    )
                    continue
                if problem:
                    result.diagnostics.append(
                        warning(
                            where, "txt-strings-joined", f"{name} {T.to_text(rdtype)}: {problem}"
                        )
                    )
                values.append(value)
            if not values:
                continue
            record: dict[str, object] = {"type": T.to_text(rdtype)}
            if ttl != default_ttl:
                record["ttl"] = ttl
            if len(values) == 1:
                record["value"] = values[0]
            else:
                record["values"] = sorted(values, key=lambda v: natural_key(str(v)))
            records[owner].append(record)
        body = {o: (r[0] if len(r) == 1 else r) for o, r in records.items()}
        text = yaml.safe_dump(
            _sort_natural(body), sort_keys=False, default_flow_style=False, allow_unicode=False
        )
        files[f"{OCTODNS_ZONES}/{zone.name.to_text()}yaml"] = (("---\n" + text).encode(), 0o644)
        zone_config[zone.name.to_text()] = {"sources": [OCTODNS_PROVIDER], "targets": []}
    config = {
        "providers": {
            OCTODNS_PROVIDER: {
                "class": YAML_PROVIDERS[0],
                "directory": f"./{OCTODNS_ZONES}",
                "default_ttl": default_ttl,
                "enforce_order": True,
            }
        },
        "zones": zone_config,
    }
    header = (
        f"# octoDNS configuration written by `zonesmith export octodns` from "
        f"{display_path(site_root)}.\n"
        "# Add your providers under providers and list them as each zone's targets;\n"
        "# run octodns-sync from this folder (the zone files are in ./zones).\n"
    )
    files[OCTODNS_CONFIG] = (dump_yaml(config, header), 0o644)
    conflicts = sorted(p for p in files if (out / p).exists())
    if conflicts and not force:
        for path in conflicts:
            result.diagnostics.append(
                error(
                    Position(display_path(out / path)),
                    "file-exists",
                    "exists; nothing was written (use --force to overwrite it)",
                )
            )
        return result
    for relative, (content, mode) in sorted(files.items()):
        _write_file(out / relative, content, mode)
        result.written.append(relative)
    result.notes.append(f"run octodns-sync --config-file {OCTODNS_CONFIG} in {display_path(out)}")
    return result
