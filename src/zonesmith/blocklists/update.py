"""``blocklist update``: fetch every source and compile every blocklist, as values."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zonesmith.blocklists.fetch import DEADLINE, FetchResult, _client, _now, fetch_source
from zonesmith.blocklists.store import (
    CACHE_NAME,
    CompiledStore,
    ListReport,
    SourceCache,
    _fingerprint,
    _inputs,
    _position_of,
    cache_root,
    compile_blocklist,
    is_url,
)
from zonesmith.diagnostics import Diagnostic, warning
from zonesmith.model import Site
from zonesmith.own_files import ensure_cache_folder

if TYPE_CHECKING:
    import httpx

WORKERS = 4  # sources fetched at once


@dataclass
class UpdateResult:
    lists: list[ListReport] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(d.is_error for d in self.diagnostics) and all(
            report.complete for report in self.lists
        )


def update_site(
    site: Site,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    client: httpx.Client | None = None,
) -> UpdateResult:
    """Fetch every URL source of the site's blocklists and compile every blocklist.

    ``progress(stage, done, total)`` is told how far the work is.
    """
    root = cache_root(site)
    ensure_cache_folder(site.root, CACHE_NAME)
    cache = SourceCache(root)
    store = CompiledStore(root)
    urls = sorted({s for b in site.blocklists for s in b.sources if is_url(s)})
    fetched: dict[str, FetchResult] = {}
    if urls:
        own_client = client is None
        http = client or _client()
        try:
            import concurrent.futures  # only here: builds import this module too

            with concurrent.futures.ThreadPoolExecutor(min(WORKERS, len(urls))) as pool:
                futures = {
                    pool.submit(fetch_source, http, cache, url, _deadline(site, url)): url
                    for url in urls
                }
                for done, future in enumerate(concurrent.futures.as_completed(futures), 1):
                    fetched[futures[future]] = future.result()
                    if progress:
                        progress("fetch", done, len(urls))
        finally:
            if own_client:
                http.close()
    result = UpdateResult()
    for url, fetch in sorted(fetched.items()):
        for rule_id, message in fetch.warnings:
            for blocklist in site.blocklists:
                if url in blocklist.sources:
                    result.diagnostics.append(
                        warning(_position_of(blocklist, url), rule_id, message)
                    )
    # Parsed sources, shared by the lists that use the same source.
    parsed = {u: f.parsed for u, f in fetched.items() if f.parsed is not None}
    for index, blocklist in enumerate(site.blocklists, 1):
        started = time.perf_counter()
        sources, allows = _inputs(site, blocklist, cache)
        names, exceptions, reports = compile_blocklist(blocklist, sources, allows, parsed)
        for report in reports:
            fetch = fetched.get(report.source) if report.kind == "url" else None
            if fetch is not None:
                report.http_status = fetch.http_status
                report.seconds += fetch.seconds
                report.note = "; ".join(n for n in (fetch.note, report.note) if n)
                report.status = fetch.status if report.usable else "failed"
        fingerprint = _fingerprint(blocklist, sources + allows)
        previous = store.meta(blocklist.name)
        digest = store.store(
            blocklist.name,
            fingerprint,
            names,
            exceptions,
            {"compiled_at": _now(), "sources": [r.as_json() for r in reports]},
        )
        result.lists.append(
            ListReport(
                blocklist.name,
                len(names),
                len(exceptions),
                previous is None or previous.get("digest") != digest,
                digest,
                time.perf_counter() - started,
                all(r.usable for r in reports),
                reports,
            )
        )
        if progress:
            progress("compile", index, len(site.blocklists))
    return result


def _deadline(site: Site, url: str) -> float:
    """The seconds fetching ``url`` may take: the longest deadline of the lists using it."""
    return max(b.deadline or DEADLINE for b in site.blocklists if url in b.sources)
