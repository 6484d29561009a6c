"""Rules on SPF records (RFC 7208): their syntax, and the lookups they make across the site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site, Zone
from zonesmith.rules.facts import OutsideAnswers, SiteFacts
from zonesmith.rules.mail.index import MailIndex, absolute
from zonesmith.rules.mail.kinds import MailKinds, has_spf, kinds
from zonesmith.rules.mail.spf_syntax import LOOKUP_TERMS, SpfRecord, parse_spf
from zonesmith.rules.mail.tags import txt_text
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
#: RFC 7208 4.6.4
MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2


def spf_records(found: MailKinds) -> list[tuple[str, Record, SpfRecord]]:
    """Each SPF record of a zone's view, read: its name key, the record and its terms (once
    for the zone rules and the site rules alike)."""
    return found.memo("spf parsed", _read)  # type: ignore[return-value]


def _read(found: MailKinds) -> list[tuple[str, Record, SpfRecord]]:
    return [
        (key, record, _parse(txt_text(record)))
        for key, records in found.spf.items()
        for record in records
    ]


@lru_cache(maxsize=65536)
def _parse(text: str) -> SpfRecord:
    """An SPF record's text read, once however many records and rules have it."""
    return parse_spf(text)


def _parsed(view: ZoneView) -> list[tuple[str, Record, SpfRecord]]:
    """spf_records of the view (asked for by each SPF zone rule: kept on the view too)."""
    return view.memo("spf parsed", lambda v: spf_records(kinds(v)))  # type: ignore[return-value]


@rule(
    "spf-syntax",
    Severity.ERROR,
    "an SPF record that receivers cannot read (permerror)",
    applies=has_spf,
)
def spf_syntax(view: ZoneView) -> Iterator[Diagnostic]:
    for key, record, spf in _parsed(view):
        if spf.problems:
            yield _report(
                "spf-syntax",
                record.position,
                f"SPF record of '{view.label(key)}'{view.view_note}: {spf.problems[0]}; "
                "receivers fail SPF for all its mail (permerror, RFC 7208)",
            )


@rule("spf-multiple", Severity.ERROR, "more than one SPF record at a name", applies=has_spf)
def spf_multiple(view: ZoneView) -> Iterator[Diagnostic]:
    for key, records in kinds(view).spf.items():
        if len(records) > 1:
            yield _report(
                "spf-multiple",
                records[1].position,
                f"'{view.label(key)}' has {len(records)} SPF records{view.view_note}; receivers "
                "fail SPF when there is more than one (permerror, RFC 7208 4.5): merge them",
            )


def _ending_in(view: ZoneView, rule_id: str, qualifier: str, why: str) -> Iterator[Diagnostic]:
    """``rule_id`` on each SPF record whose 'all' has ``qualifier``, saying ``why`` it is bad."""
    for key, record, spf in _parsed(view):
        if spf.all_qualifier == qualifier:
            yield _report(
                rule_id,
                record.position,
                f"SPF record of '{view.label(key)}' ends in '{qualifier}all'{view.view_note}: "
                f"{why}",
            )


@rule(
    "spf-pass-all", Severity.ERROR, "an SPF record that lets everybody send (+all)", applies=has_spf
)
def spf_pass_all(view: ZoneView) -> Iterator[Diagnostic]:
    why = "any host on the Internet may send its mail; end it in '-all' or '~all'"
    return _ending_in(view, "spf-pass-all", "+", why)


@rule("spf-neutral-all", Severity.WARNING, "an SPF record that ends in ?all", applies=has_spf)
def spf_neutral_all(view: ZoneView) -> Iterator[Diagnostic]:
    why = "it says nothing of other hosts, so forged mail passes as neutral; use '~all' or '-all'"
    return _ending_in(view, "spf-neutral-all", "?", why)


@rule(
    "spf-ptr",
    Severity.WARNING,
    "an SPF record uses the ptr mechanism (deprecated)",
    applies=has_spf,
)
def spf_ptr(view: ZoneView) -> Iterator[Diagnostic]:
    for key, record, spf in _parsed(view):
        for term in spf.lookup_terms:  # (a ptr mechanism is one of them)
            if term.name == "ptr" and term.qualifier:
                yield _report(
                    "spf-ptr",
                    record.position,
                    f"SPF record of '{view.label(key)}' uses 'ptr'{view.view_note}: RFC 7208 "
                    "5.5 says not to (slow, unreliable, and some receivers skip it); use "
                    "ip4:/ip6: or a:",
                )
                break


def _sends_nothing(spf: SpfRecord) -> bool:
    """Whether a record authorizes no host: only 'all' that fails (the record of a name that
    sends no mail, RFC 7208 10.1.2), or no mechanism at all."""
    judged = (t for t in spf.terms if t.qualifier or t.name == "redirect")  # not exp=, unknown
    return all(t.name == "all" and t.qualifier in "-~" for t in judged)


