"""NSD 4.6: nsd.conf, zone files, TSIG keys; nsd-checkconf and nsd-checkzone.

Files written to OUT/<server>/:

- ``nsd.conf``: the server clause (listen address and port, pid file,
  xfrd state, zone list and transfer folder under the server's ``path``;
  version and identity hidden, ANY refused, response rate limiting), remote
  control on a unix socket ``nsd.sock``, then one ``zone:`` clause per zone;
- ``keys.conf`` (mode 0600): the TSIG keys, included by nsd.conf, so the
  secrets live in one file that nothing else shows;
- ``zones/<zone>.zone``: the zones this server is primary for (and the
  catalog zone of a catalog producer, an ordinary zone to NSD);
- ``secondary/``: where NSD writes the zones it transfers;
- ``state/``: xfrd's state file, the zone list and transfers in progress.

NSD has no views and cannot consume catalog zones: a secondary gets an
explicit ``zone:`` clause for every zone, catalog members included.

Every transfer and NOTIFY leaves from the server's own address
(``outgoing-interface``): on a multi-homed host, or on loopback, the kernel
would otherwise pick another source, and peers accept transfers and NOTIFY
only from the addresses they were told about.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from zonesmith.compile.fleet import Secret, ServedZone, ServerBuild, Transfer
from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.drivers import (
    Capabilities,
    Driver,
    OutputFile,
    check_copy,
    find_tool,
    flat_zone_file,
    flat_zone_files,
    quoted,
    run_tool,
    runs_from_temporary_folder,
)
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import (
    LOOPBACK,
    ServerChange,
    command,
    deploy_key,
    expected_serial,
    file_keys,
    loads_from_file,
    server_path,
    zone_label,
)

#: Responses per second to one client netblock before RRL drops or slips
#: (the same budget as the BIND servers of the fleet).
RATE_LIMIT = 20

# "/path/nsd.conf:12: error: message" or "/path/nsd.conf:17: at 'x': error: syntax error"
_FILE_LINE = re.compile(
    r"^(?P<file>[^:\s]+):(?P<line>\d+): (?:at (?P<at>'[^']*'): )?(?:error: )?(?P<message>.*)$"
)
# "read /path/nsd.conf failed: 1 errors in configuration file": a summary.
_CONF_SUMMARY = re.compile(r"^read \S+ failed: \d+ errors? in configuration file$")
# "[2026-01-01 10:00:00.000] nsd-checkzone[123]: error: " before each message.
_CHECKZONE_PREFIX = re.compile(r"^\[[^\]]*\] nsd-checkzone\[\d+\]: (?:error: |warning: )?")
# "zone example.com file /path/x.zone has 1 errors": a summary.
_ZONE_SUMMARY = re.compile(r"^zone \S+ (?:file \S+ has \d+ errors?|is ok)$")


def quote(text: str) -> str:
    """An nsd.conf string value: every name, path and secret in nsd.conf goes through here."""
    return quoted(text, "NSD", escapes=False)


def _key(transfer: Transfer) -> str:
    return quote(transfer.key.name) if transfer.key is not None else "NOKEY"


def _privileges(runs_from_build: bool) -> list[str]:
    """Who NSD runs as after binding its sockets.

    In production NSD is started as root (by its systemd unit, which hides
    /tmp) and drops to its compiled-in user (``nsd``): the ``username``
    option is left at that default, and the folders NSD writes into
    (``secondary/``, ``state/``) must belong to that user once deployed.

    A server whose ``path`` is under a temporary folder runs straight from
    a build (``preview``, the tests): it is started by the person or test
    that built it, often as root, from a private folder (pytest's are
    0700) that the ``nsd`` user can neither enter nor write to; and started
    as an ordinary user, NSD cannot change user at all. It then keeps the
    identity it was started with (``username: ""``), as named and knotd do
    when they are not told to switch.
    """
    if runs_from_build:
        return [
            "    # Run from a build in a temporary folder (a preview or a test):",
            "    # keep the identity NSD is started with.",
            '    username: ""',
        ]
    return ["    # Drops to NSD's own user (nsd) after binding port 53."]


def _listen(build: ServerBuild) -> list[str]:
    server = build.server
    return [f"    ip-address: {server.address}@{server.port}"]


def _zone_clause(build: ServerBuild, zone: ServedZone, path: str) -> list[str]:
    server = build.server
    lines = [
        "zone:",
        f"    name: {quote(zone.text_name)}",
        f"    zonefile: {quote(f'{path}/{flat_zone_file(zone)}')}",
    ]
    if zone.data is None:
        for t in zone.primaries:
            # NSD keeps no IXFR history unless told to (store-ixfr), and its
            # manual has NSD secondaries of NSD primaries request AXFR only.
            mode = "AXFR " if t.primary.software == "nsd" else ""
            lines.append(f"    request-xfr: {mode}{t.primary.address}@{t.primary.port} {_key(t)}")
        # NOTIFY is accepted from this zone's primaries only (from any source port).
        for address, key in sorted({(t.primary.address, _key(t)) for t in zone.primaries}):
            lines.append(f"    allow-notify: {address} {key}")
    for address, key in sorted({(t.secondary.address, _key(t)) for t in zone.secondaries}):
        lines.append(f"    provide-xfr: {address} {key}")
    deploy = deploy_key(build)
    if zone.data is not None and deploy is not None:
        # A deploy verifies the zone by AXFR from this host, with its own key.
        lines += [f"    provide-xfr: {address} {quote(deploy.name)}" for address in LOOPBACK]
    for t in zone.secondaries:
        lines.append(f"    notify: {t.secondary.address}@{t.secondary.port} {_key(t)}")
    if zone.primaries or zone.secondaries:
        # Transfers requested and NOTIFY sent leave from the server's own address.
        lines.append(f"    outgoing-interface: {server.address}")
    return lines


def render_nsd_conf(build: ServerBuild, path: str, runs_from_build: bool) -> str:
    lines = [
        f"# nsd.conf of server {build.server.name}, generated by zonesmith; do not edit.",
        "",
        "server:",
        *_listen(build),
        *_privileges(runs_from_build),
        f"    zonesdir: {quote(path)}",
        f"    pidfile: {quote(path + '/nsd.pid')}",
        # No database: zones are read from their files and transfers kept in
        # memory, then written to the zone files of secondary/.
        '    database: ""',
        f"    zonelistfile: {quote(path + '/state/zone.list')}",
        f"    xfrdfile: {quote(path + '/state/xfrd.state')}",
        f"    xfrdir: {quote(path + '/state')}",
        "    zonefiles-write: 3600",
        # An authoritative server answers for its zones only (NSD never
        # recurses), says nothing about itself, and refuses ANY.
        "    hide-version: yes",
        "    hide-identity: yes",
        "    refuse-any: yes",
        "    drop-updates: yes",
        f"    rrl-ratelimit: {RATE_LIMIT}",
        "    rrl-slip: 2",
        "    verbosity: 1",
        "",
        # nsd-control over a unix socket: no certificates, access by file mode.
        "remote-control:",
        "    control-enable: yes",
        f"    control-interface: {quote(path + '/nsd.sock')}",
        "",
    ]
    if file_keys(build):
        lines += [f"include: {quote(path + '/keys.conf')}", ""]
    for _, zones in build.views[:1]:
        for zone in zones:
            lines += _zone_clause(build, zone, path)
            lines.append("")
    return "\n".join(lines)


def render_keys(keys: tuple[Secret, ...]) -> str:
    return "".join(
        f"key:\n    name: {quote(k.name)}\n    algorithm: {k.key.algorithm}\n"
        f"    secret: {quote(k.secret)}\n"
        for k in keys
    )


class NsdDriver(Driver):
    software = "nsd"
    config_name = "nsd.conf"
    checkers = ("nsd-checkconf", "nsd-checkzone")
    capabilities = Capabilities(
        roles=frozenset({"primary", "secondary"}),
        views=False,
        # A catalog zone is an ordinary zone to the server that produces it.
        catalog_producer=True,
        catalog_consumer=False,
        dnssec=False,
        rrl=True,
    )

    def render(self, build: ServerBuild, path: str) -> dict[str, OutputFile]:
        path = path.rstrip("/") or "/"
        files = {
            self.config_name: OutputFile(
                render_nsd_conf(build, path, runs_from_temporary_folder(build.server.path)).encode()
            ),
            "state/": OutputFile(b"", 0o755),
        }
        files.update(flat_zone_files(build, render_keys, file_keys(build)))
        return files

    def check(self, build: ServerBuild, staged: Path, display: str) -> list[Diagnostic]:
        checkconf = find_tool("nsd-checkconf")
        if checkconf is None:
            return []
        config_display = f"{display}/{self.config_name}"
        run = check_copy(
            self.config_name,
            render_nsd_conf(build, str(staged), runs_from_temporary_folder(build.server.path)),
            lambda conf: [checkconf, conf],
            staged,
            display,
            build,
        )
        if run.returncode != 0:
            found = []
            for line in run.output.splitlines():
                line = line.strip()
                if not line or _CONF_SUMMARY.match(line):
                    continue
                position = Position(config_display)
                if match := _FILE_LINE.match(line):
                    position = Position(match["file"], int(match["line"]), 1)
                    line = match["message"] + (f" (at {match['at']})" if match["at"] else "")
                found.append(error(position, "nsd-checkconf", line))
            return found or [
                error(Position(config_display), "nsd-checkconf", "nsd-checkconf failed")
            ]
        checkzone = find_tool("nsd-checkzone")
        if checkzone is None:
            return []
        diagnostics: list[Diagnostic] = []
        for zone in build.zones:
            if zone.data is None:
                continue
            relative = flat_zone_file(zone)
            run = run_tool([checkzone, zone.text_name, str(staged / relative)])
            if run.returncode == 0:
                continue
            file_display = f"{display}/{relative}"
            found = []
            for line in run.output.splitlines():
                line = _CHECKZONE_PREFIX.sub("", line.strip())
                if not line or _ZONE_SUMMARY.match(line):
                    continue
                position = Position(file_display)
                if match := _FILE_LINE.match(line):
                    position = Position(file_display, int(match["line"]), 1)
                    line = match["message"]
                found.append(error(position, "nsd-checkzone", line.replace(str(staged), display)))
            diagnostics += found or [
                error(Position(file_display), "nsd-checkzone", "nsd-checkzone failed")
            ]
        return diagnostics

    # -- a deploy --------------------------------------------------------------

    def render_check_config(self, build: ServerBuild, staged: str) -> bytes:
        runs_from_build = runs_from_temporary_folder(build.server.path)
        return render_nsd_conf(build, staged.rstrip("/"), runs_from_build).encode()

    def check_command(self, build: ServerBuild, staged: str) -> Command:
        """nsd-checkconf, then nsd-checkzone on every zone file: NSD answers a reload
        of a zone whose file is broken by serving the zone empty."""
        staged = staged.rstrip("/")
        zones = [
            item
            for zone in build.zones
            if zone.data is not None
            for item in (zone.text_name, f"{staged}/{flat_zone_file(zone)}")
        ]
        return command(
            ["sh", "-c", _CHECK_SCRIPT, "nsd-check", f"{staged}/{self.config_name}.check", *zones],
            "nsd-checkconf and nsd-checkzone: the staged files",
            timeout=600,
        )

    def reload_commands(self, build: ServerBuild, change: ServerChange) -> list[Command]:
        """nsd-control, one zone at a time, each reload followed by a wait for its serial.

        ``nsd-control reload ZONE`` answers "ok" as soon as the reload is asked
        for, and a zone file that fails to load leaves the zone empty: so the
        checker runs on every zone file first (see check_command), and each
        reload is followed by asking the server for the zone's SOA (dig or kdig
        on its host) until it serves the new serial. NSD 4.6 has no catalog
        zones: a new zone reaches it through nsd.conf and ``nsd-control
        reconfig`` (which also applies keys; it rereads no zone file). Options
        besides zones and keys take ``reconfig`` too, and what it cannot apply
        (listen addresses) takes a restart (see needs_restart). A secondary's
        zones come by transfer after NOTIFY.
        """
        if change.empty:
            return []
        commands = []
        if change.zone_list_changed or change.config_changed or change.options_changed:
            commands.append(_nsd_control(build, "reconfig", why="reconfig: new zone list and keys"))
        for view, name in change.zones_changed + change.zones_added:
            if (view, name) in change.zones_removed or not loads_from_file(build, view, name):
                continue
            serial = expected_serial(build, view, name)
            label = zone_label(build, view, name)
            commands.append(
                _nsd_control(build, "reload", name.rstrip("."), why=f"reload zone {label}")
            )
            if serial is not None:
                commands.append(_wait_for_serial(build, name.rstrip("."), serial, label))
        return commands

    def zone_state_command(self, build: ServerBuild, view: str, name: str) -> Command | None:
        label = zone_label(build, view, name)
        return _nsd_control(build, "zonestatus", name.rstrip("."), why=f"state of zone {label}")

    def last_refresh(self, output: str, expire: int, now: datetime) -> datetime | None:
        """nsd-control zonestatus's ``served-serial: "N since 2026-12-05T20:50:01"`` (the
        host's local time): when NSD last had the served serial confirmed by a primary."""
        found = re.search(r'served-serial: "\d+ since (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)"', output)
        if found is None:
            return None
        return datetime.fromisoformat(found[1]).astimezone(now.tzinfo)


