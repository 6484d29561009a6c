"""Unbound: a resolver with the site's blocklists and its internal zones.

Files written to OUT/<server>/:

- ``unbound.conf``: the server clause (working folder, pid file, listen
  address and port, access control from the clients of the resolver's
  views, identity and version hidden), a remote control on a unix socket
  ``unbound.ctl`` (no certificates), one ``include:`` per blocklist, an
  ``rpz:`` clause per blocklist that asks for RPZ, and one ``stub-zone:``
  per zone of the site, pointing at the authoritative servers of the site
  that serve it in the resolver's view, so internal names resolve, with a
  ``trust-anchor`` for each signed zone of the site whose live keys are known
  and no signed parent in the site validates it, ``domain-insecure`` for the
  zones that are not validated;
- ``blocklists/<list>.conf``: the blocklist as ``local-zone`` lines, the form
  Unbound loads fastest (``always_nxdomain``, ``always_null``, or
  ``redirect`` with a ``local-data`` address for a sinkhole), with
  ``transparent`` zones for allowed names below blocked ones;
- ``blocklists/<list>.rpz``: the blocklist as a response policy zone, for a
  blocklist with ``rpz: true``;
- ``update-blocklists.sh``, ``zonesmith-blocklists.service``,
  ``zonesmith-blocklists.timer`` and ``zonesmith-blocklists.cron``: a daily
  job that runs ``zonesmith blocklist update`` and ``zonesmith build``,
  checks the result with ``unbound-checkconf`` and reloads Unbound only when
  the configuration or a list changed and the check passed.

The resolver's view is the first view (in site order, as BIND matches them)
among the resolver's views whose clients include the resolver's address,
else the first of its views: its stub zones point at the servers of that
view, which must see the resolver's queries as coming from a client of it.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
import shlex
from pathlib import Path, PurePosixPath

import dns.name

from zonesmith.blocklists.compiled import CompiledBlocklist
from zonesmith.compile.fleet import ServerBuild, resolver_views, stub_view, stub_zones
from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.drivers import (
    Capabilities,
    Driver,
    OutputFile,
    check_copy,
    find_tool,
    quoted,
    runs_from_temporary_folder,
)
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import ServerChange, command, server_path
from zonesmith.drivers.rpz import deduplicated, joined, render_rpz, rpz_zone_name, sinkhole_type
from zonesmith.model import Server, Site

#: The zones Unbound answers itself unless told otherwise (unbound.conf(5),
#: "local-zone"): a stub zone at or above one of them needs it switched off.
DEFAULT_LOCAL_ZONES = tuple(
    dns.name.from_text(text)
    for text in (
        "localhost.",
        "127.in-addr.arpa.",
        "1." + "0." * 31 + "ip6.arpa.",
        "home.arpa.",
        "onion.",
        "test.",
        "invalid.",
        "10.in-addr.arpa.",
        *(f"{n}.172.in-addr.arpa." for n in range(16, 32)),
        "168.192.in-addr.arpa.",
        "0.in-addr.arpa.",
        "254.169.in-addr.arpa.",
        "2.0.192.in-addr.arpa.",
        "100.51.198.in-addr.arpa.",
        "113.0.203.in-addr.arpa.",
        "255.255.255.255.in-addr.arpa.",
        *(f"{n}.100.in-addr.arpa." for n in range(64, 128)),
        "0." * 32 + "ip6.arpa.",
        "d.f.ip6.arpa.",
        "8.e.f.ip6.arpa.",
        "9.e.f.ip6.arpa.",
        "a.e.f.ip6.arpa.",
        "b.e.f.ip6.arpa.",
        "8.b.d.0.1.0.0.2.ip6.arpa.",
    )
)

# "/path/unbound.conf:12: error: message" from the configuration parser.
_FILE_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+): (?:error: )?(?P<message>.*)$")
# "[1700000000] unbound-checkconf[123:0] error: message" and the like.
_LOG_PREFIX = re.compile(r"^\[\d+\] unbound-checkconf\[[\d:]+\] (?:fatal error|error): ")
_SUMMARY = re.compile(r"^read \S+ failed: \d+ errors? in configuration file$")

JOB = "zonesmith-blocklists"


def quote(text: str) -> str:
    """An unbound.conf string: every name and path in unbound.conf goes through here."""
    return quoted(text, "Unbound", escapes=False)


# --------------------------------------------------------------------------
# Views, clients and the site's zones


def access_control(site: Site, server: Server) -> list[str]:
    """``access-control`` lines: nobody, then the resolver's clients.

    The clients are :meth:`zonesmith.model.Site.resolver_clients`. Unbound picks
    the most specific netblock (BIND the first match), which agrees for the
    usual lists: networks, with exceptions carved out of them. Unbound lets
    its own host in unless told otherwise, so loopback is refused too, unless
    a client block takes it in.
    """
    seen: dict[str, str] = {}
    notes = [
        f"# view {view.name}: 'localnets' has no Unbound equivalent; list the networks instead"
        for view in resolver_views(site, server)
        if "localnets" in view.clients
    ]
    for element in site.resolver_clients(server):
        negated = element.startswith("!")
        text = element[1:].strip() if negated else element
        action = "refuse" if negated else "allow"
        if text == "any":
            blocks = ["0.0.0.0/0", "::/0"]
        elif text == "localhost":
            blocks = ["127.0.0.0/8", "::1/128"]
        elif text in ("none", "localnets"):
            continue
        else:
            try:
                blocks = [str(ipaddress.ip_network(text, strict=False))]
            except ValueError:
                continue
        for block in blocks:
            seen.setdefault(block, action)
    allowed = [ipaddress.ip_network(block) for block, action in seen.items() if action == "allow"]
    lines = [
        f"access-control: {block} refuse"
        for block in map(ipaddress.ip_network, ("0.0.0.0/0", "::/0", "127.0.0.0/8", "::1/128"))
        if str(block) not in seen
        and not any(
            block.version == net.version and block.subnet_of(net)  # type: ignore[arg-type]
            for net in allowed
        )
    ]
    lines += [f"access-control: {block} {action}" for block, action in seen.items()]
    return notes + lines


def _default_zone_lines(stubs: list[tuple[dns.name.Name, list[str]]]) -> list[str]:
    """Switch off Unbound's own answers where they would hide a stub zone."""
    lines: dict[str, str] = {}
    for name, _ in stubs:
        for default in DEFAULT_LOCAL_ZONES:
            if name == default or default.is_subdomain(name):
                lines.setdefault(default.to_text(), "nodefault")
            elif name.is_subdomain(default):
                lines.setdefault(name.to_text(), "transparent")
    return [f"local-zone: {quote(zone)} {kind}" for zone, kind in lines.items()]


