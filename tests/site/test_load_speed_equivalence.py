"""The fast paths for zone YAML give exactly what the general path gives.

Two shortcuts make a zone of a million YAML records load quickly: a line
reader for flat zone files instead of PyYAML's nodes
(:func:`zonesmith.site.flat_yaml.read_flat_zone`), and records made directly from the
plain forms ``TYPE RDATA`` and ``TTL TYPE RDATA`` (in
:meth:`zonesmith.site.zone_sources.ZonesSection.materialize`). Each must give the same records,
diagnostics and positions as the general path, or leave the input to it.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zonesmith.diagnostics import sort_diagnostics
from zonesmith.site import yaml_nodes, zone_sources
from zonesmith.site.flat_yaml import read_flat_zone
from zonesmith.site.loader import Loader, load_site
from zonesmith.site.yaml_nodes import SourceFile

ORIGIN = "zone.example."
SITE = """\
defaults:
  ttl: 1h
  soa: {primary: ns1.example.net., contact: hostmaster@example.net}
views:
  inside: {clients: [10.0.0.0/8]}
  outside: {clients: [any]}
sets:
  common: {'@': [MX 10 mail, 'TXT "v=spf1 -all"'], mail: 300 A 192.0.2.25}
zones:
  zone.example: {include: [common]}
