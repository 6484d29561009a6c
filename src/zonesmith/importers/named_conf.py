"""What a parsed ``named.conf`` means, as an :class:`ImportedSite`: its statements, keys, views."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import dns.name

from zonesmith.diagnostics import Position, error, warning
from zonesmith.importers.content import (
    ImportedSite,
    ImportResult,
    KeySpec,
    ViewSpec,
)
from zonesmith.importers.named_conf_acl import MatchLists
from zonesmith.importers.named_conf_options import ServerOptions
from zonesmith.importers.named_conf_parser import ConfStatement, parse_named_conf
from zonesmith.importers.named_conf_zones import ZoneReader
from zonesmith.importers.site_writer import write_site
from zonesmith.model import DEFAULT_VIEW
from zonesmith.site.files import display_path
from zonesmith.site.values import TSIG_ALGORITHMS


class NamedConfReader:
    """Interprets a parsed named.conf into an :class:`ImportedSite`."""

    def __init__(self, path: Path):
        self.path = path
        self.imported = ImportedSite("zonesmith import named-conf", [display_path(path)])
        self.report = self.imported.diagnostics
        self.options = ServerOptions(path, self.warn)
        self.match_lists = MatchLists(self.warn)
        self.keys: dict[str, KeySpec] = {}
        self.zone_reader = ZoneReader(self.report, self.warn, self.options)
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
                self.zone_reader.read_zone(statement, DEFAULT_VIEW)
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
        server = self.options.infer_server(self.zone_reader.primary_zones)
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
                self.zone_reader.read_zone(option, name)

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
        self.imported.zones += self.zone_reader.imported_zones()


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
