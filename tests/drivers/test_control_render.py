"""Control channels in the built files, and what each driver runs to reload a change."""

from __future__ import annotations

import dataclasses
import re
import stat
from pathlib import Path

import pytest
from sites import write_site, zonesmith

from zonesmith.compile.fleet import ServerBuild
from zonesmith.drivers import driver_for, redact
from zonesmith.drivers.control import ServerChange
from zonesmith.pipeline import server_builds
from zonesmith.site.loader import load_site

XFR_SECRET = "eGZyLXRyYW5zZmVyLXNlY3JldC0wMTIzNDU2Nzg5YWI="

CONFIG = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
keys:
  ext: {algorithm: hmac-sha256, secret-file: secrets/ext.key}
views:
  internal: {clients: [10.0.0.0/8]}
  external: {clients: [any], key: ext}
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1, path: /srv/ns1,
        control-port: 9531}
  ns2: {software: bind, role: secondary, address: 192.0.2.2, path: /srv/ns2,
        primaries: [ns1], views: [external]}
  ns3: {software: nsd, role: secondary, address: 192.0.2.3, path: /srv/ns3,
        primaries: [ns1], key: ext}
  ns4: {software: knot, role: primary, address: 192.0.2.4, path: /srv/ns4, views: [internal]}
  res1: {software: bind, role: resolver, address: 10.0.0.53, path: /srv/res1,
         views: [internal]}
  res2: {software: unbound, role: resolver, address: 10.0.0.54, path: /srv/res2,
         views: [internal]}
zones:
  example.com: {}
  example.net: {servers: [ns4], views: [internal]}
"""
ZONES = {
    "example.com.yaml": "'@': NS ns1.example.com.\nns1: A 192.0.2.1\nwww: A 192.0.2.80\n",
    "example.net.yaml": "'@': NS ns1.example.com.\n",
}


@pytest.fixture()
def site(tmp_path: Path) -> Path:
    return write_site(tmp_path / "site", CONFIG, ZONES, {"secrets/ext.key": XFR_SECRET + "\n"})


def build(site: Path, out: Path, *extra: str) -> str:
    """Build with the servers' own checkers (named-checkconf, nsd-checkconf, knotc, ...)."""
    result = zonesmith("build", site, "-o", out, *extra)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def control_secret(site: Path, server: str) -> str:
    return (site / "secrets" / "control" / f"{server}.key").read_text().strip()


def test_bind_gets_an_rndc_channel_with_its_own_key_and_port(site: Path, tmp_path: Path) -> None:
    build(site, tmp_path / "out")
    ns1 = tmp_path / "out" / "ns1"
    secret = control_secret(site, "ns1")
    named = (ns1 / "named.conf").read_text()
    assert 'include "/srv/ns1/keys.conf";' in named
    assert (
        'controls { inet 127.0.0.1 port 9531 allow { 127.0.0.1; } keys { "zonesmith-control"; }; };'
        in named
    )
    assert secret not in named
    keys = (ns1 / "keys.conf").read_text()
    assert f'key "zonesmith-control" {{\n    algorithm hmac-sha256;\n    secret "{secret}";' in keys
    assert XFR_SECRET in keys  # the TSIG keys stay beside it
    rndc = (ns1 / "rndc.conf").read_text()
    assert f'secret "{secret}";' in rndc and "default-port 9531;" in rndc
    assert mode(ns1 / "keys.conf") == mode(ns1 / "rndc.conf") == 0o600
    # Without control-port: BIND's default port, and a key of its own.
    ns2 = tmp_path / "out" / "ns2"
    assert "default-port 953;" in (ns2 / "rndc.conf").read_text()
    assert control_secret(site, "ns2") in (ns2 / "keys.conf").read_text()
    assert control_secret(site, "ns2") != secret


def test_a_bind_resolver_gets_a_channel_too(site: Path, tmp_path: Path) -> None:
    build(site, tmp_path / "out")
    res1 = tmp_path / "out" / "res1"
    named = (res1 / "named.conf").read_text()
    assert named.splitlines()[1] == 'include "/srv/res1/keys.conf";'
    assert "controls { inet 127.0.0.1 port 953 " in named
    keys = (res1 / "keys.conf").read_text()
    assert keys.count("key ") == 1 and control_secret(site, "res1") in keys


