"""`zonesmith build`: canonical, deterministic, atomic output with monotonic serials."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import dns.name
import dns.rdatatype
import dns.zone
import pytest
from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.compile.serials import next_serial, serial_gt
from zonesmith.diagnostics import SiteError, error
from zonesmith.drivers import find_tool
from zonesmith.drivers.bind import BindDriver
from zonesmith.pipeline import build_site

SITE = (
    BASE_CONFIG
    + """\
views:
  internal: {clients: [10.0.0.0/8, 127.0.0.1]}
  external: {clients: [any]}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, port: 5399, path: /srv/dns}
sets:
  ns: {'@': [NS ns1.example.com.]}
zones:
  example.com: {include: [ns]}
  2.0.192.in-addr.arpa: {include: [ns], reverse-of: [example.com]}
  0.10.in-addr.arpa: {include: [ns], reverse-of: [example.com], views: [internal]}
"""
)
ZONE = """\
ns1: A 192.0.2.1
www: A 192.0.2.10
intranet: {view: internal, records: [A 10.0.0.20]}
"""


def make_site(tmp_path: Path, zone: str = ZONE) -> Path:
    return write_site(tmp_path / "site", SITE, {"example.com.yaml": zone})


def tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def served(out: Path, view: str, zone: str) -> dns.zone.Zone:
    return dns.zone.from_file(
        str(out / "ns1" / "zones" / view / f"{zone}.zone"), zone, relativize=False
    )


def soa_serial(out: Path, view: str = "internal", zone: str = "example.com") -> int:
    soa = served(out, view, zone).find_rdataset(zone + ".", "SOA")
    return soa[0].serial


def test_build_writes_named_conf_and_zone_files_per_view(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    result = zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks")
    assert result.returncode == 0, result.stdout + result.stderr
    files = tree(tmp_path / "out")
    assert set(files) == {
        ".zonesmith-output",
        "ns1/named.conf",
        # the control channel: rndc's key and its configuration
        "ns1/keys.conf",
        "ns1/rndc.conf",
        "ns1/nftables.conf",
        "ns1/zones/internal/example.com.zone",
        "ns1/zones/internal/2.0.192.in-addr.arpa.zone",
        "ns1/zones/internal/0.10.in-addr.arpa.zone",
        "ns1/zones/external/example.com.zone",
        "ns1/zones/external/2.0.192.in-addr.arpa.zone",
    }
    conf = files["ns1/named.conf"].decode()
    assert conf.index('view "internal"') < conf.index('view "external"')
    assert "match-clients { 10.0.0.0/8; 127.0.0.1; };" in conf
    assert "recursion no;" in conf
    assert 'file "/srv/dns/zones/internal/example.com.zone";' in conf
    assert 'directory "/srv/dns";' in conf


def test_views_do_not_leak(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build_site(site, tmp_path / "out", server_checks=False)
    internal = served(tmp_path / "out", "internal", "example.com")
    external = served(tmp_path / "out", "external", "example.com")
    assert internal.get_node("intranet.example.com.") is not None
    assert external.get_node("intranet.example.com.") is None
    assert b"10.0.0.20" not in b"".join(
        p.read_bytes() for p in (tmp_path / "out/ns1/zones/external").iterdir()
    )


def test_reverse_zones_get_ptrs_per_view(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build_site(site, tmp_path / "out", server_checks=False)
    rev = served(tmp_path / "out", "external", "2.0.192.in-addr.arpa")
    ptr = rev.find_rdataset("10.2.0.192.in-addr.arpa.", "PTR")
    assert [r.target.to_text() for r in ptr] == ["www.example.com."]
    internal_rev = served(tmp_path / "out", "internal", "0.10.in-addr.arpa")
    ptr = internal_rev.find_rdataset("20.0.0.10.in-addr.arpa.", "PTR")
    assert [r.target.to_text() for r in ptr] == ["intranet.example.com."]


def test_soa_comes_from_defaults_with_email_contact(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build_site(site, tmp_path / "out", server_checks=False)
    soa = served(tmp_path / "out", "external", "example.com").find_rdataset("example.com.", "SOA")[
        0
    ]
    assert soa.mname == dns.name.from_text("ns1.example.com.")
    assert soa.rname == dns.name.from_text("hostmaster.example.com.")
    assert (soa.refresh, soa.retry, soa.expire, soa.minimum) == (10800, 3600, 1209600, 3600)


def test_long_txt_is_split_into_strings(tmp_path: Path) -> None:
    key = "k" * 600
    site = make_site(tmp_path, ZONE + f'dkim: TXT "v=DKIM1; p={key}"\n')
    build_site(site, tmp_path / "out", server_checks=False)
    txt = served(tmp_path / "out", "external", "example.com").find_rdataset(
        "dkim.example.com.", "TXT"
    )[0]
    assert [len(s) for s in txt.strings] == [255, 255, 101]
    assert b"".join(txt.strings) == f"v=DKIM1; p={key}".encode()


def test_rebuild_of_unchanged_site_is_byte_identical(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build_site(site, tmp_path / "a", server_checks=False)
    build_site(site, tmp_path / "b", server_checks=False)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
    build_site(site, tmp_path / "a", server_checks=False)
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_serial_moves_forward_only_when_content_changes(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build_site(site, out, server_checks=False)
    first = soa_serial(out)
    build_site(site, out, server_checks=False)
    assert soa_serial(out) == first
    (site / "zones/example.com.yaml").write_text(ZONE + "new: A 192.0.2.99\n")
    import shutil

    shutil.rmtree(out)  # the serial must not go back even without the old output
    build_site(site, out, server_checks=False)
    second = soa_serial(out)
    assert serial_gt(second, first)
    # a zone that did not change keeps its serial
    assert soa_serial(out, "external", "2.0.192.in-addr.arpa") == first or serial_gt(
        soa_serial(out, "external", "2.0.192.in-addr.arpa"), first
    )
    state = json.loads((site / "zonesmith.state").read_text())
    assert state["serials"]["example.com"]["internal"]["serial"] == second


def test_serial_is_date_based(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": str(
            int(datetime.datetime(2030, 5, 17, tzinfo=datetime.UTC).timestamp())
        ),
    }
    result = zonesmith("build", site, "-o", tmp_path / "out", "--no-server-checks", env=env)
    assert result.returncode == 0, result.stdout
    assert soa_serial(tmp_path / "out") == 2030051700


def test_next_serial_rfc1982() -> None:
    today = datetime.date(2026, 11, 23)
    assert next_serial(None, today) == 2026112300
    assert next_serial(2026112300, today) == 2026112301
    assert next_serial(2026010105, today) == 2026112300
    assert next_serial(2099010100, today) == 2099010101  # never backwards to the date
    assert next_serial(2**32 - 1, today) == 0 or serial_gt(next_serial(2**32 - 1, today), 2**32 - 1)
    assert serial_gt(0, 2**32 - 1)
    assert not serial_gt(5, 5)


def test_error_writes_nothing_and_keeps_old_output(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build_site(site, out, server_checks=False)
    before = tree(out)
    state_before = (site / "zonesmith.state").read_text()
    (site / "zones/example.com.yaml").write_text(ZONE + "bad: A 999.1.1.1\n")
    result = zonesmith("build", site, "-o", out)
    assert result.returncode == 1
    assert "example.com.yaml:4:8: error: [bad-rdata]" in result.stdout
    assert "nothing was written" in result.stdout
    assert tree(out) == before
    assert (site / "zonesmith.state").read_text() == state_before
    assert not list(tmp_path.glob(".out.zonesmith-*"))


def test_failing_server_check_keeps_old_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "out"
    build_site(site, out, server_checks=False)
    before = tree(out)
    (site / "zones/example.com.yaml").write_text(ZONE + "more: A 192.0.2.50\n")

    def failing_check(self, build, staged, display):  # noqa: ANN001, ANN202
        assert (staged / "named.conf").is_file()  # the checker sees the new files
        return [error(build.server.position, "named-checkconf", "simulated failure")]

    monkeypatch.setattr(BindDriver, "check", failing_check)
    with pytest.raises(SiteError):
        build_site(site, out, server_checks=True)
    assert tree(out) == before


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    out = tmp_path / "precious"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    result = zonesmith("build", site, "-o", out, "--no-server-checks")
    assert result.returncode == 1
    assert "not written by zonesmith" in result.stdout
    assert (out / "notes.txt").read_text() == "mine"


@pytest.mark.skipif(find_tool("named-checkconf") is None, reason="named-checkconf not installed")
def test_output_passes_named_checkconf_and_its_errors_are_reported(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    result = zonesmith("build", site, "-o", tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    # named's own verdict on a zone file it would refuse reaches the user with the file name
    compiled_conf = tmp_path / "out" / "ns1"
    (compiled_conf / "zones/internal/example.com.zone").write_text(
        "$ORIGIN example.com.\n@ 3600 IN SOA ns1 hostmaster 1 2 3 4 5\n"
    )
    from zonesmith.compile.fleet import compile_fleet
    from zonesmith.compile.zones import compile_site
    from zonesmith.pipeline import check_site

    loaded, _ = check_site(site)
    build = compile_fleet(compile_site(loaded), {}, {})["ns1"]
    diagnostics = BindDriver().check(build, compiled_conf, "out/ns1")
    assert diagnostics
    assert any("out/ns1/zones/internal/example.com.zone" in d.position.path for d in diagnostics)
    assert all(d.rule == "named-checkconf" for d in diagnostics)


def test_example_site_builds(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples"
    import shutil

    shutil.copytree(example, tmp_path / "examples")
    result = zonesmith("build", tmp_path / "examples", "-o", tmp_path / "out")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "out/ns1/named.conf").is_file()
    assert (tmp_path / "out/ns1/zones/external/example.net.zone").is_file()
    assert (tmp_path / "out/ns2/nsd.conf").is_file()
    assert (tmp_path / "out/ns3/knot.conf").is_file()
    assert (tmp_path / "out/res1/unbound.conf").is_file()
    assert (tmp_path / "out/res1/blocklists/ads.conf").is_file()


def test_bind_consumer_of_a_knot_catalog_uses_tcp(tmp_path: Path) -> None:
    site = write_site(
        tmp_path / "site",
        BASE_CONFIG
        + """\
keys:
  xfr: {secret-file: secrets/xfr.key}
servers:
  ns1: {software: knot, role: primary, address: 192.0.2.1, catalog: catalog.example.}
  ns2: {software: bind, role: secondary, address: 192.0.2.2, primaries: [ns1], key: xfr}
sets:
  ns: {'@': [NS ns2.example.com.]}
zones:
  example.com: {include: [ns]}
""",
        {"example.com.yaml": "ns2: A 192.0.2.2\n"},
        {"secrets/xfr.key": "c2VjcmV0LWtleQ==\n"},
    )
    build_site(site, tmp_path / "out", server_checks=False)
    conf = (tmp_path / "out/ns2/named.conf").read_text()
    assert "server 192.0.2.1 { tcp-only yes; };" in conf
    assert 'zone "catalog.example"' in conf and "catalog-zones" in conf
    assert 'zone "example.com"' not in conf  # it arrives through the catalog