#: nsd-checkconf CONF, then nsd-checkzone ZONE FILE for each pair that follows.
_CHECK_SCRIPT = """nsd-checkconf "$1" || exit 1
shift
while [ "$#" -gt 1 ]; do
    nsd-checkzone "$1" "$2" >/dev/null || exit 1
    shift 2
done
"""

#: Ask the server for ZONE's SOA at ADDRESS PORT until it serves SERIAL, TRIES times at most,
#: 0.2 s apart. Over DNS: NSD 4.6's ``zonestatus`` shows no serial for a zone it loads from
#: a file (only "state: master"), so the served SOA is the one sign that a reload ended.
_WAIT_SCRIPT = """\
address=$1 port=$2 zone=$3 serial=$4 tries=$5
if command -v dig >/dev/null 2>&1; then ask=dig
elif command -v kdig >/dev/null 2>&1; then ask=kdig
else
    echo "zone $zone: neither dig nor kdig is installed here to see the serial NSD serves" >&2
    exit 1
fi
while :; do
    seen=$("$ask" +short +norec +time=1 +retry=0 -p "$port" "@$address" "$zone" SOA \\
        2>/dev/null | awk '{ print $3; exit }')
    [ "$seen" = "$serial" ] && exit 0
    tries=$((tries - 1))
    if [ "$tries" -le 0 ]; then
        echo "zone $zone: NSD serves serial ${seen:-none}, not $serial, after the reload" >&2
        exit 1
    fi
    sleep 0.2
done
"""

#: Seconds a reload of one zone may take before the deploy says NSD did not take it.
RELOAD_WAIT = 30


def _nsd_control(build: ServerBuild, *arguments: str, why: str) -> Command:
    conf = f"{server_path(build)}/nsd.conf"
    return command(["nsd-control", "-c", conf, *arguments], why)


def _wait_for_serial(build: ServerBuild, zone: str, serial: int, label: str) -> Command:
    server = build.server
    return command(
        [
            "sh",
            "-c",
            _WAIT_SCRIPT,
            "nsd-wait",
            server.address,
            str(server.port),
            zone,
            str(serial),
            str(RELOAD_WAIT * 5),
        ],
        f"wait until NSD serves zone {label} at serial {serial}",
        timeout=RELOAD_WAIT + 10,
    )
