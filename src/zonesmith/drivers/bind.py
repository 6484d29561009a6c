"""BIND 9: named.conf, zone files, TSIG keys, catalog zones; named-checkconf.

Files written to OUT/<server>/:

- ``named.conf``: options (working directory, pid file and session key
  under the server's ``path``; listen address and port; recursion off,
  version hidden, response rate limiting), then one ``view`` per site view
  the server serves, in site order, because BIND picks the first view whose
  match-clients match;
- ``keys.conf`` (mode 0600): the TSIG keys, included by named.conf, so the
  secrets live in one file that nothing else shows;
- ``zones/<view>/<zone>.zone`` (``zones/<zone>.zone`` without views): the
  zones this server is primary for, and its catalog zone;
- ``secondary/<view>/``: where named keeps the zones it transfers;
- ``keys/<view>/`` (``keys/`` without views): the key directory of the zones
  this primary signs (``dnssec-policy`` of the site's policy, never BIND's
  built-in ``default``, with ``inline-signing``). The folder is made, never
  filled: the keys are named's, so no build or deploy deletes or replaces
  them (a build keeps the files of its output it did not write, and a
  deploy manages only the files of its manifest).

With views, a transfer or NOTIFY is routed to its view by TSIG key: each
view's match-clients starts with the keys of that view and excludes the keys
of the others, so an internal secondary cannot be handed the external zone.

A server with ``role: resolver`` gets a recursive ``named.conf`` instead:
queries and recursion for the clients of its views only, no transfers, the
version hidden, DNSSEC validated except below the site's own zones, its
blocklists as response policy zones (``rpz/<list>.rpz``, primary zones
listed in ``response-policy`` in the order of the server's ``blocklists``),
and one ``forward only`` zone per zone of the site, pointing at the
authoritative servers of the site that serve it in the resolver's view
(chosen as for Unbound, see :mod:`zonesmith.drivers.unbound`), so internal
names resolve. It holds no keys.

Over 600 lines, on purpose for now: everything about BIND lives in its driver
(authoritative and resolver configs, control channel, signing, reloads). Its
resolver and control-channel parts are the next to move to modules of their own.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

import dns.dnssectypes

from zonesmith.compile.fleet import (
    Secret,
    ServedZone,
    ServerBuild,
    Transfer,
    stub_view,
    stub_zones,
)
from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.drivers import Capabilities, Driver, OutputFile, check_copy, find_tool, quoted
from zonesmith.drivers.command import Command
from zonesmith.drivers.control import (
    CONTROL_ALGORITHM,
    CONTROL_KEY,
    LOOPBACK,
    ServerChange,
    command,
    control_port,
    deploy_key,
    loads_from_file,
    restart_reason,
    server_path,
    zone_label,
)
from zonesmith.model import DnssecPolicy, View

if TYPE_CHECKING:
    from zonesmith.blocklists.compiled import CompiledBlocklist

# The blocklists module is imported where a resolver's lists are rendered or
# checked: an authoritative server's build never needs it.

# "/path/named.conf:12: message" from the configuration parser.
_FILE_LINE = re.compile(r"^(?P<file>[^:\s]+):(?P<line>\d+): (?P<message>.*)$")
# "zone example.com/IN/internal: message" (the view part is absent without views).
_ZONE_LINE = re.compile(r"^zone (?P<zone>[^/\s]+)/IN(?:/(?P<view>\S+))?: (?P<message>.*)$")
# "dns_master_load: file:line: message" while loading a zone file.
_ZONE_FILE_LINE = re.compile(r"^dns_master_load: (?P<file>[^:\s]+):(?P<line>\d+): (?P<message>.*)$")

#: Responses per second to one client netblock before BIND's RRL slips or drops.
RATE_LIMIT = 20


#: The key directories of the zones a primary signs, under its path.
KEYS = "keys"
#: Exit 0 when folder $1 holds a key pair of zone $2 and algorithm number $3.
_KEY_PAIR_SCRIPT = """for key in "$1"/K"$2"+"$3"+*.private; do
  [ -f "$key" ] && [ -f "${key%.private}.key" ] && exit 0
