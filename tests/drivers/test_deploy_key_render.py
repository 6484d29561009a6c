"""Every primary admits a deploy's transfers from its own loopback with its deploy key; no other
server does, and the transfers to secondaries stay as they were."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site, zonesmith

XFR_SECRET = "eGZyLXRyYW5zZmVyLXNlY3JldC0wMTIzNDU2Nzg5YWI="

CONFIG = (
    BASE_CONFIG
    + """\
keys: {xfr: {algorithm: hmac-sha256, secret-file: secrets/xfr.key}}
servers:
  b1: {software: bind, role: primary, address: 192.0.2.1, path: /srv/b1}
  n1: {software: nsd, role: primary, address: 192.0.2.2, path: /srv/n1}
  k1: {software: knot, role: primary, address: 192.0.2.3, path: /srv/k1}
  b2: {software: bind, role: secondary, address: 192.0.2.4, path: /srv/b2,
       primaries: [b1, n1, k1], key: xfr}
  n2: {software: nsd, role: secondary, address: 192.0.2.5, path: /srv/n2, primaries: [b1]}
  k2: {software: knot, role: secondary, address: 192.0.2.6, path: /srv/k2, primaries: [k1],
       key: xfr}
  res: {software: unbound, role: resolver, address: 10.0.0.53, path: /srv/res}
zones:
  example.com: {servers: [b1, b2, n2]}
  example.net: {servers: [n1, b2]}
  example.org: {servers: [k1, b2, k2]}
  lone.example: {servers: [k1]}
"""
)
ZONE = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"
LOOPBACK_BIND = '{ !{ !127.0.0.1; !::1; any; }; key "zonesmith-control"; };'


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("deploy-key")
    zones = {f"{name}.yaml": ZONE for name in ("example.com", "example.net", "example.org")}
    zones["lone.example.yaml"] = "'@': NS ns1.example.com.\n"
    site = write_site(root / "site", CONFIG, zones, {"secrets/xfr.key": XFR_SECRET + "\n"})
    # build runs named-checkconf, nsd-checkconf, knotc conf-check and unbound-checkconf
    result = zonesmith("build", site, "-o", root / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    (root / "out" / "site").symlink_to(site)
    return root / "out"


def secret(out: Path, server: str) -> str:
    return (out / "site" / "secrets" / "control" / f"{server}.key").read_text().strip()


def test_a_bind_primary_admits_its_loopback_with_the_deploy_key_beside_its_secondaries(
    out: Path,
) -> None:
    named = (out / "b1" / "named.conf").read_text()
    stanza = named[named.index('zone "example.com" {') :].split("\n};\n", 1)[0]
    # The secondaries' elements follow unchanged: NSD without a key, BIND with xfr.
    assert f"allow-transfer {{ {LOOPBACK_BIND} 192.0.2.5; !{{ !192.0.2.4; any; }}; key " in stanza
    assert 'also-notify { 192.0.2.4 port 53 key "xfr"; 192.0.2.5 port 53; };' in stanza
    keys = (out / "b1" / "keys.conf").read_text()
    assert f'secret "{secret(out, "b1")}";' in keys
    assert stat.S_IMODE((out / "b1" / "keys.conf").stat().st_mode) == 0o600


def test_an_nsd_primary_provides_transfers_to_its_loopback_with_the_deploy_key(out: Path) -> None:
    nsd = (out / "n1" / "nsd.conf").read_text()
    assert 'include: "/srv/n1/keys.conf"' in nsd
    provided = re.findall(r"provide-xfr: (.*)", nsd)
    assert provided == [
        '192.0.2.4 "xfr"',
        '127.0.0.1 "zonesmith-control"',
        '::1 "zonesmith-control"',
    ]
    keys = (out / "n1" / "keys.conf").read_text()
    deploy = (
        f'name: "zonesmith-control"\n    algorithm: hmac-sha256\n    secret: "{secret(out, "n1")}"'
    )
    assert deploy in keys
    assert stat.S_IMODE((out / "n1" / "keys.conf").stat().st_mode) == 0o600


def test_a_knot_primary_has_a_loopback_acl_with_the_deploy_key_on_each_zone(out: Path) -> None:
    knot = (out / "k1" / "knot.conf").read_text()
    assert (
        '  - id: "zonesmith-deploy"\n    address: [127.0.0.1, ::1]\n'
        '    key: "zonesmith-control"\n    action: transfer\n'
    ) in knot
    acls = re.findall(r"- domain: (\S+)\n(?:    .*\n)*?    acl: (.*)", knot)
    assert dict(acls) == {
        '"example.org."': '["transfer-b2", "transfer-k2", "zonesmith-deploy"]',
        '"lone.example."': '"zonesmith-deploy"',
    }
    keys = (out / "k1" / "keys.conf").read_text()
    deploy = (
        f'id: "zonesmith-control"\n    algorithm: hmac-sha256\n    secret: "{secret(out, "k1")}"'
    )
    assert deploy in keys
    assert stat.S_IMODE((out / "k1" / "keys.conf").stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("server", "config"),
    [("b2", "named.conf"), ("n2", "nsd.conf"), ("k2", "knot.conf"), ("res", "unbound.conf")],
)
def test_no_other_server_admits_deploy_transfers(out: Path, server: str, config: str) -> None:
    text = (out / server / config).read_text()
    assert "127.0.0.1; !::1" not in text and "zonesmith-deploy" not in text
    assert "provide-xfr: 127.0.0.1" not in text
    keys = out / server / "keys.conf"
    if server != "b2":  # BIND keeps its rndc key there, not admitted for transfers
        assert not keys.exists() or "zonesmith-control" not in keys.read_text()
    assert not (out / "site" / "secrets" / "control" / f"{server}.key").exists() or server == "b2"


VIEWS = (
    BASE_CONFIG
    + """\
keys: {ext: {algorithm: hmac-sha256, secret-file: secrets/ext.key}}
views: {internal: {clients: [10.0.0.0/8]}, external: {clients: [any], key: ext}}
servers: {b1: {software: bind, role: primary, address: 192.0.2.1, path: /srv/b1}}
zones: {example.com: {}}
"""
)


def test_a_bind_primary_with_views_admits_its_loopback_with_the_key_choosing_each_view(
    tmp_path: Path,
) -> None:
    """A key chooses the view of a transfer: the deploy transfers with the view's key."""
    site = write_site(tmp_path / "site", VIEWS, {"example.com.yaml": ZONE})
    (site / "secrets").mkdir()
    (site / "secrets" / "ext.key").write_text(XFR_SECRET + "\n")
    result = zonesmith("build", site, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    named = (tmp_path / "out" / "b1" / "named.conf").read_text()
    transfers = re.findall(r"allow-transfer \{ (.*) \};", named)
    assert transfers == ["none;"] + [
        LOOPBACK_BIND,
        LOOPBACK_BIND.replace("zonesmith-control", "ext"),
    ]
