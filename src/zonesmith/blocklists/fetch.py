"""Fetching blocklist sources over HTTP(S): conditional GET, size limit, retries."""

from __future__ import annotations

import datetime
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zonesmith import __version__
from zonesmith.blocklists.parse import (
    MAX_BYTES,
    ParsedList,
    looks_binary,
    looks_like_html,
    parse_bytes,
)
from zonesmith.blocklists.store import SourceCache, _sha256

if TYPE_CHECKING:
    import httpx

TIMEOUT = 30.0  # seconds per network operation of one request
#: Seconds one URL source may take in all (attempts, back-off, a slow body), by default;
#: a blocklist's ``deadline`` sets its own.
DEADLINE = 300
ATTEMPTS = 3  # requests per source at most, with back-off between them
BACKOFF = 1.0  # seconds before the second attempt, doubled for each further one
MAX_RETRY_AFTER = 60.0  # a server's Retry-After is honoured up to this
RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: A source that shrinks below this fraction of its last good copy is refused.
SHRINK_LIMIT = 0.5


@dataclass
class FetchResult:
    url: str
    status: str  # fetched, not-modified, cached, failed
    http_status: int | None = None
    note: str = ""
    parsed: ParsedList | None = None
    seconds: float = 0.0
    #: what the user must hear of even when the list is usable (a deadline, a redirect)
    warnings: list[tuple[str, str]] = field(default_factory=list)


def _sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def _sleep_until(seconds: float, ends: float) -> bool:
    """Sleep ``seconds`` if that ends before ``ends`` (a time.monotonic()); whether it did."""
    if time.monotonic() + seconds >= ends:
        return False
    _sleep(seconds)
    return True


def _retry_delay(headers: dict[str, str], attempt: int) -> float:
    delay = BACKOFF * 2**attempt
    value = str(headers.get("retry-after", "")).strip()
    if value.isdigit():
        delay = max(delay, min(float(value), MAX_RETRY_AFTER))
    return delay


#: status, body, headers (lower case names), and the URL the body came from
_Downloaded = tuple[int, bytes, dict[str, str], str]


def _download(
    client: httpx.Client, url: str, headers: dict[str, str], ends: float, stop: threading.Event
) -> _Downloaded:
    """One GET, redirects followed; the body is read up to MAX_BYTES, until ``ends``
    (a time.monotonic()) or until ``stop`` is set.
    """
    import httpx

    timeout = httpx.Timeout(max(0.001, min(TIMEOUT, ends - time.monotonic())))
    with client.stream("GET", url, headers=headers, timeout=timeout) as response:
        found = {k.lower(): v for k, v in response.headers.items()}
        if response.status_code != 200:
            return response.status_code, b"", found, str(response.url)
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise _TooLarge
        chunks = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > MAX_BYTES:
                raise _TooLarge
            if stop.is_set() or time.monotonic() > ends:
                raise _DeadlinePassed
            chunks.append(chunk)
        return 200, b"".join(chunks), found, str(response.url)


