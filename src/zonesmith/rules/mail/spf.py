"""Rules on SPF records (RFC 7208): their syntax, and the lookups they make across the site."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Record, Site
from zonesmith.rules.facts import OutsideAnswers, SiteFacts
from zonesmith.rules.mail.index import MailIndex, absolute
from zonesmith.rules.mail.kinds import has_spf, kinds
from zonesmith.rules.mail.spf_syntax import LOOKUP_TERMS, SpfRecord, parse_spf
from zonesmith.rules.mail.tags import txt_text
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
#: RFC 7208 4.6.4
MAX_LOOKUPS = 10
MAX_VOID_LOOKUPS = 2


def _spf_by_owner(view: ZoneView) -> dict[str, list[Record]]:
    return kinds(view).spf


def _parsed(view: ZoneView) -> list[tuple[str, Record, SpfRecord]]:
    """Each SPF record of the view, read (once per view)."""
    return view.memo("spf parsed", _read)  # type: ignore[return-value]


def _read(view: ZoneView) -> list[tuple[str, Record, SpfRecord]]:
    index = MailIndex.of(view.site, view.view)
    return [
        (key, record, _parse(index, txt_text(record)))
        for key, records in _spf_by_owner(view).items()
        for record in records
    ]


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
    for key, records in _spf_by_owner(view).items():
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
        ending = next((t.qualifier for t in spf.terms if t.name == "all" and t.qualifier), None)
        if ending == qualifier:
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
        if any(t.name == "ptr" and t.qualifier for t in spf.terms):
            yield _report(
                "spf-ptr",
                record.position,
                f"SPF record of '{view.label(key)}' uses 'ptr'{view.view_note}: RFC 7208 5.5 "
                "says not to (slow, unreliable, and some receivers skip it); use ip4:/ip6: or a:",
            )


def _sends_nothing(spf: SpfRecord) -> bool:
    """Whether a record authorizes no host: only 'all' that fails (the record of a name that
    sends no mail, RFC 7208 10.1.2), or no mechanism at all."""
    judged = (t for t in spf.terms if t.qualifier or t.name == "redirect")  # not exp=, unknown
    return all(t.name == "all" and t.qualifier in "-~" for t in judged)


@dataclass
class _Count:
    """The lookups one SPF record makes, its includes and redirect followed in the site."""

    lookups: int = 0
    voids: int = 0
    #: includes/redirects to names of the site without an SPF record
    missing: list[str] = field(default_factory=list)
    #: names outside the site (or made by macros) that were not followed
    unchecked: list[str] = field(default_factory=list)
    loop: str | None = None

    def add(self, other: _Count) -> None:
        self.lookups += other.lookups
        self.voids += other.voids
        self.missing += other.missing
        self.unchecked += other.unchecked
        self.loop = self.loop or other.loop


def _count(index: MailIndex, owner: str, text: str, path: tuple[str, ...]) -> _Count:
    """The lookups of the SPF record ``text`` of ``owner``, reached through ``path``."""
    spf = _parse(index, text)
    count = _Count()
    ends = any(t.name == "all" and t.qualifier for t in spf.terms)
    for term in spf.terms:
        if term.name not in LOOKUP_TERMS or (term.name == "redirect" and ends):
            continue
        if count.lookups > MAX_LOOKUPS:
            break  # receivers stop here (permerror): so does the count, however wide the includes
        count.lookups += 1
        if term.name == "ptr":
            continue  # answered by the client's address: unknown before mail arrives
        if term.macro:
            count.unchecked.append(term.domain or "")
            continue
        target = absolute(term.domain) if term.domain else owner
        if index.zone_of(target) is None and not index.answered(target, term.name):
            count.unchecked.append(target)
            continue
        if term.name in ("include", "redirect"):
            records = index.spf(target)
            if not records:
                count.voids += 1
                count.missing.append(target)
            elif target in path:
                count.loop = count.loop or " -> ".join((*path, target))
            elif len(records) == 1:
                count.add(_count(index, target, txt_text(records[0]), (*path, target)))
        elif term.name == "mx":
            count.voids += not index.has_mx(target)
        else:
            count.voids += not index.has_address(target)
    return count


def _parse(index: MailIndex, text: str) -> SpfRecord:
    """An SPF record's text read, once per view however many site rules ask."""
    parsed: dict[str, SpfRecord] = index.memo("spf parsed", lambda _: {})  # type: ignore[assignment]
    found = parsed.get(text)
    if found is None:
        found = parsed[text] = parse_spf(text)
    return found


#: the count of a record with syntax problems, which receivers never evaluate
_UNREADABLE = _Count()


