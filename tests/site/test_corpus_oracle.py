"""BIND's own zone-file test corpora as an oracle for ``zonesmith check``.

Every zone in BIND's checkzone system-test folder and in its master-file loader
test data is used as a zone source of a one-zone site.  ``zonesmith check``
must reject the site exactly when the installed ``named-checkzone``, run with
its default settings, rejects the file, and accept it exactly when
named-checkzone accepts it.  The verdict of named-checkzone is computed live,
never copied from the manifests (which describe BIND's development branch, not
the installed 9.18).

named-checkzone runs in the folder BIND's own tests run it from (the checkzone
folder for ``zones/*.db``, ``tests/dns`` for ``testdata/master/*.data``),
because the corpus writes its ``$INCLUDE`` paths relative to that folder.  The
site gets each included file at the same relative path from the site root and
also from the ``zones/`` folder, so either way of resolving ``$INCLUDE`` finds
it.

Default named-checkzone settings include ``-i full``, which may look up the
addresses of name-server names through the system resolver (three files here
do).  The lookups only ever produce messages, never change the exit code, but
``RES_OPTIONS`` bounds how long an unreachable resolver can stall them.

The zone's SOA comes from the site (an SOA in the file is reported and
replaced).  Re-checking every file that dnspython can parse with its SOA
swapped for the site's changed no verdict of named-checkzone, so no file needs
an exception for that reason.

Files on which zonesmith deliberately differs from named-checkzone are listed
in ``DELIBERATE_DIFFERENCES`` with the reason; they are expected to differ
(xfail on the verdict only; a crash still fails, and an entry whose verdicts
agree shows up as XPASS, a sign the entry is stale).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest
from sites import checkout_env

ROOT = Path(__file__).resolve().parents[2]
CORPORA = ROOT.parent / "shared" / "corpora"
BIND = CORPORA / "bind9"
NAMED_CHECKZONE = shutil.which("named-checkzone")

if NAMED_CHECKZONE is None:
    pytest.skip("named-checkzone (bind9-utils) is not installed", allow_module_level=True)
if not (BIND / "MANIFEST.checkzone.json").is_file():
    pytest.skip(f"BIND corpora not found at {BIND}", allow_module_level=True)

#: corpus file name -> why zonesmith's verdict deliberately differs from named-checkzone's
DELIBERATE_DIFFERENCES: dict[str, str] = {
    "good-occulted-ns-by-ns.db": "an NS record below a delegation: named loads it but never "
    "serves it; zonesmith reports every record below a delegation other than glue",
}

ORACLE_TIMEOUT = 60  # seconds; named-checkzone takes ~10 ms per file here
ZONESMITH_TIMEOUT = 60  # seconds; a hang is a failure (crashzone.db must not hang)

SITE_YAML = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.net., contact: hostmaster@example.net, refresh: 3h, retry: 1h, \
expire: 2w, negative-ttl: 1h}}
zones:
  {origin}: {{}}
"""

