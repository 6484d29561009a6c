"""The site rules' findings kept in the cache: a cached check reports what a fresh one does."""

from __future__ import annotations

import os
import time
from pathlib import Path

from mail_records import spf_terms
from sites import BASE_CONFIG, write_site

from zonesmith.output.cache import ZoneCache
from zonesmith.pipeline import check_site

HEAD = BASE_CONFIG + "servers:\n  ns1: {software: bind, role: primary, address: 192.0.2.1}\n"
LISTING = "zones:\n  example.com: {}\n  example.org: {}\n"
APEX = "'@': [NS ns1.example.com., MX 10 mail, 'TXT \"v=spf1 mx include:_spf.example.org -all\"']\n"


def included(lookups: int) -> str:
    terms = spf_terms(lookups, "a:mail.example.com")
    return f"'@': NS ns1.example.com.\n_spf: 'TXT \"v=spf1 {terms} -all\"'\n"


def make_site(root: Path) -> Path:
    zones = {"example.com.yaml": APEX + "mail: A 192.0.2.25\n", "example.org.yaml": included(10)}
    return write_site(root, HEAD + LISTING, zones)


def findings(site: Path, *, cached: bool) -> list[str]:
    an_hour_ago = time.time() - 3600  # else the cache reads a just-written file again
    for path in [site / "zonesmith.yaml", *(site / "zones").iterdir()]:
        os.utime(path, (an_hour_ago, an_hour_ago))
    cache = ZoneCache(site if cached else None)
    model, diagnostics = check_site(site, cache)
    cache.save(model.zones, collect=True)
    return [str(d) for d in diagnostics]


def test_a_cached_check_of_an_unchanged_site_reports_what_a_fresh_one_does(
    tmp_path: Path,
) -> None:
    site = make_site(tmp_path)
    fresh = findings(site, cached=False)
    assert any("[spf-lookups]" in line for line in fresh)
    for _ in range(3):  # makes the cache, keeps the site's findings, uses them
        assert findings(site, cached=True) == fresh


def test_an_edit_of_the_declarations_alone_is_judged_again(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    findings(site, cached=True)
    findings(site, cached=True)
    config = site / "zonesmith.yaml"
    config.write_text(HEAD + LISTING + "mail-senders: [mail.example.net]\n")  # zones stay put
    cached = findings(site, cached=True)
    assert any("[mail-sender-outside-site]" in line for line in cached)
    assert cached == findings(site, cached=False)


def test_an_edit_of_one_zone_is_judged_across_the_site_again(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    findings(site, cached=True)
    before = findings(site, cached=True)
    (site / "zones/example.org.yaml").write_text(included(5))  # the other zone's count
    after = findings(site, cached=True)
    assert any("[spf-lookups]" in line for line in before)
    assert not any("[spf-lookups]" in line for line in after)
    assert after == findings(site, cached=False)