def _counted(index: MailIndex, record: Record) -> _Count:
    """The lookups of an SPF record alone at its name: records whose lookup terms are the
    same (their other terms differ) share one count."""
    owner, text = absolute(record.owner), txt_text(record)
    spf = _parse(index, text)
    if spf.problems:
        return _UNREADABLE
    terms = tuple((t.name, t.domain, t.macro) for t in spf.terms if t.name in LOOKUP_TERMS)
    if any(domain is None for _, domain, _ in terms):
        return _count(index, owner, text, (owner,))  # its count is its owner's alone
    key = (terms, any(t.name == "all" and t.qualifier for t in spf.terms))
    shared: dict[tuple, _Count] = index.memo("spf shared counts", lambda _: {})  # type: ignore[assignment]
    found = shared.get(key)
    if found is None:
        found = _count(index, owner, text, (owner,))
        if not found.loop:  # a loop's message names the record's own name
            shared[key] = found
    return found


def _site_records(
    site: Site, outside: OutsideAnswers | None = None
) -> Iterator[tuple[ZoneView, MailIndex, str, list[Record]]]:
    """Each name of the site with SPF records, with the index of its view."""
    for index in MailIndex.each(site, outside):
        yield from _index_records(index)


def _index_records(index: MailIndex) -> Iterator[tuple[ZoneView, MailIndex, str, list[Record]]]:
    for zone in index.with_spf:
        view = index.view_of(zone)
        for key, records in _spf_by_owner(view).items():
            yield view, index, key, records


def site_spf(
    site: Site, outside: OutsideAnswers | None = None
) -> list[tuple[ZoneView, str, Record, _Count]]:
    """Each readable SPF record of the site that is alone at its name, with its lookups
    counted (once per site however many rules ask), through ``outside`` answers if any."""
    return [
        counted
        for index in MailIndex.each(site, outside)
        for counted in index.memo("spf counted", _index_spf)  # type: ignore[attr-defined]
    ]


def _index_spf(index: MailIndex) -> list[tuple[ZoneView, str, Record, _Count]]:
    """site_spf of one view."""
    counted = []
    for view, _, key, records in _index_records(index):
        if len(records) == 1:
            count = _counted(index, records[0])
            if count is _UNREADABLE:
                continue  # receivers stop at the syntax (spf-syntax)
            counted.append((view, key, records[0], count))
    return counted


def _unchecked_note(count: _Count) -> str:
    if not count.unchecked:
        return ""
    names = ", ".join(sorted({name.rstrip(".") for name in count.unchecked if name})[:3])
    return f"; more in {names}, outside the site, not checked"


@rule("spf-lookups", Severity.ERROR, "an SPF record needs more than 10 DNS lookups", "outside")
def spf_lookups(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    for view, key, record, count in site_spf(site, facts.outside):
        if count.loop:
            yield _report(
                "spf-lookups",
                record.position,
                f"SPF record of '{view.label(key)}' includes itself ({count.loop})"
                f"{view.view_note}: receivers fail SPF (permerror): break the loop",
            )
        elif count.lookups > MAX_LOOKUPS:
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
    for view, key, record, count in site_spf(site, facts.outside):
        if count.voids > MAX_VOID_LOOKUPS:
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
    for view, index, key, records in _site_records(site, facts.outside):
        for record in records:
            for term in _parse(index, txt_text(record)).terms:
                if term.name not in ("include", "redirect") or term.macro or not term.domain:
                    continue
                target = absolute(term.domain)
                inside = index.zone_of(target) is not None
                if not (inside or index.answered(target, term.name)) or index.spf(target):
                    continue
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
    for _, index, _, records in _site_records(site):
        for record in records:
            for term in _parse(index, txt_text(record)).terms:
                if term.name in LOOKUP_TERMS and term.domain and not term.macro:
                    yield index, term.name, absolute(term.domain)


def _included(site: Site) -> set[str]:
    """The names SPF records of the site include or redirect to: not sender domains."""
    return {
        absolute(term.domain)
        for _, index, _, records in _site_records(site)
        for record in records
        for term in _parse(index, txt_text(record)).terms
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
    for view, index, key, records in _site_records(site):
        owner = absolute(records[0].owner)
        if owner.startswith("_") or index.has_mx(owner) or owner in index.addressed:
            continue  # an underscore name is a policy's, not a sender's (RFC 8552)
        for record in records:
            spf = _parse(index, txt_text(record))
            if spf.problems or _sends_nothing(spf):
                continue
            if included is None:
                included = _included(site)
            if owner in included:
                continue
            yield _report(
                "spf-no-mail-domain",
                record.position,
                f"'{view.label(key)}' has an SPF record that lets hosts send its mail but no "
                f"MX, A or AAAA record{view.view_note}; many receivers refuse mail from a "
                "sender domain that has neither: add an MX (or A) record, or make the record "
                "'v=spf1 -all'",
            )