def _validation_lines(site: Site, view: str | None, names: list[dns.name.Name]) -> list[str]:
    """How the resolver validates each zone of the site, which the root's chain does not reach.

    A signed zone whose live keys are known is validated: through its parent's
    DS when its closest enclosing zone of the site is validated too (nothing to
    write), else from a ``trust-anchor`` with its own DS (an island; Unbound lets
    an anchor override a ``domain-insecure`` above it). Every other zone is
    ``domain-insecure``: unsigned, or its keys are not known yet.
    """
    by_name = site.zones_by_name
    anchors = {
        name: site.live_ds_of(by_name[name], view) if view is not None else ()
        for name in names
        if name in by_name
    }
    lines = []
    for name in names:
        ds = anchors.get(name, ())
        if not ds:
            lines.append(f"domain-insecure: {quote(name.to_text())}")
            continue
        parent = name.parent() if name != dns.name.root else None
        while parent is not None and parent not in by_name:
            parent = parent.parent() if parent != dns.name.root else None
        if parent is not None and anchors.get(parent):
            continue  # validated through the DS its parent carries
        lines += [f"trust-anchor: {quote(f'{name.to_text()} DS {text}')}" for text in ds]
    return lines


# --------------------------------------------------------------------------
# Blocklists


def blocklist_file(compiled: CompiledBlocklist) -> str:
    suffix = ".rpz" if compiled.rpz else ".conf"
    return f"blocklists/{compiled.file_stem}{suffix}"


