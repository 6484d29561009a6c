"""Each driver's one quoting function: what its software reads back is the value, or it refuses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from servers import find_binary, requires

from zonesmith.drivers import Unquotable, bind, knot, nsd, unbound

QUOTES = {"bind": bind.quote, "knot": knot.quote, "nsd": nsd.quote, "unbound": unbound.quote}


@pytest.mark.parametrize("software", sorted(QUOTES))
@pytest.mark.parametrize("value", ["k\n    provide-xfr: 0.0.0.0/0 NOKEY", "a\rb", "a\x00b", "a\tb"])
def test_no_software_gets_a_control_character(software: str, value: str) -> None:
    with pytest.raises(Unquotable):
        QUOTES[software](value)


@pytest.mark.parametrize("software", ["nsd", "unbound"])
@pytest.mark.parametrize("value", ['a"b', "a\\b"])
def test_formats_without_escapes_refuse_quotes_and_backslashes(software: str, value: str) -> None:
    with pytest.raises(Unquotable):
        QUOTES[software](value)


@pytest.mark.parametrize("software", sorted(QUOTES))
def test_plain_values_are_written_as_they_are(software: str) -> None:
    assert QUOTES[software]("/srv/dns/ns1/keys.conf") == '"/srv/dns/ns1/keys.conf"'


@requires("named-checkconf")
def test_bind_reads_an_escaped_string_back_as_one_value(tmp_path: Path) -> None:
    value = 'a"b\\c; } zone "x'
    conf = tmp_path / "named.conf"
    conf.write_text(f"options {{ version {bind.quote(value)}; }};\n")
    run = subprocess.run(
        [find_binary("named-checkconf"), "-p", str(conf)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert 'version "a\\"b\\\\c; } zone \\"x";' in run.stdout
    assert "zone" not in run.stdout.replace('zone \\"x', "")


@requires("knotc")
def test_knot_reads_an_escaped_string_as_one_value(tmp_path: Path) -> None:
    conf = tmp_path / "knot.conf"
    identity = knot.quote('a"b: c # d\\')
    conf.write_text(f"server:\n    rundir: {knot.quote(str(tmp_path))}\n    identity: {identity}\n")
    run = subprocess.run(
        [find_binary("knotc"), "-c", str(conf), "conf-check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
