"""SSH to a real sshd on a loopback port: one connection per deploy, strict host
keys, and one sentence for each way a connection fails."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from servers import free_port
from sshd import Sshd, keygen

from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.transport import SSH_OPTIONS_ENV, SshTransport
from zonesmith.drivers import OutputFile


def test_a_whole_deploy_uses_one_connection(sshd: Sshd, ssh: SshTransport, tmp_path: Path) -> None:
    before = sshd.accepted()
    target = Target(ssh, "ns1", str(tmp_path / "ns1"))
    other = Target(ssh, "ns2", str(tmp_path / "ns2"))  # a second server on the same host
    for server in (target, other):
        with server.lock():
            server.swap(server.stage({"nsd.conf": OutputFile(b"server:\n")}))
            server.swap(server.stage({"nsd.conf": OutputFile(b"server: {}\n")}))
            server.restore(server.releases()[-1].id)
    assert (tmp_path / "ns2/nsd.conf").read_bytes() == b"server:\n"
    assert sshd.accepted() - before == 1
    socket_path = Path(ssh.control_path)
    assert socket_path.is_socket()
    assert (socket_path.parent.stat().st_mode & 0o777) == 0o700
    ssh.close()
    assert not socket_path.parent.exists()
    assert ssh.run(["true"]).returncode == 0  # a new connection after close
    assert sshd.accepted() - before == 2


def test_arguments_reach_the_host_literally(ssh: SshTransport) -> None:
    hostile = ["$(touch /tmp/x)", "a; reboot", "`id`", "it's", 'say "hi"', "*", "new\nline", ""]
    done = ssh.run(["printf", r"%s\0", *hostile], input=b"")
    assert done.returncode == 0
    assert done.stdout.split(b"\0")[:-1] == [word.encode() for word in hostile]


def test_options_come_from_the_environment(sshd: Sshd, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SSH_OPTIONS_ENV, f"-F '{sshd.client_config}'")
    transport = SshTransport(sshd.url)
    try:
        assert transport.run(["echo", "hi"]).stdout == b"hi\n"
    finally:
        transport.close()


def test_a_remote_command_is_bounded_in_time(sshd: Sshd, ssh: SshTransport) -> None:
    with pytest.raises(DeployError, match=rf"^ssh://.*:{sshd.port}: 'sleep' did not finish"):
        ssh.run(["sleep", "10"], timeout=1)


def refusal(url: str, config: Path) -> str:
    """What a target over ``url`` with that client configuration says when locked."""
    transport = SshTransport(url, options=["-F", str(config)])
    try:
        with pytest.raises(DeployError) as refused, Target(transport, "ns1", "/srv/ns1").lock():
            pass
    finally:
        transport.close()
    message = str(refused.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith(f"ns1: {url}: "), message
    return message


def test_an_unknown_host_key_is_refused(sshd: Sshd) -> None:
    message = refusal(sshd.url, sshd.client("empty", ""))
    assert "unknown host key: the host is not in known_hosts" in message


def test_a_changed_host_key_is_refused(sshd: Sshd, tmp_path: Path) -> None:
    other = keygen(tmp_path / "other_host_key")
    message = refusal(sshd.url, sshd.client("changed", sshd.known_host_line(other)))
    assert "host key mismatch" in message


def test_a_refused_user_key_is_one_sentence(sshd: Sshd, tmp_path: Path) -> None:
    stranger = keygen(tmp_path / "stranger")
    config = sshd.client("stranger", sshd.known_host_line(), key=stranger)
    assert "the host refused the SSH key (permission denied)" in refusal(sshd.url, config)


def test_a_refused_connection_is_one_sentence(sshd: Sshd) -> None:
    url = f"ssh://root@127.0.0.1:{free_port()}"
    assert "connection refused" in refusal(url, sshd.client_config)


def test_an_unknown_host_is_one_sentence(sshd: Sshd) -> None:
    url = "ssh://root@no-such-host.invalid"
    assert "unknown host: its name does not resolve" in refusal(url, sshd.client_config)


def test_close_ends_the_master_connection(sshd: Sshd) -> None:
    """The connection does not linger for ControlPersist once the deploy is done."""
    transport = SshTransport(sshd.url, options=["-F", str(sshd.client_config)])
    transport.run(["true"])
    ended = sshd.log.read_text().count("Disconnected from user")
    transport.close()
    deadline = time.monotonic() + 10
    while sshd.log.read_text().count("Disconnected from user") == ended:
        assert time.monotonic() < deadline, "the master connection is still up"
        time.sleep(0.05)


def test_servers_deployed_in_parallel_share_the_connection(sshd: Sshd, ssh: SshTransport) -> None:
    before = sshd.accepted()
    with ThreadPoolExecutor(4) as pool:
        done = list(pool.map(lambda n: ssh.run(["echo", str(n)]), range(8)))
    assert [found.stdout for found in done] == [f"{n}\n".encode() for n in range(8)]
    assert sshd.accepted() - before == 1


def test_a_dropped_connection_is_one_sentence_and_the_next_command_reconnects(
    sshd: Sshd, ssh: SshTransport
) -> None:
    ssh.run(["true"])
    cut = threading.Timer(1.0, sshd.drop_connections)
    cut.start()
    try:
        with pytest.raises(DeployError, match=r"^ssh://.*: the connection was lost"):
            ssh.run(["sleep", "10"], timeout=20)
    finally:
        cut.join()
    assert ssh.run(["echo", "back"]).stdout == b"back\n"
