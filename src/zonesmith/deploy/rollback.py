"""Rollback: an earlier release's content, deployed anew with serials above the live ones."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import dns.exception
import dns.rdataset
import dns.rdatatype
import dns.zone

from zonesmith.compile.serials import build_date, next_serial, serial_gt
from zonesmith.compile.zones import CompiledZone
from zonesmith.deploy import journal
from zonesmith.deploy.build import DeployBuild, zone_key
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.observe import Observed, Question, serials_of
from zonesmith.drivers import OutputFile


def chosen_deploy(root: Path, to: str | None) -> dict:
    """The journal entry to undo: ``to`` (its id), or the last one that changed files."""
    undoable = [
        entry
        for entry in journal.entries(root)
        if any(server.get("release") for server in entry.get("servers", {}).values())
    ]
    if to is not None:
        found = [entry for entry in undoable if entry.get("id") == to]
        if not found:
            known = ", ".join(str(entry.get("id")) for entry in undoable[-5:]) or "none"
            raise DeployError(f"no deploy {to} with release copies in the journal (last: {known})")
        return found[0]
    if not undoable:
        raise DeployError("the deploy journal holds no deploy to roll back")
    return undoable[-1]


def read_tree(target: Target, folder: str, names: list[str]) -> dict[str, OutputFile]:
    """Files ``names`` (relative) under ``folder`` on the target, with their modes."""
    if not names:
        return {}
    done = target.transport.run(
        ["tar", "-C", folder, "-cf", "-", "--", *[f"./{name}" for name in names]], timeout=300
    )
    if not done.ok:
        raise DeployError(f"{target.name}: reading {folder} failed: {done.message()}")
    found = {}
    with tarfile.open(fileobj=io.BytesIO(done.stdout)) as tar:
        for member in tar.getmembers():
            if member.isfile():
                stream = tar.extractfile(member)
                assert stream is not None
                found[member.name.removeprefix("./")] = OutputFile(stream.read(), member.mode)
    return found


def release_files(target: Target, release: str) -> dict[str, OutputFile]:
    """The managed files of release copy ``release`` on the target."""
    folder = f"{target.state}/releases/{release}"
    done = target.transport.run(["cat", "--", f"{folder}/manifest"], timeout=60)
    if not done.ok:
        raise DeployError(f"{target.where}: no release {release} ({done.message()})")
    names = [
        line.partition("  ./")[2] for line in done.stdout.decode().splitlines() if "  ./" in line
    ]
    return read_tree(target, f"{folder}/files", names)


def with_serial(text: bytes, origin: str, serial: int) -> bytes | None:
    """A master file with its SOA serial replaced, or None if it cannot be read."""
    read = _read_zone(text, origin)
    if read is None:
        return None
    zone, soa = read
    soa.update_ttl(soa.ttl)
    rdata = soa[0].replace(serial=serial)
    soa.clear()
    soa.add(rdata)
    return zone.to_text(relativize=False).encode()


def rolled_back(
    deploy: dict,
    build: DeployBuild,
    targets: Mapping[str, Target],
    observed: Mapping[str, Observed],
) -> DeployBuild:
    """``build`` with each server's files taken from the release copies ``deploy``
    made (the live files for servers it did not change), zone serials bumped."""
    highest: dict[str, int] = {}
    for seen in observed.values():
        for key, serial in seen.served.items():
            if serial is not None and (key not in highest or serial_gt(serial, highest[key])):
                highest[key] = serial
    today = build_date()
    bumped: dict[str, CompiledZone] = {}
    bumped_gone: dict[str, int] = {}
    for name, entry in build.servers.items():
        release = deploy.get("servers", {}).get(name, {}).get("release")
        target = targets[name]
        if release:
            files = release_files(target, release)
        else:
            files = read_tree(target, target.path, sorted(observed[name].installed))
        for relative, output in list(files.items()):
            zone = _zone_of(entry.files, relative)
            if zone is None:
                restored = _restore_removed(
                    build, targets, relative, output, highest, today, bumped_gone
                )
                if restored is not None:
                    files[relative] = restored
                continue
            key = zone_key(zone.view, zone.text_name)
            known = [s for s in (highest.get(key), build.state_serial(zone)) if s is not None]
            top = max(known, key=_serial_order(known)) if known else None
            new = bumped[key].serial if key in bumped else next_serial(top, today)
            text = with_serial(output.content, zone.origin, new)
            if text is None:
                continue
            digest = "rollback:" + hashlib.sha256(text).hexdigest()
            bumped[key] = replace(zone, serial=new, text=text, digest=digest)
            files[relative] = OutputFile(text, output.mode, zone=bumped[key])
        entry.files = files
    for entry in build.servers.values():
        for key, (served, _) in list(entry.zones.items()):
            if key in bumped:
                entry.zones[key] = (served, bumped[key])
    for zone in bumped.values():
        # The site's content gets a serial above the rollback's at the next deploy.
        build.state.pin(zone.zone.text, zone.view, zone.serial, zone.digest)
        build.compiled[(zone.view, zone.origin)] = zone
    return build


def _restore_removed(
    build: DeployBuild,
    targets: Mapping[str, Target],
    relative: str,
    output: OutputFile,
    highest: dict[str, int],
    today: int,
    bumped: dict[str, int],
) -> OutputFile | None:
    """A release's file of a zone the site no longer has, its serial above every serial
    the zone is known to have had (the release's own, the serial state's, any still
    served), so a secondary that kept a copy transfers it again; None for other files."""
    header = _GENERATED.match(output.content)
    if header is None:
        return None
    origin, view = header[1].decode(), header[2].decode()
    name = origin.rstrip(".")
    key = zone_key(view, name)
    if key not in bumped:
        known = [s for s in (highest.get(key), _serial_of(output.content, origin)) if s is not None]
        last = build.state.serials.get(name, {}).get(view)
        if last:
            known.append(int(last["serial"]))  # type: ignore[call-overload]
        known += [s for s in _served_anywhere(build, targets, key, origin) if s is not None]
        top = max(known, key=_serial_order(known)) if known else None
        bumped[key] = next_serial(top, today)
    text = with_serial(output.content, origin, bumped[key])
    if text is None:
        raise DeployError(
            f"zone {name} (view {view}): its file {relative} in the release cannot be read, "
            "so rollback cannot give it a serial above the served one"
        )
    build.state.pin(name, view, bumped[key], "rollback:" + hashlib.sha256(text).hexdigest())
    return OutputFile(text, output.mode)


#: The first line compile writes in a zone file (compile/zones.py): origin and view.
_GENERATED = re.compile(rb"; zone (\S+) \(view (.*)\), generated by zonesmith; do not edit\n")


def _read_zone(text: bytes, origin: str) -> tuple[dns.zone.Zone, dns.rdataset.Rdataset] | None:
    """A master file and its SOA RRset, or None if it cannot be read."""
    try:
        zone = dns.zone.from_text(
            text.decode(), origin=origin, relativize=False, check_origin=False
        )
        return zone, zone.find_rdataset(origin, dns.rdatatype.SOA)
    except (dns.exception.DNSException, UnicodeDecodeError, KeyError):
        return None


def _serial_of(text: bytes, origin: str) -> int | None:
    read = _read_zone(text, origin)
    return None if read is None else read[1][0].serial


def _served_anywhere(
    build: DeployBuild, targets: Mapping[str, Target], key: str, origin: str
) -> list[int | None]:
    """The zone's serial on each authoritative server of the site that still serves it,
    asked where a plan asks it (on the server's host when it has one)."""
    found = []
    for name, entry in build.servers.items():
        server = entry.server
        if server.role == "resolver":
            continue
        try:
            served, _ = serials_of(
                targets[name], server.address, server.port, [Question(key, origin)]
            )
        except DeployError:
            continue  # the plan made of the same observations reports that server
        found.append(served[key])
    return found


def _serial_order(serials: list[int]):
    def order(serial: int) -> int:
        return sum(1 for other in serials if serial_gt(serial, other))

    return order


def _zone_of(files: Mapping[str, OutputFile], relative: str) -> CompiledZone | None:
    output = files.get(relative)
    return output.zone if output is not None else None
