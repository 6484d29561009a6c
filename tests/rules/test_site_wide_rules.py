"""Rules that follow names across the zones of a site: targets, reverse records,
delegations; and CAA values (RFC 8659's own examples)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sites import write_site

from zonesmith.diagnostics import Diagnostic
from zonesmith.model import Site
from zonesmith.output.cache import CachedRecords, ZoneCache
from zonesmith.pipeline import check_site

HEAD = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1}
"""
VIEWS = """\
views:
  internal: {clients: [10.0.0.0/8]}
  external: {clients: [any]}
"""
EXAMPLE_COM = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"


def check(root: Path, config: str, zones: dict[str, str], cache: bool = False) -> list[Diagnostic]:
    write_site(root, config, zones)
    if cache:
        # As files checked out a while ago: the cache re-reads a file changed just now.
        an_hour_ago = time.time() - 3600
        for path in (root / "zones").iterdir():
            os.utime(path, (an_hour_ago, an_hour_ago))
    return recheck(root)[1] if cache else check_site(root)[1]


def recheck(root: Path) -> tuple[Site, list[Diagnostic]]:
    """Check with the site's cache, and keep what was learnt, as `zonesmith check` does."""
    cache = ZoneCache(root)
    site, diagnostics = check_site(root, cache)
    cache.save(site.zones, collect=True)
    return site, diagnostics


def found(diagnostics: list[Diagnostic], rule: str) -> list[str]:
    return [
        f"{d.position.path.rpartition('/')[2]}:{d.position.line} {d.message}"
        for d in diagnostics
        if d.rule == rule
    ]


# -- targets in other zones ------------------------------------------------------------------


TWO_DOMAINS = HEAD + "zones:\n  example.com: {}\n  example.net: {}\n"


def test_an_mx_target_in_another_zone_without_address_is_reported_at_the_mx(
    tmp_path: Path,
) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM + "mx: MX 10 mail.example.net.\n",
        "example.net.yaml": "'@': NS ns1.example.com.\nmail: TXT no-address-here\n",
    }
    diagnostics = check(tmp_path, TWO_DOMAINS, zones)
    assert found(diagnostics, "mx-no-address") == [
        "example.com.yaml:3 MX target 'mail.example.net.' (zone 'example.net') has no A or "
        "AAAA record"
    ]


def test_an_mx_target_in_another_zone_with_an_address_or_outside_the_site_is_quiet(
    tmp_path: Path,
) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM
        + "mx: [MX 10 mail.example.net., MX 20 mail.example.org.]\n",
        "example.net.yaml": "'@': NS ns1.example.com.\nmail: A 192.0.2.25\n",
    }
    diagnostics = check(tmp_path, TWO_DOMAINS, zones)
    assert found(diagnostics, "mx-no-address") == []


def test_a_target_without_address_in_one_view_names_that_view(tmp_path: Path) -> None:
    config = HEAD + VIEWS + "zones:\n  example.com: {}\n  example.net: {}\n"
    zones = {
        "example.com.yaml": EXAMPLE_COM + "_sip._tcp: SRV 0 5 5060 sip.example.net.\n",
        "example.net.yaml": "'@': NS ns1.example.com.\n"
        "sip: {view: internal, records: [A 10.0.0.5]}\n",
    }
    diagnostics = check(tmp_path, config, zones)
    assert found(diagnostics, "srv-no-address") == [
        "example.com.yaml:3 SRV target 'sip.example.net.' (zone 'example.net') has no A or "
        "AAAA record in view 'external'"
    ]


def test_targets_that_are_cnames_in_another_zone_are_reported(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": "'@': [NS ns.example.net., MX 10 mail.example.net.]\n",
        "example.net.yaml": "'@': NS ns1.example.com.\nmail: CNAME host\nns: CNAME host\n"
        "host: A 192.0.2.25\n",
    }
    diagnostics = check(tmp_path, TWO_DOMAINS, zones)
    assert [m.split(" is ")[0] for m in found(diagnostics, "mx-target-cname")] == [
        "example.com.yaml:1 MX target 'mail.example.net.' (zone 'example.net')"
    ]
    assert len(found(diagnostics, "ns-target-cname")) == 1


