"""A primary's zone by AXFR, fetched on the primary's own host over loopback with its deploy key.

A primary admits transfers from its declared secondaries and from its own
host's loopback signed with its deploy key (see
zonesmith.drivers.control.deploy_key): never from the machine a deploy runs
on. So the transfer runs on the host, through the target's transport, with
``dig`` or ``kdig``; the key reaches it on standard input and lives only in
a file of mode 0600 under ``PATH/.zonesmith/`` while the tool runs, never on
a command line (the process list shows those).
"""

from __future__ import annotations

import ipaddress

import dns.exception
import dns.name
import dns.zone

from zonesmith.deploy import remote_sh
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target


def transfer(
    target: Target, address: str, port: int, zone: str, tsig: tuple[str, str, str]
) -> dns.zone.Zone:
    """The zone as the server at ``address`` and ``port`` serves it, transferred on
    ``target``'s host from loopback and signed with ``tsig`` (name, algorithm, secret)."""
    where = f"the transfer of {zone} from {address} port {port} on {target.where}"
    return ask_on_host(target, address, port, zone, tsig, "AXFR", where)


def ask_on_host(
    target: Target,
    address: str,
    port: int,
    zone: str,
    tsig: tuple[str, str, str],
    rdtype: str,
    where: str,
) -> dns.zone.Zone:
    """The answer to ``zone`` ``rdtype`` (AXFR, with the zone's SOA; or a type asked with
    its signatures over TCP) from the server, asked on ``target``'s host as
    :func:`transfer` asks, as a zone of the records that came back; a DeployError
    starts with ``where``."""
    source = "127.0.0.1" if ipaddress.ip_address(address).version == 4 else "::1"
    name, algorithm, secret = tsig
    arguments = [address, str(port), zone, source, name, algorithm]
    if rdtype != "AXFR":
        arguments.append(rdtype)
    try:
        done = target.transport.run(
            remote_sh.sh(remote_sh.AXFR, target.path, *arguments),
            input=secret.encode() + b"\n",
            timeout=30,
        )
    except DeployError as problem:
        raise DeployError(f"{where} failed: {problem}") from None
    if done.returncode == 127:
        raise DeployError(f"{where} failed: {done.message()}")
    origin = dns.name.from_text(zone)
    try:
        fetched = dns.zone.from_text(
            done.stdout.decode(), origin=origin, relativize=False, check_origin=False
        )
    except (dns.exception.DNSException, UnicodeDecodeError, ValueError):
        fetched = None
    if rdtype == "AXFR" and fetched is not None and fetched.get_rdataset(origin, "SOA") is None:
        fetched = None  # a transfer refused or cut off
    if done.returncode != 0 or fetched is None:
        raise DeployError(f"{where} failed: {done.message()}")
    return fetched
