"""Blocklists: parsing every format, hostile input, allowlists, parent dedupe,
conditional fetching with a cache, the compiled cache that build reads, the
rules, and the Unbound output (checked with unbound-checkconf when installed).

Fetching is tested against a real HTTP server on 127.0.0.1 (http.server in a
thread, on a port the kernel picks), never the network.
"""

from __future__ import annotations

import gzip
import http.server
import json
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dns.name
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from servers import requires
from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.blocklists import compiled as bl_compiled
from zonesmith.blocklists import fetch, parse, store
from zonesmith.blocklists import update as bl_update
from zonesmith.diagnostics import SiteError
from zonesmith.drivers import find_tool
from zonesmith.pipeline import build_site, check_site
from zonesmith.site import values
from zonesmith.site.loader import load_site

# --------------------------------------------------------------------------- the reference


def reference_name(token: str) -> str | None:
    """What normalize_name should return for an ASCII token, decided by dnspython.

    zonesmith accepts fewer names than DNS allows: two labels or more, letters,
    digits, '-' and '_' only, and a last label that is not all digits.
    """
    name = token.lower()
    if name.startswith("*."):
        name = name[2:]
    elif name.startswith("."):
        name = name[1:]
    if name.endswith("."):
        name = name[:-1]
    if not name or "\\" in name:
        return None
    try:
        parsed = dns.name.from_text(name + ".")
    except dns.exception.DNSException:
        return None
    labels = parsed.labels[:-1]
    allowed = set(b"abcdefghijklmnopqrstuvwxyz0123456789-_")
    if len(labels) < 2 or any(not set(label) <= allowed for label in labels):
        return None
    if labels[-1].isdigit():
        return None
    text = parsed.to_text(omit_final_dot=True)
    return None if text in values._HOSTS_NAMES else text


def assert_valid_names(names) -> None:
    """Every name is a valid DNS name to dnspython, in canonical text form."""
    for name in names:
        parsed = dns.name.from_text(name + ".")
        assert parsed.to_text(omit_final_dot=True) == name, name
        assert len(parsed.to_wire()) <= 255, name
        assert len(parsed.labels) >= 3, name  # two labels and the root
        assert reference_name(name) == name, name


def blocked(text: str) -> list[str]:
    return list(parse.parse_text(text).block)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("Ads.Example.COM", "ads.example.com"),
        ("ads.example.com.", "ads.example.com"),
        ("*.ads.example.com", "ads.example.com"),
        (".ads.example.com", "ads.example.com"),
        ("under_score.example.com", "under_score.example.com"),
        ("xn--bcher-kva.de", "xn--bcher-kva.de"),
        ("bücher.de", "xn--bcher-kva.de"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008 (UTS 46), as browsers: not fass.de
        ("localhost", None),
        ("com", None),
        ("1.2.3.4", None),
        ("example.123", None),
        ("a..example.com", None),
        ("exa mple.com", None),
        ('quote".example.com', None),
        ("back\\slash.example.com", None),
        ("a" * 64 + ".com", None),
        ("a" * 63 + ".com", "a" * 63 + ".com"),
        (".".join(["a" * 61] * 4) + ".com", ".".join(["a" * 61] * 4) + ".com"),  # 251 octets
        (".".join(["a" * 62] * 4) + ".com", None),  # 255 octets: too long
        ("☃.com", None),
        ("localhost.localdomain", None),
    ],
)
def test_normalize_name(token: str, expected: str | None) -> None:
    assert values.normalize_name(token.lower()) == expected


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="abz09-_.*\\\"' \tA", min_size=0, max_size=80))
def test_normalize_agrees_with_dnspython(token: str) -> None:
    assert values.normalize_name(token.lower()) == reference_name(token)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet="ab09-_.*|^@$#!=/: \t\r", max_size=40), max_size=30))
def test_any_text_parses_into_valid_names(lines: list[str]) -> None:
    parsed = parse.parse_text("\n".join(lines))
    assert_valid_names(parsed.block)
    assert_valid_names(parsed.allow)


# --------------------------------------------------------------------------- formats


