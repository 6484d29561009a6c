"""`zonesmith check` on the fleet: servers, roles, primaries, views and keys."""

from __future__ import annotations

from pathlib import Path

from sites import BASE_CONFIG, write_site

from zonesmith.pipeline import check_site

ZONE = {"example.com.yaml": "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"}
KEYS = """\
keys:
  xfr: {secret-file: secrets/xfr.key}
  internal-xfr: {secret-file: secrets/internal.key}
"""
SECRETS = {"secrets/xfr.key": "c2VjcmV0LW9uZQ==\n", "secrets/internal.key": "c2VjcmV0LXR3bw==\n"}


def problems(tmp_path: Path, servers: str, extra: str = "", zones: str = "  example.com: {}\n"):
    config = BASE_CONFIG + KEYS + extra + "servers:\n" + servers + "zones:\n" + zones
    site = write_site(tmp_path, config, ZONE, SECRETS)
    _, diagnostics = check_site(site)
    return {(d.rule, d.position.line) for d in diagnostics}


def test_a_sound_fleet_passes(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.100, hidden: true}
  ns2: {software: nsd, role: secondary, address: 192.0.2.2, primaries: [ns1], key: xfr}
  ns3: {software: knot, role: secondary, address: 192.0.2.3, primaries: [ns1], key: xfr}
"""
    assert problems(tmp_path, servers) == set()


def test_unknown_primary_and_key(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ns2: {software: nsd, role: secondary, address: 192.0.2.2, primaries: [ns9], key: xrf}
"""
    found = problems(tmp_path, servers)
    assert ("unknown-server", 9) in found
    assert ("unknown-tsig-key", 9) in found


def test_cycle_in_primaries(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ns2: {software: bind, role: secondary, address: 192.0.2.2, primaries: [ns3]}
  ns3: {software: bind, role: secondary, address: 192.0.2.3, primaries: [ns2]}
"""
    assert {rule for rule, _ in problems(tmp_path, servers)} >= {"primary-cycle"}


def test_secondary_of_a_zone_no_primary_serves(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ns2: {software: nsd, role: secondary, address: 192.0.2.2, primaries: [ns1]}
"""
    zones = "  example.com: {servers: [ns2]}\n"
    assert ("no-primary-for-zone", 9) in problems(tmp_path, servers, zones=zones)


def test_views_on_software_without_views(tmp_path: Path) -> None:
    views = "views:\n  internal: {clients: [10.0.0.0/8]}\n  external: {clients: [any]}\n"
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ns2: {software: nsd, role: secondary, address: 192.0.2.2, primaries: [ns1], key: xfr}
"""
    found = problems(tmp_path, servers, views)
    assert ("views-unsupported", 12) in found


def test_view_split_needs_a_key_per_view(tmp_path: Path) -> None:
    keyed_views = (
        "views:\n  internal: {clients: [10.0.0.0/8], key: internal-xfr}\n"
        "  external: {clients: [any], key: xfr}\n"
    )
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ns2: {software: nsd, role: secondary, address: 192.0.2.2, primaries: [ns1], key: xfr}
  ns3: {software: bind, role: secondary, address: 192.0.2.3, primaries: [ns1]}
"""
    # ns2's key selects the external view; ns3 transfers each view with the view's key
    assert problems(tmp_path / "keyed", servers, keyed_views) == set()
    plain_views = "views:\n  internal: {clients: [10.0.0.0/8]}\n  external: {clients: [any]}\n"
    servers = servers.replace(", key: xfr}", ", key: xfr, views: [external]}")
    found = problems(tmp_path / "plain", servers, plain_views)
    assert found == {("view-key-missing", 13)}


def test_catalog_needs_keys(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1, catalog: catalog.example.}
  ns2: {software: knot, role: secondary, address: 192.0.2.2, primaries: [ns1]}
"""
    assert ("view-key-missing", 9) in problems(tmp_path, servers)


def test_roles_the_software_cannot_take(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  res: {software: nsd, role: resolver, address: 192.0.2.9}
"""
    assert ("unsupported-role", 9) in problems(tmp_path, servers)


def test_hidden_primary_named_in_ns_is_a_warning(tmp_path: Path) -> None:
    servers = "  ns1: {software: bind, role: primary, address: 192.0.2.1, hidden: true}\n"
    found = problems(tmp_path, servers)
    assert found == {("hidden-primary-in-ns", 1)}  # line 1 of zones/example.com.yaml


def test_two_servers_on_one_socket(tmp_path: Path) -> None:
    servers = """\
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ns2: {software: bind, role: secondary, address: 192.0.2.1, primaries: [ns1]}
"""
    assert ("duplicate-listen", 9) in problems(tmp_path, servers)