def _download_by(
    client: httpx.Client, url: str, headers: dict[str, str], ends: float
) -> _Downloaded:
    """_download in a thread of its own, given up at ``ends`` (a time.monotonic()).

    A server can send its headers a byte at a time, each in time for the
    per-read timeout: only a watch from outside bounds the whole request. A
    request given up stops at its next read and is never used.
    """
    outcome: list[_Downloaded | BaseException] = []
    stop = threading.Event()

    def run() -> None:
        try:
            outcome.append(_download(client, url, headers, ends, stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            outcome.append(exc)

    worker = threading.Thread(target=run, name=f"fetch {url}", daemon=True)
    worker.start()
    worker.join(max(0.0, ends - time.monotonic()))
    if not outcome:
        stop.set()
        raise _DeadlinePassed
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    return outcome[0]


class _TooLarge(Exception):
    pass


class _DeadlinePassed(Exception):
    pass


def _host(url: str) -> str:
    import httpx

    return httpx.URL(url).host


def fetch_source(
    client: httpx.Client, cache: SourceCache, url: str, deadline: float = DEADLINE
) -> FetchResult:
    """Fetch one URL with a conditional GET; store it if it is a plausible list.

    Keeps the last good copy when the server fails (after bounded retries
    with back-off), takes longer than ``deadline`` seconds in all, or sends
    something implausible: HTML, binary data, no names at all, or less than
    half the names of the last good copy.

    A redirect to another host is followed (lists move, e.g. to a CDN; what
    comes back is checked like any list) and reported as a warning, so the
    site's URL can be brought up to date; one from https to http is refused,
    which would let anyone on the path change the list.
    """
    import httpx

    started = time.perf_counter()
    ends = time.monotonic() + deadline
    meta = cache.meta(url)
    headers = {}
    if meta is not None:
        if meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])

    warnings: list[tuple[str, str]] = []  # (rule, message) of what the user must hear of

    def done(result: FetchResult) -> FetchResult:
        result.seconds = time.perf_counter() - started
        result.warnings += warnings
        if result.status == "failed" and meta is not None:
            result.status = "cached"
            when = str(meta.get("fetched_at", "?"))[:10]
            result.note += f"; kept the last good copy (of {when})"
        return result

    def late() -> FetchResult:
        note = f"not done within its deadline of {deadline:g} s"
        result = done(FetchResult(url, "failed", None, note))
        result.warnings.append(("blocklist-deadline", f"{url}: {result.note}"))
        return result

    status, body, response_headers, final = 0, b"", {}, url
    last_problem = ""
    for attempt in range(ATTEMPTS):
        try:
            status, body, response_headers, final = _download_by(client, url, headers, ends)
        except _TooLarge:
            return done(FetchResult(url, "failed", 200, f"larger than {MAX_BYTES >> 20} MiB"))
        except _DeadlinePassed:
            return late()
        except httpx.HTTPError as exc:
            last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt + 1 < ATTEMPTS:
                if not _sleep_until(BACKOFF * 2**attempt, ends):
                    return late()
                continue
            return done(FetchResult(url, "failed", None, f"{last_problem} ({ATTEMPTS} attempts)"))
        if status in RETRY_STATUSES and attempt + 1 < ATTEMPTS:
            if not _sleep_until(_retry_delay(response_headers, attempt), ends):
                return late()
            continue
        break
    if _host(final) != _host(url):
        warnings.append(
            (
                "blocklist-redirect",
                f"{url} redirects to another host: {_host(url)} -> {_host(final)} ({final}); "
                "write the new URL in the site if the move is expected",
            )
        )
    if url.startswith("https://") and final.startswith("http://"):
        return done(FetchResult(url, "failed", status, f"redirected from https to {final}"))
    if status == 304 and meta is not None:
        cache.store(url, None, {**meta, "checked_at": _now()})
        return done(FetchResult(url, "not-modified", 304, "not modified"))
    if status != 200:
        return done(FetchResult(url, "failed", status, f"HTTP {status}"))
    content_type = str(response_headers.get("content-type", "")).lower()
    if "text/html" in content_type or looks_like_html(body):
        return done(FetchResult(url, "failed", status, "returned an HTML page, not a list"))
    if looks_binary(body):
        return done(FetchResult(url, "failed", status, "returned binary data, not a list"))
    try:
        parsed = parse_bytes(body)
    except ValueError as exc:
        return done(FetchResult(url, "failed", status, str(exc)))
    count = len(parsed.block) + len(parsed.allow)
    if count == 0:
        return done(FetchResult(url, "failed", status, "holds no names"))
    previous = int(meta.get("names", 0)) if meta is not None else 0  # type: ignore[call-overload]
    if previous and count < previous * SHRINK_LIMIT:
        return done(
            FetchResult(
                url,
                "failed",
                status,
                f"shrank from {previous} to {count} names (more than half); "
                f"delete {cache.body_path(url).with_suffix('.json')} to accept it",
            )
        )
    cache.store(
        url,
        body,
        {
            "etag": response_headers.get("etag"),
            "last_modified": response_headers.get("last-modified"),
            "sha256": _sha256(body),
            "names": count,
            "fetched_at": _now(),
            "checked_at": _now(),
            "http_status": status,
        },
    )
    return done(FetchResult(url, "fetched", status, "", parsed))


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _client() -> httpx.Client:
    import httpx

    return httpx.Client(
        follow_redirects=True,
        timeout=httpx.Timeout(TIMEOUT),
        headers={"User-Agent": f"zonesmith/{__version__} (blocklist update)"},
    )
