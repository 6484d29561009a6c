"""The mail rules on the RFCs' own record texts, across zones, views and the cache."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from mail_records import RFC6376_KEY, RFC8463_KEY, rsa_key, spf_terms
from sites import BASE_CONFIG, write_site

from zonesmith.diagnostics import Diagnostic
from zonesmith.output.cache import CachedRecords, ZoneCache
from zonesmith.pipeline import check_site
from zonesmith.rules.mail.spf_syntax import parse_spf

HEAD = BASE_CONFIG + "servers:\n  ns1: {software: bind, role: primary, address: 192.0.2.1}\n"
APEX = "'@': [NS ns1.example.com., MX 10 mail]\nmail: A 192.0.2.25\n"
MAIL_RULES = ("spf-", "dmarc-", "dkim-", "mta-sts-", "tls-rpt-", "null-mx-")

#: RFC 7208 appendix A and section 7.4: records and macros receivers accept
RFC7208_RECORDS = [
    "v=spf1 +all",
    "v=spf1 a -all",
    "v=spf1 a:example.org -all",
    "v=spf1 mx -all",
    "v=spf1 mx:example.org -all",
    "v=spf1 mx mx:example.org -all",
    "v=spf1 mx/30 mx:example.org/30 -all",
    "v=spf1 ptr -all",
    "v=spf1 ip4:192.0.2.128/28 -all",
    "v=spf1 +mx a:colo.example.com/28 -all",
    "v=spf1 a/24 mx:offsite.example//64 -all",
    "v=spf1 include:example.com include:example.net -all",
    "v=spf1 redirect=_spf.example.com",
    "v=spf1 mx -exists:%{ir}.sbl.example.org ~all",
    "v=spf1 exists:%{ir}.%{v}._spf.%{d2} -all",
    "v=spf1 exists:%{lr-}.lp._spf.%{d2} -all",
    "v=spf1 exists:%{lr-}.lp.%{ir}.%{v}._spf.%{d2} -all",
    "v=spf1 exists:%{l1r-}.%{d3}.%{dr}.%{d2r} -all",
    "v=spf1 mx -all exp=explain._spf.%{d}",
    "v=spf1 ip6:2001:db8::/32 ip4:192.0.2.0/24 -all moo=%{d}%%%_%-",
]
#: records receivers fail with permerror, and a word of what the check says
BROKEN_RECORDS = [
    ("v=spf1 ip4:192.0.2.0/33 -all", "/33"),
    ("v=spf1 ip6:2001:db8::/129 -all", "/129"),
    ("v=spf1 a//129 -all", "/129"),
    ("v=spf1 mx:example.org/33 -all", "/33"),
    ("v=spf1 ip4:2001:db8::1 -all", "IPv4"),
    ("v=spf1 include: -all", "include"),
    ("v=spf1 include:example -all", "top-level"),
    ("v=spf1 exists:%{z}.example.com -all", "%"),
    ("v=spf1 exists:%{c}.example.com -all", "exp="),
    ("v=spf1 redirect=a.example.com redirect=b.example.com", "twice"),
    ("v=spf1 foo:bar -all", "mechanism"),
    ("v=spf1 all:example.com", "argument"),
    ("v=spf1 moo=50% -all", "%"),
]


@pytest.mark.parametrize("text", RFC7208_RECORDS)
def test_the_rfc_examples_of_spf_are_read_without_problems(text: str) -> None:
    assert parse_spf(text).problems == []


@pytest.mark.parametrize(("text", "said"), BROKEN_RECORDS)
def test_a_broken_spf_record_is_one_sentence_at_its_line(
    tmp_path: Path, text: str, said: str
) -> None:
    found = mail_findings(
        tmp_path, {"example.com": APEX + f"www: ['A 192.0.2.80', 'TXT \"{text}\"']\n"}
    )
    assert [(d.rule, d.position.line) for d in found if d.rule == "spf-syntax"] == [
        ("spf-syntax", 3)
    ]
    assert said in next(d.message for d in found if d.rule == "spf-syntax")


def mail_site(root: Path, zones: dict[str, str], extra: str = "") -> Path:
    listing = "".join(f"  {name}: {{}}\n" for name in zones)
    return write_site(
        root, HEAD + extra + "zones:\n" + listing, {f"{n}.yaml": t for n, t in zones.items()}
    )


def findings_of(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.rule.startswith(MAIL_RULES)]


def mail_findings(root: Path, zones: dict[str, str], extra: str = "") -> list[Diagnostic]:
    _, diagnostics = check_site(mail_site(root, zones, extra))
    return findings_of(diagnostics)


def rules_of(found: list[Diagnostic]) -> list[str]:
    return sorted(d.rule for d in found)


def test_the_strings_of_a_txt_record_are_one_spf_record(tmp_path: Path) -> None:
    split = APEX.replace("MX 10 mail]", 'MX 10 mail, \'TXT "v=spf1 ip4:192.0.2.0" "/33 -all"\']')
    assert rules_of(mail_findings(tmp_path / "a", {"example.com": split})) == ["spf-syntax"]
    # "v=spf" "1 ..." is an SPF record too: with another, the name has two
    two = APEX.replace(
        "MX 10 mail]", 'MX 10 mail, \'TXT "v=spf" "1 mx -all"\', \'TXT "v=spf1 a -all"\']'
    )
    assert rules_of(mail_findings(tmp_path / "b", {"example.com": two})) == ["spf-multiple"]


def spf_at_apex(text: str) -> str:
    return APEX.replace("MX 10 mail]", f"MX 10 mail, 'TXT \"{text}\"']")


def included_zone(lookups: int) -> str:
    """example.org, whose _spf record makes ``lookups`` lookups of a name with an address."""
    terms = spf_terms(lookups, "a:mail.example.com")
    return f"'@': NS ns1.example.com.\n_spf: 'TXT \"v=spf1 {terms} -all\"'\n"


def test_lookups_are_counted_through_includes_in_other_zones(tmp_path: Path) -> None:
    zones = {
        "example.com": spf_at_apex("v=spf1 mx include:_spf.example.org -all"),
        "example.org": included_zone(9),
    }
    found = mail_findings(tmp_path, zones)
    assert [d.rule for d in found] == ["spf-lookups"]
    assert found[0].position.path.endswith("zones/example.com.yaml")
    assert "more than 10 DNS lookups (11 counted" in found[0].message


def test_names_outside_the_site_are_not_checked_and_said_so(tmp_path: Path) -> None:
    outside = " ".join(f"include:_spf{i}.example.net" for i in range(3))
    zones = {"example.com": spf_at_apex(f"v=spf1 {outside} {spf_terms(8, 'mx')} -all")}
    found = mail_findings(tmp_path / "over", zones)
    assert rules_of(found) == ["spf-lookups"]
    assert (
        "more in _spf0.example.net, _spf1.example.net, _spf2.example.net, outside"
        in found[0].message
    )
    # an include outside the site alone is never judged: nothing is looked up
    zones = {"example.com": spf_at_apex("v=spf1 include:_spf.google.com ~all")}
    assert mail_findings(tmp_path / "google", zones) == []


def test_wide_includes_are_counted_only_as_far_as_receivers_go(tmp_path: Path) -> None:
    # each of 12 records includes the next one twice: 2**12 paths, 11 lookups
    chain = "".join(
        f"s{i}: 'TXT \"v=spf1 include:s{i + 1}.example.com include:s{i + 1}.example.com -all\"'\n"
        for i in range(12)
    )
    chain += "s12: 'TXT \"v=spf1 ip4:192.0.2.0/24 -all\"'\n"
    found = mail_findings(
        tmp_path, {"example.com": spf_at_apex("v=spf1 include:s0.example.com -all") + chain}
    )
    assert {d.rule for d in found} == {"spf-lookups"}


def test_an_include_loop_is_reported_once_per_record_and_ends(tmp_path: Path) -> None:
    zones = {
        "example.com": spf_at_apex("v=spf1 include:_spf.example.com -all")
        + "_spf: 'TXT \"v=spf1 include:example.com -all\"'\n",
    }
    found = mail_findings(tmp_path, zones)
    assert rules_of(found) == ["spf-lookups", "spf-lookups"]
    assert all("includes itself" in d.message for d in found)


def test_redirect_is_followed_and_ignored_beside_all(tmp_path: Path) -> None:
    many = f"_spf: 'TXT \"v=spf1 {spf_terms(10, 'a:mail.example.com')} -all\"'\n"
    redirected = spf_at_apex("v=spf1 redirect=_spf.example.com") + many
    assert rules_of(mail_findings(tmp_path / "a", {"example.com": redirected})) == ["spf-lookups"]
    ignored = spf_at_apex("v=spf1 mx -all redirect=_spf.example.com") + many
    assert mail_findings(tmp_path / "b", {"example.com": ignored}) == []


def test_void_lookups_count_names_of_the_site_without_records(tmp_path: Path) -> None:
    text = "v=spf1 a:n1.example.com mx:mail.example.com exists:n2.example.com -all"
    found = mail_findings(tmp_path / "void", {"example.com": spf_at_apex(text)})
    assert rules_of(found) == ["spf-void-lookups"] and "3 names" in found[0].message
    # a delegated name is another zone's, which the site lacks: not judged
    delegated = spf_at_apex(text.replace("n2.example.com", "n2.sub.example.com"))
    delegated += "sub: NS ns.example.net.\n"
    assert mail_findings(tmp_path / "cut", {"example.com": delegated}) == []


def test_names_a_wildcard_answers_are_not_void(tmp_path: Path) -> None:
    """RFC 4592: a wildcard answers the names below its parent that have no records."""
    text = "v=spf1 a:n1.example.com mx:n2.example.com a:n3.hosts.example.com -all"
    wildcards = "'*': [A 192.0.2.7, MX 10 mail.example.com.]\n'*.hosts': A 192.0.2.8\n"
    found = mail_findings(tmp_path / "star", {"example.com": spf_at_apex(text) + wildcards})
    assert found == []
    # a name with records of its own is not the wildcard's: without A or MX it is void
    own = wildcards + "n1: TXT \"x\"\nn2: TXT \"x\"\nn3.hosts: TXT \"x\"\n"
    found = mail_findings(tmp_path / "own", {"example.com": spf_at_apex(text) + own})
    assert rules_of(found) == ["spf-void-lookups"] and "3 names" in found[0].message


def test_a_wildcard_does_not_answer_below_or_at_an_empty_non_terminal(tmp_path: Path) -> None:
    """RFC 4592 2.2.2: a name that exists only because names below it have records
    (an empty non-terminal) stops the wildcard above it, for itself and below it."""
    text = "v=spf1 a:deep.example.com a:n1.deep.example.com mx:n2.deep.example.com -all"
    zone = spf_at_apex(text) + "'*': [A 192.0.2.7, MX 10 mail.example.com.]\n"
    below = zone + "host.inner.deep: A 192.0.2.9\n"
    found = mail_findings(tmp_path / "ent", {"example.com": below})
    assert rules_of(found) == ["spf-void-lookups"] and "3 names" in found[0].message
    # a wildcard below the empty non-terminal answers its children again: n1 has an
    # address, which leaves two void lookups, as many as RFC 7208 allows
    found = mail_findings(tmp_path / "own", {"example.com": below + "'*.deep': A 192.0.2.8\n"})
    assert found == []


def test_an_include_answered_by_a_wildcard_spf_record_is_followed(tmp_path: Path) -> None:
    """A query for include:spf.example.org gets the SPF record of *.example.org (RFC 4592):
    the include is not missing, and the wildcard's lookups count."""
    apex = spf_at_apex("v=spf1 include:spf.example.org -all")
    star = "v=spf1 ip4:192.0.2.0/24 -all"
    org = "'@': NS ns1.example.com.\n'*': ['TXT \"{}\"', MX 10 mail.example.com.]\n"
    found = mail_findings(tmp_path / "few", {"example.com": apex, "example.org": org.format(star)})
    assert found == []
    many = f"v=spf1 {spf_terms(10, 'a:mail.example.com')} -all"
    found = mail_findings(tmp_path / "many", {"example.com": apex, "example.org": org.format(many)})
    assert rules_of(found) == ["spf-lookups"] and "'@'" in found[0].message


