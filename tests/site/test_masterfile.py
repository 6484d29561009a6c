"""Master-file reader: positions, error recovery, directives, and agreement with dnspython/BIND.

The oracles are other projects' test data (``../shared/corpora``): BIND's
master-loader cases with their accept/reject expectations, and zones that
dnspython's own zone reader accepts, whose records ours must reproduce.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path

import dns.exception
import dns.name
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.zone
import pytest

from zonesmith.diagnostics import Diagnostic
from zonesmith.model import Record as MasterRecord
from zonesmith.site.masterfile import reader
from zonesmith.site.masterfile.generate import MAX_GENERATE
from zonesmith.site.masterfile.reader import read_masterfile
from zonesmith.site.values import parse_ttl

CORPORA = Path(__file__).resolve().parents[2].parent / "shared" / "corpora"
BIND_TESTS = CORPORA / "bind9" / "tests" / "dns"
BIND_MASTER = BIND_TESTS / "testdata" / "master"
BIND_MANIFEST = CORPORA / "bind9" / "MANIFEST.master_test.json"

ORIGIN = dns.name.from_text("example.com.")


def read(
    tmp_path: Path, text: str, *, origin: str = "example.com.", default_ttl: int = 3600
) -> tuple[list[MasterRecord], list[Diagnostic]]:
    path = tmp_path / "zone.db"
    path.write_text(text, encoding="utf-8")
    return read_masterfile(
        path, dns.name.from_text(origin), default_ttl, display_path="zones/zone.db"
    )


def errors(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.is_error]


def where(diagnostic: Diagnostic) -> tuple[str, int, int]:
    return (diagnostic.rule, diagnostic.position.line, diagnostic.position.column)


def rrs(records: list[MasterRecord]) -> list[tuple[str, int, str, str]]:
    return [
        (r.name.to_text(), r.ttl, dns.rdatatype.to_text(r.rdata.rdtype), r.rdata.to_text())
        for r in records
    ]


# ----------------------------------------------------------------------------- positions


def test_records_keep_line_and_column_of_their_owner(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 300\n"
        "@\tIN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
        "      NS ns1\n"
        "www   A  192.0.2.1\n",
    )
    assert diagnostics == []
    assert [(str(r.position)) for r in records] == [
        "zones/zone.db:2:1",
        "zones/zone.db:3:7",  # blank owner: the first token
        "zones/zone.db:4:1",
    ]
    assert rrs(records)[1] == ("example.com.", 300, "NS", "ns1.example.com.")


def test_an_error_is_reported_at_its_line_and_column(tmp_path: Path) -> None:
    _, diagnostics = read(tmp_path, "$TTL 300\n\nwww   IN  A   192.0.2.300\n")
    assert [where(d) for d in diagnostics] == [("bad-rdata", 3, 15)]
    assert str(diagnostics[0]).startswith(
        "zones/zone.db:3:15: error: [bad-rdata] invalid A data '192.0.2.300': "
    )


def test_all_problems_are_reported_in_one_pass_and_good_records_kept(tmp_path: Path) -> None:
    text = (
        "$TTL 1h\n"  # 1
        "@      SOA ns1 hostmaster 1 2 3 4 5\n"  # 2
        "a      A   192.0.2.1\n"  # 3 good
        "b      AAA 2001:db8::1\n"  # 4 unknown type
        "c      MX  ten mail\n"  # 5 bad rdata
        "d      CH  A 192.0.2.4\n"  # 6 bad class
        "e      99999999999 A 192.0.2.5\n"  # 7 bad ttl
        "f..g   A   192.0.2.6\n"  # 8 bad name
        "x.org. A   192.0.2.7\n"  # 9 out of zone
        "$FOO bar\n"  # 10 unknown directive
        "h      A   192.0.2.8\n"  # 11 good
    )
    records, diagnostics = read(tmp_path, text)
    assert [where(d) for d in diagnostics] == [
        ("unknown-type", 4, 8),
        ("bad-rdata", 5, 12),
        ("bad-class", 6, 8),
        ("bad-ttl", 7, 8),
        ("bad-name", 8, 1),
        ("out-of-zone", 9, 1),
        ("masterfile-syntax", 10, 1),
    ]
    assert [r[0] for r in rrs(records)] == ["example.com.", "a.example.com.", "h.example.com."]
    messages = [d.message for d in diagnostics]
    assert "did you mean" in messages[0] and "AAAA" in messages[0]
    assert messages[1].startswith("invalid MX data 'ten mail': ")
    assert "empty label" in messages[4]
    assert messages[5] == "'x.org.' is outside zone 'example.com.'"
    assert "$FOO" in messages[6]


def test_unknown_type_after_leading_whitespace_explains_the_owner_rule(tmp_path: Path) -> None:
    _, diagnostics = read(tmp_path, "$TTL 1h\n@ A 192.0.2.1\n  www A 192.0.2.2\n")
    [diagnostic] = diagnostics
    assert where(diagnostic) == ("unknown-type", 3, 3)
    assert "column 1" in diagnostic.message


@pytest.mark.parametrize(
    ("owner", "reason"),
    [
        ("a" * 64, "longer than 63 octets"),
        (".".join(["a" * 60] * 5), "longer than 255 octets"),
        ("a..b", "empty label"),
        ("a\\999", "bad escape"),
    ],
)
def test_invalid_owner_names_say_why(tmp_path: Path, owner: str, reason: str) -> None:
    records, diagnostics = read(
        tmp_path, f"$TTL 1h\n{owner} A 192.0.2.1\n  TXT x\nok A 192.0.2.2\n"
    )
    [diagnostic] = diagnostics  # the blank-owner line after it is dropped silently
    assert where(diagnostic) == ("bad-name", 2, 1)
    assert reason in diagnostic.message
    assert [r[0] for r in rrs(records)] == ["ok.example.com."]


def test_touching_tokens_stay_together(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path, '$TTL 1h\n_dns SVCB 1 dns ( alpn="h2,h3"\n port="853" ) mandatory=alpn\n'
    )
    assert diagnostics == []
    assert rrs(records)[0][3] == '1 dns.example.com. mandatory="alpn" alpn="h2,h3" port="853"'


def test_generic_rdata_and_typennn(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\na TYPE731 \\# 3 abcdef\nb A \\# 4 c0000201\nc TYPE1 192.0.2.2\n",
    )
    assert diagnostics == []
    assert rrs(records) == [
        ("a.example.com.", 3600, "TYPE731", "\\# 3 abcdef"),
        ("b.example.com.", 3600, "A", "192.0.2.1"),
        ("c.example.com.", 3600, "A", "192.0.2.2"),
    ]


def test_meta_types_are_refused(tmp_path: Path) -> None:
    _, diagnostics = read(tmp_path, "$TTL 1h\na AXFR x\n")
    assert [where(d) for d in diagnostics] == [("unknown-type", 2, 3)]


def test_oversized_rdata_is_refused(tmp_path: Path) -> None:
    strings = " ".join(["x" * 255] * 257)  # 257 * 256 octets > 65512
    _, diagnostics = read(tmp_path, f"$TTL 1h\nbig TXT {strings}\n")
    [diagnostic] = diagnostics
    assert where(diagnostic) == ("bad-rdata", 2, 9)
    assert "65511" in diagnostic.message


# ----------------------------------------------------------------------------- TTL and class


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("0", 0), ("300", 300), ("1h", 3600), ("1H30m", 5400), ("1d2h", 93600), ("1W", 604800)],
)
def test_ttl_units(text: str, seconds: int) -> None:
    assert parse_ttl(text) == seconds


@pytest.mark.parametrize("text", ["1h30", "2147483648", "1y", "h"])
def test_bad_ttls(text: str) -> None:
    with pytest.raises(ValueError):
        parse_ttl(text)


def test_ttl_and_class_in_either_order_and_implicit_ttls(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "a A 192.0.2.1\n"  # nothing known yet: the caller's default
        "b 60 IN A 192.0.2.2\n"
        "c IN 2m A 192.0.2.3\n"
        "d A 192.0.2.4\n"  # last explicit TTL (RFC 1035 5.1)
        "$TTL 1d\n"
        "e IN A 192.0.2.5\n"  # $TTL wins over the last explicit TTL
        "f 2147483648 A 192.0.2.6\n"  # top bit set: read as 0, as BIND does (RFC 2181 8)
        "g 4294967296 A 192.0.2.7\n",  # more than the field holds: BIND refuses it
        default_ttl=42,
    )
    assert [(r[0].split(".")[0], r[1]) for r in rrs(records)] == [
        ("a", 42),
        ("b", 60),
        ("c", 120),
        ("d", 120),
        ("e", 86400),
        ("f", 0),
    ]
    assert [where(d) for d in diagnostics] == [
        ("no-ttl", 1, 1),
        ("ttl-over-max", 7, 3),
        ("bad-ttl", 8, 3),
    ]
    assert "42" in diagnostics[0].message
    assert "2147483647" in diagnostics[1].message


def test_bad_ttl_directive(tmp_path: Path) -> None:
    _, diagnostics = read(tmp_path, "$TTL forever\n$TTL\na A 192.0.2.1\n")
    # neither $TTL took effect, so the record gets the default, with a warning
    assert [where(d) for d in diagnostics] == [
        ("bad-ttl", 1, 6),
        ("masterfile-syntax", 2, 5),
        ("no-ttl", 3, 1),
    ]


def test_class_must_be_in(tmp_path: Path) -> None:
    records, diagnostics = read(tmp_path, "$TTL 1h\na CLASS1 A 192.0.2.1\nb HS A 192.0.2.2\n")
    assert len(records) == 1
    assert [where(d) for d in diagnostics] == [("bad-class", 3, 3)]


# ----------------------------------------------------------------------------- $ORIGIN


def test_origin_directive_and_relative_names(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        "www CNAME @\n"
        "$ORIGIN sub\n"  # relative to the current origin
        "host CNAME other\n"
        "@ MX 10 mail.example.com.\n"
        "$ORIGIN example.com.\n"
        "abs.example.com. A 192.0.2.1\n",
    )
    assert diagnostics == []
    assert rrs(records) == [
        ("www.example.com.", 3600, "CNAME", "example.com."),
        ("host.sub.example.com.", 3600, "CNAME", "other.sub.example.com."),
        ("sub.example.com.", 3600, "MX", "10 mail.example.com."),
        ("abs.example.com.", 3600, "A", "192.0.2.1"),
    ]


def test_origin_outside_the_zone_makes_its_records_out_of_zone(tmp_path: Path) -> None:
    records, diagnostics = read(tmp_path, "$TTL 1h\n$ORIGIN example.net.\nwww A 192.0.2.1\n")
    assert records == []
    assert [d.message for d in diagnostics] == ["'www.example.net.' is outside zone 'example.com.'"]


# ----------------------------------------------------------------------------- parentheses


def test_parentheses_span_lines_with_comments(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        "@ IN SOA ns1 hostmaster ( ; comment after paren\n"
        "        2024010101 ; serial\n"
        "\n"
        "        3h 1h ( 2w ) 300 )\n"  # nested parentheses, units in SOA
        "www A 192.0.2.1\n",
    )
    assert diagnostics == []
    assert rrs(records)[0][3] == (
        "ns1.example.com. hostmaster.example.com. 2024010101 10800 3600 1209600 300"
    )
    assert records[1].position.line == 6


def test_unbalanced_parentheses_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        "a A 192.0.2.1 )\n"  # 2: stray ')'
        "@ SOA ns1 hostmaster ( 1\n"  # 3: never closed
        "      2 3 4 5\n"  # continuation of the broken record
        "b A 192.0.2.2\n"  # reading resumes here
        "c A 192.0.2.3\n",
    )
    assert [where(d) for d in diagnostics] == [
        ("masterfile-syntax", 2, 15),
        ("masterfile-syntax", 3, 22),
    ]
    assert [r[0] for r in rrs(records)] == ["b.example.com.", "c.example.com."]


# ----------------------------------------------------------------------------- quoting and escapes


def test_quoted_strings_and_escapes(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        't1 TXT "say \\"hi\\"; not a comment" ; a comment\n'
        't2 TXT semi\\;colon \\065\\066 "\\255"\n'
        'dot\\.ted TXT "a(b)c"\n',
    )
    assert diagnostics == []
    assert [r.rdata.strings for r in records] == [  # type: ignore[attr-defined]
        (b'say "hi"; not a comment',),
        (b"semi;colon", b"AB", b"\xff"),
        (b"a(b)c",),
    ]
    assert records[2].name.labels[0] == b"dot.ted"


def test_unterminated_quote(tmp_path: Path) -> None:
    records, diagnostics = read(tmp_path, '$TTL 1h\na TXT "open\nb A 192.0.2.1\n')
    assert [where(d) for d in diagnostics] == [("masterfile-syntax", 2, 7)]
    assert [r[0] for r in rrs(records)] == ["b.example.com."]


def test_bytes_that_are_not_utf8_are_kept_as_octets(tmp_path: Path) -> None:
    path = tmp_path / "zone.db"
    path.write_bytes(b'$TTL 1h\na TXT "caf\xe9" "caf\xc3\xa9"\n')
    records, diagnostics = read_masterfile(path, ORIGIN, 3600)
    assert diagnostics == []
    assert records[0].rdata.strings == (b"caf\xe9", b"caf\xc3\xa9")  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- blank owner


def test_blank_owner_repeats_the_previous_owner(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\nmail A 192.0.2.1\n\t AAAA 2001:db8::1\n ; just a comment\n  MX 10 mail\n",
    )
    assert diagnostics == []
    assert [(r[0], r[2]) for r in rrs(records)] == [
        ("mail.example.com.", "A"),
        ("mail.example.com.", "AAAA"),
        ("mail.example.com.", "MX"),
    ]


def test_first_record_without_owner_is_an_error_once(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path, "$TTL 1h\n  A 192.0.2.1\n  A 192.0.2.2\nb A 192.0.2.3\n  A 192.0.2.4\n"
    )
    assert [where(d) for d in diagnostics] == [("masterfile-syntax", 2, 3)]
    assert "first record has no owner" in diagnostics[0].message
    assert [r[0] for r in rrs(records)] == ["b.example.com."] * 2


def test_blank_owner_right_after_origin_change_warns(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path, "$TTL 1h\nb A 192.0.2.1\n$ORIGIN sub.example.com.\n A 192.0.2.2\n"
    )
    assert errors(diagnostics) == []
    assert [where(d) for d in diagnostics] == [("inherited-owner", 4, 2)]
    assert records[1].name == dns.name.from_text("b.example.com.")  # as BIND does


# ----------------------------------------------------------------------------- $INCLUDE


def test_include_is_relative_to_the_including_file(tmp_path: Path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "hosts.db").write_text(
        "www A 192.0.2.1\n$ORIGIN deep\nx A 192.0.2.9\nbad A 1.2.3\n"
    )
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        "$INCLUDE inc/hosts.db\n"
        '$INCLUDE "inc/hosts.db" lab.example.com.\n'
        "after A 192.0.2.2\n",  # the include's $ORIGIN does not leak out (RFC 1035 5.1)
    )
    assert [r[0] for r in rrs(records)] == [
        "www.example.com.",
        "x.deep.example.com.",
        "www.lab.example.com.",
        "x.deep.lab.example.com.",
        "after.example.com.",
    ]
    # Positions inside the included file name it, relative to the display path.
    assert [str(d.position) for d in diagnostics] == ["zones/inc/hosts.db:4:7"] * 2
    assert str(records[0].position) == "zones/inc/hosts.db:1:1"


def test_missing_include_is_reported_at_the_directive(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path, "$TTL 1h\na A 192.0.2.1\n  $INCLUDE x\n$INCLUDE nothere.db\n"
    )
    assert [where(d) for d in diagnostics] == [("unknown-type", 3, 3), ("include-missing", 4, 1)]
    assert "directives must start in column 1" in diagnostics[0].message
    assert "zones/nothere.db" in diagnostics[1].message
    assert len(records) == 1


def test_include_loop_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "a.db").write_text("a 60 A 192.0.2.1\n$INCLUDE b.db\n")
    (tmp_path / "b.db").write_text("b A 192.0.2.2\n$INCLUDE a.db\n")
    records, diagnostics = read_masterfile(tmp_path / "a.db", ORIGIN, 60, display_path="a.db")
    assert [(d.rule, str(d.position)) for d in diagnostics] == [("include-loop", "b.db:2:1")]
    assert len(records) == 2


def test_unreadable_top_file_is_a_diagnostic_not_an_exception(tmp_path: Path) -> None:
    records, diagnostics = read_masterfile(tmp_path / "missing.db", ORIGIN, 60)
    assert records == []
    assert [d.rule for d in diagnostics] == ["include-missing"]
    records, diagnostics = read_masterfile(tmp_path, ORIGIN, 60)  # a directory
    assert [d.rule for d in diagnostics] == ["include-missing"]


# ----------------------------------------------------------------------------- $GENERATE


def test_generate(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        "$GENERATE 1-3 host$ A 192.0.2.$\n"
        "$GENERATE 0-4/2 ${10,3} IN 60 PTR h${0,2,x}.$$\\$\n"
        "$GENERATE 10-10 $ CNAME ${0,3,n}\n"  # nibbles: a.0
        '$GENERATE 1-1 mx$ MX "10 mail$"\n',
    )
    assert diagnostics == []
    assert rrs(records) == [
        ("host1.example.com.", 3600, "A", "192.0.2.1"),
        ("host2.example.com.", 3600, "A", "192.0.2.2"),
        ("host3.example.com.", 3600, "A", "192.0.2.3"),
        ("010.example.com.", 60, "PTR", "h00.\\$\\$.example.com."),  # "$$" and "\\$": a "$"
        ("012.example.com.", 60, "PTR", "h02.\\$\\$.example.com."),
        ("014.example.com.", 60, "PTR", "h04.\\$\\$.example.com."),
        ("10.example.com.", 3600, "CNAME", "a.0.example.com."),
        ("mx1.example.com.", 3600, "MX", "10 mail1.example.com."),
    ]
    assert str(records[0].position) == "zones/zone.db:2:15"


def test_generate_errors(tmp_path: Path) -> None:
    records, diagnostics = read(
        tmp_path,
        "$TTL 1h\n"
        "$GENERATE 250-260 h$ A 192.0.2.$\n"  # 256..260 are not IPv4 octets
        f"$GENERATE 0-{MAX_GENERATE} h$ A 192.0.2.1\n"
        "$GENERATE 5-1 h$ A 192.0.2.1\n"
        "$GENERATE 1-2 h$ MX 10 mail\n"
        "$GENERATE 1-2 h${1,2,q} A 192.0.2.1\n",
    )
    assert [where(d) for d in diagnostics] == [
        ("bad-rdata", 2, 24),
        ("generate-limit", 3, 11),
        ("masterfile-syntax", 4, 11),
        ("masterfile-syntax", 5, 24),
        ("masterfile-syntax", 6, 15),
    ]
    assert "(and 4 more generated records)" in diagnostics[0].message
    assert len(records) == 6


# ----------------------------------------------------------------------------- robustness


def test_garbage_never_raises(tmp_path: Path) -> None:
    rng = random.Random(1035)
    alphabet = ' \t\n;()"\\$@.aA1IN09TXT\xff-/{}'
    path = tmp_path / "g.db"
    for _ in range(200):
        path.write_bytes(
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200))).encode(
                "utf-8", "surrogateescape"
            )
        )
        read_masterfile(path, ORIGIN, 60)


# ----------------------------------------------------------------------------- the fast path

# Plain one-line records skip the tokenizer (and, for common types, dnspython);
# whatever they give must be what the tokenizer gives, down to positions and types.

# (usual, odd) choices for each part of a line
FAST_OWNERS = (
    ["h1", "www", "@", "a.b", "*.dev", "Mail.Example.COM.", "x" * 63, ""],
    [
        "x" * 64,
        "a..b",
        "other.org.",
        "a\\.b",
        "a\\065",
        "xexample.com.",
        "é",
        '"q"',
        'a"b',
        "$X",
        "a:b",
        "a*b",
        "h\x01",
        ".",
    ],
)
FAST_RDATA = {
    "A": (["10.0.0.1", "0.0.0.0", "255.255.255.255"], ["256.1.1.1", "01.2.3.4", "1.2.3", "1..2.3"]),
    "AAAA": (
        ["2001:db8::1", "2001:DB8:0:0::1", "::"],
        ["::ffff:1.2.3.4", "::ffff:0102:0304", "1::2::3"],
    ),
    "CNAME": (["www", "www.example.com.", "@", "*.x"], ["a..b", "x" * 64, '"x"', "a\\.b"]),
    "TXT": (
        ['"v=spf1 -all"', '"a" "b"', '""', '"' + "x" * 255 + '"', "hello world"],
        ['"a"  "b"', '"a"\t"b"', '"a b" c', '"' + "x" * 256 + '"', '"a""b"', '"a\\"b"', '"é"'],
    ),
    "MX": (["10 mail", "0 mail.example.com."], ["10   mail", "10\tmail", "70000 mail", '10 "m"']),
    "SRV": (["0 5 5060 sip"], ["1 2 3"]),
    "txt": (['"lower"'], ['"x" "' + "y" * 300 + '"']),
    "NS": (["ns1.example.net."], ["ns1 ns2"]),
    "CAA": (['0 issue "ca.example.net"'], []),
    "Aa": (["1.2.3.4"], []),
}
FAST_TTLS = (["", "", "", "3600", "0300"], ["2147483648", "1h", "+5", "1_0", "\u00b2", "1" * 4400])
FAST_CLASSES = (["", "IN", "IN", "in"], ["In", "CH"])
FAST_SEPARATORS = ([" ", " ", "\t", "  "], ["\f", "\v", "\r", "\x1c", "\xa0", " ; c"])
FAST_ENDS = ([""], [" ", "\r", " ; c", ";c", "\f"])
FAST_EXTRA = [
    "$TTL 300",
    "$ORIGIN sub.example.com.",
    "$ORIGIN other.org.",
    "$ORIGIN .",
    "",
    " ",
    "\r",
    "; comment",
    "x IN A (",
    " 1.2.3.4 )",
    "@ IN SOA ns1 host ( 1 2 3 4 5 )",
    "$INCLUDE inc.db",
    "$INCLUDE inc.db sub",
]


def _random_line(rng: random.Random) -> str:
    if rng.randrange(10) == 0:
        return rng.choice(FAST_EXTRA)

    def pick(choices: tuple[list[str], list[str]]) -> str:
        usual, odd = choices
        return rng.choice(usual * 4 + odd)  # mostly usual

    rdtype = rng.choice(sorted(FAST_RDATA))
    head = [pick(FAST_TTLS), pick(FAST_CLASSES)]
    if rng.randrange(2):
        head.reverse()
    line = pick(FAST_OWNERS) or rng.choice([" ", "\t", "  ", "\f", "\r"])
    for field_text in [f for f in head if f] + [rdtype, pick(FAST_RDATA[rdtype])]:
        line += pick(FAST_SEPARATORS) + field_text
    return line + pick(FAST_ENDS)


def _random_zone(rng: random.Random) -> str:
    """Plain lines, odd lines and directives, some with a long run of plain lines
    before or after, so that both ways of _plain_lines occur."""
    end = rng.choice(["\n", "\n", "\r\n"])
    lines = ["start IN A 192.0.2.1"] + [_random_line(rng) for _ in range(rng.randrange(16))]
    padding = [f"p{i} IN A 10.0.0.{i}" for i in range(rng.choice([0, 0, 60]))]
    where = rng.choice(["before", "after", "after-with-comment"])
    if where == "before":
        lines = padding + lines
    else:
        lines += padding + (["; end"] if where == "after-with-comment" else [])
    return end.join(lines) + rng.choice(["", end])


def _read_both(text: str, included: str, origin: str) -> tuple[tuple, tuple]:
    folder = Path(tempfile.mkdtemp(prefix="zonesmith-masterfile-"))
    try:
        (folder / "zone.db").write_bytes(text.encode("utf-8", "surrogateescape"))
        (folder / "inc.db").write_bytes(included.encode("utf-8", "surrogateescape"))
        results = []
        for fast in (True, False):
            with pytest.MonkeyPatch.context() as patch:
                if not fast:  # no type is a fast type: every line goes to the tokenizer
                    patch.setattr(reader, "_FAST_TYPE_CODES", {})
                results.append(
                    read_masterfile(
                        folder / "zone.db", dns.name.from_text(origin), 3600, display_path="z.db"
                    )
                )
    finally:
        shutil.rmtree(folder)
    (fast_records, fast_diagnostics), (slow_records, slow_diagnostics) = results
    return (
        (fast_records, [tuple(map(type, r)) for r in fast_records], fast_diagnostics),
        (slow_records, [tuple(map(type, r)) for r in slow_records], slow_diagnostics),
    )


@pytest.mark.parametrize("seed", range(8))
def test_fast_path_gives_what_the_tokenizer_gives(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(150):
        text, included = _random_zone(rng), _random_zone(rng)
        origin = rng.choice(["example.com.", "sub.example.com.", "."])
        fast, slow = _read_both(text, included, origin)
        assert fast == slow, (text, included, origin)


@pytest.mark.parametrize(
    "text",
    [
        "other.org. IN A 1.2.3.4\n IN A 1.2.3.5\n",  # a blank owner repeats an out-of-zone name
        "a IN A 1.1.1.1\n\fh1 IN A 1.2.3.4\n",  # \f, \v, \r start a line without owner
        "a IN A 1.1.1.1\n\rh1 IN A 1.2.3.4\n",
        "a IN A 1.1.1.1\n \fIN A 1.2.3.4\n",
        'a"b IN A 1.2.3.4\n',  # a quote in the owner
        '"q" IN TXT "x"\n',
        "h1\x1cIN A 1.2.3.4\n",  # str.split() splits there, the tokenizer does not
        "h1\xa0IN A 1.2.3.4\n",
        "h1 \u00b2 IN A 1.2.3.4\n",  # a digit to str.isdigit(), not to int()
        "h1 \u0661\u0662 IN A 1.2.3.4\n",
        "h1 " + "1" * 4400 + " IN A 1.2.3.4\n",  # more digits than int() reads
        "$ORIGIN .\nh1 IN A 1.2.3.4\n",  # relative to the root
    ],
)
def test_fast_path_corner_cases(text: str) -> None:
    for origin in ("example.com.", "."):
        fast, slow = _read_both(text, "", origin)
        assert fast == slow


# ----------------------------------------------------------------------------- BIND's loader cases

# Where this reader cannot sensibly agree with BIND's expectation, and why.
BIND_DIFFERENCES: dict[str, str] = {
    "master6.data": "DNSKEY flags as mnemonics (FLAG2|...|SIG15) are a BIND-only leftover of "
    "RFC 2535 KEY records; dnspython, NSD and Knot need the number, so we reject them",
    "master8.data": "includes master6.data (same DNSKEY flag mnemonics)",
    "master16.data": "the manifest (BIND's development branch) accepts 65512 octets of TXT; "
    "the installed BIND 9.18 refuses it ('ran out of space'), and zonesmith follows 9.18",
}


def _bind_cases() -> list[dict[str, str]]:
    if not BIND_MANIFEST.is_file():
        return []
    return json.loads(BIND_MANIFEST.read_text())


def _bind_path(tmp_path: Path, file: str) -> Path:
    """BIND resolves $INCLUDE against its working directory (tests/dns); we resolve it
    against the including file, so include cases get the same layout around them."""
    source = BIND_MASTER / file
    if "$include" not in source.read_text().lower():
        return source
    shutil.copytree(BIND_MASTER, tmp_path / "testdata" / "master")
    shutil.copy(source, tmp_path / file)
    return tmp_path / file


@pytest.mark.skipif(not BIND_MANIFEST.is_file(), reason="BIND corpus not available")
@pytest.mark.parametrize("case", _bind_cases(), ids=lambda case: case["file"])
def test_bind_master_loader_cases(tmp_path: Path, case: dict[str, str]) -> None:
    path = _bind_path(tmp_path, case["file"])
    records, diagnostics = read_masterfile(path, dns.name.from_text(case["origin"]), 3600)
    problems = errors(diagnostics)
    if case["file"] in BIND_DIFFERENCES:
        assert problems and {d.rule for d in problems} == {"bad-rdata"}
        return
    if case["expect"] == "reject":
        assert problems, f"BIND rejects it ({case['bind_result']}): {case.get('note')}"
    else:
        assert problems == []
        assert records
    if case["expect"] == "accept-with-warning":
        assert any(d.rule == "inherited-owner" for d in diagnostics)
    else:  # but the one note that the default TTL is used where the file gives none
        assert not [d for d in diagnostics if not d.is_error and d.rule != "no-ttl"]


@pytest.mark.skipif(not BIND_MANIFEST.is_file(), reason="BIND corpus not available")
def test_bind_include_error_names_the_included_file(tmp_path: Path) -> None:
    path = _bind_path(tmp_path, "master9.data")
    _, diagnostics = read_masterfile(path, dns.name.from_text("test"), 3600)
    assert [
        (d.rule, d.position.path.endswith("testdata/master/master5.data")) for d in diagnostics
    ] == [("bad-class", True)]


# ----------------------------------------------------------------------------- dnspython as oracle

# (file relative to the corpora, zone origin); each must be accepted by dnspython.
ORACLE_ZONES: list[tuple[str, str]] = [
    ("bind9/tests/dns/testdata/master/master1.data", "test."),
    ("bind9/tests/dns/testdata/master/master4.data", "test."),
    ("bind9/tests/dns/testdata/master/master10.data", "test."),
    ("bind9/tests/dns/testdata/master/master11.data", "test."),
    ("bind9/tests/dns/testdata/master/master17.data", "test."),
    ("dnspython/tests/example", "example."),
    ("dnspython/tests/example1.good", "example."),
    ("dnspython/tests/example2.good", "example."),
    ("dnspython/tests/example3.good", "example."),
    ("dnspython/tests/example4.good", "example."),
    ("ldns/test/10-ldns-compare-zones.tpkg/10-ldns-compare-zones.zone1", "justazone.example."),
    ("ldns/test/10-ldns-compare-zones.tpkg/10-ldns-compare-zones.zone2", "justazone.example."),
    ("ldns/test/26-loc-centimetre.tpkg/26-loc-centimetre.db", "example."),
    ("ldns/test/27-tab-between-cstrings.tpkg/27-tab-between-cstrings.db", "example."),
    ("ldns/test/28-tab-instead-of-space.tpkg/28-tab-instead-of-space.db", "com."),
]

# Edits made to a copy of a corpus file before both readers see it, and why.
ORACLE_EDITS: dict[str, tuple[list[tuple[str, str]], str]] = {
    "dnspython": (
        [('ech="abcd"', "")],
        "dnspython >= 2.8 validates ECHConfigList and rejects the placeholder 'abcd' of its "
        "own older test zone; we report that as bad-rdata (see test below)",
    ),
    "29-generic-rdata-tab": (
        [("CLASS32", "IN")],
        "the zone is CLASS32, which zonesmith refuses (bad-class); the point of the case, "
        "RFC 3597 rdata split by TABs and parentheses, is checked in class IN",
    ),
}

# Corpus files dnspython rejects but we accept on purpose.
ORACLE_DIFFERENCES: dict[str, str] = {
    "ldns/test/14-read-zone.tpkg/14-read-zone.db": "CNAME next to other data is a zone "
    "validation rule, not a reading error; the reader returns the records as written",
}


def _rdatasets(
    records: list[MasterRecord],
) -> dict[tuple[dns.name.Name, int, int], tuple[int, frozenset[dns.rdata.Rdata]]]:
    """Records grouped as dnspython's zone does: one rdataset per (name, type, covered type),
    duplicates merged, TTL the smallest seen."""
    grouped: dict[tuple[dns.name.Name, int, int], tuple[int, set[dns.rdata.Rdata]]] = {}
    for record in records:
        key = (record.name, record.rdata.rdtype, record.rdata.covers())
        ttl, rdatas = grouped.setdefault(key, (record.ttl, set()))
        rdatas.add(record.rdata)
        grouped[key] = (min(ttl, record.ttl), rdatas)
    return {key: (ttl, frozenset(rdatas)) for key, (ttl, rdatas) in grouped.items()}


def _oracle(zone: dns.zone.Zone) -> dict[tuple[dns.name.Name, int, int], tuple[int, frozenset]]:
    return {
        (name, rdataset.rdtype, rdataset.covers): (rdataset.ttl, frozenset(rdataset))
        for name, node in zone.nodes.items()
        for rdataset in node
    }


def _edited_copy(tmp_path: Path, relative: str) -> Path:
    source = CORPORA / relative
    text = source.read_text(encoding="utf-8")
    for key, (edits, _why) in ORACLE_EDITS.items():
        if key in relative:
            for old, new in edits:
                text = text.replace(old, new)
    copy = tmp_path / source.name
    copy.write_text(text, encoding="utf-8")
    return copy


@pytest.mark.parametrize(("relative", "origin"), ORACLE_ZONES, ids=[z[0] for z in ORACLE_ZONES])
def test_same_records_as_dnspython(tmp_path: Path, relative: str, origin: str) -> None:
    if not (CORPORA / relative).is_file():
        pytest.skip("corpus not available")
    path = _edited_copy(tmp_path, relative)
    zone = dns.zone.from_file(str(path), origin, relativize=False, check_origin=False)
    expected = _oracle(zone)
    # dnspython, like BIND, falls back to the SOA minimum; our caller passes that in.
    soa = zone.get_rdataset(origin, "SOA")
    default_ttl = soa[0].minimum if soa else 3600
    records, diagnostics = read_masterfile(path, dns.name.from_text(origin), default_ttl)
    assert errors(diagnostics) == []
    assert expected, "the oracle read nothing: wrong origin?"
    assert _rdatasets(records) == expected


def test_generic_rdata_with_tabs_matches_dnspython(tmp_path: Path) -> None:
    relative = "ldns/test/29-generic-rdata-tab.tpkg/29-generic-rdata-tab.db"
    if not (CORPORA / relative).is_file():
        pytest.skip("corpus not available")
    _, diagnostics = read_masterfile(CORPORA / relative, dns.name.from_text("example."), 60)
    assert [where(d) for d in diagnostics] == [("bad-class", 1, 12)]
    path = _edited_copy(tmp_path, relative)
    zone = dns.zone.from_text(
        "$TTL 60\n" + path.read_text(), "example.", relativize=False, check_origin=False
    )
    records, diagnostics = read_masterfile(path, dns.name.from_text("example."), 60)
    assert [d.rule for d in diagnostics] == ["no-ttl"]  # the file has no $TTL
    assert _rdatasets(records) == _oracle(zone)


def test_dnspython_example_with_rejected_ech_values(tmp_path: Path) -> None:
    path = CORPORA / "dnspython" / "tests" / "example"
    if not path.is_file():
        pytest.skip("corpus not available")
    records, diagnostics = read_masterfile(path, dns.name.from_text("example."), 3600)
    try:
        dns.zone.from_file(str(path), "example.", relativize=False, check_origin=False)
    except dns.exception.SyntaxError:
        # dnspython refuses the file at the first ECH value; we refuse each such record only.
        assert [(d.rule, d.position.line) for d in diagnostics] == [
            ("bad-rdata", 259),
            ("bad-rdata", 267),
        ]
        assert all("ECH" in d.message for d in diagnostics)
    else:
        assert diagnostics == []
    assert len(records) > 100


# Corpus files with records dnspython refuses (one per line): those lines must be
# exactly the ones we report, and the rest must read the same as in dnspython.
ORACLE_WITH_BAD_LINES: list[tuple[str, str]] = [
    # dnspython 2.9 has no presentation format for MINFO, MR and MG, refuses A "\\# 0",
    # and the file (a parser test, not one zone) has names outside the zone.
    ("ldns/test/08-zonereader.tpkg/08-zonereader.inputzone", "jelte.nlnetlabs.nl."),
    ("ldns/test/08-zonereader.tpkg/08-zonereader.outputzone", "jelte.nlnetlabs.nl."),
]


@pytest.mark.parametrize(
    ("relative", "origin"), ORACLE_WITH_BAD_LINES, ids=[z[0] for z in ORACLE_WITH_BAD_LINES]
)
def test_same_verdict_as_dnspython_record_by_record(
    tmp_path: Path, relative: str, origin: str
) -> None:
    source = CORPORA / relative
    if not source.is_file():
        pytest.skip("corpus not available")
    records, diagnostics = read_masterfile(source, dns.name.from_text(origin), 3600)
    assert {d.rule for d in diagnostics} <= {"bad-rdata", "out-of-zone"}
    bad = {d.position.line for d in diagnostics}
    lines = source.read_text(encoding="utf-8").split("\n")
    for number in sorted(bad):  # each refused line is refused (or dropped) by dnspython too
        try:
            alone = dns.zone.from_text(
                lines[number - 1] + "\n", origin, relativize=False, check_origin=False
            )
        except Exception:  # refused, as expected
            continue
        assert not alone.nodes, f"dnspython accepts line {number}"
    kept = tmp_path / "kept.db"
    kept.write_text("\n".join(t for n, t in enumerate(lines, 1) if n not in bad), encoding="utf-8")
    zone = dns.zone.from_file(str(kept), origin, relativize=False, check_origin=False)
    assert _rdatasets(records) == _oracle(zone)


@pytest.mark.parametrize("relative", sorted(ORACLE_DIFFERENCES))
def test_deliberate_differences_from_dnspython(relative: str) -> None:
    path = CORPORA / relative
    if not path.is_file():
        pytest.skip("corpus not available")
    with pytest.raises(Exception):  # noqa: B017 - dnspython's verdict, whatever its type
        dns.zone.from_file(str(path), "example.", relativize=False, check_origin=False)
    records, diagnostics = read_masterfile(path, dns.name.from_text("example."), 3600)
    assert errors(diagnostics) == []
    www = dns.name.from_text("www.example.")
    assert {r.rdata.rdtype for r in records if r.name == www} == {
        dns.rdatatype.CNAME,
        dns.rdatatype.A,
    }
