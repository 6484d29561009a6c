"""Knot DNS 3.2: knot.conf, zone files, TSIG keys, catalog consumers; knotc conf-check.

Files written to OUT/<server>/:

- ``knot.conf``: server (listen address and port, run folder with the pid
  file, identity, version and NSID hidden), the control socket
  ``knot.sock`` (so ``knotc -c knot.conf reload`` works), the databases
  under the server's ``path``, response rate limiting (``mod-rrl`` as a
  global module), then remotes, ACLs, templates and zones;
- ``keys.conf`` (mode 0600): the TSIG keys, included by knot.conf before
  anything refers to them, so the secrets live in one file that nothing
  else shows;
- ``zones/<zone>.zone``: the zones this server is primary for (and the
  catalog zone of a catalog producer, an ordinary zone to Knot);
- ``secondary/``: where Knot writes the zones it transfers, catalog
  members included;
- ``journal/``, ``timers/``, ``kasp/``, ``catalog/``: Knot's databases;
  ``kasp/`` holds the keys of the zones this primary signs (a ``policy``
  per site policy, ``dnssec-signing: on``): made, never filled, so no build
  or deploy deletes or replaces the keys (see zonesmith.drivers.bind);
  ``journal/`` holds, besides a secondary's history, the whole signed zone
  of each zone this primary signs (see ``SIGNED_ZONE``): restarts keep its
  serial, so it must be backed up and restored with ``kasp/``.

Access is explicit: ``automatic-acl`` is off, a zone allows transfers only
to its declared secondaries (address and key) and NOTIFY only from its
primaries (address and key). Every remote is contacted from the server's
own address (``via``): on a multi-homed host, or on loopback, the kernel
would otherwise pick another source, and peers accept transfers and NOTIFY
only from the addresses they were told about.

A catalog consumer follows each catalog zone of ``build.catalogs``
(``catalog-role: interpret``); its members are configured from a template
that transfers them from the catalog's primaries with the same key and
accepts their NOTIFY, so zones that reach this server through a catalog
get no ``zone`` entry of their own.

knot.conf sets no ``user``: like named, knotd runs as whoever starts it
(the tests and ``preview`` start it from the build; Debian's systemd unit
starts it as ``knot``, which must then be able to read keys.conf and own
the folders Knot writes: the path itself, for the pid file and the control
socket, ``secondary/`` and the databases).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
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
    redact,
    run_tool,
)
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import (
    LOOPBACK,
    ServerChange,
    command,
    deploy_key,
    file_keys,
    loads_from_file,
    served_zone,
    server_path,
    zone_label,
)
from zonesmith.model import DnssecPolicy, Server

#: Responses per second to one client netblock before RRL drops or slips
#: (the same budget as the BIND servers of the fleet).
RATE_LIMIT = 20

#: The folders of Knot's databases under the server's path.
DATABASES = {"journal-db": "journal", "timer-db": "timers", "kasp-db": "kasp"}
CATALOG_DB = "catalog"

#: The items of a zone this primary signs. Without a journal of the zone's
#: content, Knot serves the zone file's serial at each load (every reload and
#: restart), even below the serial a re-signing raised it to, and secondaries
#: that hold the higher serial keep their copy until its signatures expire.
#: With the whole signed zone in the journal (``journal-content: all``, in
#: ``journal/`` under the server's path) Knot starts from the journal and
#: applies only the difference between it and the zone file
#: (``zonefile-load: difference``), so (Knot 3.2):
#:
#: - a restart, and a reload of an unchanged zone file (``zone-reload``, with
#:   or without ``-f``), serve the signed serial served before, not re-signed;
#: - a changed zone file is taken and signed; it is served with its own serial
#:   when that is above the one served, with the served serial plus one when
#:   equal (a zone loaded whole, with nothing in the journal, is served with
#:   the file's serial plus one: the signing is a change of its own);
#: - a signed zone switched to these items (from ``journal-content: none``)
#:   is loaded anew from its zone file once, the journal holding nothing yet;
#: - a changed zone file whose serial is below the one served is refused
#:   ("zone file changed with decreased SOA serial"): the zone stays as it was,
#:   which a deploy never asks for, since it puts a new build's serial above
#:   the served one (``difference-no-serial`` would take it, but would serve
#:   the signer's serial plus one instead of the build's, which verify waits for);
#: - the journal outlives the zone's removal from knot.conf: a zone added back
#:   would start from it, so a deploy that adds a signed zone purges it first.
#:
#: The zone file stays the unsigned source the deploy installed
#: (``zonefile-sync: -1``), so drift is still found by comparing it.
SIGNED_ZONE = (
    "    journal-content: all",
    "    zonefile-load: difference",
    "    dnssec-signing: on",
)

# "error: config, file '/path/knot.conf', line 12, item 'x', value 'y' (message)"
_CONF_ERROR = re.compile(
    r"^(?:error: )?config, file '(?P<file>[^']*)', line (?P<line>\d+)(?P<rest>.*)$"
)
# "error: failed to load configuration file 'x' (reason)": a summary.
_CONF_SUMMARY = re.compile(r"^(?:error: )?failed to load configuration file ")
# "item 'secret', value '...'": never shown.
_SECRET_VALUE = re.compile(r"(item 'secret', value ')[^']*'")
# "..., line 12, ..." in kzonecheck's messages.
_LINE_NUMBER = re.compile(r"\bline (\d+)\b")
# "error: [example.com.] ..." or "warning: ..." prefixes
_SEVERITY = re.compile(r"^(?:error|warning|critical): ")


def quote(text: str) -> str:
    """A knot.conf string value: every name, id, path and secret in knot.conf goes through here."""
    return quoted(text, "Knot", escapes=True)


def _domain(zone: ServedZone) -> str:
    return quote(zone.zone.origin)


def _address(server: Server) -> str:
    return f"{server.address}@{server.port}"


def _list(ids: list[str]) -> str:
    """One id, or a list of them, quoted."""
    items = [quote(item) for item in ids]
    return items[0] if len(items) == 1 else "[" + ", ".join(items) + "]"


Ref = tuple[str, str | None]  # a server's name and the name of the key it is reached with
#: The ACL admitting a deploy's transfers (no server's ACL id starts so).
DEPLOY_ACL = "zonesmith-deploy"


def _ref(server: Server, transfer: Transfer) -> Ref:
    return (server.name, transfer.key.name if transfer.key else None)


class _Peers:
    """The remote and ACL entries of every transfer, named after the servers.

    A remote is one server reached with one key; its id is the server's
    name, with the key's name added when the same server is reached with
    several keys. Every transfer is known before any id is handed out, so
    that ids do not change half-way through the file.
    """

    def __init__(self, build: ServerBuild, pulls: list[Transfer], pushes: list[Transfer]):
        self.own = build.server.address
        self.deploy = deploy_key(build)
        self.remotes: dict[Ref, Server] = {}
        self.acls: dict[tuple[str, Ref], Server] = {}
        for t in pulls:  # from a primary: its NOTIFY is allowed
            self.remotes[_ref(t.primary, t)] = t.primary
            self.acls[("notify", _ref(t.primary, t))] = t.primary
        for t in pushes:  # to a secondary: its transfers are allowed
            self.remotes[_ref(t.secondary, t)] = t.secondary
            self.acls[("transfer", _ref(t.secondary, t))] = t.secondary

    def remote_id(self, ref: Ref) -> str:
        name, key = ref
        keys = {k for n, k in self.remotes if n == name}
        return name if len(keys) == 1 else f"{name}-{key or 'nokey'}"

    def acl_id(self, action: str, ref: Ref) -> str:
        return f"{action}-{self.remote_id(ref)}"

    def items(
        self, primaries: tuple[Transfer, ...], secondaries: list[Transfer], deploy: bool = False
    ) -> list[str]:
        """The master / notify / acl items of a zone or template (``deploy``: a
        zone of its own that a deploy transfers from this host)."""
        masters = list(dict.fromkeys(_ref(t.primary, t) for t in primaries))
        notified = list(dict.fromkeys(_ref(t.secondary, t) for t in secondaries))
        acls = [self.acl_id("notify", r) for r in masters]
        acls += [self.acl_id("transfer", r) for r in notified]
        if deploy and self.deploy is not None:
            acls.append(DEPLOY_ACL)
        lines = []
        if masters:
            lines.append(f"    master: {_list([self.remote_id(r) for r in masters])}")
        if notified:
            lines.append(f"    notify: {_list([self.remote_id(r) for r in notified])}")
        if acls:
            lines.append(f"    acl: {_list(acls)}")
        return lines

    def render(self) -> list[str]:
        lines: list[str] = []
        if self.remotes:
            lines.append("remote:")
            for ref, server in sorted(self.remotes.items(), key=lambda i: self.remote_id(i[0])):
                lines += [
                    f"  - id: {quote(self.remote_id(ref))}",
                    f"    address: {_address(server)}",
                    f"    via: {self.own}",
                ]
                if ref[1] is not None:
                    lines.append(f"    key: {quote(ref[1])}")
            lines.append("")
        acl: list[str] = []
        for (action, ref), server in sorted(self.acls.items(), key=lambda i: self.acl_id(*i[0])):
            acl += [f"  - id: {quote(self.acl_id(action, ref))}", f"    address: {server.address}"]
            if ref[1] is not None:
                acl.append(f"    key: {quote(ref[1])}")
            acl.append(f"    action: {action}")
        if self.deploy is not None:
            # A deploy verifies this primary's zones by AXFR from its own host.
            acl += [
                f"  - id: {quote(DEPLOY_ACL)}",
                f"    address: [{', '.join(LOOPBACK)}]",
                f"    key: {quote(self.deploy.name)}",
                "    action: transfer",
            ]
        if acl:
            lines += ["acl:", *acl, ""]
        return lines


def _catalog_template(catalog: ServedZone) -> str:
    return f"catalog-{catalog.file_stem}"


def _onward(zones: list[ServedZone], catalog: ServedZone) -> list[Transfer]:
    """The secondaries this server has for the members of ``catalog``.

    Members share one template, so it notifies, and allows transfers to,
    the secondaries of any of them.
    """
    primaries = {t.primary.name for t in catalog.primaries}
    onward: dict[Ref, Transfer] = {}
    for zone in zones:
        if zone.via_catalog and {t.primary.name for t in zone.primaries} & primaries:
            for t in zone.secondaries:
                onward.setdefault(_ref(t.secondary, t), t)
    return [onward[ref] for ref in sorted(onward, key=str)]


def render_knot_conf(build: ServerBuild, path: str) -> str:
    server = build.server
    zones = [zone for _, served in build.views[:1] for zone in served]
    explicit = [zone for zone in zones if not zone.via_catalog]
    onward = {catalog.name: _onward(zones, catalog) for catalog in build.catalogs}
    peers = _Peers(
        build,
        [t for zone in explicit + list(build.catalogs) for t in zone.primaries],
        [t for zone in explicit for t in zone.secondaries]
        + [t for transfers in onward.values() for t in transfers],
    )
    zone_lines: list[str] = []
    policies: dict[str, DnssecPolicy] = {}
    for zone in explicit:
        zone_lines += [
            f"  - domain: {_domain(zone)}",
            f"    file: {quote(f'{path}/{flat_zone_file(zone)}')}",
            *peers.items(zone.primaries, list(zone.secondaries), zone.data is not None),
        ]
        if zone.data is not None:
            # The generated file is the truth: never written back.
            zone_lines.append("    zonefile-sync: -1")
            policy = _policy(build, zone)
            if policy is None:
                zone_lines.append("    journal-content: none")
            else:
                policies[policy.name] = policy
                zone_lines += [*SIGNED_ZONE, f"    dnssec-policy: {quote(policy.name)}"]
    for catalog in build.catalogs:
        zone_lines += [
            f"  - domain: {_domain(catalog)}",
            f"    file: {quote(f'{path}/{flat_zone_file(catalog)}')}",
            *peers.items(catalog.primaries, []),
            "    catalog-role: interpret",
            f"    catalog-template: {quote(_catalog_template(catalog))}",
        ]
    template_lines = [
        "template:",
        "  - id: default",
        f"    storage: {quote(path)}",
        "    global-module: mod-rrl/default",
    ]
    for catalog in build.catalogs:
        # Members come from the catalog's primaries, with the same key, and
        # their NOTIFY is accepted from there.
        template_lines += [
            f"  - id: {quote(_catalog_template(catalog))}",
            f"    storage: {quote(path)}",
            f"    file: {quote(path + '/secondary/%s.zone')}",
            *peers.items(catalog.primaries, onward[catalog.name]),
        ]

    lines = [f"# knot.conf of server {server.name}, generated by zonesmith; do not edit.", ""]
    if file_keys(build):
        lines += [f"include: {quote(path + '/keys.conf')}", ""]
    lines += [
        "server:",
        f"    rundir: {quote(path)}",
        f"    pidfile: {quote(path + '/knot.pid')}",
        f"    listen: {_address(server)}",
        # An authoritative server answers for its zones only (Knot never
        # recurses) and says nothing about itself.
        '    identity: ""',
        '    version: ""',
        '    nsid: ""',
        # Transfers and NOTIFY are allowed by the explicit ACLs below only.
        "    automatic-acl: off",
        "",
        "control:",
        f"    listen: {quote(path + '/knot.sock')}",
        "",
        "database:",
        f"    storage: {quote(path)}",
        *(f"    {item}: {quote(f'{path}/{folder}')}" for item, folder in DATABASES.items()),
        f"    catalog-db: {quote(f'{path}/{CATALOG_DB}')}",
        "",
        "mod-rrl:",
        "  - id: default",
        f"    rate-limit: {RATE_LIMIT}",
        "    slip: 2",
        "",
    ]
    lines += peers.render()
    lines += _policies(policies)
    lines += template_lines + [""]
    if zone_lines:
        lines += ["zone:", *zone_lines, ""]
    return "\n".join(lines)


def _policy(build: ServerBuild, zone: ServedZone) -> DnssecPolicy | None:
    """The policy this server signs ``zone`` with (a zone it loads from its file), or None."""
    if zone.data is None or zone.is_catalog:
        return None
    return build.site.policy_of(zone.zone)


def _policies(policies: dict[str, DnssecPolicy]) -> list[str]:
    """The ``policy`` section: one per site policy a zone of this server is signed with."""
    if not policies:
        return []
    lines = ["policy:"]
    for name in sorted(policies):
        policy = policies[name]
        csk = policy.keys == "csk"
        ksk = policy.csk_lifetime if csk else policy.ksk_lifetime
        zsk = policy.csk_lifetime if csk else policy.zsk_lifetime
        lines += [
            f"  - id: {quote(policy.name)}",
            f"    algorithm: {policy.algorithm.lower()}",
            f"    single-type-signing: {'on' if csk else 'off'}",
            # 0 is Knot's "never roll" (its own default rolls a ZSK every 30 days).
            f"    ksk-lifetime: {ksk or 0}",
            f"    zsk-lifetime: {zsk or 0}",
            f"    rrsig-lifetime: {policy.signature_validity}",
            f"    rrsig-refresh: {policy.signature_refresh}",
            f"    cds-cdnskey-publish: {'always' if policy.ds == 'cds' else 'none'}",
        ]
        if policy.nsec == "nsec3":
            lines += [
                "    nsec3: on",
                f"    nsec3-iterations: {policy.nsec3_iterations}",
                f"    nsec3-salt-length: {len(policy.nsec3_salt) // 2}",
                f"    nsec3-opt-out: {'on' if policy.nsec3_opt_out else 'off'}",
            ]
    return [*lines, ""]


def render_keys(keys: tuple[Secret, ...]) -> str:
    if not keys:
        return ""
    return "key:\n" + "".join(
        f"  - id: {quote(k.name)}\n    algorithm: {k.key.algorithm}\n"
        f"    secret: {quote(k.secret)}\n"
        for k in keys
    )


def _redact(text: str, build: ServerBuild) -> str:
    """The checker's output without any secret: knotc quotes the values it rejects."""
    return _SECRET_VALUE.sub(r"\1(secret)'", redact(text, build))