def test_the_record_of_a_name_that_sends_no_mail_is_silent(tmp_path: Path) -> None:
    zones = {
        "example.com": spf_at_apex("v=spf1 mx include:_spf.example.com -all")
        + "www: 'TXT \"v=spf1 -all exp=explain._spf.example.com\"'\n"  # RFC 7208 10.1.2
        + "printer: [A 192.0.2.9, 'TXT \"v=spf1 a -all\"']\n"
        + "_spf: 'TXT \"v=spf1 ip4:192.0.2.0/24 -all\"'\n"
        + "spf2: 'TXT \"v=spf1 ip4:198.51.100.0/24 -all\"'\n"
        + "old: 'TXT \"v=spf1 include:spf2.example.com -all\"'\n"
    }
    found = mail_findings(tmp_path, zones)
    assert [(d.rule, d.position.line) for d in found] == [("spf-no-mail-domain", 7)]


RFC7489_RECORDS = [
    "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com",
    "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@example.com",
    "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,"
    "mailto:tld-test@example.com!10m; pct=25",
    "v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; fo=0:1:d:s; rf=afrf; ri=86400",
]


@pytest.mark.parametrize("text", RFC7489_RECORDS)
def test_the_rfc_examples_of_dmarc_are_silent(tmp_path: Path, text: str) -> None:
    assert mail_findings(tmp_path, {"example.com": APEX + f"_dmarc: 'TXT \"{text}\"'\n"}) == []


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("v=DMARC1; p=block", "p=block"),
        ("p=none; v=DMARC1", "v=DMARC1"),
        ("v=DMARC1; rua=mailto:d@example.com", "p= "),
        ("v=DMARC1; p=none; rua=https://example.com/reports", "mailto"),
        ("v=DMARC1; p=none; adkim=x", "adkim"),
        ("v=DMARC1; p=none; p=reject", "twice"),
        ("v=DMARC1; p=none; ri=day", "ri="),
    ],
)
def test_a_broken_dmarc_record_says_what_is_wrong(tmp_path: Path, text: str, said: str) -> None:
    found = mail_findings(tmp_path, {"example.com": APEX + f"_dmarc: 'TXT \"{text}\"'\n"})
    assert rules_of(found) == ["dmarc-syntax"] and said in found[0].message


