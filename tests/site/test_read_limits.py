"""Lines and records longer than DNS allows are refused while reading, before memory is spent."""

from __future__ import annotations

import random
from pathlib import Path

import dns.name
import pytest
from sites import BASE_CONFIG, write_site, zonesmith_bounded

from zonesmith.site.limits import MAX_LINE_BYTES, MAX_SITE_FILE_BYTES, _without_long_lines
from zonesmith.site.masterfile.reader import read_masterfile

CONFIG = BASE_CONFIG + "zones:\n  example.com: {}\n"
APEX = "@ 3600 NS ns1.example.com.\nns1 A 192.0.2.1\n"  # a TTL: no no-ttl warning
# The checks run with this much address space: a reader that holds a long line,
# or the text and tokens made of it, fails with MemoryError.
MEMORY = 384 << 20


def check_zone(
    tmp_path: Path, name: str, head: str, middle: bytes, tail: str
) -> tuple[Path, list[str]]:
    """A site whose zone file ``name`` is ``head``, a line ``middle`` written in pieces,
    and ``tail``; and what ``check`` prints about it with bounded memory."""
    site = write_site(tmp_path / "site", CONFIG)
    (site / "zones").mkdir()
    with open(site / "zones" / name, "wb") as zone:
        zone.write(head.encode())
        for start in range(0, len(middle), 1 << 24):
            zone.write(middle[start : start + (1 << 24)])
        zone.write(tail.encode())
    run = zonesmith_bounded("check", site, memory=MEMORY, timeout=60)
    assert not run.stderr
    return site, run.stdout.splitlines()


@pytest.mark.parametrize(
    ("name", "head", "record", "size", "what"),
    [
        ("example.com.zone", APEX, 'big TXT "{}"', 200_000_000, "record"),
        (
            "example.com.yaml",
            "'@': NS ns1.example.com.\nns1: A 192.0.2.1\n",
            "big: 'TXT \"{}\"'",
            50_000_000,
            "value",
        ),
    ],
    ids=["200 MB TXT in a master file", "50 MB TXT in a YAML zone"],
)
def test_a_huge_txt_record_is_refused_at_its_line_with_bounded_memory(
    tmp_path: Path, name: str, head: str, record: str, size: int, what: str
) -> None:
    before, after = record.encode().split(b"{}")
    line = before + b"a" * size + after + b"\n"
    site, lines = check_zone(tmp_path, name, head, line, "")
    assert lines == [
        f"{site}/zones/{name}:3:1: error: [line-too-long] line longer than 1 MiB: "
        f"no {what} is that long (a record holds at most 65535 octets); the line is skipped",
        f"{site}: 1 error, 0 warnings",
    ]


def test_a_10_mb_bad_line_is_refused_and_the_lines_after_it_keep_their_numbers(
    tmp_path: Path,
) -> None:
    bad = b"bad " + b"x " * 5_000_000 + b"\n"
    site, lines = check_zone(tmp_path, "example.com.zone", APEX, bad, "after A 1\n")
    assert [line.split(" [")[1].split("]")[0] for line in lines[:2]] == [
        "line-too-long",
        "bad-rdata",
    ]
    assert lines[0].startswith(f"{site}/zones/example.com.zone:3:1: ")
    assert lines[1].startswith(f"{site}/zones/example.com.zone:4:9: ")


def test_a_zonesmith_yaml_larger_than_the_limit_is_refused(tmp_path: Path) -> None:
    site = write_site(tmp_path / "site", CONFIG)
    with open(site / "zonesmith.yaml", "r+b") as config:
        config.truncate(MAX_SITE_FILE_BYTES + 1)  # sparse
    run = zonesmith_bounded("check", site, memory=MEMORY, timeout=30)
    assert run.stdout.splitlines()[0] == (
        f"{site}/zonesmith.yaml: error: [file-too-big] cannot read: it is larger than "
        "64 MiB, the most a zonesmith.yaml may hold"
    ), run.stderr


def test_a_parenthesised_record_over_unbounded_lines_is_refused(tmp_path: Path) -> None:
    words = "a " * 50 + "\n"
    count = 2 * MAX_LINE_BYTES // len(words)
    (tmp_path / "zone.db").write_text(
        "ns1 60 A 192.0.2.1\nbig TXT (\n" + words * count + ")\nafter A 192.0.2.2\n"
    )
    origin = dns.name.from_text("example.com.")
    records, diagnostics = read_masterfile(tmp_path / "zone.db", origin, 60, display_path="z")
    assert [(d.rule, str(d.position)) for d in diagnostics] == [("record-too-long", "z:2:9")]
    assert [record[0] for record in records] == ["ns1.example.com.", "after.example.com."]
    assert records[1].position.line == count + 4


def test_a_record_within_the_limits_is_still_read(tmp_path: Path) -> None:
    # Long record texts pass: 60,000 octets of TXT as \DDD escapes (240,000
    # characters), over parenthesised lines and on one line.
    strings = ['"' + "\\097" * 250 + '"' for _ in range(240)]
    (tmp_path / "zone.db").write_text(
        "big 60 TXT (\n" + "\n".join(strings) + " )\n" + "one TXT " + " ".join(strings) + "\n"
    )
    origin = dns.name.from_text("example.com.")
    records, diagnostics = read_masterfile(tmp_path / "zone.db", origin, 60)
    assert diagnostics == []
    assert [record[0] for record in records] == ["big.example.com.", "one.example.com."]


def test_long_lines_are_left_out_wherever_the_reads_split_the_file() -> None:
    # Compared with the plain reading of the same bytes, for any split into reads.
    generator = random.Random(13)
    limit = MAX_LINE_BYTES
    for _ in range(40):
        lines = [
            b"x" * generator.choice((0, 1, 5, limit - 1, limit, limit + 1, 3 * limit))
            for _ in range(generator.randint(0, 8))
        ]
        data = b"\n".join(lines) + generator.choice((b"", b"\n"))
        cuts = sorted(generator.sample(range(len(data) + 1), min(len(data) + 1, 4)))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        content = _without_long_lines(chunks)
        expected = data.split(b"\n")
        long_lines = [n for n, line in enumerate(expected, 1) if len(line) > limit]
        assert content.long_lines == long_lines
        assert content.data.split(b"\n") == [
            b"" if len(line) > limit else line for line in expected
        ]
