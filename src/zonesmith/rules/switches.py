"""Rules switched off: which findings the site's switches drop, and which rules may be.

A switch names a rule id: in ``rules:`` of zonesmith.yaml for the whole
site or at some names, or beside records (``rules:`` in a YAML zone file, a
``; zonesmith: off RULE`` comment in a master file). The findings it drops
are kept apart, counted, and listed by ``check --json``.

Some findings cannot be switched off: what is found while reading the site
(the value is not in the model at all), and the rules whose finding means a
server would refuse the zone or its configuration, or zonesmith could not
write one (:data:`NOT_SWITCHABLE`). A switch naming one of them, or no rule
at all, is an error at the id. A switch may instead give a rule's findings
another severity (``warning``, ``error``); where one switch drops a finding
and another changes it, it is dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from zonesmith.diagnostics import Diagnostic, Position, Severity, error
from zonesmith.model import RuleSwitch, Site
from zonesmith.rules.registry import RULES, _choices
from zonesmith.site.files import SITE_FILE

_READING = "it is found while the site is read, and what it concerns is not in any zone"
_ZONE_REFUSED = "a server would refuse to load the zone"
_CONFIG_REFUSED = "zonesmith could not write a configuration the servers accept"

#: Rule ids that no switch may turn off, and why.
NOT_SWITCHABLE: dict[str, str] = {
    **dict.fromkeys(
        (
            "yaml-syntax",
            "yaml-too-deep",
            "masterfile-syntax",
            "bad-record",
            "bad-rdata",
            "bad-name",
            "bad-ttl",
            "bad-class",
            "unknown-type",
            "out-of-zone",
            "bad-value",
            "unknown-key",
            "missing-key",
            "duplicate-key",
            "include-missing",
            "include-loop",
            "line-too-long",
            "record-too-long",
            "file-too-big",
            "unreadable-file",
            "duplicate-zone-source",
            "bad-switch",
            "unknown-rule",
            "not-switchable",
        ),
        _READING,
    ),
    **dict.fromkeys(
        (
            "missing-soa",
            "empty-view-list",
            "no-ns",
            "cname-at-apex",
            "cname-and-other-data",
            "soa-not-at-apex",
            "multiple-dname",
            "below-delegation",
            "ns-no-address",
            "missing-glue",
            "ns-below-dname",
            "empty-nsap",
            "ds-at-apex",
            "bad-nsec3",
            "view-not-in-zone",
        ),
        _ZONE_REFUSED,
    ),
    **dict.fromkeys(
        (
            "unknown-view",
            "unknown-set",
            "unknown-tsig-key",
            "unknown-server",
            "unknown-blocklist",
            "unknown-zone",
            "unknown-dnssec-policy",
            "unsupported-role",
            "views-unsupported",
            "secondary-without-primaries",
            "primary-cycle",
            "no-primary-for-zone",
            "view-key-missing",
            "catalog-not-primary",
            "duplicate-listen",
            "missing-secret",
            "bad-secret",
            "secret-outside-site",
            "blocklist-needs-unbound",
            "bad-sinkhole",
            "bad-blocklist-source",
            "missing-blocklist-file",
            "dnssec-unsupported",
            "signature-refresh-long",
        ),
        _CONFIG_REFUSED,
    ),
}


@dataclass
class Sifted:
    """The findings the switches leave, those they drop, and what is wrong with them."""

    kept: list[Diagnostic] = field(default_factory=list)
    switched_off: list[Diagnostic] = field(default_factory=list)
    problems: list[Diagnostic] = field(default_factory=list)


def all_switches(site: Site) -> Iterator[RuleSwitch]:
    """Every switch of the site: zonesmith.yaml's, then those in each zone's file."""
    yield from site.rule_switches
    for zone in site.zones:
        yield from zone.rule_switches


def switch_problems(switches: Iterable[RuleSwitch]) -> list[Diagnostic]:
    """A switch naming no rule, or one that cannot be switched off: one error at its id."""
    known = {r.id for r in RULES}
    switchable = sorted(known - NOT_SWITCHABLE.keys())
    problems = []
    for switch in switches:
        rule = switch.rule
        if rule in NOT_SWITCHABLE:
            message = f"'{rule}' cannot be switched off: {NOT_SWITCHABLE[rule]}"
            problems.append(error(switch.position, "not-switchable", message))
        elif rule not in known:
            message = f"no rule '{rule}' to switch off; {_choices(rule, switchable, 'rules')}"
            problems.append(error(switch.position, "unknown-rule", message))
    return problems


def sift(site: Site, findings: list[Diagnostic]) -> Sifted:
    """The rules' findings less those the site's switches drop (set apart), with the
    severity the switches give them."""
    switches = list(all_switches(site))
    sifted = Sifted(problems=switch_problems(switches))
    usable: dict[str, list[RuleSwitch]] = {}
    for switch in switches:
        if switch.rule not in NOT_SWITCHABLE:
            usable.setdefault(switch.rule, []).append(switch)
    if not usable:
        sifted.kept = findings
        return sifted
    owners = _Owners(site)
    for finding in findings:
        of_rule = usable.get(finding.rule)
        holding = [s for s in of_rule if _holds(s, finding.position, owners)] if of_rule else []
        if any(s.severity is None for s in holding):
            sifted.switched_off.append(finding)
        elif holding:
            severity = Severity(holding[-1].severity)
            sifted.kept.append(dataclasses.replace(finding, severity=severity))
        else:
            sifted.kept.append(finding)
    return sifted


def _holds(switch: RuleSwitch, position: Position, owners: _Owners) -> bool:
    """Whether ``switch`` holds for a finding of its rule at ``position``."""
    if switch.at:
        return any(
            path == position.path and line == position.line and column in (0, position.column)
            for path, line, column in switch.at
        )
    if switch.names is None:
        return True
    names = owners.at(position)
    return bool(names) and all(_matches(name, switch.names) for name in names)


def _matches(name: str, patterns: tuple[str, ...]) -> bool:
    """Whether an absolute name in lower case is one of ``patterns`` (``*.`` for below)."""
    return any(
        name.endswith(pattern[1:]) if pattern.startswith("*.") else name == pattern
        for pattern in patterns
    )


class _Owners:
    """The names a finding's position is about: of the records written there, or the
    zone declared there. Worked out only for findings a switch names names for, and
    per file only from the zones whose records that file (or zonesmith.yaml's sets)
    holds."""

    def __init__(self, site: Site) -> None:
        self.site = site
        self.declared = {zone.position: zone.origin.lower() for zone in site.zones}
        self.by_path: dict[str, dict[tuple[int, int], set[str]]] = {}

    def at(self, position: Position) -> set[str]:
        path = position.path
        index = self.by_path.get(path)
        if index is None:
            index = self.by_path[path] = self._index(path)
        names = set(index.get((position.line, position.column), ()))
        declared = self.declared.get(position)
        if declared is not None:
            names.add(declared)
        return names

    def _index(self, path: str) -> dict[tuple[int, int], set[str]]:
        """The owners of the records written in file ``path``, by line and column."""
        index: dict[tuple[int, int], set[str]] = {}
        site_file = path.endswith(SITE_FILE)
        for zone in self.site.zones:
            if zone.source_path == path or (site_file and zone.includes):
                for record in zone.records:
                    if record[5] == path:
                        index.setdefault((record[6], record[7]), set()).add(record[0].lower())
        return index
