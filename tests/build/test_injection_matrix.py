"""Hostile values in every place a site can name something: refused at the user's line, or inert.

Every payload class (quotes, braces, semicolons, line ends, backslashes,
command substitution, ``../``, absolute paths, NUL, over-long labels and
names) goes into every place a name can go (server, view, key, blocklist,
zone, owner, catalog, contact, secret file, blocklist source). A build with
the servers' checkers off must then either stop with errors that each name a
line of the user's file, or write a tree in which the value is inert: no
file outside the output, nothing run, no line of a configuration added.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sites import write_site

from zonesmith.diagnostics import SiteError
from zonesmith.pipeline import build_site

SECRET = "vQ7oGNcjhc59q5c+JOsfgpIXXd0MiO7Mf85u7TADAXw="

#: payload class -> the value (``{tmp}`` is the test's own folder).
PAYLOADS = {
    "quote": 'x"y',
    "brace": "x{y}",
    "semicolon": "x;y",
    "newline": "k\n    provide-xfr: 0.0.0.0/0 NOKEY",
    "backslash": "x\\y",
    "command": "x$(touch PWNED)",
    "parent": "../../../../etc/nsd",
    "absolute": "{tmp}/abs/etc/nsd",
    "nul": "x\x00y",
    "long label": "x" * 64,
    "long name": ".".join(["x" * 60] * 5),
}

#: The place -> what it holds in a sound site.
SOUND = {
    "server": "ns1",
    "view": "inside",
    "key": "xfr",
    "blocklist": "ads",
    "zone": "example.org",
    "owner": "www",
    "catalog": "catalog.example.com.",
    "contact": "hostmaster@example.com",
    "secret-file": "secrets/xfr.key",
    "source": "lists/ads.txt",
}

CONFIG = """\
defaults:
  ttl: 1h
  soa: {{primary: ns1.example.com., contact: {contact}}}
keys:
  {key}: {{secret-file: {secret-file}}}
views:
  {view}: {{clients: [any]}}
servers:
  {server}: {{software: bind, role: primary, address: 127.0.0.1, port: 5300,
        path: /srv/dns/ns1, catalog: {catalog}}}
  ns2: {{software: knot, role: secondary, address: 127.0.0.2, port: 5300,
        path: /srv/dns/ns2, primaries: [{server}], key: {key}}}
  ns3: {{software: nsd, role: secondary, address: 127.0.0.3, port: 5300,
        path: /srv/dns/ns3, primaries: [{server}], key: {key}}}
  res: {{software: unbound, role: resolver, address: 127.0.0.4, port: 5300,
        path: /srv/dns/res, blocklists: [{blocklist}]}}
sets:
  ns: {{'@': [NS ns1.example.com.]}}
zones:
  example.com: {{include: [ns]}}
  {zone}: {{include: [ns]}}
blocklists:
  {blocklist}: {{sources: [{source}]}}
"""


def make_site(root: Path, place: str | None, payload: str) -> Path:
    values = {name: json.dumps(value) for name, value in SOUND.items()}
    if place is not None:
        values[place] = json.dumps(payload)  # a YAML double-quoted scalar
    return write_site(
        root,
        CONFIG.format(**values),
        {"example.com.yaml": f"ns1: A 192.0.2.1\n{values['owner']}: A 192.0.2.2\n"},
        files={"secrets/xfr.key": SECRET + "\n", "lists/ads.txt": "ads.example.net\n"},
    )


def files_under(folder: Path) -> set[Path]:
    return {Path(top) / name for top, dirs, files in os.walk(folder) for name in dirs + files}


def test_the_sound_site_builds(tmp_path: Path) -> None:
    site = make_site(tmp_path / "site", None, "")
    result = build_site(site, tmp_path / "out", server_checks=False)
    assert sorted(result.servers) == ["ns1", "ns2", "ns3", "res"]
    assert (tmp_path / "out" / "ns1" / "named.conf").is_file()


@pytest.mark.parametrize("payload_class", sorted(PAYLOADS))
@pytest.mark.parametrize("place", sorted(SOUND))
def test_hostile_value_is_refused_at_its_line_or_inert(
    tmp_path: Path, place: str, payload_class: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = PAYLOADS[payload_class].replace("{tmp}", str(tmp_path))
    site = make_site(tmp_path / "site", place, payload)
    # Deep enough that ../../../../ from a server's folder stays in tmp_path.
    out = tmp_path / "a" / "b" / "c" / "out"
    out.parent.mkdir(parents=True)
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    before = files_under(tmp_path)
    try:
        build_site(site, out, server_checks=False)
    except SiteError as refused:
        errors = [d for d in refused.diagnostics if d.is_error]
        assert errors
        for diagnostic in errors:
            # One sentence at a line of the user's files, never a traceback.
            assert diagnostic.position.line >= 1, diagnostic
            assert (site / diagnostic.position.path).is_file() or Path(
                diagnostic.position.path
            ).name in ("zonesmith.yaml", "example.com.yaml"), diagnostic
            assert "\n" not in diagnostic.message and "\x00" not in diagnostic.message
        assert not out.exists(), "nothing is written when the site is refused"
    else:
        # Inert: no configuration carries the raw value.
        for path in out.rglob("*"):
            if path.is_file() and path.suffix in (".conf", ".sh", ".service", ".cron"):
                text = path.read_text()
                assert payload not in text or payload.isidentifier(), (path, payload)
    added = files_under(tmp_path) - before
    for path in added:
        inside = (
            path.is_relative_to(out)
            or path.is_relative_to(site / ".zonesmith")
            or path == site / "zonesmith.state"
            or path.is_relative_to(site / "secrets" / "control")  # the control keys, made once
            or (path.parent == out.parent and path.name.startswith(f".{out.name}."))
        )
        assert inside, f"{path} was written outside the output"
    assert not any(p.name == "PWNED" for p in files_under(tmp_path))