def test_a_subdomain_policy_needs_no_p_but_the_organisational_one_does(tmp_path: Path) -> None:
    zones = {
        "example.co.uk": APEX
        + "_dmarc: 'TXT \"v=DMARC1; p=reject\"'\n"
        + "_dmarc.shop: 'TXT \"v=DMARC1; rua=mailto:d@example.co.uk\"'\n"
    }
    assert mail_findings(tmp_path, zones) == []


def test_the_organisational_domain_is_found_by_the_public_suffix_list(tmp_path: Path) -> None:
    # example.co.uk is the organisational domain of shop.example.co.uk, not co.uk
    zones = {"example.co.uk": APEX + "_dmarc.shop: 'TXT \"v=DMARC1; p=reject\"'\n"}
    found = mail_findings(tmp_path, zones)
    assert rules_of(found) == ["dmarc-no-org-policy"]
    assert "'example.co.uk' has none" in found[0].message


def test_report_authorization_by_wildcard_and_outside_the_site(tmp_path: Path) -> None:
    dmarc = "_dmarc: 'TXT \"v=DMARC1; p=none; rua=mailto:d@example.org,mailto:d@example.net\"'\n"
    zones = {
        "example.com": APEX + dmarc,
        "example.org": "'@': NS ns1.example.com.\n'*._report._dmarc': 'TXT \"v=DMARC1\"'\n",
    }
    assert mail_findings(tmp_path, zones) == []


