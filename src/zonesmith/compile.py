"""Compile a validated site: what each view of each zone serves, with serials.

This is where derived data is made (the SOA from the site's defaults, PTR
records of ``reverse-of`` zones) and where serials are chosen. The result is
independent of server software: drivers decide where and how it is written,
but the zone text itself is canonical and shared by every driver, so a
rebuild of an unchanged site is byte-identical.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.PTR
import dns.rdtypes.ANY.SOA
import dns.reversename

from zonesmith.diagnostics import Position, SiteError, error
from zonesmith.model import Record, Server, Site, Soa, View, Zone

STATE_FILE = "zonesmith.state"
T = dns.rdatatype

RRset = tuple[dns.name.Name, int, int, tuple[dns.rdata.Rdata, ...]]  # name, type, ttl, rdatas


# --------------------------------------------------------------------------
# Serials (RFC 1982 arithmetic, date-based YYYYMMDDnn)


def serial_gt(a: int, b: int) -> bool:
    """True when serial ``a`` is greater than ``b`` in RFC 1982 sequence space."""
    return a != b and ((a > b and a - b < 2**31) or (a < b and b - a > 2**31))


def next_serial(previous: int | None, today: datetime.date) -> int:
    """The serial after ``previous``: today's YYYYMMDD00 if that is later, else previous + 1."""
    dated = int(today.strftime("%Y%m%d")) * 100
    if previous is None:
        return dated
    incremented = (previous + 1) % 2**32
    return dated if serial_gt(dated, previous) else incremented