def test_knot_nsd_and_unbound_are_controlled_through_a_socket_in_their_folder(
    site: Path, tmp_path: Path
) -> None:
    build(site, tmp_path / "out")
    out = tmp_path / "out"
    assert 'control:\n    listen: "/srv/ns4/knot.sock"' in (out / "ns4" / "knot.conf").read_text()
    nsd = (out / "ns3" / "nsd.conf").read_text()
    assert 'control-enable: yes\n    control-interface: "/srv/ns3/nsd.sock"' in nsd
    unbound = (out / "res2" / "unbound.conf").read_text()
    assert 'control-enable: yes\n    control-interface: "/srv/res2/unbound.ctl"' in unbound
    # No shared secret for a socket: BIND servers have one for rndc, and the Knot
    # primary ns4 one for its deploy key; the NSD secondary and Unbound none.
    assert sorted(p.name for p in (site / "secrets" / "control").iterdir()) == [
        "ns1.key",
        "ns2.key",
        "ns4.key",
        "res1.key",
    ]


def test_the_control_secret_is_made_once_private_and_never_shown(
    site: Path, tmp_path: Path
) -> None:
    first = build(site, tmp_path / "out", "--json")
    secret_file = site / "secrets" / "control" / "ns1.key"
    secret = control_secret(site, "ns1")
    assert re.fullmatch(r"[A-Za-z0-9+/]{43}=", secret)  # 32 random bytes
    assert mode(secret_file) == 0o600 and mode(secret_file.parent) == 0o700
    keys = (tmp_path / "out" / "ns1" / "keys.conf").read_bytes()
    again = build(site, tmp_path / "out", "--no-cache")
    assert control_secret(site, "ns1") == secret
    assert (tmp_path / "out" / "ns1" / "keys.conf").read_bytes() == keys
    check = zonesmith("check", site)
    for output in (first, again, check.stdout + check.stderr):
        assert secret not in output


def test_a_secret_that_is_not_base64_is_one_sentence_at_its_file(
    site: Path, tmp_path: Path
) -> None:
    build(site, tmp_path / "out")
    (site / "secrets" / "control" / "ns1.key").write_text("not a secret!\n")
    result = zonesmith("build", site, "-o", tmp_path / "out")
    assert result.returncode == 1
    assert "secrets/control/ns1.key" in result.stdout + result.stderr
    assert "does not hold a base64 secret" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_checker_output_never_holds_the_control_secret(site: Path) -> None:
    secret = "Y29udHJvbC1zZWNyZXQtZm9yLWEtdGVzdC0wMTIzNDU2Nzg="
    build_ = dataclasses.replace(builds(site)["ns1"], control_secret=secret)
    said = f'keys.conf:3: bad secret "{secret}"'
    assert redact(said, build_) == 'keys.conf:3: bad secret "(secret)"'


# --------------------------------------------------------------------------- reload commands


def builds(site: Path) -> dict[str, ServerBuild]:
    loaded, diagnostics = load_site(site)
    assert not [d for d in diagnostics if d.is_error]
    return server_builds(loaded)


def commands(build: ServerBuild, change: ServerChange) -> list[tuple[str, ...]]:
    driver = driver_for(build.server.software)
    assert driver is not None
    return [command.argv for command in driver.reload_commands(build, change)]


def test_bind_reloads_one_zone_of_one_view_and_reconfigs_for_a_new_zone(site: Path) -> None:
    ns1 = builds(site)["ns1"]
    rndc = ("rndc", "-c", "/srv/ns1/rndc.conf")
    changed = ServerChange(zones_changed=(("external", "example.com"),))
    assert commands(ns1, changed) == [(*rndc, "reload", "example.com", "IN", "external")]
    added = dataclasses.replace(changed, zones_added=(("internal", "example.org"),))
    assert commands(ns1, added) == [
        (*rndc, "reconfig"),
        (*rndc, "reload", "example.com", "IN", "external"),
    ]
    options = dataclasses.replace(added, config_changed=True, options_changed=True)
    assert commands(ns1, options) == [(*rndc, "reload")]
    assert commands(ns1, ServerChange()) == []


