"""Rules on TSIG keys' secrets."""

from __future__ import annotations

from collections.abc import Iterator

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.model import Site
from zonesmith.rules.registry import _report, rule
from zonesmith.site.secrets import SecretError, read_secret


@rule("missing-secret", Severity.ERROR, "a TSIG key's secret file or variable is missing", "site")
def missing_secret(site: Site) -> Iterator[Diagnostic]:
    return _secret_problems(site, "missing-secret")


@rule("bad-secret", Severity.ERROR, "a TSIG key's secret is not base64", "site")
def bad_secret(site: Site) -> Iterator[Diagnostic]:
    return _secret_problems(site, "bad-secret")


def _secret_problems(site: Site, rule_id: str) -> Iterator[Diagnostic]:
    for key in site.keys:
        try:
            read_secret(site.root, key)
        except SecretError as problem:
            if problem.rule == rule_id:
                yield _report(rule_id, key.position, str(problem))
