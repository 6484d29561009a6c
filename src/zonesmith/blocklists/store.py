"""Where fetched sources and compiled blocklists are kept in the site, and compiling on demand."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from zonesmith.blocklists.compiled import CompiledBlocklist, _compile, safe_stem
from zonesmith.blocklists.parse import ParsedList, looks_binary, looks_like_html, parse_bytes
from zonesmith.diagnostics import Diagnostic, Position, SiteError, error
from zonesmith.model import Blocklist, Server, Site
from zonesmith.own_files import CACHE_ROOT, ensure_cache_folder, write_atomically

#: The cache, relative to the site's root. It holds a ``.gitignore`` of its own.
CACHE_NAME = "blocklists"
CACHE_DIR = f"{CACHE_ROOT}/{CACHE_NAME}"
#: Bumped when the compiled format or the parsing rules change: recompiles everything.
FORMAT_VERSION = 1


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def cache_root(site: Site) -> Path:
    return Path(site.root) / CACHE_DIR


class SourceCache:
    """The last good copy of every URL source, with what a conditional GET needs."""

    def __init__(self, root: Path):
        self.folder = root / "sources"

    def _stem(self, url: str) -> Path:
        return self.folder / hashlib.sha256(url.encode()).hexdigest()[:24]

    def body_path(self, url: str) -> Path:
        return self._stem(url).with_suffix(".list")

    def meta(self, url: str) -> dict[str, object] | None:
        try:
            meta = json.loads(self._stem(url).with_suffix(".json").read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != url:
            return None
        if not self.body_path(url).is_file():
            return None
        return meta

    def body(self, url: str) -> bytes | None:
        try:
            return self.body_path(url).read_bytes()
        except OSError:
            return None

    def store(self, url: str, body: bytes | None, meta: dict[str, object]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if body is not None:
            write_atomically(self.body_path(url), body)
        meta = {**meta, "url": url}
        write_atomically(self._stem(url).with_suffix(".json"), json.dumps(meta, indent=1).encode())


def _site_file(site: Site, relative: str) -> Path:
    return Path(site.root) / relative


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class SourceData:
    """The bytes one source gives the compile, and where they came from."""

    source: str
    data: bytes | None
    sha256: str | None
    note: str = ""


def _local_data(site: Site, relative: str) -> SourceData:
    try:
        data = _site_file(site, relative).read_bytes()
    except OSError as exc:
        return SourceData(relative, None, None, f"cannot read: {exc.strerror}")
    return SourceData(relative, data, _sha256(data))


def _cached_data(cache: SourceCache, url: str) -> SourceData:
    meta = cache.meta(url)
    body = cache.body(url) if meta is not None else None
    if body is None:
        return SourceData(url, None, None, "never fetched: run zonesmith blocklist update")
    return SourceData(url, body, str(meta.get("sha256") or _sha256(body)))


def _fingerprint(blocklist: Blocklist, inputs: Iterable[SourceData]) -> str:
    description = {
        "format": FORMAT_VERSION,
        "sources": list(blocklist.sources),
        "allow": list(blocklist.allow),
        "allow_names": sorted(blocklist.allow_names),
        "inputs": [[s.source, s.sha256] for s in inputs],
    }
    return _sha256(json.dumps(description, sort_keys=True).encode())


class CompiledStore:
    """Compiled blocklists in the cache: names, exceptions and a description."""

    def __init__(self, root: Path):
        self.folder = root / "compiled"

    def _path(self, name: str, suffix: str) -> Path:
        return self.folder / f"{safe_stem(name)}{suffix}"

    def meta(self, name: str) -> dict[str, object] | None:
        try:
            meta = json.loads(self._path(name, ".json").read_text())
        except (OSError, ValueError):
            return None
        return meta if isinstance(meta, dict) and meta.get("name") == name else None

    def load(self, name: str, fingerprint: str) -> tuple[list[str], list[str], str] | None:
        """Names, exceptions and digest of a list compiled from these inputs, or None."""
        meta = self.meta(name)
        if meta is None or meta.get("fingerprint") != fingerprint:
            return None
        try:
            names = _read_names(self._path(name, ".names"))
            exceptions = _read_names(self._path(name, ".allow"))
        except (OSError, UnicodeDecodeError):
            return None
        if len(names) != meta.get("names") or len(exceptions) != meta.get("exceptions"):
            return None
        return names, exceptions, str(meta.get("digest"))

    def store(
        self, name: str, fingerprint: str, names: list[str], exceptions: list[str], extra: dict
    ) -> str:
        names_bytes = "\n".join(names).encode()
        exceptions_bytes = "\n".join(exceptions).encode()
        digest = _digest(names_bytes, exceptions_bytes)
        write_atomically(self._path(name, ".names"), names_bytes)
        write_atomically(self._path(name, ".allow"), exceptions_bytes)
        meta = {
            "name": name,
            "fingerprint": fingerprint,
            "digest": digest,
            "names": len(names),
            "exceptions": len(exceptions),
            **extra,
        }
        write_atomically(self._path(name, ".json"), json.dumps(meta, indent=1).encode())
        return digest


def _read_names(path: Path) -> list[str]:
    text = path.read_text()
    return text.split("\n") if text else []


def _digest(names: bytes, exceptions: bytes) -> str:
    hasher = hashlib.sha256(names)
    hasher.update(b"\0")
    hasher.update(exceptions)
    return "sha256:" + hasher.hexdigest()


@dataclass
class SourceReport:
    """What happened to one source in an update, for people and for --json."""

    blocklist: str
    source: str
    kind: str  # url, file, allow
    #: fetched, not-modified, cached (the last good copy, after a failure), file, failed
    status: str
    http_status: int | None = None
    names_read: int = 0
    names_kept: int = 0
    skipped_lines: int = 0
    seconds: float = 0.0
    note: str = ""
    usable: bool = True

    def as_json(self) -> dict[str, object]:
        return {
            "blocklist": self.blocklist,
            "source": self.source,
            "kind": self.kind,
            "status": self.status,
            "http_status": self.http_status,
            "names_read": self.names_read,
            "names_kept": self.names_kept,
            "skipped_lines": self.skipped_lines,
            "seconds": round(self.seconds, 3),
            "note": self.note,
        }


@dataclass
class ListReport:
    name: str
    names: int = 0
    exceptions: int = 0
    changed: bool = False
    digest: str = ""
    seconds: float = 0.0
    complete: bool = True
    sources: list[SourceReport] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "names": self.names,
            "exceptions": self.exceptions,
            "changed": self.changed,
            "complete": self.complete,
            "digest": self.digest,
            "seconds": round(self.seconds, 3),
            "sources": [s.as_json() for s in self.sources],
        }


def compile_blocklist(
    blocklist: Blocklist,
    sources: list[SourceData],
    allows: list[SourceData],
    parsed: dict[str, ParsedList] | None = None,
) -> tuple[list[str], list[str], list[SourceReport]]:
    """Parse and compile one blocklist's inputs.

    ``parsed`` holds sources parsed already (by source), and receives the
    ones parsed here.
    """
    parsed = parsed if parsed is not None else {}
    blocked: dict[str, None] = {}
    allowed: dict[str, None] = dict.fromkeys(blocklist.allow_names)
    reports = []
    per_source: list[tuple[SourceReport, dict[str, None]]] = []
    for kind, inputs in (("source", sources), ("allow", allows)):
        for source in inputs:
            started = time.perf_counter()
            report = SourceReport(
                blocklist.name,
                source.source,
                "allow" if kind == "allow" else ("url" if is_url(source.source) else "file"),
                "file",
            )
            if source.data is None:
                report.status, report.usable, report.note = "failed", False, source.note
                reports.append(report)
                continue
            result = parsed.get(source.source)
            if result is None:
                result = _parse_checked(source.data)
                parsed[source.source] = result
            report.skipped_lines = result.skipped
            if kind == "allow":
                allowed.update(result.block)
                allowed.update(result.allow)
                report.names_read = len(result.block) + len(result.allow)
            else:
                if blocked:
                    blocked.update(result.block)
                else:
                    blocked = dict(result.block)
                allowed.update(result.allow)
                report.names_read = len(result.block)
                per_source.append((report, result.block))
            report.seconds = time.perf_counter() - started
            reports.append(report)
    names, exceptions, dropped = _compile(blocked, allowed)
    for report, names_of_source in per_source:
        # dict_keys & set walks the smaller side: the dropped names, usually few.
        report.names_kept = len(names_of_source) - len(names_of_source.keys() & dropped)
    for report in reports:
        if report.kind == "allow":
            report.names_kept = report.names_read
    return names, exceptions, reports


def _parse_checked(data: bytes) -> ParsedList:
    if looks_like_html(data) or looks_binary(data):
        result = ParsedList()
        result.skipped = data.count(b"\n") + 1
        return result
    try:
        return parse_bytes(data)
    except ValueError:
        return ParsedList(skipped=1)


def _inputs(
    site: Site, blocklist: Blocklist, cache: SourceCache
) -> tuple[list[SourceData], list[SourceData]]:
    sources = [
        _cached_data(cache, s) if is_url(s) else _local_data(site, s) for s in blocklist.sources
    ]
    allows = [_local_data(site, a) for a in blocklist.allow]
    return sources, allows


_memo: dict[tuple[str, str, str], CompiledBlocklist] = {}
_memo_lock = threading.Lock()


def compiled_for(site: Site, server: Server) -> tuple[CompiledBlocklist, ...]:
    """The compiled blocklists of a resolver, in the order the server lists them.

    Reads the cache that ``blocklist update`` fills; a list whose inputs
    changed since (a local file was edited) is recompiled from the cached
    downloads and the local files, without the network. Raises SiteError
    when a URL source was never fetched or a file cannot be read.
    """
    by_name = {b.name: b for b in site.blocklists}
    root = cache_root(site)
    cache = SourceCache(root)
    store = CompiledStore(root)
    result = []
    problems: list[Diagnostic] = []
    for ref in server.blocklists:
        blocklist = by_name.get(ref.name)
        if blocklist is None:
            continue  # reported by the unknown-blocklist rule
        sources, allows = _inputs(site, blocklist, cache)
        missing = [s for s in sources + allows if s.data is None]
        if missing:
            for source in missing:
                problems.append(
                    error(
                        _position_of(blocklist, source.source),
                        "blocklist-not-fetched" if is_url(source.source) else "missing-file",
                        f"blocklist '{blocklist.name}': {source.source}: {source.note}",
                    )
                )
            continue
        fingerprint = _fingerprint(blocklist, sources + allows)
        key = (str(root), blocklist.name, fingerprint)
        with _memo_lock:
            memo = _memo.get(key)
        if memo is not None:
            result.append(_with_action(memo, blocklist))
            continue
        loaded = store.load(blocklist.name, fingerprint)
        if loaded is None:
            names, exceptions, _ = compile_blocklist(blocklist, sources, allows)
            try:
                ensure_cache_folder(site.root, CACHE_NAME)
                digest = store.store(blocklist.name, fingerprint, names, exceptions, {})
            except OSError:  # a build needs no cache: the list is compiled again next time
                digest = _digest("\n".join(names).encode(), "\n".join(exceptions).encode())
        else:
            names, exceptions, digest = loaded
        compiled = CompiledBlocklist(
            blocklist.name, "", None, False, tuple(names), tuple(exceptions), digest
        )
        with _memo_lock:
            _memo.clear()  # keep one list in memory at most between builds
            _memo[key] = compiled
        result.append(_with_action(compiled, blocklist))
    if problems:
        raise SiteError(problems)
    return tuple(result)


def _with_action(compiled: CompiledBlocklist, blocklist: Blocklist) -> CompiledBlocklist:
    return CompiledBlocklist(
        compiled.name,
        blocklist.action,
        blocklist.sinkhole,
        blocklist.rpz,
        compiled.names,
        compiled.exceptions,
        compiled.digest,
    )


def _position_of(blocklist: Blocklist, source: str) -> Position:
    for text, position in zip(blocklist.sources, blocklist.source_positions, strict=False):
        if text == source:
            return position
    for text, position in zip(blocklist.allow, blocklist.allow_positions, strict=False):
        if text == source:
            return position
    return blocklist.position