@dataclass(slots=True)
class _Count:
    """The lookups one SPF record makes, its includes and redirect followed in the site."""

    lookups: int = 0
    voids: int = 0
    #: names outside the site (or made by macros) that were not followed
    unchecked: list[str] = field(default_factory=list)
    loop: str | None = None

    def add(self, other: _Count) -> None:
        self.lookups += other.lookups
        self.voids += other.voids
        self.unchecked += other.unchecked
        self.loop = self.loop or other.loop


def _count(index: MailIndex, owner: str, spf: SpfRecord, path: tuple[str, ...]) -> _Count:
    """The lookups of the SPF record ``spf`` of ``owner``, reached through ``path``."""
    count = _Count()
    for term in spf.lookup_terms:
        if count.lookups > MAX_LOOKUPS:
            break  # receivers stop here (permerror): so does the count, however wide the includes
        count.lookups += 1
        name = term.name
        if name == "ptr":
            continue  # answered by the client's address: unknown before mail arrives
        if term.macro:
            count.unchecked.append(term.domain or "")
            continue
        target = absolute(term.domain) if term.domain else owner
        if index.zone_of(target) is None and not index.answered(target, name):
            count.unchecked.append(target)
            continue
        if name in ("include", "redirect"):
            records = index.spf(target)
            if not records:
                count.voids += 1
            elif target in path:
                count.loop = count.loop or " -> ".join((*path, target))
            elif len(records) == 1:
                count.add(_count(index, target, _parse(txt_text(records[0])), (*path, target)))
        elif name == "mx":
            count.voids += not index.has_mx(target)
        else:
            count.voids += not index.has_address(target)
    return count


#: the count of a record with syntax problems, which receivers never evaluate
_UNREADABLE = _Count()


def _counted(index: MailIndex, owner: str, spf: SpfRecord) -> _Count:
    """The lookups of an SPF record alone at its name ``owner``: records whose lookup terms
    are the same (their other terms differ) share one count."""
    if spf.problems:
        return _UNREADABLE
    for term in spf.lookup_terms:  # (a redirect= left out always names a domain)
        if term.domain is None:
            return _count(index, owner, spf, (owner,))  # its count is its owner's alone
    terms = tuple((t.name, t.domain, t.macro) for t in spf.terms if t.name in LOOKUP_TERMS)
    key = (terms, spf.all_qualifier is not None)
    shared: dict[tuple, _Count] = index.memo("spf shared counts", lambda _: {})  # type: ignore[assignment]
    found = shared.get(key)
    if found is None:
        found = _count(index, owner, spf, (owner,))
        if not found.loop:  # a loop's message names the record's own name
            shared[key] = found
    return found


def _within_limits(spf: SpfRecord) -> bool:
    """Whether a record's lookups are known to stay within both limits without following
    them: no include or redirect (so no loop either) and no more terms that look up than
    the void lookups allowed."""
    terms = spf.lookup_terms
    return len(terms) <= MAX_VOID_LOOKUPS and all(
        t.name != "include" and t.name != "redirect" for t in terms
    )


def _with_spf(
    site: Site, outside: OutsideAnswers | None = None
) -> Iterator[tuple[MailIndex, Zone, MailKinds]]:
    """Each zone of the site with SPF records, with its records by kind and the index of
    the view it is judged in."""
    for index in MailIndex.each(site, outside):
        for zone, found in index.judged:
            if found.spf:
                yield index, zone, found


def site_spf(
    site: Site, outside: OutsideAnswers | None = None
) -> list[tuple[MailIndex, Zone, str, Record, _Count]]:
    """Each readable SPF record of the site that is alone at its name and could make too
    many lookups, with its lookups counted (once per site however many rules ask), through
    ``outside`` answers if any."""
    return [
        counted
        for index in MailIndex.each(site, outside)
        for counted in index.memo("spf counted", _index_spf)  # type: ignore[attr-defined]
    ]


def _index_spf(index: MailIndex) -> list[tuple[MailIndex, Zone, str, Record, _Count]]:
    """site_spf of one view."""
    counted = []
    for zone, found in index.judged:
        for key, record, spf in spf_records(found) if found.spf else ():
            if len(found.spf[key]) == 1 and not _within_limits(spf):
                count = _counted(index, absolute(record[0]), spf)
                if count is _UNREADABLE:
                    continue  # receivers stop at the syntax (spf-syntax)
                counted.append((index, zone, key, record, count))
    return counted


def _unchecked_note(count: _Count) -> str:
    if not count.unchecked:
        return ""
    names = ", ".join(sorted({name.rstrip(".") for name in count.unchecked if name})[:3])
    return f"; more in {names}, outside the site, not checked"


