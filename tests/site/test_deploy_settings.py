"""What a deploy reads from zonesmith.yaml: a server's host and control-port, and ``deploy:``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site

from zonesmith.model import DeploySettings
from zonesmith.pipeline import check_site
from zonesmith.site.loader import load_site

HEAD = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
servers:
  ns1:
    software: bind
    role: primary
    address: 192.0.2.1
"""


def load(tmp_path: Path, server_lines: str = "", tail: str = ""):
    root = write_site(tmp_path / "site", HEAD + server_lines + "zones: {}\n" + tail)
    return load_site(root)


@pytest.mark.parametrize(
    ("host", "user", "port"),
    [
        ("ssh://dns1.example.net", None, None),
        ("ssh://deploy@dns1.example.net:2222", "deploy", 2222),
        ("ssh://ops_team@10.0.0.5:22", "ops_team", 22),
    ],
)
def test_a_server_may_say_where_it_runs(tmp_path: Path, host: str, user, port) -> None:
    site, diagnostics = load(tmp_path, f"    host: {host}\n")
    assert diagnostics == []
    assert site.servers[0].host == host


def test_a_server_without_host_runs_on_this_machine_with_the_default_settings(
    tmp_path: Path,
) -> None:
    site, diagnostics = load(tmp_path)
    assert diagnostics == []
    assert site.servers[0].host is None and site.servers[0].control_port is None
    assert site.deploy == DeploySettings(30.0, 0.3, 10)


@pytest.mark.parametrize(
    ("host", "says"),
    [
        ("dns1.example.net", "must be ssh://[user@]host[:port]"),
        ("'ssh://-oProxyCommand=x'", "must be ssh://[user@]host[:port]"),
        ("'ssh://a b@host'", "must be ssh://[user@]host[:port]"),
        ("'ssh://host;reboot'", "must be ssh://[user@]host[:port]"),
        ("'ssh://deploy@host:0'", "port 0 must be a number from 1 to 65535"),
        ("'ssh://deploy@host:65536'", "port 65536 must be a number from 1 to 65535"),
        ("'ssh://host/path'", "must be ssh://[user@]host[:port]"),
    ],
)
def test_a_bad_host_is_one_error_where_it_is_written(tmp_path: Path, host: str, says: str) -> None:
    site, diagnostics = load(tmp_path, f"    host: {host}\n")
    assert len(diagnostics) == 1, diagnostics
    (found,) = diagnostics
    assert found.is_error and found.rule == "bad-value" and says in found.message
    assert (found.position.line, found.position.column) == (9, 11)
    assert found.position.path.endswith("zonesmith.yaml")
    assert site.servers == ()  # a server zonesmith cannot reach is not deployed half-way


def test_control_port_is_for_bind_and_a_port_number(tmp_path: Path) -> None:
    site, diagnostics = load(tmp_path, "    control-port: 9531\n")
    assert diagnostics == [] and site.servers[0].control_port == 9531
    _, diagnostics = load(tmp_path / "bad", "    control-port: 70000\n")
    assert [(d.rule, d.position.line) for d in diagnostics] == [("bad-value", 9)]
    assert "must be a number from 1 to 65535" in diagnostics[0].message
    knot = HEAD.replace("software: bind", "software: knot") + "    control-port: 9531\n"
    root = write_site(tmp_path / "knot", knot + "zones: {}\n")
    _, diagnostics = load_site(root)
    assert [d.rule for d in diagnostics] == ["bad-value"]
    assert "control-port is for BIND servers only" in diagnostics[0].message


def test_the_deploy_section_sets_timeout_threshold_and_releases(tmp_path: Path) -> None:
    tail = "deploy:\n  verify-timeout: 1m\n  mass-change: 12.5%\n  releases: 3\n"
    site, diagnostics = load(tmp_path, tail=tail)
    assert diagnostics == []
    assert site.deploy == DeploySettings(60.0, 0.125, 3)


@pytest.mark.parametrize(
    ("entry", "rule", "says"),
    [
        ("verify-timout: 10s", "unknown-key", "did you mean 'verify-timeout'?"),
        ("verify-timeout: soon", "bad-duration", "is not a duration"),
        ("verify-timeout: 0", "bad-value", "at least 1s"),
        ("mass-change: 130%", "bad-value", "must be a percentage"),
        ("mass-change: lots", "bad-value", "must be a percentage"),
        ("releases: 0", "bad-value", "must be a number from 1 to 1000"),
    ],
)
def test_a_bad_deploy_setting_is_one_error_where_it_is_written(
    tmp_path: Path, entry: str, rule: str, says: str
) -> None:
    site, diagnostics = load(tmp_path, tail=f"deploy:\n  {entry}\n")
    assert [(d.rule, d.position.line) for d in diagnostics] == [(rule, 11)], diagnostics
    assert says in diagnostics[0].message
    assert site.deploy == DeploySettings()  # the default stands in


def test_a_site_key_cannot_take_the_name_of_zonesmiths_own_keys(tmp_path: Path) -> None:
    config = (
        BASE_CONFIG
        + "keys:\n  zonesmith-control: {secret-file: secrets/k.key}\n"
        + "  xfr: {secret-file: secrets/k.key}\n"
        + "servers:\n  ns1: {software: bind, role: primary, address: 127.0.0.1}\n"
        + "zones:\n  example.com: {}\n"
    )
    site = write_site(
        tmp_path,
        config,
        {"example.com.yaml": "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"},
        {"secrets/k.key": "c2VjcmV0LW9uZQ==\n"},
    )
    _, diagnostics = check_site(site)
    assert [(d.rule, d.position.line) for d in diagnostics if d.is_error] == [("bad-identifier", 5)]
    assert "zonesmith's own" in diagnostics[0].message
