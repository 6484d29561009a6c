"""Every rule of the registry fires on a site made to break it, and keeps quiet on its near miss.

One table, one case per rule id: a rule added without a case here fails
``test_every_rule_has_a_case``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mail_records import RFC6376_KEY, RFC8463_KEY, rsa_key, spf_terms
from sites import write_site

from zonesmith.pipeline import check_site
from zonesmith.rules.registry import RULES

SOA = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
"""
PRIMARY = "  ns1: {software: bind, role: primary, address: 192.0.2.1}\n"
ZONE = "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"
SECRET = {"secrets/xfr.key": "c2VjcmV0LW9uZQ==\n"}
KEYS = "keys:\n  xfr: {secret-file: secrets/xfr.key}\n"
VIEWS = """\
views:
  internal: {clients: [10.0.0.0/8]}
  external: {clients: [any]}
"""
BLOCK = {"lists/block.txt": "ads.example.org\n"}
DS = "12345 13 2 " + "ab" * 32
MASTER = "@ NS ns1\nns1 A 192.0.2.1\n"  # example.com as a master file
ZONE_FILE = "example.com.zone"
#: zonesmith.keys with a KSK of sub.example.com (what a deploy read from its signer)
LIVE_KEYS = (
    '{"keys": {"sub.example.com": {"default": ["257 3 13 ' + "A" * 86 + '=="]}}, "version": 1}'
)
HASH = "2T7B4G4VSA5SMI47K61MV5BV1A22BOJR"  # a SHA-1 hash, base32hex


@dataclass
class Site:
    """One site: the parts of zonesmith.yaml, the records of example.com, other files."""

    servers: str = PRIMARY
    zones: str = "  example.com: {}\n"
    records: str = ZONE
    head: str = SOA
    extra: str = ""
    files: dict[str, str] = field(default_factory=dict)
    #: the zone's file: YAML, or a master file (example.com.zone)
    zone_file: str = "example.com.yaml"

    def write(self, root: Path) -> Path:
        config = self.head + self.extra + "servers:\n" + self.servers + "zones:\n" + self.zones
        return write_site(root, config, {self.zone_file: self.records}, self.files)


def resolver(blocklists: str, action: str = "nxdomain", sources: str = "[lists/block.txt]") -> Site:
    servers = PRIMARY + (
        f"  res1: {{software: unbound, role: resolver, address: 192.0.2.53, "
        f"blocklists: [{blocklists}]}}\n"
    )
    extra = f"blocklists:\n  ads: {{sources: {sources}, action: {action}}}\n"
    return Site(servers=servers, extra=extra, files=BLOCK)


def secondary(options: str, extra: str = KEYS, primary: str = PRIMARY, **site: str) -> Site:
    servers = primary + f"  ns2: {{software: nsd, role: secondary, address: 192.0.2.2{options}}}\n"
    return Site(servers=servers, extra=extra, files=SECRET, **site)


def key(secret: str, path: str = "secrets/xfr.key") -> Site:
    return Site(extra=f"keys:\n  xfr: {{secret-file: {path}}}\n", files={"secrets/xfr.key": secret})


def records(text: str) -> Site:
    return Site(records=ZONE + text)


def apex(records_at_apex: str, others: str = "") -> Site:
    """A zone whose apex has ``records_at_apex`` beside its NS record."""
    at_apex = f"'@': [NS ns1.example.com., {records_at_apex}]\nns1: A 192.0.2.1\n"
    return Site(records=at_apex + others)


def txt(name: str, text: str, others: str = "") -> Site:
    """A zone with a TXT record of ``text`` at ``name`` (beside other records)."""
    return records(f"{name}: 'TXT \"{text}\"'\n" + others)