def test_dmarc_and_mx_records_per_view(tmp_path: Path) -> None:
    views = "views:\n  internal: {clients: [10.0.0.0/8]}\n  external: {clients: [any]}\n"
    zone = APEX + (
        "_dmarc: [{view: internal, records: ['TXT \"v=DMARC1; p=none\"']},"
        " {view: external, records: ['TXT \"v=DMARC1; p=none\"', 'TXT \"v=DMARC1; p=reject\"']}]\n"
    )
    found = mail_findings(tmp_path, {"example.com": zone}, views)
    assert rules_of(found) == ["dmarc-multiple"] and "in view 'external'" in found[0].message


def test_a_cached_check_judges_across_zones_as_a_fresh_one(tmp_path: Path) -> None:
    zones = {
        "example.com": spf_at_apex("v=spf1 mx include:_spf.example.org -all"),
        "example.org": included_zone(8),
    }
    site = mail_site(tmp_path, zones)

    def cached_check() -> tuple[list[str], list[bool]]:
        an_hour_ago = time.time() - 3600  # else the cache reads a just-written file again
        for path in (site / "zones").iterdir():
            os.utime(path, (an_hour_ago, an_hour_ago))
        cache = ZoneCache(site)
        model, diagnostics = check_site(site, cache)
        cache.save(model.zones, collect=True)
        kept = [isinstance(zone.records, CachedRecords) for zone in model.zones]
        return rules_of(findings_of(diagnostics)), kept

    assert cached_check() == ([], [False, False])
    assert cached_check() == ([], [True, True])
    # the included zone changes: the including record is judged anew
    (site / "zones/example.org.yaml").write_text(included_zone(10))
    assert cached_check() == (["spf-lookups"], [True, False])
    assert cached_check() == (["spf-lookups"], [True, True])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (f"v=DKIM1; p={RFC6376_KEY}", ["dkim-key-short"]),
        (f"v=DKIM1; k=ed25519; p={RFC8463_KEY}", []),
        ("v=DKIM1; p=", []),  # revoked (RFC 6376 3.6.1)
        (f"k=rsa; h=sha256; s=email; t=y:s; p={RFC6376_KEY}", ["dkim-key-short"]),
        (f"k=dsa; p={RFC6376_KEY}", ["dkim-syntax"]),
        (f"p={RFC6376_KEY}; v=DKIM1", ["dkim-syntax"]),
        ("v=DKIM1; k=rsa", ["dkim-syntax"]),
        ("v=DKIM1; p=not*base64", ["dkim-syntax"]),
        (f"v=DKIM1; p={RFC8463_KEY}", ["dkim-syntax"]),  # an Ed25519 key given as RSA
        (f"v=DKIM1; k=ed25519; h=sha1:sha256; s=*; p={RFC8463_KEY}", []),
        (f"v=DKIM1; k=ed25519; h=sha1; p={RFC8463_KEY}", ["dkim-syntax"]),  # RFC 8301
        (f"v=DKIM1; k=ed25519; s=web; p={RFC8463_KEY}", ["dkim-syntax"]),  # not for email
    ],
)
def test_dkim_key_records(tmp_path: Path, text: str, found: list[str]) -> None:
    zone = APEX + f"brisbane._domainkey: 'TXT \"{text}\"'\n"
    assert rules_of(mail_findings(tmp_path, {"example.com": zone})) == found