def test_secondaries_take_zone_content_by_notify_but_reconfig_for_a_new_zone(site: Path) -> None:
    fleet = builds(site)
    changed = ServerChange(zones_changed=(("external", "example.com"),))
    assert commands(fleet["ns2"], changed) == []
    assert commands(fleet["ns3"], changed) == []
    added = ServerChange(zones_added=(("external", "example.com"),), config_changed=True)
    assert commands(fleet["ns2"], added) == [("rndc", "-c", "/srv/ns2/rndc.conf", "reconfig")]
    assert commands(fleet["ns3"], added) == [("nsd-control", "-c", "/srv/ns3/nsd.conf", "reconfig")]


def test_knot_waits_for_each_reload_and_reloads_its_config_for_a_new_zone(site: Path) -> None:
    ns4 = builds(site)["ns4"]
    knotc = ("knotc", "-s", "/srv/ns4/knot.sock", "-b")
    changed = ServerChange(zones_changed=(("internal", "example.net"),))
    assert commands(ns4, changed) == [(*knotc, "zone-reload", "example.net.")]
    added = ServerChange(zones_added=(("internal", "example.org"),), config_changed=True)
    assert commands(ns4, added) == [(*knotc, "reload")]


def test_resolvers_reload_for_their_config_and_unbound_checks_first(site: Path) -> None:
    fleet = builds(site)
    change = ServerChange(config_changed=True)
    assert commands(fleet["res1"], change) == [("rndc", "-c", "/srv/res1/rndc.conf", "reload")]
    assert commands(fleet["res2"], change) == [
        ("unbound-checkconf", "/srv/res2/unbound.conf"),
        ("unbound-control", "-c", "/srv/res2/unbound.conf", "reload"),
    ]


def test_a_new_listen_address_or_control_port_needs_a_restart(site: Path) -> None:
    fleet = builds(site)
    for name in ("ns1", "ns3", "ns4", "res2"):
        build_ = fleet[name]
        driver = driver_for(build_.server.software)
        assert driver is not None
        assert driver.needs_restart(build_, build_) is None
        assert driver.needs_restart(None, build_) is None  # a first install starts it
        moved = dataclasses.replace(build_, server=dataclasses.replace(build_.server, port=5353))
        reason = driver.needs_restart(build_, moved)
        assert reason is not None and "port 5353" in reason
    ns1 = fleet["ns1"]
    other_port = dataclasses.replace(ns1, server=dataclasses.replace(ns1.server, control_port=9999))
    reason = driver_for("bind").needs_restart(ns1, other_port)  # type: ignore[union-attr]
    assert reason is not None and "9999" in reason


def test_the_check_on_the_target_uses_a_config_rendered_for_the_staged_tree(site: Path) -> None:
    fleet = builds(site)
    for name, config in (("ns1", "named.conf"), ("ns3", "nsd.conf"), ("ns4", "knot.conf")):
        staged = f"/var/tmp/staged-{name}/tree"
        driver = driver_for(fleet[name].server.software)
        assert driver is not None
        rendered = driver.render_check_config(fleet[name], staged).decode()
        assert staged in rendered and f"/srv/{name}/" not in rendered
        command = driver.check_command(fleet[name], staged)
        assert f"{staged}/{config}.check" in command.argv


def test_a_secret_that_cannot_be_made_is_one_sentence(site: Path, tmp_path: Path) -> None:
    (site / "secrets" / "control").write_text("a file where the folder belongs\n")
    result = zonesmith("build", site, "-o", tmp_path / "out")
    assert result.returncode == 1
    said = result.stdout + result.stderr
    assert (
        "server 'ns1': cannot read or create its control secret: secrets/control is not a folder"
        in said
    )
    assert "Traceback" not in said and not (tmp_path / "out").exists()