done
exit 1
"""


def quote(text: str) -> str:
    """A named.conf string literal: every name, path and secret in named.conf goes through here."""
    return quoted(text, "BIND", escapes=True)


def _folder(build: ServerBuild, top: str, view: str) -> str:
    return f"{top}/{view}" if build.uses_views else top


def zone_file(build: ServerBuild, zone: ServedZone) -> str:
    """Where a zone's file lives, relative to the server's folder."""
    top = "zones" if zone.data is not None else "secondary"
    return f"{_folder(build, top, zone.view)}/{zone.file_stem}.zone"


def _remote(address: str, port: int, key: str | None) -> str:
    """A primaries / also-notify element: address, port and TSIG key."""
    return f"{address} port {port}" + (f" key {quote(key)}" if key else "")


def _listen(build: ServerBuild) -> list[str]:
    server = build.server
    if ipaddress.ip_address(server.address).version == 4:
        return [
            f"listen-on port {server.port} {{ {server.address}; }};",
            "listen-on-v6 { none; };",
            f"notify-source {server.address};",
            f"transfer-source {server.address};",
        ]
    return [
        "listen-on { none; };",
        f"listen-on-v6 port {server.port} {{ {server.address}; }};",
        f"notify-source-v6 {server.address};",
        f"transfer-source-v6 {server.address};",
    ]


def _address_and_key(addresses: list[str]) -> str:
    """``!{ !a; !b; any; };``: refuses every other address, so that a ``key k;``
    after it requires the key: BIND's idiom for "this address and this key"."""
    return "!{ " + " ".join(f"!{a};" for a in addresses) + " any; };"


def _loopback_key(build: ServerBuild, zone: ServedZone) -> str | None:
    """The key a deploy transfers a zone of this primary with from its own host: the
    deploy key, or the view's key where a key chooses the view."""
    if zone.data is None or deploy_key(build) is None:
        return None
    view = next((v for v, _ in build.views if v.name == zone.view), None)
    if build.uses_views and view is not None and view.key is not None:
        return view.key.name
    return CONTROL_KEY


def _allow_transfer(transfers: tuple[Transfer, ...], loopback: str | None = None) -> str:
    """Only the declared secondaries, by address, and with their key when they have one;
    and, with ``loopback``, this host by loopback with that key (see _loopback_key).

    The deploy's element is a nested list, so that an address it refuses
    goes on to the secondaries' elements rather than being refused outright.
    """
    elements = []
    if loopback is not None:
        elements.append(f"{{ {_address_and_key(list(LOOPBACK))} key {quote(loopback)}; }};")
    if not transfers:
        return " ".join(elements) or "none;"
    plain = sorted({t.secondary.address for t in transfers if t.key is None})
    keyed = sorted({t.secondary.address for t in transfers if t.key is not None})
    keys = sorted({t.key.name for t in transfers if t.key is not None})
    elements += [f"{address};" for address in plain]
    if keyed:
        elements.append(_address_and_key(keyed))
        elements += [f"key {quote(k)};" for k in keys]
    return " ".join(elements)


def _primaries(transfers: tuple[Transfer, ...]) -> str:
    return " ".join(
        _remote(t.primary.address, t.primary.port, t.key.name if t.key else None) + ";"
        for t in transfers
    )


def signed_by(build: ServerBuild, zone: ServedZone) -> DnssecPolicy | None:
    """The policy this server signs ``zone`` with: a primary's signed zone; None otherwise."""
    if zone.data is None or zone.is_catalog:
        return None
    return build.site.policy_of(zone.zone)


def _duration(seconds: int) -> str:
    return f"PT{seconds}S"  # ISO 8601, which every BIND 9 duration takes


def _dnssec_policy(policy: DnssecPolicy) -> list[str]:
    def lifetime(seconds: int | None) -> str:
        return "unlimited" if seconds is None else _duration(seconds)

    algorithm = policy.algorithm.lower()
    if policy.keys == "csk":
        keys = [
            f"csk key-directory lifetime {lifetime(policy.csk_lifetime)} algorithm {algorithm};"
        ]
    else:
        keys = [
            f"ksk key-directory lifetime {lifetime(policy.ksk_lifetime)} algorithm {algorithm};",
            f"zsk key-directory lifetime {lifetime(policy.zsk_lifetime)} algorithm {algorithm};",
        ]
    lines = [
        f"dnssec-policy {quote(policy.name)} {{",
        "    keys {",
        *("        " + key for key in keys),
        "    };",
        f"    signatures-validity {_duration(policy.signature_validity)};",
        f"    signatures-validity-dnskey {_duration(policy.signature_validity)};",
        f"    signatures-refresh {_duration(policy.signature_refresh)};",
    ]
    if policy.nsec == "nsec3":
        # BIND 9.18 takes a salt length (it picks the salt), not a salt.
        lines.append(
            f"    nsec3param iterations {policy.nsec3_iterations} "
            f"optout {'yes' if policy.nsec3_opt_out else 'no'} "
            f"salt-length {len(policy.nsec3_salt) // 2};"
        )
    return [*lines, "};", ""]


