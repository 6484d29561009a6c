"""Importers: every import command reports a missing input file without a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from sites import zonesmith


def test_import_commands_report_missing_files_without_tracebacks(tmp_path: Path):
    for args in (
        ("zonefile", tmp_path / "missing.zone"),
        ("named-conf", tmp_path / "missing.conf"),
        ("octodns", tmp_path / "missing.yaml"),
    ):
        result = zonesmith("import", *args, "--site", tmp_path / "site")
        assert result.returncode == 1, args
        assert "no such file" in result.stdout and "Traceback" not in result.stderr
    assert not (tmp_path / "site").exists() or not os.listdir(tmp_path / "site")
