"""Fetching blocklist sources over HTTP(S): conditional GET, size limit, retries."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
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


def _sleep(seconds: float) -> None:
    if seconds > 0:
        time.sleep(seconds)


def _retry_delay(headers: dict[str, str], attempt: int) -> float:
    delay = BACKOFF * 2**attempt
    value = str(headers.get("retry-after", "")).strip()
    if value.isdigit():
        delay = max(delay, min(float(value), MAX_RETRY_AFTER))
    return delay


def _download(
    client: httpx.Client, url: str, headers: dict[str, str]
) -> tuple[int, bytes, dict[str, str]]:
    """One GET; the body is read up to MAX_BYTES. Returns status, body, headers."""
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code != 200:
            return response.status_code, b"", {k.lower(): v for k, v in response.headers.items()}
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BYTES:
            raise _TooLarge
        chunks = []
        total = 0
        for chunk in response.iter_bytes():
            total += len(chunk)
            if total > MAX_BYTES:
                raise _TooLarge
            chunks.append(chunk)
        return 200, b"".join(chunks), {k.lower(): v for k, v in response.headers.items()}


class _TooLarge(Exception):
    pass


def fetch_source(client: httpx.Client, cache: SourceCache, url: str) -> FetchResult:
    """Fetch one URL with a conditional GET; store it if it is a plausible list.

    Keeps the last good copy when the server fails (after bounded retries
    with back-off) or sends something implausible: HTML, binary data, no
    names at all, or less than half the names of the last good copy.
    """
    import httpx

    started = time.perf_counter()
    meta = cache.meta(url)
    headers = {}
    if meta is not None:
        if meta.get("etag"):
            headers["If-None-Match"] = str(meta["etag"])
        if meta.get("last_modified"):
            headers["If-Modified-Since"] = str(meta["last_modified"])

    def done(result: FetchResult) -> FetchResult:
        result.seconds = time.perf_counter() - started
        if result.status == "failed" and meta is not None:
            result.status = "cached"
            when = str(meta.get("fetched_at", "?"))[:10]
            result.note += f"; kept the last good copy (of {when})"
        return result

    status, body, response_headers = 0, b"", {}
    last_problem = ""
    for attempt in range(ATTEMPTS):
        try:
            status, body, response_headers = _download(client, url, headers)
        except _TooLarge:
            return done(FetchResult(url, "failed", 200, f"larger than {MAX_BYTES >> 20} MiB"))
        except httpx.HTTPError as exc:
            last_problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt + 1 < ATTEMPTS:
                _sleep(BACKOFF * 2**attempt)
                continue
            return done(FetchResult(url, "failed", None, f"{last_problem} ({ATTEMPTS} attempts)"))
        if status in RETRY_STATUSES and attempt + 1 < ATTEMPTS:
            _sleep(_retry_delay(response_headers, attempt))
            continue
        break
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