def _dnssec_policies(build: ServerBuild) -> list[str]:
    names = {policy.name: policy for z in build.zones if (policy := signed_by(build, z))}
    return [line for name in sorted(names) for line in _dnssec_policy(names[name])]


def _zone_stanza(build: ServerBuild, zone: ServedZone, path: str) -> list[str]:
    lines = [f"zone {quote(zone.text_name)} {{"]
    if zone.data is not None:
        lines.append("    type primary;")
        policy = signed_by(build, zone)
        if policy is not None:
            lines += [
                f"    dnssec-policy {quote(policy.name)};",
                "    inline-signing yes;",
                f"    key-directory {quote(f'{path}/{_folder(build, KEYS, zone.view)}')};",
            ]
    else:
        # NOTIFY is accepted from this zone's primaries only.
        notifiers = " ".join(sorted({f"{t.primary.address};" for t in zone.primaries}))
        lines += [
            "    type secondary;",
            f"    primaries {{ {_primaries(zone.primaries)} }};",
            # Text, not raw: an operator can read what was transferred.
            "    masterfile-format text;",
            f"    allow-notify {{ {notifiers} }};",
        ]
    lines.append(f"    file {quote(f'{path}/{zone_file(build, zone)}')};")
    loopback = _loopback_key(build, zone)
    lines.append(f"    allow-transfer {{ {_allow_transfer(zone.secondaries, loopback)} }};")
    if zone.secondaries:
        notify = " ".join(
            _remote(t.secondary.address, t.secondary.port, t.key.name if t.key else None) + ";"
            for t in zone.secondaries
        )
        # explicit: notify the declared secondaries only, never the NS names
        # (a hidden primary's NS set does not name it, nor its secondaries' ports).
        lines += ["    notify explicit;", f"    also-notify {{ {notify} }};"]
    lines.append("};")
    return lines


def _catalog_consumer(build: ServerBuild, view: str, path: str) -> list[str]:
    catalogs = [c for c in build.catalogs if c.view == view]
    if not catalogs:
        return []
    directory = f"{path}/{_folder(build, 'catalog', view)}"
    lines = ["catalog-zones {"]
    for catalog in catalogs:
        lines += [
            f"    zone {quote(catalog.text_name)}",
            f"        default-primaries {{ {_primaries(catalog.primaries)} }}",
            f"        zone-directory {quote(directory)}",
            "        in-memory no",
            "        min-update-interval 1;",
        ]
    lines.append("};")
    return lines


def _view_body(
    build: ServerBuild, view: View, zones: tuple[ServedZone, ...], path: str
) -> list[str]:
    # catalog-zones is an option of a view, or of the server (options) without views.
    lines = _catalog_consumer(build, view.name, path) if build.uses_views else []
    for zone in zones:
        if not zone.via_catalog:
            lines += _zone_stanza(build, zone, path)
    for catalog in build.catalogs:
        if catalog.view == view.name:
            lines += _zone_stanza(build, catalog, path)
    return lines


def _interop(build: ServerBuild) -> list[str]:
    """Settings BIND needs to work with other software.

    A BIND consumer of a catalog served by Knot needs TCP to fetch it, so
    such primaries are marked TCP-only (transfers use TCP anyway; this also
    moves the SOA checks there).
    """
    knot_primaries = sorted(
        {
            (t.primary.address)
            for c in build.catalogs
            for t in c.primaries
            if t.primary.software == "knot"
        }
    )
    return [f"server {address} {{ tcp-only yes; }};" for address in knot_primaries] + (
        [""] if knot_primaries else []
    )