# `path:line:col: error: [rule-id] message`
ERROR_DIAGNOSTIC = re.compile(r":\d+:\d+: error: \[[^\]]+\] ")
INCLUDE_DIRECTIVE = re.compile(
    rb'^\$INCLUDE[ \t]+(?:"([^"\r\n]*)"|([^\s;]+))', re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class Case:
    name: str  # corpus file name, unique over both corpora
    origin: str
    base: Path  # the folder BIND's tests run named-checkzone from
    rel: PurePosixPath  # the file, relative to base

    @property
    def path(self) -> Path:
        return self.base / self.rel


def _cases() -> list[Case]:
    cases: list[Case] = []
    checkzone = BIND / "bin" / "tests" / "system" / "checkzone"
    for entry in json.loads((BIND / "MANIFEST.checkzone.json").read_text()):
        cases.append(
            Case(entry["file"], entry["origin"], checkzone, PurePosixPath("zones", entry["file"]))
        )
    master_manifest = BIND / "MANIFEST.master_test.json"
    if master_manifest.is_file():
        for entry in json.loads(master_manifest.read_text()):
            cases.append(
                Case(
                    entry["file"],
                    entry.get("origin", "test"),
                    BIND / "tests" / "dns",
                    PurePosixPath("testdata", "master", entry["file"]),
                )
            )
    # The checkzone manifest lists good1.db twice (with and without `-l 300`);
    # with default settings both are the same check.
    return list(dict.fromkeys(cases))


CASES = _cases()


def _params() -> list:
    params = []
    for case in CASES:
        marks = []
        if case.name in DELIBERATE_DIFFERENCES:
            marks.append(
                pytest.mark.xfail(
                    reason=DELIBERATE_DIFFERENCES[case.name], raises=AssertionError, strict=False
                )
            )
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


def _includes(case: Case) -> list[PurePosixPath]:
    """Files the zone file $INCLUDEs (transitively), relative to the case's base folder.

    Only regular files inside the corpus are returned; `$INCLUDE .` and the like
    are left for the checkers to reject.
    """
    found: list[PurePosixPath] = []
    pending = [case.path]
    seen: set[Path] = set()
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        for match in INCLUDE_DIRECTIVE.finditer(current.read_bytes()):
            raw = (match.group(1) if match.group(1) is not None else match.group(2)).decode(
                "utf-8", "surrogateescape"
            )
            rel = PurePosixPath(raw)
            if rel.is_absolute() or ".." in rel.parts:
                continue
            source = case.base / rel
            if source.is_file():
                found.append(rel)
                pending.append(source)
    return found


def _decode(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _clip(text: str, limit: int = 3000) -> str:
    return text if len(text) <= limit else text[:limit] + "\n[...]"


def named_checkzone_verdict(case: Case) -> tuple[bool, str]:
    """(accepted, output) of `named-checkzone ORIGIN FILE` with default settings."""
    env = {**os.environ, "RES_OPTIONS": "timeout:1 attempts:1"}
    try:
        proc = subprocess.run(
            [NAMED_CHECKZONE, case.origin, str(case.rel)],
            cwd=case.base,
            capture_output=True,
            timeout=ORACLE_TIMEOUT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.skip(f"named-checkzone did not finish within {ORACLE_TIMEOUT}s; no oracle")
    output = _decode(proc.stdout + proc.stderr)
    if proc.returncode not in (0, 1):
        pytest.fail(f"named-checkzone exited {proc.returncode}:\n{output}")
    return proc.returncode == 0, output


def build_site(case: Case, site: Path) -> Path:
    zones = site / "zones"
    zones.mkdir(parents=True)
    (site / "zonesmith.yaml").write_text(SITE_YAML.format(origin=json.dumps(case.origin)))
    zone_file = zones / f"{case.origin}.zone"
    shutil.copyfile(case.path, zone_file)
    for rel in _includes(case):
        for root in (site, zones):
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(case.base / rel, target)
    return zone_file


def zonesmith_check(site: Path) -> tuple[int, str]:
    env = checkout_env()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "zonesmith", "check", str(site)],
            cwd=site,
            capture_output=True,
            timeout=ZONESMITH_TIMEOUT,
            env=env,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"zonesmith check did not finish within {ZONESMITH_TIMEOUT}s")
    return proc.returncode, _decode(proc.stdout) + _decode(proc.stderr)


@pytest.mark.parametrize("case", _params())
def test_verdict_matches_named_checkzone(case: Case, tmp_path: Path) -> None:
    assert case.path.is_file(), f"manifest lists a missing corpus file: {case.path}"
    bind_accepts, bind_output = named_checkzone_verdict(case)

    site = tmp_path / "site"
    build_site(case, site)
    code, output = zonesmith_check(site)

    # A crash is never a verdict, even where a difference is deliberate.
    if "Traceback (most recent call last)" in output:
        pytest.fail(f"zonesmith check crashed on {case.name}:\n{_clip(output)}")
    if code not in (0, 1):
        pytest.fail(f"zonesmith check exited {code} on {case.name}:\n{_clip(output)}")
    if code == 1 and not ERROR_DIAGNOSTIC.search(output):
        pytest.fail(
            f"zonesmith check exited 1 on {case.name} without a "
            f"`path:line:col: error: [rule-id] message` diagnostic:\n{_clip(output)}"
        )

    zonesmith_accepts = code == 0
    verdict = {True: "accepts", False: "rejects"}
    assert zonesmith_accepts == bind_accepts, (
        f"{case.name} (origin {case.origin}): named-checkzone {verdict[bind_accepts]} it, "
        f"zonesmith check {verdict[zonesmith_accepts]} it.\n"
        f"--- named-checkzone {case.origin} {case.rel}\n{_clip(bind_output)}\n"
        f"--- zonesmith check (exit {code})\n{_clip(output)}\n"
        "If the difference is deliberate, add the file with its reason to "
        "DELIBERATE_DIFFERENCES."
    )


def test_deliberate_differences_name_corpus_files_with_reasons() -> None:
    names = {case.name for case in CASES}
    unknown = sorted(set(DELIBERATE_DIFFERENCES) - names)
    assert not unknown, f"DELIBERATE_DIFFERENCES names files not in the corpus: {unknown}"
    unexplained = sorted(name for name, why in DELIBERATE_DIFFERENCES.items() if not why.strip())
    assert not unexplained, f"DELIBERATE_DIFFERENCES entries without a reason: {unexplained}"


def test_corpus_is_complete() -> None:
    assert len({case.name for case in CASES}) == len(CASES), "corpus file names are not unique"
    assert len(CASES) >= 150, f"expected 171 corpus zones, found {len(CASES)}"
