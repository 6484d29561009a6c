"""Loading a site: zonesmith.yaml, zones/*.yaml and zones/*.zone into the model.

The YAML is composed into nodes (PyYAML's C composer when available), not
constructed into Python objects, so that every value keeps its line and
column; scalars are read as the text the user wrote, which also avoids YAML
1.1 surprises such as ``no`` becoming false or ``010`` becoming 8. Zone files
that are flat mappings of one-line values, as generated zones of a million
records are, are read line by line instead (:mod:`zonesmith.site.flat_yaml`), giving
the same records and positions; PyYAML reads every other file.

Loading reports every problem it meets and goes on with what it could read,
so that one run of ``zonesmith check`` shows them all. What is wrong with the
*syntax* of one value is reported here; what is wrong with how values relate
to each other is for :mod:`zonesmith.rules`.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from zonesmith.declared import Declarations
from zonesmith.diagnostics import Diagnostic, Position
from zonesmith.model import (
    DEFAULT_VIEW,
    Defaults,
    Site,
    View,
)
from zonesmith.site.declarations import (
    BlocklistsSection,
    DefaultsSection,
    KeysSection,
    ServersSection,
    SetsSection,
    ViewsSection,
)
from zonesmith.site.deploy_settings import DeploySection
from zonesmith.site.files import SITE_FILE, ZONES_DIR, display_path
from zonesmith.site.memo import NoMemo, SiteMemo
from zonesmith.site.yaml_nodes import NodeReader, yaml
from zonesmith.site.zone_sources import ZonesSection


class Loader(
    NodeReader,
    DefaultsSection,
    KeysSection,
    ViewsSection,
    ServersSection,
    BlocklistsSection,
    SetsSection,
    ZonesSection,
    DeploySection,
):
    """Reads one site; collects diagnostics instead of stopping at the first."""

    def __init__(self, root: Path, cache: SiteMemo | None = None):
        self.root = root
        self.diagnostics: list[Diagnostic] = []
        self.cache: SiteMemo = cache if cache is not None else NoMemo()
        #: files of the site folder whose existence zonesmith.yaml's meaning
        #: depends on, and whether they existed (see Declarations.probes)
        self.probes: dict[str, bool] = {}

    def site_file_exists(self, name: str) -> bool:
        """Whether the site folder has a file ``name`` (kept with the declarations)."""
        exists = self.probes[name] = (self.root / name).is_file()
        return exists

    # -- the site file ---------------------------------------------------------

    def load(self) -> Site:
        site_path = self.root / SITE_FILE
        if not site_path.is_file():
            self.error(
                Position(display_path(site_path)),
                "no-site",
                f"no {SITE_FILE} here; a site is a folder with {SITE_FILE} (see the README)",
            )
            return Site(root=str(self.root), defaults=Defaults(3600, None, Position("")))
        key = self.cache.declarations_key(site_path, self.root / ZONES_DIR)
        declarations = self.cache.declarations(key)
        if declarations is not None and any(
            (self.root / name).is_file() != existed for name, existed in declarations.probes.items()
        ):
            declarations = None
        if declarations is None:
            reported = len(self.diagnostics)
            declarations = self.load_declarations(site_path)
            declarations.diagnostics.extend(self.diagnostics[reported:])
            self.cache.keep_declarations(key, declarations)
        else:
            self.diagnostics.extend(declarations.diagnostics)
        zones = tuple(
            self.read_zone(arguments, source, declarations.sets)
            for arguments, source in declarations.zones
        )
        return dataclasses.replace(declarations.site, zones=zones)

    def load_declarations(self, site_path: Path) -> Declarations:
        """What zonesmith.yaml declares: the site, and its zones without their records."""
        source, document = self.compose(site_path)
        top = self.mapping(
            source,
            document,
            ("defaults", "keys", "views", "servers", "sets", "zones", "blocklists", "deploy"),
            SITE_FILE,
        )

        def section(name: str) -> yaml.Node | None:
            return top[name][1] if name in top else None

        defaults = self.load_defaults(source, section("defaults"), document)
        keys = self.load_keys(source, section("keys"))
        views = self.load_views(source, section("views"))
        implicit_view = not views
        if implicit_view:
            views = (View(DEFAULT_VIEW, ("any",), Position(source.display)),)
        servers = self.load_servers(source, section("servers"))
        set_specs = self.load_sets(source, section("sets"))
        zones = self.declare_zones(source, section("zones"), defaults, views, set_specs)
        blocklists = self.load_blocklists(source, section("blocklists"))
        site = Site(
            root=str(self.root),
            defaults=defaults,
            keys=keys,
            views=views,
            servers=servers,
            blocklists=blocklists,
            implicit_view=implicit_view,
            sets=tuple(set_specs),
            deploy=self.load_deploy(source, section("deploy")),
        )
        return Declarations(site, zones, set_specs, probes=self.probes)

    # -- record sets and zones ------------------------------------------------


def load_site(root: Path | str, cache: SiteMemo | None = None) -> tuple[Site, list[Diagnostic]]:
    """Load the site at ``root``; returns the model and what loading found wrong.

    With a ``cache``, zones whose files are unchanged since it was written
    are taken from it instead of being read again.
    """
    loader = Loader(Path(root), cache)
    site = loader.load()
    return site, loader.diagnostics
