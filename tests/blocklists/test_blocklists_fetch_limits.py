"""`blocklist update` against hostile sources: a total deadline per source, redirects reported."""

from __future__ import annotations

import http.server
import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sites import BASE_CONFIG, write_site, zonesmith

from zonesmith.blocklists import update as bl
from zonesmith.site.loader import load_site

HOSTS = "".join(f"0.0.0.0 ad{i}.example.com\n" for i in range(20)).encode()


class Source:
    """An HTTP server on a loopback address: ``/list`` is served whole, or (``slow``)
    one byte a second, or redirected to ``redirect``.
    """

    def __init__(self, address: str = "127.0.0.1") -> None:
        self.slow = False
        self.slow_headers = False
        self.redirect: str | None = None
        self.stop = threading.Event()
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if owner.redirect is not None:
                    self.send_response(302)
                    self.send_header("Location", owner.redirect)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if owner.slow_headers:  # the status line, a byte a second
                    for byte in b"HTTP/1.1 200 OK\r\n":
                        if owner.stop.wait(1):
                            return
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(HOSTS)))
                self.end_headers()
                if not owner.slow:
                    self.wfile.write(HOSTS)
                    return
                for byte in HOSTS:  # a byte a second: each read is in time
                    if owner.stop.wait(1):
                        return
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer((address, 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://{address}:{self.httpd.server_address[1]}/list"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Source:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def source() -> Iterator[Source]:
    with Source() as served:
        yield served


def site_with(tmp_path: Path, url: str, deadline: str = "") -> Path:
    extra = f", deadline: {deadline}" if deadline else ""
    config = (
        BASE_CONFIG
        + "servers:\n"
        + "  res1: {software: unbound, role: resolver, address: 127.0.0.1, blocklists: [ads]}\n"
        + f"blocklists:\n  ads: {{sources: [{url}]{extra}}}\n"
    )
    return write_site(tmp_path / "site", config)


def update(site: Path) -> bl.UpdateResult:
    loaded, diagnostics = load_site(site)
    assert not [d for d in diagnostics if d.is_error], diagnostics
    return bl.update_site(loaded)


def test_a_source_sending_a_byte_a_second_stops_at_its_deadline_and_keeps_the_last_list(
    tmp_path: Path, source: Source
) -> None:
    site = site_with(tmp_path, source.url, deadline="3s")
    assert update(site).lists[0].names == 20
    source.slow = True
    started = time.monotonic()
    run = zonesmith("blocklist", "update", site)
    took = time.monotonic() - started
    assert took < 20, f"{took:.1f} s: the deadline of 3 s was not kept"
    assert run.returncode == 0, run.stdout + run.stderr  # the last good list is usable
    assert "warning: [blocklist-deadline]" in run.stdout
    assert "deadline of 3 s" in run.stdout and "kept the last good copy" in run.stdout
    assert "ads: 20 names blocked" in run.stdout
    assert "zonesmith.yaml:" in run.stdout.split("warning")[0]  # at the source's line


def test_headers_sent_a_byte_a_second_stop_at_the_deadline_too(
    tmp_path: Path, source: Source
) -> None:
    site = site_with(tmp_path, source.url, deadline="2s")
    source.slow_headers = True
    started = time.monotonic()
    result = update(site)
    assert time.monotonic() - started < 10
    [report] = result.lists[0].sources
    assert report.status == "failed" and "deadline of 2 s" in report.note
    assert not result.ok  # no good copy to keep
    assert [d.rule for d in result.diagnostics] == ["blocklist-deadline"]


def test_the_deadline_has_a_default_and_must_be_a_duration(tmp_path: Path) -> None:
    site = site_with(tmp_path, "http://127.0.0.1:9/list")
    loaded, _ = load_site(site)
    assert bl._deadline(loaded, "http://127.0.0.1:9/list") == bl.DEADLINE >= 60
    site = site_with(tmp_path, "http://127.0.0.1:9/list", deadline="soon")
    run = zonesmith("check", site)
    assert run.returncode == 1 and "[bad-duration] blocklist 'ads' deadline" in run.stdout


def test_a_redirect_to_another_host_is_followed_and_reported(
    tmp_path: Path, source: Source
) -> None:
    with Source("127.0.0.2") as moved:
        source.redirect = moved.url
        site = site_with(tmp_path, source.url)
        run = zonesmith("blocklist", "update", site, "--json")
    assert run.returncode == 0, run.stdout + run.stderr
    payload = json.loads(run.stdout)
    [diagnostic] = payload["diagnostics"]
    assert (diagnostic["severity"], diagnostic["rule"]) == ("warning", "blocklist-redirect")
    assert "127.0.0.1 -> 127.0.0.2" in diagnostic["message"]
    assert payload["blocklists"][0]["names"] == 20


def test_a_redirect_within_the_host_is_not_reported(tmp_path: Path, source: Source) -> None:
    with Source() as moved:
        source.redirect = moved.url  # another port of the same host
        result = update(site_with(tmp_path, source.url))
    assert result.ok and not result.diagnostics
    assert result.lists[0].names == 20


def test_a_redirect_from_https_to_http_is_refused(tmp_path: Path, source: Source) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    secure = Source()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    secure.httpd.socket = context.wrap_socket(secure.httpd.socket, server_side=True)
    secure.url = secure.url.replace("http://", "https://")
    trusted = ssl.create_default_context(cafile=str(cert))
    with secure, httpx.Client(verify=trusted, follow_redirects=True) as client:
        site = site_with(tmp_path, secure.url)
        loaded, _ = load_site(site)
        assert bl.update_site(loaded, client=client).lists[0].names == 20
        secure.redirect = source.url  # plain http, on the same host
        result = bl.update_site(loaded, client=client)
    [report] = result.lists[0].sources
    assert report.status == "cached" and f"redirected from https to {source.url}" in report.note
    assert result.lists[0].names == 20
