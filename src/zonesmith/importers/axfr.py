"""Zones transferred (AXFR) from a live server into a site, with an optional TSIG key."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

import dns.exception
import dns.name
import dns.query
import dns.rcode
import dns.tsig
import dns.tsigkeyring
import dns.xfr
import dns.zone

from zonesmith.diagnostics import Diagnostic, Position, error
from zonesmith.importers.content import (
    ContentBuilder,
    ImportedSite,
    ImportedZone,
    ImportResult,
)
from zonesmith.importers.site_writer import write_site
from zonesmith.model import DEFAULT_VIEW
from zonesmith.site.values import TSIG_ALGORITHMS

AXFR_TIMEOUT = 30.0  # seconds for one whole transfer


@dataclass(frozen=True)
class KeyArg:
    name: str
    algorithm: str
    secret: str = field(repr=False)


def parse_key_argument(text: str) -> tuple[KeyArg | None, str | None]:
    """``NAME:ALG:SECRET-FILE`` -> the key, or None and why not (never showing the secret)."""
    parts = text.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return (
            None,
            f"--key '{text}' must be NAME:ALGORITHM:SECRET-FILE, e.g. xfr:hmac-sha256:xfr.key",
        )
    name, algorithm, secret_file = parts
    algorithm = algorithm.lower()
    if algorithm not in TSIG_ALGORITHMS:
        return None, f"--key: unknown TSIG algorithm '{algorithm}'; expected one of " + ", ".join(
            TSIG_ALGORITHMS
        )
    try:
        content = Path(secret_file).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"--key: cannot read {secret_file}: {getattr(exc, 'strerror', None) or exc}"
    match = re.search(r'secret\s+"([^"]+)"', content)
    secret = (match.group(1) if match else content).strip()
    try:
        if not secret or not base64.b64decode(secret, validate=True):
            raise ValueError
    except (binascii.Error, ValueError):
        return (
            None,
            f"--key: {secret_file} does not hold a base64 secret (make one with tsig-keygen)",
        )
    return KeyArg(name, algorithm, secret), None


def _resolve(server: str) -> str:
    try:
        return str(ipaddress.ip_address(server))
    except ValueError:
        return socket.getaddrinfo(server, None, type=socket.SOCK_STREAM)[0][4][0]


def fetch_axfr(
    server: str, zone_text: str, port: int, key: KeyArg | None, report: list[Diagnostic]
) -> ImportedZone | None:
    """One zone by AXFR; problems are reported, never raised."""
    where = Position(f"{server}#{port}")
    try:
        origin = dns.name.from_text(zone_text.rstrip(".") + ".")
    except dns.exception.DNSException as exc:
        report.append(error(where, "bad-name", f"'{zone_text}' is not a zone name: {exc}"))
        return None
    name = origin.to_text(omit_final_dot=True)
    keyring = keyname = None
    if key is not None:
        keyring = dns.tsigkeyring.from_text({key.name: (key.algorithm, key.secret)})
        keyname = dns.name.from_text(key.name)
    try:
        address = _resolve(server)
        transfer = dns.query.xfr(
            address,
            origin,
            port=port,
            keyring=keyring,
            keyname=keyname,
            keyalgorithm=key.algorithm if key else dns.tsig.default_algorithm,
            lifetime=AXFR_TIMEOUT,
            relativize=False,
        )
        zone = dns.zone.from_xfr(transfer, relativize=False, check_origin=False)
    except dns.xfr.TransferError as exc:
        rcode = dns.rcode.to_text(exc.rcode)
        hint = (
            "the server does not allow this transfer to this address"
            + ("" if key else "; give the transfer key with --key NAME:ALGORITHM:SECRET-FILE")
            if exc.rcode == dns.rcode.REFUSED
            else "is the server authoritative for this zone?"
        )
        report.append(error(where, "axfr-failed", f"AXFR of {name} refused ({rcode}): {hint}"))
        return None
    except (dns.tsig.PeerError, dns.tsig.BadSignature) as exc:
        report.append(
            error(
                where,
                "axfr-failed",
                f"AXFR of {name}: the server rejected the TSIG key '{key.name if key else ''}' "
                f"({type(exc).__name__}); check its name, algorithm and secret",
            )
        )
        return None
    except dns.exception.Timeout:
        report.append(
            error(where, "axfr-failed", f"AXFR of {name}: no answer within {AXFR_TIMEOUT:.0f} s")
        )
        return None
    except (OSError, EOFError, ConnectionError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        report.append(
            error(
                where,
                "axfr-failed",
                f"AXFR of {name}: cannot transfer from {server} port {port}: {reason}",
            )
        )
        return None
    except dns.exception.DNSException as exc:
        report.append(error(where, "axfr-failed", f"AXFR of {name}: {exc}"))
        return None
    builder = ContentBuilder(origin, report)
    zone_where = Position(f"{server}#{port}/{name}")
    for owner, ttl, rdata in zone.iterate_rdatas():
        builder.add(owner, ttl, rdata, zone_where)
    return ImportedZone(origin, zone_where, {DEFAULT_VIEW: builder.content()}, builder.soa)


def import_axfr(
    server: str,
    zones: list[str],
    root: Path,
    port: int = 53,
    key: str | None = None,
    fmt: str = "yaml",
    force: bool = False,
) -> ImportResult:
    """``zonesmith import axfr``: zones transferred from a live server into a site."""
    imported = ImportedSite("zonesmith import axfr", [f"{server}#{port}"])
    key_arg = None
    if key is not None:
        key_arg, problem = parse_key_argument(key)
        if problem:
            imported.diagnostics.append(error(Position("--key"), "bad-key", problem))
            return write_site(imported, root, fmt, force)
    for zone_text in zones:
        zone = fetch_axfr(server, zone_text, port, key_arg, imported.diagnostics)
        if zone is not None:
            imported.zones.append(zone)
    imported.zones.sort(key=lambda z: z.origin)
    return write_site(imported, root, fmt, force)
