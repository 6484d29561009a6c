"""``check --online`` looks up, through the resolver it is given, what the mail rules follow
outside the site: a real NSD on 127.0.0.1 serves the "outside" zones."""

from __future__ import annotations

import json
import socket
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import free_port, requires, start_nsd
from sites import BASE_CONFIG, checkout_env, write_site, zonesmith

CONFIG = (
    BASE_CONFIG
    + "servers:\n  ns1: {software: bind, role: primary, address: 192.0.2.1}\n"
    + "zones:\n  example.com: {}\n"
)
#: seven lookups here, and four more in provider.test's chain: eleven only when followed
SPF = (
    "v=spf1 mx a:mail.example.com include:spf.provider.test a ip4:192.0.2.0/24 "
    "mx:example.com a:ns1.example.com exists:ns1.example.com -all"
)
EXAMPLE_COM = f"""\
'@': [NS ns1.example.com., MX 10 mail, A 192.0.2.10, 'TXT "{SPF}"']
ns1: A 192.0.2.1
mail: A 192.0.2.25
_dmarc: 'TXT "v=DMARC1; p=none; rua=mailto:d@reports.test,mailto:d@closed.test"'
news: [MX 10 mail, 'TXT "v=spf1 include:nospf.provider.test -all"']
shop: [MX 9 mail, 'TXT "v=spf1 a:no1.provider.test a:no2.provider.test mx:host.provider.test -all"']
"""
PROVIDER = """\
$TTL 300
@ SOA ns.provider.test. host.provider.test. 1 3600 600 86400 300
@ NS ns.provider.test.
ns A 127.0.0.1
spf TXT "v=spf1 include:a.provider.test include:b.provider.test -all"
a TXT "v=spf1 ip4:198.51.100.0/24 include:c.provider.test -all"
b TXT "v=spf1 ip4:203.0.113.0/24 -all"
c TXT "v=spf1 a:host.provider.test -all"
host A 198.51.100.7
nospf TXT "just a note"
"""
REPORTS = """\
$TTL 300
@ SOA ns.reports.test. host.reports.test. 1 3600 600 86400 300
@ NS ns.reports.test.
ns A 127.0.0.1
example.com._report._dmarc TXT "v=DMARC1"
"""
CLOSED = """\
$TTL 300
@ SOA ns.closed.test. host.closed.test. 1 3600 600 86400 300
@ NS ns.closed.test.
ns A 127.0.0.1
"""
ZONES = {"provider.test": PROVIDER, "reports.test": REPORTS, "closed.test": CLOSED}


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """NSD serving the outside zones on 127.0.0.1; its ADDRESS@PORT."""
    folder = tmp_path_factory.mktemp("outside")
    port = free_port()
    zones = ""
    for name, text in ZONES.items():
        (folder / f"{name}.zone").write_text(textwrap.dedent(text))
        zones += f'zone:\n    name: "{name}"\n    zonefile: "{folder}/{name}.zone"\n'
    (folder / "nsd.conf").write_text(
        "server:\n"
        f"    ip-address: 127.0.0.1@{port}\n"
        '    username: ""\n'
        '    database: ""\n'
        f'    pidfile: "{folder}/nsd.pid"\n'
        f'    zonelistfile: "{folder}/zone.list"\n'
        f'    xfrdfile: "{folder}/xfrd.state"\n'
        "    verbosity: 1\n"
        "remote-control:\n    control-enable: no\n" + zones
    )
    with start_nsd(folder / "nsd.conf", "127.0.0.1", port, "provider.test", folder / "nsd.log"):
        yield f"127.0.0.1@{port}"


def _site(tmp_path: Path) -> Path:
    return write_site(tmp_path, CONFIG, {"example.com.yaml": EXAMPLE_COM})


def _rules(report: dict) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for diagnostic in report["diagnostics"]:
        found.setdefault(diagnostic["rule"], []).append(diagnostic["message"])
    return found


