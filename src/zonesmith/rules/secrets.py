"""Rules on TSIG keys' secrets."""

from __future__ import annotations

from collections.abc import Iterator

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Site
from zonesmith.rules.facts import SiteFacts
from zonesmith.rules.registry import _report, rule


@rule("missing-secret", Severity.ERROR, "a TSIG key's secret file or variable is missing", "facts")
def missing_secret(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    return _secret_problems(site, facts, "missing-secret")


@rule("bad-secret", Severity.ERROR, "a TSIG key's secret is not base64", "facts")
def bad_secret(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    return _secret_problems(site, facts, "bad-secret")


@rule(
    "secret-outside-site",
    Severity.ERROR,
    "a TSIG key's secret file lies outside the site (links followed)",
    "facts",
)
def secret_outside_site(site: Site, facts: SiteFacts) -> Iterator[Diagnostic]:
    return _secret_problems(site, facts, "secret-outside-site")


def _secret_problems(site: Site, facts: SiteFacts, rule_id: str) -> Iterator[Diagnostic]:
    for key in site.keys:
        problem = facts.secret_problems.get(key)
        if problem is not None and problem.rule == rule_id:
            yield _report(rule_id, key.position, str(problem))
