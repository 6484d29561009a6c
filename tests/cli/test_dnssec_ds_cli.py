"""`zonesmith dnssec ds` when it cannot print keys: one sentence on stderr, exit status 1."""

from __future__ import annotations

import json
from pathlib import Path

from servers import free_port
from sites import one_signer_config, write_site, zonesmith

RECORDS = "'@': NS ns1.example.test.\nns1: A 127.0.0.1\n"


def site(tmp_path: Path) -> Path:
    """A site whose signer is not running (its port answers nothing)."""
    path = tmp_path / "srv/ns1"
    config = one_signer_config("example.test", "example.org", free_port(), free_port(), path)
    zones = {"example.test.yaml": RECORDS, "example.org.yaml": RECORDS}
    return write_site(tmp_path / "site", config, zones)


def test_a_signer_that_cannot_be_reached_is_one_sentence(tmp_path: Path) -> None:
    root = site(tmp_path)
    result = zonesmith("dnssec", "ds", "--site", root)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: example.test: "), result.stderr
    assert "ns1" in lines[0] and "Traceback" not in result.stderr
    report = json.loads(zonesmith("dnssec", "ds", "--site", root, "--json").stdout)
    assert report["ok"] is False
    assert [zone["zone"] for zone in report["zones"]] == ["example.test"]
    assert report["zones"][0]["problem"].startswith("example.test: ")


def test_a_zone_the_site_does_not_sign_is_one_sentence(tmp_path: Path) -> None:
    root = site(tmp_path)
    for zone in ("example.org", "nowhere.example"):
        result = zonesmith("dnssec", "ds", zone, cwd=root)  # the site is the current folder
        assert result.returncode == 1
        assert result.stderr.strip().endswith(
            f"'{zone}' is no signed zone of it (dnssec: POLICY on a zone signs it)"
        ), result.stderr
        assert len(result.stderr.splitlines()) == 1
