"""What the drivers write for the shapes the site-shape matrix found wrong:
a BIND catalog consumer without views, resolvers without declared clients."""

from __future__ import annotations

import re
from pathlib import Path

from sites import BASE_CONFIG, write_site

from zonesmith.pipeline import build_site

SECRET = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA=="


def built(tmp_path: Path, config: str) -> Path:
    root = write_site(
        tmp_path / "site",
        BASE_CONFIG + config,
        {"example.com.yaml": "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"},
        {"secrets/x.key": SECRET + "\n"},
    )
    out = tmp_path / "out"
    build_site(root, out)
    return out


def blocks(conf: str) -> dict[str, str]:
    """Top-level statements of a named.conf by their first line."""
    return {m[1]: m[0] for m in re.finditer(r"(?ms)^(\S[^\n]*\{)\n.*?^};$", conf)}


CATALOG = """\
keys:
  x: {algorithm: hmac-sha256, secret-file: secrets/x.key}
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1, catalog: catalog.example.com.}
  ns2: {software: bind, role: secondary, address: 192.0.2.2, primaries: [ns1], key: x}
zones:
  example.com: {}
"""


def test_a_bind_catalog_consumer_without_views_has_catalog_zones_in_options(
    tmp_path: Path,
) -> None:
    conf = (built(tmp_path, CATALOG) / "ns2" / "named.conf").read_text()
    options = blocks(conf)["options {"]
    assert 'catalog-zones {\n        zone "catalog.example.com"' in options
    assert conf.count("catalog-zones {") == 1
    assert not re.search(r"(?m)^catalog-zones", conf)


def test_a_bind_catalog_consumer_with_views_has_catalog_zones_in_its_view(
    tmp_path: Path,
) -> None:
    config = CATALOG.replace("servers:", "views:\n  all: {clients: [any], key: x}\nservers:")
    conf = (built(tmp_path, config) / "ns2" / "named.conf").read_text()
    assert "catalog-zones" not in blocks(conf)["options {"]
    assert "catalog-zones {" in blocks(conf)['view "all" {']


RESOLVERS = """\
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  ru: {software: unbound, role: resolver, address: 192.0.2.53}
  rb: {software: bind, role: resolver, address: 192.0.2.54}
zones:
  example.com: {}
"""


def access_control(out: Path) -> list[str]:
    conf = (out / "ru" / "unbound.conf").read_text()
    return re.findall(r"(?m)^\s*access-control: (.*)$", conf)


def test_resolvers_without_declared_clients_answer_their_own_host_only(tmp_path: Path) -> None:
    out = built(tmp_path, RESOLVERS)
    assert access_control(out) == [
        "0.0.0.0/0 refuse",
        "::/0 refuse",
        "127.0.0.0/8 refuse",
        "127.0.0.1/32 allow",
        "::1/128 allow",
        "192.0.2.53/32 allow",
    ]
    conf = (out / "rb" / "named.conf").read_text()
    for option in ("allow-query", "allow-recursion", "allow-query-cache"):
        assert f"    {option} {{ 127.0.0.1; ::1; 192.0.2.54; }};" in conf


def test_an_unbound_resolver_for_anybody_does_not_refuse_its_host(tmp_path: Path) -> None:
    config = "views:\n  everybody: {clients: [any]}\n" + RESOLVERS
    assert access_control(built(tmp_path, config)) == ["0.0.0.0/0 allow", "::/0 allow"]
