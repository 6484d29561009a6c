"""dnssec-policies: in zonesmith.yaml, and zones opting in, read into the model."""

from __future__ import annotations

from pathlib import Path

from sites import write_site

from zonesmith.pipeline import check_site
from zonesmith.site import load_site

HEAD = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.com., contact: hostmaster@example.com}
  dnssec: standard
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1}
"""
ZONE = {"example.com.yaml": "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n"}


def load(root: Path, policies: str, zones: str = "  example.com: {}\n"):
    config = HEAD + "dnssec-policies:\n" + policies + "zones:\n" + zones
    return load_site(write_site(root, config, ZONE))


def test_a_policy_is_read_with_its_values_and_rfc9276_defaults(tmp_path: Path) -> None:
    site, diagnostics = load(
        tmp_path,
        "  standard:\n    keys: ksk+zsk\n    zsk-lifetime: 90d\n    signature-validity: 30d\n"
        "    signature-refresh: 7d\n    nsec: nsec3\n    ds: cds\n",
    )
    assert diagnostics == []
    policy = site.policy_of(site.zones[0])
    assert policy is not None and policy.name == "standard"
    assert (policy.algorithm, policy.keys, policy.ds) == ("ECDSAP256SHA256", "ksk+zsk", "cds")
    assert (policy.zsk_lifetime, policy.ksk_lifetime) == (90 * 86400, None)
    assert (policy.signature_validity, policy.signature_refresh) == (30 * 86400, 7 * 86400)
    assert (policy.nsec, policy.nsec3_iterations, policy.nsec3_salt) == ("nsec3", 0, "")
    assert policy.nsec3_opt_out is False


def test_a_zone_can_name_its_own_policy_over_the_default(tmp_path: Path) -> None:
    site, _ = load(
        tmp_path,
        "  standard: {}\n  other: {algorithm: ED25519}\n",
        "  example.com: {dnssec: other}\n  example.net: {}\n",
    )
    policies = {zone.text: site.policy_of(zone) for zone in site.zones}
    assert policies["example.com"].algorithm == "ED25519"
    assert policies["example.net"].name == "standard"


def test_an_unknown_key_gets_a_suggestion_at_its_line(tmp_path: Path) -> None:
    _, diagnostics = load(tmp_path, "  standard:\n    algorithim: ED25519\n")
    [found] = [d for d in diagnostics if d.rule == "unknown-key"]
    assert "did you mean 'algorithm'?" in found.message
    assert (found.position.line, found.position.column) == (HEAD.count("\n") + 3, 5)


def test_a_bad_choice_is_one_sentence_naming_the_choices(tmp_path: Path) -> None:
    _, diagnostics = load(tmp_path, "  standard: {keys: two, algorithm: ROT13}\n")
    messages = [d.message for d in diagnostics if d.rule == "bad-value"]
    assert any("csk, ksk+zsk" in m for m in messages)
    assert any("ECDSAP256SHA256" in m for m in messages)


def test_an_unknown_policy_is_an_error_where_it_is_named(tmp_path: Path) -> None:
    config = HEAD + "dnssec-policies:\n  standard: {}\nzones:\n  example.com: {dnssec: standrd}\n"
    _, diagnostics = check_site(write_site(tmp_path, config, ZONE))
    [found] = [d for d in diagnostics if d.rule == "unknown-dnssec-policy"]
    assert "did you mean 'standard'?" in found.message
    assert found.position.line == HEAD.count("\n") + 4


def test_a_policy_cannot_take_a_built_in_policy_name(tmp_path: Path) -> None:
    site, diagnostics = load(tmp_path, "  default: {}\n  standard: {}\n")
    [found] = [d for d in diagnostics if d.rule == "bad-identifier"]
    assert "built-in" in found.message and found.position.line == HEAD.count("\n") + 2
    assert [p.name for p in site.dnssec_policies] == ["standard"]
