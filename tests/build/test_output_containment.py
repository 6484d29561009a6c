"""The second line of defence: nothing is written outside the output, whatever reaches it."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site

from zonesmith.diagnostics import SiteError
from zonesmith.drivers import OutputFile
from zonesmith.output.tree import write_tree
from zonesmith.pipeline import _render, build_site, read_secrets
from zonesmith.site.loader import load_site


def write(tmp_path: Path, files: dict[str, OutputFile]) -> SiteError | None:
    staging, out = tmp_path / "out" / ".staging", tmp_path / "out" / "tree"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        write_tree(staging, dict(files), out, {}, 0)
    except SiteError as refused:
        return refused
    return None


@pytest.mark.parametrize(
    "relative",
    [
        "ns1/../../../escaped.conf",
        "/tmp/escaped.conf",
        "ns1/./x",
        "ns1//x",
        ".zonesmith-output",
        "ns1/\x00x",
        "../escaped/",
    ],
)
def test_a_path_leaving_the_output_is_refused_as_a_diagnostic(
    tmp_path: Path, relative: str
) -> None:
    refused = write(tmp_path, {"ns1/named.conf": OutputFile(b"ok\n"), relative: OutputFile(b"x")})
    assert refused is not None
    assert [d.rule for d in refused.diagnostics] == ["path-outside-output"]
    assert "nothing was written" in refused.diagnostics[0].message
    assert not list(tmp_path.rglob("escaped*"))
    assert not (tmp_path / "out" / ".staging" / "ns1").exists()


def test_a_folder_linked_out_of_the_output_is_replaced_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir(mode=0o700)
    staging = tmp_path / "out" / ".staging"
    (staging / "ns1").mkdir(parents=True)
    os.symlink(outside, staging / "ns1" / "secondary")
    os.symlink(outside, staging / "ns1" / "zones")
    files = {
        "ns1/named.conf": OutputFile(b"ok\n"),
        "ns1/secondary/": OutputFile(b"", 0o755),
        "ns1/zones/a.zone": OutputFile(b"z\n"),
    }
    assert write(tmp_path, files) is None
    assert not (staging / "ns1" / "secondary").is_symlink()
    assert not (staging / "ns1" / "zones").is_symlink()
    assert outside.stat().st_mode & 0o777 == 0o700 and not list(outside.iterdir())


def test_paths_inside_the_output_are_written(tmp_path: Path) -> None:
    files = {"ns1/named.conf": OutputFile(b"ok\n"), "ns1/zones/a.zone": OutputFile(b"z\n")}
    assert write(tmp_path, files) is None
    assert (tmp_path / "out" / ".staging" / "ns1" / "zones" / "a.zone").read_bytes() == b"z\n"


def test_a_value_a_configuration_cannot_carry_is_a_diagnostic_not_a_traceback(
    tmp_path: Path,
) -> None:
    site_root = write_site(
        tmp_path / "site",
        BASE_CONFIG
        + "servers:\n  ns1: {software: nsd, role: primary, address: 127.0.0.1, path: /srv/ns1}\n"
        + "sets:\n  ns: {'@': [NS ns1.example.com.]}\nzones:\n  example.com: {include: [ns]}\n",
        {"example.com.yaml": "ns1: A 192.0.2.1\n"},
    )
    build_site(site_root, tmp_path / "out", server_checks=False)  # the sound site builds
    site, _ = load_site(site_root)
    # Past the checks of loading: what a bug there would let through.
    hostile = dataclasses.replace(site.servers[0], path='/srv/ns1"\n    provide-xfr: 0.0.0.0/0')
    site = dataclasses.replace(site, servers=(hostile,))
    with pytest.raises(SiteError) as refused:
        _render(site, read_secrets(site), {}, None)
    [diagnostic] = refused.value.diagnostics
    assert diagnostic.rule == "unquotable-value"
    assert (diagnostic.position.line, diagnostic.position.column) == (5, 3)
    assert "\n" not in diagnostic.message