def render_local_zones(compiled: CompiledBlocklist, names: list[str]) -> str:
    header = (
        f"# blocklist {compiled.name}: {len(names)} names, {len(compiled.exceptions)} "
        f"exceptions ({compiled.digest}); generated by zonesmith, do not edit.\n"
        "server:\n"
    )
    if compiled.action == "sinkhole" and compiled.sinkhole:
        rdtype = sinkhole_type(compiled.sinkhole)
        address = compiled.sinkhole
        body = "".join(
            [
                f'local-zone: "{n}." redirect\nlocal-data: "{n}. 300 IN {rdtype} {address}"\n'
                for n in names
            ]
        )
    else:
        kind = "always_null" if compiled.action == "null" else "always_nxdomain"
        body = joined(names, 'local-zone: "', f'." {kind}\n')
    exceptions = joined(list(compiled.exceptions), 'local-zone: "', '." transparent\n')
    return header + body + exceptions


# --------------------------------------------------------------------------
# unbound.conf


def _privileges(path: str, check: bool) -> list[str]:
    """Who Unbound runs as after binding its sockets.

    In production Unbound is started as root and drops to its compiled-in
    user (``unbound``): ``username`` keeps that default, so the server's
    folder must be readable by that user (build writes files 0644 and
    folders 0755), including on reload. A resolver whose ``path`` is under a
    temporary folder runs straight from a build (``preview``, the tests),
    from a folder the ``unbound`` user may not enter, or as an ordinary user
    who cannot change user at all: it keeps the identity it was started with
    (``username: ""``). So does the copy that ``unbound-checkconf`` checks.
    """
    if check or runs_from_temporary_folder(path):
        return [
            "# Run from a build (a preview or a test): keep the identity of whoever starts it.",
            'username: ""',
        ]
    return ["# Unbound drops to its own user (unbound): this folder must stay readable by it."]


def render_unbound_conf(build: ServerBuild, path: str, *, check: bool = False) -> str:
    site, server = build.site, build.server
    lists = tuple(b for b in build.blocklists if isinstance(b, CompiledBlocklist))
    stubs = stub_zones(site, server)
    view = stub_view(site, server)
    loopback = any(
        ipaddress.ip_address(a.rsplit("@", 1)[0]).is_loopback for _, addrs in stubs for a in addrs
    )
    server_lines = [
        f"directory: {quote(path)}",
        'chroot: ""',
        *_privileges(path, check),
        f"pidfile: {quote(path + '/unbound.pid')}",
        f"interface: {server.address}@{server.port}",
        *access_control(site, server),
        "hide-identity: yes",
        "hide-version: yes",
        "harden-glue: yes",
        "qname-minimisation: yes",
    ]
    if any(b.rpz for b in lists):
        server_lines.append('module-config: "respip validator iterator"')
    if stubs:
        server_lines.append(
            f"# The site's zones, as the authoritative servers answer clients of view {view}."
        )
        if loopback:
            server_lines.append("do-not-query-localhost: no")
        server_lines += _default_zone_lines(stubs)
        server_lines += _validation_lines(site, view, [name for name, _ in stubs])
    lines = [
        f"# unbound.conf of resolver {server.name}, generated by zonesmith; do not edit.",
        f"# Run it with: unbound -c {path}/unbound.conf",
        "server:",
        *("    " + line for line in server_lines),
        "",
        "remote-control:",
        "    control-enable: yes",
        f"    control-interface: {quote(path + '/unbound.ctl')}",
        "",
    ]
    for compiled in lists:
        if not compiled.rpz:
            lines.append(f"include: {quote(path + '/' + blocklist_file(compiled))}")
    for compiled in lists:
        if compiled.rpz:
            lines += [
                "",
                "rpz:",
                f"    name: {quote(rpz_zone_name(compiled))}",
                f"    zonefile: {quote(path + '/' + blocklist_file(compiled))}",
                "    rpz-log: yes",
                f"    rpz-log-name: {quote(compiled.name)}",
            ]
    for name, addresses in stubs:
        if not addresses:
            lines += ["", f"# no server of the site serves {name} in view {view}"]
            continue
        lines += ["", "stub-zone:", f"    name: {quote(name.to_text())}"]
        lines += [f"    stub-addr: {address}" for address in addresses]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# The daily update job