def mail_at_apex(*texts: str, others: str = "", **site: str) -> Site:
    """A zone whose apex has MX and these TXT records (a domain that sends and receives mail)."""
    quoted = ", ".join(f"'TXT \"{text}\"'" for text in texts)
    at_apex = f"'@': [NS ns1.example.com., MX 10 ns1, {quoted}]\nns1: A 192.0.2.1\n"
    return Site(records=at_apex + others, **site)


def dmarc_reports(authorized: str) -> Site:
    """example.com sends DMARC reports to example.org, a zone of the site."""
    return Site(
        zones="  example.com: {}\n  example.org: {}\n",
        records=ZONE + "_dmarc: 'TXT \"v=DMARC1; p=none; rua=mailto:dmarc@example.org\"'\n",
        files={"zones/example.org.yaml": "'@': NS ns1.example.com.\n" + authorized},
    )


def signed(policy_text: str, policy: str = "standard", **site: str) -> Site:
    """example.com signed with ``policy``; the site declares the policy 'standard'."""
    extra = f"dnssec-policies:\n  standard: {policy_text}\n"
    site.setdefault("zones", f"  example.com: {{dnssec: {policy}}}\n")
    return Site(extra=extra, **site)


def hidden(address: str) -> Site:
    servers = f"  ns1: {{software: bind, role: primary, address: {address}, hidden: true}}\n"
    return Site(servers=servers)


