"""What a parsed ``named.conf`` means, as an :class:`ImportedSite`: views, zones, keys, server."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import dns.name

from zonesmith.diagnostics import Position, error, warning
from zonesmith.importers.content import (
    ImportedSite,
    ImportedZone,
    ImportResult,
    KeySpec,
    ViewSpec,
)
from zonesmith.importers.named_conf_acl import MatchLists
from zonesmith.importers.named_conf_options import ServerOptions
from zonesmith.importers.named_conf_parser import (
    ConfStatement,
    parse_named_conf,
    statement_text,
)
from zonesmith.importers.site_writer import write_site
from zonesmith.importers.zonefile import read_zone_file
from zonesmith.load import TSIG_ALGORITHMS, display_path
from zonesmith.model import DEFAULT_VIEW

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


class NamedConfReader:
    """Interprets a parsed named.conf into an :class:`ImportedSite`."""

    def __init__(self, path: Path):
        self.path = path
        self.imported = ImportedSite("zonesmith import named-conf", [display_path(path)])
        self.report = self.imported.diagnostics
        self.options = ServerOptions(path, self.warn)
        self.match_lists = MatchLists(self.warn)
        self.keys: dict[str, KeySpec] = {}
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
                self.options.read_options(statement)
            elif keyword == "key":
                self.read_key(statement)
            elif keyword == "acl" and statement.arg(1) and statement.block:
                self.match_lists.acls[statement.arg(1)] = statement  # type: ignore[index]
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
        server = self.options.infer_server(self.primary_zones)
        if server is not None:
            self.imported.servers["ns1"] = server
        return self.imported

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

    # -- keys, views and zones -------------------------------------------------------

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
                clients, keys = self.match_lists.match_list(
                    option.block, f"view '{name}' match-clients"
                )
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
                self.options.read_option_list([option], f"view '{name}'")
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