def _match_clients(build: ServerBuild, view: View) -> str:
    own = [v.key.name for v, _ in build.views if v is view and v.key is not None]
    others = [v.key.name for v, _ in build.views if v is not view and v.key is not None]
    elements = [f"key {quote(k)};" for k in own] + [f"!key {quote(k)};" for k in others]
    elements += [f"{client};" for client in view.clients]
    return " ".join(elements) or "none;"


def render_named_conf(build: ServerBuild, path: str) -> str:
    lines = [
        f"// named.conf of server {build.server.name}, generated by zonesmith; do not edit.",
    ]
    if build.keys or build.control_secret:
        lines.append(f"include {quote(path + '/keys.conf')};")
    lines += [
        "options {",
        f"    directory {quote(path)};",
        f"    pid-file {quote(path + '/named.pid')};",
        f"    session-keyfile {quote(path + '/session.key')};",
        f"    managed-keys-directory {quote(path)};",
        *("    " + line for line in _listen(build)),
        # An authoritative server answers for its zones only: no recursion,
        # no cache, no transfers or NOTIFY to anybody not declared.
        "    recursion no;",
        "    allow-recursion { none; };",
        "    allow-query-cache { none; };",
        "    allow-transfer { none; };",
        "    notify explicit;",
        "    version none;",
        "    hostname none;",
        "    server-id none;",
        "    minimal-any yes;",
        "    dnssec-validation no;",
        f"    rate-limit {{ responses-per-second {RATE_LIMIT}; }};",
        *(
            "    " + line
            for view in (() if build.uses_views else build.site.view_names)
            for line in _catalog_consumer(build, view, path)
        ),
        "};",
        "",
        # No rndc channel unless one is configured: named would otherwise try
        # the system's default rndc.key.
        *_controls(build),
        "",
        *_interop(build),
        *_dnssec_policies(build),
    ]
    for view, zones in build.views:
        body = _view_body(build, view, zones, path)
        if build.uses_views:
            lines.append(f"view {quote(view.name)} {{")
            lines.append(f"    match-clients {{ {_match_clients(build, view)} }};")
            lines += ["    " + line for line in body]
            lines.append("};")
        else:
            lines += body
        lines.append("")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# A resolver


def rpz_file(compiled: CompiledBlocklist) -> str:
    """Where a blocklist's response policy zone lives, relative to the server's folder."""
    return f"rpz/{compiled.file_stem}.rpz"


def _blocklists(build: ServerBuild) -> tuple[CompiledBlocklist, ...]:
    return build.blocklists


def resolver_acl(build: ServerBuild) -> str:
    """The resolver's clients (see :meth:`zonesmith.model.Site.resolver_clients`) for named.conf."""
    elements = build.site.resolver_clients(build.server)
    return " ".join(f"{element};" for element in elements) or "none;"


def _forwarders(addresses: list[str]) -> str:
    """``ADDR port P;`` for each ``ADDR@PORT`` (as :func:`stub_zones` gives them)."""
    return " ".join(
        f"{address} port {port};" for address, port in (text.rsplit("@", 1) for text in addresses)
    )


