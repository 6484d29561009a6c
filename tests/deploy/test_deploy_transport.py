"""Transports: SSH addresses read strictly, programs run here bounded in time."""

from __future__ import annotations

import pytest

from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.transport import (
    SSH_OPTIONS_ENV,
    LocalTransport,
    SshTransport,
    SshUrl,
    close_all,
    transport_for,
)


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("ssh://dns1.example.net", SshUrl(None, "dns1.example.net", None)),
        ("ssh://deploy@dns1.example.net:2222", SshUrl("deploy", "dns1.example.net", 2222)),
        ("ssh://root@127.0.0.1:22", SshUrl("root", "127.0.0.1", 22)),
        ("ssh://[2001:db8::1]:2222", SshUrl(None, "2001:db8::1", 2222)),
    ],
)
def test_ssh_addresses_are_read(url: str, parsed: SshUrl) -> None:
    assert SshUrl.parse(url) == parsed
    assert f"ssh://{parsed}" == url


@pytest.mark.parametrize(
    "url",
    [
        "dns1.example.net",  # no scheme
        "ssh://-oProxyCommand=touch%20x",  # an option, not a host
        "ssh://host;reboot",
        "ssh://$(reboot)",
        "ssh://us er@host",
        "ssh://-l@host",
        "ssh://host/path",
        "ssh://host:22 -v",
        "ssh://host\n",
        "ssh://host:",
    ],
)
def test_anything_else_is_refused_with_one_sentence(url: str) -> None:
    with pytest.raises(DeployError, match=r"is not an SSH address of the form ssh://"):
        SshUrl.parse(url)


@pytest.mark.parametrize("port", ["0", "65536", "99999"])
def test_ports_are_in_range(port: str) -> None:
    with pytest.raises(DeployError, match="port must be between 1 and 65535"):
        SshUrl.parse(f"ssh://host:{port}")


def test_servers_on_one_host_share_its_transport() -> None:
    pool: dict = {}
    local = transport_for(None, pool)
    remote = transport_for("ssh://deploy@dns1.example.net", pool)
    assert transport_for(None, pool) is local and isinstance(local, LocalTransport)
    assert transport_for("ssh://deploy@dns1.example.net", pool) is remote
    assert isinstance(remote, SshTransport) and len(pool) == 2
    with pytest.raises(DeployError):
        transport_for("ssh://bad host", {})
    close_all(pool)
    assert pool == {}


def test_unreadable_ssh_options_are_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SSH_OPTIONS_ENV, "-F 'unclosed")
    with pytest.raises(DeployError, match=rf"^{SSH_OPTIONS_ENV} cannot be read: No closing"):
        SshTransport("ssh://dns1.example.net")


def test_a_local_program_is_bounded_in_time() -> None:
    local = LocalTransport()
    assert local.run(["sh", "-c", "cat; exit 4"], input=b"in").returncode == 4
    with pytest.raises(DeployError, match=r"^this machine: 'sleep' did not finish within 0.5 s$"):
        local.run(["sleep", "5"], timeout=0.5)
    with pytest.raises(DeployError, match=r"^this machine: cannot run 'no-such-tool': "):
        local.run(["no-such-tool"])
