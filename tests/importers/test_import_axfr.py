"""Importers: zones transferred from a live server become a site; key problems are explained."""

from __future__ import annotations

import base64
from pathlib import Path

import dns.zone
import pytest
from import_helpers import (
    KEYS_CONF,
    add_server,
    built_zone,
    ok,
    records,
    write,
)
from servers import requires
from sites import zonesmith


@pytest.mark.servers
@requires("named")
def test_zones_transferred_from_a_live_server_become_a_site(office, tmp_path: Path):
    root, port = office
    key_file = write(tmp_path / "xfr.key", KEYS_CONF)  # a tsig-keygen key statement will do
    site = tmp_path / "site"

    refused = zonesmith("import", "axfr", "127.0.0.1", "example.com", "--port", port,
                        "--site", site)  # fmt: skip
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "[axfr-failed]" in refused.stdout and "REFUSED" in refused.stdout
    assert "--key" in refused.stdout
    assert not (site / "zonesmith.yaml").exists()

    wrong = write(tmp_path / "wrong.key", base64.b64encode(b"not-the-key" * 3).decode())
    rejected = zonesmith("import", "axfr", "127.0.0.1", "example.com", "--port", port,
                         "--key", f"xfr:hmac-sha256:{wrong}", "--site", site)  # fmt: skip
    assert rejected.returncode == 1 and "Traceback" not in rejected.stderr
    assert "rejected the TSIG key 'xfr'" in rejected.stdout, rejected.stdout

    result = zonesmith("import", "axfr", "127.0.0.1", "example.com", "example.org",
                       "--port", port, "--key", f"xfr:hmac-sha256:{key_file}",
                       "--site", site)  # fmt: skip
    ok(result)
    out = tmp_path / "out"
    add_server(site, out)
    ok(zonesmith("build", site, "-o", out, "--no-server-checks"))
    for name in ("example.com", "example.org"):  # from 127.0.0.1: the internal view
        original = dns.zone.from_file(str(root / "zones" / {
            "example.com": "internal/example.com.db", "example.org": "example.org.db"
        }[name]), name, relativize=False)  # fmt: skip
        assert records(built_zone(out, name)) == records(original), name


def test_a_bad_key_argument_is_explained(tmp_path: Path):
    result = zonesmith("import", "axfr", "127.0.0.1", "example.com", "--key", "xfr:md9:nofile",
                       "--site", tmp_path / "site")  # fmt: skip
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "unknown TSIG algorithm 'md9'" in result.stdout