def test_a_cname_into_another_zone_of_the_site_must_point_at_a_name_that_exists(
    tmp_path: Path,
) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM + "www: CNAME web.example.net.\n"
        "shop: CNAME shop.example.net.\nblog: CNAME blog.example.org.\n",
        "example.net.yaml": "'@': NS ns1.example.com.\nweb: A 192.0.2.80\n'*.cdn': A 192.0.2.81\n",
    }
    diagnostics = check(tmp_path, TWO_DOMAINS, zones)
    assert found(diagnostics, "dangling-cname") == [
        "example.com.yaml:4 CNAME target 'shop.example.net.' does not exist in zone "
        "'example.net', so the name answers NXDOMAIN: add records for it or remove the CNAME"
    ]


def test_a_cname_to_a_wildcard_or_an_empty_non_terminal_exists(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM
        + "a: CNAME x.cdn\nb: CNAME lab\nc: CNAME missing\nhost.lab: A 192.0.2.9\n"
        "'*.cdn': A 192.0.2.81\n",
    }
    diagnostics = check(tmp_path, HEAD + "zones:\n  example.com: {}\n", zones)
    assert [m.split(" ")[0] for m in found(diagnostics, "dangling-cname")] == ["example.com.yaml:5"]


def test_a_wildcard_does_not_answer_below_an_existing_name(tmp_path: Path) -> None:
    """RFC 4592: only the wildcard at a name's closest encloser answers for it; 'deep'
    exists (an empty non-terminal), so '*' at the apex does not answer 'y.deep'."""
    zones = {
        "example.com.yaml": EXAMPLE_COM
        + "a: CNAME y.deep\nb: CNAME elsewhere\nhost.inner.deep: A 192.0.2.9\n'*': A 192.0.2.7\n",
    }
    diagnostics = check(tmp_path, HEAD + "zones:\n  example.com: {}\n", zones)
    assert [m.split(" ")[0] for m in found(diagnostics, "dangling-cname")] == ["example.com.yaml:3"]


def test_mx_and_srv_targets_written_as_addresses_are_reported(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM + "mx: [MX 10 192.0.2.25, MX 20 2001:db8::25]\n"
        "_sip._tcp: SRV 0 5 5060 192.0.2.5.\n_xmpp._tcp: SRV 0 5 5222 ns1\n",
    }
    diagnostics = check(tmp_path, HEAD + "zones:\n  example.com: {}\n", zones)
    assert [m.split(" is ")[0] for m in found(diagnostics, "mx-target-address")] == [
        "example.com.yaml:3 MX target '192.0.2.25'",
        "example.com.yaml:3 MX target '2001:db8::25'",
    ]
    assert [m.split(" is ")[0] for m in found(diagnostics, "srv-target-address")] == [
        "example.com.yaml:4 SRV target '192.0.2.5'"
    ]
    assert found(diagnostics, "mx-no-address") == []


# -- forward-confirmed reverse DNS -------------------------------------------------------------

REVERSE_SITE = HEAD + "zones:\n  example.com: {}\n  2.0.192.in-addr.arpa: {}\n"
MAIL = "'@': [NS ns1.example.com., MX 10 mail]\nns1: A 192.0.2.1\nmail: A 192.0.2.25\n"


def reverse_zone(ptrs: str) -> str:
    return "'@': NS ns1.example.com.\n" + ptrs


