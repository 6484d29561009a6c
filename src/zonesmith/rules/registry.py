"""The rule registry: every rule's id, severity and scope, and running them all."""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import dns.exception
import dns.name
import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Position, Severity, error, warning
from zonesmith.model import Site, Zone
from zonesmith.rules.facts import SiteFacts
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    #: "site" (takes the Site), "facts" (the Site and its SiteFacts), "outside" (the Site
    #: and SiteFacts, of which it reads only what ``--online`` looked up: offline, as pure
    #: a function of the Site as a site rule) or "zone" (a ZoneView)
    scope: str
    check: Callable[..., Iterable[Diagnostic]]
    #: A zone rule's part that follows names into the other zones of the site (takes
    #: the Site): what one zone alone cannot tell, which no per-zone memo may keep.
    site_part: Callable[[Site], Iterable[Diagnostic]] | None = None
    #: A zone rule's test of a view: whether the rule has anything to look at there (None:
    #: always). Rules that share a test are skipped together where it fails.
    applies: Callable[[ZoneView], bool] | None = None
    #: The record types a zone rule starts from (types ZoneView indexes by type): a
    #: view with none of them has nothing for it, and is not shown to it (None: any view).
    needs: frozenset[int] | None = None


RULES: list[Rule] = []
#: rule id -> severity, for _report (a big zone can give a diagnostic per record)
_SEVERITIES: dict[str, Severity] = {}


def rule(
    rule_id: str,
    severity: Severity,
    summary: str,
    scope: str = "zone",
    applies: Callable[[ZoneView], bool] | None = None,
    needs: Iterable[int] | None = None,
) -> Callable:
    """Register a rule. Zone rules take a ZoneView, site rules the Site, facts rules
    the Site and the SiteFacts found before the rules run. A zone rule with ``applies``
    runs only on the views that pass it, one with ``needs`` only on the views with
    records of one of those types."""
    wanted = frozenset(needs) if needs is not None else None

    def register(check: Callable[..., Iterable[Diagnostic]]) -> Callable[..., Iterable[Diagnostic]]:
        RULES.append(Rule(rule_id, severity, summary, scope, check, applies=applies, needs=wanted))
        _SEVERITIES[rule_id] = severity
        return check

    return register


def site_part(rule_id: str) -> Callable:
    """Give the zone rule ``rule_id`` (registered before) a part that looks across the
    zones of the site; it reports under the same id."""

    def register(check: Callable[[Site], Iterable[Diagnostic]]) -> Callable:
        index = next(i for i, r in enumerate(RULES) if r.id == rule_id)
        RULES[index] = dataclasses.replace(RULES[index], site_part=check)
        return check

    return register


def _choices(name: str, known: Iterable[str], what: str) -> str:
    """'did you mean X?' for a likely typo, else the list of what exists."""
    known = list(known)
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"{what}: {', '.join(known)}" if known else f"no {what} are declared"


def _report(rule_id: str, position: Position, message: str) -> Diagnostic:
    severity = _SEVERITIES[rule_id]
    return (
        error(position, rule_id, message)
        if severity is Severity.ERROR
        else warning(position, rule_id, message)
    )


def zone_views(site: Site) -> Iterator[tuple[Zone, str]]:
    """Every (zone, view) pair the site serves, for the zone rules.

    A zone with no view-specific records looks the same in every view, so it
    is checked once.
    """
    for zone in site.zones:
        if not zone.views:
            continue
        if zone.differs_by_view:
            for view in zone.views:
                yield zone, view
        else:
            yield zone, zone.views[0]


#: How the findings of the zone rules on one zone in one view are had: given
#: the zone, the view and the work that finds them (e.g. from a memo of an
#: earlier run).
ZoneMemo = Callable[[Zone, str, Callable[[], list[Diagnostic]]], list[Diagnostic]]


#: How the findings of the rules that take the Site alone are had: given the part
#: ("site": the site rules, "crossing": the zone rules' site parts) and the work that
#: finds them (e.g. from a memo of an earlier run on the same site).
SiteRulesMemo = Callable[[str, Callable[[], list[Diagnostic]]], list[Diagnostic]]


#: The zone rules for views with records of some types: those that always run, and
#: those that run where their test passes, by test.
_Plan = tuple[list[Rule], list[tuple[Callable[[ZoneView], bool], list[Rule]]]]


def _plan(zone_rules: list[Rule], present: frozenset[int]) -> _Plan:
    """The zone rules that have something to look at in a view with records of the
    types ``present`` (indexed by type), sorted out as _Plan."""
    wanted = [r for r in zone_rules if r.needs is None or not r.needs.isdisjoint(present)]
    gated: dict[Callable[[ZoneView], bool], list[Rule]] = {}
    for zone_rule in wanted:
        if zone_rule.applies is not None:
            gated.setdefault(zone_rule.applies, []).append(zone_rule)
    return [r for r in wanted if r.applies is None], list(gated.items())


def validate(
    site: Site,
    facts: SiteFacts,
    memo: ZoneMemo | None = None,
    site_memo: SiteRulesMemo | None = None,
) -> list[Diagnostic]:
    """Run every rule on the site.

    The zone rules look at one zone only: with a ``memo``, what they found
    on an unchanged zone may be taken from it. The site rules and site parts
    look at the Site alone: with a ``site_memo``, what they found on the same
    site may be taken from it, as may the outside rules' when nothing was looked up
    online. The facts rules always run (files change).
    """

    def site_rules() -> list[Diagnostic]:
        return [d for r in RULES if r.scope == "site" for d in r.check(site)]

    def crossing() -> list[Diagnostic]:
        # After the zone rules, which index the zones they look at: the site parts use those.
        return [d for r in RULES if r.site_part is not None for d in r.site_part(site)]

    diagnostics: list[Diagnostic] = []
    diagnostics.extend(site_memo("site", site_rules) if site_memo is not None else site_rules())
    for facts_rule in (r for r in RULES if r.scope == "facts"):
        diagnostics.extend(facts_rule.check(site, facts))

    def outside_rules() -> list[Diagnostic]:
        return [d for r in RULES if r.scope == "outside" for d in r.check(site, facts)]

    offline = facts.outside is None and site_memo is not None
    diagnostics.extend(site_memo("outside", outside_rules) if offline else outside_rules())
    zone_rules = [r for r in RULES if r.scope == "zone"]
    # Most zones have records of the same few types: the rules for each set of types
    # present are sorted out once.
    plans: dict[frozenset[int], _Plan] = {}
    for zone, view in zone_views(site):

        def work(zone: Zone = zone, view: str = view) -> list[Diagnostic]:
            zone_view = ZoneView.build(site, zone, view)
            present = frozenset(zone_view.by_type)
            plan = plans.get(present)
            if plan is None:
                plan = plans[present] = _plan(zone_rules, present)
            always, gated = plan
            found = [d for zone_rule in always for d in zone_rule.check(zone_view)]
            for applies, rules in gated:
                if applies(zone_view):
                    found += [d for zone_rule in rules for d in zone_rule.check(zone_view)]
            return found

        diagnostics.extend(memo(zone, view, work) if memo is not None else work())
    diagnostics.extend(site_memo("crossing", crossing) if site_memo is not None else crossing())
    return diagnostics
