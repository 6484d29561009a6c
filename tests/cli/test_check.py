"""`zonesmith check`: every problem of a site in one run, with file, line and column."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.pipeline import check_site

DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): (?P<sev>error|warning): "
    r"\[(?P<rule>[a-z0-9-]+)\] (?P<msg>.+)$"
)

NS_SET = """\
sets:
  ns: {'@': [NS ns1.example.com.]}
"""


def diagnostics_of(root: Path) -> list[tuple[str, int, int, str, str]]:
    """(file name, line, column, severity, rule) of everything check reports."""
    _, diagnostics = check_site(root)
    return [
        (Path(d.position.path).name, d.position.line, d.position.column, d.severity.value, d.rule)
        for d in diagnostics
    ]


def rules_of(root: Path) -> set[str]:
    return {d[4] for d in diagnostics_of(root)}


def site_with_zone(tmp_path: Path, zone_yaml: str, extra: str = "") -> Path:
    config = BASE_CONFIG + NS_SET + extra + "zones:\n  example.com: {include: [ns]}\n"
    return write_site(tmp_path, config, {"example.com.yaml": "ns1: A 192.0.2.1\n" + zone_yaml})


def test_valid_site_passes_and_exits_zero(tmp_path: Path) -> None:
    site = site_with_zone(tmp_path, "www: [A 192.0.2.10, AAAA 2001:db8::10]\n")
    result = zonesmith("check", site)
    assert result.returncode == 0, result.stdout
    assert "0 errors" in result.stdout


def test_every_problem_is_reported_in_one_run_with_positions(tmp_path: Path) -> None:
    site = site_with_zone(tmp_path, ("a: A 999.1.1.1\nb: MX 70000 mail\nc: AAA 2001:db8::1\n"))
    result = zonesmith("check", site)
    assert result.returncode == 1
    lines = [DIAGNOSTIC.match(line) for line in result.stdout.splitlines()[:-1]]
    assert all(lines), result.stdout
    found = {(Path(m["file"]).name, int(m["line"]), int(m["col"]), m["rule"]) for m in lines}
    assert ("example.com.yaml", 2, 6, "bad-rdata") in found
    assert ("example.com.yaml", 3, 7, "bad-rdata") in found
    assert ("example.com.yaml", 4, 4, "unknown-type") in found
    assert "did you mean AAAA?" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("3 errors, 0 warnings")


def test_malformed_yaml_is_an_error_not_a_traceback(tmp_path: Path) -> None:
    site = write_site(tmp_path, BASE_CONFIG + "zones:\n  example.com: {include: [ns\n")
    result = zonesmith("check", site)
    assert result.returncode == 1
    assert "Traceback" not in result.stdout + result.stderr
    assert re.search(r"zonesmith.yaml:\d+:\d+: error: \[yaml-syntax\]", result.stdout)


def test_misspelt_keys_are_reported_with_a_suggestion(tmp_path: Path) -> None:
    site = write_site(tmp_path, BASE_CONFIG + NS_SET + ("zones:\n  example.com: {inclde: [ns]}\n"))
    result = zonesmith("check", site)
    assert result.returncode == 1
    assert "zonesmith.yaml:7:17: error: [unknown-key] unknown key 'inclde'" in result.stdout
    assert "did you mean 'include'?" in result.stdout


def test_unknown_references_are_errors_where_they_are_written(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG
        + NS_SET
        + """\
views:
  internal: {clients: [10.0.0.0/8]}
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1, key: nokey, primaries: [ns9]}
zones:
  example.com: {include: [ns, mail], views: [intern]}
""",
        {"example.com.yaml": "ns1: A 192.0.2.1\n"},
    )
    found = {(d[1], d[4]) for d in diagnostics_of(site)}
    assert (9, "unknown-tsig-key") in found
    assert (9, "unknown-server") in found
    assert (11, "unknown-set") in found
    assert (11, "unknown-view") in found
    result = zonesmith("check", site)
    assert "unknown view 'intern'; did you mean 'internal'?" in result.stdout


def test_record_for_a_view_its_zone_is_not_in(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG
        + NS_SET
        + """\