@pytest.mark.parametrize(
    ("ptrs", "expected"),
    [
        ("25: PTR mail.example.com.\n", []),
        ("25: PTR smtp.example.org.\n", []),  # outside the site: not checked
        (
            "26: PTR mail.example.com.\n",
            [
                "example.com.yaml:3 mail host 'mail.example.com.' (MX target of 'example.com.') "
                "has address 192.0.2.25, but '25.2.0.192.in-addr.arpa.' has no PTR; many mail "
                "servers refuse mail from an address without one: add PTR mail.example.com. "
                "there (or reverse-of in zone '2.0.192.in-addr.arpa')"
            ],
        ),
        (
            "25: PTR ns1.example.com.\n",
            [
                "2.0.192.in-addr.arpa.yaml:2 the PTR of 192.0.2.25 (address of mail host "
                "'mail.example.com.', MX target of 'example.com.') names 'ns1.example.com.', "
                "whose addresses do not include 192.0.2.25; mail from it fails the "
                "forward-confirmed reverse check: point the PTR at 'mail.example.com.'"
            ],
        ),
    ],
)
def test_the_ptr_of_a_mail_host_must_point_back(
    tmp_path: Path, ptrs: str, expected: list[str]
) -> None:
    zones = {"example.com.yaml": MAIL, "2.0.192.in-addr.arpa.yaml": reverse_zone(ptrs)}
    assert found(check(tmp_path, REVERSE_SITE, zones), "reverse-mismatch") == expected


def test_ptrs_derived_by_reverse_of_hold(tmp_path: Path) -> None:
    config = (
        HEAD + "zones:\n  example.com: {}\n  2.0.192.in-addr.arpa: {reverse-of: [example.com]}\n"
    )
    zones = {"example.com.yaml": MAIL, "2.0.192.in-addr.arpa.yaml": reverse_zone("")}
    assert found(check(tmp_path, config, zones), "reverse-mismatch") == []


def test_a_classless_delegation_cname_is_followed(tmp_path: Path) -> None:
    ptrs = "25: CNAME 25.0-63\n0-63: NS ns1.example.com.\n"
    zones = {
        "example.com.yaml": MAIL,
        "2.0.192.in-addr.arpa.yaml": reverse_zone(ptrs),
        "0-63.2.0.192.in-addr.arpa.yaml": reverse_zone("25: PTR ns1.example.com.\n"),
    }
    config = REVERSE_SITE + "  0-63.2.0.192.in-addr.arpa: {}\n"
    assert [
        m.split(" names ")[0] for m in found(check(tmp_path, config, zones), "reverse-mismatch")
    ] == [
        "0-63.2.0.192.in-addr.arpa.yaml:2 the PTR of 192.0.2.25 (address of mail host "
        "'mail.example.com.', MX target of 'example.com.')"
    ]


def test_mail_senders_are_checked_like_mx_targets(tmp_path: Path) -> None:
    config = HEAD + "mail-senders: [out.example.com]\n" + REVERSE_SITE[len(HEAD) :]
    zones = {
        "example.com.yaml": EXAMPLE_COM + "out: [A 192.0.2.30, AAAA 2001:db8::30]\n",
        "2.0.192.in-addr.arpa.yaml": reverse_zone(""),
    }
    messages = found(check(tmp_path, config, zones), "reverse-mismatch")
    # the IPv6 address's reverse zone is not the site's: not checked
    assert [m.split(" but ")[0] for m in messages] == [
        "example.com.yaml:3 mail host 'out.example.com.' (a mail sender) has address 192.0.2.30,"
    ]


def test_the_reverse_is_checked_in_each_view_the_reverse_zone_is_served_in(
    tmp_path: Path,
) -> None:
    config = (
        HEAD + VIEWS + "zones:\n  example.com: {}\n  2.0.192.in-addr.arpa: {views: [internal]}\n"
    )
    ptrs = "25: {view: internal, records: [PTR www.example.com.]}\n"
    zones = {"example.com.yaml": MAIL, "2.0.192.in-addr.arpa.yaml": reverse_zone(ptrs)}
    messages = found(check(tmp_path, config, zones), "reverse-mismatch")
    assert len(messages) == 1 and "in view 'internal';" in messages[0]


