"""Importers: master files become a site whose built zones hold exactly the records dnspython
reads from the originals (minus the SOA serial), with the shared NS and mail records factored
into sets; what an importer cannot carry over it says, and it never overwrites a site file
unless told to.
"""

from __future__ import annotations

import json
from pathlib import Path

import dns.zone
import pytest
import yaml
from import_helpers import (
    add_server,
    built_zone,
    ok,
    records,
    write,
)
from sites import zonesmith

# --------------------------------------------------------------------------- inputs

EXAMPLE_COM = """\
$ORIGIN example.com.
$TTL 3600
@        IN SOA  ns1.example.com. hostmaster.example.com. 2024010101 7200 900 1209600 300
@        IN NS   ns1.example.com.
@        IN NS   ns2.example.net.
@        IN MX   10 mx1.example.com.
@        IN TXT  "v=spf1 mx -all"
_dmarc   IN TXT  "v=DMARC1; p=reject"
ns1      IN A    192.0.2.1
mx1      IN A    192.0.2.25
www  300 IN CNAME @
on       IN A    192.0.2.9
no       IN TXT  "yes"
1        IN A    192.0.2.10
*.dev    IN A    192.0.2.30
two      IN TXT  "a" "b;c" "quote\\"d"
dkim     IN TXT  "{dkim}" "{dkim_tail}"
_sip._tcp 600 IN SRV 10 5 5060 sip.example.com.
sip      IN AAAA 2001:db8::5
@        IN CAA  0 issue "letsencrypt.org"
"""
DKIM = "v=DKIM1; k=rsa; p=" + "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA" * 6
EXAMPLE_COM = EXAMPLE_COM.format(dkim=DKIM[:255], dkim_tail=DKIM[255:])

# No $ORIGIN, no absolute SOA owner: the zone comes from the file name.
EXAMPLE_NET = """\
$TTL 1h
@    IN SOA ns1.example.com. hostmaster.example.com. 5 7200 900 1209600 300
@    IN NS  ns1.example.com.
@    IN NS  ns2.example.net.
@    IN MX  10 mx1.example.com.
@    IN TXT "v=spf1 mx -all"
_dmarc IN TXT "v=DMARC1; p=reject"
ns2  IN A   198.51.100.2
www  IN A   198.51.100.1
"""

# Its own name servers' TTL, SOA and contact: not shared, overrides in the site.
OTHER_ORG = """\
other.org.     600 IN SOA  ns9.other.org. admin\\.person.other.org. 1 3600 600 86400 60
other.org.     600 IN NS   ns1.example.com.
other.org.     600 IN NS   ns9.other.org.
ns9.other.org. 600 IN A    192.0.2.99
www.other.org. 600 IN AAAA 2001:db8::1
"""


# --------------------------------------------------------------------------- master files


@pytest.mark.parametrize("fmt", ["yaml", "zone"])
def test_master_files_become_a_site_that_builds_the_same_records(tmp_path: Path, fmt: str):
    files = [
        write(tmp_path / "in" / "example.com.zone", EXAMPLE_COM),
        write(tmp_path / "in" / "db.example.net", EXAMPLE_NET),
        write(tmp_path / "in" / "other.org.zone", OTHER_ORG),
    ]
    site, out = tmp_path / "site", tmp_path / "out"

    result = zonesmith("import", "zonefile", *files, "--site", site, "--format", fmt)
    ok(result)
    assert "[origin-from-file-name]" in result.stderr + result.stdout
    assert (site / "zones" / f"example.com.{fmt}").is_file()

    config = yaml.safe_load((site / "zonesmith.yaml").read_text())
    # The records every zone repeats are written once, as sets the zones include.
    assert config["sets"]["ns"] == {"@": ["NS ns1.example.com.", "NS ns2.example.net."]}
    assert config["sets"]["mail"] == {
        "@": ["MX 10 mx1.example.com.", 'TXT "v=spf1 mx -all"'],
        "_dmarc": 'TXT "v=DMARC1; p=reject"',
    }
    assert config["zones"]["example.com"] == {"include": ["ns", "mail"]}
    assert config["zones"]["example.net"] == {"include": ["ns", "mail"]}
    # The most common SOA values and TTL are the defaults; other.org overrides them.
    assert config["defaults"]["ttl"] == "1h"
    assert config["defaults"]["soa"] == {
        "primary": "ns1.example.com.",
        "contact": "hostmaster@example.com",
        "refresh": "2h",
        "retry": "15m",
        "expire": "2w",
        "negative-ttl": "5m",
    }
    assert config["zones"]["other.org"]["ttl"] == "10m"
    assert config["zones"]["other.org"]["soa"]["contact"] == "admin.person@other.org"

    add_server(site, out)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    for name, source in (
        ("example.com", files[0]),
        ("example.net", files[1]),
        ("other.org", files[2]),
    ):
        original = dns.zone.from_file(str(source), name, relativize=False)
        assert records(built_zone(out, name)) == records(original), name


