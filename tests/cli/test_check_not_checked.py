"""``check --json`` lists the names the mail checks would look up outside the site."""

from __future__ import annotations

import json
from pathlib import Path

from sites import BASE_CONFIG, write_site, zonesmith

CONFIG = (
    BASE_CONFIG
    + "servers:\n  ns1: {software: bind, role: primary, address: 192.0.2.1}\n"
    + "zones:\n  example.com: {}\n  example.org: {}\n"
)
SPF = (
    "v=spf1 mx include:_spf.example.org include:_spf.google.com a:relay.example.net "
    "exists:%{i}._spf.example.net -all"
)
EXAMPLE_COM = f"""\
'@': [NS ns1.example.com., MX 10 mail, 'TXT "{SPF}"']
ns1: A 192.0.2.1
mail: A 192.0.2.25
_dmarc: 'TXT "v=DMARC1; p=none; rua=mailto:d@example.org,mailto:reports@dmarc.example.net"'
"""
EXAMPLE_ORG = """\
'@': NS ns1.example.com.
_spf: 'TXT "v=spf1 ip4:192.0.2.0/24 include:spf.protection.outlook.com -all"'
example.com._report._dmarc: 'TXT "v=DMARC1"'
"""


def test_names_outside_the_site_are_listed_as_not_checked(tmp_path: Path) -> None:
    site = write_site(
        tmp_path, CONFIG, {"example.com.yaml": EXAMPLE_COM, "example.org.yaml": EXAMPLE_ORG}
    )
    run = zonesmith("check", "--json", site)
    report = json.loads(run.stdout)
    assert run.returncode == 0 and report["diagnostics"] == []
    # in-site names (example.org) are judged; macros are known only when mail arrives
    assert report["not_checked"] == [
        "_spf.google.com",
        "dmarc.example.net",
        "relay.example.net",
        "spf.protection.outlook.com",
    ]