def test_mail_senders_take_host_names_and_suggest_the_key(tmp_path: Path) -> None:
    config = HEAD + "mail-senders: [mail.example.org, 'bad name']\nmail-sender: []\n"
    config += "zones:\n  example.com: {}\n"
    diagnostics = check(tmp_path, config, {"example.com.yaml": EXAMPLE_COM})
    assert [(d.rule, d.position.line) for d in diagnostics if d.is_error] == [
        ("bad-name", 6),
        ("unknown-key", 7),
    ]
    assert "did you mean 'mail-senders'?" in found(diagnostics, "unknown-key")[0]
    assert found(diagnostics, "mail-sender-outside-site") == [
        "zonesmith.yaml:6 mail sender 'mail.example.org.' is in no zone of the site, so its "
        "reverse records cannot be checked; list the site's own hosts here"
    ]


# -- delegations within the site ---------------------------------------------------------------

PARENT_CHILD = HEAD + "zones:\n  example.com: {}\n  sub.example.com: {}\n"


def test_a_delegation_whose_ns_differ_from_the_childs_apex_is_reported(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM + "sub: [NS ns1.example.com., NS ns2.example.net.]\n",
        "sub.example.com.yaml": "'@': NS ns1.example.com.\n",
    }
    assert found(check(tmp_path, PARENT_CHILD, zones), "delegation-ns-mismatch") == [
        "example.com.yaml:3 the NS records of 'sub' in zone 'example.com' (ns1.example.com., "
        "ns2.example.net.) differ from the apex NS of zone 'sub.example.com' "
        "(ns1.example.com.); resolvers use one set or the other: make them equal"
    ]


def test_a_child_zone_its_parent_does_not_delegate_is_reported(tmp_path: Path) -> None:
    zones = {"example.com.yaml": EXAMPLE_COM, "sub.example.com.yaml": "'@': NS ns1.example.com.\n"}
    messages = found(check(tmp_path, PARENT_CHILD, zones), "delegation-ns-mismatch")
    assert [m.split(":")[0] for m in messages] == ["zonesmith.yaml"]
    assert "is not delegated from its parent 'example.com'" in messages[0]


def test_glue_must_equal_the_childs_addresses(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM
        + "sub: NS ns.sub.example.com.\nns.sub: [A 192.0.2.20, AAAA 2001:db8::20]\n",
        "sub.example.com.yaml": "'@': NS ns.sub.example.com.\nns: A 192.0.2.20\n",
    }
    assert found(check(tmp_path, PARENT_CHILD, zones), "glue-mismatch") == [
        "example.com.yaml:4 the glue for 'ns.sub.example.com.' in zone 'example.com' "
        "(192.0.2.20, 2001:db8::20) differs from its addresses in zone 'sub.example.com' "
        "(192.0.2.20); resolvers use the glue first: make them equal"
    ]


def test_an_ns_at_the_address_of_a_server_that_does_not_serve_the_child_is_lame(
    tmp_path: Path,
) -> None:
    config = (
        HEAD
        + "  ns2: {software: nsd, role: primary, address: 192.0.2.2}\n"
        + "zones:\n  example.com: {}\n  sub.example.com: {servers: [ns1]}\n"
    )
    zones = {
        "example.com.yaml": EXAMPLE_COM
        + "ns2: A 192.0.2.2\nns9: A 198.51.100.9\n"
        + "sub: [NS ns1.example.com., NS ns2.example.com., NS ns9.example.com.]\n",
        "sub.example.com.yaml": "'@': [NS ns1.example.com., NS ns2.example.com., "
        "NS ns9.example.com.]\n",
    }
    messages = found(check(tmp_path, config, zones), "lame-delegation")
    # ns9's address is no declared server's: not judged
    assert [m.split(" has ")[0] for m in messages] == [
        "example.com.yaml:5 NS 'ns2.example.com.' of zone 'sub.example.com'",
        "sub.example.com.yaml:1 NS 'ns2.example.com.' of zone 'sub.example.com'",
    ]
    assert "that of server 'ns2', which does not serve 'sub.example.com'" in messages[0]