def build_date() -> datetime.date:
    """Today in UTC, or the date of SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return datetime.datetime.fromtimestamp(int(epoch), datetime.UTC).date()
    return datetime.datetime.now(datetime.UTC).date()


@dataclass
class SerialState:
    """The serial and content digest of every zone in every view, kept in the site.

    It lives in the site (``zonesmith.state``, meant to be committed) rather
    than in the output, so serials keep moving forward when the output tree
    is deleted or the build runs on another machine.
    """

    path: Path
    serials: dict[str, dict[str, dict[str, object]]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> SerialState:
        path = root / STATE_FILE
        if not path.exists():
            return cls(path)
        position = Position(str(path), 1, 1)
        try:
            data = json.loads(path.read_text())
            serials = data["serials"]
            for views in serials.values():
                for entry in views.values():
                    int(entry["serial"])
                    str(entry["digest"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise SiteError(
                [
                    error(
                        position,
                        "bad-state",
                        f"cannot read the serial state ({exc}); restore it from git. Deleting it "
                        "restarts serials at today's date, which may be lower than the live ones",
                    )
                ]
            ) from None
        return cls(path, serials)

    def serial_for(self, zone: str, view: str, digest: str, today: datetime.date) -> int:
        entry = self.serials.get(zone, {}).get(view)
        if entry is not None and entry["digest"] == digest:
            return int(entry["serial"])  # type: ignore[arg-type]
        previous = int(entry["serial"]) if entry is not None else None  # type: ignore[arg-type]
        return next_serial(previous, today)

    def record(self, zone: str, view: str, serial: int, digest: str) -> None:
        self.serials.setdefault(zone, {})[view] = {"serial": serial, "digest": digest}

    def text(self) -> str:
        return json.dumps({"version": 1, "serials": self.serials}, indent=1, sort_keys=True) + "\n"


# --------------------------------------------------------------------------
# Compiled zones


@dataclass(frozen=True)
class CompiledZone:
    """One zone as served in one view: SOA first, then RRsets in canonical order."""

    name: dns.name.Name
    view: str
    serial: int
    soa: Soa
    ttl: int
    rrsets: tuple[RRset, ...]
    body: str
    digest: str

    @property
    def text_name(self) -> str:
        return self.name.to_text(omit_final_dot=True)

    @property
    def file_stem(self) -> str:
        """A file name for the zone: lower case, no trailing dot, safe characters only."""
        stem = self.name.to_text(omit_final_dot=True).lower() or "root"
        return "".join(c if c.isalnum() or c in "-._" else "_" for c in stem)

    def soa_rdata(self) -> dns.rdtypes.ANY.SOA.SOA:
        return dns.rdtypes.ANY.SOA.SOA(
            dns.rdataclass.IN,
            T.SOA,
            self.soa.primary,
            self.soa.contact,
            self.serial,
            self.soa.refresh,
            self.soa.retry,
            self.soa.expire,
            self.soa.negative_ttl,
        )

    def master_file(self) -> bytes:
        """The zone as a canonical RFC 1035 master file."""
        soa = self.soa_rdata().to_text(origin=self.name, relativize=True)
        header = (
            f"; zone {self.name.to_text()} (view {self.view}), "
            "generated by zonesmith; do not edit\n"
            f"$ORIGIN {self.name.to_text()}\n"
            f"@\t{self.ttl}\tIN\tSOA\t{soa}\n"
        )
        return (header + self.body).encode()


def _canonical_rrsets(records: list[Record]) -> list[RRset]:
    grouped: dict[tuple[dns.name.Name, int], list[Record]] = defaultdict(list)
    for record in records:
        grouped[(record.name, record.rdtype)].append(record)
    rrsets = []
    for (name, rdtype), group in grouped.items():
        ttl = min(r.ttl for r in group)
        rdatas = tuple(sorted({r.rdata for r in group}))
        rrsets.append((name, int(rdtype), ttl, rdatas))
    # DNSSEC canonical name order; NS first at a name (after the SOA), then by type.
    rrsets.sort(key=lambda rr: (rr[0], rr[1] != T.NS, rr[1]))
    return rrsets


def _render_body(origin: dns.name.Name, rrsets: list[RRset]) -> str:
    lines = []
    for name, rdtype, ttl, rdatas in rrsets:
        owner = "@" if name == origin else name.relativize(origin).to_text()
        type_text = dns.rdatatype.to_text(rdtype)
        for rdata in rdatas:
            lines.append(
                f"{owner}\t{ttl}\tIN\t{type_text}\t"
                f"{rdata.to_text(origin=origin, relativize=True)}\n"
            )
    return "".join(lines)


def derived_ptrs(site: Site, zone: Zone, view: str, explicit: set[dns.name.Name]) -> list[Record]:
    """PTR records for the A/AAAA records of ``reverse-of`` zones that fall into ``zone``.

    Names the reverse zone already has records for are left alone, so an
    explicit PTR (or a classless-delegation CNAME) wins.
    """
    ptrs = []
    for ref in zone.reverse_of:
        forward = site.zones_by_name.get(dns.name.from_text(ref.name))
        if forward is None or view not in forward.views:
            continue
        for record in forward.records_in_view(view):
            if record.rdtype not in (T.A, T.AAAA) or record.name.is_wild():
                continue
            ptr_name = dns.reversename.from_address(record.rdata.address)
            if not ptr_name.is_subdomain(zone.name) or ptr_name in explicit:
                continue
            rdata = dns.rdtypes.ANY.PTR.PTR(dns.rdataclass.IN, T.PTR, record.name)
            ptrs.append(Record(ptr_name, record.ttl, rdata, view, record.position, "reverse-of"))
    return ptrs


def compile_zone(
    site: Site, zone: Zone, view: str, state: SerialState, today: datetime.date
) -> CompiledZone:
    soa = site.soa_for(zone)
    assert soa is not None, "validated sites have an SOA for every zone"
    records = [r for r in zone.records_in_view(view) if r.rdtype != T.SOA]
    if zone.reverse_of:
        records += derived_ptrs(site, zone, view, {r.name for r in records})
    rrsets = _canonical_rrsets(records)
    body = _render_body(zone.name, rrsets)
    ttl = site.ttl_for(zone)
    soa_fields = " ".join(
        map(
            str,
            (soa.primary, soa.contact, soa.refresh, soa.retry, soa.expire, soa.negative_ttl, ttl),
        )
    )
    digest = "sha256:" + hashlib.sha256(f"{soa_fields}\n{body}".encode()).hexdigest()
    serial = state.serial_for(zone.text, view, digest, today)
    state.record(zone.text, view, serial, digest)
    return CompiledZone(zone.name, view, serial, soa, ttl, tuple(rrsets), body, digest)


@dataclass(frozen=True)
class CompiledSite:
    site: Site
    #: (view, zone name) -> the zone as that view serves it, in site order.
    zones: dict[tuple[str, dns.name.Name], CompiledZone]
    state: SerialState

    def zones_of_view(self, view: str) -> list[CompiledZone]:
        return [z for (v, _), z in self.zones.items() if v == view]


def compile_site(site: Site, today: datetime.date | None = None) -> CompiledSite:
    """Compile every zone in every view it is served in.

    Raises SiteError when the serial state cannot be read.
    """
    state = SerialState.load(Path(site.root))
    today = today or build_date()
    compiled: dict[tuple[str, dns.name.Name], CompiledZone] = {}
    for view in site.view_names:
        for zone in site.zones_in_view(view):
            compiled[(view, zone.name)] = compile_zone(site, zone, view, state, today)
    return CompiledSite(site, compiled, state)


@dataclass(frozen=True)
class ServerBuild:
    """What one server serves: its views (in site order) and their zones."""

    site: Site
    server: Server
    views: tuple[tuple[View, tuple[CompiledZone, ...]], ...]

    @property
    def uses_views(self) -> bool:
        """False when the site declares no views: the server then has none either."""
        return not self.site.implicit_view


def server_build(compiled: CompiledSite, server: Server) -> ServerBuild:
    """The views and zones ``server`` serves: by default every view with zones.

    A server limited with ``views:`` serves those views only.
    """
    wanted = {ref.name for ref in server.views} if server.views is not None else None
    views = []
    for view in compiled.site.views:
        if wanted is not None and view.name not in wanted:
            continue
        zones = tuple(compiled.zones_of_view(view.name))
        if zones:
            views.append((view, zones))
    return ServerBuild(compiled.site, server, tuple(views))
