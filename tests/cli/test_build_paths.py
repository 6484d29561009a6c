"""``zonesmith build`` typed as users type it: relative and absolute SITE and OUT,
from inside and outside the site, with the servers' checkers installed and without.

The site is the repository's own examples/ (the README's first command). The
checkers are taken away by ZONESMITH_TOOL_PATH naming an empty folder: the
tools are then looked up there only (see zonesmith.drivers.find_tool).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from servers import requires
from sites import ROOT, checkout_env, ok, zonesmith

CHECKERS = ("named-checkconf", "nsd-checkconf", "knotc", "unbound-checkconf")
SERVERS = ("ns1", "ns2", "ns3", "res1")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A fresh copy of the examples site in ``tmp_path/examples``."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("out"))
    return tmp_path


def no_checkers(tmp_path: Path) -> dict[str, str]:
    empty = tmp_path / "no-tools"
    empty.mkdir(exist_ok=True)
    return {**checkout_env(), "ZONESMITH_TOOL_PATH": str(empty)}


def wrote_every_server(out: Path) -> None:
    for server in SERVERS:
        assert (out / server).is_dir(), server


@requires(*CHECKERS)
@pytest.mark.parametrize(
    ("cwd", "site", "out", "written"),
    [
        # The README's first command, from the clone's top.
        (".", "examples", "examples/out", "examples/out"),
        # SITE defaulting to ".", OUT to SITE/out.
        ("examples", None, None, "examples/out"),
        ("examples", ".", "../built", "built"),
        ("examples/zones", "..", "out", "examples/zones/out"),
        ("/", "{root}/examples", "{root}/abs-out", "abs-out"),
        ("examples", "{root}/examples", "rel-out", "examples/rel-out"),
    ],
)
def test_build_passes_the_checkers_from_anywhere(
    clone: Path, cwd: str, site: str | None, out: str | None, written: str
) -> None:
    args: list[str] = ["build"]
    if site is not None:
        args.append(site.format(root=clone))
    if out is not None:
        args += ["-o", out.format(root=clone)]
    run = ok(zonesmith(*args, cwd=clone / cwd))
    assert ": error: " not in run.stdout and " 0 errors, 0 warnings" in run.stdout
    assert not any(checker in run.stderr for checker in CHECKERS), run.stderr
    wrote_every_server(clone / written)
    if out is not None and not out.startswith("{root}"):
        # Diagnostics and the report show the paths as the user typed them.
        assert f"wrote {Path(out) / 'ns1'}/" in run.stdout


def test_build_without_checkers_says_once_which_checks_were_skipped(clone: Path) -> None:
    run = ok(
        zonesmith("build", "examples", "-o", "examples/out", cwd=clone, env=no_checkers(clone))
    )
    wrote_every_server(clone / "examples" / "out")
    notices = [line for line in run.stderr.splitlines() if "skipped" in line]
    assert len(notices) == 1, run.stderr
    for checker, server in [
        ("named-checkconf", "ns1"),
        ("nsd-checkconf", "ns2"),
        ("knotc", "ns3"),
        ("unbound-checkconf", "res1"),
    ]:
        assert f"{checker} for {server}" in notices[0]
    assert "skipped" not in run.stdout


def test_build_json_carries_the_skipped_checks(clone: Path) -> None:
    run = ok(zonesmith("build", "--json", cwd=clone / "examples", env=no_checkers(clone)))
    result = json.loads(run.stdout)
    assert result["ok"]
    skipped = {(c["checker"], c["server"]) for c in result["skipped_checks"]}
    assert {("named-checkconf", "ns1"), ("unbound-checkconf", "res1")} <= skipped
    assert {server for _, server in skipped} == set(SERVERS)


@requires(*CHECKERS)
def test_build_with_checkers_skips_none_of_them(clone: Path) -> None:
    run = ok(zonesmith("build", "--json", cwd=clone / "examples"))
    skipped = {c["checker"] for c in json.loads(run.stdout)["skipped_checks"]}
    assert not skipped & set(CHECKERS)
