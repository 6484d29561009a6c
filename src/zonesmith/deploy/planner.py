"""Making a plan: build the site, observe every server, and compare the two."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from zonesmith.compile.fleet import ServedZone
from zonesmith.compile.live_keys import KeyState, with_live_ds
from zonesmith.compile.serials import SerialState, serial_gt
from zonesmith.deploy.axfr import transfer
from zonesmith.deploy.build import (
    DEPLOYED,
    DeployBuild,
    ServerFiles,
    build_for_deploy,
    checked_site,
    signed_policy,
    signs,
    zone_key,
)
from zonesmith.deploy.diff import (
    RRsets,
    file_diff,
    parse_zone,
    rrset_diff,
    without_dnssec,
    zone_rrsets,
)
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.gates import gates_of
from zonesmith.deploy.install import Target, digest
from zonesmith.deploy.keys import read_live_keys
from zonesmith.deploy.observe import Observed, Question, observe
from zonesmith.deploy.plan import FileChange, Plan, ServerPlan, Signing, ZoneChange
from zonesmith.deploy.transport import Transport, transport_for
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import CONTROL_ALGORITHM, CONTROL_KEY, ServerChange
from zonesmith.model import Server, Site
from zonesmith.pipeline import read_secrets
from zonesmith.site.control_secrets import control_secret_name, read_control_secrets


def target_for(server: Server, pool: dict[str, Transport], releases: int) -> Target:
    return Target(transport_for(server.host, pool), server.name, server.path, releases)


@dataclass
class Planned:
    """A plan with what it was made from: apply sends ``build``'s files."""

    plan: Plan
    build: DeployBuild
    targets: dict[str, Target]
    observed: dict[str, Observed]
    secrets: dict[str, str]
    #: the signers' live keys the build used (written to zonesmith.keys after an apply)
    keys: KeyState | None = None


Rework = Callable[[DeployBuild, dict[str, Target], dict[str, Observed]], DeployBuild]


def tsig_for(site: Site, server: Server, view: str, secrets: Mapping[str, str]):
    """The key that makes a BIND server with views answer from ``view``."""
    if site.implicit_view or server.software != "bind":
        return None
    found = next((v for v in site.views if v.name == view), None)
    if found is None or found.key is None:
        return None
    key = next((k for k in site.keys if k.name == found.key.name), None)
    if key is None or key.name not in secrets:
        return None
    return (key.name, key.algorithm, secrets[key.name])


def transfer_key(
    site: Site, server: Server, view: str, secrets: Mapping[str, str]
) -> tuple[str, str, str] | None:
    """The key a deploy transfers a primary's zone in ``view`` with, on its host:
    the view's key where a key chooses the view (BIND), else its deploy key."""
    secret = secrets.get(control_secret_name(server.name))
    deploy = (CONTROL_KEY, CONTROL_ALGORITHM, secret) if secret is not None else None
    return tsig_for(site, server, view, secrets) or deploy


def observe_fleet(
    build: DeployBuild, targets: Mapping[str, Target], secrets: Mapping[str, str]
) -> dict[str, Observed]:
    """Every server of the build observed, several at once."""

    def look(name: str) -> Observed:
        entry = build.servers[name]
        server = entry.server
        questions = [
            Question(key, zone.text_name, tsig_for(build.site, server, zone.view, secrets))
            for key, (zone, _) in entry.zones.items()
        ]
        seen = observe(targets[name], server.address, server.port, questions)
        signed = frozenset(
            key
            for key, (zone, _) in entry.zones.items()
            if signed_policy(build.site, zone) is not None
        )
        return replace(seen, signed=signed) if signed else seen

    with ThreadPoolExecutor(max_workers=8) as threads:
        return dict(zip(build.servers, threads.map(look, build.servers), strict=True))


