"""Deploying over SSH, end to end: a real sshd on loopback, a BIND primary and an NSD secondary.

Both servers set ``host:`` to the sshd's URL: every file and command goes
over the system's OpenSSH client, host keys checked strictly, one connection
per host shared by the two servers for a whole apply.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import answers, free_port, query, requires, start_named, start_nsd
from sites import checkout_env, write_site, zonesmith
from sshd import Sshd, start_sshd

pytestmark = [pytest.mark.servers, requires("named", "nsd", "rndc", "nsd-control", "sshd")]

SITE = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: hostmaster@example.com, refresh: 1h, retry: 10}}
servers:
  ns1: {{software: bind, role: primary, address: 127.0.0.1, port: {ns1}, path: {srv}/ns1,
        host: "{url}", control-port: {ctl}}}
  ns2: {{software: nsd, role: secondary, address: 127.0.0.1, port: {ns2}, path: {srv}/ns2,
        host: "{url}", primaries: [ns1]}}
zones:
  example.com: {{}}
"""
ZONE = "'@': [NS ns1.example.com.]\nns1: A 192.0.2.1\nwww: A 192.0.2.80\n"


@pytest.fixture(scope="module")
def ssh_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Sshd, dict]]:
    root = tmp_path_factory.mktemp("deploy-ssh")
    with start_sshd(root / "sshd") as sshd:
        ports = {"ns1": free_port(), "ns2": free_port(), "ctl": free_port()}
        site = write_site(
            root / "site",
            SITE.format(srv=root / "srv", url=sshd.url, **ports),
            {"example.com.yaml": ZONE},
        )
        env = checkout_env()
        env["ZONESMITH_SSH_OPTIONS"] = f"-F {sshd.client_config}"
        yield site, sshd, {"env": env, "ports": ports, "srv": root / "srv", "root": root}


def test_apply_over_ssh_installs_reloads_and_verifies(ssh_site) -> None:
    site, sshd, extra = ssh_site
    env, ports, srv = extra["env"], extra["ports"], extra["srv"]
    first = zonesmith("apply", site, "--yes", env=env)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "this machine" not in first.stdout and sshd.url in first.stdout
    assert (srv / "ns1/named.conf").is_file() and (srv / "ns2/nsd.conf").is_file()
    root = extra["root"]
    with (
        start_named(
            srv / "ns1/named.conf", "127.0.0.1", ports["ns1"], "example.com", root / "ns1.log"
        ),
        start_nsd(srv / "ns2/nsd.conf", "127.0.0.1", ports["ns2"], "example.com", root / "ns2.log"),
    ):
        (site / "zones/example.com.yaml").write_text(ZONE + "new: A 192.0.2.99\n")
        before = sshd.accepted()
        applied = zonesmith("apply", site, "--yes", env=env)
        assert applied.returncode == 0, applied.stdout + applied.stderr
        # one connection for both servers on the host, for the whole apply
        assert sshd.accepted() - before == 1
        for port in (ports["ns1"], ports["ns2"]):
            response = query("new.example.com", "A", "127.0.0.1", port, tcp=True)
            assert answers(response) == ["192.0.2.99"]
        status = zonesmith("status", site, env=env)
        assert status.returncode == 0, status.stdout + status.stderr


def _walled_off(env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """A command prefix running in a network namespace of its own, where no DNS
    server of the test answers, and the environment whose ssh reaches the test's
    sshd from there (a ProxyCommand relaying in the test's namespace)."""
    relay = Path(__file__).parent.parent / "relay.py"
    proxy = f"nsenter --net=/proc/{os.getpid()}/ns/net {sys.executable} {relay} %h %p"
    walled = dict(env)
    walled["ZONESMITH_SSH_OPTIONS"] += " -o " + shlex.quote(f"ProxyCommand={proxy}")
    prefix = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "walled"]
    return prefix, walled


@pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")
@requires("unshare", "nsenter", "ip", "dig")
def test_soa_questions_are_asked_on_the_servers_host(ssh_site) -> None:
    """plan, apply's verification and status ask each server for its serials
    on its host: a deploy machine that cannot reach the servers' addresses at
    all (as behind a hidden primary's firewall) still sees them serve."""
    site, _, extra = ssh_site
    env, ports, srv, root = extra["env"], extra["ports"], extra["srv"], extra["root"]
    prefix, walled = _walled_off(env)

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, sys.executable, "-m", "zonesmith", *map(str, args)],
            capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
            env=walled, check=False,
        )  # fmt: skip

    assert zonesmith("apply", site, "--yes", env=env).returncode == 0
    with (
        start_named(
            srv / "ns1/named.conf", "127.0.0.1", ports["ns1"], "example.com", root / "ns1w.log"
        ),
        start_nsd(
            srv / "ns2/nsd.conf", "127.0.0.1", ports["ns2"], "example.com", root / "ns2w.log"
        ),
    ):
        # From inside, the servers' addresses really are out of reach.
        probe = [*prefix, "dig", "-p", str(ports["ns1"]), "@127.0.0.1", "+tries=1", "+time=1"]
        unreached = subprocess.run(
            [*probe, "example.com", "SOA"], capture_output=True, text=True, env=walled, timeout=60
        )
        assert "status: NOERROR" not in unreached.stdout
        status = run("status", site)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "server down" not in status.stdout
        (site / "zones/example.com.yaml").write_text(ZONE + "walled: A 192.0.2.77\n")
        plan = run("plan", site)
        assert plan.returncode == 2, plan.stdout + plan.stderr
        assert "down" not in plan.stdout and "+ walled.example.com." in plan.stdout
        applied = run("apply", site, "--yes")
        assert applied.returncode == 0, applied.stdout + applied.stderr
        for port in (ports["ns1"], ports["ns2"]):
            response = query("walled.example.com", "A", "127.0.0.1", port, tcp=True)
            assert answers(response) == ["192.0.2.77"]
        again = run("plan", site)
        assert again.returncode == 0, again.stdout + again.stderr


def test_a_host_key_that_is_not_known_is_one_sentence(ssh_site, tmp_path: Path) -> None:
    site, sshd, extra = ssh_site
    env = dict(extra["env"])
    env["ZONESMITH_SSH_OPTIONS"] = f"-F {sshd.client('stranger', '')}"
    result = zonesmith("plan", site, env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "host key" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert os.path.exists(extra["srv"] / "ns1/named.conf")
