"""Looking up in DNS, before the rules run, what the mail rules ask of names outside the site
(``check --online``): SPF records followed through their includes, void lookups, DMARC
report authorizations.

The lookups are bounded: each chain of includes is followed as deep as receivers follow it
(RFC 7208's 10 lookups), at most ``MAX_QUERIES`` names are asked in all, each query within
``QUERY_TIMEOUT`` and all of them within the deadline. A name not answered (a timeout,
SERVFAIL, a bound reached) stays not checked, with the reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dns.exception
import dns.inet
import dns.rdata
import dns.resolver

from zonesmith.model import Site
from zonesmith.rules.facts import OutsideAnswers
from zonesmith.rules.mail.index import MailIndex, absolute
from zonesmith.rules.mail.outside import lookups
from zonesmith.rules.mail.spf import MAX_LOOKUPS
from zonesmith.rules.mail.spf_syntax import LOOKUP_TERMS, parse_spf

#: seconds one query may take, and all of them together (by default)
QUERY_TIMEOUT = 3.0
DEADLINE = 10.0
#: names asked in all, however many records the site and its includes have
MAX_QUERIES = 300
_WORKERS = 8

#: what an SPF term (or a DMARC report authorization, 'txt') asks of a name
_ASKS = {"include": "txt", "redirect": "txt", "txt": "txt", "mx": "mx", "a": "address"}
_ASKS["exists"] = "address"


@dataclass(frozen=True)
class Online:
    """How to look up names outside the site: the resolver (None: the system's, from
    /etc/resolv.conf) and the deadline in seconds for all lookups."""

    resolver: tuple[str, int] | None = None
    deadline: float = DEADLINE


def parse_resolver(text: str) -> tuple[str, int]:
    """ADDRESS[@PORT] read into an address and a port; ValueError says what is wrong."""
    address, at, port_text = text.strip().partition("@")
    if not dns.inet.is_address(address):
        raise ValueError(f"'{address}' is not an IP address")
    port = int(port_text) if at and port_text.isdigit() else (53 if not at else -1)
    if not 0 < port < 65536:
        raise ValueError(f"'{port_text}' is not a port number")
    return address, port


def look_up_outside(site: Site, online: Online) -> OutsideAnswers:
    """Ask DNS what the mail rules would ask of names outside the site, following the SPF
    records found there through their own includes (breadth first, concurrently)."""
    end = time.monotonic() + online.deadline
    found: dict[str, dict[str, object]] = {"txt": {}, "mx": {}, "address": {}}
    failed: dict[str, str] = {}
    indexes = list(MailIndex.each(site))

    def outside(name: str) -> bool:
        return all(index.zone_of(name) is None for index in indexes)

    try:
        resolver = _resolver(online.resolver)
    except dns.exception.DNSException as problem:
        return OutsideAnswers(failed={name: f"no resolver: {problem}" for name in lookups(site)})
    level = {(name, _ASKS[kind]): 1 for name, kinds in lookups(site).items() for kind in kinds}
    asked: set[tuple[str, str]] = set()
    with ThreadPoolExecutor(_WORKERS) as pool:
        while level:
            asked.update(level)
            jobs = []
            for (name, ask), depth in sorted(level.items()):
                if len(asked) > MAX_QUERIES:
                    failed[name] = f"not looked up: more than {MAX_QUERIES} names asked"
                    continue
                jobs.append((name, ask, depth, pool.submit(_ask, resolver, name, ask, end)))
            level = {}
            for name, ask, depth, job in jobs:
                answer = job.result()
                if isinstance(answer, str):
                    failed[name] = answer
                    continue
                found[ask][name] = answer
                if ask == "txt" and depth < MAX_LOOKUPS:
                    for target in _followed(name, answer):  # type: ignore[arg-type]
                        if target not in asked and outside(target[0]):
                            level[target] = depth + 1
    return OutsideAnswers(found["txt"], found["mx"], found["address"], failed)  # type: ignore[arg-type]


def _followed(name: str, texts: tuple[str, ...]) -> list[tuple[str, str]]:
    """What the SPF record among ``texts`` (one, or receivers stop) asks of other names."""
    spf = [text for text in texts if text[:7].lower() in ("v=spf1", "v=spf1 ")]
    if len(spf) != 1:
        return []
    return [
        (absolute(term.domain) if term.domain else name, _ASKS[term.name])
        for term in parse_spf(spf[0]).terms
        if term.name in LOOKUP_TERMS and term.name != "ptr" and not term.macro
    ]


def _resolver(address: tuple[str, int] | None) -> dns.resolver.Resolver:
    if address is None:
        return dns.resolver.Resolver()
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [address[0]]
    resolver.port = address[1]
    return resolver


def _ask(
    resolver: dns.resolver.Resolver, name: str, ask: str, end: float
) -> tuple[str, ...] | bool | str:
    """The answer ``ask`` wants of ``name``: TXT strings joined per record, or whether it
    has MX, or addresses; a str says why there is none (NXDOMAIN and no data are answers)."""
    if ask == "txt":
        return _query(resolver, name, "TXT", end, _texts)
    if ask == "mx":
        return _query(resolver, name, "MX", end, bool)
    found = _query(resolver, name, "A", end, bool)
    return _query(resolver, name, "AAAA", end, bool) if found is False else found


def _query(
    resolver: dns.resolver.Resolver,
    name: str,
    rdtype: str,
    end: float,
    read: Callable[[list[dns.rdata.Rdata]], object],
) -> object:
    left = end - time.monotonic()
    if left <= 0:
        return "not looked up: the deadline for all lookups passed"
    try:
        answer = resolver.resolve(
            name, rdtype, search=False, raise_on_no_answer=False, lifetime=min(QUERY_TIMEOUT, left)
        )
    except dns.resolver.NXDOMAIN:
        return read([])
    except dns.exception.Timeout:
        return f"{rdtype} query timed out"
    except dns.resolver.NoNameservers:
        return f"{rdtype} query failed: no answer from the resolver (SERVFAIL, refused or closed)"
    except dns.exception.DNSException as problem:
        return f"{rdtype} query failed: {problem}"
    return read(list(answer.rrset or ()))


def _texts(rdatas: list[dns.rdata.Rdata]) -> tuple[str, ...]:
    return tuple(
        b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
        for rdata in rdatas
    )