def make_plan(
    root: Path,
    pool: dict[str, Transport],
    pinned: Mapping[tuple[str, str], tuple[int, str]] | None = None,
    kind: str = "apply",
    rework: Rework | None = None,
) -> Planned:
    """Build, observe, compare: the plan of an apply (DeployError / SiteError otherwise).

    ``rework`` changes the build before it is compared (a rollback's release files).
    """
    site = checked_site(root)
    secrets = read_secrets(site) | read_control_secrets(site)
    releases = site.deploy.releases
    build = build_for_deploy(site, pinned=pinned)
    targets = {
        name: target_for(entry.server, pool, releases) for name, entry in build.servers.items()
    }

    observed = observe_fleet(build, targets, secrets)
    floors = served_floors(build, observed)
    keys = read_live_keys(
        build,
        targets,
        lambda server, view: transfer_key(site, server, view, secrets),
        KeyState.load(site.root),
        lambda name, key: (
            observed[name].down is None and observed[name].served.get(key) is not None
        ),
    )
    if keys.changed:  # the parents' DS follow the signers' keys
        site = with_live_ds(site, keys)
    if floors or keys.changed:
        build = build_for_deploy(site, floors=floors, pinned=pinned)
    if rework is not None:
        build = rework(build, targets, observed)
    before = SerialState.load(Path(site.root))
    servers = tuple(
        plan_server(build, entry, targets[name], observed[name], before, secrets)
        for name, entry in build.servers.items()
    )
    servers = with_signing_changes(build, observed, servers)
    threshold = site.deploy.mass_change
    serials = tuple(
        (zone.zone.text, view, zone.serial, zone.digest)
        for (view, _), zone in sorted(build.compiled.items())
    )
    plan = Plan(
        site=str(root),
        build_digest=build.digest,
        servers=servers,
        gates=gates_of(servers, threshold),
        serials=serials,
        kind=kind,
    )
    return Planned(plan, build, targets, observed, secrets, keys)


def served_floors(
    build: DeployBuild, observed: Mapping[str, Observed]
) -> dict[tuple[str, str], int]:
    """(zone, view) -> the highest serial served where it is above the state's.

    A signed zone's served serial is its signer's, which moves on its own (each
    re-signing raises it): it is a floor only when the signer will load the
    zone file again (the build's file differs from the one installed, or that
    one was edited by hand), and then one equal to the new serial is a floor
    too, so that the new serial goes above it: Knot refuses a changed zone file
    whose serial is below the signed serial it serves (and serves the build's
    serial only when above it; see ``zonesmith.drivers.knot.SIGNED_ZONE``);
    BIND serves the larger of the file's serial and its last signed serial plus one.
    """
    reloaded = _reloaded_signed(build, observed)
    floors: dict[tuple[str, str], int] = {}
    for name, entry in build.servers.items():
        for key, (served, compiled) in entry.zones.items():
            serial = observed[name].served.get(key)
            if serial is None or compiled is None:
                continue
            pair = (served.zone.text, served.view)
            if signed_policy(build.site, served) is not None and pair not in reloaded:
                continue
            known = build.state.serials.get(pair[0], {}).get(pair[1])
            floor = floors.get(pair, int(known["serial"]) if known else None)  # type: ignore[call-overload]
            if floor is None or serial_gt(serial, floor) or serial == floor and pair in reloaded:
                floors[pair] = serial
    return {
        pair: serial
        for pair, serial in floors.items()
        if (entry := build.state.serials.get(pair[0], {}).get(pair[1])) is None
        or serial_gt(serial, int(entry["serial"]))  # type: ignore[call-overload]
        or serial == int(entry["serial"])  # type: ignore[call-overload]
        and (entry["digest"] == "" or pair in reloaded)
    }


def _reloaded_signed(build: DeployBuild, observed: Mapping[str, Observed]) -> set[tuple[str, str]]:
    """(zone, view) of the signed zones whose signer will load a new zone file."""
    found = set()
    for name, entry in build.servers.items():
        seen = observed[name]
        edited = seen.hand_edited()
        for relative, output in entry.files.items():
            zone = output.zone
            if zone is None:
                continue
            served = entry.zones.get(zone_key(zone.view, zone.text_name))
            if served is None or signs(build.site, served[0]) is None:
                continue
            if relative in edited or seen.installed.get(relative) != digest(output.content):
                found.add((zone.zone.text, zone.view))
    return found


