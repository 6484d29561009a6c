"""Record rules: each fires at the user's line and stays silent on what named loads."""

from __future__ import annotations

from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site

from zonesmith.pipeline import check_site

HEAD = "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n"


def found(tmp_path: Path, records: str, head: str = HEAD) -> list[tuple[str, int]]:
    site = write_site(
        tmp_path, BASE_CONFIG + "zones:\n  example.com: {}\n", {"example.com.zone": head + records}
    )
    _, diagnostics = check_site(site)
    return [(d.rule, d.position.line) for d in diagnostics]


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        ("d DNAME a.example.net.\nd DNAME b.example.net.\n", [("multiple-dname", 5)]),
        ("d DNAME a.example.net.\nd DNAME A.example.NET.\n", [("duplicate-record", 5)]),
        ("d DNAME a.example.net.\ne DNAME a.example.net.\n", []),
    ],
)
def test_multiple_dname(tmp_path: Path, records: str, expected: list[tuple[str, int]]) -> None:
    assert found(tmp_path, records) == expected


def test_soa_not_at_apex(tmp_path: Path) -> None:
    assert found(tmp_path, "sub SOA ns1 hostmaster 1 3600 600 86400 300\n") == [
        ("soa-not-at-apex", 4)
    ]
    # the apex SOA is the site's: replaced with a warning, never this error
    assert found(tmp_path, "@ SOA ns1 hostmaster 1 3600 600 86400 300\n") == [("soa-replaced", 4)]


def test_no_ttl_warns_once_at_the_first_record_without_one(tmp_path: Path) -> None:
    assert found(
        tmp_path, "a A 192.0.2.2\nb A 192.0.2.3\n", head="@ NS ns1\nns1 A 192.0.2.1\n"
    ) == [("no-ttl", 1)]
    # a TTL on the first record (RFC 1035 5.1: later ones inherit it) or $TTL: no warning
    assert found(tmp_path, "a A 192.0.2.2\n", head="@ 300 NS ns1\nns1 A 192.0.2.1\n") == []
    assert found(tmp_path, "a A 192.0.2.2\n") == []


def test_ttl_directive_over_max_is_read_as_zero(tmp_path: Path) -> None:
    assert found(
        tmp_path, "a A 192.0.2.2\n", head="$TTL 4294967295\n@ NS ns1\nns1 A 192.0.2.1\n"
    ) == [("ttl-over-max", 1)]
    assert (
        found(tmp_path, "a A 192.0.2.2\n", head="$TTL 2147483647\n@ NS ns1\nns1 A 192.0.2.1\n")
        == []
    )
    assert found(
        tmp_path, "a A 192.0.2.2\n", head="$TTL 4294967296\n@ NS ns1\nns1 A 192.0.2.1\n"
    ) == [
        ("bad-ttl", 1),
        ("no-ttl", 2),
    ]
