"""An octoDNS configuration (providers, zones, aliases) into a site, zone file by zone file."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import dns.name

from zonesmith.diagnostics import Position, error, warning
from zonesmith.importers.content import (
    ContentBuilder,
    ImportedSite,
    ImportedZone,
    ImportResult,
    RRKey,
)
from zonesmith.importers.octodns_records import YAML_PROVIDERS
from zonesmith.importers.octodns_zone_file import ZoneFileReader
from zonesmith.importers.site_writer import write_site
from zonesmith.importers.yaml_positions import key_position, load_yaml_with_positions
from zonesmith.model import DEFAULT_VIEW
from zonesmith.site.files import display_path


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
                    key_position(data, key, top),
                    f"'{key}' is not carried over: zonesmith does not model it",
                )
        providers = self.read_providers(data["providers"], top)
        zones = data["zones"] if isinstance(data["zones"], dict) else {}
        targets_seen = False
        for zone_name, zone_config in zones.items():
            where = key_position(zones, zone_name, top)
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
                        key_position(zone_config, key, where),
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
            ZoneFileReader(self.report).read(path, origin, provider, builder, seen, source)
        if found:
            self.imported.zones.append(
                ImportedZone(origin, where, {DEFAULT_VIEW: builder.content()}, None)
            )


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