def render_update_script(build: ServerBuild, path: str) -> str:
    site, server = build.site, build.server
    root = str(Path(site.root).resolve())
    live = PurePosixPath(path)
    out = str(live.parent) if live.name == server.name else f"{root}/out"
    return f"""#!/bin/sh
# Update the blocklists of resolver {server.name}, rebuild it, check it, and
# reload Unbound only when its configuration or a list changed and the check
# passed. Generated by zonesmith; do not edit. Run daily by {JOB}.timer
# (systemd) or {JOB}.cron; the environment may override the settings below.
set -eu
# Every value is one single-quoted word, expanded only inside double quotes:
# nothing in a path or name is ever read as shell code.
default_site={shlex.quote(root)}
default_out={shlex.quote(out)}
SITE="${{ZONESMITH_SITE:-$default_site}}"
OUT="${{ZONESMITH_OUT:-$default_out}}"
ZONESMITH="${{ZONESMITH:-zonesmith}}"
SERVER={shlex.quote(server.name)}
LIVE={shlex.quote(path)}
CONF="$LIVE/unbound.conf"

digest() {{
    cat "$1/unbound.conf" "$1"/blocklists/* 2>/dev/null | sha256sum | cut -d' ' -f1
}}

before=$(digest "$LIVE")
# A build replaces OUT whole: remember the running Unbound before it does.
pid=$(cat "$LIVE/unbound.pid" 2>/dev/null || true)

$ZONESMITH blocklist update "$SITE"
$ZONESMITH build "$SITE" -o "$OUT"
if [ "$OUT/$SERVER" != "$LIVE" ]; then
    mkdir -p "$LIVE"
    cp -R "$OUT/$SERVER/." "$LIVE/"
fi
if [ -n "$pid" ] && [ ! -e "$LIVE/unbound.pid" ]; then
    echo "$pid" > "$LIVE/unbound.pid"
fi

after=$(digest "$LIVE")
if [ "$before" = "$after" ]; then
    echo "$SERVER: configuration and blocklists unchanged; Unbound not reloaded"
    exit 0
fi
unbound-checkconf "$CONF"
if unbound-control -c "$CONF" reload >/dev/null 2>&1; then
    echo "$SERVER: changed; Unbound reloaded (unbound-control)"
elif [ -n "$pid" ] && kill -HUP "$pid"; then
    echo "$SERVER: changed; Unbound reloaded (SIGHUP to $pid)"
else
    echo "$SERVER: changed, but no running Unbound was found to reload" >&2
    exit 1
fi
"""


def render_service(build: ServerBuild, path: str) -> str:
    return f"""# Install as /etc/systemd/system/{JOB}.service, with {JOB}.timer.
# Generated by zonesmith; do not edit.
[Unit]
Description=zonesmith: update the blocklists of resolver {build.server.name} and reload Unbound
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=/bin/sh {path}/update-blocklists.sh
Nice=10
"""


def render_timer(build: ServerBuild) -> str:
    return f"""# Install as /etc/systemd/system/{JOB}.timer and enable it:
#   systemctl enable --now {JOB}.timer
# Generated by zonesmith; do not edit.
[Unit]
Description=zonesmith: daily blocklist update of resolver {build.server.name}

[Timer]
OnCalendar=daily
RandomizedDelaySec=1h
Persistent=true

[Install]
WantedBy=timers.target
"""


