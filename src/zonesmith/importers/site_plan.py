"""How an :class:`ImportedSite` is laid out as a site, before any file is written.

- the SOA values become ``defaults.soa`` (the most common value of each field)
  and per-zone ``soa:`` overrides where a zone differs;
- each zone's TTL is its SOA's TTL (the TTL the built zone's SOA gets), the
  most common one becomes ``defaults.ttl``;
- apex NS sets, and MX/TXT/SPF sets, that several zones share exactly become
  ``sets`` that those zones ``include``;
- records whose content differs between views are written per view.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import dns.name

from zonesmith.diagnostics import Diagnostic, Position, warning
from zonesmith.importers.content import (
    FALLBACK_TTL,
    Content,
    ImportedSite,
    ImportedZone,
    RRset,
    SoaValues,
    T,
    contact_text,
    most_common,
)
from zonesmith.site.files import SITE_FILE, ZONES_DIR


@dataclass
class ZonePlan:
    zone: ImportedZone
    views: list[str]  # views the zone is in
    all_views: bool  # in every view of the site
    ttl: int
    common: Content
    per_view: dict[str, Content]
    includes: list[str] = field(default_factory=list)
    format: str = "yaml"


@dataclass
class SetPlan:
    name: str
    zones: list[ZonePlan]
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


class SitePlan:
    """The layout of a site: each zone's plan, the defaults, and the sets the zones share."""

    def __init__(self, imported: ImportedSite, fmt: str = "yaml"):
        self.imported = imported
        self.format = fmt
        self.diagnostics: list[Diagnostic] = []
        self.plans = [self._plan_zone(zone) for zone in imported.zones]
        self.default_ttl = self._default_ttl()
        self.default_soa = self._default_soa()
        self.sets = self._factor_sets()

    def _plan_zone(self, zone: ImportedZone) -> ZonePlan:
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
        return ZonePlan(
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

    def _factor_sets(self) -> list[SetPlan]:
        shared: dict[tuple[dns.name.Name, int, int, frozenset], list[ZonePlan]] = defaultdict(list)
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
        sets: list[SetPlan] = []
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
            sets.append(SetPlan(name, plans, rrsets))
        return sets


def _absolute(rel: dns.name.Name, plan: ZonePlan) -> dns.name.Name:
    return rel.derelativize(plan.zone.origin)