def test_yaml_quotes_what_yaml_would_misread(tmp_path: Path):
    source = write(tmp_path / "example.com.zone", EXAMPLE_COM)
    ok(zonesmith("import", "zonefile", source, "--site", tmp_path / "site"))
    text = (tmp_path / "site" / "zones" / "example.com.yaml").read_text()
    for owner in ("'@'", "'on'", "'no'", "'1'", "'*.dev'"):
        assert f"\n{owner}:" in text, owner
    assert "www: 300 CNAME @" in text


def test_an_import_never_overwrites_a_site_file_without_force(tmp_path: Path):
    source = write(tmp_path / "example.net.zone", EXAMPLE_NET)
    site = tmp_path / "site"
    ok(zonesmith("import", "zonefile", source, "--site", site))
    (site / "zonesmith.yaml").write_text("# my edits\n")

    again = zonesmith("import", "zonefile", source, "--site", site, "--format", "zone")
    assert again.returncode == 1
    assert "[file-exists]" in again.stdout and "--force" in again.stdout
    assert (site / "zonesmith.yaml").read_text() == "# my edits\n"
    assert not (site / "zones" / "example.net.zone").exists()

    ok(zonesmith("import", "zonefile", source, "--site", site, "--format", "zone", "--force"))
    assert (site / "zones" / "example.net.zone").is_file()
    assert not (site / "zones" / "example.net.yaml").exists()  # replaced, not left beside it


def test_the_origin_comes_from_the_option_or_the_file(tmp_path: Path):
    relative = write(tmp_path / "zonedata", EXAMPLE_NET)
    failed = zonesmith("import", "zonefile", relative, "--site", tmp_path / "a")
    assert failed.returncode == 1
    assert "[no-origin]" in failed.stdout and "--origin" in failed.stdout
    assert not (tmp_path / "a" / "zonesmith.yaml").exists()

    ok(
        zonesmith(
            "import", "zonefile", relative, "--origin", "example.net", "--site", tmp_path / "b"
        )
    )
    assert "example.net" in yaml.safe_load((tmp_path / "b" / "zonesmith.yaml").read_text())["zones"]


def test_what_cannot_be_carried_over_is_reported_with_its_place(tmp_path: Path):
    source = write(
        tmp_path / "signed.zone",
        """\
        $ORIGIN signed.test.
        $TTL 300
        @   SOA ns1 hostmaster 1 3600 600 86400 300
        @   NS  ns1
        ns1 A   192.0.2.1
        @   NSEC ns1.signed.test. NS SOA NSEC
        www A   192.0.2.300
        """,
    )
    result = zonesmith("import", "zonefile", source, "--site", tmp_path / "site", "--json")
    report = json.loads(result.stdout)
    rules = {(d["rule"], d["line"]) for d in report["diagnostics"]}
    assert ("dnssec-records-dropped", 6) in rules
    assert ("bad-rdata", 7) in rules  # an error in the input: nothing is written
    assert not report["ok"] and report["written"] == []
    assert result.returncode == 1 and "Traceback" not in result.stderr
