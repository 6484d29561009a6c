"""Switching rules off: for the site, at names, beside records; refused where it must be."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sites import BASE_CONFIG, ROOT, write_site, zonesmith

from zonesmith.output.cache import ZoneCache
from zonesmith.pipeline import check_site_in_full
from zonesmith.rules import RULES
from zonesmith.rules.switches import NOT_SWITCHABLE

# Two MX targets without addresses (mx-no-address), and an RRset of two TTLs (ttl-mismatch).
COM_ZONE = """\
$TTL 1h
@ IN NS ns1
ns1 IN A 192.0.2.1
@ IN MX 10 nomail
shop IN MX 10 nomail
www 300 IN A 192.0.2.2
www 600 IN A 192.0.2.3
"""
NET_ZONE = """\
'@': [NS ns1.example.com., MX 10 nomail]
mx: [MX 10 nomail]
"""


def site_with(tmp_path: Path, rules: str = "", com: str = COM_ZONE, net: str = NET_ZONE) -> Path:
    config = BASE_CONFIG + rules + "zones:\n  example.com: {}\n  example.net: {}\n"
    return write_site(tmp_path / "site", config, {"example.com.zone": com, "example.net.yaml": net})


def found(site: Path, cache: ZoneCache | None = None) -> tuple[set, set]:
    """(rule, file name, line) of what check reports, and of what it switched off."""
    checked = check_site_in_full(site, cache)

    def where(diagnostics: list) -> set:
        return {(d.rule, Path(d.position.path).name, d.position.line) for d in diagnostics}

    return where(checked.diagnostics), where(checked.switched_off)


MX_COM = {("mx-no-address", "example.com.zone", 4), ("mx-no-address", "example.com.zone", 5)}
MX_NET = {("mx-no-address", "example.net.yaml", 1), ("mx-no-address", "example.net.yaml", 2)}
TTL = {("ttl-mismatch", "example.com.zone", 7)}


def test_without_switches_every_finding_is_reported(tmp_path: Path) -> None:
    reported, off = found(site_with(tmp_path))
    assert reported == MX_COM | MX_NET | TTL
    assert off == set()


def test_a_rule_off_for_the_site_is_counted_and_listed_by_json(tmp_path: Path) -> None:
    site = site_with(tmp_path, "rules:\n  mx-no-address: off\n")
    assert found(site) == (TTL, MX_COM | MX_NET)
    run = zonesmith("check", site)
    assert run.returncode == 0
    assert "0 errors, 1 warning; 4 findings switched off" in run.stdout
    assert "mx-no-address" not in run.stdout
    report = json.loads(zonesmith("check", "--json", site).stdout)
    assert [d["rule"] for d in report["diagnostics"]] == ["ttl-mismatch"]
    assert sorted(d["rule"] for d in report["switched_off"]) == ["mx-no-address"] * 4


def test_a_rule_off_at_names_and_below_a_name(tmp_path: Path) -> None:
    site = site_with(tmp_path, "rules:\n  mx-no-address: {off: [shop.example.com]}\n")
    assert found(site) == (
        TTL | MX_NET | {("mx-no-address", "example.com.zone", 4)},
        {("mx-no-address", "example.com.zone", 5)},
    )
    site = site_with(tmp_path, 'rules:\n  mx-no-address: {off: ["*.example.net"]}\n')
    # below example.net, not example.net itself
    assert found(site) == (
        TTL | MX_COM | {("mx-no-address", "example.net.yaml", 1)},
        {("mx-no-address", "example.net.yaml", 2)},
    )


def test_a_rule_off_beside_records_in_yaml_and_master_files(tmp_path: Path) -> None:
    com = COM_ZONE.replace(
        "shop IN MX 10 nomail", "shop IN MX 10 nomail ; zonesmith: off mx-no-address"
    )
    # A record spanning lines: the comment may close it.
    com = com.replace(
        "www 600 IN A 192.0.2.3",
        "www 600 IN A (\n  192.0.2.3\n  ) ; zonesmith: off duplicate-record, ttl-mismatch",
    )
    net = NET_ZONE.replace(
        "mx: [MX 10 nomail]", "mx: {records: [MX 10 nomail], rules: {mx-no-address: off}}"
    )
    reported, off = found(site_with(tmp_path, com=com, net=net))
    assert reported == {
        ("mx-no-address", "example.com.zone", 4),
        ("mx-no-address", "example.net.yaml", 1),
    }
    # ttl-mismatch is reported at the first record of the RRset that differs: line 7
    assert off == {
        ("mx-no-address", "example.com.zone", 5),
        ("mx-no-address", "example.net.yaml", 2),
        ("ttl-mismatch", "example.com.zone", 7),
    }


def test_unknown_and_unswitchable_ids_are_one_error_each_at_the_id(tmp_path: Path) -> None:
    com = COM_ZONE.replace(
        "shop IN MX 10 nomail", "shop IN MX 10 nomail ;zonesmith: off mx-no-adress"
    )
    net = NET_ZONE.replace(
        "mx: [MX 10 nomail]", "mx: {records: [MX 10 nomail], rules: {no-ns: off}}"
    )
    rules = "rules:\n  ttl-mismatchh: off\n  bad-rdata: off\n  mx-target-cname: on\n"
    run = zonesmith("check", site_with(tmp_path, rules, com, net), cwd=tmp_path)
    assert run.returncode == 1
    lines = [line for line in run.stdout.splitlines() if "error:" in line]
    assert lines == [
        "site/zones/example.com.zone:5:38: error: [unknown-rule] no rule 'mx-no-adress' to "
        "switch off; did you mean 'mx-no-address'?",
        "site/zones/example.net.yaml:2:39: error: [not-switchable] 'no-ns' cannot be switched "
        "off: a server would refuse to load the zone",
        "site/zonesmith.yaml:5:3: error: [unknown-rule] no rule 'ttl-mismatchh' to switch off; "
        "did you mean 'ttl-mismatch'?",
        "site/zonesmith.yaml:6:3: error: [not-switchable] 'bad-rdata' cannot be switched off: "
        "it is found while the site is read, and what it concerns is not in any zone",
        "site/zonesmith.yaml:7:20: error: [bad-value] rules mx-target-cname must be 'off', "
        "'warning' or 'error', not 'on'",
    ]
    # the misspelt switches switch nothing off
    assert "mx-no-address" in run.stdout and "ttl-mismatch]" in run.stdout


def test_a_comment_not_shaped_as_a_switch_is_reported(tmp_path: Path) -> None:
    com = COM_ZONE.replace("shop IN MX 10 nomail", "shop IN MX 10 nomail ; zonesmith: no mx")
    reported, _ = found(site_with(tmp_path, com=com))
    assert ("bad-switch", "example.com.zone", 5) in reported
    # "zonesmith:" inside a TXT string is data, not a switch
    com = COM_ZONE + 'txt IN TXT "; zonesmith: off mx-no-address"\n'
    assert found(site_with(tmp_path, com=com)) == (MX_COM | MX_NET | TTL, set())


def test_a_cached_run_follows_switches_changed_since(tmp_path: Path) -> None:
    site = site_with(tmp_path)
    cache = ZoneCache(site)
    first = found(site, cache)
    cache.save([], collect=False)
    config = site / "zonesmith.yaml"
    config.write_text(config.read_text().replace("zones:", "rules:\n  mx-no-address: off\nzones:"))
    for _ in range(2):  # reading the zones, then from the cache
        cache = ZoneCache(site)
        assert found(site, cache) == (TTL, MX_COM | MX_NET) == found(site)
        cache.save(check_site_in_full(site).site.zones, collect=False)
    config.write_text(config.read_text().replace("  mx-no-address: off\n", ""))
    assert found(site, ZoneCache(site)) == first
    zone = site / "zones" / "example.com.zone"
    zone.write_text(COM_ZONE.replace("192.0.2.3", "192.0.2.3 ; zonesmith: off ttl-mismatch"))
    for _ in range(2):
        cache = ZoneCache(site)
        assert found(site, cache) == (MX_COM | MX_NET, TTL) == found(site)
        cache.save(check_site_in_full(site).site.zones, collect=False)
    zone.write_text(COM_ZONE)
    assert found(site, ZoneCache(site)) == first


def test_json_carries_the_rule_id_of_every_diagnostic(tmp_path: Path) -> None:
    com = COM_ZONE + "bad IN A 300.1.1.1\n"
    report = json.loads(zonesmith("check", "--json", site_with(tmp_path, com=com)).stdout)
    rules = [d["rule"] for d in report["diagnostics"]]
    assert "bad-rdata" in rules and all(re.fullmatch(r"[a-z0-9-]+", r) for r in rules)


def test_every_unswitchable_id_is_a_rule_or_reported_while_reading() -> None:
    registered = {r.id for r in RULES}
    sources = "".join(p.read_text() for p in (ROOT / "src" / "zonesmith").rglob("*.py"))
    for rule_id in NOT_SWITCHABLE:
        assert rule_id in registered or f'"{rule_id}"' in sources, rule_id
    # errors of rules that stop the build but could be switched: to be judged when added
    assert {
        r.id for r in RULES if r.id in NOT_SWITCHABLE and r.severity.value == "warning"
    } == set()


def test_switches_on_a_set_hold_where_the_set_is_included(tmp_path: Path) -> None:
    sets = "sets:\n  mail:\n    '@': {records: [MX 10 nomail], rules: {mx-no-address: off}}\n"
    config = BASE_CONFIG + sets + "zones:\n  example.com: {include: [mail]}\n"
    config += "  example.net: {include: [mail]}\n"
    zones = {"example.com.yaml": "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"}
    zones["example.net.yaml"] = "'@': NS ns1.example.com.\n"
    site = write_site(tmp_path / "site", config, zones)
    # one finding at the set's record, the same for both zones
    assert found(site) == (set(), {("mx-no-address", "zonesmith.yaml", 6)})
    # A name switch drops a finding at a set's record only if every zone the record
    # is in is switched off there.
    by_name = config.replace(", rules: {mx-no-address: off}", "")
    (site / "zonesmith.yaml").write_text(
        by_name + "rules:\n  mx-no-address: {off: [example.com]}\n"
    )
    assert found(site) == ({("mx-no-address", "zonesmith.yaml", 6)}, set())
    names = "rules:\n  mx-no-address: {off: [example.com, example.net]}\n"
    (site / "zonesmith.yaml").write_text(by_name + names)
    assert found(site) == (set(), {("mx-no-address", "zonesmith.yaml", 6)})


def test_build_counts_and_lists_what_is_switched_off(tmp_path: Path) -> None:
    site = site_with(tmp_path, "rules:\n  ttl-mismatch: off\n")
    out = tmp_path / "out"
    run = zonesmith("build", site, "-o", out, "--no-server-checks")
    assert run.returncode == 0, run.stdout
    assert run.stdout.splitlines()[-1].endswith("; 1 finding switched off")
    run = zonesmith("build", "--json", site, "-o", out, "--no-server-checks")
    assert [d["rule"] for d in json.loads(run.stdout)["switched_off"]] == ["ttl-mismatch"]


def test_a_switch_may_give_a_rule_another_severity(tmp_path: Path) -> None:
    site = site_with(
        tmp_path, "rules:\n  ttl-mismatch: error\n  mx-no-address: {off: [example.net]}\n"
    )
    checked = check_site_in_full(site)
    severities = {(d.rule, d.severity.value) for d in checked.diagnostics}
    assert severities == {("ttl-mismatch", "error"), ("mx-no-address", "warning")}
    assert zonesmith("check", site).returncode == 1
    # beside records: the error made a warning there only; off wins over a severity
    com = COM_ZONE.replace(
        "shop IN MX 10 nomail", "shop IN MX 10 nomail ; zonesmith: off mx-no-address"
    )
    net = NET_ZONE.replace(
        "mx: [MX 10 nomail]", "mx: {records: [MX 10 nomail], rules: {mx-no-address: error}}"
    )
    site = site_with(tmp_path, "rules:\n  mx-no-address: warning\n", com, net)
    assert found(site)[1] == {("mx-no-address", "example.com.zone", 5)}
    found_now = {
        (d.rule, Path(d.position.path).name, d.position.line, d.severity.value)
        for d in check_site_in_full(site).diagnostics
    }
    assert ("mx-no-address", "example.net.yaml", 2, "error") in found_now
    assert ("mx-no-address", "example.net.yaml", 1, "warning") in found_now
