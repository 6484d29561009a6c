"""Record conformance: ``zonesmith check`` accepts exactly the records named-checkzone loads.

The table (record_conformance.txt) has one case per line, one record of
every type dnspython knows, the RFC 3597 generic form and boundary values;
the verdict each case must get is asked of named-checkzone (BIND 9.18) in
the test, and of kzonecheck (Knot) where it is installed. Where the two
disagree, zonesmith follows the choice the README's "Checks" section names
(see KNOT_DIFFERS).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import dns.rdatatype
import pytest

from sites import BASE_CONFIG, write_site
from zonesmith.build import check_site

TABLE = Path(__file__).with_name("record_conformance.txt")
NAMED_CHECKZONE = shutil.which("named-checkzone")
KZONECHECK = shutil.which("kzonecheck")

HEAD = "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n"
SOA = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n"

#: Cases where Knot's verdict differs from BIND's and zonesmith follows BIND
#: (written down in the README's "Checks" section).
KNOT_DIFFERS: frozenset[str] = frozenset()


def cases() -> list[str]:
    lines = TABLE.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def zone_text(case: str) -> str:
    return "".join(record.strip() + "\n" for record in case.split(" || "))


def named_loads(tmp_path: Path, case: str) -> tuple[bool, str]:
    path = tmp_path / "bind.zone"
    path.write_text(SOA + HEAD + zone_text(case))
    run = subprocess.run(
        [NAMED_CHECKZONE, "-q", "example.", str(path)] if False else
        [NAMED_CHECKZONE, "example.", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return run.returncode == 0, run.stdout + run.stderr


def knot_loads(tmp_path: Path, case: str) -> bool:
    path = tmp_path / "knot.zone"
    path.write_text(SOA + HEAD + zone_text(case))
    run = subprocess.run(
        [KZONECHECK, "-o", "example.", str(path)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    return run.returncode == 0


def zonesmith_errors(tmp_path: Path, case: str) -> list[str]:
    site = write_site(
        tmp_path / "site",
        BASE_CONFIG + "zones:\n  example.: {}\n",
        {"example.zone": HEAD + zone_text(case)},
    )
    _, diagnostics = check_site(site)
    return [str(d) for d in diagnostics if d.is_error]
