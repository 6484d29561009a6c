"""The cache answers at the boundary of a stage: an unchanged input is not handed to the stage.

The loader and the zone compiler take values and return values; load_site
and the pipeline ask the cache first and run them only for what it lacks.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from sites import BASE_CONFIG, write_site

from zonesmith.compile import zones
from zonesmith.declared import ZoneSource
from zonesmith.model import Zone
from zonesmith.output.cache import ZoneCache
from zonesmith.pipeline import build_site, check_site
from zonesmith.site.loader import Loader

CONFIG = (
    BASE_CONFIG
    + """\
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, path: /srv/dns}
sets:
  ns: {'@': [NS ns1.example.com.]}
zones:
  example.com: {include: [ns]}
  example.net: {include: [ns]}
  2.0.192.in-addr.arpa: {include: [ns], reverse-of: [example.com]}
"""
)
ZONES = {
    "example.com.yaml": "ns1: A 192.0.2.1\nwww: A 192.0.2.10\n",
    # The SOA is replaced by the site's, with a warning: loading reports something.
    "example.net.zone": (
        "@ IN SOA ns1.example.com. h.example.com. 1 2 3 4 5\nhost IN A 192.0.2.30\n"
    ),
}


def make_site(tmp_path: Path) -> Path:
    site = write_site(tmp_path / "site", CONFIG, ZONES)
    past = time.time() - 60  # older than the window in which a file is read anyway
    for path in (site / "zones").iterdir():
        os.utime(path, (past, past))
    return site


def loaded(site: Path, cached: bool = True) -> tuple[list[tuple[str, list]], list[str]]:
    """The zones' records and the diagnostics of a check with a fresh cache (saved after),
    or with none."""
    cache = ZoneCache(site if cached else None)
    model, diagnostics = check_site(site, cache)
    cache.save(model.zones, collect=True)
    zones = [(zone.origin, list(zone.records)) for zone in model.zones]
    return zones, [str(d) for d in diagnostics]


def test_an_unchanged_site_is_loaded_without_the_loader(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    first = loaded(site)
    assert any("soa-replaced" in d for d in first[1])

    def refuse(*_: object) -> None:
        raise AssertionError("the loader was asked for what the cache has")

    monkeypatch.setattr(Loader, "load_declarations", refuse)
    monkeypatch.setattr(Loader, "read_zone", refuse)
    assert loaded(site) == first
    monkeypatch.undo()
    assert loaded(site, cached=False) == first


def test_an_edited_zone_alone_is_read_and_its_file_only_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    loaded(site)
    edited = site / "zones" / "example.net.zone"
    edited.write_text(edited.read_text() + "extra IN A 192.0.2.31\n")
    read: list[tuple[str, bytes | None]] = []
    real_read_zone = Loader.read_zone

    def read_zone(
        loader: Loader, zone: Zone, source: ZoneSource, sets: dict, data: bytes | None = None
    ) -> object:
        read.append((zone.origin, data))
        return real_read_zone(loader, zone, source, sets, data)

    monkeypatch.setattr(Loader, "read_zone", read_zone)
    zones, _ = loaded(site)
    # The content the cache read to digest the file is what the loader parses.
    assert read == [("example.net.", edited.read_bytes())]
    assert [str(r.owner) for r in dict(zones)["example.net."] if r.owner.startswith("extra")]
    monkeypatch.undo()
    assert loaded(site) == loaded(site, cached=False)


def test_a_new_soa_rehashes_cached_bodies_without_rendering_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = make_site(tmp_path)
    build_site(site, tmp_path / "out", server_checks=False, cache=ZoneCache(site))
    config = site / "zonesmith.yaml"
    config.write_text(config.read_text().replace("hostmaster@example.com", "dns@example.org"))
    rendered: list[str] = []
    real_render = zones._render

    def render(by_name: dict, origin: str) -> list[bytes]:
        rendered.append(origin)
        return real_render(by_name, origin)

    monkeypatch.setattr(zones, "_render", render)
    build_site(site, tmp_path / "out", server_checks=False, cache=ZoneCache(site))
    # The reverse zone's PTRs come from other zones: it is made at every build.
    assert rendered == ["2.0.192.in-addr.arpa."]
    monkeypatch.undo()
    build_site(site, tmp_path / "clean", server_checks=False)
    zone = "ns1/zones/example.com.zone"
    assert (tmp_path / "out" / zone).read_bytes() == (tmp_path / "clean" / zone).read_bytes()
    assert b"dns.example.org." in (tmp_path / "out" / zone).read_bytes()