def _deployed(target: Target) -> dict:
    try:
        text = target.read(DEPLOYED)
    except DeployError:
        return {}
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def plan_server(
    build: DeployBuild,
    entry: ServerFiles,
    target: Target,
    seen: Observed,
    before: SerialState,
    secrets: Mapping[str, str],
) -> ServerPlan:
    """One server's part of the plan."""
    server = entry.server
    if seen.files_error is not None:
        raise DeployError(seen.files_error)
    hidden = [*secrets.values(), *(key.secret for key in entry.build.keys)]
    deployed = _deployed(target)
    files: list[FileChange] = []
    zone_files = {relative: f.zone for relative, f in entry.files.items() if f.zone is not None}
    for relative, output in sorted(entry.files.items()):
        if seen.installed.get(relative) == digest(output.content):
            continue
        kind = "changed" if relative in seen.installed else "added"
        shown: tuple[str, ...] = ()
        if kind == "changed" and relative not in zone_files and relative != DEPLOYED:
            old = target.read(relative)
            shown = tuple(file_diff(old, output.content, relative, hidden))
        files.append(FileChange(relative, kind, shown))
    for relative in sorted(set(seen.installed) - set(entry.files)):
        files.append(FileChange(relative, "removed"))
    zones = zone_changes(entry, target, seen, before, deployed, secrets)
    restart = _restart(entry, deployed)
    signed = signings(entry, deployed)
    plan = ServerPlan(
        server=server.name,
        software=server.software,
        role=server.role,
        where=target.transport.host,
        path=server.path,
        fingerprint=seen.fingerprint,
        files=tuple(files),
        zones=tuple(zones),
        restart=restart,
        down=seen.down,
        signed=signed,
    )
    return replace(plan, commands=tuple(reload_commands(entry, plan)))


def with_signing_changes(
    build: DeployBuild, observed: Mapping[str, Observed], servers: tuple[ServerPlan, ...]
) -> tuple[ServerPlan, ...]:
    """``servers`` with each zone whose signing changes (signed, unsigned, a new algorithm)
    changed on every server of it: apply then verifies that its signer serves it signed
    (or not) and that its secondaries took what the signer serves."""
    changing = {zone_key(s.view, s.zone) for plan in servers for s in plan.signed if s.changes}
    if not changing:
        return servers
    found = []
    for plan in servers:
        entry = build.servers[plan.server]
        listed = {zone_key(zone.view, zone.zone) for zone in plan.zones}
        more = []
        for key in sorted(changing & set(entry.zones) - listed):
            served, compiled = entry.zones[key]
            serial = compiled.serial if compiled is not None else None
            old = observed[plan.server].served.get(key)
            more.append(ZoneChange(served.text_name, served.view, "changed", old, serial))
        found.append(replace(plan, zones=plan.zones + tuple(more)) if more else plan)
    return tuple(found)


def _signed(deployed: dict) -> dict[str, str]:
    """The "signed" part of a DEPLOYED file: zone key -> algorithm."""
    signed = deployed.get("signed") or {}
    return {str(k): str(v) for k, v in signed.items() if v} if isinstance(signed, dict) else {}


def signings(entry: ServerFiles, deployed: dict) -> tuple[Signing, ...]:
    """The zones the server signed at the last deploy (``deployed``) or signs once this
    deploy's files are in (its DEPLOYED file: the site's, or a rollback's release copy),
    with their algorithms before and after."""
    before = _signed(deployed)
    installing = entry.files.get(DEPLOYED)
    try:
        after = _signed(json.loads(installing.content)) if installing is not None else {}
    except ValueError:
        after = {}
    known = set(deployed.get("zones", ()))
    found = []
    for key in sorted(set(before) | set(after)):
        view, _, zone = key.partition("/")
        found.append(Signing(zone, view, before.get(key), after.get(key), key not in known))
    return tuple(found)


def zone_changes(
    entry: ServerFiles,
    target: Target,
    seen: Observed,
    before: SerialState,
    deployed: dict,
    secrets: Mapping[str, str],
) -> list[ZoneChange]:
    """Zones added, removed, changed or drifted on one server."""
    changes = []
    known = set(deployed.get("zones", ()))
    by_zone = {
        zone_key(f.zone.view, f.zone.text_name): relative
        for relative, f in entry.files.items()
        if f.zone is not None
    }
    site = entry.build.site
    was_signed = deployed.get("signed") or {}
    for key, (served, compiled) in entry.zones.items():
        old = seen.served.get(key)
        new = compiled.serial if compiled is not None else None
        relative = by_zone.get(key) if served.data is not None else None
        # a zone its signer signed at the last deploy keeps the signer's serial until the
        # new one goes above it
        signed = signed_policy(site, served) is not None or key in was_signed
        drift: tuple[str, ...] = ()
        diff = None
        if relative is not None and compiled is not None:
            drift = _drift(entry, seen, before, served, relative, signed)
            if drift or seen.installed.get(relative) != digest(entry.files[relative].content):
                live = _live_rrsets(entry, target, seen, secrets, served) if drift else None
                if live is None:
                    live = parse_zone(target.read(relative), compiled.origin)
                new_sets = parse_zone(entry.files[relative].content, compiled.origin) or {}
                diff = rrset_diff(live, new_sets, compiled.origin)
        if key not in known and (old is None or not known):
            kind = "added"
        elif drift:
            kind = "drift"
        elif (seen.down is None and _behind(old, new, signed)) or (diff and diff.lines):
            kind = "changed"
        else:
            continue
        counts = (diff.changed, diff.total, diff.apex_ns_changed) if diff else (0, 0, False)
        lines = diff.lines if diff else ()
        changes.append(
            ZoneChange(served.text_name, served.view, kind, old, new, lines, drift, *counts)
        )
    for key in sorted(known - set(entry.zones)):
        view, _, zone = key.partition("/")
        changes.append(ZoneChange(zone, view, "removed", seen.served.get(key), None))
    return changes


