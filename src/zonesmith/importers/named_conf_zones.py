"""The zone statements of a ``named.conf``: each primary zone's file read once, per view."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import dns.name

from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.importers.content import ImportedZone
from zonesmith.importers.named_conf_options import ServerOptions, Warn
from zonesmith.importers.named_conf_parser import ConfStatement, statement_text
from zonesmith.importers.zonefile import read_zone_file
from zonesmith.model import DEFAULT_VIEW
from zonesmith.site.files import display_path

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


class ZoneReader:
    """Reads zone statements into one :class:`ImportedZone` per zone and view."""

    def __init__(self, report: list[Diagnostic], warn: Warn, options: ServerOptions):
        self.report = report
        self.warn = warn
        self.options = options
        # zone -> view -> ImportedZone (one view each)
        self.zones: dict[dns.name.Name, dict[str, ImportedZone]] = {}
        self.zone_order: list[dns.name.Name] = []
        self.file_cache: dict[tuple[Path, dns.name.Name], ImportedZone] = {}
        self.primary_zones = 0

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
            listed = statement_text(primaries).split(None, 1)[1] if primaries else "(none)"
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
        if not self.check_zone_options(body, where):
            return
        path = Path(body["file"].arg(1))  # type: ignore[arg-type]
        path = path if path.is_absolute() else self.options.directory / path
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

    def check_zone_options(self, body: dict[str, ConfStatement], where: str) -> bool:
        """Report the zone's options the site does not carry; False if its file cannot be read."""
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
                    return False
                continue
            if keyword == "notify" and option.arg(1) in ("no", "explicit"):
                continue
            if keyword == "allow-transfer" and statement_text(option).endswith("{ none; }"):
                continue
            reason = _ZONE_OPTION_REASONS.get(keyword, "zonesmith does not model it")
            self.warn(
                option.position, f"{where}: '{option.describe()}' is not carried over: {reason}"
            )
        return True

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

    def imported_zones(self) -> list[ImportedZone]:
        """Each zone with its content in every view it is in, in name order."""
        zones: list[ImportedZone] = []
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
            zones.append(ImportedZone(origin, first.position, content, first.soa))
        return zones
