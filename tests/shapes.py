"""Sites of many shapes, for the site-shape matrix (tests/e2e/test_site_shapes.py).

A shape is one primary (BIND, NSD or Knot), with or without views, with or
without a catalog, hidden or visible. Every shape has the same other servers:
a BIND, an NSD and a Knot secondary, an Unbound and a BIND resolver, all on
127.0.0.1 with ports of their own and ``path`` in the output folder, so the
real servers run straight from the build. Three zones: example.com and
example.org on every authoritative server, only.example on the primary and
the Knot secondary only (a zone served by a subset of the servers).

With views (a BIND primary only: NSD and Knot have none), ``internal`` is
127.0.0.1 with key ``int`` and ``external`` everybody else with key ``ext``;
the NSD secondary takes the external view, the Knot secondary the internal
one, the BIND secondary both; the resolvers serve the internal view. Without
views every secondary uses key ``xfr``, and the resolvers declare no clients.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from servers import free_port
from sites import write_site

SECRETS = {
    "xfr": "eGZyLXRyYW5zZmVyLXNlY3JldC0wMTIzNDU2Nzg5YWI=",
    "int": "aW50ZXJuYWwtdHJhbnNmZXItc2VjcmV0LTAxMjM0NTY3",
    "ext": "ZXh0ZXJuYWwtdHJhbnNmZXItc2VjcmV0LTAxMjM0NTY3",
}
#: secondary server name -> software
SECONDARIES = {"sb": "bind", "sn": "nsd", "sk": "knot"}
#: resolver server name -> software
RESOLVERS = {"ru": "unbound", "rb": "bind"}
#: Where every server listens (each on a port of its own).
ADDRESS = "127.0.0.1"
#: The zone served by the primary and the Knot secondary only.
SUBSET_ZONE = "only.example"
SUBSET_SERVERS = ("pr", "sk")
WWW = "192.0.2.80"


@dataclass(frozen=True)
class Shape:
    primary: str
    views: bool
    catalog: bool
    hidden: bool

    @property
    def id(self) -> str:
        return "-".join(
            [
                self.primary,
                "views" if self.views else "noviews",
                "catalog" if self.catalog else "nocatalog",
                "hidden" if self.hidden else "visible",
            ]
        )

    @property
    def servers(self) -> dict[str, str]:
        """Every server name -> software."""
        return {"pr": self.primary, **SECONDARIES, **RESOLVERS}


def all_shapes() -> list[Shape]:
    """Every shape zonesmith supports: views need a BIND primary."""
    return [
        Shape(primary, views, catalog, hidden)
        for primary, views, catalog, hidden in itertools.product(
            ("bind", "nsd", "knot"), (False, True), (False, True), (False, True)
        )
        if primary == "bind" or not views
    ]


def _server_lines(shape: Shape, out: Path, ports: dict[str, int]) -> list[str]:
    def line(name: str, role: str, extra: str = "") -> str:
        software = shape.servers[name]
        if software == "bind":  # BIND servers on one host each need a control port
            extra += f", control-port: {ports[name + '.control']}"
        return (
            f"  {name}: {{software: {software}, role: {role}, address: {ADDRESS}, "
            f"port: {ports[name]}, path: '{out / name}'{extra}}}"
        )

    primary = ""
    if shape.hidden:
        primary += ", hidden: true"
    if shape.catalog:
        primary += ", catalog: catalog.example."
    keys = {"sb": "", "sn": ", key: ext", "sk": ", key: int"} if shape.views else {}
    lines = [line("pr", "primary", primary)]
    for name in SECONDARIES:
        lines.append(line(name, "secondary", ", primaries: [pr]" + keys.get(name, ", key: xfr")))
    for name in RESOLVERS:
        lines.append(line(name, "resolver", ", views: [internal]" if shape.views else ""))
    return lines


def site_config(shape: Shape, out: Path, ports: dict[str, int]) -> str:
    lines = [
        "defaults:",
        "  ttl: 1h",
        "  soa: {primary: sb.example.com., contact: hostmaster@example.com, "
        "refresh: 1h, retry: 10}",
        "keys:",
    ]
    for key in ("int", "ext") if shape.views else ("xfr",):
        lines.append(f"  {key}: {{algorithm: hmac-sha256, secret-file: secrets/{key}.key}}")
    if shape.views:
        lines += [
            "views:",
            f"  internal: {{clients: [{ADDRESS}], key: int}}",
            "  external: {clients: [any], key: ext}",
        ]
    lines.append("servers:")
    lines += _server_lines(shape, out, ports)
    visible = [] if shape.hidden else ["pr"]
    every = ", ".join(f"NS {name}.example.com." for name in [*visible, *SECONDARIES])
    subset = ", ".join(f"NS {name}.example.com." for name in [*visible, "sk"])
    lines += [
        "sets:",
        f"  ns: {{'@': [{every}]}}",
        f"  subset-ns: {{'@': [{subset}]}}",
        "zones:",
        "  example.com: {include: [ns]}",
        "  example.org: {include: [ns]}",
        f"  {SUBSET_ZONE}: {{include: [subset-ns], servers: [{', '.join(SUBSET_SERVERS)}]}}",
        "",
    ]
    return "\n".join(lines)


def example_com(shape: Shape) -> str:
    # Addresses of documentation: the servers are reached through their configs.
    names = ["pr", *SECONDARIES]
    text = "".join(f"{name}: A 192.0.2.{n}\n" for n, name in enumerate(names, 1))
    text += f"www: A {WWW}\n"
    if shape.views:
        text += "intranet: {view: internal, records: A 10.0.0.20}\n"
    return text


def write_shape(shape: Shape, root: Path) -> tuple[Path, Path, dict[str, int]]:
    """Write the site of ``shape`` under ``root``: (site, output folder, ports)."""
    site, out = root / "site", root / "out"
    ports: dict[str, int] = {}
    wanted = [*shape.servers]
    wanted += [f"{name}.control" for name, software in shape.servers.items() if software == "bind"]
    for name in wanted:
        for _ in range(20):  # free_port does not hold the port: draw until a new one
            ports[name] = free_port(ADDRESS)
            if list(ports.values()).count(ports[name]) == 1:
                break
        else:
            raise AssertionError("no port free for every server")
    write_site(
        site,
        site_config(shape, out, ports),
        {
            "example.com.yaml": example_com(shape),
            "example.org.yaml": f"www: A {WWW}\n",
            f"{SUBSET_ZONE}.yaml": f"www: A {WWW}\n",
        },
        {f"secrets/{key}.key": secret + "\n" for key, secret in SECRETS.items()},
    )
    return site, out, ports