def render_cron(build: ServerBuild, path: str) -> str:
    # A minute and hour of its own per resolver, so a fleet does not fetch all at once.
    spread = int(hashlib.sha256(build.server.name.encode()).hexdigest(), 16)
    minute, hour = spread % 60, 3 + spread // 60 % 3
    return (
        f"# Install as /etc/cron.d/{JOB} (instead of the systemd timer).\n"
        "# Generated by zonesmith; do not edit.\n"
        f"{minute} {hour} * * * root /bin/sh {path}/update-blocklists.sh 2>&1 "
        f"| logger -t {JOB}\n"
    )


# --------------------------------------------------------------------------
# The driver


class UnboundDriver(Driver):
    software = "unbound"
    config_name = "unbound.conf"
    checkers = ("unbound-checkconf",)
    capabilities = Capabilities(roles=frozenset({"resolver"}))

    def render(self, build: ServerBuild, path: str) -> dict[str, OutputFile]:
        path = path.rstrip("/") or "/"
        files = {self.config_name: OutputFile(render_unbound_conf(build, path).encode())}
        lists = tuple(b for b in build.blocklists if isinstance(b, CompiledBlocklist))
        for compiled, names in deduplicated(lists):
            render = render_rpz if compiled.rpz else render_local_zones
            files[blocklist_file(compiled)] = OutputFile(render(compiled, names).encode())
        if lists:
            files["update-blocklists.sh"] = OutputFile(
                render_update_script(build, path).encode(), 0o755
            )
            files[f"{JOB}.service"] = OutputFile(render_service(build, path).encode())
            files[f"{JOB}.timer"] = OutputFile(render_timer(build).encode())
            files[f"{JOB}.cron"] = OutputFile(render_cron(build, path).encode())
            summary = {c.name: {"names": len(c.names), "digest": c.digest} for c in lists}
            files["blocklists/digests.json"] = OutputFile(
                (json.dumps(summary, indent=1, sort_keys=True) + "\n").encode()
            )
        return files

    def check(self, build: ServerBuild, staged: Path, display: str) -> list[Diagnostic]:
        checkconf = find_tool("unbound-checkconf")
        if checkconf is None:
            return []
        run = check_copy(
            self.config_name,
            render_unbound_conf(build, str(staged), check=True),
            lambda conf: [checkconf, conf],
            staged,
            display,
            build,
        )
        if run.returncode == 0:
            return []
        config_display = f"{display}/{self.config_name}"
        diagnostics = []
        for line in run.output.splitlines():
            line = _LOG_PREFIX.sub("", line.strip())
            if not line or _SUMMARY.match(line) or line.startswith("unbound-checkconf: no errors"):
                continue
            position = Position(config_display)
            if match := _FILE_LINE.match(line):
                position = Position(match["file"], int(match["line"]), 1)
                line = match["message"]
            diagnostics.append(error(position, "unbound-checkconf", line))
        if not diagnostics:
            diagnostics.append(
                error(
                    Position(config_display),
                    "unbound-checkconf",
                    f"unbound-checkconf failed: {run.output}",
                )
            )
        return diagnostics

    # -- a deploy --------------------------------------------------------------

    def render_check_config(self, build: ServerBuild, staged: str) -> bytes:
        return render_unbound_conf(build, staged.rstrip("/"), check=True).encode()

    def check_command(self, build: ServerBuild, staged: str) -> Command:
        conf = f"{staged.rstrip('/')}/{self.config_name}.check"
        return command(["unbound-checkconf", conf], "unbound-checkconf: the staged files")

    def reload_commands(self, build: ServerBuild, change: ServerChange) -> list[Command]:
        """unbound-checkconf on the installed files, then ``unbound-control reload``.

        Unbound exits when the configuration it rereads at a reload is bad, so
        the installed configuration is checked once more on the target first
        (the staged copy passed already; this catches what changed between).
        A reload rereads everything, blocklists included, and empties the cache.
        """
        if change.empty:
            return []
        conf = f"{server_path(build)}/{self.config_name}"
        return [
            command(["unbound-checkconf", conf], "unbound-checkconf: the installed files"),
            command(
                ["unbound-control", "-c", conf, "reload"],
                "reload the configuration and blocklists (the cache starts empty)",
            ),
        ]