def _behind(old: int | None, new: int | None, signed: bool) -> bool:
    """Whether a server serving serial ``old`` has yet to take the build's ``new``.

    A signed zone is served with its signer's serial, at or above the build's
    (re-signing raises it): only one below the build's is behind."""
    if new is None:
        return False
    if signed:
        return old is None or serial_gt(new, old)
    return old != new


def _drift(
    entry: ServerFiles,
    seen: Observed,
    before: SerialState,
    served: ServedZone,
    relative: str,
    signed: bool = False,
) -> tuple[str, ...]:
    """Why a primary's live zone is not what the last deploy made: its file
    edited by hand, or a serial served above the last deploy's (not for a
    signed zone, whose signer raises its serial as it re-signs)."""
    last_entry = before.serials.get(served.zone.text, {}).get(served.view)
    last = int(last_entry["serial"]) if last_entry else None  # type: ignore[call-overload]
    old = seen.served.get(zone_key(served.view, served.text_name))
    edited = relative in seen.hand_edited()
    raised = not signed and old is not None and last is not None and serial_gt(old, last)
    if not edited and not raised:
        return ()
    made = "" if last is None else f", the last deploy made {last}"
    by_hand = "; its zone file was edited by hand" if edited else ""
    return (f"{served.text_name} on {entry.server.name} serves serial {old}{made}{by_hand}",)


def _live_rrsets(
    entry: ServerFiles,
    target: Target,
    seen: Observed,
    secrets: Mapping[str, str],
    served: ServedZone,
) -> RRsets | None:
    """The zone as the server serves it (AXFR on its host), or None."""
    server = entry.server
    key = transfer_key(entry.build.site, server, served.view, secrets)
    if seen.down is not None or key is None:
        return None
    try:
        live = zone_rrsets(transfer(target, server.address, server.port, served.text_name, key))
    except DeployError:
        return None
    return without_dnssec(live) if signed_policy(entry.build.site, served) else live


def _restart(entry: ServerFiles, deployed: dict) -> str | None:
    """Why the server needs a restart to take the build (apply never restarts), or None."""
    listen = deployed.get("listen")
    if not listen:
        return None  # a first install: the server is started, not restarted
    address, port, control = ([*listen, None, None, None])[:3]
    server = entry.server
    old_server = replace(server, address=address, port=port, control_port=control)
    reason = entry.driver.needs_restart(replace(entry.build, server=old_server), entry.build)
    return f"{server.name}: {reason}" if reason else None


def reload_commands(entry: ServerFiles, plan: ServerPlan) -> list[Command]:
    """What the driver runs after the swap, as narrow as the software allows."""
    if not plan.files:
        return []

    def pairs(kinds: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        return tuple((z.view, z.zone) for z in plan.zones if z.kind in kinds)

    changed_paths = {f.path for f in plan.files}
    zone_paths = {rel for rel, f in entry.files.items() if f.zone is not None}
    config = bool(changed_paths - zone_paths - {DEPLOYED})
    main = entry.driver.config_name
    change = ServerChange(
        zones_changed=pairs(("changed", "drift")),
        zones_added=pairs(("added",)),
        zones_removed=pairs(("removed",)),
        config_changed=config,
        options_changed=bool(main in changed_paths and not pairs(("added", "removed"))),
    )
    return list(entry.driver.reload_commands(entry.build, change))
