"""A signer's live DNSKEY set, asked on its host (here and over SSH), and never taken unchecked.

A BIND primary signs good.test; it also serves forged.test, an unsigned
zone whose DNSKEY and RRSIG were written by hand: the signature is not
made by the key, so the set is refused.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import dns.rdatatype
import pytest
from servers import RunningServer, free_port, query, requires, start_named
from sites import one_signer_config, write_site, zonesmith

from zonesmith.deploy.errors import DeployError
from zonesmith.deploy.install import Target
from zonesmith.deploy.keys import live_dnskeys
from zonesmith.deploy.planner import transfer_key
from zonesmith.deploy.transport import Transport
from zonesmith.model import DEFAULT_VIEW
from zonesmith.pipeline import check_site
from zonesmith.site.control_secrets import read_control_secrets

pytestmark = [pytest.mark.servers, requires("named", "dig")]

GOOD = "'@': NS ns1.good.test.\nns1: A 127.0.0.1\n"
KEY = base64.b64encode(bytes(range(64))).decode()
SIGNATURE = base64.b64encode(bytes(64)).decode()
FORGED = (
    "'@':\n  - NS ns1.good.test.\n"
    f"  - DNSKEY 257 3 13 {KEY}\n"
    f"  - RRSIG DNSKEY 13 2 300 20370101000000 20200101000000 12345 forged.test. {SIGNATURE}\n"
)


class Signer:
    def __init__(self, root: Path) -> None:
        self.path = root / "out/ns1"
        self.port = free_port()
        config = one_signer_config("good.test", "forged.test", self.port, free_port(), self.path)
        self.site = write_site(
            root / "site", config, {"good.test.yaml": GOOD, "forged.test.yaml": FORGED}
        )
        result = zonesmith("build", self.site, "-o", root / "out")
        assert result.returncode == 0, result.stdout + result.stderr
        site, _ = check_site(self.site)
        self.model = site
        self.server = site.servers_by_name["ns1"]
        self.key = transfer_key(site, self.server, DEFAULT_VIEW, read_control_secrets(site))

    def zone(self, name: str):
        return next(zone for zone in self.model.zones if zone.text == name)

    def served_keys(self) -> set[str]:
        """The DNSKEY set good.test answers with, once signed (bounded)."""
        deadline = time.monotonic() + 20
        while True:
            response = query("good.test", "DNSKEY", "127.0.0.1", self.port, tcp=True)
            found = {
                r.to_text()
                for rrset in response.answer
                if rrset.rdtype == dns.rdatatype.DNSKEY
                for r in rrset
            }
            if found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Signer, RunningServer]]:
    signer = Signer(tmp_path_factory.mktemp("signer"))
    named = start_named(signer.path / "named.conf", "127.0.0.1", signer.port, "good.test")
    with named:
        yield signer, named


def test_the_live_keys_are_read_on_the_signers_host(
    signer: tuple[Signer, RunningServer], transport: Transport
) -> None:
    found, _ = signer
    expected = found.served_keys()
    assert expected
    target = Target(transport, "ns1", str(found.path))
    assert found.key is not None
    keys = live_dnskeys(target, found.server, found.zone("good.test"), found.key)
    assert {key.to_text() for key in keys} == expected


def test_a_dnskey_set_its_keys_do_not_sign_is_refused(
    signer: tuple[Signer, RunningServer], transport: Transport
) -> None:
    found, _ = signer
    target = Target(transport, "ns1", str(found.path))
    assert found.key is not None
    with pytest.raises(DeployError, match="forged.test that none of its keys validly signs"):
        live_dnskeys(target, found.server, found.zone("forged.test"), found.key)