class KnotDriver(Driver):
    software = "knot"
    config_name = "knot.conf"
    checkers = ("knotc", "kzonecheck")
    capabilities = Capabilities(
        roles=frozenset({"primary", "secondary"}),
        views=False,
        # A catalog zone is an ordinary zone to the server that produces it.
        catalog_producer=True,
        catalog_consumer=True,
        dnssec=True,  # signs as a primary (a policy section, dnssec-signing)
        rrl=True,
    )

    def render(self, build: ServerBuild, path: str) -> dict[str, OutputFile]:
        path = path.rstrip("/") or "/"
        files = {self.config_name: OutputFile(render_knot_conf(build, path).encode())}
        for folder in DATABASES.values():
            files[folder + "/"] = OutputFile(b"", 0o755)
        files.update(flat_zone_files(build, render_keys, file_keys(build)))
        if build.catalogs:
            files["secondary/"] = OutputFile(b"", 0o755)
            files[CATALOG_DB + "/"] = OutputFile(b"", 0o755)
        return files

    def check(self, build: ServerBuild, staged: Path, display: str) -> list[Diagnostic]:
        knotc = find_tool("knotc")
        if knotc is None:
            return []
        config_display = f"{display}/{self.config_name}"
        run = check_copy(
            self.config_name,
            render_knot_conf(build, str(staged)),
            lambda conf: [knotc, "-c", conf, "conf-check"],
            staged,
            display,
            build,
        )
        if run.returncode != 0:
            output = _redact(run.output, build)
            found = []
            for line in output.splitlines():
                line = line.strip()
                if not line or _CONF_SUMMARY.match(line):
                    continue
                position = Position(config_display)
                if match := _CONF_ERROR.match(line):
                    position = Position(match["file"], int(match["line"]), 1)
                    line = match["rest"].lstrip(", ")
                found.append(error(position, "knotc-conf-check", _SEVERITY.sub("", line)))
            return found or [
                error(Position(config_display), "knotc-conf-check", f"knotc failed: {output}")
            ]
        kzonecheck = find_tool("kzonecheck")
        if kzonecheck is None:
            return []
        diagnostics: list[Diagnostic] = []
        for zone in build.zones:
            if zone.data is None:
                continue
            relative = flat_zone_file(zone)
            run = run_tool([kzonecheck, "-o", zone.zone.origin, str(staged / relative)])
            if run.returncode == 0:
                continue
            file_display = f"{display}/{relative}"
            found = []
            for line in run.output.replace(str(staged), display).splitlines():
                line = _SEVERITY.sub("", line.strip())
                if line:
                    number = _LINE_NUMBER.search(line)
                    position = Position(file_display, int(number[1]) if number else 0, 1)
                    found.append(error(position, "kzonecheck", line))
            diagnostics += found or [
                error(Position(file_display), "kzonecheck", "kzonecheck failed")
            ]
        return diagnostics

    # -- a deploy --------------------------------------------------------------

    def render_check_config(self, build: ServerBuild, staged: str) -> bytes:
        return render_knot_conf(build, staged.rstrip("/")).encode()

    def check_command(self, build: ServerBuild, staged: str) -> Command:
        """knotc conf-check, then knotc zone-check on every zone Knot loads from a file.

        ``conf-check`` reads no zone file, and Knot's zone parser refuses records
        BIND (and so zonesmith) accepts: a zone file knotd cannot load would leave
        the zone unserved after the reload. ``zone-check`` loads each staged file
        as knotd would (the staged config names them; it needs no running server).
        """
        conf = f"{staged.rstrip('/')}/{self.config_name}.check"
        zones = [zone.text_name for zone in build.zones if zone.data is not None]
        return command(
            ["sh", "-c", _CHECK_SCRIPT, "knot-check", conf, *zones],
            "knotc conf-check and zone-check: the staged files",
            timeout=600,
        )

    def reload_commands(self, build: ServerBuild, change: ServerChange) -> list[Command]:
        """knotc on the server's socket, always blocking (``-b``).

        knotc returns as soon as Knot has queued an event unless ``-b`` makes it
        wait for the event's end (and its error). ``zone-reload`` rereads one
        zone file whatever its mtime; ``reload`` rereads knot.conf, keys
        included, applies the zone list, and rereads the zone files that
        changed; a zone this server signs that it is to add first loses what the
        journal kept of it (:func:`_forget_journals`). A secondary's zones come by
        transfer after NOTIFY.
        """
        if change.empty:
            return []
        if change.zone_list_changed or change.config_changed or change.options_changed:
            reload = _knotc(build, "reload", why="reload the configuration and changed zone files")
            return [*_forget_journals(build, change), reload]
        return [
            _knotc(
                build,
                "zone-reload",
                name.rstrip(".") + ".",
                why=f"reload zone {zone_label(build, view, name)}",
            )
            for view, name in change.zones_changed
            if loads_from_file(build, view, name)
        ]

    def key_store_check(
        self, build: ServerBuild, zone: str, view: str, algorithm: str
    ) -> Command | None:
        """keymgr lists a key of the zone and ``algorithm`` in the KASP database, and each
        key it lists has its PEM file under ``kasp/keys``: without them knotd makes new keys
        (a missing database) or cannot sign (a missing key file)."""
        folder = f"{server_path(build)}/{DATABASES['kasp-db']}"
        return command(
            ["sh", "-c", _KASP_SCRIPT, "key-check", folder, zone.rstrip(".") + ".", algorithm],
            f"the KASP database {folder}",
        )

    def zone_state_command(self, build: ServerBuild, view: str, name: str) -> Command | None:
        label = zone_label(build, view, name)
        return _knotc(build, "zone-status", name.rstrip(".") + ".", why=f"state of zone {label}")

    def last_refresh(self, output: str, expire: int, now: datetime) -> datetime | None:
        """knotc zone-status's ``expiration: +6D23h59m58s`` (the time left) less the SOA
        expire: Knot restarts a secondary's expire timer at each successful refresh."""
        found = re.search(r"\bexpiration: ([+-])((?:\d+[YMDhms])+)", output)
        if found is None:
            return None
        units = {"Y": 31536000, "M": 2592000, "D": 86400, "h": 3600, "m": 60, "s": 1}
        left = sum(
            int(amount) * units[unit] for amount, unit in re.findall(r"(\d+)([YMDhms])", found[2])
        )
        sign = -1 if found[1] == "-" else 1
        return now + timedelta(seconds=sign * left - expire)