#: rule id -> (a site the rule must report, its near miss the rule must not report)
CASES: dict[str, tuple[Site, Site]] = {
    # references between the parts of a site
    "unknown-view": (
        Site(extra=VIEWS, zones="  example.com: {views: [internl]}\n"),
        Site(extra=VIEWS, zones="  example.com: {views: [internal]}\n"),
    ),
    "view-not-in-zone": (
        Site(
            extra=VIEWS,
            zones="  example.com: {views: [external]}\n",
            records=ZONE + "intranet: {view: internal, records: [A 10.0.0.20]}\n",
        ),
        Site(
            extra=VIEWS,
            zones="  example.com: {views: [external]}\n",
            records=ZONE + "intranet: {view: external, records: [A 10.0.0.20]}\n",
        ),
    ),
    "unknown-set": (
        Site(zones="  example.com: {include: [mail]}\n"),
        Site(
            extra="sets:\n  mail: {'@': MX 10 ns1.example.com.}\n",
            zones="  example.com: {include: [mail]}\n",
        ),
    ),
    "unknown-tsig-key": (
        secondary(", primaries: [ns1], key: xrf"),
        secondary(", primaries: [ns1], key: xfr"),
    ),
    "unknown-server": (secondary(", primaries: [ns9]"), secondary(", primaries: [ns1]")),
    "unknown-blocklist": (resolver("adds"), resolver("ads")),
    "blocklist-needs-unbound": (
        Site(
            servers="  ns1: {software: bind, role: primary, address: 192.0.2.1, "
            "blocklists: [ads]}\n",
            extra="blocklists:\n  ads: {sources: [lists/block.txt]}\n",
            files=BLOCK,
        ),
        resolver("ads"),
    ),
    "bad-sinkhole": (
        resolver("ads", action="{sinkhole: sink.example.com}"),
        resolver("ads", action="{sinkhole: 192.0.2.80}"),
    ),
    "bad-blocklist-source": (
        resolver("ads", sources="[ftp://example.org/hosts.txt]"),
        resolver("ads"),
    ),
    "missing-blocklist-file": (resolver("ads", sources="[lists/blocks.txt]"), resolver("ads")),
    "empty-blocklist": (resolver("ads", sources="[]"), resolver("ads")),
    "blocklist-not-fetched": (
        resolver("ads", sources="[https://example.org/hosts.txt]"),
        resolver("ads"),
    ),
    "open-resolver": (
        Site(
            servers=PRIMARY + "  res1: {software: unbound, role: resolver, address: 192.0.2.53, "
            "views: [external]}\n",
            extra=VIEWS,
            zones="  example.com: {views: [external]}\n",
        ),
        Site(
            servers=PRIMARY + "  res1: {software: unbound, role: resolver, address: 192.0.2.53, "
            "views: [internal]}\n",
            extra=VIEWS,
            zones="  example.com: {views: [external]}\n",
        ),
    ),
    "resolver-loopback-only": (
        Site(
            servers=PRIMARY + "  res1: {software: unbound, role: resolver, address: 192.0.2.53}\n"
        ),
        Site(
            servers=PRIMARY + "  res1: {software: unbound, role: resolver, address: 192.0.2.53, "
            "views: [internal]}\n",
            extra=VIEWS,
            zones="  example.com: {views: [external]}\n",
        ),
    ),
    "unknown-zone": (
        Site(zones="  example.com: {}\n  2.0.192.in-addr.arpa: {reverse-of: [example.org]}\n"),
        Site(zones="  example.com: {}\n  2.0.192.in-addr.arpa: {reverse-of: [example.com]}\n"),
    ),
    "missing-secret": (key("c2VjcmV0LW9uZQ==\n", "secrets/xfr.secret"), key("c2VjcmV0LW9uZQ==\n")),
    "secret-outside-site": (
        Site(
            extra="keys:\n  xfr: {secret-file: ../xfr.key}\n",
            files={"../xfr.key": "c2VjcmV0LW9uZQ==\n"},
        ),
        key("c2VjcmV0LW9uZQ==\n"),
    ),
    "bad-secret": (key("not base64 at all!\n"), key("c2VjcmV0LW9uZQ==\n")),
    # the fleet
    "unsupported-role": (
        Site(servers=PRIMARY + "  res1: {software: nsd, role: resolver, address: 192.0.2.9}\n"),
        Site(servers=PRIMARY + "  res1: {software: unbound, role: resolver, address: 192.0.2.9}\n"),
    ),
    "views-unsupported": (
        secondary(", primaries: [ns1]", extra=VIEWS),
        secondary(", primaries: [ns1], views: [external]", extra=VIEWS),
    ),
    "secondary-without-primaries": (secondary(""), secondary(", primaries: [ns1]")),
    "primary-cycle": (
        Site(
            servers=PRIMARY
            + "  ns2: {software: bind, role: secondary, address: 192.0.2.2, primaries: [ns3]}\n"
            + "  ns3: {software: bind, role: secondary, address: 192.0.2.3, primaries: [ns2]}\n"
        ),
        Site(
            servers=PRIMARY
            + "  ns2: {software: bind, role: secondary, address: 192.0.2.2, primaries: [ns1]}\n"
            + "  ns3: {software: bind, role: secondary, address: 192.0.2.3, primaries: [ns2]}\n"
        ),
    ),
    "no-primary-for-zone": (
        secondary(", primaries: [ns1]", zones="  example.com: {servers: [ns2]}\n"),
        secondary(", primaries: [ns1]", zones="  example.com: {servers: [ns1, ns2]}\n"),
    ),
    "view-key-missing": (
        secondary(
            ", primaries: [ns1]",
            primary="  ns1: {software: bind, role: primary, address: 192.0.2.1, "
            "catalog: catalog.example.net.}\n",
        ),
        secondary(
            ", primaries: [ns1], key: xfr",
            primary="  ns1: {software: bind, role: primary, address: 192.0.2.1, "
            "catalog: catalog.example.net.}\n",
        ),
    ),
    "catalog-not-primary": (
        secondary(", primaries: [ns1], key: xfr, catalog: catalog.example.net."),
        secondary(
            ", primaries: [ns1], key: xfr",
            primary="  ns1: {software: bind, role: primary, address: 192.0.2.1, "
            "catalog: catalog.example.net.}\n",
        ),
    ),
    "duplicate-listen": (
        Site(servers=PRIMARY + "  ns4: {software: knot, role: primary, address: 192.0.2.1}\n"),
        Site(
            servers=PRIMARY
            + "  ns4: {software: knot, role: primary, address: 192.0.2.1, port: 5353}\n"
        ),
    ),
    "duplicate-control": (
        Site(
            servers=PRIMARY
            + "  ns2: {software: bind, role: primary, address: 127.0.0.2}\n"
            + "  ns3: {software: bind, role: primary, address: 127.0.0.3}\n"
        ),
        Site(
            servers=PRIMARY
            + "  ns2: {software: bind, role: primary, address: 127.0.0.2}\n"
            + "  ns3: {software: bind, role: primary, address: 127.0.0.3, control-port: 9533}\n"
        ),
    ),
    "hidden-primary-in-ns": (hidden("192.0.2.1"), hidden("192.0.2.99")),
    "missing-soa": (Site(head="defaults: {ttl: 1h}\n"), Site()),
    "empty-view-list": (
        Site(extra=VIEWS, zones="  example.com: {views: []}\n"),
        Site(extra=VIEWS, zones="  example.com: {views: [internal]}\n"),
    ),
    # what one zone serves
    "no-ns": (Site(records="www: A 192.0.2.10\n"), Site()),
    "cname-at-apex": (
        Site(records="'@': [NS ns1.example.com., CNAME www.example.net.]\nns1: A 192.0.2.1\n"),
        records("www: CNAME www.example.net.\n"),
    ),
    "cname-and-other-data": (
        records("www: [CNAME web.example.net., TXT hello]\n"),
        records("www: CNAME web.example.net.\nwww2: TXT hello\n"),
    ),
    "below-delegation": (
        records("sub: NS ns.example.net.\nhost.sub: TXT hello\n"),
        records("sub: NS ns.example.net.\nhost.sub2: TXT hello\n"),
    ),
    "ns-no-address": (
        apex("NS ns9.example.com."),
        apex("NS ns9.example.com.", "ns9: A 192.0.2.9\n"),
    ),
    "missing-glue": (
        records("sub: NS ns.sub.example.com.\n"),
        records("sub: NS ns.sub.example.com.\nns.sub: A 192.0.2.20\n"),
    ),
    "mx-target-cname": (
        apex("MX 10 mail", "mail: CNAME ns1\n"),
        apex("MX 10 mail", "mail: A 192.0.2.25\n"),
    ),
    "ns-target-cname": (
        apex("NS alias.example.com.", "alias: CNAME ns1\n"),
        apex("NS alias.example.com.", "alias: A 192.0.2.1\n"),
    ),
    "srv-target-cname": (
        records("_sip._tcp: SRV 0 5 5060 sip\nsip: CNAME ns1\n"),
        records("_sip._tcp: SRV 0 5 5060 sip\nsip: A 192.0.2.5\n"),
    ),
    "mx-no-address": (apex("MX 10 mail"), apex("MX 10 mail", "mail: A 192.0.2.25\n")),
    "srv-no-address": (
        records("_sip._tcp: SRV 0 5 5060 sip\n"),
        records("_sip._tcp: SRV 0 5 5060 sip\nsip: A 192.0.2.5\n"),
    ),
    "ttl-mismatch": (
        records("www: [300 A 192.0.2.10, 600 A 192.0.2.11]\n"),
        records("www: [300 A 192.0.2.10, 300 A 192.0.2.11]\n"),
    ),
    "duplicate-record": (
        records("www: [A 192.0.2.10, A 192.0.2.10]\n"),
        records("www: [A 192.0.2.10, A 192.0.2.11]\n"),
    ),
    "caa-unknown-tag": (
        apex("'CAA 0 issuer \"ca.example.net\"'"),
        apex("'CAA 0 issue \"ca.example.net\"'"),
    ),
    "ns-below-dname": (
        apex("NS ns.moved.example.com.", "moved: DNAME example.net.\n"),
        apex("NS ns.kept.example.com.", "ns.kept: A 192.0.2.2\nmoved: DNAME example.net.\n"),
    ),
    "ds-at-apex": (apex(f"DS {DS}"), records(f"sub: [NS ns1.example.com., DS {DS}]\n")),
    "cds-mismatch": (apex(f"CDS {DS}"), apex("CDS 0 0 0 00")),
    "bad-nsec3": (
        records(f"not-a-hash: NSEC3 1 0 0 - {HASH} A\n"),
        records(f"{HASH}: NSEC3 1 0 0 - {HASH} A\n"),
    ),
    "multiple-dname": (
        records("moved: [DNAME example.net., DNAME example.org.]\n"),
        records("moved: DNAME example.net.\n"),
    ),
    "soa-not-at-apex": (
        Site(records=MASTER + "sub SOA ns1 hostmaster 1 3600 600 86400 300\n", zone_file=ZONE_FILE),
        Site(records=MASTER + "sub TXT not-an-SOA\n", zone_file=ZONE_FILE),
    ),
    "empty-nsap": (records("host: NSAP \\# 0\n"), records("host: NSAP 0x47000580005a\n")),
    # DNSSEC policies
    "unknown-dnssec-policy": (signed("{}", policy="standrd"), signed("{}")),
    "signature-validity-short": (
        signed("{signature-validity: 14d, signature-refresh: 5d}"),
        signed("{signature-validity: 15d, signature-refresh: 5d}"),
    ),
    "signature-refresh-long": (
        signed("{signature-validity: 21d, signature-refresh: 21d}"),
        signed("{signature-validity: 21d, signature-refresh: 20d}"),
    ),
    "deprecated-algorithm": (signed("{algorithm: RSASHA1}"), signed("{algorithm: RSASHA256}")),
    "nsec3-parameters": (
        signed("{nsec: nsec3, nsec3: {iterations: 10}}"),
        signed("{nsec: nsec3, nsec3: {iterations: 0, salt: '-'}}"),
    ),
    "dnssec-unsupported": (
        signed("{}", servers="  ns1: {software: nsd, role: primary, address: 192.0.2.1}\n"),
        signed("{}", servers="  ns1: {software: knot, role: primary, address: 192.0.2.1}\n"),
    ),
    "missing-ds": (
        signed("{}", zones="  sub.example.com: {dnssec: standard}\n  example.com: {}\n"),
        # the key state knows the child's keys: the parent gets their DS at compile
        signed(
            "{}",
            zones="  sub.example.com: {dnssec: standard}\n  example.com: {}\n",
            files={"zonesmith.keys": LIVE_KEYS},
        ),
    ),
    "ds-for-unsigned": (
        Site(
            records=ZONE + f"sub: [NS ns1.example.com., DS {DS}]\n",
            zones="  example.com: {}\n  sub.example.com: {}\n",
        ),
        Site(
            records=ZONE + f"sub: [NS ns1.example.com., DS {DS}]\n",
            extra="dnssec-policies:\n  standard: {}\n",
            zones="  example.com: {}\n  sub.example.com: {dnssec: standard}\n",
        ),
    ),
    # mail (texts from RFC 7208 appendix A, RFC 7489, RFC 6376, RFC 8461, RFC 8460, RFC 7505)
    "spf-syntax": (
        mail_at_apex("v=spf1 ip4:192.0.2.0/33 -all"),
        mail_at_apex("v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.123 a -all"),
    ),
    "spf-multiple": (
        mail_at_apex("v=spf1 mx -all", "v=spf1 a -all"),
        mail_at_apex("v=spf1 mx -all", "google-site-verification=abc"),
    ),
    "spf-pass-all": (mail_at_apex("v=spf1 +mx +all"), mail_at_apex("v=spf1 +mx -all")),
    "spf-neutral-all": (mail_at_apex("v=spf1 mx ?all"), mail_at_apex("v=spf1 mx ~all")),
    "spf-ptr": (mail_at_apex("v=spf1 ptr -all"), mail_at_apex("v=spf1 a -all")),
    "spf-no-mail-domain": (txt("www", "v=spf1 a -all"), txt("www", "v=spf1 -all")),
    "spf-lookups": (
        mail_at_apex(
            "v=spf1 mx include:_spf.example.com -all",
            others=f"_spf: 'TXT \"v=spf1 {spf_terms(9)} -all\"'\n",
        ),
        mail_at_apex(
            "v=spf1 mx include:_spf.example.com -all",
            others=f"_spf: 'TXT \"v=spf1 {spf_terms(8)} -all\"'\n",
        ),
    ),
    "spf-void-lookups": (
        mail_at_apex("v=spf1 a:n1.example.com a:n2.example.com a:n3.example.com -all"),
        mail_at_apex("v=spf1 a:n1.example.com a:n2.example.com a:ns1.example.com -all"),
    ),
    "spf-include-missing": (
        mail_at_apex("v=spf1 include:_spf.example.com -all"),
        mail_at_apex(
            "v=spf1 include:_spf.example.com -all",
            others="_spf: 'TXT \"v=spf1 ip4:192.0.2.0/24 -all\"'\n",
        ),
    ),
    "dmarc-syntax": (
        txt("_dmarc", "v=DMARC1; p=none; pct=150"),
        txt("_dmarc", "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com"),
    ),
    "dmarc-multiple": (
        mail_at_apex(others="_dmarc: ['TXT \"v=DMARC1; p=none\"', 'TXT \"v=DMARC1; p=reject\"']\n"),
        mail_at_apex(others="_dmarc: ['TXT \"v=DMARC1; p=none\"', 'TXT \"hello\"']\n"),
    ),
    "dmarc-no-org-policy": (
        txt("_dmarc.sub", "v=DMARC1; p=reject"),
        txt("_dmarc.sub", "v=DMARC1; p=reject", "_dmarc: 'TXT \"v=DMARC1; p=none\"'\n"),
    ),
    "dmarc-report-unauthorized": (
        dmarc_reports(""),
        dmarc_reports("example.com._report._dmarc: 'TXT \"v=DMARC1\"'\n"),
    ),
    "dkim-syntax": (
        txt("brisbane._domainkey", f"v=DKIM1; k=ed25519; p={RFC8463_KEY[:-4]}"),
        txt("brisbane._domainkey", f"v=DKIM1; k=ed25519; p={RFC8463_KEY}"),
    ),
    "dkim-key-too-weak": (
        txt("brisbane._domainkey", f"v=DKIM1; p={rsa_key(768)}"),
        txt("brisbane._domainkey", f"v=DKIM1; p={RFC6376_KEY}"),
    ),
    "dkim-key-short": (
        txt("brisbane._domainkey", f"v=DKIM1; p={RFC6376_KEY}"),
        txt("brisbane._domainkey", f"v=DKIM1; p={rsa_key(2048)}"),
    ),
    "mta-sts-syntax": (
        txt("_mta-sts", "v=STSv1; id=2016-08-31;"),
        txt("_mta-sts", "v=STSv1; id=20160831085700Z;"),
    ),
    "tls-rpt-syntax": (
        txt("_smtp._tls", "v=TLSRPTv1; rua=reports@example.com"),
        txt("_smtp._tls", "v=TLSRPTv1;rua=mailto:reports@example.com"),
    ),
    "null-mx-mixed": (
        records("nomail: [MX 0 ., MX 10 ns1.example.com.]\n"),
        records("nomail: MX 0 .\n"),
    ),
}

