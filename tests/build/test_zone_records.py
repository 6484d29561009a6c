"""Zone files as built: owners keyed right for every origin, RRsets as RFC 4034 forms them,
names in RDATA with their case, ZONEMD digests that match what is served."""

from __future__ import annotations

from pathlib import Path

import dns.rdatatype
import dns.zone
import pytest
from sites import build_master_zone

from zonesmith.diagnostics import SiteError

T = dns.rdatatype

ROOT_ZONE = """\
$TTL 86400
@ NS a.root-servers.net.
ac. 172800 IN NS a0.nic.ac.
ad. 172800 IN NS a.nic.ad.
ae NS ns1.aedns.ae.
a0.nic.ac. A 192.0.2.1
a.nic.ad. A 192.0.2.2
ns1.aedns.ae. A 192.0.2.3
a.root-servers.net. A 198.41.0.4
"""


def load(path: Path, origin: str) -> dns.zone.Zone:
    return dns.zone.from_file(str(path), origin, relativize=False)


def test_root_zone_keeps_every_owner_apart(tmp_path: Path) -> None:
    path = build_master_zone(tmp_path, ".", ROOT_ZONE, server_checks=True)
    zone = load(path, ".")
    ns = {
        name.to_text(): sorted(r.target.to_text() for r in rdataset)
        for name, rdataset in zone.iterate_rdatasets(T.NS)
    }
    assert ns == {
        ".": ["a.root-servers.net."],
        "ac.": ["a0.nic.ac."],
        "ad.": ["a.nic.ad."],
        "ae.": ["ns1.aedns.ae."],
    }
    assert zone.find_rdataset("ac.", T.NS).ttl == 172800
    assert zone.find_rdataset("ae.", T.NS).ttl == 86400


SIGNED = """\
$TTL 300
@ NS ns1
ns1 A 192.0.2.1
www 300 A 192.0.2.2
www 300 RRSIG A 8 3 300 20300101000000 20200101000000 1 example. AQID
www 3600 TXT "hello"
www 3600 RRSIG TXT 8 3 3600 20300101000000 20200101000000 1 example. AQID
"""


def test_rrsigs_keep_the_ttl_of_the_rrset_they_cover(tmp_path: Path) -> None:
    zone = load(build_master_zone(tmp_path, "example", SIGNED), "example.")
    node = zone.get_node("www.example.")
    assert node is not None
    ttls = {rdataset.covers: rdataset.ttl for rdataset in node if rdataset.rdtype == T.RRSIG}
    assert ttls == {T.A: 300, T.TXT: 3600}


def test_rrsigs_of_different_types_are_not_a_ttl_mismatch(tmp_path: Path) -> None:
    from sites import BASE_CONFIG, write_site

    from zonesmith.pipeline import check_site

    site = write_site(tmp_path, BASE_CONFIG + "zones:\n  example.: {}\n", {"example.zone": SIGNED})
    _, diagnostics = check_site(site)
    assert [d.rule for d in diagnostics] == []
    site = write_site(
        tmp_path,
        BASE_CONFIG + "zones:\n  example.: {}\n",
        {
            "example.zone": SIGNED + "www 60 RRSIG A 8 3 300 20300101000000 20200101000000 2 "
            "example. AQID\n"
        },
    )
    _, diagnostics = check_site(site)
    assert [(d.rule, d.position.line) for d in diagnostics] == [("ttl-mismatch", 8)]
    assert "RRSIG (covering A)" in diagnostics[0].message


def test_names_in_rdata_keep_their_case(tmp_path: Path) -> None:
    text = (
        "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n"
        "@ NSEC AS112.ARPA. NS SOA RRSIG NSEC\n"
        "mail MX 10 Mail.AS112.arpa.\n"
        "@ RRSIG NSEC 8 2 300 20300101000000 20200101000000 1 AS112.Arpa. AQID\n"
    )
    path = build_master_zone(tmp_path, "as112.arpa", text)
    zone = load(path, "as112.arpa.")
    nsec = zone.find_rdataset("as112.arpa.", T.NSEC)[0]
    assert nsec.next.to_text() == "AS112.ARPA."
    assert zone.find_rdataset("mail.as112.arpa.", T.MX)[0].exchange.to_text() == (
        "Mail.AS112.arpa."
    )
    rrsig = zone.find_rdataset("as112.arpa.", T.RRSIG, T.NSEC)[0]
    assert rrsig.signer.to_text() == "AS112.Arpa."


SHA384, SHA512 = "AB" * 48, "CD" * 64
ZONEMD = f"""\
$TTL 300
@ NS ns1
ns1 A 192.0.2.1
www A 192.0.2.2
@ ZONEMD 2018031900 1 1 {SHA384}
@ ZONEMD 2018031900 1 2 {SHA512}
"""


def test_zonemd_is_recomputed_for_the_zone_as_built(tmp_path: Path) -> None:
    path = build_master_zone(tmp_path, "example", ZONEMD, server_checks=True)
    zone = load(path, "example.")
    soa = zone.find_rdataset("example.", T.SOA)[0]
    zonemds = list(zone.find_rdataset("example.", T.ZONEMD))
    assert sorted(r.hash_algorithm for r in zonemds) == [1, 2]
    assert all(r.serial == soa.serial for r in zonemds)
    for rdata in zonemds:
        assert zone.compute_digest(rdata.hash_algorithm, rdata.scheme) == rdata


def test_zone_without_zonemd_gets_none(tmp_path: Path) -> None:
    zone = load(build_master_zone(tmp_path, "example", SIGNED), "example.")
    with pytest.raises(dns.zone.NoDigest):
        zone.verify_digest()


def test_bad_record_stops_the_build_at_the_users_line(tmp_path: Path) -> None:
    with pytest.raises(SiteError) as failure:
        build_master_zone(
            tmp_path, "example", "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\nd DHCID \\# 0\n"
        )
    assert [(d.rule, d.position.line) for d in failure.value.diagnostics] == [("bad-rdata", 4)]