def test_the_rules_across_zones_find_the_same_with_the_cache(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": EXAMPLE_COM + "mx: MX 10 mail.example.net.\n",
        "example.net.yaml": "'@': NS ns1.example.com.\nmail: CNAME gone\n",
    }
    first = check(tmp_path, TWO_DOMAINS, zones, cache=True)
    site, again = recheck(tmp_path)
    assert all(isinstance(zone.records, CachedRecords) for zone in site.zones)
    assert found(first, "mx-target-cname") and found(again, "mx-target-cname") == found(
        first, "mx-target-cname"
    )
    assert found(again, "dangling-cname") == found(first, "dangling-cname") != []


# -- CAA (RFC 8659) ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '0 issue "ca.example.net"',
        '0 issue "ca.example.net; account=230123"',
        '0 issue "ca.example.net; account=230123; policy=ev"',
        '0 issue ";"',
        '0 issuewild ""',
        '128 issue "ca.example.net"',
        '0 iodef "mailto:security@example.com"',
        '0 iodef "https://iodef.example.com/"',
        '0 issuemail "authority.example"',
    ],
)
def test_caa_records_of_the_rfcs_are_quiet(tmp_path: Path, value: str) -> None:
    zones = {"example.com.yaml": f"'@': [NS ns1.example.com., 'CAA {value}']\nns1: A 192.0.2.1\n"}
    diagnostics = check(tmp_path, HEAD + "zones:\n  example.com: {}\n", zones)
    assert found(diagnostics, "bad-caa") == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('1 issue "ca.example.net"', "CAA flags 1 set reserved bits"),
        ('0 issue "ca example.net"', "issuer 'ca example.net' is not a domain name"),
        ('0 issue "-ca.example.net"', "issuer '-ca.example.net' is not a domain name"),
        ('0 issue "ca.example.net; account"', "parameter 'account' is not tag=value"),
        ('0 iodef "security@example.com"', "'security@example.com' is not a mailto:"),
        ('0 iodef "ftp://example.com/"', "'ftp://example.com/' is not a mailto:"),
    ],
)
def test_caa_records_breaking_rfc_8659_are_reported(
    tmp_path: Path, value: str, problem: str
) -> None:
    zones = {"example.com.yaml": f"'@': [NS ns1.example.com., 'CAA {value}']\nns1: A 192.0.2.1\n"}
    diagnostics = check(tmp_path, HEAD + "zones:\n  example.com: {}\n", zones)
    messages = found(diagnostics, "bad-caa")
    assert len(messages) == 1 and problem in messages[0]


def test_a_server_is_judged_lame_only_in_the_views_it_serves(tmp_path: Path) -> None:
    config = (
        HEAD
        + VIEWS
        + "  ns2: {software: nsd, role: secondary, address: 192.0.2.2, primaries: [ns1], "
        "views: [external]}\n"
        + "zones:\n  example.com: {}\n  internal.example: {views: [internal]}\n"
    )
    zones = {
        "example.com.yaml": EXAMPLE_COM + "ns2: A 192.0.2.2\n",
        "internal.example.yaml": "'@': [NS ns1.example.com., NS ns2.example.com.]\n",
    }
    assert found(check(tmp_path, config, zones), "lame-delegation") == []


def test_the_reverse_of_mail_hosts_is_checked_the_same_from_the_cache(tmp_path: Path) -> None:
    zones = {
        "example.com.yaml": MAIL,
        "2.0.192.in-addr.arpa.yaml": reverse_zone("25: PTR ns1.example.com.\n"),
    }
    first = found(check(tmp_path, REVERSE_SITE, zones, cache=True), "reverse-mismatch")
    site, diagnostics = recheck(tmp_path)
    assert all(isinstance(zone.records, CachedRecords) for zone in site.zones)
    assert len(first) == 1 and found(diagnostics, "reverse-mismatch") == first
