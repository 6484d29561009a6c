"""The resolver client rules: resolver-loopback-only and open-resolver."""

from __future__ import annotations

from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site

from zonesmith.pipeline import check_site

VIEWS = """\
views:
  internal: {clients: [10.0.0.0/8, '!10.9.9.9']}
  wide4: {clients: [0.0.0.0/0]}
  wide6: {clients: ['::/0']}
  external: {clients: [any]}
"""


def found(tmp_path: Path, config: str) -> list[tuple[str, str, int]]:
    """(severity:rule, message, line) of every diagnostic of the site."""
    root = write_site(tmp_path / "site", BASE_CONFIG + config)
    _, diagnostics = check_site(root)
    return [
        (f"{d.severity.value}:{d.rule}", d.message, d.position.line)
        for d in diagnostics
        if d.rule in ("resolver-loopback-only", "open-resolver")
    ]


def test_a_resolver_without_declared_clients_says_it_answers_its_host_only(
    tmp_path: Path,
) -> None:
    config = """\
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1}
  res1: {software: unbound, role: resolver, address: 192.0.2.53}
"""
    [(rule, message, line)] = found(tmp_path, config)
    assert rule == "warning:resolver-loopback-only"
    assert line == 6  # the resolver's line in zonesmith.yaml
    assert "127.0.0.1, ::1, 192.0.2.53" in message


def test_a_resolver_with_declared_clients_is_silent(tmp_path: Path) -> None:
    config = (
        VIEWS
        + """\
servers:
  res1: {software: bind, role: resolver, address: 10.0.0.53, views: [internal]}
"""
    )
    assert found(tmp_path, config) == []


@pytest.mark.parametrize("view", ["external", "wide4", "wide6"])
def test_a_resolver_for_every_address_is_an_open_resolver(tmp_path: Path, view: str) -> None:
    config = (
        VIEWS
        + f"""\
servers:
  res1: {{software: unbound, role: resolver, address: 10.0.0.53, views: [internal, {view}]}}
"""
    )
    [(rule, message, _)] = found(tmp_path, config)
    assert rule == "warning:open-resolver"
    assert f"view '{view}'" in message


def test_no_views_is_not_an_open_resolver(tmp_path: Path) -> None:
    config = """\
servers:
  res1: {software: bind, role: resolver, address: 192.0.2.53}
"""
    assert [rule for rule, _, _ in found(tmp_path, config)] == ["warning:resolver-loopback-only"]
