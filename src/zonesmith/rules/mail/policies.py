"""Rules on mail transport policies: MTA-STS (RFC 8461), TLS-RPT (RFC 8460) and null MX
(RFC 7505)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import dns.rdatatype

from zonesmith.diagnostics import Diagnostic, Severity
from zonesmith.rules.mail.kinds import MTA_STS, TLS_RPT, has_policies, kinds
from zonesmith.rules.mail.tags import has_version, mailto_problem, required_tag, txt_text
from zonesmith.rules.registry import _report, rule
from zonesmith.rules.zone_view import ZoneView

T = dns.rdatatype
_STS_ID = re.compile(r"[A-Za-z0-9]{1,32}\Z")


def sts_problem(text: str) -> str | None:
    """Why an ``_mta-sts`` record is invalid (None: it is not)."""
    problem, value = required_tag(text, "id")
    if problem is None and not _STS_ID.match(value):
        return f"id={value} is not 1 to 32 letters and digits"
    return problem


def tlsrpt_problem(text: str) -> str | None:
    """Why an ``_smtp._tls`` record is invalid (None: it is not)."""
    problem, value = required_tag(text, "rua")
    if problem:
        return problem
    for uri in (u.strip() for u in value.split(",")):
        if uri[:8].lower() != "https://" and mailto_problem(uri):
            return f"rua: '{uri}' is not a mailto: or https: URI"
    return None


def _policy_records(
    view: ZoneView, prefix: str, version: str, problem_of: Callable[[str], str | None]
) -> Iterator[tuple[str, object, str]]:
    """Problems of the records at names starting with ``prefix`` whose version is ``version``:
    (the name, the record, one sentence)."""
    by_name: dict[str, list] = {}
    for record in kinds(view).policies.get(prefix, ()):
        text = txt_text(record)
        if has_version(text, version):  # senders discard the others (RFC 8461 3.1)
            by_name.setdefault(view.label(view.key(record.owner)), []).append((record, text))
    for label, records in by_name.items():
        if len(records) > 1:
            yield label, records[1][0], f"{len(records)} records; senders then use none"
        for record, text in records:
            problem = problem_of(text)
            if problem:
                yield label, record, problem


def _policy_problems(
    view: ZoneView,
    rule_id: str,
    kind: tuple[str, str, str],
    problem_of: Callable[[str], str | None],
) -> Iterator[Diagnostic]:
    """The rule ``rule_id`` on the records of one kind: (owner prefix, version, what the
    record is called), each problem said with what senders then do."""
    prefix, version, what = kind
    consequence = _CONSEQUENCES[prefix]
    for label, record, problem in _policy_records(view, prefix, version, problem_of):
        yield _report(
            rule_id,
            record.position,  # type: ignore[attr-defined]
            f"{what} record '{label}'{view.view_note}: {problem}; {consequence}",
        )


_CONSEQUENCES = {
    MTA_STS: "senders act as if there were no policy (RFC 8461 3.1)",
    TLS_RPT: "senders send no reports (RFC 8460 3)",
}


@rule(
    "mta-sts-syntax", Severity.ERROR, "an MTA-STS record senders cannot use", applies=has_policies
)
def mta_sts_syntax(view: ZoneView) -> Iterator[Diagnostic]:
    return _policy_problems(view, "mta-sts-syntax", (MTA_STS, "STSv1", "MTA-STS"), sts_problem)


@rule("tls-rpt-syntax", Severity.ERROR, "a TLS-RPT record senders cannot use", applies=has_policies)
def tls_rpt_syntax(view: ZoneView) -> Iterator[Diagnostic]:
    kind = (TLS_RPT, "TLSRPTv1", "TLS-RPT")
    return _policy_problems(view, "tls-rpt-syntax", kind, tlsrpt_problem)


@rule("null-mx-mixed", Severity.ERROR, "a null MX beside other MX records")
def null_mx_mixed(view: ZoneView) -> list[Diagnostic]:
    mx = view.by_type.get(T.MX, ())
    if len(mx) < 2:
        return []  # most zones: one MX or none
    by_name: dict[str, list] = {}
    for record in mx:
        by_name.setdefault(view.key(record.owner), []).append(record)
    found = []
    for key, records in by_name.items():
        nulls = [r for r in records if r.data.endswith(" .")]
        if nulls and len(records) > len(nulls):
            found.append(
                _report(
                    "null-mx-mixed",
                    nulls[0].position,
                    f"'{view.label(key)}' has a null MX ('MX 0 .': accepts no mail) and other "
                    f"MX records{view.view_note}; RFC 7505 3 allows it only alone: remove either",
                )
            )
    return found
