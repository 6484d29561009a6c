"""The fast RDATA path gives exactly what dnspython gives, or leaves the work to it."""

from __future__ import annotations

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zonesmith import presentation as rdata

ORIGIN = "zone.example."
T = dns.rdatatype

label = st.text("abcXYZ019_-", min_size=1, max_size=70)
name = st.one_of(
    st.just("@"),
    st.lists(label, min_size=1, max_size=5).map(".".join),
    st.lists(label, min_size=1, max_size=5).map(lambda ls: ".".join(ls) + "."),
    st.text("ab.\\ *@", min_size=1, max_size=12),
)
octet = st.one_of(st.integers(0, 300).map(str), st.sampled_from(["00", "01", "-1", ""]))
ipv4 = st.lists(octet, min_size=3, max_size=5).map(".".join)
hexgroup = st.one_of(
    st.integers(0, 0xFFFF).map(lambda n: f"{n:x}"), st.sampled_from(["", "0", "FFFF", "10000"])
)
ipv6 = st.one_of(
    st.lists(hexgroup, min_size=2, max_size=9).map(":".join),
    st.builds(lambda a, b: f"{a}::{b}", hexgroup, hexgroup),
    st.just("::ffff:1.2.3.4"),
)
txt_string = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
txt = st.lists(
    st.one_of(txt_string.map(lambda s: f'"{s}"'), st.text("abc=;-_", min_size=1, max_size=8)),
    min_size=1,
    max_size=3,
).map(" ".join)
number = st.one_of(st.integers(0, 70000).map(str), st.just("-1"), st.just("1e3"))


def reference(rdtype: int, text: str) -> str | None:
    """dnspython's canonical absolute text, or None when dnspython rejects the text."""
    try:
        parsed = dns.rdata.from_text(
            dns.rdataclass.IN, rdtype, text, origin=dns.name.from_text(ORIGIN), relativize=False
        )
    except Exception:  # noqa: BLE001 - any rejection counts
        return None
    return parsed.to_text()


def ours(rdtype: int, text: str) -> str | None:
    try:
        return rdata.parse(rdtype, text, ORIGIN)[0]
    except Exception:  # noqa: BLE001
        return None


def agree(rdtype: int, text: str) -> None:
    assert ours(rdtype, text) == reference(rdtype, text), (dns.rdatatype.to_text(rdtype), text)


@settings(max_examples=400, deadline=None)
@given(ipv4)
def test_a(text: str) -> None:
    agree(T.A, text)


@settings(max_examples=400, deadline=None)
@given(ipv6)
def test_aaaa(text: str) -> None:
    agree(T.AAAA, text)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([T.CNAME, T.NS, T.PTR, T.DNAME]), name)
def test_single_name_types(rdtype: int, text: str) -> None:
    agree(rdtype, text)


@settings(max_examples=400, deadline=None)
@given(txt)
def test_txt(text: str) -> None:
    agree(T.TXT, text)


@settings(max_examples=300, deadline=None)
@given(number, name)
def test_mx(preference: str, exchange: str) -> None:
    agree(T.MX, f"{preference} {exchange}")


@settings(max_examples=300, deadline=None)
@given(number, number, number, name)
def test_srv(priority: str, weight: str, port: str, target: str) -> None:
    agree(T.SRV, f"{priority} {weight} {port} {target}")


def test_long_txt_string_is_left_to_dnspython() -> None:
    assert ours(T.TXT, '"' + "x" * 256 + '"') is None  # more than 255 octets: rejected


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("zone.example.", ""),
        ("www.zone.example.", "www"),
        ("A.b.zone.example.", "b\x00a"),
    ],
)
def test_name_keys(name: str, key: str) -> None:
    assert rdata.name_key(name, ORIGIN) == key


def test_keys_sort_in_canonical_order() -> None:
    names = [
        "zone.example.",
        "a.zone.example.",
        "z.a.zone.example.",
        "b.zone.example.",
        "*.zone.example.",
        "a-b.zone.example.",
        "_x.zone.example.",
        "yljkjljk.a.zone.example.",
    ]
    canonical = sorted(dns.name.from_text(n) for n in names)
    ours_sorted = sorted(names, key=lambda n: rdata.name_key(n, ORIGIN))
    assert [dns.name.from_text(n) for n in ours_sorted] == canonical


@pytest.mark.parametrize(
    ("rdtype", "text", "relative"),
    [
        (T.CNAME, "www.zone.example.", "www"),
        (T.CNAME, "zone.example.", "@"),
        (T.CNAME, "other.example.", "other.example."),
        (T.MX, "10 mail.zone.example.", "10 mail"),
        (T.SRV, "0 5 5060 sip.zone.example.", "0 5 5060 sip"),
        (T.TXT, '"a" "b"', '"a" "b"'),
        (T.HINFO, '"PC" "Linux"', '"PC" "Linux"'),
    ],
)
def test_relativize(rdtype: int, text: str, relative: str) -> None:
    assert rdata.relativize(rdtype, text, None, ORIGIN) == relative
    expected = dns.rdata.from_text(1, rdtype, text).to_text(
        origin=dns.name.from_text(ORIGIN), relativize=True
    )
    assert relative == expected


def test_subdomain() -> None:
    assert rdata.is_subdomain("a.zone.example.", ORIGIN)
    assert rdata.is_subdomain("ZONE.example.", ORIGIN)
    assert not rdata.is_subdomain("a.otherzone.example.", ORIGIN)
    assert not rdata.is_subdomain("a\\.zone.example.", "zone.example.")
