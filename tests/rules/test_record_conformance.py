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

from zonesmith.diagnostics import Diagnostic
from zonesmith.pipeline import check_site

TABLE = Path(__file__).with_name("record_conformance.txt")
NAMED_CHECKZONE = shutil.which("named-checkzone")
KZONECHECK = shutil.which("kzonecheck")

HEAD = "$TTL 300\n@ NS ns1\nns1 A 192.0.2.1\n"
SOA = "@ SOA ns1 hostmaster 1 3600 600 86400 300\n"
ZONE_FILE = "zones/example.zone"

#: Cases (by their first owner) on which Knot 3.2's kzonecheck and named-checkzone
#: disagree; zonesmith follows BIND (README.md, "Checks"). Consulted only where
#: kzonecheck is installed.
_KNOT_UNKNOWN = "a type or SVCB key Knot's zone parser does not read in this form"
KNOT_DIFFERS: dict[str, str] = {
    **dict.fromkeys(
        (
            "a6",
            "amtrelay",
            "avc",
            "brid",
            "dlv",
            "dsync",
            "gpos",
            "hhit",
            "hip",
            "isdn",
            "mb",
            "mg",
            "mr",
            "ninfo",
            "nsap",
            "nsap-ptr",
            "null",
            "nxt",
            "px",
            "resinfo",
            "sig",
            "ta",
            "unspec",
            "wallet",
            "wks",
            "x25",
            "svcb-ech-empty",
            "svcb-dohpath-ok",
        ),
        _KNOT_UNKNOWN,
    ),
    **dict.fromkeys(
        (
            *("g6", "g7", "type0", "cds", "cds-del3", "zonemd-short", "zonemd-sha384-short"),
            *("cds-nodigest", "cdnskey-nokey", "dnskey-nokey", "key-nokey", "dlv-nodigest"),
        ),
        "Knot does not check the length or layout of this RDATA; BIND refuses it",
    ),
    **dict.fromkeys(
        ("g11", "wks-empty", "nsap-short"),
        "empty or short RDATA BIND loads and Knot's parser refuses",
    ),
    **dict.fromkeys(
        ("eui48-short", "eui48-garbage", "eui48-big", "eui64-short", "eui64-garbage"),
        "EUI48/EUI64 written as BIND 9.18 reads them (sscanf); Knot wants RFC 7043's form",
    ),
    "txt256": "Knot splits a TXT string longer than 255 octets; BIND refuses it",
    "soa": "Knot loads an SOA below the apex; BIND refuses it",
    "svcb-nodefault": "no-default-alpn without alpn: BIND refuses it (RFC 9460 7.1.1)",
    "nsec3-salt0": "an NSEC3 owner that is not a hash label: BIND refuses it (check-names)",
    "ds0": "Knot's semantic check refuses DS digest type 0; BIND loads it",
    "dname-below": "a name below a DNAME: Knot refuses the zone, BIND loads it (never served)",
}


def cases() -> list[str]:
    lines = TABLE.read_text().splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


def zone_text(case: str) -> str:
    return "".join(record.strip() + "\n" for record in case.split(" || "))


def server_loads(command: list[str], tmp_path: Path, case: str) -> tuple[bool, str]:
    path = tmp_path / "server.zone"
    path.write_text(HEAD.replace("\n", "\n" + SOA, 1) + zone_text(case))
    run = subprocess.run(
        [*command, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    return run.returncode == 0, run.stdout + run.stderr


def zonesmith_errors(tmp_path: Path, case: str) -> list[Diagnostic]:
    site = write_site(
        tmp_path / "site",
        BASE_CONFIG + "zones:\n  example.: {}\n",
        {"example.zone": HEAD + zone_text(case)},
    )
    _, diagnostics = check_site(site)
    return [d for d in diagnostics if d.is_error]


CASES = cases()


@pytest.mark.skipif(NAMED_CHECKZONE is None, reason="named-checkzone is not installed")
@pytest.mark.parametrize("case", CASES)
def test_check_accepts_what_named_loads(tmp_path: Path, case: str) -> None:
    assert NAMED_CHECKZONE is not None
    loads, output = server_loads([NAMED_CHECKZONE, "example."], tmp_path, case)
    errors = zonesmith_errors(tmp_path, case)
    if loads:
        assert errors == [], f"named-checkzone loads it, zonesmith refuses: {errors}"
    else:
        assert errors, f"named-checkzone refuses it, zonesmith check accepts it:\n{output}"
        # at the user's line (the first record of the case is line 4), with a rule id
        for error in errors:
            assert error.position.path.endswith(ZONE_FILE) and error.position.line >= 4
            assert error.rule


@pytest.mark.skipif(KZONECHECK is None, reason="kzonecheck (Knot) is not installed")
@pytest.mark.parametrize("case", CASES)
def test_knot_agrees_with_named_or_the_choice_is_written_down(tmp_path: Path, case: str) -> None:
    assert KZONECHECK is not None and NAMED_CHECKZONE is not None
    knot, _ = server_loads([KZONECHECK, "-o", "example."], tmp_path, case)
    bind, _ = server_loads([NAMED_CHECKZONE, "example."], tmp_path, case)
    assert knot == bind or case.split()[0] in KNOT_DIFFERS


def test_the_table_covers_every_type_dnspython_knows() -> None:
    written = set()
    for case in CASES:
        for record in case.split(" || "):
            for word in record.split()[1:3]:
                if not word.isdigit():
                    written.add(word.upper())
                    break
    known = {
        dns.rdatatype.to_text(t)
        for t in dns.rdatatype.RdataType
        if not dns.rdatatype.is_metatype(t)
    }
    assert known - written == set()
    assert any("\\#" in case for case in CASES)