def test_hosts_files() -> None:
    parsed = parse.parse_text(
        "# Title: a hosts file\n"
        "127.0.0.1 localhost\n"
        "127.0.0.1 localhost.localdomain\n"
        "::1 localhost ip6-localhost ip6-loopback\n"
        "255.255.255.255 broadcasthost\n"
        "0.0.0.0 0.0.0.0\n"
        "0.0.0.0 ads.example.com\n"
        "127.0.0.1\ttracker.example.net\r\n"
        "0.0.0.0   one.example.org two.example.org  # a comment\n"
        ":: six.example.org\n"
        "192.168.1.1 router.example.lan\n"
        "   \n"
    )
    assert list(parsed.block) == [
        "ads.example.com",
        "tracker.example.net",
        "one.example.org",
        "two.example.org",
        "six.example.org",
    ]
    assert parsed.comments == 1
    # localhost lines, broadcasthost, 0.0.0.0 0.0.0.0, the router: skipped and counted
    assert parsed.skipped == 6
    assert parsed.lines == 12


def test_plain_and_wildcard_lists() -> None:
    assert sorted(
        blocked(
            "example.com\n*.wild.example.net\n.dot.example.org\nTRAILING.example.org.\n"
            "not a name\n# comment\n! also a comment\n"
        )
    ) == ["dot.example.org", "example.com", "trailing.example.org", "wild.example.net"]


def test_adblock_rules() -> None:
    parsed = parse.parse_text(
        "[Adblock Plus 2.0]\n"
        "! Title: a filter list\n"
        "||ads.example.com^\n"
        "||important.example.com^$important\n"
        "||pipe.example.com^|\n"
        "||client.example.com^$client=192.168.0.1\n"
        "||dnstype.example.com^$dnstype=AAAA\n"
        "||path.example.com/banner.gif\n"
        "|https://url.example.com/\n"
        "example.com##.banner\n"
        "@@||good.ads.example.com^\n"
    )
    assert list(parsed.block) == ["ads.example.com", "important.example.com", "pipe.example.com"]
    assert list(parsed.allow) == ["good.ads.example.com"]
    assert parsed.comments == 2
    assert parsed.skipped == 5


def test_dnsmasq_rules() -> None:
    parsed = parse.parse_text(
        "address=/ads.example.com/0.0.0.0\n"
        "address=/one.example.com/two.example.com/\n"
        "address=/nx.example.com/#\n"
        "local=/local.example.com/\n"
        "server=/nowhere.example.com/\n"
        "server=/forwarded.example.com/192.0.2.53\n"
        "address=/#/0.0.0.0\n"
        "cache-size=1000\n"
    )
    assert list(parsed.block) == [
        "ads.example.com",
        "one.example.com",
        "two.example.com",
        "nx.example.com",
        "local.example.com",
        "nowhere.example.com",
    ]
    assert parsed.skipped == 3


def test_rpz_zone_files() -> None:
    parsed = parse.parse_text(
        "$TTL 300\n"
        "$ORIGIN rpz.example.\n"
        "@ IN SOA localhost. root.localhost. (\n"
        "    2024010101 ; serial\n"
        "    3600 600 86400 300 )\n"
        "  IN NS localhost.\n"
        "ads.example.com CNAME .\n"
        "*.ads.example.com CNAME .\n"
        "nodata.example.com 300 IN CNAME *.\n"
        "drop.example.com CNAME rpz-drop.\n"
        "local.example.com A 127.0.0.1\n"
        "pass.example.com CNAME rpz-passthru.\n"
        "tcp.example.com CNAME rpz-tcp-only.\n"
        "abs.example.net.rpz.example. CNAME .\n"
        "outside.example.net. CNAME .\n"
        "32.1.0.0.127.rpz-ip CNAME .\n"
        "ns.example.com.rpz-nsdname CNAME .\n"
        "; a comment\n"
    )
    assert parsed.format == "rpz"
    assert list(parsed.block) == [
        "ads.example.com",
        "nodata.example.com",
        "drop.example.com",
        "local.example.com",
        "abs.example.net",
    ]
    assert list(parsed.allow) == ["pass.example.com"]
    assert parsed.skipped == 4  # tcp-only, outside the zone, rpz-ip, rpz-nsdname
    assert parsed.comments == 1


