"""YAML nested deeper than any site is refused with one error, never a crash of PyYAML."""

from __future__ import annotations

from pathlib import Path

import pytest
from sites import BASE_CONFIG, ONE_PRIMARY, write_site, zonesmith

from zonesmith.pipeline import check_site
from zonesmith.site.yaml_nodes import MAX_NESTING, nesting_problem

DEEP = 100_000  # PyYAML's C composer overflows the stack on this (exit 139)

#: (what, a zonesmith.yaml nested DEEP levels)
HOSTILE = [
    ("flow lists", "defaults: " + "[" * DEEP + "]" * DEEP + "\n"),
    ("flow mappings", "defaults: " + "{a: " * DEEP + "b" + "}" * DEEP + "\n"),
    ("compact sequences", "defaults:\n  " + "- " * DEEP + "x\n"),
    ("compact keys", "defaults:\n  " + "? " * DEEP + "x\n"),
    ("block mappings", "".join(" " * i + "k:\n" for i in range(2000)) + " " * 2000 + "x\n"),
]


@pytest.mark.parametrize(("what", "text"), HOSTILE, ids=[what for what, _ in HOSTILE])
def test_deep_site_file_is_one_error(tmp_path: Path, what: str, text: str) -> None:
    (tmp_path / "zonesmith.yaml").write_text(text)
    run = zonesmith("check", tmp_path)
    assert run.returncode == 1, (what, run.returncode, run.stderr[-500:])
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    lines = [line for line in run.stdout.splitlines() if "yaml-too-deep" in line]
    assert len(lines) == 1 and lines[0].startswith(f"{tmp_path}/zonesmith.yaml: error:")


def test_deep_zone_file_is_an_error_at_it(tmp_path: Path) -> None:
    zone = "www:\n  - " + "[" * 5000 + "]" * 5000 + "\n"
    root = write_site(tmp_path, BASE_CONFIG + ONE_PRIMARY, {"example.com.yaml": zone})
    _, diagnostics = check_site(root)
    deep = [d for d in diagnostics if d.rule == "yaml-too-deep"]
    assert [Path(d.position.path).name for d in deep] == ["example.com.yaml"]


def test_octodns_import_of_a_deep_file_is_a_sentence(tmp_path: Path) -> None:
    config = tmp_path / "octodns.yaml"
    config.write_text("providers: " + "[" * DEEP + "]" * DEEP + "\n")
    run = zonesmith("import", "octodns", config, "--site", tmp_path / "site")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    assert "[yaml-too-deep]" in run.stdout + run.stderr
    assert not (tmp_path / "site" / "zonesmith.yaml").exists()


def test_the_bound_is_exact_for_brackets() -> None:
    assert nesting_problem(b"a: " + b"[" * MAX_NESTING + b"]" * MAX_NESTING) is None
    assert nesting_problem(b"a: " + b"{" * MAX_NESTING + b"}" * (MAX_NESTING + 1)) is None
    deeper = b"a: " + b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1)
    assert nesting_problem(deeper) is not None


def test_real_sites_stay_silent(tmp_path: Path) -> None:
    # Brackets and dashes in quoted strings, flow lists side by side, a few
    # levels of block nesting: nothing a site writes comes near the bound.
    zone = (
        "ns1: A 192.0.2.53\n"
        'txt1: TXT "' + "[" * 300 + '"\n'
        'txt2: TXT "' + "]" * 300 + '"\n'
        'txt3: TXT "' + "- " * 60 + '"\n'
        'www:\n  - A 192.0.2.1\n  - TXT "[a] [b]"\n'
        "mail: [" + ", ".join(f"A 192.0.2.{i}" for i in range(1, 200)) + "]\n"
    )
    config = (
        BASE_CONFIG
        + ONE_PRIMARY
        + "  "
        + "\n  ".join(f"z{i}.example: {{include: [ns]}}" for i in range(50))
        + "\n"
    )
    root = write_site(
        tmp_path,
        config,
        {"example.com.yaml": zone, **{f"z{i}.example.yaml": "" for i in range(50)}},
    )
    _, diagnostics = check_site(root)
    assert not [d for d in diagnostics if d.rule == "yaml-too-deep"]
    assert not [d for d in diagnostics if d.is_error], diagnostics


def test_the_bound_is_exact_for_compact_collections() -> None:
    assert nesting_problem(b"a:\n  " + b"- " * MAX_NESTING + b"x\n") is None
    assert nesting_problem(b"a:\n  " + b"-\t?  " * (MAX_NESTING // 2 + 1) + b"x\n") is not None
    assert nesting_problem(b"a:\n" + b" " * 4 * MAX_NESTING + b"x\n") is None
    assert nesting_problem(b"a:\n" + b" " * (4 * MAX_NESTING + 1) + b"x\n") is not None