def test_an_rsa_key_in_pkcs1_form_is_read(tmp_path: Path) -> None:
    spki = base64.b64decode(rsa_key(2048))
    pkcs1 = serialization.load_der_public_key(spki).public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.PKCS1
    )
    zone = APEX + f"s1._domainkey: 'TXT \"p={base64.b64encode(pkcs1).decode()}\"'\n"
    assert mail_findings(tmp_path, {"example.com": zone}) == []


@pytest.mark.parametrize(
    ("name", "text", "found"),
    [
        ("_mta-sts", "v=STSv1; id=20160831085700Z;", []),  # RFC 8461 3.1
        ("_mta-sts", "v=STSv1; id=20160831085700Z", []),
        ("_mta-sts", "v=STSv1;", ["mta-sts-syntax"]),
        ("_mta-sts", f"v=STSv1; id={'1' * 33}", ["mta-sts-syntax"]),
        ("_smtp._tls", "v=TLSRPTv1;rua=mailto:reports@example.com", []),  # RFC 8460 3
        ("_smtp._tls", "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt", []),
        ("_smtp._tls", "v=TLSRPTv1", ["tls-rpt-syntax"]),
        ("_smtp._tls", "v=TLSRPTv1; rua=mailto:", ["tls-rpt-syntax"]),
    ],
)
def test_transport_policy_records(tmp_path: Path, name: str, text: str, found: list[str]) -> None:
    zone = APEX + f"{name}: 'TXT \"{text}\"'\n"
    assert rules_of(mail_findings(tmp_path, {"example.com": zone})) == found


def test_two_mta_sts_records_leave_senders_without_a_policy(tmp_path: Path) -> None:
    zone = APEX + "_mta-sts: ['TXT \"v=STSv1; id=1\"', 'TXT \"v=STSv1; id=2\"']\n"
    found = mail_findings(tmp_path, {"example.com": zone})
    assert rules_of(found) == ["mta-sts-syntax"] and "2 records" in found[0].message


def test_a_null_mx_alone_is_silent_and_says_where_it_is_mixed(tmp_path: Path) -> None:
    zone = APEX + "nomail: MX 0 .\nmixed: [MX 10 mail.example.com., MX 0 .]\n"
    found = mail_findings(tmp_path, {"example.com": zone})
    assert [(d.rule, d.position.line) for d in found] == [("null-mx-mixed", 4)]