@rule("spf-lookups", Severity.ERROR, "an SPF record needs more than 10 DNS lookups", "outside")
def spf_lookups(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for index, zone, key, record, count in site_spf(site, facts.outside):
        if count.loop:
            view = index.view_of(zone)
            yield _report(
                "spf-lookups",
                record.position,
                f"SPF record of '{view.label(key)}' includes itself ({count.loop})"
                f"{view.view_note}: receivers fail SPF (permerror): break the loop",
            )
        elif count.lookups > MAX_LOOKUPS:
            view = index.view_of(zone)
            yield _report(
                "spf-lookups",
                record.position,
                f"SPF record of '{view.label(key)}' needs more than {MAX_LOOKUPS} DNS lookups "
                f"({count.lookups} counted{_unchecked_note(count)}, includes followed)"
                f"{view.view_note}; receivers then fail SPF (permerror, RFC 7208 4.6.4): "
                "replace includes and a/mx with ip4:/ip6: where you can",
            )


@rule("spf-void-lookups", Severity.ERROR, "an SPF record makes more than 2 void lookups", "outside")
def spf_void_lookups(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    names = "names of the site" if facts.outside is None else "names"
    for index, zone, key, record, count in site_spf(site, facts.outside):
        if count.voids > MAX_VOID_LOOKUPS:
            view = index.view_of(zone)
            yield _report(
                "spf-void-lookups",
                record.position,
                f"SPF record of '{view.label(key)}' names {count.voids} {names} that "
                f"have no answer{view.view_note}, includes followed; receivers allow "
                f"{MAX_VOID_LOOKUPS} such void lookups and then fail SPF (permerror, RFC 7208 "
                "4.6.4): remove the terms for names without records",
            )


@rule("spf-include-missing", Severity.ERROR, "an SPF include of a site name without SPF", "outside")
def spf_include_missing(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for index, zone, found in _with_spf(site, facts.outside):
        for key, record, spf in spf_records(found):
            for term in spf.terms:
                if term.name not in ("include", "redirect") or term.macro or not term.domain:
                    continue
                target = absolute(term.domain)
                inside = index.zone_of(target) is not None
                if not (inside or index.answered(target, term.name)) or index.spf(target):
                    continue
                view = index.view_of(zone)
                word = "include:" if term.name == "include" else "redirect="
                where = "of the site" if inside else "(outside the site, looked up)"
                yield _report(
                    "spf-include-missing",
                    record.position,
                    f"SPF record of '{view.label(key)}' has {word}{term.domain}, but that name "
                    f"{where} has no SPF record{view.view_note}; receivers fail SPF "
                    "(permerror, RFC 7208 5.2): add the record or remove the term",
                )


def named_domains(site: Site) -> Iterator[tuple[MailIndex, str]]:
    """Each domain the lookup terms of the site's SPF records name (not those made by
    macros, which are known only when mail arrives), with its view's index."""
    for index, _, domain in named_terms(site):
        yield index, domain


def named_terms(site: Site) -> Iterator[tuple[MailIndex, str, str]]:
    """Each lookup term of the site's SPF records that names a domain (not made by macros):
    its view's index, the term's name and the domain."""
    for index, _, found in _with_spf(site):
        for _, _, spf in spf_records(found):
            for term in spf.terms:
                if term.name in LOOKUP_TERMS and term.domain and not term.macro:
                    yield index, term.name, absolute(term.domain)


def _included(site: Site) -> set[str]:
    """The names SPF records of the site include or redirect to: not sender domains."""
    return {
        absolute(term.domain)
        for _, _, found in _with_spf(site)
        for _, _, spf in spf_records(found)
        for term in spf.terms
        if term.name in ("include", "redirect") and term.domain and not term.macro
    }


@rule(
    "spf-no-mail-domain",
    Severity.WARNING,
    "an SPF record that lets hosts send mail for a name without MX or address",
    "site",
)
def spf_no_mail_domain(site: Site) -> Iterator[Diagnostic]:
    included: set[str] | None = None
    for index, zone, found in _with_spf(site):
        for key, records in found.spf.items():
            owner = absolute(records[0][0])
            if owner.startswith("_") or index.has_mx(owner) or owner in index.addressed:
                continue  # an underscore name is a policy's, not a sender's (RFC 8552)
            for record in records:
                spf = _parse(txt_text(record))
                if spf.problems or _sends_nothing(spf):
                    continue
                if included is None:
                    included = _included(site)
                if owner in included:
                    continue
                view = index.view_of(zone)
                yield _report(
                    "spf-no-mail-domain",
                    record.position,
                    f"'{view.label(key)}' has an SPF record that lets hosts send its mail but "
                    f"no MX, A or AAAA record{view.view_note}; many receivers refuse mail from "
                    "a sender domain that has neither: add an MX (or A) record, or make the "
                    "record 'v=spf1 -all'",
                )