views:
  internal: {clients: [10.0.0.0/8]}
  external: {clients: [any]}
zones:
  example.com: {include: [ns], views: [external]}
""",
        {"example.com.yaml": "ns1: A 192.0.2.1\nx: {view: internal, records: [A 10.0.0.1]}\n"},
    )
    assert ("example.com.yaml", 2, 31, "error", "view-not-in-zone") in diagnostics_of(site)


@pytest.mark.parametrize(
    ("owner", "reason"),
    [
        ("a" * 64, "longer than 63"),
        ("x." * 127 + "y", "longer than 255"),
        ("a..b", "empty label"),
    ],
)
def test_invalid_names(tmp_path: Path, owner: str, reason: str) -> None:
    site = site_with_zone(tmp_path, f"'{owner}': A 192.0.2.1\n")
    _, diagnostics = check_site(site)
    assert [d.rule for d in diagnostics] == ["bad-name"]
    assert reason in diagnostics[0].message


@pytest.mark.parametrize(
    ("record", "rule"),
    [
        ("A 192.0.2.256", "bad-rdata"),
        ("AAAA 2001:db8::g", "bad-rdata"),
        ("MX 10", "bad-rdata"),
        ("SRV 1 2 70000 sip", "bad-rdata"),
        ('CAA 0 is-sue "ca.example"', "bad-rdata"),
        ("CNAME a..b", "bad-rdata"),
        ("FOO bar", "unknown-type"),
        ("2147483648 A 192.0.2.1", "bad-ttl"),
        ("1x A 192.0.2.1", "bad-ttl"),
        ("1h IN 1h A 192.0.2.1", "bad-ttl"),
    ],
)
def test_invalid_records(tmp_path: Path, record: str, rule: str) -> None:
    site = site_with_zone(tmp_path, f"bad: {record}\n")
    assert rules_of(site) == {rule}


def test_ttl_bounds_and_units(tmp_path: Path) -> None:
    site = site_with_zone(
        tmp_path, "a: 2147483647 A 192.0.2.1\nb: 1w2d A 192.0.2.2\nc: 0 A 192.0.2.3\n"
    )
    assert rules_of(site) == set()


def test_bad_duration_in_defaults(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        """\
defaults:
  ttl: 1 hour
  soa: {primary: ns1.example.com., contact: hostmaster@example.com, refresh: 3hh}
""",
    )
    assert {(d[1], d[4]) for d in diagnostics_of(site)} == {(2, "bad-ttl"), (3, "bad-ttl")}


def test_cname_rules(tmp_path: Path) -> None:
    site = site_with_zone(
        tmp_path,
        (
            "'@': CNAME www\n"
            "www: A 192.0.2.1\n"
            'alias: [CNAME www, TXT "x"]\n'
            "mail: CNAME www\n"
            "mx: MX 10 mail\n"
        ),
    )
    found = {(d[1], d[4]) for d in diagnostics_of(site)}
    assert (2, "cname-at-apex") in found
    assert (4, "cname-and-other-data") in found
    assert (6, "mx-target-cname") in found


def test_cname_beside_other_data_only_counts_within_one_view(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG
        + NS_SET
        + """\
views:
  internal: {clients: [10.0.0.0/8]}
  external: {clients: [any]}
zones:
  example.com: {include: [ns]}
""",
        {
            "example.com.yaml": """\
ns1: A 192.0.2.1
www: A 192.0.2.2
portal:
  - {view: internal, records: [A 10.0.0.40]}
  - {view: external, records: [CNAME www]}
