"""Control channels: what a deploy tells a running server, shared by every driver.

Each server built gets a control channel that only its own machine can reach,
on settings that never collide when several servers run on one machine: BIND
an rndc channel on 127.0.0.1 with a key of its own (port ``control-port``),
Knot, NSD and Unbound a unix socket under the server's ``path``. The drivers
say which commands reload what (``Driver.reload_commands``); a deploy runs
them on the server's host after swapping the files in.
"""

from __future__ import annotations

from dataclasses import dataclass

from zonesmith.compile.fleet import Secret, ServedZone, ServerBuild
from zonesmith.drivers.command import Command
from zonesmith.model import DEFAULT_CONTROL_PORT, OWN_KEY_PREFIX, Server, TsigKey

#: The name of the key of BIND's control channel, in keys.conf and rndc.conf,
#: and of every primary's deploy key (the same secret).
CONTROL_KEY = f"{OWN_KEY_PREFIX}control"  # no key of the site may take it (see OWN_KEY_PREFIX)
#: Its algorithm.
CONTROL_ALGORITHM = "hmac-sha256"
#: Where a deploy's own zone transfers come from: the primary's host, by loopback.
LOOPBACK = ("127.0.0.1", "::1")


def deploy_key(build: ServerBuild) -> Secret | None:
    """The key a deploy transfers a primary's zones with, from its own host only.

    None for a server that is no primary: nobody needs its zones by transfer.
    """
    if build.server.role != "primary" or build.control_secret is None:
        return None
    key = TsigKey(CONTROL_KEY, CONTROL_ALGORITHM, None, None, build.server.position)
    return Secret(key, build.control_secret)


def file_keys(build: ServerBuild) -> tuple[Secret, ...]:
    """The keys of the server's keys.conf: its TSIG keys and, on a primary, its deploy key."""
    deploy = deploy_key(build)
    return build.keys + ((deploy,) if deploy is not None else ())


def control_port(server: Server) -> int:
    """The port of a BIND server's control channel on 127.0.0.1."""
    return server.control_port or DEFAULT_CONTROL_PORT


def server_path(build: ServerBuild) -> str:
    """Where the server's files live on its host, as its configuration names them."""
    return build.server.path.rstrip("/") or "/"


@dataclass(frozen=True)
class ServerChange:
    """What a deploy changes on one server; a plan fills it from the two file trees.

    Zones are ``(view, zone name)``; the name as the site writes it, with or
    without the final dot. Without views the view is the site's implicit one.
    """

    #: Zones whose content changed (their file).
    zones_changed: tuple[tuple[str, str], ...] = ()
    #: Zones the server serves from now on.
    zones_added: tuple[tuple[str, str], ...] = ()
    #: Zones the server no longer serves.
    zones_removed: tuple[tuple[str, str], ...] = ()
    #: Any file that is not a zone's changed (configuration, keys, lists).
    config_changed: bool = False
    #: The main configuration changed beyond its list of zones.
    options_changed: bool = False

    @property
    def zone_list_changed(self) -> bool:
        return bool(self.zones_added or self.zones_removed)

    @property
    def empty(self) -> bool:
        changed = self.zones_changed or self.zone_list_changed
        return not (changed or self.config_changed or self.options_changed)


def served_zone(build: ServerBuild, view: str, name: str) -> ServedZone | None:
    """The zone ``name`` as the server serves it in ``view`` (any view without views)."""
    wanted = name.rstrip(".").lower()
    for zone in [*build.zones, *build.catalogs]:
        if zone.text_name.rstrip(".").lower() == wanted and (
            not build.uses_views or zone.view == view
        ):
            return zone
    return None


def loads_from_file(build: ServerBuild, view: str, name: str) -> bool:
    """Whether the server loads this zone from a file zonesmith wrote (a primary's zone).

    A secondary's zones come by transfer after NOTIFY: no reload brings them;
    nor does one bring a zone the server no longer serves.
    """
    zone = served_zone(build, view, name)
    return zone is not None and zone.data is not None


def expected_serial(build: ServerBuild, view: str, name: str) -> int | None:
    """The serial of the zone as built, for a server that loads it from a file."""
    zone = served_zone(build, view, name)
    return zone.data.serial if zone is not None and zone.data is not None else None


def zone_label(build: ServerBuild, view: str, name: str) -> str:
    """How a plan names a zone: "example.com" or "example.com (view external)"."""
    shown = name.rstrip(".") or "."
    return f"{shown} (view {view})" if build.uses_views else shown


def restart_reason(old: ServerBuild | None, new: ServerBuild) -> str | None:
    """Why a running server must be restarted to take ``new``: what no reload changes.

    None for a first install (the server is started, not restarted) and when a
    reload does it all.
    """
    if old is None:
        return None
    before, after = old.server, new.server
    if (before.address, before.port) != (after.address, after.port):
        return (
            f"it listens on {after.address} port {after.port} now "
            f"(was {before.address} port {before.port}); a reload keeps the old sockets"
        )
    if before.path.rstrip("/") != after.path.rstrip("/"):
        return f"its files move to {after.path} (its control channel lives there)"
    if before.software != after.software:
        return f"its software changes from {before.software} to {after.software}"
    return None


def command(argv: list[str] | tuple[str, ...], why: str, timeout: float = 60) -> Command:
    return Command(tuple(argv), why, timeout)
