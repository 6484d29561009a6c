"""A site's records written out as an octoDNS configuration and zone files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from zonesmith.diagnostics import Diagnostic, Position, error, warning
from zonesmith.importers.content import (
    ImportResult,
    T,
    natural_key,
)
from zonesmith.importers.octodns_records import YAML_PROVIDERS, rdata_to_octodns
from zonesmith.importers.site_writer import dump_yaml, write_file
from zonesmith.site.files import SITE_FILE, display_path

if TYPE_CHECKING:
    from zonesmith.compile.zones import CompiledZone
    from zonesmith.model import Site, Zone

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
    result.diagnostics += _left_out(site, chosen, site_where)
    files: dict[str, tuple[bytes, int]] = {}
    default_ttl = site.defaults.ttl
    zone_config: dict[str, object] = {}
    for zone in site.zones:
        if chosen not in zone.views:
            continue
        compiled_zone = compiled.zones[(chosen, zone.origin)]
        content = _zone_file(zone, compiled_zone, default_ttl, site_where, result.diagnostics)
        files[f"{OCTODNS_ZONES}/{zone.name.to_text()}yaml"] = (content, 0o644)
        zone_config[zone.name.to_text()] = {"sources": [OCTODNS_PROVIDER], "targets": []}
    files[OCTODNS_CONFIG] = (_config_file(site_root, default_ttl, zone_config), 0o644)
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
        write_file(out / relative, content, mode)
        result.written.append(relative)
    result.notes.append(f"run octodns-sync --config-file {OCTODNS_CONFIG} in {display_path(out)}")
    return result


def _left_out(site: Site, chosen: str, site_where: Position) -> list[Diagnostic]:
    """Warnings for what octoDNS cannot hold: other views, the SOA, zones not in the view."""
    diagnostics: list[Diagnostic] = []
    if len(site.view_names) > 1:
        others = [v for v in site.view_names if v != chosen]
        diagnostics.append(
            warning(
                site_where,
                "views-dropped",
                f"octoDNS has no views: exported view '{chosen}' only; what differs in "
                f"{', '.join(others)} is not exported (choose with --view)",
            )
        )
    diagnostics.append(
        warning(
            site_where,
            "soa-not-exported",
            "SOA records are not exported: octoDNS leaves the SOA to each provider",
        )
    )
    zones_missing = [z.text for z in site.zones if chosen not in z.views]
    if zones_missing:
        diagnostics.append(
            warning(
                site_where,
                "zones-dropped",
                f"zones not in view '{chosen}' are not exported: {', '.join(zones_missing)}",
            )
        )
    return diagnostics


def _zone_file(
    zone: Zone, compiled_zone: CompiledZone, default_ttl: int, site_where: Position,
    diagnostics: list[Diagnostic],
) -> bytes:  # fmt: skip
    """One zone's octoDNS YamlProvider file; what octoDNS cannot hold is reported."""
    records: dict[str, list[dict]] = defaultdict(list)
    positions = {(r.name, r.rdtype): r.position for r in zone.records}
    for name, rdtype, ttl, rdatas in compiled_zone.dnspython_rrsets():
        owner = "" if name == zone.name else name.relativize(zone.name).to_text().lower()
        values = []
        for rdata in rdatas:
            value, problem = rdata_to_octodns(rdata)
            where = positions.get((name, rdtype), site_where)
            if value is None:
                diagnostics.append(
                    warning(
                        where,
                        "not-exported",
                        f"{name} {T.to_text(rdtype)} is not exported: {problem}",
                    )
                )
                continue
            if problem:
                diagnostics.append(
                    warning(where, "txt-strings-joined", f"{name} {T.to_text(rdtype)}: {problem}")
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
    return ("---\n" + text).encode()


def _config_file(site_root: Path, default_ttl: int, zone_config: dict[str, object]) -> bytes:
    """octodns.yaml: the YamlProvider that reads the exported zone files, and the zones."""
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
    return dump_yaml(config, header)
