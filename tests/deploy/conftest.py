"""Fixtures of the deploy tests: an sshd on a loopback port, and a target on each transport."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import find_binary
from sshd import Sshd, start_sshd

from zonesmith.deploy.install import Target
from zonesmith.deploy.transport import LocalTransport, SshTransport, Transport


@pytest.fixture(scope="session")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sshd]:
    if find_binary("sshd") is None or os.geteuid() != 0:
        pytest.skip("needs sshd and root (it logs in as root with a test key)")
    with start_sshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture
def ssh(sshd: Sshd) -> Iterator[SshTransport]:
    """A transport to the test sshd; closed (its master connection ended) after the test."""
    transport = SshTransport(sshd.url, options=["-F", str(sshd.client_config)])
    yield transport
    transport.close()


@pytest.fixture(params=["local", "ssh"])
def transport(request: pytest.FixtureRequest) -> Transport:
    if request.param == "local":
        return LocalTransport()
    return request.getfixturevalue("ssh")


@pytest.fixture
def target(transport: Transport, tmp_path: Path) -> Target:
    """Server ns1's files at tmp_path/ns1, on this machine or over SSH (same machine)."""
    return Target(transport, "ns1", str(tmp_path / "ns1"), releases=3)
