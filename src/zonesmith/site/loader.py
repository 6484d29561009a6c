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

from zonesmith.declared import Declarations, ZoneSource
from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.model import (
    DEFAULT_VIEW,
    Defaults,
    RuleSwitch,
    Site,
    View,
    Zone,
)
from zonesmith.site.declarations import (
    BlocklistsSection,
    DefaultsSection,
    KeysSection,
    MailSendersSection,
    ServersSection,
    SetsSection,
    ViewsSection,
)
from zonesmith.site.deploy_settings import DeploySection
from zonesmith.site.dnssec_policies import DnssecPoliciesSection
from zonesmith.site.files import SITE_FILE, ZONES_DIR, display_path, is_site_file
from zonesmith.site.limits import real_root
from zonesmith.site.memo import NoMemo, SiteMemo
from zonesmith.site.rule_switches import RuleSwitchesSection
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
    DnssecPoliciesSection,
    MailSendersSection,
    RuleSwitchesSection,
):
    """Reads one site; collects diagnostics instead of stopping at the first.

    Its two steps, load_declarations and read_zone, each return what they
    read with what reading it reported; load_site chains them.
    """

    def __init__(self, root: Path):
        self.root = root
        self.diagnostics: list[Diagnostic] = []
        self.real_root = real_root(root)  # no file outside it is read
        #: files of the site folder whose existence zonesmith.yaml's meaning
        #: depends on, and whether they existed (see Declarations.probes)
        self.probes: dict[str, bool] = {}
        #: switches beside records read since they were last taken (see take_switches)
        self.rule_switches: list[RuleSwitch] = []

    def site_file_exists(self, name: str) -> bool:
        """Whether the site folder has a file ``name`` (kept with the declarations)."""
        exists = self.probes[name] = is_site_file(self.root, name)
        return exists

    def taken_since(self, reported: int) -> list[Diagnostic]:
        """What was reported since there were ``reported`` diagnostics, taken out of
        the loader's list to go with what it was reported on."""
        taken = self.diagnostics[reported:]
        del self.diagnostics[reported:]
        return taken

    def take_switches(self) -> tuple[RuleSwitch, ...]:
        """The switches written beside records read since this was last asked."""
        taken = tuple(self.rule_switches)
        self.rule_switches.clear()
        return taken

    # -- the site file ---------------------------------------------------------

    def load_declarations(self, site_path: Path) -> Declarations:
        """What zonesmith.yaml declares: the site, and its zones without their records,
        with what reading them reported."""
        reported = len(self.diagnostics)
        source, document = self.compose(site_path)
        top = self.mapping(
            source,
            document,
            (
                "defaults",
                "keys",
                "views",
                "servers",
                "sets",
                "zones",
                "blocklists",
                "deploy",
                "dnssec-policies",
                "mail-senders",
                "rules",
            ),
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
            dnssec_policies=self.load_dnssec_policies(source, section("dnssec-policies")),
            mail_senders=self.load_mail_senders(source, section("mail-senders")),
            rule_switches=self.load_rule_switches(source, section("rules")) + self.take_switches(),
        )
        diagnostics = self.taken_since(reported)
        return Declarations(site, zones, set_specs, diagnostics, probes=self.probes)


def load_site(root: Path | str, memo: SiteMemo | None = None) -> tuple[Site, list[Diagnostic]]:
    """Load the site at ``root``; returns the model and what loading found wrong.

    The ``memo`` of earlier runs is asked at the boundary of each step: for
    zonesmith.yaml's declarations, and for each zone's records by the digest
    of what they are made from; the loader reads only what it does not have,
    and the memo keeps what was read. Without one, everything is read.
    """
    memo = memo if memo is not None else NoMemo()
    loader = Loader(Path(root))
    site_path = loader.root / SITE_FILE
    if not site_path.is_file():
        message = f"no {SITE_FILE} here; a site is a folder with {SITE_FILE} (see the README)"
        missing = error(Position(display_path(site_path)), "no-site", message)
        return Site(root=str(loader.root), defaults=Defaults(3600, None, Position(""))), [missing]
    key = memo.declarations_key(site_path, loader.root / ZONES_DIR)
    declarations = memo.declarations(key)
    if declarations is None or any(
        (loader.root / name).is_file() != existed for name, existed in declarations.probes.items()
    ):
        declarations = loader.load_declarations(site_path)
        memo.keep_declarations(key, declarations)
    diagnostics = list(declarations.diagnostics)
    zones = []
    for arguments, source in declarations.zones:
        fingerprint, data = _records_key(memo, source)
        kept = memo.records(fingerprint)
        if kept is not None:
            records, found, switches = kept
            zones.append(Zone.from_arguments(arguments, records, fingerprint, switches))
        else:
            zone = Zone.from_arguments(arguments, (), None)
            records, found, switches = loader.read_zone(zone, source, declarations.sets, data)
            memo.keep_records(fingerprint, records, found, zone.origin, switches)
            zones.append(zone.with_records(records, fingerprint, switches))
        diagnostics.extend(found)
    return dataclasses.replace(declarations.site, zones=tuple(zones)), diagnostics


def _records_key(memo: SiteMemo, source: ZoneSource) -> tuple[str | None, bytes | None]:
    """The digest of what a zone's records are made from, the memo's key for them
    (None: not memoized), and its file's content if that was read to find it out.

    A master file with $INCLUDE depends on files its digest does not
    cover, so it is always read.
    """
    content = ""
    data = None
    if source.path is not None:
        found = memo.content_digest(source.path)
        if found is None:
            return None, None
        content, includes, data = found
        if includes:
            return None, data
    return memo.fingerprint(source.context, content), data