MAIL_ZONE = "'@': [NS ns1.example.com., MX 10 mail]\nns1: A 192.0.2.1\nmail: A 192.0.2.25\n"
#: example.com with a reverse zone for 192.0.2.0/24 whose records are ``reverse``
REVERSE_ZONES = "  example.com: {}\n  2.0.192.in-addr.arpa: {}\n"


def reverse(ptrs: str, **site: str) -> Site:
    site.setdefault("records", MAIL_ZONE)
    reverse_zone = "'@': NS ns1.example.com.\n" + ptrs
    return Site(
        zones=REVERSE_ZONES, files={"zones/2.0.192.in-addr.arpa.yaml": reverse_zone}, **site
    )


def child(parent_records: str, child_records: str, **site: str) -> Site:
    """example.com and its child zone sub.example.com, both in the site."""
    return Site(
        records=ZONE + parent_records,
        zones="  example.com: {}\n  sub.example.com: {}\n",
        files={"zones/sub.example.com.yaml": child_records},
        **site,
    )


TWO_PRIMARIES = PRIMARY + "  ns2: {software: bind, role: primary, address: 192.0.2.2}\n"
LAME = "'@': [NS ns1.example.com., NS ns2.example.com.]\nns1: A 192.0.2.1\nns2: A 192.0.2.2\n"