def test_mixed_formats_in_one_file() -> None:
    text = "0.0.0.0 a.example.com\n||b.example.com^\naddress=/c.example.com/\nd.example.com\n"
    assert sorted(blocked(text)) == [
        "a.example.com",
        "b.example.com",
        "c.example.com",
        "d.example.com",
    ]


def test_gzip_sources() -> None:
    data = gzip.compress(b"0.0.0.0 ads.example.com\n")
    assert list(parse.parse_bytes(data).block) == ["ads.example.com"]


# --------------------------------------------------------------------------- hostile input


def hostile_inputs() -> dict[str, bytes]:
    rng = random.Random(5)
    return {
        "binary": bytes(rng.randrange(256) for _ in range(200_000)),
        "binary-lines": b"\n".join(
            bytes(rng.randrange(256) for _ in range(rng.randrange(80))) for _ in range(5000)
        ),
        "10MB line of names": b"0.0.0.0 " + b"a.example.com " * (10 * 1024 * 1024 // 14) + b"\n",
        "10MB line of letters": b"x" * (10 * 1024 * 1024) + b"\nok.example.com\n",
        "10MB line of labels": b"a." * (5 * 1024 * 1024) + b"!\nok.example.com\n",
        "300-char names": b"".join(
            b"0.0.0.0 " + b".".join([b"a" * 59] * 5) + b".com\n" for _ in range(3)
        )
        + ("||" + "b" * 300 + ".example.com^\n").encode()
        + b"ok.example.com\n",
        "html": b"<!DOCTYPE html>\n<html><head><title>Login</title></head>\n<body>\n"
        b"example.com\n<a href='x'>portal.example.com</a>\n</body></html>\n",
        "nul and escapes": b'bad\x00name.example.com\nex\\097mple.com\n"q".example.com\n',
        "unicode junk": "☃.com\n\u202eevil.com\nbücher.de\n\udcff\n".encode(errors="replace"),
        "crlf": b"a.example.com\r\nb.example.com\r\n",
    }


@pytest.mark.parametrize("kind", list(hostile_inputs()))
def test_hostile_input_never_crashes(kind: str) -> None:
    data = hostile_inputs()[kind]
    started = time.perf_counter()
    parsed = store._parse_checked(data)
    assert time.perf_counter() - started < 20, "parsing took too long"
    assert_valid_names(parsed.block)
    assert_valid_names(parsed.allow)
    if kind == "html":
        assert not parsed.block, "an HTML page is not a list"
    if kind.startswith("10MB line of names"):
        assert list(parsed.block) == ["a.example.com"]
    if kind in ("10MB line of letters", "10MB line of labels", "300-char names"):
        assert list(parsed.block) == ["ok.example.com"]


# --------------------------------------------------------------------------- compiling


def compiled(blocked: list[str], allowed: list[str] = ()) -> tuple[list[str], list[str]]:
    return bl_compiled.compile_names(dict.fromkeys(blocked), dict.fromkeys(allowed))


def test_parent_covers_its_subdomains() -> None:
    names, exceptions = compiled(
        ["a.b.example.com", "example.com", "x.y.example.net", "y.example.net", "example.org"]
    )
    assert names == ["example.com", "y.example.net", "example.org"]
    assert exceptions == []


def test_parents_match_whole_labels_only() -> None:
    names, _ = compiled(["ample.com", "example.com", "www.xample.com", "a.b.c.d.e.f.example.net"])
    assert names == ["ample.com", "example.com", "www.xample.com", "a.b.c.d.e.f.example.net"]


def test_duplicates_are_removed_and_order_kept() -> None:
    parsed = parse.parse_text("b.example.com\na.example.com\nb.example.com\n")
    assert list(parsed.block) == ["b.example.com", "a.example.com"]


def test_allowlist_wins() -> None:
    names, exceptions = compiled(
        [
            "ads.example.com",  # allowed exactly
            "example.net",  # blocked, with an allowed subdomain
            "deep.allowed.example.org",  # below an allowed name
            "tracker.example.org",
        ],
        ["ads.example.com", "www.example.net", "allowed.example.org", "unrelated.example.de"],
    )
    assert names == ["example.net", "tracker.example.org"]
    assert exceptions == ["www.example.net"]


def test_allowed_parent_lets_every_subdomain_through() -> None:
    names, exceptions = compiled(["a.example.com", "b.c.example.com"], ["example.com"])
    assert names == []
    assert exceptions == []


def test_exceptions_follow_the_final_list() -> None:
    names, exceptions = compiled(["example.com", "sub.example.com"], ["ok.sub.example.com"])
    assert names == ["example.com"]
    assert exceptions == ["ok.sub.example.com"]


# --------------------------------------------------------------------------- the HTTP server


@dataclass
class Served:
    body: bytes
    etag: str | None = None
    last_modified: str | None = None
    status: int = 200
    content_type: str = "text/plain"
    #: statuses to send first (before the body), e.g. [503, 503]
    failures: list[int] = field(default_factory=list)


class ListServer:
    """Serves lists on 127.0.0.1 and records the headers of every request."""

    def __init__(self) -> None:
        self.routes: dict[str, Served] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                with owner.lock:
                    owner.requests.append((self.path, dict(self.headers.items())))
                    served = owner.routes.get(self.path)
                    failure = served.failures.pop(0) if served and served.failures else None
                if served is None or failure is not None:
                    self.send_response(failure or 404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if served.etag and self.headers.get("If-None-Match") == served.etag:
                    self.send_response(304)
                    self.send_header("ETag", served.etag)
                    self.end_headers()
                    return
                self.send_response(served.status)
                self.send_header("Content-Type", served.content_type)
                self.send_header("Content-Length", str(len(served.body)))
                if served.etag:
                    self.send_header("ETag", served.etag)
                if served.last_modified:
                    self.send_header("Last-Modified", served.last_modified)
                self.end_headers()
                self.wfile.write(served.body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def headers_of(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [h for p, h in self.requests if p == path]

    def __enter__(self) -> ListServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def list_server() -> Iterator[ListServer]:
    with ListServer() as server:
        yield server


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fetch, "BACKOFF", 0.01)
    monkeypatch.setattr(fetch, "TIMEOUT", 5.0)


HOSTS = "".join(f"0.0.0.0 ad{i}.example.com\n" for i in range(100)).encode()
DATE = "Mon, 01 Jan 2024 00:00:00 GMT"


def blocklist_site(tmp_path: Path, sources: list[str], extra: str = "", files=None) -> Path:
    config = (
        BASE_CONFIG
        + "views:\n  internal: {clients: [127.0.0.1]}\n"
        + "servers:\n"
        + "  res1: {software: unbound, role: resolver, address: 127.0.0.1, port: 5353,\n"
        + "         path: /srv/res1, views: [internal], blocklists: [ads]}\n"
        + "blocklists:\n  ads:\n    sources: ["
        + ", ".join(sources)
        + "]\n"
        + extra
    )
    return write_site(tmp_path / "site", config, files=files)


def update(site: Path):
    loaded, diagnostics = load_site(site)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return bl_update.update_site(loaded)


def sources_of(result) -> dict[str, store.SourceReport]:
    return {s.source: s for report in result.lists for s in report.sources}


def test_conditional_get_and_304(tmp_path: Path, list_server: ListServer) -> None:
    list_server.routes["/hosts"] = Served(HOSTS, etag='"v1"', last_modified=DATE)
    url = list_server.url("/hosts")
    site = blocklist_site(tmp_path, [url])

    first = sources_of(update(site))[url]
    assert (first.status, first.http_status, first.names_read) == ("fetched", 200, 100)
    assert "If-None-Match" not in list_server.headers_of("/hosts")[0]

    second = update(site)
    report = sources_of(second)[url]
    assert (report.status, report.http_status, report.names_read) == ("not-modified", 304, 100)
    headers = list_server.headers_of("/hosts")[1]
    assert headers["If-None-Match"] == '"v1"'
    assert headers["If-Modified-Since"] == DATE
    assert second.lists[0].names == 100
    assert not second.lists[0].changed
    assert (tmp_path / "site" / ".zonesmith" / ".gitignore").read_text().strip().endswith("*")


def test_retries_with_back_off(tmp_path: Path, list_server: ListServer) -> None:
    list_server.routes["/hosts"] = Served(HOSTS, failures=[503, 502])
    url = list_server.url("/hosts")
    report = sources_of(update(blocklist_site(tmp_path, [url])))[url]
    assert report.status == "fetched"
    assert len(list_server.headers_of("/hosts")) == 3


@pytest.mark.parametrize(
    ("change", "note"),
    [
        (Served(b"", failures=[500] * 10), "HTTP 500"),
        (Served(b"<!doctype html><html><body>login</body></html>"), "HTML"),
        (Served(b"0.0.0.0 a.example.com\n", content_type="text/html"), "HTML"),
        (Served(b"0.0.0.0 ad1.example.com\n" * 10), "shrank from 100 to 1"),
        (Served(b"\x00\x01\x02" * 1000), "binary"),
        (Served(b"# nothing here\n"), "no names"),
        (Served(b"", status=404), "HTTP 404"),
    ],
)
def test_last_good_copy_is_kept(
    tmp_path: Path, list_server: ListServer, change: Served, note: str
) -> None:
    list_server.routes["/hosts"] = Served(HOSTS)
    url = list_server.url("/hosts")
    site = blocklist_site(tmp_path, [url])
    update(site)
    list_server.routes["/hosts"] = change
    result = update(site)
    report = sources_of(result)[url]
    assert report.status == "cached", report
    assert note in report.note, report
    assert report.names_read == 100
    assert result.ok and result.lists[0].names == 100


def test_a_source_never_fetched_makes_the_update_fail(
    tmp_path: Path, list_server: ListServer
) -> None:
    list_server.routes["/good"] = Served(HOSTS, etag='"g"')
    good, bad = list_server.url("/good"), list_server.url("/missing")
    site = blocklist_site(tmp_path, [good, bad])
    result = update(site)
    assert not result.ok
    assert sources_of(result)[bad].status == "failed"
    assert result.lists[0].names == 100  # the list is still compiled from what there is
    run = zonesmith("blocklist", "update", site, "--json")
    assert run.returncode == 1, run.stdout + run.stderr
    payload = json.loads(run.stdout)
    assert payload["ok"] is False
    statuses = {s["source"]: s["status"] for s in payload["blocklists"][0]["sources"]}
    assert statuses == {good: "not-modified", bad: "failed"}


def test_unreachable_server_is_retried_then_reported(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9/hosts"  # the discard port: nothing listens there
    result = update(blocklist_site(tmp_path, [url]))
    report = sources_of(result)[url]
    assert report.status == "failed"
    assert "3 attempts" in report.note
    assert not result.ok


def test_update_command_output(tmp_path: Path, list_server: ListServer) -> None:
    list_server.routes["/hosts"] = Served(HOSTS, etag='"e"')
    url = list_server.url("/hosts")
    site = blocklist_site(tmp_path, [url, "lists/local.txt"], files={"lists/local.txt": "||x.y^"})
    run = zonesmith("blocklist", "update", site)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ads: 101 names blocked" in run.stdout
    assert f"{url}: fetched HTTP 200, read 100, kept 100" in run.stdout
    assert "lists/local.txt: file, read 1, kept 1" in run.stdout
    assert "\x1b[" not in run.stdout, "piped output has no terminal codes or progress"
    run = zonesmith("blocklist", "update", site, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    payload = json.loads(run.stdout)
    assert payload["ok"] is True
    (ads,) = payload["blocklists"]
    assert (ads["name"], ads["names"], ads["changed"]) == ("ads", 101, False)
    by_source = {s["source"]: s for s in ads["sources"]}
    assert by_source[url]["http_status"] == 304
    assert by_source[url]["names_kept"] == 100
    assert set(by_source[url]) >= {"names_read", "names_kept", "seconds", "http_status"}


def test_update_refuses_a_broken_site(tmp_path: Path) -> None:
    site = blocklist_site(tmp_path, ["lists/missing.txt"])
    run = zonesmith("blocklist", "update", site)
    assert run.returncode == 1
    assert "[missing-blocklist-file]" in run.stdout


# --------------------------------------------------------------------------- build reads the cache


def test_build_reads_the_compiled_lists_and_follows_local_edits(tmp_path: Path) -> None:
    files = {"lists/block.txt": "ads.example.com\n", "lists/allow.txt": "ok.ads.example.com\n"}
    extra = "    allow: [lists/allow.txt, fine.ads.example.com]\n"
    site = blocklist_site(tmp_path, ["lists/block.txt"], extra, files)
    loaded, _ = load_site(site)
    (compiled,) = store.compiled_for(loaded, loaded.servers_by_name["res1"])
    assert compiled.names == ("ads.example.com",)
    assert compiled.exceptions == ("fine.ads.example.com", "ok.ads.example.com")
    assert compiled.action == "nxdomain"
    # No update was run: build compiled from the local files and stored the result.
    assert list((site / store.CACHE_DIR / "compiled").glob("ads.*"))
    (site / "lists" / "block.txt").write_text("ads.example.com\ntracker.example.net\n")
    (compiled,) = store.compiled_for(loaded, loaded.servers_by_name["res1"])
    assert compiled.names == ("ads.example.com", "tracker.example.net")


def test_a_rebuild_follows_an_edited_local_list(tmp_path: Path) -> None:
    # A rebuild that takes the configuration as the last build wrote it (see
    # zonesmith.output.memo.replay) still sees a list whose file changed.
    site = blocklist_site(tmp_path, ["lists/block.txt"], files={"lists/block.txt": "a.example\n"})
    out = tmp_path / "out"
    for names in ("a.example\n", "a.example\ntracker.example.net\n"):
        (site / "lists/block.txt").write_text(names)
        built = zonesmith("build", site, "-o", out, "--no-server-checks")
        assert built.returncode == 0, built.stdout + built.stderr
    blocked = "".join(p.read_text() for p in (out / "res1").rglob("*.conf"))
    assert "tracker.example.net" in blocked


def test_build_fails_when_a_url_was_never_fetched(tmp_path: Path) -> None:
    site = blocklist_site(tmp_path, ["https://lists.example/hosts.txt"])
    _, diagnostics = check_site(site)
    assert [d.rule for d in diagnostics] == ["blocklist-not-fetched"]
    with pytest.raises(SiteError) as raised:
        build_site(site, tmp_path / "out", server_checks=False)
    (problem,) = raised.value.diagnostics
    assert problem.rule == "blocklist-not-fetched"
    assert "zonesmith blocklist update" in problem.message
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------------------- rules


def rules_of(tmp_path: Path, config: str, files=None) -> set[str]:
    site = write_site(tmp_path / "site", BASE_CONFIG + config, files=files)
    _, diagnostics = check_site(site)
    return {f"{d.severity.value}:{d.rule}" for d in diagnostics}


def test_blocklist_rules(tmp_path: Path) -> None:
    found = rules_of(
        tmp_path,
        """\
servers:
  ns1: {software: bind, role: primary, address: 192.0.2.1, blocklists: [ads]}
  res1: {software: unbound, role: resolver, address: 192.0.2.53, blocklists: [ads, bad]}
blocklists:
  ads:
    sources: [lists/missing.txt, ftp://lists.example/hosts.txt]
    allow: [lists/nope.txt, 'not a name']
    action: {sinkhole: not-an-address}
  bad: {}
""",
    )
    assert found == {
        "error:blocklist-needs-unbound",
        "error:missing-blocklist-file",
        "error:bad-blocklist-source",
        "error:bad-sinkhole",
        "error:bad-name",
        "warning:empty-blocklist",
        "warning:resolver-loopback-only",
    }


def test_a_sound_resolver_passes(tmp_path: Path) -> None:
    found = rules_of(
        tmp_path,
        """\
views:
  internal: {clients: [10.0.0.0/8]}
  external: {clients: [any]}
servers:
  res1: {software: unbound, role: resolver, address: 10.0.0.53, views: [internal],
         blocklists: [ads]}
blocklists:
  ads: {sources: [lists/block.txt], allow: [example.com], action: null, rpz: true}
""",
        {"lists/block.txt": "ads.example.com\n"},
    )
    assert found == set()


# --------------------------------------------------------------------------- the Unbound output


def resolver_site(tmp_path: Path, lists: dict[str, str], blocklists: str) -> Path:
    config = (
        BASE_CONFIG
        + """\
views:
  internal: {clients: [127.0.0.1, '!10.9.9.9', 10.0.0.0/8]}
  external: {clients: [any]}
servers:
  ns1: {software: bind, role: primary, address: 127.0.0.1, port: 5300, path: /srv/ns1}
  res1: {software: unbound, role: resolver, address: 127.0.0.1, port: 5353,
         path: /srv/res1, views: [internal], blocklists: [ads, zero, sink, rpz]}
sets:
  ns: {'@': [NS ns1.example.com.]}
zones:
  example.com: {include: [ns]}
  0.10.in-addr.arpa: {include: [ns], reverse-of: [example.com], views: [internal]}
blocklists:
"""
        + blocklists
    )
    return write_site(
        tmp_path / "site", config, {"example.com.yaml": "ns1: A 10.0.0.1\n"}, files=lists
    )


RESOLVER_LISTS = {
    "lists/ads.txt": "0.0.0.0 ads.example.net\n0.0.0.0 sub.ads.example.net\n",
    "lists/zero.txt": "||zero.example.net^\n||ads.example.net^\n",
    "lists/sink.txt": "address=/sink.example.net/0.0.0.0\n",
    "lists/rpz.txt": "phish.example.net\n",
}
RESOLVER_BLOCKLISTS = """\
  ads: {sources: [lists/ads.txt], allow: [ok.ads.example.net]}
  zero: {sources: [lists/zero.txt], action: null}
  sink: {sources: [lists/sink.txt], action: {sinkhole: '2001:db8::80'}}
  rpz: {sources: [lists/rpz.txt], rpz: true}
"""


def test_unbound_output(tmp_path: Path) -> None:
    site = resolver_site(tmp_path, RESOLVER_LISTS, RESOLVER_BLOCKLISTS)
    out = tmp_path / "out"
    build_site(site, out)
    res = out / "res1"
    conf = (res / "unbound.conf").read_text()
    for line in (
        'directory: "/srv/res1"',
        'pidfile: "/srv/res1/unbound.pid"',
        "interface: 127.0.0.1@5353",
        "access-control: 0.0.0.0/0 refuse",
        "access-control: 127.0.0.1/32 allow",
        "access-control: 10.0.0.0/8 allow",
        "access-control: 10.9.9.9/32 refuse",
        'control-interface: "/srv/res1/unbound.ctl"',
        'include: "/srv/res1/blocklists/ads.conf"',
        'module-config: "respip validator iterator"',
        'zonefile: "/srv/res1/blocklists/rpz.rpz"',
        'name: "example.com."',
        "stub-addr: 127.0.0.1@5300",
        'local-zone: "0.10.in-addr.arpa." transparent',
        "do-not-query-localhost: no",
        'domain-insecure: "0.10.in-addr.arpa."',
    ):
        assert line in conf, f"{line!r} not in:\n{conf}"
    assert "username" not in conf, "a deployed resolver drops to Unbound's own user"
    assert "0.0.0.0/0 allow" not in conf
    ads = (res / "blocklists" / "ads.conf").read_text()
    assert 'local-zone: "ads.example.net." always_nxdomain' in ads
    assert "sub.ads.example.net" not in ads
    assert 'local-zone: "ok.ads.example.net." transparent' in ads
    zero = (res / "blocklists" / "zero.conf").read_text()
    assert 'local-zone: "zero.example.net." always_null' in zero
    assert "ads.example.net" not in zero, "a name of an earlier list is not repeated"
    sink = (res / "blocklists" / "sink.conf").read_text()
    assert 'local-zone: "sink.example.net." redirect' in sink
    assert 'local-data: "sink.example.net. 300 IN AAAA 2001:db8::80"' in sink
    rpz = (res / "blocklists" / "rpz.rpz").read_text()
    assert "phish.example.net\tCNAME\t.\n*.phish.example.net\tCNAME\t.\n" in rpz
    script = (res / "update-blocklists.sh").read_text()
    assert (res / "update-blocklists.sh").stat().st_mode & 0o777 == 0o755
    assert 'blocklist update "$SITE"' in script and 'build "$SITE" -o "$OUT"' in script
    assert 'unbound-checkconf "$CONF"' in script and "reload" in script
    assert (
        "ExecStart=/bin/sh /srv/res1/update-blocklists.sh"
        in (res / "zonesmith-blocklists.service").read_text()
    )
    assert "OnCalendar=daily" in (res / "zonesmith-blocklists.timer").read_text()
    cron = (res / "zonesmith-blocklists.cron").read_text().splitlines()[-1]
    assert cron.split()[2:6] == ["*", "*", "*", "root"] and "update-blocklists.sh" in cron
    # Deterministic: the same site gives the same bytes.
    first = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    build_site(site, out)
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first


@pytest.mark.skipif(find_tool("unbound-checkconf") is None, reason="unbound-checkconf missing")
def test_hostile_lists_give_a_config_unbound_accepts(tmp_path: Path) -> None:
    paths = [f"lists/hostile-{i}.txt" for i in range(len(hostile_inputs()))]
    blocklists = (
        f"  ads: {{sources: [{', '.join(paths)}]}}\n"
        f"  zero: {{sources: [{paths[0]}], action: null}}\n"
        f"  sink: {{sources: [{paths[1]}], action: {{sinkhole: 127.0.0.80}}}}\n"
        f"  rpz: {{sources: [{paths[2]}], rpz: true}}\n"
    )
    site = resolver_site(tmp_path, {}, blocklists)
    for path, data in zip(paths, hostile_inputs().values(), strict=True):
        (site / path).parent.mkdir(parents=True, exist_ok=True)
        (site / path).write_bytes(data)
    result = build_site(site, tmp_path / "out")  # runs unbound-checkconf; raises on errors
    assert "res1" in result.servers
    ads = (tmp_path / "out" / "res1" / "blocklists" / "ads.conf").read_text()
    assert 'local-zone: "ok.example.com." always_nxdomain' in ads


@pytest.mark.skipif(find_tool("unbound-checkconf") is None, reason="unbound-checkconf missing")
def test_unbound_checkconf_errors_are_reported(tmp_path: Path, monkeypatch) -> None:
    from zonesmith.drivers import unbound

    site = resolver_site(tmp_path, RESOLVER_LISTS, RESOLVER_BLOCKLISTS)
    original = unbound.render_unbound_conf

    def broken(build, path, *, check=False):
        return original(build, path, check=check) + "server:\n    no-such-option: yes\n"

    monkeypatch.setattr(unbound, "render_unbound_conf", broken)
    with pytest.raises(SiteError) as raised:
        build_site(site, tmp_path / "out")
    rules = {d.rule for d in raised.value.diagnostics}
    assert rules == {"unbound-checkconf"}, raised.value.diagnostics
    assert any("out/res1/unbound.conf" in str(d.position) for d in raised.value.diagnostics)
    assert not (tmp_path / "out").exists()


@requires("sh", "sha256sum")
def test_update_script_is_valid_shell(tmp_path: Path) -> None:
    site = resolver_site(tmp_path, RESOLVER_LISTS, RESOLVER_BLOCKLISTS)
    build_site(site, tmp_path / "out", server_checks=False)
    script = tmp_path / "out" / "res1" / "update-blocklists.sh"
    run = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stderr