def render_resolver_conf(build: ServerBuild, path: str) -> str:
    # Over 80 lines: The named.conf of a resolver, read top to bottom as it is written: one
    # statement after another.
    from zonesmith.drivers.rpz import rpz_zone_name

    server = build.server
    lists = _blocklists(build)
    stubs = stub_zones(build.site, server)
    view = stub_view(build.site, server)
    clients = resolver_acl(build)
    listen = (
        [f"listen-on port {server.port} {{ {server.address}; }};", "listen-on-v6 { none; };"]
        if ipaddress.ip_address(server.address).version == 4
        else ["listen-on { none; };", f"listen-on-v6 port {server.port} {{ {server.address}; }};"]
    )
    options = [
        f"directory {quote(path)};",
        f"pid-file {quote(path + '/named.pid')};",
        f"session-keyfile {quote(path + '/session.key')};",
        f"managed-keys-directory {quote(path)};",
        *listen,
        # A resolver for the clients of its views only; no transfers, no NOTIFY.
        "recursion yes;",
        f"allow-query {{ {clients} }};",
        f"allow-recursion {{ {clients} }};",
        f"allow-query-cache {{ {clients} }};",
        "allow-transfer { none; };",
        "notify no;",
        "version none;",
        "hostname none;",
        "server-id none;",
        "minimal-responses yes;",
        "minimal-any yes;",
        # Validate the Internet with BIND's built-in root key; the site's own
        # zones are not signed from the root (Unbound's domain-insecure).
        "dnssec-validation auto;",
    ]
    if stubs:
        options.append(
            "validate-except { "
            + " ".join(f"{quote(name.to_text())};" for name, _ in stubs)
            + " };"
        )
    if lists:
        # The first policy zone that matches wins, as the first list in Unbound.
        # Rewrite without resolving the name first (Unbound's local-zone does
        # not either) and for DNSSEC-aware clients too, who would otherwise
        # get past the lists.
        options += [
            "response-policy {",
            *(f"    zone {quote(rpz_zone_name(compiled))};" for compiled in lists),
            "} qname-wait-recurse no break-dnssec yes;",
        ]
    lines = [
        f"// named.conf of resolver {server.name}, generated by zonesmith; do not edit.",
        *_include_control_key(build, path),
        "options {",
        *("    " + line for line in options),
        "};",
        "",
        # No rndc channel unless one is configured: named would otherwise try
        # the system's default rndc.key.
        *_controls(build),
        "",
    ]
    for compiled in lists:
        lines += [
            f"// blocklist {compiled.name}, action {compiled.action}",
            f"zone {quote(rpz_zone_name(compiled))} {{",
            "    type primary;",
            f"    file {quote(path + '/' + rpz_file(compiled))};",
            # Policy data is read by named itself; clients need not query it.
            "    allow-query { none; };",
            "    allow-transfer { none; };",
            "    notify no;",
            # Blocklist names may hold '_', which no host name does.
            "    check-names ignore;",
            "};",
            "",
        ]
    if stubs:
        lines.append(
            f"// The site's zones, as the authoritative servers answer clients of view {view}."
        )
    # A forward zone below one of BIND's automatic empty zones (a private
    # reverse zone below 10.in-addr.arpa) is asked first; the empty zone
    # still answers the rest, so private names never leak to the Internet.
    for name, addresses in stubs:
        if not addresses:
            lines.append(f"// no server of the site serves {name} in view {view}")
            continue
        lines += [
            f"zone {quote(name.to_text())} {{",
            "    type forward;",
            "    forward only;",
            f"    forwarders {{ {_forwarders(addresses)} }};",
            "};",
        ]
    return "\n".join(lines) + "\n"


def render_config(build: ServerBuild, path: str) -> str:
    """The named.conf of the server: authoritative, or a resolver."""
    if build.server.role == "resolver":
        return render_resolver_conf(build, path)
    return render_named_conf(build, path)


def render_keys(keys: tuple[Secret, ...]) -> str:
    return "".join(
        f"key {quote(k.name)} {{\n"
        f"    algorithm {k.key.algorithm};\n"
        f"    secret {quote(k.secret)};\n"
        "};\n"
        for k in keys
    )


# --------------------------------------------------------------------------
# The control channel (rndc)


def _controls(build: ServerBuild) -> list[str]:
    """rndc from this machine only, with the server's own key, on its own port."""
    if build.control_secret is None:
        return ["controls { };"]
    return [
        f"controls {{ inet 127.0.0.1 port {control_port(build.server)} allow {{ 127.0.0.1; }} "
        f"keys {{ {quote(CONTROL_KEY)}; }}; }};"
    ]


def _include_control_key(build: ServerBuild, path: str) -> list[str]:
    """A resolver has no TSIG keys: keys.conf holds its control key alone."""
    return [f"include {quote(path + '/keys.conf')};"] if build.control_secret else []


def render_control_key(build: ServerBuild) -> str:
    """The control channel's key statement (for keys.conf and rndc.conf)."""
    if build.control_secret is None:
        return ""
    return (
        f"key {quote(CONTROL_KEY)} {{\n"
        f"    algorithm {CONTROL_ALGORITHM};\n"
        f"    secret {quote(build.control_secret)};\n"
        "};\n"
    )


