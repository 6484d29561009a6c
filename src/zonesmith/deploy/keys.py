"""The live DNSKEYs of the site's signed zones, read from their signers and checked."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Collection, Iterator, Mapping

import dns.dnssec
import dns.rdatatype

from zonesmith.compile.live_keys import KeyState
from zonesmith.deploy.axfr import ask_on_host
from zonesmith.deploy.build import DeployBuild, ServerFiles, zone_key
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.model import Server, Site, Zone

#: The key a deploy asks a server with in a view: (name, algorithm, secret), or None.
KeyFor = Callable[[Server, str], "tuple[str, str, str] | None"]


def signers_in(site: Site) -> Iterator[tuple[Zone, str, Server]]:
    """Each signed zone of the site in each view, with the primary that signs it there."""
    for zone in site.zones:
        if site.policy_of(zone) is None:
            continue
        for view in zone.views:
            for server in site.servers:
                if server.role == "primary" and site.serves(server, zone, view):
                    yield zone, view, server
                    break


def signers(build: DeployBuild) -> Iterator[tuple[Zone, str, ServerFiles]]:
    """:func:`signers_in` the build's site, with each signer's build."""
    for zone, view, server in signers_in(build.site):
        yield zone, view, build.servers[server.name]


def live_dnskeys(
    target: Target, server: Server, zone: Zone, tsig: tuple[str, str, str]
) -> list[dns.rdata.Rdata]:
    """The DNSKEY set ``server`` serves for ``zone`` (empty: no keys yet), asked on its
    host; a set that none of its own keys signs validly is a DeployError, never kept."""
    where = f"the DNSKEY question for {zone.text} to {target.where}"
    answer = ask_on_host(target, server.address, server.port, zone.text, tsig, "DNSKEY", where)
    keys = answer.get_rrset(zone.name, dns.rdatatype.DNSKEY)
    if keys is None:
        return []
    signatures = answer.get_rrset(zone.name, dns.rdatatype.RRSIG, dns.rdatatype.DNSKEY)
    try:
        if signatures is None:
            raise dns.dnssec.ValidationFailure("no RRSIG over it")
        dns.dnssec.validate(keys, signatures, {zone.name: keys})
    except dns.dnssec.ValidationFailure as why:
        raise DeployError(
            f"{server.name} serves a DNSKEY set for {zone.text} that none of its keys validly "
            f"signs ({why}); its keys are not taken for the parent's DS"
        ) from None
    return list(keys)


def read_live_keys(
    build: DeployBuild,
    targets: Mapping[str, Target],
    key_for: KeyFor,
    recorded: KeyState,
    asked: Callable[[str, str], bool],
) -> KeyState:
    """``recorded`` with the keys every signer serves now (``changed`` when they differ).

    Only signers ``asked(server, zone_key)`` says to ask are asked (those up and
    serving the zone); one not asked, or with no keys for a zone yet, keeps the
    recorded keys.
    """
    live = KeyState(recorded.path, copy.deepcopy(recorded.keys))
    for zone, view, entry in signers(build):
        server = entry.server
        if not asked(server.name, zone_key(view, zone.text)):
            continue
        tsig = key_for(server, view)
        if tsig is None:
            continue
        found = live_dnskeys(targets[server.name], server, zone, tsig)
        if found:
            live.record(zone.text, view, found)
    return live


def keys_after_apply(
    build: DeployBuild,
    targets: Mapping[str, Target],
    key_for: KeyFor,
    recorded: KeyState,
    down: Collection[str],
    timeout: float,
) -> KeyState:
    """The signers' keys once every signed zone of the build has some, or what they are
    after ``timeout`` seconds: a signer makes a new zone's keys just after it loads it.
    Servers in ``down`` (not running) are not asked."""
    deadline = time.monotonic() + timeout
    while True:
        live = read_live_keys(build, targets, key_for, recorded, lambda name, _: name not in down)
        missing = [
            (zone, view)
            for zone, view, entry in signers(build)
            if entry.server.name not in down and not live.dnskeys(zone.text, view)
        ]
        if not missing or time.monotonic() >= deadline:
            return live
        time.sleep(0.5)
