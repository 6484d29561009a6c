"""Deploying to a primary with no secondaries: apply verifies it by AXFR on its own host.

A primary admits transfers from its secondaries and from its own loopback
signed with its deploy key; a lone primary has no secondaries, so only the
deploy key (used by dig or kdig on the primary's host) lets apply check that
it serves the build. Each software runs as a real server on 127.0.0.1.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import dns.exception
import dns.query
import dns.rcode
import dns.zone
import pytest
import servers
from servers import RunningServer, answers, free_port, query
from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.deploy.axfr import transfer
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.observe import (
    QUERY_TIMEOUT,
    Question,
    observe,
    soa_serials,
    soa_serials_on,
)
from zonesmith.deploy.transport import LocalTransport
from zonesmith.drivers.control import CONTROL_KEY

pytestmark = [pytest.mark.servers, servers.requires("dig")]

ADDRESS = "127.0.0.1"

SITE = (
    BASE_CONFIG.replace("{", "{{").replace("}", "}}")
    + """\
deploy: {{verify-timeout: 20s}}
servers:
  ns1: {{software: {software}, role: primary, address: {address}, port: {port},
        path: {path}{extra}}}
zones:
  example.com: {{}}
"""
)

#: A well-formed secret that is not the deploy key's.
XFR_WRONG = "d3Jvbmctc2VjcmV0LXdyb25nLXNlY3JldC0wMTIzNDU="
ZONE = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\nwww: A 192.0.2.80\n"

Starter = Callable[..., RunningServer]
SOFTWARE: dict[str, tuple[str, Starter, tuple[str, ...]]] = {
    "bind": ("named.conf", servers.start_named, ("named", "rndc")),
    "knot": ("knot.conf", servers.start_knot, ("knotd", "knotc")),
    "nsd": ("nsd.conf", servers.start_nsd, ("nsd", "nsd-control")),
}


class LonePrimary:
    def __init__(self, root: Path, software: str) -> None:
        self.root = root
        self.software = software
        self.site = root / "site"
        self.path = root / "srv" / "ns1"
        self.port = free_port(ADDRESS)
        control = free_port(ADDRESS)
        extra = f", control-port: {control}" if software == "bind" else ""
        config = SITE.format(
            software=software, address=ADDRESS, port=self.port, path=self.path, extra=extra
        )
        write_site(self.site, config, {"example.com.yaml": ZONE})

    def www(self) -> list[str]:
        response = query("www.example.com", "A", ADDRESS, self.port)
        assert response.rcode() == dns.rcode.NOERROR
        return answers(response)

    def edit(self, address: str) -> None:
        text = ZONE.replace("192.0.2.80", address)
        (self.site / "zones" / "example.com.yaml").write_text(text)


@pytest.fixture(params=sorted(SOFTWARE))
def primary(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LonePrimary]:
    config, start, tools = SOFTWARE[request.param]
    missing = [tool for tool in tools if servers.find_binary(tool) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}")
    primary = LonePrimary(tmp_path, request.param)
    first = zonesmith("apply", primary.site, "--yes")
    assert first.returncode == 0, first.stdout + first.stderr
    server = start(primary.path / config, ADDRESS, primary.port, "example.com", tmp_path / "log")
    server.start()
    try:
        yield primary
    finally:
        server.stop()


def test_apply_verifies_a_primary_without_secondaries(primary: LonePrimary) -> None:
    assert primary.www() == ["192.0.2.80"]
    for address in ("192.0.2.81", "192.0.2.82"):
        primary.edit(address)
        applied = zonesmith("apply", primary.site, "--yes")
        said = applied.stdout + applied.stderr
        assert applied.returncode == 0, said
        assert "NOTAUTH" not in said and "failed" not in said
        assert primary.www() == [address]
    # Nothing is left of the key file the transfer used.
    assert not list((primary.path / ".zonesmith").glob("deploy-key*"))


def test_a_transfer_without_the_deploy_key_is_refused(primary: LonePrimary) -> None:
    """The deploy key admits this host only; unsigned, nobody gets the zone."""
    with pytest.raises(dns.exception.DNSException):
        dns.zone.from_xfr(dns.query.xfr(ADDRESS, "example.com", port=primary.port, lifetime=5))


def host_with(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *tools: str) -> None:
    """This host's PATH with sh, mkdir, rm and ``tools`` only (as on a server with just those)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("sh", "mkdir", "rm", *tools):
        found = shutil.which(tool)
        assert found is not None, tool
        (folder / tool).symlink_to(found)
    monkeypatch.setenv("PATH", str(folder))


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_the_transfer_runs_with_dig_or_kdig_whichever_the_host_has(
    primary: LonePrimary, tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")
    secret = (primary.site / "secrets" / "control" / "ns1.key").read_text().strip()
    target = Target(LocalTransport(), "ns1", str(primary.path))
    host_with(tmp_path, monkeypatch, tool)
    zone = transfer(
        target, ADDRESS, primary.port, "example.com", (CONTROL_KEY, "hmac-sha256", secret)
    )
    assert zone.find_rdataset("www", "A").to_text() == "3600 IN A 192.0.2.80"
    with pytest.raises(DeployError, match="REFUSED|NOTAUTH|failed"):
        transfer(
            target, ADDRESS, primary.port, "example.com", (CONTROL_KEY, "hmac-sha256", XFR_WRONG)
        )
    assert not list((primary.path / ".zonesmith").glob("deploy-key*"))


def test_a_host_without_dig_or_kdig_is_one_sentence_naming_them(
    primary: LonePrimary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target(LocalTransport(), "ns1", str(primary.path))
    host_with(tmp_path, monkeypatch)
    with pytest.raises(DeployError) as refused:
        transfer(
            target, ADDRESS, primary.port, "example.com", (CONTROL_KEY, "hmac-sha256", XFR_WRONG)
        )
    assert str(refused.value) == (
        f"the transfer of example.com from {ADDRESS} port {primary.port} on ns1 failed: "
        "the host has neither dig (bind9-dnsutils) nor kdig (knot-dnsutils)"
    )


@pytest.mark.parametrize("tool", ["dig", "kdig"])
def test_soa_questions_on_the_host_give_what_the_deploy_machine_would_ask(
    primary: LonePrimary, tool: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Asked on the host with either tool, in one command, each question gets
    the answer a question from this machine gets: signed ones with their key."""
    if shutil.which(tool) is None:
        pytest.skip(f"needs {tool}")
    secret = (primary.site / "secrets" / "control" / "ns1.key").read_text().strip()
    questions = [
        Question("plain", "example.com"),
        Question("signed", "example.com", (CONTROL_KEY, "hmac-sha256", secret)),
        Question("wrong", "example.com", (CONTROL_KEY, "hmac-sha256", XFR_WRONG)),
        Question("elsewhere", "example.net"),
        Question("dash", "-x.example.com"),
    ]
    here = soa_serials(ADDRESS, primary.port, questions)
    target = Target(LocalTransport(), "ns1", str(primary.path))
    host_with(tmp_path, monkeypatch, tool)
    on_host = soa_serials_on(target, ADDRESS, primary.port, questions, QUERY_TIMEOUT)
    assert on_host == here
    assert on_host[0]["plain"] is not None and on_host[0]["signed"] == on_host[0]["plain"]
    assert on_host[0]["wrong"] is None and on_host[0]["elsewhere"] is None
    assert soa_serials_on(target, ADDRESS, free_port(), questions, QUERY_TIMEOUT)[1] is False
    assert not list((primary.path / ".zonesmith").glob("soa.*"))


def test_a_host_without_dig_or_kdig_shows_its_server_down_in_one_sentence(
    primary: LonePrimary, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = Target(LocalTransport(), "ns1", str(primary.path))
    host_with(tmp_path, monkeypatch, "cat")
    seen = observe(target, ADDRESS, primary.port, [Question("plain", "example.com")])
    assert seen.down is None  # a local server is asked from this machine
    with pytest.raises(DeployError) as refused:
        soa_serials_on(target, ADDRESS, primary.port, [Question("plain", "example.com")], 1)
    assert str(refused.value) == (
        f"ns1: the SOA questions to {ADDRESS} port {primary.port} failed: "
        "the host has neither dig (bind9-dnsutils) nor kdig (knot-dnsutils)"
    )
