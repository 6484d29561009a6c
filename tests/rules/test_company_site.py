"""The small company's site (tests/sites/company) passes every rule; each mistake is caught.

The site is correct by the RFCs: two domains, mail with SPF, DMARC (reports
to the other domain, authorized), DKIM (a 2048-bit RSA key), MTA-STS and
TLS-RPT, a null MX on the domain that sends no mail, a reverse zone whose
PTRs point back, a delegated subdomain with glue, two views, CAA. A check
of it reports nothing; each mutation below (one mistake people make) makes
the rule that catches it fire. A rule not registered (merged) yet is skipped.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sites import ROOT, zonesmith

from zonesmith.pipeline import check_site_in_full
from zonesmith.rules import RULES

COMPANY = ROOT / "tests" / "sites" / "company"
COM = "zones/example.com.yaml"
NET = "zones/example.net.zone"
REVERSE = "zones/113.0.203.in-addr.arpa.zone"
SPF = "v=spf1 mx ip4:203.0.113.0/28 -all"
#: A 1024-bit RSA public key (generated for this test): long enough to load, too short to trust.
SHORT_KEY = (
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC0tr05bV0QfnSnczoHpimzQttkB/sjnRgerT2WCvECC4IYcX3M"
    "z29/pBtjRKThVyA3ET2lGzrlMJRcmwNOMq+UKuxUbNRvBV3IJL/io/fZ1a/PVVMiOlrOsO6EDFisjII0R2tjPvAK"
    "QqBztMWd/jN0ev0pK5rpCIgtCwqtiVd+owIDAQAB"
)

#: (the rule that must fire, file, text, what it becomes)
MUTATIONS = [
    ("missing-glue", COM, "ns1.lab: A 198.51.100.1\n", ""),
    ("glue-mismatch", COM, "ns2.lab: A 198.51.100.2", "ns2.lab: A 198.51.100.9"),
    ("delegation-ns-mismatch", COM, "NS ns2.lab.example.com.]", "NS ns3.lab.example.com.]"),
    ("mx-target-cname", COM, "MX 10 mx1.example.com.", "MX 10 www.example.com."),
    ("reverse-mismatch", REVERSE, "PTR    mx1.example.com.", "PTR    www.example.com."),
    # the mail sender of mail-senders: its PTR points elsewhere
    ("reverse-mismatch", REVERSE, "PTR    example.com.", "PTR    shop.example.net."),
    ("caa-unknown-tag", "zonesmith.yaml", "CAA 0 issue ", "CAA 0 issuer "),
    ("spf-pass-all", COM, SPF, "v=spf1 mx ip4:203.0.113.0/28 +all"),
    (
        "spf-lookups",
        COM,
        SPF,
        "v=spf1 mx a " + " ".join(f"a:h{n}.example.com" for n in range(10)) + " -all",
    ),
    ("spf-multiple", NET, '"v=spf1 -all"\n', '"v=spf1 -all"\n@ IN TXT "v=spf1 a -all"\n'),
    (
        "dmarc-report-unauthorized",
        COM,
        "example.net._report._dmarc:",
        "example.org._report._dmarc:",
    ),
    (
        "dkim-key-short",
        COM,
        "mail._domainkey:",
        f"old._domainkey: 'TXT \"v=DKIM1; k=rsa; p={SHORT_KEY}\"'\nmail._domainkey:",
    ),
    ("null-mx-mixed", NET, "MX     0 .\n", "MX     0 .\n@ IN MX 10 mx1.example.com.\n"),
]


def company_site(tmp_path: Path) -> Path:
    """A copy of the company site (a check keeps its cache in the site folder)."""
    return Path(shutil.copytree(COMPANY, tmp_path / "company"))


def test_the_company_site_gives_no_finding(tmp_path: Path) -> None:
    site = company_site(tmp_path)
    run = zonesmith("check", "--json", site)
    report = json.loads(run.stdout)
    expected = {"ok": True, "diagnostics": [], "switched_off": [], "not_checked": []}
    assert (run.returncode, report) == (0, expected)
    # and the cached run after it
    assert json.loads(zonesmith("check", "--json", site).stdout) == report


@pytest.mark.parametrize(("rule", "path", "old", "new"), MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_a_mistake_in_the_company_site_is_caught(
    tmp_path: Path, rule: str, path: str, old: str, new: str
) -> None:
    if rule not in {r.id for r in RULES}:
        pytest.skip(f"rule {rule} is not registered yet")
    site = company_site(tmp_path)
    file = site / path
    text = file.read_text()
    assert text.count(old) == 1, old
    file.write_text(text.replace(old, new))
    fired = {d.rule for d in check_site_in_full(site).diagnostics}
    assert rule in fired