#: the rules that follow names across the zones of the site
CASES |= {
    "mx-target-address": (apex("MX 10 192.0.2.25"), apex("MX 10 mail", "mail: A 192.0.2.25\n")),
    "srv-target-address": (
        records("_sip._tcp: SRV 0 5 5060 192.0.2.5.\n"),
        records("_sip._tcp: SRV 0 5 5060 sip\nsip: A 192.0.2.5\n"),
    ),
    "dangling-cname": (
        records("www: CNAME web\n"),
        records("www: CNAME web\nweb: A 192.0.2.80\n"),
    ),
    "reverse-mismatch": (
        reverse("25: PTR www.example.com.\n"),
        reverse("25: PTR mail.example.com.\n"),
    ),
    "mail-sender-outside-site": (
        Site(extra="mail-senders: [mail.example.org]\n"),
        Site(extra="mail-senders: [ns1.example.com]\n"),
    ),
    "delegation-ns-mismatch": (
        child("sub: NS ns2.example.com.\nns2: A 192.0.2.2\n", "'@': NS ns1.example.com.\n"),
        child("sub: NS ns1.example.com.\n", "'@': NS ns1.example.com.\n"),
    ),
    "glue-mismatch": (
        child(
            "sub: NS ns.sub.example.com.\nns.sub: A 192.0.2.20\n",
            "'@': NS ns.sub.example.com.\nns: A 192.0.2.21\n",
        ),
        child(
            "sub: NS ns.sub.example.com.\nns.sub: A 192.0.2.20\n",
            "'@': NS ns.sub.example.com.\nns: A 192.0.2.20\n",
        ),
    ),
    "lame-delegation": (
        Site(
            servers=TWO_PRIMARIES,
            zones="  example.com: {servers: [ns1]}\n",
            records=LAME,
        ),
        Site(servers=TWO_PRIMARIES, records=LAME),
    ),
    "bad-caa": (
        apex("'CAA 0 iodef \"security@example.com\"'"),
        apex("'CAA 0 iodef \"mailto:security@example.com\"'"),
    ),
}


def rules_reported(site: Site, root: Path) -> set[str]:
    _, diagnostics = check_site(site.write(root))
    return {d.rule for d in diagnostics}


@pytest.mark.parametrize("rule_id", sorted(r.id for r in RULES))
def test_every_rule_has_a_case(rule_id: str) -> None:
    assert rule_id in CASES, f"rule '{rule_id}' has no case in {__name__}.CASES"


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_fires_on_its_case(rule_id: str, tmp_path: Path) -> None:
    broken, _ = CASES[rule_id]
    assert rule_id in rules_reported(broken, tmp_path)


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_the_rule_keeps_quiet_on_its_near_miss(rule_id: str, tmp_path: Path) -> None:
    _, sound = CASES[rule_id]
    assert rule_id not in rules_reported(sound, tmp_path)


def test_every_case_is_a_rule() -> None:
    assert set(CASES) <= {r.id for r in RULES}
