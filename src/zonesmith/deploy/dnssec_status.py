"""Status of signed zones: their keys as the signer tells them, the next signature expiry on
every server that serves them, and whether the parent's DS matches the live keys.

Where the expiry comes from: a primary's whole zone by AXFR on its host (deploy/axfr.py),
so the earliest RRSIG of every RRset counts; a secondary admits no transfer from its own
host, so it is asked with DNSSEC queries for the apex's SOA, DNSKEY, NSEC and NSEC3PARAM,
whose RRSIGs are made with the rest of the zone (a signer re-signs by its refresh, with
some jitter, so the apex is close to, not exactly, the zone's earliest).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.tsigkeyring
import dns.zone

from zonesmith.compile.fleet import ServedZone
from zonesmith.deploy import remote_sh
from zonesmith.deploy.axfr import transfer
from zonesmith.deploy.build import DeployBuild, ServerFiles, signs, zone_key
from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.observe import Observed
from zonesmith.deploy.planner import transfer_key, tsig_for
from zonesmith.deploy.transport import LOCAL
from zonesmith.drivers.key_state import DnssecKey
from zonesmith.model import DnssecPolicy

#: Seconds to wait for one DNSSEC answer.
QUERY_TIMEOUT = 3.0
#: What a secondary is asked at the apex: each RRset's RRSIG counts.
APEX_TYPES = ("SOA", "DNSKEY", "NSEC", "NSEC3PARAM")
#: The states that make a signed zone's row red.
RED = ("not signed", "signatures expired", "signatures expiring", "ds mismatch")


@dataclass(frozen=True)
class ServerExpiry:
    """The next signature expiry of one zone on one server."""

    server: str
    #: "axfr" (the whole zone) or "query" (the apex's RRsets), see the module's docstring
    read_by: str
    #: the earliest RRSIG expiration served, as UTC "YYYY-MM-DD HH:MM:SS" (None: not read)
    expires: str | None = None
    #: seconds from now until then (negative: expired)
    left: float | None = None
    #: ok, signatures expiring, signatures expired, not signed, unknown
    state: str = "unknown"
    #: why the state is unknown, where it is
    why: str = ""


@dataclass(frozen=True)
class DsCheck:
    """The parent's DS for the zone against the zone's live KSK/CSK."""

    #: match, ds mismatch, no ds, not checked
    state: str
    parent: str | None = None
    #: the key tags of the DS served, and of the live SEP keys
    ds_tags: tuple[int, ...] = ()
    key_tags: tuple[int, ...] = ()
    why: str = ""


@dataclass(frozen=True)
class SignedZone:
    zone: str
    view: str
    policy: str
    signer: str
    #: the policy's signature-refresh: a server whose next expiry is closer is red
    refresh: int
    keys: tuple[DnssecKey, ...] = ()
    #: why the keys could not be read, where they could not
    keys_error: str | None = None
    servers: tuple[ServerExpiry, ...] = ()
    ds: DsCheck = field(default_factory=lambda: DsCheck("not checked"))

    def state_on(self, server: str) -> str | None:
        """The red state of the zone on ``server`` (its expiry first, then the DS), or None."""
        for expiry in self.servers:
            if expiry.server == server and expiry.state in RED:
                return expiry.state
        return self.ds.state if self.ds.state in RED else None


Ask = tuple[str, str, str] | None  # the TSIG key (name, algorithm, secret) a view needs


def signed_zones(
    build: DeployBuild,
    targets: Mapping[str, Target],
    secrets: Mapping[str, str],
    observed: Mapping[str, Observed],
    online: bool = False,
    now: float | None = None,
) -> list[SignedZone]:
    """Every signed zone of the build, in the build's order of servers and zones.

    ``online``: ask the public DNS for the DS of a zone whose parent is not in
    the site (never otherwise: only the site's own servers are asked).
    """
    moment = time.time() if now is None else now
    found = []
    for name, entry in build.servers.items():
        for served, _ in entry.zones.values():
            policy = signs(build.site, served)
            if policy is not None:
                found.append(
                    _zone_status(
                        build, name, served, policy, targets, secrets, observed, online, moment
                    )
                )
    return found


def _zone_status(
    build: DeployBuild,
    signer: str,
    served: ServedZone,
    policy: DnssecPolicy,
    targets: Mapping[str, Target],
    secrets: Mapping[str, str],
    observed: Mapping[str, Observed],
    online: bool,
    now: float,
) -> SignedZone:
    entry = build.servers[signer]
    keys, keys_error = _keys(entry, targets[signer], served, observed[signer], now)
    key = zone_key(served.view, served.text_name)
    expiries = []
    dnskeys: dns.rrset.RRset | None = None
    for name, other in build.servers.items():
        if key not in other.zones:
            continue
        expiry, found = _expiry(
            build, other, targets[name], other.zones[key][0], secrets, observed[name], policy, now
        )
        expiries.append(expiry)
        if name == signer:
            dnskeys = found
    ds = _ds_check(build, served, dnskeys, targets, secrets, online)
    return SignedZone(
        served.text_name,
        served.view,
        policy.name,
        signer,
        policy.signature_refresh,
        tuple(keys),
        keys_error,
        tuple(expiries),
        ds,
    )


def _keys(
    entry: ServerFiles, target: Target, served: ServedZone, seen: Observed, now: float
) -> tuple[list[DnssecKey], str | None]:
    command = entry.driver.key_state_command(entry.build, served.view, served.zone.text)
    if command is None:
        return [], f"{entry.server.software} tells no keys"
    if seen.down is not None:
        return [], seen.down
    try:
        done = target.transport.run(command.argv, timeout=command.timeout)
    except DeployError as problem:
        return [], str(problem)
    if not done.ok:
        return [], f"{' '.join(command.argv[:2])} failed: {done.message()}"
    moment = datetime.fromtimestamp(now, UTC)
    return entry.driver.key_states(done.stdout.decode("utf-8", "replace"), moment), None


def _expiry(
    build: DeployBuild,
    entry: ServerFiles,
    target: Target,
    served: ServedZone,
    secrets: Mapping[str, str],
    seen: Observed,
    policy: DnssecPolicy,
    now: float,
) -> tuple[ServerExpiry, dns.rrset.RRset | None]:
    """The zone's next signature expiry on one server, and the DNSKEY set it serves."""
    server = entry.server
    origin = dns.name.from_text(served.text_name)
    key = transfer_key(build.site, server, served.view, secrets)
    read_by = "axfr" if served.data is not None and key is not None else "query"
    if seen.down is not None:
        return ServerExpiry(server.name, read_by, why=seen.down), None
    try:
        if read_by == "axfr":
            assert key is not None
            zone = transfer(target, server.address, server.port, served.text_name, key)
            rrsets = list(_zone_rrsets(zone))
        else:
            tsig = tsig_for(build.site, server, served.view, secrets)
            rrsets = ask(target, server.address, server.port, origin, APEX_TYPES, tsig)
    except DeployError as problem:
        return ServerExpiry(server.name, read_by, why=str(problem)), None
    dnskeys = next(
        (r for r in rrsets if r.name == origin and r.rdtype == dns.rdatatype.DNSKEY), None
    )
    expirations = [
        sig.expiration for rrset in rrsets if rrset.rdtype == dns.rdatatype.RRSIG for sig in rrset
    ]
    if dnskeys is None or not expirations:
        return ServerExpiry(server.name, read_by, state="not signed"), dnskeys
    earliest = min(expirations)
    left = earliest - now
    if left <= 0:
        state = "signatures expired"
    elif left < policy.signature_refresh:
        state = "signatures expiring"
    else:
        state = "ok"
    shown = f"{datetime.fromtimestamp(earliest, UTC):%Y-%m-%d %H:%M:%S}"
    return ServerExpiry(server.name, read_by, shown, left, state), dnskeys


def _zone_rrsets(zone: dns.zone.Zone) -> Iterable[dns.rrset.RRset]:
    for name, node in zone.nodes.items():
        for rdataset in node.rdatasets:
            rrset = dns.rrset.RRset(name, rdataset.rdclass, rdataset.rdtype, rdataset.covers)
            rrset.update(rdataset)
            yield rrset


def ask(
    target: Target,
    address: str,
    port: int,
    name: dns.name.Name,
    types: Iterable[str],
    tsig: Ask = None,
) -> list[dns.rrset.RRset]:
    """The answers (with their RRSIGs) of ``address`` to ``name`` for each of ``types``,
    asked without recursion over TCP: from this machine for a server on it, and on the
    server's host with dig or kdig for one reached over SSH (a view chosen by a key is not
    asked there: the key would be on the tool's command line). DeployError when it does
    not answer."""
    if target.transport.host == LOCAL:
        return _ask_here(address, port, name, types, tsig)
    if tsig is not None:
        raise DeployError(
            f"{target.where}: a view chosen by a key is not asked over SSH for its signatures"
        )
    done = target.transport.run(ask_argv(target.path, address, port, name, types), timeout=30)
    if not done.ok:
        raise DeployError(
            f"{target.where}: the DNSSEC questions to {address} port {port} failed: "
            f"{done.message()}"
        )
    return dig_rrsets(done.stdout.decode("utf-8", "replace"))


def ask_argv(
    path: str, address: str, port: int, name: dns.name.Name, types: Iterable[str]
) -> list[str]:
    """dig or kdig, whichever the host has, asking ``address`` for ``name`` and each of
    ``types`` in one run, DO set (``path``: the server's path on the host)."""
    questions = [word for rdtype in types for word in ("-q", name.to_text(), "-t", rdtype)]
    return remote_sh.sh(remote_sh.ASK, path, address, str(port), *questions)


def dig_rrsets(text: str) -> list[dns.rrset.RRset]:
    """The RRsets of dig's or kdig's answer lines (one record a line), records of one
    set together."""
    found: dict[tuple, dns.rrset.RRset] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith(";"):
            continue
        try:
            owner, ttl, rdclass, rdtype, rdata = line.split(None, 4)
            record = dns.rrset.from_text(owner, int(ttl), rdclass, rdtype, rdata)
        except (dns.exception.DNSException, ValueError):
            continue
        key = (record.name, record.rdtype, record.covers)
        if key in found:
            found[key].union_update(record)
        else:
            found[key] = record
    return list(found.values())


def _ask_here(
    address: str, port: int, name: dns.name.Name, types: Iterable[str], tsig: Ask
) -> list[dns.rrset.RRset]:
    found: list[dns.rrset.RRset] = []
    for rdtype in types:
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        query.flags &= ~dns.flags.RD
        if tsig is not None:
            key, algorithm, secret = tsig
            query.use_tsig(dns.tsigkeyring.from_text({key: (algorithm, secret)}), keyname=key)
        try:
            response = dns.query.tcp(query, address, port=port, timeout=QUERY_TIMEOUT)
        except (dns.exception.DNSException, OSError, EOFError) as problem:
            raise DeployError(f"no answer from {address} port {port}: {problem}") from None
        found += [r for r in response.answer if r.name == name]
    return found


# -- the parent's DS -------------------------------------------------------------------


def _parent_in_site(build: DeployBuild, served: ServedZone) -> ServedZone | None:
    """The closest zone of the site above ``served`` in its view, as a server serves it."""
    origin = served.zone.name
    best: ServedZone | None = None
    for entry in build.servers.values():
        for other, _ in entry.zones.values():
            if other.view != served.view or other.is_catalog or other.data is None:
                continue
            name = other.zone.name
            closer = best is None or name.is_subdomain(best.zone.name)
            if origin != name and origin.is_subdomain(name) and closer:
                best = other
    return best


def _ds_check(
    build: DeployBuild,
    served: ServedZone,
    dnskeys: dns.rrset.RRset | None,
    targets: Mapping[str, Target],
    secrets: Mapping[str, str],
    online: bool,
) -> DsCheck:
    origin = served.zone.name
    parent = _parent_in_site(build, served)
    if parent is None and not online:
        return DsCheck("not checked", why="the parent is not in the site (--online asks it)")
    if dnskeys is None:
        return DsCheck("not checked", why="the signer's DNSKEY set could not be read")
    try:
        if parent is not None:
            where = _primary_of(build, parent)
            entry = build.servers[where]
            server = entry.server
            tsig = tsig_for(build.site, server, parent.view, secrets)
            answers = ask(targets[where], server.address, server.port, origin, ["DS"], tsig)
            parent_name = parent.text_name
        else:
            answers = _ask_public(origin)
            parent_name = origin.parent().to_text()
    except DeployError as problem:
        return DsCheck("not checked", why=str(problem))
    served_ds = [ds for r in answers if r.rdtype == dns.rdatatype.DS for ds in r]
    return compare_ds(origin, served_ds, list(dnskeys), parent_name)


def compare_ds(
    origin: dns.name.Name, served_ds: list, dnskeys: list, parent: str | None
) -> DsCheck:
    """``match`` when a DS served at the parent is the DS of a live SEP key of the zone (by
    :func:`dns.dnssec.make_ds` with the DS's own digest type), ``ds mismatch`` when DS are
    served and none is, ``no ds`` when the parent serves none (the zone is then insecure,
    not broken)."""
    # Imported here: dns.dnssec loads every algorithm's crypto, which status of an
    # unsigned site never needs.
    import dns.dnssec

    sep = [key for key in dnskeys if key.flags & 0x0001]  # the SEP bit: KSK or CSK
    key_tags = tuple(sorted(dns.dnssec.key_id(key) for key in sep))
    ds_tags = tuple(sorted({ds.key_tag for ds in served_ds}))
    if not served_ds:
        return DsCheck("no ds", parent, (), key_tags)
    for ds in served_ds:
        for key in sep:
            try:
                if dns.dnssec.make_ds(origin, key, ds.digest_type) == ds:
                    return DsCheck("match", parent, ds_tags, key_tags)
            except (dns.dnssec.UnsupportedAlgorithm, ValueError):
                continue
    return DsCheck("ds mismatch", parent, ds_tags, key_tags)


def _primary_of(build: DeployBuild, zone: ServedZone) -> str:
    """The server that loads ``zone`` from its file (its primary)."""
    key = zone_key(zone.view, zone.text_name)
    return next(
        name
        for name, entry in build.servers.items()
        if key in entry.zones and entry.zones[key][0].data is not None
    )


def _ask_public(origin: dns.name.Name) -> list[dns.rrset.RRset]:
    """The DS of ``origin`` through this machine's resolver (``--online`` only)."""
    import dns.resolver

    try:
        answer = dns.resolver.resolve(origin, "DS", raise_on_no_answer=False, lifetime=5.0)
    except dns.resolver.NXDOMAIN:
        return []
    except dns.exception.DNSException as problem:
        raise DeployError(f"the DS of {origin} could not be resolved: {problem}") from None
    return [answer.rrset] if answer.rrset is not None else []