#: knotc conf-check CONF, then knotc zone-check on the zones that follow. knotc's last line
#: of a refused zone only names the zone; its first names the file, line and error.
_CHECK_SCRIPT = """conf=$1
shift
knotc -c "$conf" conf-check || exit 1
[ "$#" -eq 0 ] && exit 0
out=$(knotc -c "$conf" zone-check "$@" 2>&1) && exit 0
printf '%s\\n' "$out" | head -n 1 >&2
exit 1
"""


#: Exit 0 when the KASP database in folder $1 holds a key of zone $2 with algorithm $3 and
#: every key of the zone it lists has its key file. keymgr only reads the database (LMDB
#: admits readers beside a running knotd); it is not run on a database that is not there.
_KASP_SCRIPT = """[ -f "$1/data.mdb" ] || exit 1
keys=$(keymgr -D "$1" "$2" list) || exit 1
found=1
for id in $(printf '%s\n' "$keys" | awk '{print $1}'); do
  [ -f "$1/keys/$id.pem" ] || exit 1
done
printf '%s\n' "$keys" | grep -qi " $3 " && found=0
exit $found
"""


def _forget_journals(build: ServerBuild, change: ServerChange) -> list[Command]:
    """Before a reload adds zones this server signs: drop what the journal still holds
    of them (an earlier life of the zone on this server; its keys stay in ``kasp/``).

    Knot would load such a zone from that journal, then either apply its old
    re-signings on top of a zone file whose serial they start from (failing, old
    zone served, when a name of then is gone: "failed to apply journal changes")
    or ignore one whose serial is below the journal's ("zone file changed with
    SOA serial decreased"); without it, the zone starts from its zone file. The
    zones are not configured yet, so they are orphans to Knot (``+orphan``), and
    ``-f`` is what ``zone-purge`` always asks for.
    """
    added = [
        name.rstrip(".") + "."
        for view, name in change.zones_added
        if (zone := served_zone(build, view, name)) is not None and _policy(build, zone) is not None
    ]
    if not added:
        return []
    why = f"drop the journal an earlier deploy left of {', '.join(added)}"
    return [_knotc(build, "-f", "zone-purge", *added, "+orphan", "+journal", why=why)]


def _knotc(build: ServerBuild, *arguments: str, why: str) -> Command:
    socket = f"{server_path(build)}/knot.sock"
    return command(["knotc", "-s", socket, "-b", *arguments], why)