"""
        },
    )
    assert rules_of(site) == set()


def test_delegations_glue_and_occluded_data(tmp_path: Path) -> None:
    site = site_with_zone(
        tmp_path,
        (
            "sub: NS ns.sub\n"  # in-bailiwick, no glue
            "ok: NS ns.ok\n"
            "ns.ok: A 192.0.2.5\n"  # glue: fine
            'deep.ok: TXT "hidden"\n'  # below the cut
            "out: NS ns.elsewhere.net.\n"  # out of zone target: fine
        ),
    )
    found = {(d[1], d[4]) for d in diagnostics_of(site)}
    assert found == {(2, "missing-glue"), (5, "below-delegation")}


def test_ns_target_without_address(tmp_path: Path) -> None:
    config = BASE_CONFIG + "sets:\n  ns: {'@': [NS ns1.example.com., NS ns2]}\n"
    config += "zones:\n  example.com: {include: [ns]}\n"
    site = write_site(tmp_path, config, {"example.com.yaml": "ns1: A 192.0.2.1\n"})
    diagnostics = diagnostics_of(site)
    assert [(d[0], d[1], d[4]) for d in diagnostics] == [("zonesmith.yaml", 5, "ns-no-address")]


def test_zone_without_ns_is_an_error(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG + "zones:\n  example.com: {}\n",
        {"example.com.yaml": "www: A 192.0.2.1\n"},
    )
    assert rules_of(site) == {"no-ns"}


def test_mx_and_srv_targets_without_address_are_warnings(tmp_path: Path) -> None:
    site = site_with_zone(tmp_path, "'@': MX 10 mx\n_sip._tcp: SRV 0 0 5060 sip\n")
    _, diagnostics = check_site(site)
    assert {(d.rule, d.severity.value) for d in diagnostics} == {
        ("mx-no-address", "warning"),
        ("srv-no-address", "warning"),
    }
    assert zonesmith("check", site).returncode == 0


def test_out_of_zone_name(tmp_path: Path) -> None:
    site = site_with_zone(tmp_path, "other.net.: A 192.0.2.1\n")
    assert rules_of(site) == {"out-of-zone"}


def test_missing_secret_file_and_secret_in_site(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG
        + """\
keys:
  xfr: {algorithm: hmac-sha256, secret-file: secrets/xfr.key}
  inline: {algorithm: hmac-sha256, secret: c2VjcmV0}
""",
    )
    result = zonesmith("check", site)
    assert result.returncode == 1
    assert "[missing-secret]" in result.stdout
    assert "[secret-in-site]" in result.stdout
    assert "c2VjcmV0" not in result.stdout  # a secret is never echoed


def test_zone_given_twice(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG + NS_SET + "zones:\n  example.com: {include: [ns]}\n",
        {
            "example.com.yaml": "ns1: A 192.0.2.1\n",
            "example.com.zone": "ns1 A 192.0.2.1\n",
        },
    )
    assert "duplicate-zone-source" in rules_of(site)


def test_master_file_zone_soa_is_replaced_and_out_of_zone_rejected(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG + NS_SET + "zones:\n  example.com: {include: [ns]}\n",
        {
            "example.com.zone": """\
            $TTL 1h
            @ IN SOA ns1 hostmaster 1 2 3 4 5
            ns1 IN A 192.0.2.1
            www.example.org. IN A 192.0.2.2
            """,
        },
    )
    found = {(d[1], d[3], d[4]) for d in diagnostics_of(site)}
    assert found == {(2, "warning", "soa-replaced"), (4, "error", "out-of-zone")}


def test_json_output(tmp_path: Path) -> None:
    import json

    site = site_with_zone(tmp_path, "a: A 999.1.1.1\n")
    result = zonesmith("check", site, "--json")
    assert result.returncode == 1
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["diagnostics"][0]["rule"] == "bad-rdata"
    assert payload["diagnostics"][0]["line"] == 2


def test_missing_site_is_a_clear_error(tmp_path: Path) -> None:
    result = zonesmith("check", tmp_path / "nowhere")
    assert result.returncode == 1
    assert "no zonesmith.yaml" in result.stdout
    assert "Traceback" not in result.stderr


def test_a_secret_that_is_not_base64_is_reported_without_showing_it(tmp_path: Path) -> None:
    site = write_site(
        tmp_path,
        BASE_CONFIG + "keys:\n  xfr: {algorithm: hmac-sha256, secret-file: secrets/xfr.key}\n",
        files={"secrets/xfr.key": "not*base64*at-all\n"},
    )
    result = zonesmith("check", site)
    assert result.returncode == 1
    assert "zonesmith.yaml:5:3: error: [bad-secret]" in result.stdout
    assert "not*base64" not in result.stdout