def render_rndc_conf(build: ServerBuild) -> str:
    """What ``rndc -c PATH/rndc.conf`` needs to reach this server and no other."""
    return (
        f"# rndc.conf of server {build.server.name}, generated by zonesmith; do not edit.\n"
        + render_control_key(build)
        + "options {\n"
        f"    default-key {quote(CONTROL_KEY)};\n"
        "    default-server 127.0.0.1;\n"
        f"    default-port {control_port(build.server)};\n"
        "};\n"
    )


def control_files(build: ServerBuild) -> dict[str, OutputFile]:
    """rndc.conf and the control key in keys.conf (the TSIG keys join it there)."""
    if build.control_secret is None:
        return {}
    return {
        "keys.conf": OutputFile(render_control_key(build).encode(), 0o600),
        "rndc.conf": OutputFile(render_rndc_conf(build).encode(), 0o600),
    }


def _rndc(build: ServerBuild, *arguments: str, why: str) -> Command:
    conf = f"{server_path(build)}/rndc.conf"
    return command(["rndc", "-c", conf, *arguments], why)


def _zone_arguments(build: ServerBuild, view: str, name: str) -> list[str]:
    """``zone`` alone without views; ``zone IN view`` with them (rndc needs the class then)."""
    zone = name.rstrip(".") or "."
    return [zone, "IN", view] if build.uses_views else [zone]


