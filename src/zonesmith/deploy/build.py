"""DeployBuild: the site compiled for a deploy, in memory, with serials above what is served."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from zonesmith.compile.fleet import ServedZone, ServerBuild
from zonesmith.compile.serials import SerialState
from zonesmith.compile.zones import CompiledZone
from zonesmith.diagnostics import SiteError
from zonesmith.drivers import Driver, OutputFile
from zonesmith.model import DnssecPolicy, Server, Site
from zonesmith.pipeline import check_site, render_site

#: A file deploy adds to every server's path: the zones it serves and where it
#: listens, so the next plan knows which zones a server stops serving (a
#: secondary has no zone file) and when only a restart would take a change;
#: on a signer, also which zones it signs and with what algorithm ("signed"),
#: so the next apply knows whose keys must still be there, and which change
#: signs, unsigns or rolls the algorithm of a zone (the dnssec gate).
DEPLOYED = "zonesmith-deployed.json"


def checked_site(root: Path) -> Site:
    """The site, validated; SiteError with every diagnostic when it has errors."""
    site, diagnostics = check_site(root)
    if any(d.is_error for d in diagnostics):
        raise SiteError(diagnostics)
    return site


def signed_policy(site: Site, served: ServedZone) -> DnssecPolicy | None:
    """The policy ``served`` is signed with (by its primary; a secondary serves the
    signed zone it transfers), or None for an unsigned zone or a catalog."""
    return None if served.is_catalog else site.policy_of(served.zone)


def signs(site: Site, served: ServedZone) -> DnssecPolicy | None:
    """The policy this server signs ``served`` with: it is the zone's primary (the signer)."""
    return signed_policy(site, served) if served.data is not None else None


def zone_key(view: str, zone: str) -> str:
    """How a (view, zone) pair is named in plans, lists and the journal."""
    return f"{view}/{zone}"


@dataclass
class ServerFiles:
    """One server's build: its files (relative to its path), folders, zones."""

    server: Server
    driver: Driver
    build: ServerBuild
    files: dict[str, OutputFile] = field(default_factory=dict)
    folders: list[str] = field(default_factory=list)
    #: zone_key -> (served zone, its compiled content and serial when known)
    zones: dict[str, tuple[ServedZone, CompiledZone | None]] = field(default_factory=dict)


@dataclass
class DeployBuild:
    site: Site
    state: SerialState
    servers: dict[str, ServerFiles]
    #: (view, zone origin) -> compiled zone
    compiled: dict[tuple[str, str], CompiledZone]

    def state_serial(self, zone: CompiledZone) -> int | None:
        """The serial the serial state holds for ``zone``."""
        entry = self.state.serials.get(zone.zone.text, {}).get(zone.view)
        return int(entry["serial"]) if entry else None  # type: ignore[call-overload]

    @property
    def digest(self) -> str:
        """The build's digest: every server's file names and contents."""
        hasher = hashlib.blake2b(digest_size=16)
        for name in sorted(self.servers):
            for relative, file in sorted(self.servers[name].files.items()):
                hasher.update(f"{name}/{relative} {file.mode:o}\n".encode())
                hasher.update(hashlib.blake2b(file.content, digest_size=16).digest())
        return hasher.hexdigest()


def build_for_deploy(
    site: Site,
    floors: Mapping[tuple[str, str], int] | None = None,
    pinned: Mapping[tuple[str, str], tuple[int, str]] | None = None,
) -> DeployBuild:
    """Compile and render ``site`` without writing anything.

    ``floors`` ((zone, view) -> served serial, at or above the state's) raise the
    serial state's floor, so new serials go above what servers serve; ``pinned`` ((zone, view) ->
    (serial, digest)) are a plan's serials, so applying a plan on another day
    makes the same bytes.
    """
    state = SerialState.load(Path(site.root))
    for (zone, view), served in (floors or {}).items():
        if not state.raise_floor(zone, view, served):
            # A floor equal to the state's serial (a signer serving it already): the
            # next serial goes above it all the same.
            state.pin(zone, view, served, "")
    for (zone, view), (serial, digest) in (pinned or {}).items():
        state.pin(zone, view, serial, digest)
    rendered = render_site(site, state)
    compiled: dict[tuple[str, str], CompiledZone] = {}
    servers: dict[str, ServerFiles] = {}
    for driver, build in rendered.checks:
        entry = ServerFiles(build.server, driver, build)
        servers[build.server.name] = entry
    for path, output in rendered.files.items():
        name, _, relative = path.partition("/")
        entry = servers[name]
        if relative.endswith("/"):
            entry.folders.append(relative.rstrip("/"))
        else:
            assert isinstance(output, OutputFile)  # a full render: no replayed files
            entry.files[relative] = output
            if output.zone is not None:
                compiled[(output.zone.view, output.zone.origin)] = output.zone
    for entry in servers.values():
        for served in entry.build.zones:
            data = served.data or compiled.get((served.view, served.zone.origin))
            entry.zones[zone_key(served.view, served.text_name)] = (served, data)
        server = entry.server
        deployed: dict[str, object] = {
            "zones": sorted(entry.zones),
            "listen": [server.address, server.port, server.control_port],
        }
        signed = {
            key: policy.algorithm
            for key, (served, _) in sorted(entry.zones.items())
            if (policy := signs(site, served)) is not None
        }
        if signed:  # the file of a server that signs nothing keeps its bytes
            deployed["signed"] = signed
        entry.files[DEPLOYED] = OutputFile((json.dumps(deployed, indent=0) + "\n").encode())
    return DeployBuild(site, state, servers, compiled)