def test_offline_names_outside_are_not_checked_and_silent(tmp_path: Path) -> None:
    run = zonesmith("check", "--json", _site(tmp_path))
    report = json.loads(run.stdout)
    assert run.returncode == 0 and report["diagnostics"] == []
    assert report["not_checked"] == [
        "closed.test",
        "host.provider.test",
        "no1.provider.test",
        "no2.provider.test",
        "nospf.provider.test",
        "reports.test",
        "spf.provider.test",
    ]


@requires("nsd")
def test_online_rules_judge_across_the_site_boundary(tmp_path: Path, outside: str) -> None:
    run = zonesmith("check", "--json", "--online", "--resolver", outside, _site(tmp_path))
    report = json.loads(run.stdout)
    rules = _rules(report)
    assert run.returncode == 1, run.stdout
    # 7 lookups in the site, 4 in provider.test's chain (a, b, c, a:host)
    assert "spf-lookups" in rules, report
    (lookups,) = rules["spf-lookups"]
    assert "SPF record of '@'" in lookups and "11 counted" in lookups
    # two names without addresses and one without MX, all outside
    (voids,) = rules["spf-void-lookups"]
    assert "'shop'" in voids and "names 3 names" in voids
    (missing,) = rules["spf-include-missing"]
    assert "include:nospf.provider.test" in missing and "outside the site" in missing
    # reports.test authorizes example.com's reports; closed.test does not
    (unauthorized,) = rules["dmarc-report-unauthorized"]
    assert "'closed.test'" in unauthorized and "reports.test" not in unauthorized
    assert report["not_checked"] == []


@requires("nsd")
def test_online_with_the_authorizations_in_place_is_silent(tmp_path: Path, outside: str) -> None:
    site = write_site(
        tmp_path,
        CONFIG,
        {
            "example.com.yaml": EXAMPLE_COM.replace(",mailto:d@closed.test", "")
            .replace("include:spf.provider.test", "include:b.provider.test")
            .replace("nospf.provider.test", "c.provider.test")
            .replace("mx:host", "a:host")
        },
    )
    run = zonesmith("check", "--json", "--online", "--resolver", outside, site)
    report = json.loads(run.stdout)
    assert run.returncode == 0 and report["diagnostics"] == [], run.stdout


@requires("nsd")
def test_build_online_refuses_what_check_online_finds(tmp_path: Path, outside: str) -> None:
    site, out = _site(tmp_path / "site"), tmp_path / "out"
    offline = zonesmith("build", "--no-server-checks", "-o", out, site)
    assert offline.returncode == 0, offline.stdout
    env_run = zonesmith(
        "build",
        "--no-server-checks",
        "--online",
        "-o",
        out,
        site,
        env={**checkout_env(), "ZONESMITH_RESOLVER": outside},
    )
    assert env_run.returncode == 1 and "[spf-lookups]" in env_run.stdout, env_run.stdout
    assert "nothing was written" in env_run.stdout


def test_a_resolver_that_does_not_answer_leaves_every_name_not_checked(tmp_path: Path) -> None:
    # a port nothing listens on: UDP queries are refused by the kernel
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    site = _site(tmp_path)
    started = time.monotonic()
    run = zonesmith("check", "--json", "--online", "--resolver", f"127.0.0.1@{closed}", site)
    took = time.monotonic() - started
    report = json.loads(run.stdout)
    assert run.returncode == 0 and report["diagnostics"] == [], run.stdout
    names = [entry["name"] for entry in report["not_checked"]]
    assert names == [
        "example.com._report._dmarc.closed.test",
        "example.com._report._dmarc.reports.test",
        "host.provider.test",
        "no1.provider.test",
        "no2.provider.test",
        "nospf.provider.test",
        "spf.provider.test",
    ]
    assert all("query" in entry["reason"] for entry in report["not_checked"])
    assert took < 30  # the lookups' deadline (10 s) and the command's own start


def test_a_resolver_that_is_not_an_address_is_refused(tmp_path: Path) -> None:
    run = zonesmith("check", "--online", "--resolver", "localhost@53", _site(tmp_path))
    assert run.returncode == 2 and "--resolver" in run.stderr