class BindDriver(Driver):
    software = "bind"
    config_name = "named.conf"
    checkers = ("named-checkconf",)
    capabilities = Capabilities(
        roles=frozenset({"primary", "secondary", "resolver"}),
        views=True,
        catalog_producer=True,
        catalog_consumer=True,
        dnssec=True,
        rrl=True,
    )

    def render(self, build: ServerBuild, path: str) -> dict[str, OutputFile]:
        path = path.rstrip("/") or "/"
        files = {self.config_name: OutputFile(render_config(build, path).encode())}
        if build.server.role == "resolver":
            # A resolver has no keys and serves no zone of its own: only its lists.
            from zonesmith.drivers.rpz import deduplicated, render_rpz

            for compiled, names in deduplicated(_blocklists(build)):
                files[rpz_file(compiled)] = OutputFile(render_rpz(compiled, names).encode())
            files.update(control_files(build))
            return files
        files.update(control_files(build))
        if build.keys:
            files["keys.conf"] = OutputFile(
                (render_keys(build.keys) + render_control_key(build)).encode(), 0o600
            )
        for zone in build.zones:
            if zone.data is not None:
                files[zone_file(build, zone)] = OutputFile.of_zone(zone.data)
                if signed_by(build, zone) is not None:
                    files[_folder(build, KEYS, zone.view) + "/"] = OutputFile(b"", 0o700)
            elif not zone.via_catalog:
                files[zone_file(build, zone).rsplit("/", 1)[0] + "/"] = OutputFile(b"", 0o755)
        for catalog in build.catalogs:
            files[zone_file(build, catalog).rsplit("/", 1)[0] + "/"] = OutputFile(b"", 0o755)
            files[_folder(build, "catalog", catalog.view) + "/"] = OutputFile(b"", 0o755)
        return files

    def check(self, build: ServerBuild, staged: Path, display: str) -> list[Diagnostic]:
        from zonesmith.drivers.rpz import rpz_zone_name

        checkconf = find_tool("named-checkconf")
        if checkconf is None:
            return []
        run = check_copy(
            self.config_name,
            render_config(build, str(staged)),
            lambda conf: [checkconf, "-z", conf],
            staged,
            display,
            build,
        )
        if run.returncode == 0:
            return []
        diagnostics = []
        config_display = f"{display}/{self.config_name}"
        for line in run.output.splitlines():
            line = line.strip()
            if not line or "loaded serial" in line:
                continue
            position = Position(config_display)
            if match := _FILE_LINE.match(line) or _ZONE_FILE_LINE.match(line):
                position = Position(match["file"], int(match["line"]), 1)
                line = match["message"]
            elif match := _ZONE_LINE.match(line):
                zone = next(
                    (
                        z
                        for z in build.zones
                        if z.text_name.lower() == match["zone"].lower().rstrip(".")
                        and (match["view"] is None or z.view == match["view"])
                    ),
                    None,
                )
                policy = next(
                    (
                        b
                        for b in _blocklists(build)
                        if rpz_zone_name(b).rstrip(".") == match["zone"].lower().rstrip(".")
                    ),
                    None,
                )
                if zone is not None:
                    position = Position(f"{display}/{zone_file(build, zone)}")
                elif policy is not None:
                    position = Position(f"{display}/{rpz_file(policy)}")
            diagnostics.append(error(position, "named-checkconf", line))
        if not diagnostics:
            diagnostics.append(
                error(
                    Position(config_display),
                    "named-checkconf",
                    f"named-checkconf failed: {run.output}",
                )
            )
        return diagnostics

    # -- a deploy --------------------------------------------------------------

    def render_check_config(self, build: ServerBuild, staged: str) -> bytes:
        return render_config(build, staged.rstrip("/")).encode()

    def check_command(self, build: ServerBuild, staged: str) -> Command:
        conf = f"{staged.rstrip('/')}/{self.config_name}.check"
        return command(
            ["named-checkconf", "-z", conf], "named-checkconf -z: the staged files", timeout=600
        )

    def reload_commands(self, build: ServerBuild, change: ServerChange) -> list[Command]:
        """rndc, as narrow as BIND allows.

        ``rndc reload ZONE`` rereads a zone's file only when its mtime is newer
        than what named loaded: a deploy's swap renames new files in with mtime
        now, so an unchanged file is never reread and a changed one always is.
        ``rndc reconfig`` reads named.conf and keys.conf again and loads the
        zones new to it, but rereads no existing zone file: the changed zones
        follow one by one. Options take ``rndc reload`` (configuration and every
        zone file newer than loaded). A secondary's zones come by transfer after
        the primary's NOTIFY: no command. A resolver reloads (its lists are zones).
        """
        if change.empty:
            return []
        if build.server.role == "resolver" or change.options_changed:
            return [_rndc(build, "reload", why="reload the configuration and changed zone files")]
        commands = []
        if change.zone_list_changed or change.config_changed:
            commands.append(
                _rndc(build, "reconfig", why="reconfig: new keys and zone list, new zones loaded")
            )
        for view, name in change.zones_changed:
            if loads_from_file(build, view, name) and (view, name) not in change.zones_removed:
                commands.append(
                    _rndc(
                        build,
                        "reload",
                        *_zone_arguments(build, view, name),
                        why=f"reload zone {zone_label(build, view, name)}",
                    )
                )
        return commands

    def needs_restart(self, old: ServerBuild | None, new: ServerBuild) -> str | None:
        reason = restart_reason(old, new)
        if (
            reason is None
            and old is not None
            and control_port(old.server) != control_port(new.server)
        ):
            # rndc.conf names the new port once swapped in: rndc cannot reach the old one.
            return (
                f"its control channel moves to port {control_port(new.server)} "
                f"(was {control_port(old.server)}); rndc can only reach the new one"
            )
        return reason

    def key_store_check(
        self, build: ServerBuild, zone: str, view: str, algorithm: str
    ) -> Command | None:
        """A key pair ``K<zone>.+<algorithm>+<tag>.key`` and ``.private`` in the zone's key
        directory: without one, named makes new keys when it loads the zone."""
        folder = f"{server_path(build)}/{_folder(build, KEYS, view)}"
        number = int(dns.dnssectypes.Algorithm.from_text(algorithm))
        name = zone.rstrip(".").lower() + "."
        return command(
            ["sh", "-c", _KEY_PAIR_SCRIPT, "key-check", folder, name, f"{number:03d}"],
            f"the key directory {folder}",
        )

    def zone_state_command(self, build: ServerBuild, view: str, name: str) -> Command | None:
        return _rndc(
            build,
            "zonestatus",
            *_zone_arguments(build, view, name),
            why=f"state of zone {zone_label(build, view, name)}",
        )

    def last_refresh(self, output: str, expire: int, now: datetime) -> datetime | None:
        """rndc zonestatus's ``expires:`` time less the SOA expire: BIND sets a secondary
        zone's expiry to now + expire at each refresh that reaches a primary, changed or not
        (``last loaded`` moves only when a transfer brings a new serial)."""
        found = re.search(r"^expires: (.+)$", output, re.MULTILINE)
        if found is None:
            return None
        try:
            expires = parsedate_to_datetime(found.group(1).strip())
        except (TypeError, ValueError):
            return None
        return expires - timedelta(seconds=expire)