"""

# Pieces that YAML, names or records treat specially, mixed with ordinary ones.
TRICKY = " :#'\"-?,[]{}&*!|>%@`~\\.\t"

USUAL_OWNERS = ["@", "www", "h0", "_dmarc", "*.dev", "a.b", "www.zone.example.", "mail"]
ODD_OWNERS = [
    "a..b",
    ".a",
    "x" * 64,
    "other.org.",
    "WWW.Zone.Example.",
    "-x",
    "a b",
    "a\\.b",
    "a\\065",
    "1",
    "null",
    "~",
    "yes",
    "a:b",
    "a#b",
    "a'b",
    "é",
]
odd_owners = st.one_of(
    st.sampled_from(ODD_OWNERS), st.text("abz09_-." + TRICKY, min_size=0, max_size=8)
)

USUAL_RECORDS = [
    "A 192.0.2.1",
    "a 10.0.0.1",
    "3600 A 10.1.2.3",
    "0300 AAAA 2001:db8::1",
    "AAAA 2001:DB8:0:0::1",
    "AAAA ::ffff:1.2.3.4",
    "CNAME www",
    "cname www.zone.example.",
    "CNAME www.other.org.",
    "MX 10 mail",
    "MX 70000 mail",
    'TXT "v=spf1 -all"',
    "TXT hello world",
    'TXT "a" "b"',
    'TXT "' + "x" * 300 + '"',
    "SRV 10 5 5060 sip",
    "NS ns1.example.net.",
    "PTR host",
    "SOA ns1 host 1 2 3 4 5",
    "IN A 10.0.0.1",
    "3600 IN A 10.0.0.1",
    "1h A 10.0.0.1",
    "2147483648 A 1.2.3.4",
    "A 999.1.1.1",
    "AAA 1.2.3.4",
    "ANY 1.2.3.4",
    "A",
    "A  1.2.3.4",
    'CAA 0 issue "letsencrypt.org"',
    "HINFO a b",
]
ODD_RECORDS = [
    "AAAA 2001:db8::",
    'TXT "a #b"',
    "99999999999 A 1.2.3.4",
    "",
    " A 1.2.3.4",
    "A 1.2.3.4 ",
    "A\t1.2.3.4",
    "A 1.2.3.4 # c",
    "A 1.2.3.4: x",
    "~",
    "null",
]
usual_records = st.one_of(
    st.sampled_from(USUAL_RECORDS),
    st.builds(
        lambda kind, data: f"{kind} {data}",
        st.sampled_from(["A", "AAAA", "CNAME", "TXT", "MX", "3600 A", "txt", "Mx"]),
        st.text("0129.:abf_-", min_size=1, max_size=16),
    ),
)
odd_records = st.one_of(
    st.sampled_from(ODD_RECORDS),
    st.builds(
        lambda kind, data: f"{kind} {data}",
        st.sampled_from(["A", "AAAA", "CNAME", "TXT", "MX", "3600 A", "txt", "Mx"]),
        st.text("0129.:abf \"'#;\\-" + TRICKY, max_size=16),
    ),
    st.text("A 19.:" + TRICKY, max_size=10),
)
owners = st.one_of(st.sampled_from(USUAL_OWNERS), odd_owners)
record_texts = st.one_of(usual_records, odd_records)


def single_quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def double_quoted(text: str) -> str:
    return '"' + text + '"'  # unescaped on purpose: backslashes and quotes stay subtle


PLAIN_KEY = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")


@st.composite
def zone_yaml(draw: st.DrawFn) -> str:
    """Zone files from flat and well formed to anything goes, with odd lines among them.

    ``oddness`` 0 writes what generated zones look like (the fast reader's
    case), 1 slips in an odd choice now and then, 2 mixes everything.
    """
    oddness = draw(st.sampled_from([0, 0, 1, 2]))

    def pick(usual: list[str], odd: list[str]) -> str:
        if oddness == 0 or (oddness == 1 and draw(st.integers(0, 7))):
            return draw(st.sampled_from(usual))
        return draw(st.sampled_from(usual + odd))

    def owner() -> str:
        if oddness == 0 or (oddness == 1 and draw(st.integers(0, 7))):
            return draw(st.sampled_from(USUAL_OWNERS))
        return draw(owners)

    def record() -> str:
        if oddness == 0 or (oddness == 1 and draw(st.integers(0, 7))):
            return draw(usual_records)
        return draw(record_texts)

    def scalar(text: str, key: bool = False) -> str:
        if oddness == 0 and key:
            return text if PLAIN_KEY.fullmatch(text) else single_quoted(text)
        style = pick(["plain", "plain", "single"], ["double", "single", "plain"])
        if style == "single":
            return single_quoted(text)
        if style == "double":
            return double_quoted(text)
        return text

    lines: list[str] = []
    for _ in range(draw(st.integers(0, 8))):
        kind = pick(
            ["value", "value", "value", "flow", "block", "comment", "blank"], ["junk", "map"]
        )
        key = scalar(owner(), key=True)
        colon = pick([": "], [":  ", " : ", ":", ":\t"])
        tail = pick(["", "", "", " # note"], [" ", "#note", "  #", "\t#"])
        if kind == "value":
            lines.append(f"{key}{colon}{scalar(record())}{tail}")
        elif kind == "flow":
            items = [scalar(record()) for _ in range(draw(st.integers(0, 3)))]
            comma = pick([", "], [",", " , "])
            inner = comma.join(items) + pick([""], [",", " "])
            lines.append(f"{key}{colon}[{inner}]{tail}")
        elif kind == "block":
            lines.append(f"{key}{colon.rstrip()}{tail}")
            indent = draw(st.sampled_from([0, 2, 2, 4]))
            for _ in range(draw(st.integers(0 if oddness else 1, 3))):
                shift = int(pick(["0"], ["1", "-1"]))
                dash = pick(["- "], ["-  ", "-", "-\t"])
                item = scalar(record())
                end = pick(["", tail], ["\t"])
                lines.append(" " * max(indent + shift, 0) + dash + item + end)
                if draw(st.integers(0, 3)) == 0:
                    lines.append(pick(["", "  # c", "#c"], ["   ", "\t"]))
        elif kind == "comment":
            lines.append(pick(["# c", "  # c", "#"], [" #: x", "\t# c"]))
        elif kind == "blank":
            lines.append(pick(["", " ", "   "], ["\t"]))
        elif kind == "map":
            lines.append(f"{key}: {{ttl: 5m, records: [{record()}]}}")
        else:
            lines.append(
                draw(
                    st.one_of(
                        st.sampled_from(
                            [
                                "---",
                                "...",
                                "  continued",
                                "- item",
                                "%YAML 1.1",
                                "key: |",
                                "&a x: y",
                                "? x",
                                "x: *a",
                                "x: !!str A 1.2.3.4",
                                "'unterminated: A 1.2.3.4",
                                "x: 'multi",
                                "  line'",
                                "x: [A 1.2.3.4,",
                                "  A 1.2.3.5]",
                                "x: A 1.2.3.4\r",
                                "\ufeffx: A 1.2.3.4",
                            ]
                        ),
                        st.text("ab: -#'\"[]\t\r" + TRICKY, max_size=12),
                    )
                )
            )
    return "\n".join(lines) + pick(["\n"], ["", "\n\n"])


_folder = Path(tempfile.mkdtemp(prefix="zonesmith-equivalence-"))


def zone_specs(
    text: str, fast: bool, yaml_loader: type, monkeypatch: pytest.MonkeyPatch
) -> tuple[list, list]:
    path = _folder / "zone.example.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    loader = Loader(_folder)
    with monkeypatch.context() as patch:
        patch.setattr(yaml_nodes, "_yaml_loader", lambda: yaml_loader)
        if not fast:
            patch.setattr(zone_sources, "read_flat_zone", lambda data, display: None)
        specs = list(loader.zone_specs(path, "zone.example.yaml", "zone zone.example"))
    return specs, loader.diagnostics


# libyaml (what zonesmith uses when PyYAML has it) and PyYAML's own parser differ
# on some corners; the fast reader leaves all of those to them.
YAML_LOADERS = [yaml.SafeLoader] + ([yaml.CSafeLoader] if yaml.__with_libyaml__ else [])


@pytest.mark.parametrize("yaml_loader", YAML_LOADERS, ids=lambda loader: loader.__name__)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=zone_yaml())
def test_flat_reader_gives_what_pyyaml_gives(yaml_loader: type, text: str) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        general = zone_specs(text, False, yaml_loader, monkeypatch)
        fast = zone_specs(text, True, yaml_loader, monkeypatch)
    assert fast == general
    if read_flat_zone(text.encode("utf-8", "surrogatepass"), "f") is not None:
        # What the fast reader accepts is flat YAML: only repeated keys are reported.
        assert all(d.rule == "duplicate-key" for d in general[1])


@settings(max_examples=1500, deadline=None)
@given(
    specs=st.lists(
        st.tuples(
            owners,
            record_texts,
            st.one_of(st.none(), st.integers(0, 2**31 - 1)),
            st.sampled_from([None, "inside"]),
        ),
        max_size=8,
    ),
    origin=st.sampled_from([ORIGIN, "Zone.Example.", "a\\.b.example.", "."]),
)
def test_fast_records_are_the_general_records(
    specs: list[tuple[str, str, int | None, str | None]], origin: str
) -> None:
    full = [
        (owner, n + 1, 1, text, n + 1, 5, ttl, view, "z.yaml")
        for n, (owner, text, ttl, view) in enumerate(specs)
    ]
    fast_loader = Loader(Path("."))
    fast = list(fast_loader.materialize(full, origin, 3600, "zone"))
    general_loader = Loader(Path("."))
    general = [general_loader.record(spec, origin, 3600, "zone") for spec in full]
    assert fast == [record for record in general if record is not None]
    assert [record.parsed for record in fast] == [
        record.parsed for record in general if record is not None
    ]
    assert fast_loader.diagnostics == general_loader.diagnostics


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=zone_yaml())
def test_a_site_loads_the_same_either_way(
    text: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    (site / "zones").mkdir(parents=True, exist_ok=True)
    (site / "zonesmith.yaml").write_text(SITE)
    (site / "zones" / "zone.example.yaml").write_bytes(text.encode("utf-8", "surrogatepass"))
    fast_site, fast_diagnostics = load_site(site)
    with monkeypatch.context() as patch:
        patch.setattr(zone_sources, "read_flat_zone", lambda data, display: None)
        patch.setattr(zone_sources, "_FAST_TYPE_CODES", {})
        general_site, general_diagnostics = load_site(site)
    assert fast_site.zones[0].records == general_site.zones[0].records
    assert sort_diagnostics(fast_diagnostics) == sort_diagnostics(general_diagnostics)
    assert fast_diagnostics == general_diagnostics


def test_generated_zones_take_the_fast_path() -> None:
    lines = [
        "'@': [NS ns1.example.net., NS ns2.example.net.]",
        "h0: 'A 10.0.0.0'",
        "h1: A 10.0.0.1",
        "v0: AAAA 2001:db8::10",
        "_dmarc: 'TXT \"v=DMARC1; p=reject\"'",
        "mail: 300 A 192.0.2.25  # the relay",
        "web:",
        "  - A 192.0.2.80",
        "  - 'AAAA 2001:db8::80'",
        "# the end",
    ]
    text = "\n".join(lines) + "\n"
    result = read_flat_zone(text.encode(), "z.yaml")
    assert result is not None
    specs, duplicates = result
    assert duplicates == []
    loader = Loader(Path("."))
    source = SourceFile(Path("z.yaml"), "z.yaml")
    general = list(loader.record_specs(source, yaml.compose(text), "zone z"))
    assert specs == general
    assert [(s[0], s[3], s[4], s[5]) for s in specs][:3] == [
        ("@", "NS ns1.example.net.", 1, 7),
        ("@", "NS ns2.example.net.", 1, 28),
        ("h0", "A 10.0.0.0", 2, 6),
    ]


@pytest.mark.parametrize("quote", ["", "'"])
@pytest.mark.parametrize("length", [999, 1000, 1023, 1024, 1025, 1100])
def test_long_keys_are_left_to_pyyaml(quote: str, length: int) -> None:
    # libyaml takes an implicit key of at most 1024 characters.
    text = f"{quote}{'a' * length}{quote}: A 192.0.2.1\nb: A 192.0.2.2\n"
    with pytest.MonkeyPatch.context() as monkeypatch:
        for yaml_loader in YAML_LOADERS:
            general = zone_specs(text, False, yaml_loader, monkeypatch)
            assert zone_specs(text, True, yaml_loader, monkeypatch) == general
